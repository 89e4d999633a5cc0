"""A toolbar that keeps every control visible: labels go before buttons do.

QToolBar moves what does not fit behind its » button, which hid the pen width
and the mode switch in a narrow window (or at 200 % scaling).  This one first
drops the text of the buttons that have a clear icon (Open, Save, Undo, ...;
their tooltips still name them) and only then leaves the rest to Qt.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QAction, QResizeEvent
from PySide6.QtWidgets import QToolBar, QToolButton, QWidget


class FittingToolBar(QToolBar):
    """Text beside icons while it fits; icons only for ``compactable`` actions when not."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self._compactable: list[QAction] = []
        self._compact = False
        self._full_width = 0  # what all the labels need

    def set_compactable(self, actions: list[QAction]) -> None:
        """The actions whose buttons may show only their icon when space is short."""
        self._compactable = list(actions)
        self._fit(self.width())

    def compact(self) -> bool:
        """Whether some buttons show only their icon now."""
        return self._compact

    def _set_compact(self, compact: bool) -> None:
        if compact == self._compact:
            return
        if compact:
            self._full_width = self.sizeHint().width()
        self._compact = compact
        style = (
            Qt.ToolButtonStyle.ToolButtonIconOnly
            if compact
            else Qt.ToolButtonStyle.ToolButtonTextBesideIcon
        )
        for action in self._compactable:
            button = self.widgetForAction(action)
            if isinstance(button, QToolButton):
                button.setToolButtonStyle(style)

    def _fit(self, width: int) -> None:
        if not self._compactable:
            return
        if self._compact:
            if width >= self._full_width:
                self._set_compact(False)
        elif width < self.sizeHint().width():
            self._set_compact(True)

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._fit(event.size().width())
        super().resizeEvent(event)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._set_compact(False)  # measure again with the labels
            self._fit(self.width())
