"""A status bar whose messages never run under its permanent labels.

QStatusBar cuts a long message off where the timing label starts ("Opened
a_photo_2"); this one shortens it in the middle ("Opened a_ph…paper.png") to
the room there is, and keeps the whole text as the tooltip.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QStatusBar, QWidget


class ElidingStatusBar(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._permanent: list[QWidget] = []

    def addPermanentWidget(self, widget: QWidget, stretch: int = 0) -> None:
        self._permanent.append(widget)
        super().addPermanentWidget(widget, stretch)

    def message_room(self) -> int:
        """The width a message has, left of the permanent widgets (pixels)."""
        taken = sum(w.sizeHint().width() + 8 for w in self._permanent if not w.isHidden())
        return max(40, self.width() - taken - 24)

    def showMessage(self, text: str, timeout: int = 0) -> None:
        shown = self.fontMetrics().elidedText(
            text, Qt.TextElideMode.ElideMiddle, self.message_room()
        )
        self.setToolTip(text if shown != text else "")
        super().showMessage(shown, timeout)
