"""Hand-made pen paths for the digits 0-9, as a person draws them.

Each digit is a list of strokes; each stroke a list of (x, y) in a unit box
(0..1, y down).  :func:`digit_strokes` places them in canvas pixels with a
size, position and slant, so tests and benchmarks can draw digits the way users
do: big or small, anywhere on the canvas, upright or leaning.
"""

from __future__ import annotations

import math

import numpy as np


def _arc(cx, cy, rx, ry, start_deg, end_deg, n=24):
    """Points on an ellipse from start to end angle (degrees, 0 = right, 90 = down)."""
    return [
        (cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a)))
        for a in np.linspace(start_deg, end_deg, n)
    ]


def _line(a, b, n=12):
    return [(a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t) for t in np.linspace(0, 1, n)]


DIGITS: dict[int, list[list[tuple[float, float]]]] = {
    0: [_arc(0.5, 0.5, 0.28, 0.45, -90, 270, 40)],
    1: [_line((0.42, 0.12), (0.58, 0.05), 5) + _line((0.58, 0.05), (0.52, 0.95), 16)],
    2: [
        _arc(0.5, 0.3, 0.3, 0.25, 200, 360 + 30, 20)
        + _line((0.76, 0.43), (0.2, 0.95), 14)
        + _line((0.2, 0.95), (0.85, 0.93), 10)
    ],
    3: [_arc(0.48, 0.28, 0.28, 0.22, 210, 450, 20) + _arc(0.48, 0.72, 0.32, 0.25, 270, 520, 22)],
    4: [
        _line((0.62, 0.05), (0.15, 0.65), 12) + _line((0.15, 0.65), (0.88, 0.65), 10),
        _line((0.66, 0.3), (0.66, 0.97), 14),
    ],
    5: [
        _line((0.78, 0.06), (0.3, 0.06), 8)
        + _line((0.3, 0.06), (0.25, 0.45), 8)
        + _arc(0.5, 0.68, 0.3, 0.27, 230, 500, 24)
    ],
    6: [_arc(0.62, 0.55, 0.42, 0.5, 250, 180, 14) + _arc(0.5, 0.72, 0.28, 0.24, 180, 540, 28)],
    7: [_line((0.15, 0.08), (0.85, 0.08), 10) + _line((0.85, 0.08), (0.38, 0.96), 16)],
    8: [_arc(0.5, 0.27, 0.24, 0.21, 0, -360, 30) + _arc(0.5, 0.71, 0.3, 0.25, 270, 630, 32)],
    9: [_arc(0.5, 0.3, 0.27, 0.23, 0, 360, 30) + _line((0.77, 0.3), (0.7, 0.96), 14)],
}


SECOND_HAND: dict[int, list[list[tuple[float, float]]]] = {
    # Another person's habits: a slashed zero, a 1 with a flag and a foot, a
    # looped 2, a flat-topped 3, an open 4, a 5 whose bar comes last, a 6 with a
    # straight back, an 8 of two circles, a 7 with a crossbar, a 9 with a
    # straight stem.
    0: [_arc(0.5, 0.5, 0.28, 0.45, -90, 270, 40), _line((0.8, 0.1), (0.2, 0.9), 12)],
    1: [
        _line((0.25, 0.3), (0.6, 0.05), 8) + _line((0.6, 0.05), (0.6, 0.95), 16),
        _line((0.3, 0.95), (0.9, 0.95), 8),
    ],
    2: [
        _arc(0.5, 0.3, 0.3, 0.25, 200, 360 + 30, 20)
        + _line((0.76, 0.43), (0.25, 0.9), 12)
        + _arc(0.35, 0.85, 0.12, 0.1, 0, 360, 16)[::-1]
        + _line((0.35, 0.95), (0.9, 0.95), 8)
    ],
    3: [
        _line((0.2, 0.08), (0.8, 0.08), 8)
        + _line((0.8, 0.08), (0.45, 0.42), 8)
        + _arc(0.48, 0.7, 0.32, 0.26, 270, 520, 22)
    ],
    4: [
        _line((0.15, 0.05), (0.15, 0.55), 10) + _line((0.15, 0.55), (0.88, 0.55), 10),
        _line((0.7, 0.05), (0.7, 0.97), 14),
    ],
    5: [
        _line((0.3, 0.06), (0.25, 0.45), 8) + _arc(0.5, 0.68, 0.3, 0.27, 230, 500, 24),
        _line((0.3, 0.06), (0.8, 0.06), 8),
    ],
    6: [_line((0.7, 0.05), (0.25, 0.6), 12) + _arc(0.5, 0.72, 0.27, 0.24, 180, 540, 28)],
    7: [
        _line((0.15, 0.08), (0.85, 0.08), 10) + _line((0.85, 0.08), (0.4, 0.96), 16),
        _line((0.35, 0.52), (0.85, 0.52), 8),
    ],
    8: [_arc(0.5, 0.25, 0.22, 0.2, 90, 450, 30), _arc(0.5, 0.72, 0.3, 0.25, 270, 630, 32)],
    9: [_arc(0.45, 0.25, 0.3, 0.2, 0, 360, 30) + _line((0.75, 0.25), (0.75, 0.96), 14)],
}


def digit_strokes(
    digit: int,
    size: float = 200.0,
    center: tuple[float, float] = (140.0, 140.0),
    slant: float = 0.0,
    aspect: float = 0.75,
    hand: dict[int, list[list[tuple[float, float]]]] = DIGITS,
) -> list[list[tuple[float, float]]]:
    """The strokes of ``digit`` in canvas pixels: ``size`` tall, centred at ``center``.

    ``slant`` leans the digit (x shifts by slant * height above the centre);
    ``aspect`` is width over height of the unit box; ``hand`` is whose
    habits (:data:`DIGITS` or :data:`SECOND_HAND`).
    """
    cx, cy = center
    out = []
    for stroke in hand[digit]:
        pts = []
        for x, y in stroke:
            px = (x - 0.5) * size * aspect
            py = (y - 0.5) * size
            pts.append((cx + px - slant * py, cy + py))
        out.append(pts)
    return out


def number_strokes(
    text: str, size: float = 170.0, spacing: float = 150.0, left: float = 100.0, slant: float = 0.0
) -> list[list[tuple[float, float]]]:
    """The strokes of a number such as "2025", written left to right on a wide canvas."""
    out = []
    for i, ch in enumerate(text):
        out += digit_strokes(int(ch), size, (left + i * spacing, 140.0), slant)
    return out


def scribble(points: int, seed: int = 0, margin: float = 20.0) -> list[tuple[float, float]]:
    """One long mouse scribble of ``points`` points (canvas pixels): a wandering
    line of 0.5-2 px steps that bounces off the canvas's edges, as someone
    colouring in a shape draws it without lifting the pen."""
    rng = np.random.default_rng(seed)
    turns = rng.normal(0, 0.35, points)
    steps = rng.uniform(0.5, 2.0, points)
    low, high = margin, 280 - margin
    x = y = 140.0
    angle = 0.0
    path = []
    for turn, step in zip(turns, steps, strict=True):
        angle += turn
        x += step * math.cos(angle)
        y += step * math.sin(angle)
        if not low < x < high:
            angle, x = math.pi - angle, min(max(x, low), high)
        if not low < y < high:
            angle, y = -angle, min(max(y, low), high)
        path.append((x, y))
    return path
