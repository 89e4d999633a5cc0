"""The live bar chart of the ten probabilities, painted with QPainter.

Painting it ourselves keeps the app on PySide6-Essentials (QtCharts lives in
the much larger Addons wheel) and makes it quick, because the chart repaints
for every live update while the pen moves: what does not move (grid lines,
the digits under the bars) is cached in a pixmap, and a repaint is that
pixmap, ten rectangles and ten short strings laid out once (``QStaticText``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPixmap,
    QStaticText,
    QTransform,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from .percent import percent

ANIMATION_MS = 120
"""Bars glide to new values over this time: smooth, yet they follow the pen."""


class ProbabilityChart(QWidget):
    """Ten labelled bars, 0-9, with percentages; the winner highlighted.

    Muted (:meth:`set_probabilities` with ``muted=True``): the bars in a quiet
    colour and no winner, for an answer the model does not stand behind
    ("not a digit?"); they can still be clicked to say what it is.

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
        self._muted = False
        self._hint = "Draw a digit"
        self._timer = QTimer(self)
        self._timer.setInterval(16)
        self._timer.timeout.connect(self._on_tick)
        self._texts: dict[str, tuple[QStaticText, float, float]] = {}
        self._text_font = QFont()
        self._font_key = 0  # the label font's pixel size
        self._line = 0
        self._backdrop_pixmap = QPixmap()
        self._backdrop_key: tuple = ()
        # paintEvent covers every pixel: Qt need not paint the window behind the chart.
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._update_tooltip()

    def probabilities(self) -> list[float]:
        """The ten probabilities shown, or [] when none are."""
        return list(self._target)

    def set_probabilities(
        self, probabilities: Sequence[float], highlight: int | None = None, muted: bool = False
    ) -> None:
        """Show ``probabilities`` (ten values), highlighting ``highlight`` (default: the
        largest); ``muted``: greyed, with no winner."""
        values = [float(p) for p in probabilities]
        if len(values) != 10:
            raise ValueError(f"expected 10 probabilities, got {len(values)}")
        if muted:
            highlight = None
        elif highlight is None:
            highlight = max(range(10), key=values.__getitem__)
        changed = values != self._target or muted != self._muted
        self._muted = muted
        self._animate_to(values)
        self._highlight = highlight
        self._update_tooltip()
        if changed:
            self.probabilities_changed.emit(list(values))

    def muted(self) -> bool:
        """Whether the bars are greyed (no winner)."""
        return self._muted and bool(self._target)

    def bar_label(self, digit: int) -> str:
        """The percentage written over ``digit``'s bar ("" when none is shown)."""
        return percent(self._target[digit]) if self._target else ""

    def highlighted(self) -> int | None:
        """The digit shown as the winner, None when there is none."""
        return self._highlight if self._target else None

    def clear(self, hint: str = "Draw a digit") -> None:
        """Show no probabilities, only ``hint``."""
        self._hint = hint
        self._highlight = None
        self._muted = False
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
        text = ", ".join(f"{d}: {percent(p, 1)}" for d, p in enumerate(self._target))
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

        A new size (or a font change, see :meth:`changeEvent`) drops the texts
        laid out in the old one."""
        w, h = self.width(), self.height()
        # "100%" must fit in a tenth of the width; the labels must fit the height.
        key = max(8, min(16, int(w / 10 / 3.1), int(h / 9)))
        if key != self._font_key:
            font = QFont(self.font())
            font.setPixelSize(key)
            self._texts.clear()
            self._backdrop_key = ()  # its digits too
            self._text_font, self._font_key = font, key
            self._line = QFontMetrics(font).height()
        return self._text_font

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.FontChange:
            self._font_key = 0  # lay the labels out again in the new font
            self.update()
        super().changeEvent(event)

    def _text(self, text: str) -> tuple[QStaticText, float, float]:
        """``text`` laid out once in the current label font, with its width and height."""
        entry = self._texts.get(text)
        if entry is None:
            static = QStaticText(text)
            static.setTextFormat(Qt.TextFormat.PlainText)
            static.prepare(QTransform(), self._text_font)
            size = static.size()
            entry = self._texts[text] = (static, size.width(), size.height())
        return entry

    def _draw_centred(self, painter: QPainter, rect: QRectF, text: str) -> None:
        """Draw ``text`` centred in ``rect``."""
        static, width, height = self._text(text)
        painter.drawStaticText(
            QPointF(
                rect.left() + (rect.width() - width) / 2, rect.top() + (rect.height() - height) / 2
            ),
            static,
        )

    def _backdrop(self, palette: QPalette, top: float, bottom: float) -> QPixmap:
        """What does not move: the background, faint lines at 25-100 %, the
        baseline and the digits under the bars."""
        dpr = self.devicePixelRatioF()
        w, h = self.width(), self.height()
        key = (w, h, dpr, palette.cacheKey())
        if key != self._backdrop_key:
            pixmap = QPixmap(max(1, round(w * dpr)), max(1, round(h * dpr)))
            pixmap.setDevicePixelRatio(dpr)
            pixmap.fill(palette.color(QPalette.ColorRole.Window))
            painter = QPainter(pixmap)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            # drawStaticText draws in the painter's font: the labels' font, as in
            # paintEvent (else the digits come out in the default font, larger than
            # the winner's digit painted over them, which then shows a ghost edge).
            painter.setFont(self._text_font)
            text = palette.color(QPalette.ColorRole.WindowText)
            painter.setPen(QColor(text.red(), text.green(), text.blue(), 28))
            for quarter in (1, 2, 3, 4):
                y = bottom - (bottom - top) * quarter / 4
                painter.drawLine(QPointF(0, y), QPointF(w, y))
            painter.setPen(QColor(text.red(), text.green(), text.blue(), 60))
            painter.drawLine(0, int(bottom) + 1, w, int(bottom) + 1)
            painter.setPen(text)
            for digit in range(10):
                self._draw_centred(painter, self._digit_rect(digit, bottom), str(digit))
            painter.end()
            self._backdrop_pixmap, self._backdrop_key = pixmap, key
        return self._backdrop_pixmap

    def _digit_rect(self, digit: int, bottom: float) -> QRectF:
        """Where the label of ``digit`` goes, under its bar."""
        slot = self.width() / 10
        return QRectF(slot * digit, bottom + 3, slot, self._line)

    def paintEvent(self, event: QPaintEvent) -> None:
        palette = self.palette()
        painter = QPainter(self)
        w, h = self.width(), self.height()
        painter.setFont(self._label_font())
        line = self._line
        top, bottom = line + 4, h - line - 6
        painter.drawPixmap(0, 0, self._backdrop(palette, top, bottom))
        highlight = palette.color(QPalette.ColorRole.Highlight)
        if self._highlight is not None:
            # The winner's digit in the highlight colour, over the backdrop's.
            rect = self._digit_rect(self._highlight, bottom)
            painter.fillRect(rect, palette.color(QPalette.ColorRole.Window))
            painter.setPen(highlight)
            self._draw_centred(painter, rect, str(self._highlight))
        slot = w / 10
        bar_w = slot * 0.62
        bar_color = palette.color(QPalette.ColorRole.Mid)
        if self._muted:  # the disabled look: present, but not an answer
            bar_color = palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Mid)
            bar_color.setAlpha(140)
        heights = [max(0.0, (bottom - top) * value) for value in self._shown]
        for digit, height in enumerate(heights):
            painter.fillRect(
                QRectF(slot * digit + (slot - bar_w) / 2, bottom - height, bar_w, height),
                highlight if digit == self._highlight else bar_color,
            )
        if self._target:
            text_color = palette.color(QPalette.ColorRole.WindowText)
            faint = QColor(text_color)
            faint.setAlpha(110)
            if self._muted:
                text_color = faint
            pen = None
            for digit, (p, height) in enumerate(zip(self._target, heights, strict=True)):
                label = self.bar_label(digit)
                if (p >= 0.005) is not pen:
                    pen = p >= 0.005
                    painter.setPen(text_color if pen else faint)
                static, text_w, text_h = self._text(label)
                # Centred over the bar, but inside the chart if wider than the bar's slot.
                left = slot * (digit + 0.5) - text_w / 2
                left = min(max(2.0, left), w - 2.0 - text_w)
                top_y = max(0.0, bottom - height - line - 1) + (line - text_h) / 2
                painter.drawStaticText(QPointF(left, top_y), static)
        elif self._hint:
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(QRectF(0, 0, w, bottom), Qt.AlignmentFlag.AlignCenter, self._hint)
        painter.end()
