"""The one stroke rasterizer: pen strokes to the greyscale raster the model sees.

The canvas draws with it, and training renders real pen trajectories with it,
so the model learns from exactly the pixels a user's drawing produces: round
caps and joins, anti-aliasing, pen width relative to the canvas, the model
raster's size.  It uses Qt's QPainter on a QImage, which needs no application
object, so it runs headless (training, benchmarks) as well as in the window.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen

CANVAS_SIZE = 280
"""Side of the canvas's internal drawing, in pixels (10x the model's 28)."""
RASTER_SIZE = 84
"""Side of the greyscale raster sent to the model: still 4x the 20 px box the
digit is fitted into (the 810 benchmark drawings read the same as at 140 or
280 px), and a ninth of the pixels of CANVAS_SIZE, so preprocessing a live
stroke costs well under a millisecond."""
DEFAULT_PEN_WIDTH = 24
MIN_PRESSURE_WIDTH = 0.35
"""A tablet pen at the lightest touch draws this fraction of the pen width."""
MAX_PEN_SHARE = 0.3
"""The model's raster draws no pen wider than this share of the drawing's
longer side (in number mode, of its height).  The model learnt pens up to
about a fifth of a digit's size, as a fine pen to a marker draws; a small digit
drawn with a wide pen is a blob on the screen, but its strokes' centre lines
are still the digit (the 90 px digits drawn with a 40 px pen read 42 of 90;
so capped, 90).  The screen and a saved drawing keep the pen as drawn."""
MIN_PEN_CAP = 4.0
"""...and never narrower than this (the narrowest pen), so a click stays a dot."""
PATH_CHUNK = 128
"""A mouse stroke is painted as paths of at most this many points: Qt's
stroker slows down faster than linearly with a path's length (a 50,000-point
scribble took minutes as one path); chunks overlap by a point, so the line is
unbroken."""


@dataclass(frozen=True)
class Stroke:
    """One pen-down-to-pen-up line: points (x, y, pressure) in canvas pixels."""

    points: tuple[tuple[float, float, float], ...]
    width: float

    @cached_property
    def bounds(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) of its points (kept: a stroke never changes)."""
        xs = [p[0] for p in self.points]
        ys = [p[1] for p in self.points]
        return min(xs), min(ys), max(xs), max(ys)


def bounds(strokes: Sequence[Stroke]) -> tuple[float, float, float, float] | None:
    """(x0, y0, x1, y1) of all the strokes' points; None without any."""
    if not strokes:
        return None
    boxes = [s.bounds for s in strokes]
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def pen_cap(box: tuple[float, float, float, float] | None, columns: int = 1) -> float:
    """The widest pen the model's raster draws for a drawing whose points span
    ``box``: by its longer side, or in number mode (``columns`` over 1) its
    height, a row being as wide as its digits together."""
    if box is None:
        return math.inf
    width, height = box[2] - box[0], box[3] - box[1]
    return max(MIN_PEN_CAP, MAX_PEN_SHARE * (max(width, height) if columns == 1 else height))


def for_model(strokes: Sequence[Stroke], columns: int = 1) -> tuple[Stroke, ...]:
    """The strokes as the model's raster draws them: pens capped at :func:`pen_cap`."""
    cap = pen_cap(bounds(strokes), columns)
    return tuple(s if s.width <= cap else replace(s, width=cap) for s in strokes)


def _segment_width(stroke_width: float, pressure: float) -> float:
    return stroke_width * (MIN_PRESSURE_WIDTH + (1 - MIN_PRESSURE_WIDTH) * pressure)


def _pen(color: QColor | Qt.GlobalColor, width: float) -> QPen:
    return QPen(
        color, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin
    )


def segment_pen(color: QColor | Qt.GlobalColor, stroke_width: float, pressure: float) -> QPen:
    """The pen for a piece of a stroke drawn at ``pressure`` (the canvas's live segments)."""
    return _pen(color, _segment_width(stroke_width, pressure))


def paint_stroke(painter: QPainter, stroke: Stroke, color: QColor | Qt.GlobalColor) -> None:
    """Paint one stroke (a dot for a single point) with round caps and joins."""
    for _ in paint_pieces(painter, stroke, color):
        pass


def paint_pieces(
    painter: QPainter, stroke: Stroke, color: QColor | Qt.GlobalColor, chunk: int = PATH_CHUNK
) -> Iterator[None]:
    """:func:`paint_stroke` piece by piece (``chunk`` points at a time), pausing
    after each, so that a long drawing can be painted in slices between events."""
    points = stroke.points
    if len(points) == 1 or all(p[:2] == points[0][:2] for p in points):
        x, y, pressure = points[0]
        painter.setPen(_pen(color, _segment_width(stroke.width, pressure)))
        painter.drawPoint(QPointF(x, y))
        return
    if all(p[2] == points[0][2] for p in points):
        # Constant pressure (a mouse): paths, so overlapping segments blend cleanly.
        painter.setPen(_pen(color, _segment_width(stroke.width, points[0][2])))
        for start in range(0, len(points) - 1, chunk):
            piece = points[start : start + chunk + 1]
            path = QPainterPath(QPointF(piece[0][0], piece[0][1]))
            for x, y, _ in piece[1:]:
                path.lineTo(x, y)
            painter.drawPath(path)
            yield
        return
    for i, ((x0, y0, p0), (x1, y1, p1)) in enumerate(zip(points[:-1], points[1:], strict=True)):
        painter.setPen(_pen(color, _segment_width(stroke.width, (p0 + p1) / 2)))
        painter.drawLine(QPointF(x0, y0), QPointF(x1, y1))
        if i % chunk == chunk - 1:
            yield


def canvas_painter(image: QImage) -> QPainter:
    """An anti-aliased painter on ``image`` that draws in canvas pixels
    (the image is CANVAS_SIZE canvas pixels high)."""
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    scale = image.height() / CANVAS_SIZE
    painter.scale(scale, scale)
    return painter


def render_strokes(strokes: Sequence[Stroke], size: int = RASTER_SIZE, columns: int = 1) -> QImage:
    """Rasterise strokes as white ink on black, greyscale, ``size`` pixels high and
    ``columns`` times as wide."""
    image = QImage(size * columns, size, QImage.Format.Format_Grayscale8)
    image.fill(0)
    painter = canvas_painter(image)
    for stroke in strokes:
        paint_stroke(painter, stroke, Qt.GlobalColor.white)
    painter.end()
    return image


def place_strokes(
    strokes: Sequence[Sequence[Sequence[float]]],
    height: float,
    centre: tuple[float, float] = (CANVAS_SIZE / 2, CANVAS_SIZE / 2),
    pen_width: float = DEFAULT_PEN_WIDTH,
    min_step: float = 2.0,
) -> tuple[Stroke, ...]:
    """Strokes in any units (lists of (x, y), y down) as canvas strokes drawn by a mouse.

    The drawing's bounding box is scaled, aspect kept, so that its longer side
    is ``height`` canvas pixels (a tall digit is ``height`` tall; a wide mark
    ``height`` wide), and centred on ``centre``; ``pen_width`` is in canvas
    pixels, as the window's pen width control sets it.  Points closer than
    ``min_step`` canvas pixels to the last one kept are dropped, as a mouse
    samples a line (a tablet's dense samples cost the painter for nothing).
    """
    xs = [float(p[0]) for s in strokes for p in s]
    ys = [float(p[1]) for s in strokes for p in s]
    if not xs:
        return ()
    x0, y0 = min(xs), min(ys)
    span = max(max(xs) - x0, max(ys) - y0)
    k = height / span if span > 0 else 1.0
    ox = centre[0] - (max(xs) - x0) * k / 2
    oy = centre[1] - (max(ys) - y0) * k / 2
    placed = []
    for stroke in strokes:
        points = [(ox + (float(p[0]) - x0) * k, oy + (float(p[1]) - y0) * k, 1.0) for p in stroke]
        if not points:
            continue
        kept = [points[0]]
        for point in points[1:]:
            if math.hypot(point[0] - kept[-1][0], point[1] - kept[-1][1]) >= min_step:
                kept.append(point)
        if len(points) > 1 and kept[-1] is not points[-1]:
            kept.append(points[-1])  # the stroke ends where the pen was lifted
        placed.append(Stroke(tuple(kept), float(pen_width)))
    return tuple(placed)


def gray_array(image: QImage) -> np.ndarray:
    """A Grayscale8 QImage as an H x W uint8 NumPy array (a copy)."""
    rows = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes())
    return rows.reshape(image.height(), image.bytesPerLine())[:, : image.width()].copy()


def render_array(
    strokes: Sequence[Stroke], size: int = RASTER_SIZE, columns: int = 1
) -> np.ndarray:
    """What the canvas sends the model, as an H x W uint8 array: the strokes
    :func:`for_model`, through :func:`render_strokes`."""
    return gray_array(render_strokes(for_model(strokes, columns), size, columns))
