"""The Qt user interface (PySide6). ``from mnist_desktop.gui import MainWindow``."""

from .mainwindow import MainWindow

__all__ = ["MainWindow"]
