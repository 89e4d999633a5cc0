"""Classify a whole folder of images in the background, into a sortable table.

A :class:`FolderWorker` on its own thread (so drawing stays live) walks the
folder, preprocesses and classifies the images in batches with its own LiteRT
classifier, and reports rows as it goes; the :class:`FolderDialog` shows a
progress bar, a Cancel button, and the table (model input thumbnail, file,
digit, confidence), which sorts by confidence so doubtful images come first,
and exports CSV with the command line's columns (:data:`CSV_HEADER`).
"""

from __future__ import annotations

import csv
import logging
import os
import threading
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, QSize, Qt, QThread, Signal, Slot
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mnist_desktop.csvcells import RESULTS_HEADER, safe_cell
from mnist_desktop.files import classify_files, find_images
from mnist_desktop.imageio import display_path
from mnist_desktop.ml.inference import ModelError, load_classifier

from . import threads
from .qtimage import gray_to_qimage

BATCH = 64
CSV_HEADER = RESULTS_HEADER
"""The exported table's columns: those of ``mnist-digits predict --csv``, so one
script reads both."""
log = logging.getLogger(__name__)


@dataclass
class FolderRow:
    path: str
    digit: int | None = None
    confidence: float = 0.0
    image: np.ndarray | None = None
    error: str = ""
    probabilities: list[float] | None = None
    """The ten probabilities (None for an unreadable file)."""
    reason: str = ""
    """Why there is no digit: "blank" or "not a digit" ("" when one was read)."""

    @property
    def note(self) -> str:
        """What the table's Note column says."""
        if self.error:
            return self.error
        if self.reason == "blank":
            return "no digit"
        return self.reason


class FolderWorker(QObject):
    """Classifies the images in a folder (recursively), batch by batch.

    Signals:
        started(int): the number of image files found.
        rows_ready(list): a batch of :class:`FolderRow`.
        progress(int, int): done, total.
        finished(str): a summary, or why it stopped.
    """

    started = Signal(int)
    rows_ready = Signal(list)
    progress = Signal(int, int)
    finished = Signal(str)

    def __init__(self, engine: str = "litert", model: str | None = None) -> None:
        super().__init__()
        self._engine, self._model = engine, model
        self._cancel = threading.Event()

    def cancel(self) -> None:
        """Stop after the file in hand (thread-safe)."""
        self._cancel.set()

    def _cancelled(self) -> bool:
        return self._cancel.is_set() or QThread.currentThread().isInterruptionRequested()

    @Slot(str)
    def run(self, folder: str) -> None:
        try:
            classifier = load_classifier(self._engine, self._model)
        except ModelError as exc:
            self.finished.emit(f"Could not load the model: {exc}")
            return
        try:
            self._classify(classifier, folder)
        except Exception as exc:  # noqa: BLE001  # the dialog must never wait forever
            log.error("classifying %s failed", display_path(folder), exc_info=exc)
            self.finished.emit(
                f"Stopped: {exc}"
                if isinstance(exc, ModelError)
                else "Stopped by an internal error (see the log)."
            )

    def _classify(self, classifier, folder: str) -> None:
        found = find_images([folder])
        paths, skipped = found.paths, found.skipped
        self.started.emit(len(paths))
        done = 0
        unreadable = len(found.errors)
        if found.errors:
            self.rows_ready.emit([FolderRow(path, error=message) for path, message in found.errors])
        chunks = classify_files(classifier, paths, BATCH, cancelled=self._cancelled)
        for chunk in chunks:
            rows = []
            for result in chunk:
                prediction = result.prediction
                if prediction is None:
                    unreadable += 1
                    rows.append(FolderRow(result.path, error=result.error))
                else:
                    image = prediction.preprocessed.image if prediction.preprocessed else None
                    rows.append(
                        FolderRow(
                            result.path,
                            prediction.digit,
                            prediction.confidence,
                            image,
                            probabilities=list(prediction.probabilities),
                            reason=prediction.reason or "",
                        )
                    )
            done += len(rows)
            self.rows_ready.emit(rows)
            self.progress.emit(done, len(paths))
        if self._cancelled():
            self.finished.emit(f"Cancelled after {done} of {len(paths)} images.")
            return
        note = f"; {skipped} other file(s) skipped" if skipped else ""
        self.finished.emit(
            f"{done - unreadable + len(found.errors)} classified, {unreadable} unreadable{note}."
        )


class _NumberItem(QTableWidgetItem):
    """Sorts by its number, not its text (an empty cell sorts first)."""

    def __init__(self, text: str, value: float) -> None:
        super().__init__(text)
        self.setData(Qt.ItemDataRole.UserRole, value)

    def __lt__(self, other: QTableWidgetItem) -> bool:
        return self.data(Qt.ItemDataRole.UserRole) < other.data(Qt.ItemDataRole.UserRole)


class FolderDialog(QDialog):
    """Progress, cancel and results of classifying one folder.

    Signals:
        run_requested(str): asks the worker to classify the folder.
    """

    run_requested = Signal(str)

    COLUMNS = ("Input", "File", "Digit", "Confidence", "Note")

    def __init__(
        self,
        folder: str,
        engine: str = "litert",
        model: str | None = None,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.setObjectName("folderDialog")
        self.setWindowTitle(f"Classify folder – {folder}")
        self.resize(720, 520)
        self.folder = folder
        self.rows: list[FolderRow] = []
        self.summary = QLabel("Looking for images…")
        self.bar = QProgressBar()
        self.bar.setObjectName("folderProgress")
        self.cancel_button = QPushButton("Cancel")
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setEnabled(False)
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setObjectName("folderTable")
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.setIconSize(QSize(28, 28))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.setToolTip(
            "Click a column header to sort; Confidence puts the doubtful images first"
        )
        buttons = QHBoxLayout()
        buttons.addWidget(self.summary, 1)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.bar)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)

        self._thread = QThread()
        self._thread.setObjectName("folder")
        self.worker = FolderWorker(engine, model)
        self.worker.moveToThread(self._thread)
        self._thread.finished.connect(self.worker.deleteLater)
        self.worker.started.connect(self._on_started)
        self.worker.rows_ready.connect(self._on_rows)
        self.worker.progress.connect(self._on_progress)
        self.worker.finished.connect(self._on_finished)
        self.run_requested.connect(self.worker.run)
        self.cancel_button.clicked.connect(self._on_cancel)
        self.export_button.clicked.connect(self.export_dialog)
        self.done_text = ""

    def start(self) -> None:
        self._thread.start()
        self.run_requested.emit(self.folder)  # queued into the worker's thread

    def is_running(self) -> bool:
        return not self.done_text

    @Slot(int)
    def _on_started(self, total: int) -> None:
        self.bar.setRange(0, max(1, total))
        self.summary.setText(f"{total} images")

    @Slot(list)
    def _on_rows(self, rows: list) -> None:
        self.table.setSortingEnabled(False)
        for row in rows:
            self.rows.append(row)
            r = self.table.rowCount()
            self.table.insertRow(r)
            thumb = QTableWidgetItem()
            if row.image is not None:
                gray = (np.clip(row.image, 0, 1) * 255).astype(np.uint8)
                thumb.setIcon(QIcon(QPixmap.fromImage(gray_to_qimage(gray))))
            self.table.setItem(r, 0, thumb)
            name = QTableWidgetItem(display_path(os.path.relpath(row.path, self.folder)))
            name.setToolTip(display_path(row.path))
            self.table.setItem(r, 1, name)
            digit = "" if row.digit is None else str(row.digit)
            self.table.setItem(r, 2, _NumberItem(digit, -1 if row.digit is None else row.digit))
            conf = f"{row.confidence:.1%}" if row.digit is not None else ""
            self.table.setItem(
                r, 3, _NumberItem(conf, row.confidence if row.digit is not None else -1.0)
            )
            self.table.setItem(r, 4, QTableWidgetItem(row.note))
        self.table.setSortingEnabled(True)

    @Slot(int, int)
    def _on_progress(self, done: int, total: int) -> None:
        self.bar.setValue(done)
        self.summary.setText(f"{done} of {total} images")

    @Slot(str)
    def _on_finished(self, text: str) -> None:
        self.done_text = text
        self.summary.setText(text)
        self.cancel_button.setText("Close")
        self.export_button.setEnabled(bool(self.rows))
        self.table.sortItems(3, Qt.SortOrder.AscendingOrder)  # doubtful first

    def _on_cancel(self) -> None:
        if self.is_running():
            self.worker.cancel()
        else:
            self.close()

    def export_csv(self, path: str) -> None:
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(CSV_HEADER)
            for row in self.rows:
                digit = "" if row.digit is None else row.digit
                conf = f"{row.confidence:.6f}" if row.digit is not None else ""
                probs = [f"{p:.6f}" for p in row.probabilities or []] or [""] * 10
                writer.writerow(
                    [
                        safe_cell(display_path(row.path)),
                        digit,
                        conf,
                        *probs,
                        safe_cell(row.reason),
                        safe_cell(row.error),
                    ]
                )

    def export_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export results", os.path.join(self.folder, "digits.csv"), "CSV (*.csv)"
        )
        if path:
            try:
                self.export_csv(path)
            except OSError as exc:
                self.summary.setText(
                    f"Could not export to {display_path(path)}: {exc.strerror or exc}"
                )

    def shutdown(self, until: float | None = None) -> None:
        """Cancel the run and stop its thread, waiting at most until ``until``."""
        self.worker.cancel()
        threads.stop_thread(self._thread, self.worker, until)

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)
