"""Read a row of digits (a year, a house number, an amount) as a number.

Where one digit ends and the next begins is decided by the classifier, not by
rules about shapes: the ink (the same :func:`~mnist_desktop.preprocess.ink_map`
as for single digits) is split into connected components, and wide components
into column pieces at their thinnest columns and at regular steps.  Every run of
neighbouring pieces that could be one digit (a whole component, part of one,
several strokes that overlap like the two of a 4) is a candidate; all
candidates go through the same :func:`~mnist_desktop.preprocess.fit_to_mnist`
as a single digit and are classified in one batch.  The reading is the path of
candidates from left to right that maximises the sum of the log calibrated
probabilities, minus a cost per digit and costs for shapes digits rarely have,
plus half the log probability the whole-digit check gives each candidate of
being one whole digit, not a piece of one or two together
(:mod:`~mnist_desktop.ml.wholecheck`, which sees the candidate in its row;
:class:`Weights`; :func:`_best_path`, dynamic programming).  So a wide 0 stays
one digit when the model reads it as a 0 more surely than its halves as two
digits, and a joined "00" is split when it reads the two 0s more surely than the
pair as one digit of that width.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .ml.wholecheck import ROW_PX, WINDOW, CheckError, bundled_check
from .preprocess import (
    SIZE,
    ImageSource,
    Polarity,
    _cells_to_pixels,
    _components,
    fit_to_mnist,
    ink_map,
    pool_cells,
    read_image,
    scale_box,
)

if TYPE_CHECKING:
    from .ml.inference import Classifier, Prediction
    from .ml.wholecheck import WholeCheck

SEGMENT_SIDE = 384
"""Components are found on a grid of at most this many cells on the long side."""
MIN_PART = 0.15
"""Components shorter than this fraction of the tallest one, or smaller than twice
it both ways, are small marks (a speck, the bar of a 5 written apart): one over or
against a digit's piece goes with it, others are left out; a small mark is never a
digit of its own."""
ATTACH_GAP = 0.15
"""A small mark at most this fraction of a piece's height above or below it goes with it."""
SPLIT_FROM = 0.45
"""A component at least this wide (times its height, or the row's digit height if
more) may be several digits (two 1s written joined are about this wide)."""
CUT_STEP = 0.16
"""Besides its thinnest columns, a wide component may be cut every this much of its height."""
MAX_RUN = 5
"""A candidate digit is a run of at most this many pieces, or of more if they are
whole components or at most RUN_WIDTH x the tallest piece wide (a digit joined to the
next is often cut into six or seven pieces; the whole-digit check tells it from two)."""
RUN_WIDTH = 1.0
MAX_ASPECT = 2.2
"""...and at most this many times as wide as tall."""
JOIN_GAP = 0.12
"""Separate pieces closer than this fraction of their height may be one digit."""
MAX_CANDIDATES = 120
"""Candidates classified per image at most (live number mode stays fluid)."""
DIGIT_COST = 0.7
"""Score cost of each digit read: a row is cut into more digits only where they read
clearly better than fewer.  This and the costs below were chosen on rows composed from
MNIST training digits and Semeion scans (benchmarks/number_rows.py describes the kinds)."""
WIDE_COST = 0.25
"""Score cost per unit of width-to-height ratio above WIDE_FROM (wide digits are rare)."""
WIDE_FROM = 1.1
SPAN_COST = 0.5
"""Score cost per unit of width, in the row's digit heights, above SPAN_FROM."""
SPAN_FROM = 1.0
MERGE_COST = 1.0
"""Score cost of joining separate components side by side (less as they overlap)."""
LOOP_COST = 0.5
"""Score cost of a cut through a closed loop of ink (a 0, the loops of a 6, 8 or 9):
a slice of a 0 reads as "1" as surely as the whole reads as 0."""
LOOP_AREA = 0.004
"""A hole counts as a loop from this area, times the square of its ink's height
(smaller ones are where strokes touch or cross)."""
LOOP_SIDE = 0.03
"""A cut goes through a loop when it is within half a stroke of the hole, less this
much of the ink's height (a cut between touching digits may graze a loop)."""
SHAPE_COST = 0.2
"""Score cost per unit of how much wider a candidate is than the digit it reads as
usually is (a joined "66" read as one 6 is as wide as two)."""
LOG_ASPECT = [math.log(a) for a in (0.9, 0.4, 0.95, 0.8, 0.8, 0.95, 0.7, 0.8, 0.75, 0.7)]
"""Each digit's usual width over height (log): the median over MNIST's 60,000 training digits."""
ASPECT_SPREAD = (0.16, 0.44, 0.21, 0.17, 0.17, 0.21, 0.24, 0.17, 0.22, 0.2)
"""How much wider they get: (90th percentile - median) / 1.28 of the log aspect, as a
standard deviation."""
CHECK_WEIGHT = 0.5
"""Weight of the whole-digit check's log probability in a candidate's score
(:mod:`~mnist_desktop.ml.wholecheck`): it tells a slice of a 0 from a 1, and a
joined "43" from an 8, which the digit model alone reads as surely."""
WORK_HEIGHT = 80
"""The ink is reduced until the digits are about this many pixels high (4 x the
model's 20 px box, like the canvas raster): candidates are cheap to fit."""


@dataclass
class DigitBox:
    """One digit found in the image."""

    box: tuple[int, int, int, int]
    """(x, y, width, height) in the source image's pixels."""
    image: np.ndarray
    """Its 28 x 28 model input."""
    touching: bool = False
    """True when it was cut out of ink it shares with a neighbour."""


@dataclass
class Segmentation:
    digits: list[DigitBox] = field(default_factory=list)
    polarity: str = "light"
    size: tuple[int, int] = (0, 0)
    notes: list[str] = field(default_factory=list)
    close_call: bool = False
    """Which of the image's two tones is the paper was no sure thing (ink covers
    as much of it as paper: a bold number cropped to its ink)."""


@dataclass(frozen=True)
class Weights:
    """What a reading pays, besides reading its digits less surely."""

    digit: float = DIGIT_COST
    wide: float = WIDE_COST
    span: float = SPAN_COST
    merge: float = MERGE_COST
    shape: float = SHAPE_COST
    loop: float = LOOP_COST
    check: float = CHECK_WEIGHT

    def cost(self, c: _Candidate, digit: int | None = None) -> float:
        """The cost of reading candidate ``c`` as one digit (``digit``, if known)."""
        shape = 0.0
        if digit is not None:
            aspect = c.box[2] / max(1, c.box[3])
            z = (math.log(max(aspect, 1e-3)) - LOG_ASPECT[digit]) / ASPECT_SPREAD[digit]
            shape = 0.5 * z * z if z > 0 else 0.0
        return (
            self.shape * shape
            + self.digit
            + self.wide * c.wide
            + self.span * c.span
            + self.merge * c.merge
            + self.loop * c.opens
            - self.check * c.whole
        )


@dataclass
class _Piece:
    """A component, or the columns [x0, x1) of one, in ink-map pixels."""

    label: int
    x0: int
    x1: int
    y0: int
    y1: int
    small: bool
    attached: list[_Piece] = field(default_factory=list)
    """Small marks that go with this piece (the bar of a 5 written apart)."""
    cut_left: bool = False
    """The left edge is a cut through the component (not its own edge)."""
    cut_right: bool = False
    opens: int = 0
    """How many loops of the component the cut on the right goes through."""
    group: int = 0
    """The label of the component it came from (touching digits split between their
    loops are components of their own)."""

    @property
    def height(self) -> int:
        return self.y1 - self.y0


@dataclass
class _Candidate:
    first: int
    end: int
    """Pieces first..end-1."""
    box: tuple[int, int, int, int]
    """(x, y, w, h) of its ink, in ink-map pixels."""
    image: np.ndarray
    touching: bool
    wide: float
    """How much wider than :data:`WIDE_FROM` times its height it is (0 if not)."""
    span: float
    """How much wider than :data:`SPAN_FROM` times the row's digit height it is (0 if not)."""
    merge: float
    """Separate components joined, each counting 1 less how much it overlaps the rest
    horizontally (a 4's stem crossing its bar: about 0; side by side: 1)."""
    opens: int = 0
    """Loops its right edge cuts through (when a reading ends it there)."""
    window: np.ndarray | None = None
    """It in its row, for the whole-digit check (:class:`_Windows`)."""
    whole: float = 0.0
    """The check's log probability that it is one whole digit (0: not checked)."""


def _grow_labels(labels: np.ndarray) -> np.ndarray:
    """Give empty cells next to a component its label (the soft edges of its strokes)."""
    grown = labels.copy()
    for axis, shift in ((0, 1), (0, -1), (1, 1), (1, -1)):
        moved = np.roll(labels, shift, axis=axis)
        edge = [slice(None), slice(None)]
        edge[axis] = slice(0, 1) if shift == 1 else slice(-1, None)
        moved[tuple(edge)] = 0
        empty = grown == 0
        grown[empty] = moved[empty]
    return grown


def _cuts(profile: np.ndarray, height: int, step: float) -> list[int]:
    """Columns to cut a component at: its thinnest columns, and every ``step`` x height."""
    width = len(profile)
    margin = max(1, round(min(0.12 * height, 0.25 * width)))
    if width - 2 * margin < 1:
        return []
    k = max(1, round(0.03 * height))
    smooth = np.convolve(profile, np.ones(2 * k + 1) / (2 * k + 1), mode="same")
    inner = np.arange(margin, width - margin)
    values = smooth[inner]
    left = np.r_[np.inf, values[:-1]]
    right = np.r_[values[1:], np.inf]
    minima = inner[(values <= left) & (values <= right)]
    minima = minima[np.argsort(smooth[minima], kind="stable")]
    keep: list[int] = []
    spacing = max(2.0, 0.1 * height)
    most = max(1, int(width / (0.4 * height)))  # about one per narrowest digit's width
    for x in minima.tolist():
        if len(keep) < most and all(abs(x - y) >= spacing for y in keep):
            keep.append(x)
    if width > 0.9 * height and step > 0:
        for x in np.arange(margin, width - margin, max(2.0, step * height)).round().astype(int):
            if all(abs(x - y) >= 0.5 * step * height for y in keep):
                keep.append(int(x))
    return sorted(keep)


def _stroke_width(mask: np.ndarray) -> float:
    """The usual width of the strokes of ``mask``: its median run of ink across them
    (along rows or columns, whichever is shorter: a 0's top runs along its stroke)."""

    def median_run(m: np.ndarray) -> float:
        edges = np.diff(np.pad(m, ((0, 0), (1, 1))).astype(np.int8), axis=1).ravel()
        runs = np.flatnonzero(edges < 0) - np.flatnonzero(edges > 0)
        return float(np.median(runs)) if runs.size else 0.0

    return min(median_run(mask), median_run(mask.T))


def _holes(part: np.ndarray) -> list[tuple[int, int, int, int]]:
    """The holes of one component's ink, left to right: the background it encloses,
    from :data:`LOOP_AREA` x height squared up, as column and row spans
    (x0, x1, y0, y1), ends excluded."""
    height = part.shape[0]
    labels, count = _components(np.pad(part <= 0.25, 1, constant_values=True))
    outside = labels[0, 0]  # the padding joins all the background around the ink
    spans = []
    for label in range(1, count + 1):
        ys, xs = np.nonzero(labels == label)
        if label != outside and xs.size >= LOOP_AREA * height * height:
            # Padded: one right of and one below the ink.
            spans.append((int(xs.min()) - 1, int(xs.max()), int(ys.min()) - 1, int(ys.max())))
    return sorted(spans)


def _between(holes: list[tuple[int, int, int, int]]) -> list[tuple[int, int]]:
    """The column spans between holes side by side, those one above the other (an
    8's) taken together: where two touching digits with loops (a joined "00") meet.
    Holes side by side share half the rows of the shorter: a slanted 8's loops,
    one up and right of the other, are no two digits."""
    spans: list[list[int]] = []
    for x0, x1, y0, y1 in holes:
        if spans and x0 < spans[-1][1]:
            last = spans[-1]
            last[1:] = [max(last[1], x1), min(last[2], y0), max(last[3], y1)]
        else:
            spans.append([x0, x1, y0, y1])
    out = []
    for a, b in zip(spans[:-1], spans[1:], strict=True):
        shared = min(a[3], b[3]) - max(a[2], b[2])
        if shared >= 0.5 * min(a[3] - a[2], b[3] - b[2]):
            out.append((a[1], b[0]))
    return out


def _drop_path(part: np.ndarray, a: int, b: int) -> np.ndarray:
    """The column, row by row, of the path from top to bottom within columns [a, b)
    that crosses the least ink, moving at most one column a row (a cut that follows
    the gap between two touching digits instead of a straight line)."""
    cost = part[:, a:b].astype(np.float64) + 0.02  # a little for length: straight
    total = cost[0].copy()
    back = np.zeros(cost.shape, np.int64)
    for y in range(1, len(cost)):
        shifted = np.stack(
            [np.r_[np.inf, total[:-1]] + 0.05, total, np.r_[total[1:], np.inf] + 0.05]
        )
        step = shifted.argmin(axis=0)
        back[y] = step - 1
        total = shifted[step, np.arange(len(total))] + cost[y]
    path = np.zeros(len(cost), np.int64)
    path[-1] = int(total.argmin())
    for y in range(len(cost) - 1, 0, -1):
        path[y - 1] = path[y] + back[y, path[y]]
    return path + a


def _split_loops(part: np.ndarray, holes: list[tuple[int, int, int, int]]) -> list[np.ndarray]:
    """One component's ink split between its loops side by side (two touching digits
    with loops; ``holes``: its :func:`_holes`), along the paths of least ink between
    them; each part as a mask.  Cut straight, the strokes where they touch leave
    slivers that read as 1s."""
    between = _between(holes)
    if not between:
        return []
    cols = np.arange(part.shape[1])
    side = np.zeros(part.shape, np.int64)  # how many paths lie left of each pixel
    for a, b in between:
        path = _drop_path(part, a, max(b, a + 1))
        side += cols[None, :] > path[:, None]
    return [side == k for k in range(len(between) + 1)]


def _split_components(comps: list, pixels: np.ndarray, count: int) -> list:
    """``comps`` with each component that holds loops side by side split between
    them (:func:`_split_loops`); the parts get new labels in ``pixels``.  A component
    left whole keeps the holes found in it (None: not looked for)."""
    out = []
    for label, group, x0, y0, part, _ in comps:
        if part.shape[1] < SPLIT_FROM * part.shape[0]:
            out.append((label, group, x0, y0, part, None))
            continue
        holes = _holes(part)
        masks = _split_loops(part, holes)
        if not masks:
            out.append((label, group, x0, y0, part, holes))
            continue
        h, w = part.shape
        region = pixels[y0 : y0 + h, x0 : x0 + w]
        own = region == label
        for k, mask in enumerate(masks):
            piece = part * mask
            rows = np.flatnonzero(piece.any(axis=1))
            cols = np.flatnonzero(piece.any(axis=0))
            if rows.size == 0:
                continue
            new = label
            if k:
                count += 1
                new = count
                region[own & mask] = new
            piece = piece[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
            out.append((new, group, x0 + int(cols[0]), y0 + int(rows[0]), piece, None))
    return out


def _pieces(
    ink: np.ndarray, step: float, cut: bool = True, split: bool = True
) -> tuple[list[_Piece], np.ndarray, bool]:
    """The ink's components, wide ones cut into column pieces (if ``cut``) and split
    between loops side by side (if ``split`` too), ordered left to right; each pixel's
    component label; and whether a component was split between loops."""
    h, w = ink.shape
    cell = max(1, -(-max(h, w) // SEGMENT_SIDE))
    labels, count = _components(pool_cells(ink, cell, np.max) > 0.25)
    if count == 0:
        return [], np.zeros((h, w), np.int32), False
    pixels = _cells_to_pixels(_grow_labels(labels), cell, (h, w))
    comps = []
    for label in range(1, count + 1):
        ys, xs = np.nonzero(labels == label)
        y0, y1 = ys.min() * cell, min(h, (ys.max() + 2) * cell)
        x0, x1 = max(0, (xs.min() - 1) * cell), min(w, (xs.max() + 2) * cell)
        y0 = max(0, y0 - cell)
        part = ink[y0:y1, x0:x1] * (pixels[y0:y1, x0:x1] == label)
        rows = np.flatnonzero(part.any(axis=1))
        cols = np.flatnonzero(part.any(axis=0))
        if rows.size == 0:
            continue
        part = part[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        comps.append((label, label, x0 + int(cols[0]), y0 + int(rows[0]), part, None))
    whole = len(comps)
    if cut and split:
        comps = _split_components(comps, pixels, count)
    tallest = max(p.shape[0] for *_, p, _ in comps)
    # The digits' height: the median of the components that are not small marks.
    row = float(np.median([p.shape[0] for *_, p, _ in comps if p.shape[0] >= MIN_PART * tallest]))
    pieces: list[_Piece] = []
    for label, group, x0, y0, part, holes in comps:
        height, width = part.shape
        small = height < MIN_PART * tallest or max(height, width) < 2 * MIN_PART * tallest
        y1 = y0 + height
        wide = width >= SPLIT_FROM * max(height, row)
        cuts = _cuts(part.sum(axis=0), height, step) if cut and wide and not small else []
        if not cuts:
            pieces.append(_Piece(label, x0, x0 + width, y0, y1, small, group=group))
            continue
        edges = [0, *cuts, width]
        # A cut goes through a loop from the middle of the stroke around its hole.
        reach = 0.5 * _stroke_width(part > 0.25) - LOOP_SIDE * height
        holes = _holes(part) if holes is None else holes
        loops = [(lo - reach, hi + reach) for lo, hi, *_ in holes]
        for a, b in zip(edges[:-1], edges[1:], strict=True):
            rows = np.flatnonzero(part[:, a:b].any(axis=1))
            if rows.size == 0:
                continue
            pieces.append(
                _Piece(
                    label, x0 + a, x0 + b, y0 + int(rows[0]), y0 + int(rows[-1]) + 1, False,
                    [], a > 0, b < width, sum(lo <= b < hi for lo, hi in loops), group,
                )
            )  # fmt: skip
    # A small mark over or against a piece goes with it; one beside the digits (a
    # speck, a comma) is no part of any digit.
    big = [p for p in pieces if not p.small]
    for mark in (p for p in pieces if p.small):
        best, host = 0, None
        for p in big:
            overlap = min(p.x1, mark.x1) - max(p.x0, mark.x0)
            gap = max(p.y0 - mark.y1, mark.y0 - p.y1)
            if overlap > best and gap <= ATTACH_GAP * p.height:
                best, host = overlap, p
        if host is not None:
            host.attached.append(mark)
    pieces = big
    pieces.sort(key=lambda p: (p.x0 + p.x1, p.x0))
    return pieces, pixels, len(comps) > whole


def _runs(pieces: list[_Piece]) -> list[tuple[int, int]]:
    """Runs of neighbouring pieces that could be one digit: (first, end).

    Short runs (up to :data:`MAX_RUN` pieces) and every run that is made of
    whole components (a component cut into many pieces is still one candidate).
    """
    runs = []
    tallest = max((p.height for p in pieces), default=0)
    for i in range(len(pieces)):
        x0, x1 = pieces[i].x0, pieces[i].x1
        y0, y1 = pieces[i].y0, pieces[i].y1
        runs.append((i, i + 1))
        for j in range(i + 1, len(pieces)):
            p = pieces[j]
            # Separate pieces are one digit only if they overlap or nearly touch.
            if max(x0, p.x0) - min(x1, p.x1) > JOIN_GAP * max(y1 - y0, p.height):
                break
            x0, x1, y0, y1 = min(x0, p.x0), max(x1, p.x1), min(y0, p.y0), max(y1, p.y1)
            if x1 - x0 > MAX_ASPECT * tallest:
                break
            run = pieces[i : j + 1]
            if x1 - x0 > MAX_ASPECT * (y1 - y0):
                continue  # too flat for a digit so far; the next piece may add height
            if (
                j - i < MAX_RUN
                or x1 - x0 <= RUN_WIDTH * tallest
                or not (run[0].cut_left or run[-1].cut_right)
            ):
                runs.append((i, j + 1))
    return runs


def _merge(run: list[_Piece]) -> float:
    """Sum over the separate components of a run (after the first, left to right)
    of 1 less the fraction of the narrower one they overlap horizontally."""
    spans: dict[int, list[int]] = {}
    for p in run:
        span = spans.setdefault(p.label, [p.x0, p.x1])
        span[0], span[1] = min(span[0], p.x0), max(span[1], p.x1)
    total, reach = 0.0, None
    for x0, x1 in sorted(spans.values()):
        if reach is not None:
            overlap = min(reach[1], x1) - max(reach[0], x0)
            narrower = max(1, min(reach[1] - reach[0], x1 - x0))
            total += 1.0 - min(1.0, overlap / narrower)
            reach = [min(reach[0], x0), max(reach[1], x1)]
        else:
            reach = [x0, x1]
    return total


def _with_marks(pieces: list[_Piece], first: int, end: int) -> list[_Piece]:
    """Pieces first..end-1 and the small marks that go with them."""
    run = pieces[first:end]
    return run + [m for p in run for m in p.attached]


def _run_mask(
    pixels: np.ndarray, pieces: list[_Piece], first: int, end: int
) -> tuple[int, int, np.ndarray]:
    """Where pieces first..end-1 (and their small marks) are: the left and top of
    their box, and which of its pixels are theirs."""
    run = _with_marks(pieces, first, end)
    x0, x1 = min(p.x0 for p in run), max(p.x1 for p in run)
    y0, y1 = min(p.y0 for p in run), max(p.y1 for p in run)
    region = pixels[y0:y1, x0:x1]
    mask = np.zeros(region.shape, bool)
    for p in run:
        mask[:, p.x0 - x0 : p.x1 - x0] |= region[:, p.x0 - x0 : p.x1 - x0] == p.label
    return x0, y0, mask


def _crop(
    ink: np.ndarray, pixels: np.ndarray, pieces: list[_Piece], first: int, end: int
) -> tuple[tuple[int, int, int, int], np.ndarray] | None:
    """The ink of pieces first..end-1 alone, fitted into the model's 28 x 28."""
    x0, y0, mask = _run_mask(pixels, pieces, first, end)
    part = ink[y0 : y0 + mask.shape[0], x0 : x0 + mask.shape[1]] * mask
    rows = np.flatnonzero(part.any(axis=1))
    cols = np.flatnonzero(part.any(axis=0))
    if rows.size == 0:
        return None
    box = (int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1))
    return (box[0] + x0, box[1] + y0, box[2], box[3]), fit_to_mnist(part, box)


class _Windows:
    """Windows around candidates for the whole-digit check: the row's ink and the
    candidate's own (two channels), scaled so the row's digits are
    :data:`~mnist_desktop.ml.wholecheck.ROW_PX` high, centred on the candidate."""

    def __init__(self, ink: np.ndarray, pixels: np.ndarray, row_height: float) -> None:
        from PIL import Image

        self.scale = ROW_PX / max(1.0, row_height)
        h, w = ink.shape
        size = (max(1, round(w * self.scale)), max(1, round(h * self.scale)))
        small = Image.fromarray(ink.astype(np.float32)).resize(size, Image.Resampling.BILINEAR)
        labels = Image.fromarray(pixels.astype(np.int32)).resize(size, Image.Resampling.NEAREST)
        self.pad = WINDOW  # a window centred on the edge stays inside
        pad = ((WINDOW[0], WINDOW[0]), (WINDOW[1], WINDOW[1]))
        self.ink = np.pad(np.asarray(small), pad)
        self.labels = np.pad(np.asarray(labels), pad)

    def __call__(self, run: list[_Piece]) -> np.ndarray:
        s, (wh, ww) = self.scale, WINDOW
        x0, x1 = min(p.x0 for p in run), max(p.x1 for p in run)
        y0, y1 = min(p.y0 for p in run), max(p.y1 for p in run)
        cy = round((y0 + y1) / 2 * s) + self.pad[0]
        cx = round((x0 + x1) / 2 * s) + self.pad[1]
        rows = slice(cy - wh // 2, cy + wh // 2)
        cols = np.arange(cx - ww // 2, cx + ww // 2)
        ink = self.ink[rows, cols[0] : cols[-1] + 1]
        labels = self.labels[rows, cols[0] : cols[-1] + 1]
        cols = cols - self.pad[1]
        mine = np.zeros(ink.shape, bool)
        for p in run:
            inside = (cols >= math.floor(p.x0 * s)) & (cols < math.ceil(p.x1 * s))
            mine |= (labels == p.label) & inside[None, :]
        return np.clip(np.stack([ink, ink * mine], axis=-1), 0.0, 1.0)


def _candidates(
    ink: np.ndarray, split: bool = True, windows: bool = True
) -> tuple[list[_Piece], list[_Candidate], bool, np.ndarray]:
    """The pieces of the ink, every candidate digit made of them (capped), whether
    a component was split between loops (``split``, :func:`_split_loops`), and
    each pixel's component label.  Each candidate gets its window for the
    whole-digit check if ``windows``."""
    step = CUT_STEP
    while True:
        pieces, pixels, was_split = _pieces(ink, step, split=split)
        runs = _runs(pieces)
        if len(runs) <= MAX_CANDIDATES or step == 0:
            break
        step = 0.0 if step >= 0.3 else step * 1.5  # coarser cuts, then thinnest columns only
    if len(runs) > MAX_CANDIDATES:
        # Keep the shortest runs: single pieces always, so every reading stays possible.
        runs = sorted(sorted(runs, key=lambda r: r[1] - r[0])[:MAX_CANDIDATES])
    heights = [p.height for p in pieces if not p.cut_left and not p.cut_right]
    row_height = float(np.median(heights)) if heights else float(max(p.height for p in pieces))
    around = _Windows(ink, pixels, row_height) if windows else None
    out = []
    for first, end in runs:
        found = _crop(ink, pixels, pieces, first, end)
        if found is None:
            continue
        box, image = found
        run = pieces[first:end]
        groups = {p.group for p in run}
        # Cut out of ink it shares with pieces outside the run: touching digits.
        touching = sum(p.group in groups for p in pieces) > len(run)
        wide = max(0.0, box[2] / max(1, box[3]) - WIDE_FROM)
        span = max(0.0, box[2] / row_height - SPAN_FROM)
        window = around(_with_marks(pieces, first, end)) if around else None
        out.append(
            _Candidate(
                first, end, box, image, touching, wide, span, _merge(run), run[-1].opens, window
            )
        )
    return pieces, out, was_split, pixels


def _best_path(
    pieces: list[_Piece],
    candidates: list[_Candidate],
    probabilities: np.ndarray,
    weights: Weights | None = None,
) -> tuple[list[int], float]:
    """The candidates (indices) that read the row best, left to right, and the
    path's score.

    Every piece is covered once;
    a path scores the sum of its candidates' log top probability, less
    :data:`DIGIT_COST` each and their penalties.
    """
    weights = weights or Weights()
    n = len(pieces)
    best = [-math.inf] * (n + 1)
    back: list[tuple[int, int] | None] = [None] * (n + 1)
    best[0] = 0.0
    ending: dict[int, list[int]] = {}
    for k, c in enumerate(candidates):
        ending.setdefault(c.end, []).append(k)
    top = np.log(np.maximum(probabilities.max(axis=1), 1e-9)) if len(candidates) else []
    digits = probabilities.argmax(axis=1) if len(candidates) else []
    for end in range(1, n + 1):
        for k in ending.get(end, []):
            c = candidates[k]
            score = best[c.first] + float(top[k]) - weights.cost(c, int(digits[k]))
            if score > best[end]:
                best[end], back[end] = score, (c.first, k)
    path = []
    end = n
    while end > 0 and back[end] is not None:
        start, k = back[end]  # type: ignore[misc]
        if k >= 0:
            path.append(k)
        end = start
    return path[::-1], best[n]


@dataclass(kw_only=True)
class DigitReading(DigitBox):
    """One digit of a number, classified."""

    prediction: Prediction

    def to_dict(self) -> dict:
        entry = {
            "digit": self.prediction.digit,
            "confidence": round(self.prediction.confidence, 6),
            "box": list(self.box),
        }
        if self.prediction.reason is not None:
            entry["reason"] = self.prediction.reason
        if self.touching:
            entry["touching"] = True
        return entry


@dataclass
class NumberReading(Segmentation):
    """A number read from an image: its digits left to right, classified.

    A mark the model judges not a digit stays in :attr:`digits` at its place
    (``prediction.rejected``; the window shows it as "?"), but not in :attr:`text`.
    """

    digits: list[DigitReading] = field(default_factory=list)  # type: ignore[assignment]

    @property
    def text(self) -> str:
        """The number as text ("2025"), "" when there is no digit."""
        return "".join(str(d.prediction.digit) for d in self.digits if not d.prediction.rejected)

    @property
    def marks(self) -> list[DigitReading]:
        """The marks the model judged not to be digits."""
        return [d for d in self.digits if d.prediction.rejected]

    @property
    def left_out(self) -> int:
        """How many marks that are not digits were left out of :attr:`text`."""
        return len(self.marks)

    @property
    def touching(self) -> bool:
        return any(d.touching for d in self.digits)


def _reduced_ink(
    source: ImageSource, polarity: Polarity, paper: str | None = None
) -> tuple[Segmentation, np.ndarray | None]:
    """The ink of ``source``, reduced so the digits are about WORK_HEIGHT high (None: blank)."""
    data, alpha, size = read_image(source)
    found = ink_map(data, alpha, polarity, speck_fraction=0.02, paper=paper)
    result = Segmentation(polarity=found.polarity, size=size, close_call=found.close_call)
    if found.blank or found.box is None:
        result.notes.append("no digit found")
        return result, None
    ink = found.ink
    factor = max(1, found.box[3] // WORK_HEIGHT)
    if factor > 1:
        ink = pool_cells(ink, factor) / float(factor * factor)
    return result, ink


def segment(
    source: ImageSource, polarity: Polarity = "auto", paper: str | None = None
) -> Segmentation:
    """Where the digits of a number are, without the model, for a quick count (is an
    opened image one digit or several?): whole ink components, those that overlap
    horizontally by half the narrower one joined.  :func:`read_number` decides
    touching and wide digits with the model.  ``paper`` ('light' or 'dark'):
    which tone is the paper, when the digit was read so (a close call)."""
    result, ink = _reduced_ink(source, polarity, paper)
    if ink is None:
        return result
    pieces, pixels, _ = _pieces(ink, 0.0, cut=False)
    groups: list[list[int]] = []
    for i, p in enumerate(pieces):
        if groups:
            last = pieces[groups[-1][0]]
            x0 = min(pieces[k].x0 for k in groups[-1])
            x1 = max(pieces[k].x1 for k in groups[-1])
            if min(x1, p.x1) - max(x0, p.x0) > 0.5 * min(x1 - x0, p.x1 - p.x0, last.x1 - last.x0):
                groups[-1].append(i)
                continue
        groups.append([i])
    for group in groups:
        found = _crop(ink, pixels, pieces, group[0], group[-1] + 1)
        if found is not None:
            result.digits.append(DigitBox(scale_box(found[0], ink.shape, result.size), found[1]))
    return result


@dataclass
class _Layout:
    """One way to cut the ink into pieces, its candidate digits and how they read."""

    pieces: list[_Piece]
    candidates: list[_Candidate]
    probabilities: np.ndarray


def _analyse(
    classifier: Classifier,
    source: ImageSource,
    polarity: Polarity,
    paper: str | None = None,
    check: WholeCheck | None = None,
) -> tuple[NumberReading, np.ndarray, list[_Layout]]:
    """Ink and the layouts a reading is chosen from: the ink split between loops
    side by side, and, if that split any, the ink as drawn (a slanted 8's loops or
    a 6 touching an 8 may look like two digits' loops side by side).  With
    ``check``, each candidate's :attr:`_Candidate.whole` is set."""
    found, ink = _reduced_ink(source, polarity, paper)
    reading = NumberReading(polarity=found.polarity, size=found.size, close_call=found.close_call)
    if ink is None:
        return reading, np.zeros((1, 1), np.float32), []
    checked = check is not None
    pieces, candidates, split, _ = _candidates(ink, windows=checked)
    layouts = [(pieces, candidates)]
    if split:
        layouts.append(_candidates(ink, split=False, windows=checked)[:2])
    every = [c for _, cs in layouts for c in cs]
    if not every:
        return reading, ink, []
    # One batch for all: live number mode stays fluid.
    images = np.stack([c.image for c in every]).reshape(-1, SIZE, SIZE)
    probabilities = classifier.probabilities(images)
    if check is not None:
        whole = check.log_whole(np.stack([c.window for c in every]))
        for c, value in zip(every, whole.tolist(), strict=True):
            c.whole = value
    out, start = [], 0
    for pieces, cs in layouts:
        out.append(_Layout(pieces, cs, probabilities[start : start + len(cs)]))
        start += len(cs)
    return reading, ink, out


def read_number(
    classifier: Classifier,
    source: ImageSource,
    polarity: Polarity = "auto",
    check: bool = True,
) -> NumberReading:
    """Find the digits of a number in ``source`` and read them, left to right.

    ``check``: weigh each candidate digit by the bundled whole-digit check
    (:mod:`~mnist_desktop.ml.wholecheck`, on the classifier's engine); if it
    can't be loaded the number is read without it and a note says so.

    When which tone is the paper is a close call, the image is read with the
    other tone as the paper too, and that reading wins if it scores better and
    reads every mark as a digit: read the wrong way round, a bold digit's holes
    and the gaps around it are pieces the model reads unsurely, or as more
    digits than there are (a bold 8 read "11"), each paying the cost of a digit.

    Raises :class:`~mnist_desktop.preprocess.ImageError` for what is not an image.
    """
    loaded = bundled_check(classifier.engine) if check else None
    whole = None if isinstance(loaded, CheckError) else loaded
    reading, score = _read(classifier, source, polarity, check=whole)
    if reading.close_call:
        # The ink's polarity names the paper's other tone: dark ink, light paper.
        other, other_score = _read(classifier, source, polarity, reading.polarity, whole)
        # Only a reading of digits all: a mark left out pays less than the digits
        # it would replace (the paper beside a phone's shadow read as one mark).
        if other.digits and not other.marks and other_score > score:
            reading = other
    if isinstance(loaded, CheckError):
        reading.notes.append(f"read without the whole-digit check ({loaded})")
    return reading


def _read(
    classifier: Classifier,
    source: ImageSource,
    polarity: Polarity,
    paper: str | None = None,
    check: WholeCheck | None = None,
) -> tuple[NumberReading, float]:
    """The best reading with ``paper`` as the paper (None: as judged), and its
    score (-inf without a digit)."""
    reading, ink, layouts = _analyse(classifier, source, polarity, paper, check)
    if not any(layout.candidates for layout in layouts):
        reading.notes.append("no digit found")
        return reading, -math.inf
    # The layout whose best reading scores best.
    best = [(_best_path(x.pieces, x.candidates, x.probabilities), x) for x in layouts]
    (path, score), layout = max(best, key=lambda b: b[0][1])
    for k in path:
        c = layout.candidates[k]
        box = scale_box(c.box, ink.shape, reading.size)
        verdict = classifier.verdict(layout.probabilities[k])
        reading.digits.append(DigitReading(box, c.image, c.touching, prediction=verdict))
    if reading.touching:
        reading.notes.append("some digits touch; they were split where the model reads them best")
    return reading, score if path else -math.inf
