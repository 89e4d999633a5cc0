"""Keyboard focus for the window: the canvas holds it, shortcuts always work.

Qt gives the focus to the first widget that accepts it, which was the pen
width spin box: its line edit then took Ctrl+Z, Ctrl+C, Ctrl+V and Delete for
itself, so the Edit menu's shortcuts did nothing.  Here the canvas takes the
focus (at start, after a stroke, after a mode switch, after the pen width is
set), and a text field that has the focus anyway (the user tabbed or clicked
into it) leaves the window's own shortcuts to the window.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QMouseEvent
from PySide6.QtWidgets import QSpinBox, QStyle, QStyleOptionSpinBox, QWidget

_ENDS_EDITING = {Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape}


def window_shortcut(window: QWidget, event: QKeyEvent) -> bool:
    """Whether ``event`` is the shortcut of one of ``window``'s enabled actions."""
    pressed = QKeySequence(event.keyCombination())
    for action in window.actions():
        if action.isEnabled():
            for key in action.shortcuts():
                if key.matches(pressed) == QKeySequence.SequenceMatch.ExactMatch:
                    return True
    return False


class ShortcutsFirst(QObject):
    """Event filter for a text field: the window's shortcuts win over its editing keys.

    A line edit claims Ctrl+Z, Ctrl+C, Ctrl+V, Delete... (it accepts Qt's
    ShortcutOverride event); leaving that event unaccepted lets Qt run the
    window's action instead.  Typing, Backspace and the arrows still edit, and
    Escape leaves the field rather than clearing the drawing.
    """

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self._window = window

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.ShortcutOverride:
            return False
        if event.key() == Qt.Key.Key_Escape and event.modifiers() == Qt.KeyboardModifier.NoModifier:
            event.accept()  # Escape leaves the field (it is no Clear while typing a width)
            return True
        if window_shortcut(self._window, event):
            event.ignore()
            return True
        return False


class PenWidthBox(QSpinBox):
    """The pen width in pixels, a control the user visits and leaves.

    Signals:
        done(): the user finished setting the width (an arrow clicked, the
            wheel turned, Enter or Escape pressed): the focus goes back.
    """

    done = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("penWidth")
        # Tab and a click reach it; the wheel changes it without taking the focus.
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def _on_arrows(self, event: QMouseEvent) -> bool:
        option = QStyleOptionSpinBox()
        self.initStyleOption(option)
        part = self.style().hitTestComplexControl(
            QStyle.ComplexControl.CC_SpinBox, option, event.position().toPoint(), self
        )
        return part in (QStyle.SubControl.SC_SpinBoxUp, QStyle.SubControl.SC_SpinBoxDown)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        arrows = self._on_arrows(event)
        super().mouseReleaseEvent(event)
        if arrows:  # a click in the text keeps the focus, for typing a width
            QTimer.singleShot(0, self.done.emit)

    def wheelEvent(self, event) -> None:
        super().wheelEvent(event)
        if self.hasFocus():
            QTimer.singleShot(0, self.done.emit)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        super().keyPressEvent(event)
        if event.key() in _ENDS_EDITING:
            self.done.emit()


class CanvasFocus(QObject):
    """Gives the focus back to ``canvas`` whenever the user is done elsewhere."""

    def __init__(self, window: QWidget, canvas: QWidget, pen_box: PenWidthBox) -> None:
        super().__init__(window)
        self._canvas = canvas
        canvas.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # a click or Tab focuses it
        pen_box.done.connect(self.restore)
        keys = ShortcutsFirst(window)
        for widget in (pen_box, pen_box.lineEdit()):  # either may hold the focus
            widget.installEventFilter(keys)
        canvas.stroke_finished.connect(self.restore)  # a tablet pen gives no click focus

    def restore(self) -> None:
        """Put the focus on the canvas (where the keyboard shortcuts act on the drawing)."""
        self._canvas.setFocus(Qt.FocusReason.OtherFocusReason)
