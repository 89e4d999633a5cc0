"""Export and import of the corrections from the window, off the GUI thread.

A zip of 20,000 corrections takes seconds to check and write, so the work runs
in a :class:`StoreTask` on its own thread; a progress dialog shows how far it
is and its Cancel stops it (an import that is cancelled takes back what it had
added).  Results and errors come back as signals for the window to show.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot
from PySide6.QtWidgets import QFileDialog, QProgressDialog, QWidget

from mnist_desktop import settings
from mnist_desktop.corrections import Cancelled, CorrectionsError, CorrectionStore, Progress

from . import threads

log = logging.getLogger(__name__)

Job = Callable[[Progress, Callable[[], bool]], int]
"""job(progress, should_stop) -> how many corrections it handled"""


class StoreTask(QObject):
    """Runs one export or import; lives on its own QThread.

    Signals:
        progress(int, int, str): done, total, what is happening.
        succeeded(int): how many corrections were exported or imported.
        failed(str): why not (a message for a person).
        cancelled(): the user cancelled; nothing was changed.
    """

    progress = Signal(int, int, str)
    succeeded = Signal(int)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, job: Job) -> None:
        super().__init__()
        self._job = job
        self._stop = threading.Event()

    def cancel(self) -> None:
        """Ask the job to stop at its next row (thread-safe)."""
        self._stop.set()

    def stopping(self) -> bool:
        """Cancel was asked for (thread-safe)."""
        return self._stop.is_set()

    def _should_stop(self) -> bool:
        return self._stop.is_set() or QThread.currentThread().isInterruptionRequested()

    @Slot()
    def run(self) -> None:
        try:
            count = self._job(self.progress.emit, self._should_stop)
        except Cancelled:
            self.cancelled.emit()
        except (OSError, CorrectionsError) as exc:
            self.failed.emit(str(exc))
        except MemoryError:
            self.failed.emit("there is not enough memory")
        except Exception as exc:  # the task must never die silently
            log.exception("corrections task failed")
            self.failed.emit(f"an unexpected error ({type(exc).__name__}); see the log")
        else:
            self.succeeded.emit(count)


class CorrectionsExchange(QObject):
    """The window's Export and Import of corrections: file dialogs, the task, its progress.

    Signals:
        finished(str, int): 'import' or 'export' and how many corrections, on success.
        message(str, str): a text for the user and its level ('info' or 'error').
    """

    finished = Signal(str, int)
    message = Signal(str, str)

    def __init__(self, store: CorrectionStore, parent: QWidget) -> None:
        super().__init__(parent)
        self._store = store
        self._window = parent
        self._thread: QThread | None = None
        self._task: StoreTask | None = None
        self._kind = ""
        self._name = ""
        self.progress_dialog: QProgressDialog | None = None

    def running(self) -> bool:
        return self._thread is not None

    # ---- entry points ------------------------------------------------------------
    def export_dialog(self) -> None:
        """Ask where to save the corrections, then export them in the background."""
        if self._busy():
            return
        if not len(self._store):
            self.message.emit("No corrections to export yet", "info")
            return
        folder = settings.read("last_folder")
        suggested = os.path.join(folder, "corrections.zip") if folder else "corrections.zip"
        path, _ = QFileDialog.getSaveFileName(
            self._window, "Export corrections", suggested, "Zip (*.zip)"
        )
        if path:
            if not path.lower().endswith(".zip"):
                path += ".zip"
            self.start_export(path)

    def import_dialog(self) -> None:
        """Ask for a zip, then import it in the background."""
        if self._busy():
            return
        path, _ = QFileDialog.getOpenFileName(
            self._window, "Import corrections", settings.read("last_folder"), "Zip (*.zip)"
        )
        if path:
            self.start_import(path)

    def start_export(self, path: str) -> None:
        if not self._busy():
            self._start("export", path, lambda p, s: self._store.export_zip(path, p, s))

    def start_import(self, path: str) -> None:
        if not self._busy():
            self._start("import", path, lambda p, s: self._store.import_zip(path, p, s))

    def _busy(self) -> bool:
        if self.running():
            self.message.emit(f"Wait for the {self._kind} in progress to finish", "info")
        return self.running()

    # ---- the task ----------------------------------------------------------------
    def _start(self, kind: str, path: str, job: Job) -> None:
        self._kind, self._name = kind, os.path.basename(path)
        verb = "Importing" if kind == "import" else "Exporting"
        dialog = QProgressDialog(f"{verb} {self._name}…", "Cancel", 0, 0, self._window)
        dialog.setObjectName("exchangeProgress")
        dialog.setWindowTitle(f"{verb} corrections")
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.setMinimumDuration(0)
        dialog.setWindowModality(Qt.WindowModality.NonModal)  # drawing goes on meanwhile
        dialog.canceled.connect(self.cancel)
        self.progress_dialog = dialog
        self._thread = QThread()
        self._thread.setObjectName(f"corrections-{kind}")
        self._task = StoreTask(job)
        self._task.moveToThread(self._thread)
        self._thread.started.connect(self._task.run)
        self._task.progress.connect(self._on_progress)
        self._task.succeeded.connect(self._on_succeeded)
        self._task.failed.connect(self._on_failed)
        self._task.cancelled.connect(self._on_cancelled)
        self._thread.start()
        dialog.show()

    @Slot()
    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
            if self.progress_dialog is not None:
                self.progress_dialog.setLabelText("Cancelling…")

    @Slot(int, int, str)
    def _on_progress(self, done: int, total: int, what: str) -> None:
        dialog = self.progress_dialog
        if dialog is not None and total:
            dialog.setMaximum(total)
            dialog.setValue(min(done, total))
            if self._task is None or not self._task.stopping():
                dialog.setLabelText(f"{what} {self._name}")

    @Slot(int)
    def _on_succeeded(self, count: int) -> None:
        kind, name = self._kind, self._name
        self.shutdown()
        if kind == "import":
            total = len(self._store)
            text = f"Imported {count} new corrections from {name} ({total} in all)"
        else:
            text = f"Exported {count} corrections to {name}"
        self.message.emit(text, "info")
        self.finished.emit(kind, count)

    @Slot(str)
    def _on_failed(self, text: str) -> None:
        kind, name = self._kind, self._name
        self.shutdown()
        self.message.emit(f"Could not {kind} {name}: {text}", "error")

    @Slot()
    def _on_cancelled(self) -> None:
        kind = self._kind
        self.shutdown()
        what = "nothing was imported" if kind == "import" else "no file was written"
        self.message.emit(f"The {kind} was cancelled; {what}", "info")

    def shutdown(self, until: float | None = None) -> None:
        """Cancel a task in progress and stop its thread, waiting at most until ``until``."""
        if self._task is not None:
            self._task.cancel()
        threads.stop_thread(self._thread, self._task, until)
        self._thread = self._task = None
        if self.progress_dialog is not None:
            self.progress_dialog.canceled.disconnect(self.cancel)
            self.progress_dialog.close()
            self.progress_dialog.deleteLater()
            self.progress_dialog = None
