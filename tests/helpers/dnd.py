"""Drag-and-drop events that every supported PySide6 builds.

``QDragEnterEvent`` takes a QPointF from PySide6 6.12 on (its QPoint form is
deprecated there) and only a QPoint in 6.11, which Python 3.11 is pinned to.
"""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent

_ARGS = (Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)


def drag_enter_event(pos: QPointF, mime: QMimeData) -> QDragEnterEvent:
    try:
        return QDragEnterEvent(pos, Qt.DropAction.CopyAction, mime, *_ARGS)
    except TypeError:  # PySide6 < 6.12
        return QDragEnterEvent(pos.toPoint(), Qt.DropAction.CopyAction, mime, *_ARGS)


def drop_event(pos: QPointF, mime: QMimeData) -> QDropEvent:
    return QDropEvent(pos, Qt.DropAction.CopyAction, mime, *_ARGS)
