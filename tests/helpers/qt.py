"""Drive Qt widgets with real events (QMouseEvent through QApplication.sendEvent,
keys through QTest to the focused widget).

QTest.mouseMove does not deliver drags with a button held reliably (napari
PR #9152), so strokes are sent as press / move / release events by hand.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QKeySequence, QMouseEvent
from PySide6.QtTest import QTest
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


def press(keys: str | QKeySequence) -> QWidget:
    """Type ``keys`` ("Ctrl+Z", "Delete", ...) as a user does: into whatever widget
    has the keyboard focus (Qt runs a shortcut from there, or the widget gets
    the key).  Returns that widget."""
    focus = QApplication.focusWidget()
    assert focus is not None, "no widget has the keyboard focus"
    QTest.keySequence(focus, QKeySequence(keys))
    return focus


def user_click(widget: QWidget, pos: QPointF | QPoint | None = None) -> None:
    """A left click through Qt's whole input path (as from the window system), so it
    also moves the keyboard focus as a real click does (a sent event does not)."""
    point = widget.rect().center() if pos is None else QPointF(pos).toPoint()
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point)
