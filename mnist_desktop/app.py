"""``mnist-desktop``: start the window (or run the self-test headless)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from mnist_desktop import __version__

log = logging.getLogger("mnist_desktop")


def _ensure_streams() -> None:
    # A frozen windowed app (PyInstaller on Windows/macOS) has no console:
    # sys.stdout / sys.stderr are None and any print would raise.
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115


def _setup_logging() -> Path | None:
    """Log to the user's data directory (never inside the install or bundle)."""
    from PySide6.QtCore import QStandardPaths

    handlers: list[logging.Handler] = [logging.StreamHandler()]
    folder = Path(
        QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
    )
    logfile = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        logfile = folder / "mnist-desktop.log"
        handlers.append(logging.FileHandler(logfile, encoding="utf-8"))
    except OSError:
        pass
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
    )
    return logfile


def _install_excepthook() -> None:
    """Show unexpected errors in a dialog instead of dying silently (as mnelab does)."""
    from PySide6.QtWidgets import QApplication, QMessageBox

    def hook(exc_type, exc, tb) -> None:
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        log.error("unexpected error:\n%s", text)
        if QApplication.instance() is not None:
            box = QMessageBox(
                QMessageBox.Icon.Critical, "Unexpected error", f"{exc_type.__name__}: {exc}"
            )
            box.setDetailedText(text)
            box.exec()

    sys.excepthook = hook


def _qt_message_handler(mode, context, message: str) -> None:
    from PySide6.QtCore import QtMsgType

    level = {
        QtMsgType.QtDebugMsg: logging.DEBUG,
        QtMsgType.QtInfoMsg: logging.INFO,
        QtMsgType.QtWarningMsg: logging.WARNING,
        QtMsgType.QtCriticalMsg: logging.ERROR,
        QtMsgType.QtFatalMsg: logging.CRITICAL,
    }.get(mode, logging.WARNING)
    logging.getLogger("qt").log(level, message)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="mnist-desktop", description="Draw a digit and see it recognised."
    )
    parser.add_argument("image", nargs="?", help="an image file to open")
    parser.add_argument(
        "--engine", choices=("auto", "keras", "litert"), help="inference engine (default: litert)"
    )
    parser.add_argument("--model", help="model file (.keras or .tflite); default: the bundled one")
    parser.add_argument(
        "--self-test", action="store_true", help="classify the bundled samples headless and exit"
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    _ensure_streams()
    args = parse_args(argv)
    if args.self_test:
        from mnist_desktop.selftest import run_self_test

        return run_self_test(args.engine or "auto", args.model)

    # Qt aborts (exit 134) with a paragraph naming one missing X11 library at a
    # time; say once which packages give all of them.
    from mnist_desktop.xcblibs import fix_message, missing_libraries

    missing = missing_libraries()
    if missing:
        print(fix_message(missing), file=sys.stderr)
        return 1

    from PySide6.QtCore import QCoreApplication, qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    QCoreApplication.setOrganizationName("mnist-desktop")
    QCoreApplication.setApplicationName("mnist-desktop")
    QCoreApplication.setApplicationVersion(__version__)
    app = QApplication(sys.argv[:1])
    app.setDesktopFileName("mnist-desktop")
    _setup_logging()
    qInstallMessageHandler(_qt_message_handler)
    _install_excepthook()

    from mnist_desktop.gui import MainWindow
    from mnist_desktop.gui.mainwindow import app_icon

    app.setWindowIcon(app_icon())

    window = MainWindow(engine=args.engine, model=args.model, image=args.image)
    window.show()
    return run(app, window)


def run(app, window) -> int:
    """The event loop, then a quit that never hangs or aborts.

    However the loop ended (the window closed, or ``app.quit()``, which need
    not close it), the window's background jobs are stopped here with bounded
    waits; if one is still busy the process ends at once rather than destroy
    its running thread (see gui/threads.py)."""
    from mnist_desktop.gui import threads

    code = app.exec()
    window.shutdown()
    threads.exit_now(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
