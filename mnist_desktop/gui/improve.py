""" "Improve the model on my corrections": fine-tuning in the background.

A :class:`FineTuneWorker` on its own thread loads the corrections and MNIST
(replayed so the model does not forget), and runs
:func:`mnist_desktop.ml.finetune.fine_tune` on a copy of the bundled model; the
:class:`ImproveDialog` shows its progress, can cancel it, and reports what
changed.  The personal model is written next to the corrections, never into
the installation; the window switches to it when the user says so.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mnist_desktop import settings
from mnist_desktop.corrections import CorrectionStore
from mnist_desktop.ml.inference import tensorflow_available
from mnist_desktop.resources import default_model_path

from . import threads

log = logging.getLogger(__name__)

MIN_CORRECTIONS = 1


class FineTuneWorker(QObject):
    """Runs one fine-tuning; lives on its own QThread.

    Signals:
        progress(int, int, str): step, total steps, what is happening.
        succeeded(dict): the personal model's card.
        failed(str): why it did not work (rejected, no data, an error).
        cancelled(): the user cancelled; nothing was written.
    """

    progress = Signal(int, int, str)
    succeeded = Signal(dict)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, store: CorrectionStore, mnist_folder: str, config=None):
        super().__init__()
        self._store = store
        self._mnist_folder = mnist_folder
        self._config = config  # a FineTuneConfig; None: the defaults
        self._stop = threading.Event()

    def cancel(self) -> None:
        """Ask the run to stop at the next step (thread-safe)."""
        self._stop.set()

    @Slot()
    def run(self) -> None:
        try:
            from mnist_desktop.ml.data import DataError
            from mnist_desktop.ml.finetune import (
                Cancelled,
                FineTuneConfig,
                FineTuneRejected,
                fine_tune,
                load_replay,
            )

            self.progress.emit(0, 0, "Reading MNIST for replay…")
            try:
                replay = load_replay(self._mnist_folder or None)
            except DataError as exc:
                self.failed.emit(str(exc))
                return
            config = self._config or FineTuneConfig()
            try:
                card = fine_tune(
                    default_model_path(".keras"),
                    self._store.arrays(),
                    replay,
                    self._store.personal_model_path,
                    config,
                    progress=self.progress.emit,
                    should_stop=self._stop.is_set,
                )
            except Cancelled:
                self.cancelled.emit()
                return
            except FineTuneRejected as exc:
                self.failed.emit(str(exc))
                return
            self.succeeded.emit(card)
        except Exception as exc:  # the worker must never die silently
            log.exception("fine-tuning failed")
            self.failed.emit(f"{type(exc).__name__}: {exc}")


def describe(card: dict) -> str:
    """What fine-tuning changed, for a person."""
    lines = []
    before, after = card.get("test_accuracy_before"), card.get("test_accuracy")
    if isinstance(before, float) and isinstance(after, float):
        lines.append(f"MNIST test accuracy: {before:.2%} → {after:.2%}")
    cb, ca = card.get("corrections_accuracy_before"), card.get("corrections_accuracy_after")
    n = card.get("n_corrections")
    if isinstance(cb, float) and isinstance(ca, float) and n:
        lines.append(
            f"Your corrections read right: {round(cb * n)} of {n} before, {round(ca * n)} after"
        )
    return "\n".join(lines)


class ImproveDialog(QDialog):
    """Fine-tune on the corrections, with progress and Cancel.

    Signals:
        model_ready(str): the personal model was written to this path.
    """

    model_ready = Signal(str)

    def __init__(self, store: CorrectionStore, parent: QWidget | None = None, config=None) -> None:
        super().__init__(parent)
        self.setObjectName("improveDialog")
        self.setWindowTitle("Improve the model on my corrections")
        self.setMinimumWidth(520)
        self._store = store
        self._config = config
        self._thread: QThread | None = None
        self._worker: FineTuneWorker | None = None
        self.card: dict = {}

        counts = store.counts()
        n = sum(counts)
        per_digit = ", ".join(f"{d}: {c}" for d, c in enumerate(counts) if c)
        intro = QLabel(
            f"<p>You have saved <b>{n}</b> correction{'s' if n != 1 else ''}"
            f"{f' ({per_digit})' if per_digit else ''}.</p>"
            "<p>A copy of the bundled model is trained further on them, mixed with MNIST "
            "training digits so that it does not forget what it knew. It takes a minute or "
            "two; you can keep drawing meanwhile. The result is kept only if its "
            "MNIST accuracy stays within 0.1 points of the bundled model's.</p>"
        )
        intro.setWordWrap(True)
        self.folder_edit = QLineEdit(
            settings.read("mnist_folder") or os.environ.get("MNIST_DATA", "")
        )
        self.folder_edit.setObjectName("mnistFolder")
        self.folder_edit.setPlaceholderText("empty: download MNIST (needs internet)")
        self.folder_edit.setToolTip(
            "The folder with the four MNIST files (train-images-idx3-ubyte.gz, …)"
        )
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(QLabel("MNIST folder:"))
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(browse)

        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName("improveProgress")
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.status_label = QLabel("")
        self.status_label.setObjectName("improveStatus")
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.buttons = QDialogButtonBox()
        self.start_button = self.buttons.addButton("Start", QDialogButtonBox.ButtonRole.AcceptRole)
        self.start_button.setObjectName("startButton")
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.close)
        self.cancel_button.setEnabled(False)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(folder_row)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status_label)
        layout.addWidget(self.buttons)

        problem = self._problem()
        if problem:
            self.status_label.setText(problem)
            self.start_button.setEnabled(False)

    def _problem(self) -> str:
        if not tensorflow_available():
            return (
                "Improving the model needs TensorFlow, which this installation does not have "
                "(the packaged app is built without it). Install mnist-desktop with pip to "
                "fine-tune; the personal model then works in the packaged app too."
            )
        if len(self._store) < MIN_CORRECTIONS:
            return (
                "There are no corrections yet. When a drawing is read wrong, click the right "
                "digit's bar in the chart (or Model ▸ Correct the answer)."
            )
        return ""

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "MNIST folder", self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)

    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        if self.running() or self._problem():
            return
        folder = self.folder_edit.text().strip()
        if folder:
            settings.write("mnist_folder", folder)
        self.card = {}
        self._thread = QThread(self)
        self._thread.setObjectName("finetune")
        self._worker = FineTuneWorker(self._store, folder, self._config)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.progress.connect(self._on_progress)
        self._worker.succeeded.connect(self._on_succeeded)
        self._worker.failed.connect(self._on_failed)
        self._worker.cancelled.connect(self._on_cancelled)
        self._thread.start()
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.folder_edit.setEnabled(False)
        self.progress_bar.setRange(0, 0)  # busy until the first step
        self.status_label.setText("Starting…")

    def cancel(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            self.status_label.setText("Cancelling…")
            self.cancel_button.setEnabled(False)

    @Slot(int, int, str)
    def _on_progress(self, step: int, total: int, message: str) -> None:
        if total and step:
            self.progress_bar.setRange(0, total)
            self.progress_bar.setValue(step)
        self.status_label.setText(message)

    def _finish(self, text: str) -> None:
        self.shutdown()
        self.status_label.setText(text)
        self.cancel_button.setEnabled(False)
        self.folder_edit.setEnabled(True)
        self.start_button.setEnabled(not self._problem())
        self.start_button.setText("Start again")

    def shutdown(self, until: float | None = None) -> None:
        """Cancel a run and stop its thread, waiting at most until ``until``.

        A step that outlasts the wait (reading MNIST, a slow epoch) finishes
        on its own, detached; it checks the cancel flag and writes nothing."""
        if self._worker is not None:
            self._worker.cancel()
        threads.stop_thread(self._thread, self._worker, until)
        self._thread = None
        self._worker = None

    @Slot(dict)
    def _on_succeeded(self, card: dict) -> None:
        self.card = card
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(1)
        path = str(self._store.personal_model_path)
        self._finish("Done: your personal model is in use.\n" + describe(card))
        self.model_ready.emit(path)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self._finish(f"Not improved: {message}")

    @Slot()
    def _on_cancelled(self) -> None:
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self._finish("Cancelled; nothing was changed.")

    def closeEvent(self, event) -> None:
        if self.running():
            # Closing cancels: a fine-tuning nobody watches should not go on for minutes.
            self._finish("Cancelled; nothing was changed.")  # waits ~1.2 s at most
        super().closeEvent(event)


def personal_model_exists(store: CorrectionStore) -> bool:
    path = Path(store.personal_model_path)
    return path.is_file() and path.with_suffix(".tflite").is_file()
