"""An inline message bar: errors and warnings that never block the window."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

_STYLES = {
    "error": "background:#fde2e1; color:#5c0b07; border:1px solid #e0a19d; border-radius:4px;",
    "warning": "background:#fff4ce; color:#4a3b00; border:1px solid #e6cf7a; border-radius:4px;",
    "info": "background:#e3f0fd; color:#0b3358; border:1px solid #9cc3ea; border-radius:4px;",
}


class MessageBar(QFrame):
    """A dismissable banner above the canvas.

    Signals:
        dismissed(): the user closed the banner.
    """

    dismissed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBar")
        self._label = QLabel(self)
        self._label.setObjectName("messageText")
        self._label.setWordWrap(True)
        self._label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton(self)
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.setAccessibleName("Dismiss message")
        close.clicked.connect(self._on_close)
        self.action_button = QPushButton(self)
        self.action_button.setObjectName("messageAction")
        self.action_button.clicked.connect(self._on_action)
        # A click does not take the keyboard from the canvas (Tab still reaches it).
        self.action_button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.action_button.hide()
        self._action: Callable[[], None] | None = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self._label, 1)
        layout.addWidget(self.action_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.level = ""
        self.tag = ""
        self.hide()

    def text(self) -> str:
        return self._label.text() if self.isVisibleTo(self.parentWidget()) else ""

    def show_message(
        self,
        text: str,
        level: str = "error",
        tag: str = "",
        action: tuple[str, Callable[[], None]] | None = None,
    ) -> None:
        """Show ``text``; ``tag`` names the message so it can be cleared by its cause;
        ``action`` (label, callback) adds a button (e.g. "Undo") that also dismisses it."""
        self._action = action[1] if action else None
        self.action_button.setText(action[0] if action else "")
        self.action_button.setVisible(action is not None)
        self.level = level
        self.tag = tag or level
        self.setStyleSheet(f"#messageBar {{{_STYLES[level]}}} QLabel {{ border: none; }}")
        self._label.setText(text)
        self.setAccessibleName(f"{level}: {text}")
        self.show()

    def clear_message(self, tag: str | None = None) -> None:
        """Hide the bar (only if its message has ``tag``, when given)."""
        if tag is None or self.tag == tag:
            self.level = self.tag = ""
            self.hide()

    def _on_action(self) -> None:
        action, self._action = self._action, None
        self.clear_message()
        if action is not None:
            action()

    def _on_close(self) -> None:
        self.clear_message()
        self.dismissed.emit()
