"""The canvas's ink at screen resolution, kept so that no repaint re-strokes a drawing.

Painting strokes from their vectors costs time in proportion to their points
(a 50,000-point scribble takes about a second at 600 px); a repaint must not.
So the images are kept: the pen adds each segment to the current one, each
recent drawing keeps its own (an undo or a redo shows it again at once), and
when the widget's size, DPI or colours change, a drawing of more than
:data:`SYNC_POINTS` points is shown scaled from what there was while a crisp
image is painted in slices of :data:`SLICE_S` between events and swapped in
when it is ready.  Small drawings (a digit is a few hundred points) are simply
painted at once.

Slices on the GUI thread, not a thread: PySide holds the GIL while QPainter
strokes a path, so a painting thread stalled the window's event handlers for
up to 60 ms at a time (measured), and slices leave nothing to wait for on quit.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPainter

from mnist_desktop.raster import Stroke, canvas_painter, paint_pieces, paint_stroke

SYNC_POINTS = 4000
"""Drawings of at most this many points are painted at once (a few ms); longer
ones in slices."""
SLICE_S = 0.008
"""How long one slice of a long drawing's painting may keep the event loop."""
SLICE_CHUNK = 32
"""Points per painted piece in a slice (a piece of 128 took up to 30 ms at 900 px)."""

Key = tuple[int, int, int]
"""An ink image's width and height in device pixels and its colour (RGBA)."""


def point_count(strokes: Sequence[Stroke]) -> int:
    return sum(len(stroke.points) for stroke in strokes)


def blank_layer(key: Key) -> QImage:
    layer = QImage(max(1, key[0]), max(1, key[1]), QImage.Format.Format_ARGB32_Premultiplied)
    layer.fill(Qt.GlobalColor.transparent)
    return layer


def paint_layer(strokes: Sequence[Stroke], key: Key) -> QImage:
    """``strokes`` in ``key``'s colour on a transparent image of ``key``'s size."""
    layer = blank_layer(key)
    painter = canvas_painter(layer)
    color = QColor.fromRgba(key[2])
    for stroke in strokes:
        paint_stroke(painter, stroke, color)
    painter.end()
    return layer


class _Painting:
    """One long drawing's ink being painted, piece by piece."""

    def __init__(self, strokes: tuple, key: Key) -> None:
        self.strokes, self.key = strokes, key
        self.image = blank_layer(key)
        self._painter = canvas_painter(self.image)
        self._pieces = self._all_pieces(QColor.fromRgba(key[2]))

    def _all_pieces(self, color: QColor) -> Iterator[None]:
        for stroke in self.strokes:
            yield from paint_pieces(self._painter, stroke, color, SLICE_CHUNK)
            yield

    def step(self, seconds: float) -> bool:
        """Paint for about ``seconds``; True when the drawing is done."""
        until = time.perf_counter() + seconds
        for _ in self._pieces:
            if time.perf_counter() >= until:
                return False
        self._painter.end()
        return True

    def cancel(self) -> None:
        if self._painter.isActive():
            self._painter.end()


class DrawingCache:
    """The last few images made for drawings, each found again by its strokes
    tuple (by identity: canvas states are immutable, so an undo brings back
    the very tuple) and a key of its own."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._items: OrderedDict[tuple, tuple[tuple, QImage]] = OrderedDict()

    def get(self, strokes: tuple, key: tuple) -> QImage | None:
        item = self._items.get((id(strokes), key))
        if item is None or item[0] is not strokes:
            return None
        self._items.move_to_end((id(strokes), key))
        return item[1]

    def put(self, strokes: tuple, key: tuple, image: QImage) -> None:
        # The tuple is kept with its image, so its id is not reused meanwhile.
        self._items[(id(strokes), key)] = (strokes, image)
        self._items.move_to_end((id(strokes), key))
        while len(self._items) > self._capacity:
            self._items.popitem(last=False)


class InkLayer(QObject):
    """The ink as the canvas shows it (see the module's docstring).

    Signals:
        changed(): a crisp image arrived for what is shown: repaint.
    """

    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._image: QImage | None = None
        self._strokes: tuple = ()
        self._key: Key | None = None
        self._crisp = False  # painted from the vectors, not scaled
        self._live = False  # the pen is adding segments to the image
        self._cache = DrawingCache(6)
        self._job: _Painting | None = None
        self._closing = False
        self._slices = QTimer(self)
        self._slices.setSingleShot(True)
        self._slices.timeout.connect(self._paint_slice)

    # -- what the canvas paints ----------------------------------------------
    def image(
        self,
        strokes: tuple,
        key: Key,
        live: Stroke | None,
        stand_in: Callable[[], QImage],
    ) -> QImage:
        """The ink of ``strokes`` (and the ``live`` stroke being drawn) at ``key``.

        Crisp when kept or cheap; otherwise the old image scaled, or
        ``stand_in()`` (an image whose alpha is the ink, e.g. the model's
        raster), scaled, until the crisp one comes."""
        if self._image is not None and self._strokes is strokes and self._key == key:
            if not self._crisp and not self._live:
                self._paint_later(strokes, key)
            return self._image
        kept = None if live else self._cache.get(strokes, key)
        if kept is not None:
            self._show(strokes, key, kept.copy(), crisp=True)  # a copy: the pen paints on it
        elif point_count(strokes) + (len(live.points) if live else 0) <= SYNC_POINTS:
            drawn = (*strokes, live) if live else strokes
            self._show(strokes, key, paint_layer(drawn, key), crisp=True)
            if not live:
                self._cache.put(strokes, key, self._image.copy())
        else:
            if self._image is not None and self._strokes is strokes and self._key is not None:
                # What there was, at the old size or in the old colour.
                scaled = self._scaled(self._image, key, self._key[2])
            else:
                scaled = self._scaled(stand_in(), key)
            self._show(strokes, key, scaled, crisp=False)
            if not live:
                self._paint_later(strokes, key)
        return self._image

    def current(self) -> QImage | None:
        """The image shown now, for the pen to add its segments to."""
        return self._image

    def color(self) -> QColor:
        return QColor.fromRgba(self._key[2]) if self._key else QColor(Qt.GlobalColor.black)

    # -- the pen -----------------------------------------------------------
    def begin_stroke(self, strokes: tuple) -> None:
        """The pen goes down over the drawing ``strokes``: keep its image for an undo."""
        if self._image is None or self._strokes is not strokes:
            self._image = None  # not painted yet: the next repaint paints it, pen and all
        elif self._crisp and self._key is not None:
            self._cache.put(strokes, self._key, self._image.copy())
        self._strokes = strokes
        self._live = True

    def end_stroke(self, strokes: tuple) -> None:
        """The pen was lifted and the drawing is now ``strokes``: the image the pen
        drew is theirs (segment by segment, as the user saw it)."""
        self._strokes = strokes
        self._live = False
        if self._image is not None and self._crisp and self._key is not None:
            self._cache.put(strokes, self._key, self._image.copy())

    def drop_live(self) -> None:
        """A stroke was abandoned (an undo or a clear mid-stroke): forget its ink."""
        if self._live:
            self._image, self._live = None, False

    # -- quitting ------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop painting in slices (quitting)."""
        self._closing = True
        self._slices.stop()
        if self._job is not None:
            self._job.cancel()
            self._job = None

    # -- internals -----------------------------------------------------------
    def _show(self, strokes: tuple, key: Key, image: QImage, crisp: bool) -> None:
        self._strokes, self._key, self._image, self._crisp = strokes, key, image, crisp

    @staticmethod
    def _scaled(image: QImage, key: Key, rgba: int | None = None) -> QImage:
        """``image`` (ink of colour ``rgba``, or an Alpha8 coverage image) in
        ``key``'s colour, stretched to its size."""
        if rgba != key[2] or image.format() != QImage.Format.Format_ARGB32_Premultiplied:
            # Recoloured at the source's size, which is the smaller one for the raster.
            coloured = QImage(image.size(), QImage.Format.Format_ARGB32_Premultiplied)
            coloured.fill(QColor.fromRgba(key[2]))
            painter = QPainter(coloured)
            painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_DestinationIn)
            painter.drawImage(0, 0, image)
            painter.end()
            image = coloured
        return image.scaled(
            max(1, key[0]),
            max(1, key[1]),
            Qt.AspectRatioMode.IgnoreAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )

    def _paint_later(self, strokes: tuple, key: Key) -> None:
        job = self._job
        if job is not None and job.strokes is strokes and job.key == key:
            return  # already being painted
        if self._closing:
            return
        if job is not None:
            job.cancel()  # the newest drawing supersedes any older painting
        self._job = _Painting(strokes, key)
        self._slices.start(0)

    def _paint_slice(self) -> None:
        job = self._job
        if job is None:
            return
        if not job.step(SLICE_S):
            self._slices.start(0)
            return
        self._job = None
        self._cache.put(job.strokes, job.key, job.image.copy())
        if self._strokes is job.strokes and self._key == job.key and not self._live:
            self._show(job.strokes, job.key, job.image, crisp=True)
            self.changed.emit()
