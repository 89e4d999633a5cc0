"""The window's content, laid out for one digit or for a whole number.

One grid holds every piece, so Qt knows each one's minimum size and nothing is
ever squeezed on top of another (the old nested boxes let the 28 x 28 view
cover its caption and the chart's hint cover its axis labels when the window
was small):

* digit: the square canvas on the left; the answer and the model's input above
  the chart on the right;
* number: the wide canvas on top; under it the answer with the digit strip,
  the selected digit's chart, and its model input, side by side, so the whole
  window still fits 640 x 480.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QVBoxLayout, QWidget


def column(*widgets: QWidget, stretch: int = -1) -> QWidget:
    """``widgets`` stacked in a plain widget (the ``stretch``-th one takes the spare height)."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(4)
    for i, widget in enumerate(widgets):
        layout.addWidget(widget, 1 if i == stretch else 0)
    return box


class Body(QWidget):
    """Canvas, answer, model input, digit strip and chart, placed for the mode."""

    def __init__(
        self,
        canvas: QWidget,
        answer: QWidget,
        seen: QWidget,
        strip: QWidget,
        chart: QWidget,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("body")
        self.canvas, self.answer, self.seen, self.strip, self.chart = (
            canvas,
            answer,
            seen,
            strip,
            chart,
        )
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._number: bool | None = None
        self.set_number_mode(False)

    def number_mode(self) -> bool:
        return bool(self._number)

    def set_number_mode(self, number: bool) -> None:
        if number == self._number:
            return
        self._number = number
        grid = self._grid
        for widget in (self.canvas, self.answer, self.seen, self.strip, self.chart):
            grid.removeWidget(widget)
        for i in range(4):
            grid.setRowStretch(i, 0)
            grid.setColumnStretch(i, 0)
        top = Qt.AlignmentFlag.AlignTop
        if number:
            grid.addWidget(self.canvas, 0, 0, 1, 3)
            grid.addWidget(self.answer, 1, 0)
            grid.addWidget(self.strip, 2, 0)
            grid.addWidget(self.chart, 1, 1, 2, 1)
            grid.addWidget(self.seen, 1, 2, 2, 1, top)
            grid.setRowStretch(0, 1)  # the canvas and the answers share the height
            grid.setRowStretch(2, 1)
            grid.setColumnStretch(0, 3)
            grid.setColumnStretch(1, 4)
        else:
            grid.addWidget(self.canvas, 0, 0, 2, 1)
            grid.addWidget(self.answer, 0, 1)
            grid.addWidget(self.seen, 0, 2, top)
            grid.addWidget(self.chart, 1, 1, 1, 2)
            grid.setRowStretch(1, 1)
            grid.setColumnStretch(0, 3)
            grid.setColumnStretch(1, 2)
        self.strip.setVisible(number)
