"""A whole app in a child process, quit (``app.quit()``) while a job is stuck.

    python -m tests.helpers.quit_child JOB SETTINGS_DIR DATA_DIR [PATH]

JOB: ``idle``, ``folder`` (classify PATH, a folder, with a decode that never
ends), ``import`` (import PATH, a zip, held forever at its fifth row) or
``finetune`` (reading MNIST never ends).  Prints ``quit <wall-clock time>``
when it calls ``app.quit()``, then exits through :func:`mnist_desktop.app.run`
as the real app does.  Used by tests/test_quit.py and benchmarks/store_safety.py.
"""

from __future__ import annotations

import os
import sys
import threading
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> int:
    job, settings_dir, data_dir = sys.argv[1:4]
    path = sys.argv[4] if len(sys.argv) > 4 else ""
    os.environ["MNIST_DESKTOP_DATA"] = data_dir

    from PySide6.QtCore import QCoreApplication, QSettings, QStandardPaths, QTimer
    from PySide6.QtWidgets import QApplication

    QStandardPaths.setTestModeEnabled(True)
    QCoreApplication.setOrganizationName("mnist-desktop-tests")
    QCoreApplication.setApplicationName("mnist-desktop-tests")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, settings_dir)
    app = QApplication(sys.argv[:1])

    from mnist_desktop import app as app_module
    from mnist_desktop import corrections
    from mnist_desktop.gui import MainWindow, folder
    from mnist_desktop.ml import finetune

    never = threading.Event()
    started = threading.Event()

    def stuck(*args, **kwargs):
        started.set()
        never.wait()

    window = MainWindow()
    window.show()

    def start() -> None:
        if job == "folder":
            folder.classify_files = stuck
            window.classify_folder(path)
        elif job == "import":
            real = corrections._input_from_png
            calls = []

            def held(data, what):
                calls.append(what)
                if len(calls) == 5:
                    stuck()
                return real(data, what)

            corrections._input_from_png = held
            window.exchange.start_import(path)
        elif job == "finetune":
            finetune.load_replay = stuck
            window.corrections.add(3, __import__("numpy").zeros((28, 28)))
            window.improve_dialog().start()
        else:
            started.set()
        QTimer.singleShot(50, quit_when_stuck)

    def quit_when_stuck() -> None:
        if not started.is_set():
            QTimer.singleShot(50, quit_when_stuck)
            return
        print(f"quit {time.time():.6f}", flush=True)
        app.quit()

    QTimer.singleShot(500, start)
    return app_module.run(app, window)


if __name__ == "__main__":
    sys.exit(main())
