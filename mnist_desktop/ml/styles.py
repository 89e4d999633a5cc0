"""Handwriting styles MNIST has few of, drawn as pen strokes for training.

MNIST was written by American census staff and students; the real scans and
pen drawings the app is measured on (``benchmarks/real.py``, ``pen.py``)
miss mostly where people write otherwise: a 1 with a long flag (and a foot),
like a λ; a 7 with a bar through its stem; a 4 open at the top with two
upright strokes, or in one stroke whose stem starts at its bar, like a ч; a 9
whose tail hooks back to the left or curls up across itself, like a g, or
that is begun at the foot of its loop and crosses its start; a 3 with a flat
top; a slashed zero.  Each style here is a few strokes with its own random
proportions, slant and wobble, drawn on the canvas and preprocessed like any
drawing (:func:`mnist_desktop.ml.pen.render_samples`), so the model learns the
pixels a user's pen gives.  No real image is used: the styles are described,
not copied.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .pen import Strokes, _polyline, catmull_rom


def _through(points: list[tuple[float, float]], rng: np.random.Generator, samples: int = 40):
    """A smooth stroke through ``points`` (each nudged a little: a hand's wobble)."""
    pts = np.asarray(points, float) + rng.normal(0, 0.025, (len(points), 2))
    if len(pts) < 3:
        t = np.linspace(0, 1, samples)[:, None]
        return _polyline(pts[0] + (pts[1] - pts[0]) * t)
    return _polyline(catmull_rom(pts, samples))


def _arc(cx, cy, rx, ry, start, end, samples=40) -> list[tuple[float, float]]:
    """Points of an ellipse's arc from angle ``start`` to ``end`` (degrees, y down)."""
    a = np.radians(np.linspace(start, end, samples))
    return [(cx + rx * math.cos(t), cy + ry * math.sin(t)) for t in a]


def flagged_one(rng: np.random.Generator) -> Strokes:
    """A 1 with a long up-stroke (down to a λ's leg), and often a foot."""
    top_x = 0.5
    flag_y = rng.uniform(0.15, 0.8)  # where the up-stroke starts: low is a λ
    flag_x = top_x - rng.uniform(0.2, 0.5) * (0.5 + flag_y)
    bend = rng.uniform(-0.06, 0.06)
    up = _through(
        [(flag_x, flag_y), (0.5 * (flag_x + top_x) + bend, flag_y / 2), (top_x, 0.0)], rng
    )
    stem = _through([(top_x, 0.0), (top_x + rng.uniform(-0.05, 0.05), 1.0)], rng)
    strokes = [up + stem[1:]]
    if rng.random() < 0.5:
        half = rng.uniform(0.12, 0.3)
        foot_x = stem[-1][0]
        strokes.append(_through([(foot_x - half, 1.0), (foot_x + half, 1.0)], rng, 12))
    return strokes


def footed_one(rng: np.random.Generator) -> Strokes:
    """A plain 1 on a foot (a base serif), with or without a short flag."""
    strokes: Strokes = []
    stem = _through([(0.5, 0.0), (0.5 + rng.uniform(-0.05, 0.05), 1.0)], rng)
    if rng.random() < 0.6:
        flag = _through(
            [(0.5 - rng.uniform(0.12, 0.3), rng.uniform(0.08, 0.3)), (0.5, 0.0)], rng, 12
        )
        strokes.append(flag + stem[1:])
    else:
        strokes.append(stem)
    half = rng.uniform(0.15, 0.35)
    strokes.append(_through([(0.5 - half, 1.0), (0.5 + half, 1.0)], rng, 12))
    return strokes


def barred_seven(rng: np.random.Generator) -> Strokes:
    """A 7 with a bar across its stem, the top sometimes with a small tick."""
    width = rng.uniform(0.5, 0.85)
    foot_x = rng.uniform(0.15, 0.45) * width
    top = [(0.0, rng.uniform(0.0, 0.06)), (width, 0.0)]
    if rng.random() < 0.35:
        top.insert(0, (0.0, rng.uniform(0.1, 0.2)))
    stroke = _through(top, rng, 20) + _through([(width, 0.0), (foot_x, 1.0)], rng)[1:]
    y = rng.uniform(0.45, 0.6)
    x = width + (foot_x - width) * y
    half = rng.uniform(0.15, 0.3)
    return [stroke, _through([(x - half, y), (x + half, y + rng.uniform(-0.04, 0.04))], rng, 12)]


def open_four(rng: np.random.Generator) -> Strokes:
    """A 4 open at the top: a left stroke down and across, and an upright through it."""
    bar_y = rng.uniform(0.3, 0.65)
    right = rng.uniform(0.75, 1.0)
    stem_x = rng.uniform(0.55, 0.75) * right
    left_top = rng.uniform(0.0, 0.35)  # 0: upright, like a Ч; more: leaning
    corner = (0.0, bar_y)
    if rng.random() < 0.5:
        first = _through([(left_top, 0.0), corner, (right, bar_y)], rng)
    else:  # a rounded corner, written in one curve
        first = _through(
            [(left_top, 0.0), (0.02, bar_y - 0.15), (0.2, bar_y), (right, bar_y - 0.03)], rng
        )
    stem = _through(
        [(stem_x + rng.uniform(-0.05, 0.1), rng.uniform(-0.05, 0.15)), (stem_x, 1.0)], rng
    )
    return [first, stem]


def bar_stem_four(rng: np.random.Generator) -> Strokes:
    """A 4 in one stroke whose stem starts at its bar, like a ч: down to the left,
    across, and down."""
    bar_y = rng.uniform(0.4, 0.7)
    right = rng.uniform(0.75, 1.0)
    top_x = rng.uniform(0.3, 0.75) * right
    corner_x = rng.uniform(0.0, 0.12)
    turn = (right, bar_y - rng.uniform(0.0, 0.12))  # the pen may rise a little before it falls
    foot_x = right - rng.uniform(0.0, 0.2)
    points = [(top_x, 0.0), (corner_x, bar_y), (0.5 * (corner_x + right), bar_y + 0.02), turn]
    if rng.random() < 0.5:  # a sharp corner at the bar's end; else one curve
        first = _through(points, rng)
        return [first + _through([turn, (foot_x, 1.0)], rng)[1:]]
    return [_through([*points, (0.5 * (right + foot_x), 0.7), (foot_x, 1.0)], rng, 60)]


def _nine_head(rng: np.random.Generator, radii: tuple[float, float]):
    """A 9's loop at the top (its radius drawn from ``radii``) and where its tail
    starts, (x, y): on the loop's right side."""
    r = rng.uniform(*radii)
    start = rng.uniform(-30, 10)
    loop = _arc(0.5, r, r * rng.uniform(0.9, 1.3), r, start, start - 360)
    return loop, 0.5 + r * rng.uniform(0.8, 1.1), r


def hooked_nine(rng: np.random.Generator) -> Strokes:
    """A 9 whose tail bends back to the left at the bottom, like a g."""
    loop, end_x, cy = _nine_head(rng, (0.2, 0.3))
    hook = rng.uniform(0.2, 0.55)  # how far the tail turns back left
    tail = _through(
        [
            (end_x, cy),
            (end_x + rng.uniform(-0.05, 0.05), 0.65),
            (end_x - 0.1, 0.92),
            (end_x - 0.1 - hook, 1.0),
            (end_x - 0.15 - hook * 1.2, 0.88 - rng.uniform(0, 0.15)),
        ],
        rng,
    )
    return [loop + tail]


def looped_nine(rng: np.random.Generator) -> Strokes:
    """A 9 whose tail curls back up across itself, like a written g."""
    loop, x, cy = _nine_head(rng, (0.18, 0.28))
    width = rng.uniform(0.2, 0.4)
    tail = _through(
        [
            (x, cy),
            (x, rng.uniform(0.6, 0.75)),
            (x - 0.5 * width, 1.0),
            (x - width, rng.uniform(0.8, 0.92)),
            (x + rng.uniform(0.0, 0.25), rng.uniform(0.6, 0.75)),
        ],
        rng,
    )
    return [loop + tail]


def crossed_nine(rng: np.random.Generator) -> Strokes:
    """A 9 begun at the foot of its loop: the stroke runs up to the right, over the
    top and down the left, then crosses its own start on the way into the tail."""
    width = rng.uniform(0.55, 1.0)
    waist = rng.uniform(0.3, 0.5)  # where the loop closes, crossing itself
    start = (rng.uniform(0.0, 0.25) * width, waist + rng.uniform(-0.05, 0.1))
    cross = (rng.uniform(0.4, 0.6) * width, waist)
    tail_x = rng.uniform(0.55, 0.85) * width
    end_x = tail_x - rng.uniform(-0.1, 0.45) * width  # the tail may turn back left
    points = [
        start,
        (rng.uniform(0.75, 1.0) * width, rng.uniform(0.05, 0.2)),
        (rng.uniform(0.35, 0.6) * width, 0.0),
        (rng.uniform(0.0, 0.15) * width, rng.uniform(0.08, 0.22)),
        cross,
        (tail_x, rng.uniform(0.65, 0.8)),
        (end_x, 1.0),
    ]
    return [_through(points, rng, 60)]


def flat_three(rng: np.random.Generator) -> Strokes:
    """A 3 with a flat top and a straight stroke down to its lower bowl (Ʒ)."""
    width = rng.uniform(0.6, 0.9)
    middle = (rng.uniform(0.2, 0.45) * width, rng.uniform(0.35, 0.5))
    top = _through([(0.0, 0.0), (width, rng.uniform(-0.03, 0.03))], rng, 12)
    down = _through([(width, 0.0), middle], rng, 16)
    ry = (1.0 - middle[1]) / 2
    bowl = _arc(middle[0], middle[1] + ry, width - middle[0] + 0.05, ry, -90, 140)
    return [top + down[1:] + bowl]


def slashed_zero(rng: np.random.Generator) -> Strokes:
    """A zero with a stroke through it (Ø)."""
    rx = rng.uniform(0.25, 0.42)
    oval = _arc(0.5, 0.5, rx, 0.5, -90, 270)
    reach = rng.uniform(0.95, 1.3)
    slash = _through(
        [(0.5 + rx * reach, 0.5 - 0.5 * reach), (0.5 - rx * reach, 0.5 + 0.5 * reach)], rng
    )
    return [oval, slash]


STYLES: dict[int, tuple[Callable[[np.random.Generator], Strokes], ...]] = {
    0: (slashed_zero,),
    1: (flagged_one, flagged_one, footed_one),
    3: (flat_three,),
    4: (open_four, bar_stem_four),
    7: (barred_seven,),
    9: (hooked_nine, looped_nine, crossed_nine),
}
"""The styles of each digit (a style listed twice is drawn twice as often)."""


def _slanted(strokes: Strokes, rng: np.random.Generator) -> Strokes:
    """Lean the drawing (a shear) and squeeze or stretch its width, as writers do."""
    slant = rng.uniform(-0.35, 0.15)  # most hands lean right (x grows as y falls)
    width = rng.uniform(0.75, 1.25)
    return [[((x + slant * (y - 0.5)) * width, y) for x, y in s] for s in strokes]


def style_digits(count: int, seed: int) -> tuple[list[Strokes], np.ndarray]:
    """``count`` drawings in the styles above, as many of each digit as of any
    other, and their labels."""
    rng = np.random.default_rng(seed)
    digits = sorted(STYLES)
    labels = np.array([digits[i % len(digits)] for i in range(count)], np.int32)
    drawings = []
    for label in labels:
        styles = STYLES[int(label)]
        drawings.append(_slanted(styles[int(rng.integers(len(styles)))](rng), rng))
    return drawings, labels
