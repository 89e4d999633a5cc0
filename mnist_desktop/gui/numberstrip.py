"""The digits of a number, side by side: each with its reading and a small chart.

Clicking a digit (or moving with the arrow keys) selects it; the window then
shows that digit's full chart and model input.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QKeyEvent, QMouseEvent, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

from .percent import percent

CELL_WIDTH = 64
"""Preferred width of one digit's cell, in device-independent pixels."""


class NumberStrip(QWidget):
    """One cell per digit: the digit, its confidence and its ten probabilities.

    A mark the model judges no digit shows "?" greyed (it is not part of the
    number); its probabilities are still drawn, muted, so it can be corrected.

    Signals:
        digit_selected(int): the index of the digit the user picked.
    """

    digit_selected = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("numberStrip")
        self.setAccessibleName("Digits of the number")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumHeight(96)
        self.setMaximumHeight(150)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._digits: list[tuple[int | None, float, list[float], bool, bool]] = []
        self._selected = -1
        self._hint = "Write a number"
        self.setToolTip("Click a digit to see its chart")

    def sizeHint(self) -> QSize:
        return QSize(CELL_WIDTH * max(4, len(self._digits)), 104)

    # -- content -------------------------------------------------------------
    def set_digits(self, digits: Sequence[tuple], selected: int = 0) -> None:
        """Show ``digits``: (digit, confidence, ten probabilities, unsure[, rejected]) each;
        a rejected one's digit is the model's best guess, drawn as "?"."""
        self._digits = [(e[0], e[1], list(e[2]), e[3], len(e) > 4 and bool(e[4])) for e in digits]
        self._selected = min(max(0, selected), len(self._digits) - 1) if self._digits else -1
        self.setAccessibleDescription(
            ", ".join(self.cell_text(i) for i in range(len(self._digits))) or self._hint
        )
        self.updateGeometry()
        self.update()

    def clear(self, hint: str = "Write a number") -> None:
        self._hint = hint
        self.set_digits([])

    def count(self) -> int:
        return len(self._digits)

    def rejected(self, index: int) -> bool:
        """Whether digit ``index`` is shown as no digit ("?")."""
        return self._digits[index][4]

    def cell_text(self, index: int) -> str:
        """What cell ``index`` says: "5 (98%)", "5? (54%)" or "? (not a digit)"."""
        digit, confidence, _, unsure, rejected = self._digits[index]
        if rejected:
            return "? (not a digit)"
        return f"{digit}{'?' if unsure else ''} ({percent(confidence)})"

    def selected(self) -> int:
        """Index of the selected digit, -1 when there is none."""
        return self._selected

    def select(self, index: int) -> None:
        if 0 <= index < len(self._digits) and index != self._selected:
            self._selected = index
            self.update()
            self.digit_selected.emit(index)

    # -- geometry ------------------------------------------------------------
    def _cell_width(self) -> float:
        return min(float(CELL_WIDTH) * 1.5, self.width() / max(1, len(self._digits)))

    def cell_rect(self, index: int) -> QRectF:
        """Where digit ``index`` is drawn (widget coordinates)."""
        cell = self._cell_width()
        left = (self.width() - cell * len(self._digits)) / 2
        return QRectF(left + cell * index, 0, cell, self.height())

    # -- events --------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        for i in range(len(self._digits)):
            if self.cell_rect(i).contains(event.position()):
                self.select(i)
                event.accept()
                return
        super().mousePressEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        step = {Qt.Key.Key_Left: -1, Qt.Key.Key_Right: 1}.get(Qt.Key(event.key()))
        if step and self._digits:
            self.select(min(max(0, self._selected + step), len(self._digits) - 1))
            event.accept()
        else:
            super().keyPressEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        palette = self.palette()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        text = palette.color(QPalette.ColorRole.WindowText)
        if not self._digits:
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._hint)
            painter.end()
            return
        highlight = palette.color(QPalette.ColorRole.Highlight)
        bar = QColor(palette.color(QPalette.ColorRole.Mid))
        big = QFont(self.font())
        big.setBold(True)
        big.setPixelSize(max(12, min(28, int(self.height() / 4))))
        small = QFont(self.font())
        small.setPixelSize(max(8, min(12, int(self.height() / 9))))
        muted = QColor(palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Mid))
        muted.setAlpha(140)
        quiet = palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText)
        for i, (digit, confidence, probs, unsure, rejected) in enumerate(self._digits):
            cell = self.cell_rect(i).adjusted(3, 3, -3, -3)
            selected = i == self._selected
            if selected:
                fill = QColor(highlight)
                fill.setAlpha(40)
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(fill)
                painter.drawRoundedRect(cell, 5, 5)
            painter.setFont(big)
            painter.setPen(quiet if rejected else highlight if selected else text)
            top = QRectF(cell.left(), cell.top(), cell.width(), cell.height() * 0.38)
            label = "?" if rejected else f"{digit}?" if unsure else str(digit)
            painter.drawText(top, Qt.AlignmentFlag.AlignCenter, label)
            painter.setFont(small)
            painter.setPen(quiet if rejected else text)
            mid = QRectF(cell.left(), top.bottom(), cell.width(), cell.height() * 0.17)
            painter.drawText(
                mid,
                Qt.AlignmentFlag.AlignCenter,
                "not a digit" if rejected else percent(confidence),
            )
            # Ten thin bars: the shape of the distribution at a glance.
            chart = QRectF(cell.left() + 4, mid.bottom() + 2, cell.width() - 8, 0)
            chart.setBottom(cell.bottom() - 4)
            slot = chart.width() / 10
            for d, p in enumerate(probs):
                h = max(1.0, chart.height() * p)
                painter.fillRect(
                    QRectF(
                        chart.left() + slot * d + slot * 0.15, chart.bottom() - h, slot * 0.7, h
                    ),
                    muted if rejected else highlight if d == digit else bar,
                )
        if self.hasFocus() and self._selected >= 0:
            painter.setPen(QColor(highlight))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(self.cell_rect(self._selected).adjusted(2, 2, -2, -2), 5, 5)
        painter.end()
