"""The live bar chart of the ten probabilities, painted with QPainter.

Painting it ourselves keeps the app on PySide6-Essentials (QtCharts lives in
the much larger Addons wheel) and makes it quick: a repaint is ten rectangles
and twenty short strings, laid out once (``QStaticText``) and then only drawn,
because the chart repaints for every live update while the pen moves.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPixmap,
    QStaticText,
    QTransform,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

ANIMATION_MS = 120
"""Bars glide to new values over this time: smooth, yet they follow the pen."""


class ProbabilityChart(QWidget):
    """Ten labelled bars, 0-9, with percentages; the winner highlighted.

    Signals:
        probabilities_changed(list): the shown probabilities changed (ten floats,
            or an empty list when none are shown).
        digit_clicked(int): the user clicked the bar of this digit (to say the
            drawing is that digit).
    """

    probabilities_changed = Signal(list)
    digit_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("probabilityChart")
        self.setAccessibleName("Probabilities of the digits 0 to 9")
        self.setMinimumSize(220, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._target: list[float] = []
        self._shown = [0.0] * 10
        self._start = [0.0] * 10
        self._started = 0.0
        self._highlight: int | None = None
        self._hint = "Draw a digit"
        self._timer = QTimer(self)
        self._timer.setInterval(16)
        self._timer.timeout.connect(self._on_tick)
        self._texts: dict[str, QStaticText] = {}
        self._text_font = QFont()
        self._backdrop_pixmap = QPixmap()
        self._backdrop_key: tuple = ()
        # paintEvent covers every pixel: Qt need not paint the window behind the chart.
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._update_tooltip()

    def probabilities(self) -> list[float]:
        """The ten probabilities shown, or [] when none are."""
        return list(self._target)

    def set_probabilities(
        self, probabilities: Sequence[float], highlight: int | None = None
    ) -> None:
        """Show ``probabilities`` (ten values), highlighting ``highlight`` (default: the largest)."""
        values = [float(p) for p in probabilities]
        if len(values) != 10:
            raise ValueError(f"expected 10 probabilities, got {len(values)}")
        if highlight is None:
            highlight = max(range(10), key=values.__getitem__)
        changed = values != self._target
        self._animate_to(values)
        self._highlight = highlight
        self._update_tooltip()
        if changed:
            self.probabilities_changed.emit(list(values))

    def clear(self, hint: str = "Draw a digit") -> None:
        """Show no probabilities, only ``hint``."""
        self._hint = hint
        self._highlight = None
        changed = bool(self._target)
        self._animate_to([])
        self._update_tooltip()
        if changed:
            self.probabilities_changed.emit([])
        self.update()

    def set_hint(self, hint: str) -> None:
        self._hint = hint
        self.update()

    def _animate_to(self, values: list[float]) -> None:
        self._start = list(self._shown)
        self._target = values
        self._started = time.monotonic()
        if not self._timer.isActive():
            self._timer.start()
        self._on_tick()

    def _on_tick(self) -> None:
        t = min(1.0, (time.monotonic() - self._started) * 1000 / ANIMATION_MS)
        ease = 1 - (1 - t) ** 3
        goal = self._target or [0.0] * 10
        self._shown = [a + (b - a) * ease for a, b in zip(self._start, goal, strict=True)]
        if t >= 1.0:
            self._timer.stop()
        self.update()

    def _update_tooltip(self) -> None:
        if not self._target:
            self.setToolTip(self._hint)
            self.setAccessibleDescription(self._hint)
            self.unsetCursor()
            return
        text = ", ".join(f"{d}: {p:.1%}" for d, p in enumerate(self._target))
        self.setToolTip(text + "\nWrong? Click the right digit to teach the model.")
        self.setAccessibleDescription(text)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def digit_at(self, x: float) -> int:
        """The digit whose bar (slot) is at widget x coordinate ``x``."""
        return min(9, max(0, int(x / (self.width() / 10))))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._target:
            self.digit_clicked.emit(self.digit_at(event.position().x()))
            event.accept()
        else:
            super().mousePressEvent(event)

    def _label_font(self) -> QFont:
        """The widget's font at a pixel size that fits the chart.

        A font other than the last one drops the texts laid out in it."""
        w, h = self.width(), self.height()
        font = QFont(self.font())
        # "100%" must fit in a tenth of the width; the labels must fit the height.
        font.setPixelSize(max(8, min(16, int(w / 10 / 3.1), int(h / 9))))
        if font != self._text_font:
            self._texts.clear()
            self._text_font = font
        return font

    def _text(self, text: str) -> QStaticText:
        """``text`` laid out once in the current label font."""
        static = self._texts.get(text)
        if static is None:
            static = QStaticText(text)
            static.setTextFormat(Qt.TextFormat.PlainText)
            static.prepare(QTransform(), self._text_font)
            self._texts[text] = static
        return static

    def _draw_centred(self, painter: QPainter, rect: QRectF, text: str) -> None:
        """Draw ``text`` centred in ``rect``."""
        static = self._text(text)
        size = static.size()
        painter.drawStaticText(
            QPointF(
                rect.left() + (rect.width() - size.width()) / 2,
                rect.top() + (rect.height() - size.height()) / 2,
            ),
            static,
        )

    def _backdrop(self, palette: QPalette, top: float, bottom: float) -> QPixmap:
        """What does not move: the background, faint lines at 25-100 % and the baseline."""
        dpr = self.devicePixelRatioF()
        w, h = self.width(), self.height()
        key = (w, h, dpr, palette.cacheKey(), top, bottom)
        if key != self._backdrop_key:
            pixmap = QPixmap(max(1, round(w * dpr)), max(1, round(h * dpr)))
            pixmap.setDevicePixelRatio(dpr)
            pixmap.fill(palette.color(QPalette.ColorRole.Window))
            painter = QPainter(pixmap)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            text = palette.color(QPalette.ColorRole.WindowText)
            painter.setPen(QColor(text.red(), text.green(), text.blue(), 28))
            for quarter in (1, 2, 3, 4):
                y = bottom - (bottom - top) * quarter / 4
                painter.drawLine(QPointF(0, y), QPointF(w, y))
            painter.setPen(QColor(text.red(), text.green(), text.blue(), 60))
            painter.drawLine(0, int(bottom) + 1, w, int(bottom) + 1)
            painter.end()
            self._backdrop_pixmap, self._backdrop_key = pixmap, key
        return self._backdrop_pixmap

    def paintEvent(self, event: QPaintEvent) -> None:
        palette = self.palette()
        painter = QPainter(self)
        text_color = palette.color(QPalette.ColorRole.WindowText)
        bar_color = QColor(palette.color(QPalette.ColorRole.Mid))
        highlight = palette.color(QPalette.ColorRole.Highlight)
        faint = QColor(text_color)
        faint.setAlpha(110)
        w, h = self.width(), self.height()
        painter.setFont(self._label_font())
        line = painter.fontMetrics().height()
        top, bottom = line + 4, h - line - 6
        painter.drawPixmap(0, 0, self._backdrop(palette, top, bottom))
        slot = w / 10
        bar_w = slot * 0.62
        for digit in range(10):
            value = self._shown[digit]
            x = slot * digit + (slot - bar_w) / 2
            height = max(0.0, (bottom - top) * value)
            color = highlight if digit == self._highlight else bar_color
            painter.fillRect(QRectF(x, bottom - height, bar_w, height), color)
            painter.setPen(highlight if digit == self._highlight else text_color)
            self._draw_centred(painter, QRectF(slot * digit, bottom + 3, slot, line), str(digit))
            if self._target:
                pct = self._target[digit] * 100
                label = f"{pct:.0f}%" if pct >= 1 else "<1%" if pct >= 0.05 else "0%"
                painter.setPen(text_color if pct >= 1 else faint)
                # A label may be wider than its bar's slot: widen it, but keep it inside.
                label_w = max(slot, self._text(label).size().width() + 4.0)
                left = min(max(0.0, slot * (digit + 0.5) - label_w / 2), w - label_w)
                self._draw_centred(
                    painter,
                    QRectF(left, max(0.0, bottom - height - line - 1), label_w, line),
                    label,
                )
        if not self._target and self._hint:
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(QRectF(0, 0, w, bottom), Qt.AlignmentFlag.AlignCenter, self._hint)
        painter.end()
