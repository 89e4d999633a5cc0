"""The freehand canvas: strokes with undo/redo, or an opened image.

The drawing lives at a fixed internal resolution (:data:`CANVAS_SIZE` pixels
high, one square wide for a digit or several for a number) whatever the
widget's size or the screen's DPI, as vector strokes and as a greyscale raster
(white ink on black, the model's polarity) that is updated segment by segment
while the pen moves.  On screen the strokes are rendered from the vectors in
the palette's colours at the screen's resolution, so they are crisp at any
scale and follow light and dark themes; that rendering is kept by
:class:`~mnist_desktop.gui.inklayer.InkLayer` and extended segment by segment
too, and each recent drawing's raster is kept, so neither an undo nor a
resize re-strokes a long drawing while the window waits.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QTabletEvent,
    QUndoCommand,
    QUndoStack,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from mnist_desktop.raster import (
    CANVAS_SIZE,
    DEFAULT_PEN_WIDTH,
    Stroke,
    bounds,
    canvas_painter,
    for_model,
    paint_stroke,
    pen_cap,
    render_strokes,
    segment_pen,
)

from .inklayer import DrawingCache, InkLayer
from .qtimage import qimage_to_gray, rgba_to_qimage

__all__ = ["CANVAS_SIZE", "DEFAULT_PEN_WIDTH", "CanvasState", "DrawingCanvas", "Stroke"]


@dataclass(frozen=True)
class CanvasState:
    """What the canvas shows: strokes, or an opened image (RGBA uint8)."""

    strokes: tuple[Stroke, ...] = ()
    image: np.ndarray | None = None
    name: str = ""
    columns: int = 1
    """The drawing is ``columns`` squares wide: 1 for a digit, more for a number."""

    @property
    def empty(self) -> bool:
        return not self.strokes and self.image is None


class _SetState(QUndoCommand):
    """Undoable change of the whole canvas state (states are immutable)."""

    def __init__(self, canvas: DrawingCanvas, before: CanvasState, after: CanvasState, text: str):
        super().__init__(text)
        self._canvas, self._before, self._after = canvas, before, after

    def redo(self) -> None:
        self._canvas._apply(self._after)

    def undo(self) -> None:
        self._canvas._apply(self._before)


def _reaching(
    box: tuple[float, float, float, float] | None, x: float, y: float
) -> tuple[float, float, float, float]:
    """``box`` (x0, y0, x1, y1; None: empty) grown to reach the point (x, y)."""
    if box is None:
        return (x, y, x, y)
    return (min(box[0], x), min(box[1], y), max(box[2], x), max(box[3], y))


class DrawingCanvas(QWidget):
    """A square canvas for drawing digits with the mouse, a pen or a finger.

    Signals:
        drawing_changed(): ink was added during a stroke (throttle it).
        stroke_finished(): the pen was lifted.
        state_changed(): the committed state changed (stroke, clear, undo, image).
    """

    drawing_changed = Signal()
    stroke_finished = Signal()
    state_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("canvas")
        self.setAccessibleName("Drawing canvas")
        self.setAccessibleDescription("Draw a digit here with the mouse or a pen")
        self.setToolTip("Draw a digit here")
        self.setMinimumSize(200, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.undo_stack = QUndoStack(self)
        self.pen_width = DEFAULT_PEN_WIDTH
        self._state = CanvasState()
        self._raster = render_strokes(())
        # Each recent drawing's raster, untouched by the pen (it paints on a copy).
        self._rasters = DrawingCache(16)
        self._rasters.put((), (1,), render_strokes(()))
        self._qimage: QImage | None = None  # the opened image, ready to paint
        self._boxes: list[tuple[QRectF, str]] = []  # digits found, in canvas coordinates
        self._muted_boxes: list[bool] = []  # which of them are no digit
        self._selected_box = -1
        self._current: list[tuple[float, float, float]] | None = None
        self._current_width = float(self.pen_width)
        # The drawing's extent so far, with the stroke being drawn (x0, y0, x1, y1):
        # the model's raster caps the pen by it (raster.for_model).
        self._reach: tuple[float, float, float, float] | None = None
        self._drawn: Stroke | None = None  # the stroke just finished, being committed
        # The ink as shown, at screen resolution: painting thick anti-aliased
        # vector strokes costs milliseconds a frame (seconds for a long
        # scribble), blitting this image a fraction of one.
        self._ink = InkLayer(self)
        self._ink.changed.connect(self.update)

    # -- state -------------------------------------------------------------
    def state(self) -> CanvasState:
        return self._state

    def is_empty(self) -> bool:
        return self._state.empty and not self._current

    def is_drawing(self) -> bool:
        return self._current is not None

    def drawing_array(self) -> np.ndarray:
        """The drawing as the model's polarity: H x W uint8, white ink on black."""
        return qimage_to_gray(self._raster)

    def source(self) -> tuple[np.ndarray, str] | None:
        """What to classify now, with its polarity, or None when empty."""
        if self._current is not None or self._state.strokes:
            return self.drawing_array(), "light"
        if self._state.image is not None:
            return self._state.image, "auto"
        return None

    @property
    def columns(self) -> int:
        return self._state.columns

    def _apply(self, state: CanvasState) -> None:
        if self._current is not None:
            self._ink.drop_live()  # an undo or a clear mid-stroke ends the stroke
        self._current = None
        before, self._state = self._state, state
        self._boxes = []
        self._raster = self._raster_of(state, before)
        self._qimage = rgba_to_qimage(state.image) if state.image is not None else None
        if self._drawn is not None and state.strokes and state.strokes[-1] is self._drawn:
            self._ink.end_stroke(state.strokes)  # the pen already drew it on screen
        self._drawn = None
        self.update()
        self.state_changed.emit()

    def _raster_of(self, state: CanvasState, before: CanvasState) -> QImage:
        """The model's raster of ``state``: kept, or ``before``'s plus one new stroke,
        or painted afresh; a copy, for the pen to paint on."""
        key = (state.columns,)
        raster = self._rasters.get(state.strokes, key)
        if raster is None:
            base = self._rasters.get(before.strokes, key)
            new = state.strokes[len(before.strokes) :]
            strokes = for_model(state.strokes, state.columns)
            if (
                base is not None
                and len(new) == 1
                and all(a is b for a, b in zip(before.strokes, state.strokes, strict=False))
                and [s.width for s in for_model(before.strokes, state.columns)]
                == [s.width for s in strokes[:-1]]
            ):
                # One stroke more (the usual case; its earlier strokes as they were
                # drawn for the model): painted over the kept raster, the same
                # pixels as painting them all, in order.
                raster = base.copy()
                painter = canvas_painter(raster)
                paint_stroke(painter, strokes[-1], Qt.GlobalColor.white)
                painter.end()
            else:
                raster = render_strokes(strokes, columns=state.columns)
            self._rasters.put(state.strokes, key, raster)
        return raster.copy()

    def _push(self, after: CanvasState, text: str) -> None:
        self.undo_stack.push(_SetState(self, self._state, after, text))

    def clear(self) -> None:
        """Clear the canvas (undoable)."""
        self._cancel_stroke()
        if not self._state.empty:
            self._push(CanvasState(columns=self.columns), "Clear")

    def set_columns(self, columns: int, undoable: bool = True) -> None:
        """Widen the canvas for a number (or back to one digit): a new, empty drawing,
        except that an opened image stays, to be read in the new mode.

        Undoable, so switching modes never loses a drawing; ``undoable=False``
        starts afresh (at start-up)."""
        self._cancel_stroke()
        if columns == self.columns:
            return
        state = CanvasState(columns=columns)
        if self._state.image is not None and not self._state.strokes:
            state = replace(self._state, columns=columns)
        if undoable:
            self._push(state, "Write a number" if columns > 1 else "Draw a digit")
        else:
            self.undo_stack.clear()
            self._apply(state)

    def set_image(self, rgba: np.ndarray, name: str = "") -> None:
        """Show an opened image (undoable); drawing again starts a new drawing."""
        self._cancel_stroke()
        self._push(CanvasState(image=rgba, name=name, columns=self.columns), f"Open {name}".strip())

    def add_stroke(self, stroke: Stroke) -> None:
        """Add a finished stroke (undoable), as if drawn."""
        base = self._state if self._state.image is None else CanvasState(columns=self.columns)
        self._push(replace(base, strokes=base.strokes + (stroke,)), "Stroke")

    def export_image(self) -> QImage:
        """The canvas for saving or copying: the drawing dark on white, or the image."""
        if self._state.image is not None and not self._state.strokes:
            return rgba_to_qimage(self._state.image)
        image = render_strokes(self._state.strokes, CANVAS_SIZE, self.columns)
        image.invertPixels()
        return image

    def shutdown(self) -> None:
        """Stop painting a long drawing's ink in slices (quitting)."""
        self._ink.shutdown()

    # -- digits found (number mode) ------------------------------------------
    def set_boxes(
        self,
        boxes: list[tuple[int, int, int, int]],
        labels: list[str],
        source_size: tuple[int, int],
        selected: int = -1,
        muted: list[bool] | None = None,
    ) -> None:
        """Outline the digits found: ``boxes`` (x, y, w, h) in pixels of the
        classified source of ``source_size`` (the raster, or the opened image);
        ``muted`` ones (no digit, left out of the number) are drawn greyed and dashed."""
        sw, sh = source_size
        if self._state.image is not None and not self._state.strokes and self._qimage is not None:
            # The image is scaled to fit the drawing area, centred.
            scale = min(CANVAS_SIZE * self.columns / sw, CANVAS_SIZE / sh)
            ox = (CANVAS_SIZE * self.columns - sw * scale) / 2
            oy = (CANVAS_SIZE - sh * scale) / 2
            sx = sy = scale
        else:
            sx, sy = CANVAS_SIZE * self.columns / sw, CANVAS_SIZE / sh
            ox = oy = 0.0
        self._boxes = [
            (QRectF(ox + x * sx, oy + y * sy, w * sx, h * sy), label)
            for (x, y, w, h), label in zip(boxes, labels, strict=True)
        ]
        self._muted_boxes = list(muted) if muted else [False] * len(boxes)
        self._selected_box = selected
        self.update()

    def select_box(self, index: int) -> None:
        self._selected_box = index
        self.update()

    def box_rects(self) -> list[QRectF]:
        """The outlined digits, in widget coordinates."""
        rect = self._area()
        scale = rect.height() / CANVAS_SIZE
        return [
            QRectF(
                rect.left() + r.left() * scale,
                rect.top() + r.top() * scale,
                r.width() * scale,
                r.height() * scale,
            )
            for r, _ in self._boxes
        ]

    # -- geometry ----------------------------------------------------------
    def _area(self) -> QRectF:
        """The drawing area in the widget: the largest centred ``columns`` x 1 rectangle."""
        columns = self.columns
        side = min(self.width() / columns, self.height()) - 2
        return QRectF(
            (self.width() - side * columns) / 2, (self.height() - side) / 2, side * columns, side
        )

    def _to_canvas(self, pos: QPointF) -> tuple[float, float]:
        rect = self._area()
        scale = CANVAS_SIZE / rect.height()
        return (pos.x() - rect.left()) * scale, (pos.y() - rect.top()) * scale

    # -- drawing -----------------------------------------------------------
    def _begin(self, pos: QPointF, pressure: float) -> None:
        if self._state.image is not None:
            # Drawing over an opened image starts a new drawing.
            self._raster = render_strokes((), columns=self.columns)
            self._qimage = None
        self._boxes = []
        x, y = self._to_canvas(pos)
        self._ink.begin_stroke(self._state.strokes)
        self._current = [(x, y, pressure)]
        self._current_width = float(self.pen_width)
        self._reach = _reaching(bounds(self._state.strokes), x, y)
        self._paint_segment(None, self._current[0])
        self.update()
        self.drawing_changed.emit()

    def _extend(self, pos: QPointF, pressure: float) -> None:
        if self._current is None:
            return
        x, y = self._to_canvas(pos)
        last = self._current[-1]
        if abs(x - last[0]) < 0.25 and abs(y - last[1]) < 0.25:
            return
        point = (x, y, pressure)
        self._current.append(point)
        self._reach = _reaching(self._reach, x, y)
        self._paint_segment(last, point)
        self._update_segment(last, point)
        self.drawing_changed.emit()

    def _end(self) -> None:
        if self._current is None:
            return
        stroke = Stroke(tuple(self._current), self._current_width)
        self._current = None
        self._drawn = stroke
        self.add_stroke(stroke)
        self.stroke_finished.emit()

    def _cancel_stroke(self) -> None:
        if self._current is not None:
            self._apply(self._state)

    def _ink_image(self, rect: QRectF, ink: QColor) -> QImage:
        dpr = self.devicePixelRatioF()
        key = (max(1, round(rect.width() * dpr)), max(1, round(rect.height() * dpr)), ink.rgba())
        live = None
        if self._current is not None:
            live = Stroke(tuple(self._current), self._current_width)
        return self._ink.image(self._state.strokes, key, live, self._raster_as_alpha)

    def _raster_as_alpha(self) -> QImage:
        """The model's raster as ink coverage: a stand-in while the ink is painted."""
        alpha = self._raster.copy()
        alpha.reinterpretAsFormat(QImage.Format.Format_Alpha8)
        return alpha

    def _paint_segment(self, a, b) -> None:
        """Add one pen segment (a dot when ``a`` is None) to the model's raster
        and to the ink shown on screen, when there is one to add to."""
        # The model's raster caps the pen by the drawing's size so far (exact
        # once the stroke ends: raster.for_model); the screen shows it as drawn.
        model_width = min(self._current_width, pen_cap(self._reach, self.columns))
        targets = [(self._raster, QColor(Qt.GlobalColor.white), model_width)]
        if self._ink.current() is not None:
            targets.append((self._ink.current(), self._ink.color(), self._current_width))
        for image, color, width in targets:
            painter = canvas_painter(image)
            painter.setPen(segment_pen(color, width, b[2]))
            if a is None:
                painter.drawPoint(QPointF(b[0], b[1]))
            else:
                painter.drawLine(QPointF(a[0], a[1]), QPointF(b[0], b[1]))
            painter.end()

    def _update_segment(self, a, b) -> None:
        """Schedule a repaint of just the pixels a new segment covers: the
        rest of the canvas is unchanged, and blending it again costs more than
        the whole rest of a live update."""
        rect = self._area()
        scale = rect.height() / CANVAS_SIZE
        reach = self._current_width / 2 + 2  # the pen's radius, and anti-aliasing
        left, right = sorted((a[0], b[0]))
        top, bottom = sorted((a[1], b[1]))
        self.update(
            QRectF(
                rect.left() + (left - reach) * scale,
                rect.top() + (top - reach) * scale,
                (right - left + 2 * reach) * scale,
                (bottom - top + 2 * reach) * scale,
            )
            .toAlignedRect()
            .intersected(rect.toAlignedRect())
        )

    # -- events ------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._begin(event.position(), 1.0)
            event.accept()
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._current is not None and event.buttons() & Qt.MouseButton.LeftButton:
            self._extend(event.position(), 1.0)
            event.accept()
        else:
            super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._current is not None:
            self._extend(event.position(), 1.0)
            self._end()
            event.accept()
        else:
            super().mouseReleaseEvent(event)

    def tabletEvent(self, event: QTabletEvent) -> None:
        kind = event.type()
        pressure = max(0.0, min(1.0, event.pressure()))
        if kind == QEvent.Type.TabletPress:
            self._begin(event.position(), pressure)
        elif kind == QEvent.Type.TabletMove and self._current is not None:
            self._extend(event.position(), pressure)
        elif kind == QEvent.Type.TabletRelease and self._current is not None:
            self._end()
        event.accept()  # no synthesized mouse events: the pen draws once

    # -- painting ----------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        palette = self.palette()
        painter = QPainter(self)
        painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.Window))
        rect = self._area()
        painter.fillRect(rect, palette.color(QPalette.ColorRole.Base))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        if self._qimage is not None and self._current is None:
            size = self._qimage.size().scaled(
                rect.size().toSize(), Qt.AspectRatioMode.KeepAspectRatio
            )
            target = QRectF(0, 0, size.width(), size.height())
            target.moveCenter(rect.center())
            painter.drawImage(target, self._qimage)
        ink = palette.color(QPalette.ColorRole.Text)
        painter.drawImage(rect, self._ink_image(rect, ink))
        if self._boxes and self._current is None:
            self._paint_boxes(painter, palette)
        if self.is_empty():
            painter.setPen(QColor(palette.color(QPalette.ColorRole.PlaceholderText)))
            font = painter.font()
            font.setPointSizeF(max(9.0, rect.height() / 22))
            painter.setFont(font)
            hint = "Write a number here" if self.columns > 1 else "Draw a digit here"
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, hint)
        border = QColor(palette.color(QPalette.ColorRole.Mid))
        painter.setPen(QPen(border, 1))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(rect.adjusted(0.5, 0.5, -0.5, -0.5))
        painter.end()

    def _paint_boxes(self, painter: QPainter, palette: QPalette) -> None:
        """Outline each digit found, its reading above it; the selected one stands out."""
        highlight = palette.color(QPalette.ColorRole.Highlight)
        faint = QColor(highlight)
        faint.setAlpha(120)
        font = painter.font()
        font.setPointSizeF(max(8.0, font.pointSizeF()))
        font.setBold(True)
        painter.setFont(font)
        line = painter.fontMetrics().height()
        quiet = palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
        muted = self._muted_boxes
        for i, (rect, (_, label)) in enumerate(zip(self.box_rects(), self._boxes, strict=True)):
            selected = i == self._selected_box
            pen = QPen(highlight if selected else faint, 2.5 if selected else 1.5)
            if i < len(muted) and muted[i]:
                pen = QPen(quiet, 2.0 if selected else 1.2, Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            box = rect.adjusted(-3, -3, 3, 3)
            painter.drawRoundedRect(box, 4, 4)
            text = QRectF(box.left(), max(0.0, box.top() - line - 1), box.width(), line)
            if i < len(muted) and muted[i]:
                painter.setPen(quiet)
            else:
                painter.setPen(highlight if selected else palette.color(QPalette.ColorRole.Text))
            painter.drawText(text, Qt.AlignmentFlag.AlignCenter, label)
