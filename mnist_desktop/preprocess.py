"""Turn any image of a handwritten digit into the 28x28 input the model sees.

This is the one preprocessing path of the project: the canvas, opened files,
the command line, training and evaluation all call :func:`preprocess`, so what
is measured is what users get.  It is pure NumPy and Pillow (no Qt, no
TensorFlow) and follows the recipe that produced MNIST itself:

1. read the image (any Pillow mode, EXIF orientation, first frame, huge images
   reduced early) and composite transparency;
2. estimate the paper: a smooth (quadratic) background surface fitted to the
   non-ink pixels, so uneven lighting and tinted paper drop out, and decide the
   polarity (dark ink on light paper or light on dark) from which side of the
   background the strong outliers lie;
3. separate ink from paper with an Otsu threshold, group the ink into
   connected components on a coarse grid and drop specks, so noise does not
   stretch the bounding box;
4. fit the digit's bounding box into 20x20 keeping its aspect ratio
   (anti-aliased), and place it in 28x28 with its centre of mass at the centre.

The result is white ink on black, floats in [0, 1].
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
from PIL import Image

from . import imageio
from .imageio import ANALYSIS_SIDE, MAX_PIXELS, ImageError  # noqa: F401  (re-exported)

Polarity = Literal["auto", "light", "dark"]
ImageSource = str | os.PathLike | bytes | bytearray | Image.Image | np.ndarray

SIZE = 28
"""Side of the model input, in pixels."""
BOX = 20
"""The digit's bounding box is fitted into BOX x BOX, as in MNIST."""
GRID_SIDE = 32
"""Ink is grouped into connected components on a grid of at most this many
cells per side: strokes a cell apart join (a 5 drawn in two strokes stays one
digit), specks become tiny components that are dropped."""
MIN_CONTRAST = 0.12
"""Ink that differs from the paper by less than this (in [0, 1] luminance) is
no digit: an empty canvas or a blank, noisy page."""
SPECK_FRACTION = 0.08
"""Components with less ink than this fraction of the largest one are specks."""
MAX_FILL = 0.72
"""Ink covering more than this fraction of the square over its longer side is a
dot or a blob (a round dot covers 0.79, see :func:`_fill`); no MNIST test digit
goes above 0.65, and of the 60,000 training digits only one, a smudged 0, does."""
DOT_EXTENT = 0.3
"""...but only ink smaller than this fraction of the image's longer side is a dot
(the widest pen's click covers 0.21 of the canvas): a bold digit cropped to its
strokes fills the square over it as fully, and is a digit."""
MIN_EXTENT = 0.02
"""Ink spanning less than this fraction of the image's longer side, or less
than 4 pixels, is a speck or a dot, not a digit (a 60 px digit in a 2000 px
photo is 0.03)."""
OWN_PAPER_INK = 0.005
"""Share of the opaque pixels of a partly transparent image that must differ
in tone from the rest (by half the range), away from the transparent part, for
them to be ink on paper of their own, rather than the strokes of a
transparent drawing."""


@dataclass
class Preprocessed:
    """What :func:`preprocess` found in one image."""

    image: np.ndarray
    """28 x 28 float32, white digit on black, values in [0, 1]."""
    blank: bool
    """True when there is no digit (empty canvas, blank page)."""
    polarity: str = "light"
    """'light' (light ink on dark ground) or 'dark' (dark ink on light paper)."""
    box: tuple[int, int, int, int] | None = None
    """The digit's bounding box (x, y, width, height) in the source's pixels."""
    source_size: tuple[int, int] = (0, 0)
    """(width, height) of the source image."""
    notes: list[str] = field(default_factory=list)
    close_call: bool = False
    """Which tone is the paper was no sure thing (a bold digit cropped to its ink)."""
    other_readings: list[Preprocessed] = field(default_factory=list)
    """For a close call, when :func:`preprocess` was asked for them: the image
    read with another tone as the paper, or the paper at its own tone rather
    than the median grey.  The classifier turns to them when this reading
    finds no digit."""
    unstretched: list[np.ndarray] = field(default_factory=list)
    """For a digit whose ink fills a square frame: 28 x 28 images of it
    narrowed to the widths handwritten digits have (:data:`UNSTRETCH_ASPECTS`).
    Scanners that size-normalise digits (Semeion's, USPS's) stretch each one
    into a square box, so its own width is lost; the classifier reads this
    image and these together."""


# --------------------------------------------------------------------------- #
# Reading
# --------------------------------------------------------------------------- #


# Reading (formats, memory bounds, errors) lives in :mod:`mnist_desktop.imageio`;
# ``ANALYSIS_SIDE``, ``MAX_PIXELS`` and ``ImageError`` are re-exported from it.


@functools.lru_cache(maxsize=32)
def _pooling_matrix(length: int, cell: int, cells: int) -> np.ndarray:
    """A (cells x length) 0/1 matrix summing runs of ``cell`` items.

    Pooling as two small matrix products is several times faster than summing
    a reshaped array over its short block axes.
    """
    out = np.zeros((cells, length), dtype=np.float32)
    index = np.arange(min(length, cells * cell))
    out[index // cell, index] = 1.0
    out.flags.writeable = False
    return out


def _pool_sum(arr: np.ndarray, cell: int, rows: int, cols: int) -> np.ndarray:
    """Sums of cell x cell blocks of a 2-D array, ``rows`` x ``cols`` of them."""
    left = _pooling_matrix(arr.shape[0], cell, rows)
    right = _pooling_matrix(arr.shape[1], cell, cols)
    return left @ arr.astype(np.float32, copy=False) @ right.T


def _median(values: np.ndarray) -> float:
    """``np.median`` of an array without NaNs, the same value, a few times quicker.

    ``np.median`` spends most of its time in Python-level checks; this runs for
    every live update of the canvas.
    """
    flat = values.ravel()
    k = flat.size // 2
    if flat.size % 2:
        return float(np.partition(flat, k)[k])
    part = np.partition(flat, (k - 1, k))
    return float((part[k - 1] + part[k]) / part.dtype.type(2))


def _upper_decile(values: np.ndarray) -> float:
    """The value 90 % of a non-empty array lie below (no interpolation)."""
    flat = values.ravel()
    k = (flat.size - 1) * 9 // 10
    return float(np.partition(flat, k)[k])


def _spread(values: np.ndarray) -> float:
    """The standard deviation of a 1-D float array, as ``np.std`` without its
    Python-level wrapper (most of its cost on small arrays)."""
    deviation = values - values.sum() / values.size
    return float(np.sqrt((deviation @ deviation) / values.size))


def _block_mean(arr: np.ndarray, factor: int) -> np.ndarray:
    """Average factor x factor blocks (partial blocks at the edges are cropped).

    An anti-aliased reduction; an array smaller than one block comes back as it is.
    """
    h, w = arr.shape[0] // factor * factor, arr.shape[1] // factor * factor
    if h == 0 or w == 0:
        return arr
    if factor == 1:
        return arr.astype(np.float32)
    if arr.ndim == 2:
        return _pool_sum(arr, factor, h // factor, w // factor) / np.float32(factor * factor)
    blocks = arr[:h, :w].reshape(h // factor, factor, w // factor, factor, *arr.shape[2:])
    return blocks.mean(axis=(1, 3)).astype(np.float32)


def read_image(source: ImageSource) -> tuple[np.ndarray, np.ndarray | None, tuple[int, int]]:
    """Read ``source`` into float arrays: (grey or RGB, alpha or None, source size).

    ``source`` is a path, the bytes of an image file, a Pillow image or a NumPy
    array (H x W grey, H x W x 3 RGB or H x W x 4 RGBA; uint8, uint16, bool or
    float in [0, 1]).  Large images come back reduced to about
    :data:`ANALYSIS_SIDE` pixels per side, read within a memory budget; only
    the formats of :data:`mnist_desktop.imageio.FORMATS` are opened.  Raises
    :class:`ImageError` (one line naming the file) for anything unreadable.
    """
    return imageio.read(source)


# --------------------------------------------------------------------------- #
# Analysis
# --------------------------------------------------------------------------- #


def _luminance(data: np.ndarray) -> np.ndarray:
    if data.ndim == 2:
        return data
    return data @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _composite(data: np.ndarray, alpha: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    """Flatten transparency onto a background that contrasts with the content.

    Ink on a transparent layer may be black or white; compositing both on white
    would erase white ink, so the background is chosen opposite to the
    (alpha-weighted) brightness of what is drawn.  But when what is opaque
    holds strokes of another tone, it is a drawing with paper of its own (a
    black canvas with a white digit, saved with a transparent margin): the
    margin then takes the tone of that paper.  Returns (luminance, RGB or None).
    """
    rgb = data if data.ndim == 3 else None
    lum = _luminance(data)
    if alpha is not None and float(alpha.min()) < 0.98:
        opaque = lum[alpha > 0.5]
        content = float(np.median(opaque)) if opaque.size else 0.0
        background = 1.0 if content < 0.5 else 0.0
        clear = alpha < 0.02
        if _own_paper(lum, alpha > 0.5, clear, content):
            background = content  # (the margin's colour, transparent, says nothing)
        elif clear.any() and not ((alpha > 0.02) & (alpha < 0.98)).any():
            # All-or-nothing alpha (a GIF or palette PNG with a transparent
            # colour): the colour keyed out was the paper, unless it is the ink's.
            key = float(np.median(lum[clear]))
            if abs(key - content) > 0.25:
                background = key
        lum = lum * alpha + background * (1.0 - alpha)
        if rgb is not None:
            rgb = rgb * alpha[..., None] + background * (1.0 - alpha[..., None])
    return lum.astype(np.float32, copy=False), rgb


def _own_paper(lum: np.ndarray, opaque: np.ndarray, clear: np.ndarray, tone: float) -> bool:
    """Whether the opaque part of an image is a drawing with paper of its own:
    mostly ``tone``, holding ink of another tone away from the transparent part
    (a stroke's own anti-aliased edge lies against the transparent part)."""
    area = max(1, int(opaque.sum()))
    if int((opaque & (np.abs(lum - tone) < 0.1)).sum()) < 0.5 * area:
        return False  # no flat paper: the tones of anti-aliased strokes
    other = opaque & (np.abs(lum - tone) > 0.5)
    count = int(other.sum())
    if count < OWN_PAPER_INK * area:
        return False
    return int((other & _dilate(clear)).sum()) <= 0.2 * count


def _quadratic_terms(ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    return np.stack([np.ones_like(xs), xs, ys, xs * xs, xs * ys, ys * ys], axis=-1)


def _grid_terms(gh: int, gw: int) -> np.ndarray:
    """The quadratic's terms at each cell of a gh x gw grid (coordinates -0.5..0.5)."""
    ys, xs = np.mgrid[0:gh, 0:gw].astype(np.float32)
    return _quadratic_terms(ys.ravel() / gh - 0.5, xs.ravel() / gw - 0.5)


def _surface(
    coef: np.ndarray, shape: tuple[int, int], cell: int, grid: tuple[int, int]
) -> np.ndarray:
    """A quadratic fitted on a grid of ``cell``-pixel cells (``coef`` from
    :func:`_grid_terms`), evaluated at every pixel of an image of ``shape``."""
    h, w = shape
    gh, gw = grid
    yy = (np.arange(h, dtype=np.float32) / cell / gh - 0.5)[:, None]
    xx = (np.arange(w, dtype=np.float32) / cell / gw - 0.5)[None, :]
    c = coef.astype(np.float32)
    return c[0] + c[1] * xx + c[2] * yy + c[3] * xx * xx + c[4] * xx * yy + c[5] * yy * yy


def _subsample(values: np.ndarray, size: int = 8192) -> np.ndarray:
    """About ``size`` pixels of a 2-D array (or all of a smaller one) on a regular
    lattice; an odd stride never lines up with 8 x 8 JPEG blocks."""
    step = round(np.sqrt(values.size / size))
    step = step + 1 if step > 1 and step % 2 == 0 else max(1, step)
    return values[::step, ::step]


def _neighbour_noise(values: np.ndarray) -> float:
    """The noise's standard deviation from differences of horizontal neighbours
    (on a few thousand pixel pairs): their median absolute value is 0.954 sigma
    for Gaussian noise, whatever share of the image the ink covers."""
    step = max(1, round(np.sqrt(values.size / 8192)))
    rows = values[::step]
    diffs = (rows[:, 1:] - rows[:, :-1])[:, ::step]
    return _median(np.abs(diffs)) / 0.954 if diffs.size else 0.0


Tones = tuple[float, float, float, float]
"""(dark level, light level, dark spread, light spread)."""


TONE_SAMPLES = 2048
"""Pixels the paper's and the ink's tones are measured on: medians of a couple
of thousand are as good as of all (real.py and accuracy.py read the same with
8,192), and a folder of images is read a third faster."""


def _tone_split(values: np.ndarray) -> Tones | None:
    """The two sides of Otsu's split of ``values``: their levels (medians) and
    robust spreads; None when one side has under 5 % of the values (one tone
    with a few outliers)."""
    flat = values.ravel()
    threshold = _otsu(np.clip(flat, 0.0, 1.0))
    dark, light = flat[flat < threshold], flat[flat >= threshold]
    if dark.size < 0.05 * flat.size or light.size < 0.05 * flat.size:
        return None
    low, high = _median(dark), _median(light)
    low_spread = _median(np.abs(dark - low)) * 1.4826
    high_spread = _median(np.abs(light - high)) * 1.4826
    return low, high, low_spread, high_spread


def _clear_tones(split: Tones | None, one_tight: bool = False) -> Tones | None:
    """The split if its two tones are clear: far apart for both spreads; else
    None.  With ``one_tight``, one tight cluster is enough: blank paper beside
    strokes blurred into every shade (an upscaled 8 x 8 scan), for the caller to
    accept only if that is the paper."""
    if split is None:
        return None
    low, high, low_spread, high_spread = split
    spread = min(low_spread, high_spread) if one_tight else max(low_spread, high_spread)
    if high - low < max(0.25, 8.0 * spread):
        return None
    return split


def _two_tones(values: np.ndarray) -> Tones | None:
    """(dark level, light level, dark spread, light spread) when ``values`` are
    two clear tones.

    Ink that covers much of the image (a digit cropped to its strokes, a bold
    or binarised scan) leaves no majority of paper, so the median is no paper
    level and the spread around it measures the ink, not the noise.  Otsu's
    split then separates two tight clusters far apart: paper and ink.  A blank
    noisy page splits too, but into halves of one cluster, a few noise widths
    apart; None then, and the median stands.  The spreads are robust standard
    deviations; the paper's is its noise.
    """
    return _clear_tones(_tone_split(values))


def _edge_pixels(values: np.ndarray) -> np.ndarray:
    """The outermost pixels of a 2-D array, each once."""
    return np.concatenate([values[0], values[-1], values[1:-1, 0], values[1:-1, -1]])


def _border_tone(values: np.ndarray, threshold: float) -> int:
    """+1 when most of the image's outermost pixels are above ``threshold``, else -1.

    A digit touches its frame at a few places, so the frame is mostly paper."""
    return 1 if (_edge_pixels(values) >= threshold).mean() >= 0.5 else -1


def _paper_is_dark(grid: np.ndarray, tones: tuple[float, float, float, float]) -> bool:
    """Whether the dark one of two tones is the paper: the tone of the larger
    area unless the two are close; then the tone of the frame decides.  (A
    forced polarity says which way ink differs from the paper, not which tone
    the paper is.)"""
    middle = (tones[0] + tones[1]) / 2
    darker = float((grid < middle).mean())
    return darker > 0.6 or (darker >= 0.4 and _border_tone(grid, middle) < 0)


def _papery(residual: np.ndarray, noise: float) -> np.ndarray:
    """Which samples may be paper, from their difference to the paper level
    (positive towards the ink): not beyond the noise towards the ink, and not
    far the other way either, where uneven light stays (a shadow, a gradient)
    but ink of the other polarity does not (dark strokes, when the ink is
    said to be light)."""
    return (residual < max(3.0 * noise, 0.04)) & (residual > -max(6.0 * noise, 0.3))


LOCAL_ONE_SIDED = 3.0
"""Pixels decide which way ink differs when their outliers one way reach this
many times as far as the other way (measured: thin pencil on unevenly lit
paper, real number 009, 7.8; a digit cropped to its ink, bold, blurred or
upscaled, whose strokes fill their cells, at most 1.15)..."""
LOCAL_CONTRAST = 0.05
"""...and differ from their cell by at least this much."""
LOCAL_TAILS = (0.05, 99.95)
"""The percentiles that stand for the pixels which differ most from their
cell's paper either way: a 30 px digit in a 1000 px photo is 0.1 % of it."""


def _local_tails(lum: np.ndarray, cell: int, gh: int, gw: int) -> tuple[float, float]:
    """The extreme percentiles (:data:`LOCAL_TAILS`) of pixels' differences
    from the median of their cell of the ``gh`` x ``gw`` grid.

    Ink is what differs from the paper right around it, one way: against its
    cell's median (the paper, where strokes cover less than half of it), a thin
    stroke stands out at full contrast, while light that changes across the
    photo (glare, a shadow's edge) changes little within a cell, both ways.
    """
    if gh * cell > lum.shape[0] or gw * cell > lum.shape[1]:
        return 0.0, 0.0  # an image smaller than a cell: no local view
    step = max(1, cell // 8)  # about 8 x 8 samples of each cell
    m = cell // step
    offsets = np.arange(m) * step
    rows = (np.arange(gh)[:, None] * cell + offsets).ravel()
    cols = (np.arange(gw)[:, None] * cell + offsets).ravel()
    samples = lum[rows][:, cols].reshape(gh, m, gw, m)
    paper = np.median(samples, axis=(1, 3))
    low, high = np.percentile(samples - paper[:, None, :, None], LOCAL_TAILS)
    return float(low), float(high)


UNSURE_SHARE = 0.25
"""Which tone is the paper is no sure thing when the lesser of the image's two
tones covers more than this share of it (a digit on paper covers far less)."""


def _close_call(grid: np.ndarray, split: Tones) -> bool:
    """Whether either tone may be the paper: ink covering much of the image (a
    bold digit cropped to its strokes, a blurred one filling its frame) leaves
    neither the larger area nor the frame a sure sign of the paper (measured on
    bold crops: both point to the ink for one in fifteen)."""
    darker = float((grid < (split[0] + split[1]) / 2).mean())
    return min(darker, 1.0 - darker) > UNSURE_SHARE


LINED_BOX = 0.7
"""A reading whose ink covers this share of its own bounding box's edges is
the paper taken for ink (it surrounds the digit); a digit's strokes touch
their box at a few places (measured: at most 0.6 on bold crops, 0.75-0.84 for
scans read the wrong way round)."""


def _lines_its_box(image: np.ndarray) -> bool:
    """Whether the ink of a 28 x 28 reading lines its bounding box (see :data:`LINED_BOX`)."""
    mask = image > 0.5
    if not mask.any():
        return False
    x, y, w, h = _bbox(mask)
    return float(_edge_pixels(mask[y : y + h, x : x + w]).mean()) >= LINED_BOX


def _background(
    lum: np.ndarray, polarity: Polarity, paper: str | None = None
) -> tuple[np.ndarray | float, int, bool]:
    """Fit the paper: returns (background surface, sign of ink, close call).

    The sign is +1 for light ink on dark ground and -1 for dark ink on light
    paper.  The surface is a quadratic in x and y fitted to the pixels that are
    not ink (iteratively re-weighted), evaluated on a coarse grid of samples.
    ``paper`` ('light' or 'dark') says which of the image's two tones is the
    paper instead of judging it.  A close call (see :func:`_close_call`): the
    judgement is no sure thing, neither the larger area, nor the median, nor
    the frame tells.
    """
    cell = max(1, -(-max(lum.shape) // 32))
    grid = _block_mean(lum, cell)
    # Tones from pixels: averaging cells blends paper and ink at every edge.
    # With the polarity given and most cells one exact value (the canvas),
    # that value is the paper: no tones to look for.
    flat = polarity != "auto" and _median(np.abs(grid - _median(grid))) == 0
    split = None if flat else _tone_split(_subsample(lum, TONE_SAMPLES))
    close_call = False
    if split is not None and paper is None and polarity == "auto":
        close_call = _close_call(grid, split)
    tones = _clear_tones(split)
    if paper is not None:
        if split is None:
            return _median(grid), 1 if paper == "dark" else -1, False
        # Told which tone is the paper: its half of Otsu's split.
        tones, polarity = split, "light" if paper == "dark" else "dark"
    elif tones is None and split is not None:
        # Strokes blurred into every shade beside blank paper: the paper is
        # the one tight tone, if it is also the tone the paper would be.
        tones = _clear_tones(split, one_tight=True)
        if tones is not None and _paper_is_dark(grid, tones) != (tones[2] < tones[3]):
            tones = None
    if tones is not None:
        low, high, low_spread, high_spread = tones
        paper_dark = paper == "dark" if paper is not None else _paper_is_dark(grid, tones)
        level, noise = (low, low_spread) if paper_dark else (high, high_spread)
        sign = {"light": 1, "dark": -1}.get(polarity, 1 if paper_dark else -1)
        residual = grid - level
    else:
        level = _median(grid)
        residual = grid - level
        if polarity == "light":
            sign = 1
        elif polarity == "dark":
            sign = -1
        else:
            # Which way ink differs: pixels against their own cell when they
            # stand out clearly more one way (thin strokes, even on unevenly lit
            # paper), else whole cells (bold strokes, a digit filling its frame).
            low, high = _local_tails(lum, cell, *grid.shape)
            if max(-low, high) < max(LOCAL_CONTRAST, LOCAL_ONE_SIDED * min(-low, high)):
                low, high = np.percentile(residual, (0.5, 99.5))
            sign = 1 if high > -low else -1
            if abs(high + low) < 0.02:  # no clear outliers on either side: use the paper's tone
                sign = 1 if level < 0.5 else -1
        noise = _median(np.abs(residual)) * 1.4826
    papery = _papery(residual * sign, noise)
    gh, gw = grid.shape
    if gh < 4 or gw < 4 or papery.sum() < 12 or _spread(grid[papery]) < 0.01:
        # Flat paper (a canvas, a scan, MNIST): a constant is exact and cheaper.
        return level, sign, close_call
    terms = _grid_terms(gh, gw)
    values = grid.ravel()
    surface = np.full(values.shape, level, dtype=np.float32)
    coef = None
    for _ in range(3):
        keep = _papery((values - surface) * sign, noise)
        if keep.sum() < 12:
            break
        coef, *_ = np.linalg.lstsq(terms[keep], values[keep], rcond=None)
        surface = (terms @ coef).astype(np.float32)
        noise = _median(np.abs(values[keep] - surface[keep])) * 1.4826
    if coef is None:
        return level, sign, close_call
    # The paper is never brighter than the brightest pixel nor darker than the
    # darkest: a quadratic overshoots where paper saturates (a gradient running
    # into white), and there the saturated paper would read as ink.
    surface = _surface(coef, lum.shape, cell, (gh, gw))
    return np.clip(surface, float(lum.min()), float(lum.max())), sign, close_call


def _chroma_distance(rgb: np.ndarray, lum: np.ndarray, ink: np.ndarray, noise: float) -> np.ndarray:
    """How far each pixel's colour (not brightness) is from the paper's colour there.

    The paper's colour may change across a photo (warm light at the top,
    daylight at the bottom): it is a quadratic in x and y fitted, like the
    paper's brightness, to cells without ink (``ink``: the brightness ink, of
    this ``noise``), or one median colour when too few cells are free of ink.
    """
    chroma = rgb - lum[..., None]
    cell = max(1, -(-max(lum.shape) // 32))
    cells = _block_mean(chroma, cell)
    free = (_block_mean(ink, cell) < max(3.0 * noise, 0.04)).ravel()
    gh, gw = cells.shape[:2]
    if gh < 4 or gw < 4 or free.sum() < 12:
        paper = np.median(chroma.reshape(-1, 3)[:: max(1, chroma.size // 3 // 4096)], axis=0)
        return np.sqrt(((chroma - paper) ** 2).sum(axis=-1))
    coef, *_ = np.linalg.lstsq(_grid_terms(gh, gw)[free], cells.reshape(-1, 3)[free], rcond=None)
    out = np.zeros(lum.shape, np.float32)
    for k in range(3):
        out += (chroma[..., k] - _surface(coef[:, k], lum.shape, cell, (gh, gw))) ** 2
    return np.sqrt(out)


_LEVELS = np.arange(256, dtype=np.float64)


def _otsu(values: np.ndarray) -> float:
    """Otsu's threshold of values in [0, 1] (256 bins)."""
    hist = np.bincount((values * 255).astype(np.int32).ravel(), minlength=256).astype(np.float64)
    weight0 = np.cumsum(hist)
    weight1 = weight0[-1] - weight0
    mean0 = np.cumsum(hist * _LEVELS)
    # An empty class (at either end) is no split: its weight is 0, and so is
    # ``between`` there once the 0/0 mean is avoided.
    m0 = mean0 / np.maximum(weight0, 1e-12)
    m1 = (mean0[-1] - mean0) / np.maximum(weight1, 1e-12)
    between = weight0 * weight1 * (m0 - m1) ** 2
    return (float(between.argmax()) + 0.5) / 255.0


def _components(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """Label the 8-connected components of a small boolean grid.

    Works on runs of consecutive cells in each row rather than on cells: a run
    joins the runs of the row above that it touches (diagonals included),
    through a union-find.  A digit is a few dozen runs, so the Python loop is
    short; this runs for every live update of the canvas.  Components are
    numbered in raster order of their first cell.
    """
    h, w = mask.shape
    padded = np.zeros((h, w + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    edges = padded[:, 1:] - padded[:, :-1]
    begins = edges[:, :-1] > 0  # a run starts at this cell
    rows, starts = begins.nonzero()
    ends = (edges < 0).nonzero()[1]  # one past each run's last cell
    rows, starts, ends = rows.tolist(), starts.tolist(), ends.tolist()
    parent = list(range(len(rows)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    above = range(0)  # the runs of the row above
    row_begin, row = 0, -2
    for i, (r, s, e) in enumerate(zip(rows, starts, ends, strict=True)):
        if r != row:
            above = range(row_begin, i) if r == row + 1 else range(0)
            row_begin, row = i, r
        mine = i  # the root of this run's component so far
        for j in above:
            # Runs [s, e) and [starts[j], ends[j]) touch if they overlap or meet diagonally.
            if ends[j] >= s and starts[j] <= e:
                other = root(j)
                if other != mine:
                    mine, other = min(mine, other), max(mine, other)
                    parent[other] = mine
    numbers: dict[int, int] = {}
    run_labels = [0] + [numbers.setdefault(root(i), len(numbers) + 1) for i in range(len(rows))]
    # Runs are numbered in raster order, so counting the run starts in raster
    # order gives every cell of a run that run's number.
    run_of_cell = np.cumsum(begins).reshape(h, w) * mask
    labels = np.asarray(run_labels, dtype=np.int32)[run_of_cell]
    return labels, len(numbers)


def _erode(mask: np.ndarray) -> np.ndarray:
    """Shrink a boolean grid by one cell in all eight directions; the grid's edge
    is no boundary (a region running off the image keeps its edge cells)."""
    padded = np.pad(mask, 1, mode="edge")
    out = mask.copy()
    h, w = mask.shape
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            out &= padded[dy : dy + h, dx : dx + w]
    return out


CLUTTER_SIDE = 7
"""A region reaching in from the edge is clutter only if at least this many
grid cells across both ways..."""
CLUTTER_FILL = 0.75
"""...and it fills at least this share of its bounding box."""
SOLID_SHARE = 0.3
"""A component of which at least this share is more than three grid cells from
its edge is a solid region, not strokes (measured: a phone's shadow 0.42; the
boldest MNIST digit cropped to its ink of 2,000, 0.17)."""


def _clutter(labels: np.ndarray, count: int, mass: np.ndarray) -> np.ndarray:
    """Which components are not ink but clutter: a shadow, a phone or the desk
    reaching in from the edge of a photo, beside a digit's strokes.

    Such a region dwarfs the strokes and would make them specks.  It is clutter
    if it touches the image's edge, is at least :data:`CLUTTER_SIDE` cells
    across both ways, fills :data:`CLUTTER_FILL` of its bounding box and is
    solid (see :data:`SOLID_SHARE`),
    while the largest other component is a mark of at least 3 cells, without
    any cell deep inside it, outside the region's bounding box.  Alone or beside
    dust, a solid region is left for the rest to judge (a bold digit cropped to
    its ink, a blot).  Returns a mask over the labels.
    """
    out = np.zeros(count + 1, bool)
    edge = _edge_pixels(labels)
    cells = np.bincount(labels.ravel(), minlength=count + 1)
    boxes = []
    # This runs for every live update of the canvas: components too small to
    # fill the smallest such box are skipped before building their masks.
    for k in np.unique(edge[edge > 0]):
        if cells[k] < CLUTTER_FILL * CLUTTER_SIDE**2:
            continue
        region = labels == k
        ys, xs = region.nonzero()
        height, width = ys.max() - ys.min() + 1, xs.max() - xs.min() + 1
        if min(height, width) < CLUTTER_SIDE or cells[k] < CLUTTER_FILL * height * width:
            continue
        if _erode(_erode(_erode(region))).sum() >= SOLID_SHARE * cells[k]:
            out[k] = True
            boxes.append((ys.min(), ys.max(), xs.min(), xs.max()))
    if not out.any():
        return out
    rest = np.where(out, 0.0, mass)
    rest[0] = 0.0
    if rest.max() <= 0:
        return np.zeros(count + 1, bool)
    strokes = labels == int(rest.argmax())
    ys, xs = strokes.nonzero()
    mark = max(ys.max() - ys.min(), xs.max() - xs.min()) + 1 >= 3
    apart = all(
        ys.max() < y0 or ys.min() > y1 or xs.max() < x0 or xs.min() > x1 for y0, y1, x0, x1 in boxes
    )
    if not (mark and apart) or _erode(_erode(_erode(strokes))).any():
        return np.zeros(count + 1, bool)
    return out


def _dilate(mask: np.ndarray) -> np.ndarray:
    """Grow a boolean grid by one cell in all eight directions."""
    out = mask.copy()
    out[1:, :] |= mask[:-1, :]
    out[:-1, :] |= mask[1:, :]
    grown = out.copy()
    grown[:, 1:] |= out[:, :-1]
    grown[:, :-1] |= out[:, 1:]
    return grown


def pool_cells(arr: np.ndarray, cell: int, reduce=np.sum) -> np.ndarray:
    """Reduce cell x cell blocks of a 2-D array (zero-padded to whole cells)."""
    h, w = arr.shape
    gh, gw = -(-h // cell), -(-w // cell)
    if reduce is np.sum:
        return arr.astype(np.float32) if cell == 1 else _pool_sum(arr, cell, gh, gw)
    padded = np.zeros((gh * cell, gw * cell), dtype=np.float32)
    padded[:h, :w] = arr
    return reduce(padded.reshape(gh, cell, gw, cell), axis=(1, 3))


def scale_box(
    box: tuple[int, int, int, int], shape: tuple[int, ...], size: tuple[int, int]
) -> tuple[int, int, int, int]:
    """A box in an array of ``shape`` (rows, columns) as pixels of the source (width, height)."""
    sx, sy = size[0] / shape[1], size[1] / shape[0]
    x, y, w, h = box
    return round(x * sx), round(y * sy), max(1, round(w * sx)), max(1, round(h * sy))


@functools.lru_cache(maxsize=64)
def _cell_index(length: int, cell: int) -> np.ndarray:
    index = np.arange(length) // cell
    index.flags.writeable = False
    return index


def _cells_to_pixels(grid: np.ndarray, cell: int, shape: tuple[int, int]) -> np.ndarray:
    """Each grid cell repeated over its cell x cell pixels, cropped to ``shape``."""
    return grid[_cell_index(shape[0], cell)[:, None], _cell_index(shape[1], cell)]


def _bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(x, y, width, height) of the True pixels of a non-empty mask."""
    rows = mask.any(axis=1).nonzero()[0]
    cols = mask.any(axis=0).nonzero()[0]
    return int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)


@dataclass
class InkMap:
    """Ink strength in [0, 1] at analysis resolution, and where the digit is."""

    ink: np.ndarray
    blank: bool
    polarity: str
    box: tuple[int, int, int, int] | None  # x, y, w, h in ink-map pixels
    close_call: bool = False
    """Which tone is the paper was no sure thing (see :func:`_close_call`)."""


def _blank(ink: np.ndarray, polarity: str, close_call: bool = False) -> InkMap:
    return InkMap(np.zeros_like(ink), True, polarity, None, close_call)


def _split(ink: np.ndarray, noise: float) -> tuple[float, float]:
    """(threshold, floor) of normalised ink with this noise: Otsu's threshold
    separates strokes from paper; below the floor is paper texture or sensor
    noise, above it the soft (anti-aliased) edges of strokes are kept."""
    threshold = _otsu(ink[:: 1 + ink.shape[0] // 256, :: 1 + ink.shape[1] // 256])
    return threshold, min(threshold * 0.5, 3.0 * noise + 0.01)


def ink_map(
    data: np.ndarray,
    alpha: np.ndarray | None = None,
    polarity: Polarity = "auto",
    speck_fraction: float = SPECK_FRACTION,
    paper: str | None = None,
) -> InkMap:
    """Estimate the ink of an image (grey or RGB floats in [0, 1]).

    Returns the normalised ink (1 = a full stroke, 0 = paper) with specks (ink
    components under ``speck_fraction`` of the largest) removed, and the
    bounding box of what is left.  ``paper`` ('light' or 'dark'): which of the
    image's two tones is the paper, instead of judging it.
    """
    lum, rgb = _composite(data, alpha)
    background, sign, close_call = _background(lum, polarity, paper)
    ink = (lum - background) * sign
    # Pixel-level noise (sensor noise, JPEG artefacts, paper grain): the median
    # absolute deviation of a subsample, which a few ink pixels barely move.
    # Where ink covers much of the image that measures the ink, so the noise is
    # the spread within each of two clear tones (a binarised scan), or what
    # neighbouring pixels differ by (ink changes only at its edges, noise
    # everywhere; a blurred or upscaled digit is smooth), whichever is less.
    sample = _subsample(ink)
    noise = _median(np.abs(sample - _median(sample))) * 1.4826
    if noise > 0:  # 0: most pixels are one exact value (a canvas, a clean scan)
        tones = _two_tones(sample)
        # The paper is the dark tone of the ink map.
        noise = tones[2] if tones else min(noise, _neighbour_noise(ink))
    if rgb is not None:
        # Coloured ink (a blue ballpoint) differs from paper in hue too, but a
        # pen also differs from its paper in brightness (either way: pencil in
        # a deep shadow may be the lighter): colour alone, as bright as the
        # paper (yellow marks on cyan), is no ink.
        chroma = _chroma_distance(rgb, lum, ink, noise)
        cap = CHROMA_BOOST * np.abs(ink) + max(3.0 * noise, 0.04)
        ink = np.maximum(ink, np.minimum(chroma, cap))
    np.maximum(ink, 0.0, out=ink)
    name = "light" if sign > 0 else "dark"
    peak = float(ink.max())
    if peak < max(MIN_CONTRAST, 6.0 * noise):
        return _blank(ink, name, close_call)
    ink /= peak
    threshold, floor = _split(ink, noise / peak)
    mask = ink > threshold
    if polarity != "light":
        # Paper may be ruled or squared, a form printed with boxes; a drawing
        # on the canvas (or an MNIST digit) never is.
        lined = mask
        ink, mask = _frame(ink, mask)
        ink, mask = _remove_lines(ink, mask, floor)
        if mask is not lined:
            # Lines were erased: what is left must stand out from the paper on
            # its own (a blank ruled page leaves only noise), and the ink split
            # is redone without the lines, which may be darker than the digit.
            left = float(ink.max())
            if left * peak < max(MIN_CONTRAST, 6.0 * noise):
                return _blank(ink, name, close_call)
            ink /= left
            peak *= left
            threshold, floor = _split(ink, noise / peak)
            mask = ink > threshold

    # Group the ink into components on a coarse grid; drop specks.
    cell = max(1, -(-max(ink.shape) // GRID_SIDE))
    h, w = ink.shape
    cells = pool_cells(ink * mask, cell)
    labels, count = _components(cells > 0)
    if count == 0:
        return _blank(ink, name, close_call)
    mass = np.bincount(labels.ravel(), cells.ravel())
    mass[0] = 0.0
    mass[_clutter(labels, count, mass)] = 0.0
    keep = mass >= speck_fraction * mass.max()
    keep[0] = False
    # In a small image (one grid cell per pixel) a broken or dotted stroke falls
    # apart into pieces a pixel apart: those are part of the digit, not specks.
    # (In larger images a grid cell spans such gaps already.)
    for _ in range(4 if cell == 1 else 0):
        near = np.unique(labels[_dilate(_dilate(keep[labels]))])  # gaps up to one cell
        grown = keep.copy()
        grown[near] = True
        grown[0] = False
        if (grown == keep).all():
            break
        keep = grown
    kept = keep[labels]
    strong = mask & _cells_to_pixels(kept, cell, (h, w))
    x, y, bw, bh = _bbox(strong)
    extent = max(bw, bh)
    if extent < max(4, MIN_EXTENT * max(h, w)):
        return _blank(ink, name, close_call)  # a speck, not a digit
    # The strong strokes' box, grown a little to take in their soft edges but
    # not far enough to reach the noise around them.
    margin = max(1, round(0.05 * (extent - 1)))
    region = np.zeros((h, w), dtype=bool)
    region[max(0, y - margin) : y + bh + margin, max(0, x - margin) : x + bw + margin] = True
    region &= _cells_to_pixels(_dilate(kept), cell, (h, w))
    ink = ink * (region & (ink > floor))
    if extent < DOT_EXTENT * max(h, w) and _fill(ink, _upper_decile(ink[strong])) > MAX_FILL:
        return _blank(ink, name, close_call)  # a dot (a click on the canvas), not a digit
    return InkMap(ink, False, name, _bbox(ink > 0), close_call)


CHROMA_BOOST = 3.0
"""Colour raises a pixel's ink to at most this many times its difference in
brightness from the paper, either way (plus the noise)."""


LINE_SPAN = 0.6
"""A straight band of ink across at least this fraction of the image is a
candidate printed line (a ruled line, a grid line, a form's box)."""
LINE_THICKNESS = 0.06
"""...if it is at most this fraction of the image thick (and a few pixels)."""
LINE_OVERHANG = 0.1
"""...and it reaches this fraction of the image beyond the rest of the ink on
both sides: a 7's bar in a tight crop ends where the 7 does; a ruled line
runs on past the digit."""


LINE_ALONE = 0.9
"""A single band with no other ink is a printed line only if it runs (nearly)
edge to edge; shorter, it may be a 1 or a dash, for the model to judge.  So is
a band with all the other ink on one side of it: shorter, it may be a stroke
on the digit's edge (a 1's base wider than the rest of a tight crop)."""


def _bands(mask: np.ndarray, span: float = LINE_SPAN) -> list[tuple[int, int]]:
    """Bands of consecutive rows whose ink spans at least ``span`` of the width,
    thin ones only."""
    h = mask.shape[0]
    candidate = mask.mean(axis=1) >= span
    if h < 8 or not candidate.any():
        return []
    edges = np.diff(np.concatenate([[0], candidate.astype(np.int8), [0]]))
    thick_max = max(3, round(LINE_THICKNESS * h))
    starts, ends = np.flatnonzero(edges > 0), np.flatnonzero(edges < 0)
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True) if b - a <= thick_max]


def _erase_band(ink, mask, a: int, b: int, floor: float) -> None:
    """Erase rows [a, b) and their soft edges, except where a stroke crosses them."""
    h = mask.shape[0]
    grow = max(1, (b - a) // 2)
    top, bottom = max(0, a - grow), min(h, b + grow)
    while top > 0 and (ink[top - 1] > floor).mean() > 0.5:
        top -= 1
    while bottom < h and (ink[bottom] > floor).mean() > 0.5:
        bottom += 1
    gap = max(2, b - a)
    above = mask[max(0, top - gap) : top].any(axis=0)
    below = mask[bottom : bottom + gap].any(axis=0)
    erase = ~(above & below)  # keep the columns a stroke crosses
    ink[top:bottom, erase] = 0.0
    mask[top:bottom, erase] = False


def _remove_lines(ink: np.ndarray, mask: np.ndarray, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """Erase the paper's printed lines: ruled and squared paper, a form's boxes.

    A line is a thin band of rows (or columns) whose ink spans most of the
    image, and that reaches well past the rest of the ink on both sides; when
    there is no other ink, two or more bands are lines (a blank ruled page, a
    box), and a single one is if it runs edge to edge.  A line is erased where
    no stroke crosses it; where a stroke runs through (ink just before and
    after the band), the band is kept, so the digit keeps its stroke.
    Returns (ink, mask): new arrays if a line was erased, else the inputs
    themselves; the inputs are never changed.
    """
    rows, cols = _bands(mask), _bands(mask.T)
    if not rows and not cols:
        return ink, mask
    given = ink
    if not cols:  # (squared paper's columns are lines of their own)
        ink, mask, rows = _box_rows(ink, mask, floor, rows)
    h, w = mask.shape
    in_rows, in_cols = np.zeros(h, bool), np.zeros(w, bool)
    for a, b in rows:
        in_rows[a:b] = True
    for a, b in cols:
        in_cols[a:b] = True
    rest = mask & ~in_rows[:, None] & ~in_cols[None, :]
    # A few stray pixels (noise, dust) are no "other ink".
    alone = rest.sum() < max(4, 0.001 * h * w)
    copied = ink is not given  # the inputs are copied only when a line is erased
    for bands, across in ((rows, False), (cols, True)):
        rest_v = rest.T if across else rest
        length = rest_v.shape[1]
        if not alone:
            # Where the other ink lies along the bands, specks aside.
            along = np.percentile(rest_v.nonzero()[1], (0.5, 99.5))
        for a, b in bands:
            span = (mask.T if across else mask)[a:b].any(axis=0).nonzero()[0]
            if span.size == 0:
                continue  # already erased with a row of boxes next to it
            if alone:
                if len(rows) + len(cols) == 1 and span[-1] - span[0] + 1 < LINE_ALONE * length:
                    continue  # a lone stroke: a 1 or a dash, not a line across the page
            elif not (
                span[0] <= along[0] - LINE_OVERHANG * length
                and span[-1] >= along[-1] + LINE_OVERHANG * length
            ):
                continue  # a stroke of the digit, not a line
            elif not (rest_v[:a].any() and rest_v[b:].any()) and (
                span[-1] - span[0] + 1 < LINE_ALONE * length
            ):
                continue  # a foot or a cap on the digit's edge (a 1's base), not a line
            if not copied:
                ink, mask, copied = ink.copy(), mask.copy(), True
            _erase_band(ink.T if across else ink, mask.T if across else mask, a, b, floor)
    return ink, mask


BOX_SIDES = 3
"""A row of boxes to write digits in (a form) has at least this many sides."""


SIDE_SPAN = 0.9
"""A box's side covers at least this fraction of the box (or of the strip
between a form's two lines)."""


def _box_rows(
    ink: np.ndarray, mask: np.ndarray, floor: float, rows: list[tuple[int, int]]
) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """Erase each row of boxes to write digits in (a form): two printed lines
    with three or more thin columns of ink running from one to the other.  The
    sides span too little of the image to be lines by themselves, and they
    reach as far as the lines do, so neither would otherwise be erased: the
    sides would be read as 1s between the digits.  Returns (ink, mask, the
    row bands left); the inputs are copied before anything is erased."""
    left, copied = list(rows), False
    for (a1, b1), (a2, b2) in zip(rows, rows[1:], strict=False):
        strip = mask[b1:a2]
        if strip.shape[0] < 8:
            continue
        sides = _box_sides(strip, max(b1 - a1, b2 - a2))
        if len(sides) < BOX_SIDES:
            continue
        if not copied:
            ink, mask, copied = ink.copy(), mask.copy(), True
        for a, b in sides:
            _erase_band(ink[b1:a2].T, mask[b1:a2].T, a, b, floor)
        for a, b in ((a1, b1), (a2, b2)):
            if (a, b) in left:
                _erase_band(ink, mask, a, b, floor)
                left.remove((a, b))
    return ink, mask, left


def _frame(ink: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Erase a box drawn around the digit (one box of a form, a frame): thin
    lines along all four sides of the ink's bounding box with ink well inside
    them.  Run before :func:`_remove_lines`, which erases lines reaching well
    past the rest of the ink: a snug box's lines do so only one way, and its
    other two sides would be left to be read as 1s.
    An empty box is left alone (a 0 drawn square has nothing inside).
    Returns (ink, mask): copies if the box was erased, else the inputs."""
    if not mask.any():
        return ink, mask
    x, y, w, h = _bbox(mask)
    if min(w, h) < 16:
        return ink, mask
    box = mask[y : y + h, x : x + w]
    rows, cols = _bands(box, span=SIDE_SPAN), _bands(box.T, span=SIDE_SPAN)
    if len(rows) < 2 or len(cols) < 2:
        return ink, mask
    (top, t_end), (b_start, bottom) = rows[0], rows[-1]
    (left, l_end), (r_start, right) = cols[0], cols[-1]
    slack = 2 + round(0.02 * max(w, h))  # an anti-aliased or slightly tilted line
    if top > slack or left > slack or bottom < h - slack or right < w - slack:
        return ink, mask
    if len(_box_sides(box[t_end:b_start], max(t_end - top, bottom - b_start))) >= BOX_SIDES:
        return ink, mask  # a row of boxes: see _box_rows
    inside = box[t_end + 1 : b_start - 1, l_end + 1 : r_start - 1]
    if inside.size == 0 or not inside.any() or _bbox(inside)[3] < 0.25 * inside.shape[0]:
        return ink, mask
    # Just the lines and a pixel of their soft edge: a stroke close inside the
    # box (a 7's bar) must not be taken for more of the line.
    ink, mask = ink.copy(), mask.copy()
    inner = (slice(y + t_end + 1, y + b_start - 1), slice(x + l_end + 1, x + r_start - 1))
    kept_ink, kept_mask = ink[inner].copy(), mask[inner].copy()
    ink[y : y + h, x : x + w] = 0.0
    mask[y : y + h, x : x + w] = False
    ink[inner], mask[inner] = kept_ink, kept_mask
    return ink, mask


def _box_sides(strip: np.ndarray, line: int) -> list[tuple[int, int]]:
    """The box sides in ``strip``, the mask between two printed lines ``line``
    pixels thick: thin columns inked from one line to the other, evenly
    spaced (see :func:`_comb`)."""
    return _comb(_bands(strip.T, span=SIDE_SPAN), line)


def _comb(sides: list[tuple[int, int]], line: int) -> list[tuple[int, int]]:
    """The box sides among ``sides`` (columns running from one line to the
    next): printed like the lines (at most twice as thick, plus a pixel of
    blur) and evenly spaced, one at every step of the longest run.  A 1
    written from line to line in a box is such a column too, but it stands
    between two sides, off their step, or is thicker than the print."""
    thin = [(a, b) for a, b in sides if b - a <= 2 * line + 1]
    centres = [(a + b) / 2 for a, b in thin]
    best: tuple[int, float, list[int]] = (0, 0.0, [])
    for i, start in enumerate(centres):
        for j in range(i + 1, len(centres)):
            step = centres[j] - start
            tolerance = max(2.0, 0.06 * step)
            run = [i]
            while True:
                want = centres[run[-1]] + step
                near = min(range(len(centres)), key=lambda k: abs(centres[k] - want))
                if abs(centres[near] - want) > tolerance:
                    break
                run.append(near)
            best = max(best, (len(run), step, run))  # the longest run, then the widest step
    return [thin[k] for k in best[2]]


def _fill(ink: np.ndarray, stroke: float = 1.0) -> float:
    """The fraction of the square over the ink's longer side that the ink covers.

    A side is measured as the sum of each column's (row's) strongest ink, so
    anti-aliased edges count by how much of their pixel they cover: a dot a
    few pixels wide measures as round (0.79) as a large one, where counting
    whole pixels over a threshold gives anything from 0.6 to 1.  ``stroke`` is
    the ink of a full stroke (1 on the canvas; less for faint pencil whose
    brightest pixel is noise), so the measure does not depend on it.
    """
    side = max(float(ink.max(axis=0).sum()), float(ink.max(axis=1).sum()))
    return float(ink.sum()) * stroke / (side * side) if side else 1.0


@functools.lru_cache(maxsize=256)
def _resample_weights(n_in: int, n_out: int) -> np.ndarray:
    """An (n_out x n_in) float32 matrix resampling a line of ``n_in`` pixels to ``n_out``.

    Pillow's bilinear (triangle) filter, widened when shrinking so that every
    input pixel counts (anti-aliased): the weights of ``Image.resize(...,
    BILINEAR)``.  As matrices, resizing the digit is two small products instead
    of a round trip through Pillow, which costs more than the arithmetic.
    """
    scale = n_in / n_out
    width = max(scale, 1.0)  # half the filter's support, in input pixels
    centres = (np.arange(n_out) + 0.5) * scale - 0.5
    weights = np.maximum(width - np.abs(np.arange(n_in) - centres[:, None]), 0.0)
    weights /= weights.sum(axis=1, keepdims=True)
    weights = weights.astype(np.float32)
    weights.flags.writeable = False
    return weights


FRAME_EDGE = 0.03
"""Ink within this share of the image's side of an edge reaches that edge.
(At 0.07, some digits padded square and reduced to 8 x 8 counted as filling
their frame too, and 2 of 1,000 so read were lost.)"""
SQUARE_FRAME = (0.8, 1.25)
"""Frames with a width over height in this range count as square."""
UNSTRETCH_ASPECTS = (0.4, 0.6)
"""The widths (over height) at which a digit filling a square frame is read
too.  A digit stretched square loses its shape (a flagged 1 becomes a caret, a
9 a g), and how far it was stretched is unknown; a narrow and a middling width
stand for the digits' own.  Measured (``benchmarks/real.py``, ``pen.py``): the
real Semeion scans 95.1 -> 95.9 % read, held-out pen writers' digits opened
stretched square 94.9 -> 95.7 %; digits cropped to their ink keep their own
width, and read as before (MNIST) or 3 in 2,000 fewer (pen: a squarish digit
narrowed reads less surely)."""


def _fills_square_frame(shape: tuple[int, ...], box: tuple[int, int, int, int]) -> bool:
    """Whether ink in ``box`` reaches all four edges of a square-ish image of ``shape``."""
    height, width = shape[:2]
    x, y, w, h = box
    if not SQUARE_FRAME[0] <= width / height <= SQUARE_FRAME[1]:
        return False
    dx, dy = FRAME_EDGE * width, FRAME_EDGE * height
    return x <= dx and x + w >= width - dx and y <= dy and y + h >= height - dy


def unstretched(ink: np.ndarray, box: tuple[int, int, int, int]) -> list[np.ndarray]:
    """The boxed ink narrowed to each of :data:`UNSTRETCH_ASPECTS` (where that
    is narrower than it is), each fitted as :func:`fit_to_mnist` fits a digit."""
    x, y, w, h = box
    crop = ink[y : y + h, x : x + w]
    images = []
    for aspect in UNSTRETCH_ASPECTS:
        new_w = max(1, round(h * aspect))
        if new_w < w:
            narrow = crop @ _resample_weights(w, new_w).T
            images.append(fit_to_mnist(narrow, (0, 0, new_w, h)))
    return images


def fit_to_mnist(ink: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """Fit the boxed ink into 20x20 (aspect kept), centre its mass in 28x28."""
    x, y, w, h = box
    crop = ink[y : y + h, x : x + w]
    scale = BOX / max(w, h)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    if (new_w, new_h) != (w, h):
        crop = _resample_weights(h, new_h) @ crop @ _resample_weights(w, new_w).T
    top = float(crop.max())
    if top > 0:
        # A thin stroke downscaled a lot turns faint; MNIST strokes peak at 1.
        crop = crop / top
    mass = float(crop.sum())
    cy = float(crop.sum(axis=1) @ np.arange(new_h, dtype=np.float32) / mass) if mass else new_h / 2
    cx = float(crop.sum(axis=0) @ np.arange(new_w, dtype=np.float32) / mass) if mass else new_w / 2
    oy = min(max(round(SIZE / 2 - cy), 0), SIZE - new_h)
    ox = min(max(round(SIZE / 2 - cx), 0), SIZE - new_w)
    out = np.zeros((SIZE, SIZE), dtype=np.float32)
    out[oy : oy + new_h, ox : ox + new_w] = crop
    return out


def preprocess(
    source: ImageSource, polarity: Polarity = "auto", other_readings: bool = False
) -> Preprocessed:
    """Turn an image of a handwritten digit into the model's 28 x 28 input.

    ``source``: a path, image file bytes, a Pillow image or a NumPy array.
    ``polarity``: 'auto' (detect), 'light' (light ink on a dark ground, like
    MNIST and the canvas) or 'dark' (dark ink on light paper).
    ``other_readings``: also read a close call on the paper with each tone as
    the paper (:attr:`Preprocessed.other_readings`; each costs as much as the
    first, so :meth:`~mnist_desktop.ml.inference.Classifier.classify` asks
    for them only when the first reading finds no digit).
    Raises :class:`ImageError` for anything that is not a readable image.
    """
    if polarity not in ("auto", "light", "dark"):
        raise ValueError(f"polarity must be 'auto', 'light' or 'dark', not {polarity!r}")
    data, alpha, size = read_image(source)
    found = ink_map(data, alpha, polarity)
    result = _prepared(found, data.shape, size)
    result.close_call = found.close_call
    if found.close_call and other_readings:
        result.other_readings = _other_readings(result, data, alpha, polarity, size)
    return result


def with_other_readings(
    first: Preprocessed, source: ImageSource, polarity: Polarity
) -> Preprocessed:
    """``first`` (the one reading :func:`preprocess` made of ``source``, a close
    call) with its other readings, made now: the first is not made again."""
    if not first.close_call or first.other_readings:
        return first
    data, alpha, size = read_image(source)
    readings = _other_readings(first, data, alpha, polarity, size)
    return replace(first, other_readings=readings)


def _other_readings(
    first: Preprocessed,
    data: np.ndarray,
    alpha: np.ndarray | None,
    polarity: Polarity,
    size: tuple[int, int],
) -> list[Preprocessed]:
    """The image read with each tone as the paper, but for blank readings, the
    paper taken for ink (a reading whose ink lines its box) and repeats."""
    readings: list[Preprocessed] = []
    for paper in ("light", "dark"):
        other = _prepared(ink_map(data, alpha, polarity, paper=paper), data.shape, size)
        if other.blank or _lines_its_box(other.image):
            continue
        if not any(np.array_equal(other.image, r.image) for r in [first, *readings]):
            readings.append(other)
    return readings


def _prepared(found: InkMap, shape: tuple[int, ...], size: tuple[int, int]) -> Preprocessed:
    """The model's input from an ink map of an image of ``shape`` (analysed) and ``size`` (source)."""
    if found.blank or found.box is None:
        return Preprocessed(
            np.zeros((SIZE, SIZE), np.float32), True, found.polarity, None, size, ["no digit found"]
        )
    image = fit_to_mnist(found.ink, found.box)
    result = Preprocessed(image, False, found.polarity, scale_box(found.box, shape, size), size)
    if _fills_square_frame(found.ink.shape, found.box):
        result.unstretched = unstretched(found.ink, found.box)
    return result


def preprocess_batch(images: np.ndarray, polarity: Polarity = "light") -> np.ndarray:
    """Preprocess a stack of N x H x W images (e.g. MNIST) into N x 28 x 28 floats."""
    out = np.zeros((len(images), SIZE, SIZE), dtype=np.float32)
    for i, img in enumerate(images):
        out[i] = preprocess(img, polarity).image
    return out
