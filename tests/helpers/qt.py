"""Drive Qt widgets with real events (QMouseEvent through QApplication.sendEvent).

QTest.mouseMove does not deliver drags with a button held reliably (napari
PR #9152), so strokes are sent as press / move / release events by hand.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QWidget

from mnist_desktop.gui.canvas import CANVAS_SIZE


def _send(widget: QWidget, kind: QEvent.Type, pos: QPointF, button, buttons) -> None:
    event = QMouseEvent(
        kind, pos, widget.mapToGlobal(pos), button, buttons, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(widget, event)


def to_widget(canvas, x: float, y: float) -> QPointF:
    """Canvas pixels (0..280 high, 280 per column wide) -> widget coordinates."""
    rect = canvas._area()
    scale = rect.height() / CANVAS_SIZE  # the same in x and y, whatever the width
    return QPointF(rect.left() + x * scale, rect.top() + y * scale)


def drag(canvas, points, qtbot=None, pause_ms: int = 0) -> None:
    """Draw one stroke through ``points`` (canvas pixels) with the left button."""
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    _send(canvas, QEvent.Type.MouseButtonPress, to_widget(canvas, *points[0]), left, left)
    for x, y in points[1:]:
        _send(canvas, QEvent.Type.MouseMove, to_widget(canvas, x, y), none, left)
        if qtbot is not None and pause_ms:
            qtbot.wait(pause_ms)
    _send(canvas, QEvent.Type.MouseButtonRelease, to_widget(canvas, *points[-1]), left, none)


def draw(canvas, strokes, qtbot=None, pause_ms: int = 0) -> None:
    for stroke in strokes:
        drag(canvas, stroke, qtbot, pause_ms)


def click(widget: QWidget, pos: QPointF) -> None:
    """A left click (press and release) at ``pos`` in widget coordinates."""
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    _send(widget, QEvent.Type.MouseButtonPress, pos, left, left)
    _send(widget, QEvent.Type.MouseButtonRelease, pos, left, none)
