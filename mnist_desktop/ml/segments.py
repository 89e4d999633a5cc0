"""What a number reader cuts out of a row that is not one digit: pieces and pairs.

Reading a number (:mod:`mnist_desktop.numbers`) classifies candidate cuts of
the ink and keeps the reading the model is surest of, so the model must not be
sure of half a 0 (a "(" that reads as 1) or of two touching digits read as one.
Both are taught as outliers ("not a digit": a uniform target), like letters
and scribbles, and go through the same :func:`~mnist_desktop.preprocess.fit_to_mnist`
as the reader's candidates.  Made from MNIST training digits only.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from mnist_desktop.preprocess import _bbox, fit_to_mnist

UPSCALE = 3
"""MNIST's 20 px digits are scaled up to about the 80 px the reader cuts at."""
CUT_SHARE = (0.25, 0.75)
"""Where a digit is cut, as a share of its ink's width."""
PIECE_MASS = (0.2, 0.55)
"""A piece keeps this share of the digit's ink: more, and it may still be the
digit (a 9 without the right edge of its loop is a 9)."""
MIN_WIDTH = 0.45
"""Digits narrower than this times their height are never cut by the reader
(its ``SPLIT_FROM``): a slice of a 1 is still a 1."""
ATTEMPTS = 50
"""Draws per piece or pair at most (digits that can't be cut are skipped)."""
PAIR_OVERLAP = (-0.05, 0.25)
"""How far the second digit of a pair reaches into the first, as a share of the
narrower one's width (below 0: a small gap, as the reader joins near neighbours)."""


def _ink(image: np.ndarray) -> np.ndarray:
    """An MNIST digit (uint8, light on dark) scaled up, cropped to its ink, 0..1."""
    big = Image.fromarray(image).resize(
        (image.shape[1] * UPSCALE, image.shape[0] * UPSCALE), Image.BILINEAR
    )
    ink = np.asarray(big, np.float32) / 255.0
    mask = ink > 0.25
    if not mask.any():
        return ink[:0, :0]
    x, y, w, h = _bbox(mask)
    return ink[y : y + h, x : x + w]


def _fit(ink: np.ndarray) -> np.ndarray | None:
    """The ink fitted into the model's 28 x 28 as the reader fits a candidate."""
    mask = ink > 0.25
    return fit_to_mnist(ink, _bbox(mask)) if mask.any() else None


def _collect(count: int, seed: int, make) -> np.ndarray:
    """Up to ``count`` images from ``make(rng)``, which gives None for a draw it
    can't use; at most :data:`ATTEMPTS` draws per image."""
    rng = np.random.default_rng(seed)
    out: list[np.ndarray] = []
    for _ in range(ATTEMPTS * count):
        if len(out) == count:
            break
        image = make(rng)
        if image is not None:
            out.append(image)
    return np.stack(out) if out else np.zeros((0, 28, 28), np.float32)


def digit_pieces(images: np.ndarray, count: int, seed: int) -> np.ndarray:
    """Up to ``count`` model inputs, each the left or right part of a digit cut by a
    column through its ink, as the reader cuts a wide digit or a joined pair."""

    def piece(rng: np.random.Generator) -> np.ndarray | None:
        ink = _ink(images[int(rng.integers(len(images)))])
        height, width = ink.shape
        if height == 0 or width < MIN_WIDTH * height:
            return None
        cut = int(round(width * rng.uniform(*CUT_SHARE)))
        column = ink[:, cut] > 0.25
        if int(column[0]) + np.count_nonzero(column[1:] & ~column[:-1]) < 2:
            # Through one stroke, a piece may be a whole stroke that reads as a 1
            # (a 4's stem, a 7's leg); through two or more it shows their cut ends.
            return None
        part = ink[:, :cut] if rng.random() < 0.5 else ink[:, cut:]
        if not PIECE_MASS[0] <= part.sum() / ink.sum() <= PIECE_MASS[1]:
            return None
        return _fit(part)

    return _collect(count, seed, piece)


def digit_pairs(images: np.ndarray, count: int, seed: int) -> np.ndarray:
    """Up to ``count`` model inputs, each two digits side by side, touching,
    crossing or nearly so, read as one candidate."""

    def pair(rng: np.random.Generator) -> np.ndarray | None:
        a = _ink(images[int(rng.integers(len(images)))])
        b = _ink(images[int(rng.integers(len(images)))])
        if a.size == 0 or b.size == 0:
            return None
        # The same height, as in a row; the second up to a tenth higher or lower.
        height = max(a.shape[0], b.shape[0])
        a = _height(a, height)
        b = _height(b, int(round(height * rng.uniform(0.85, 1.0))))
        shift = int(round(height * rng.uniform(-0.1, 0.1)))
        overlap = int(round(min(a.shape[1], b.shape[1]) * rng.uniform(*PAIR_OVERLAP)))
        x = a.shape[1] - overlap
        top = max(0, -shift)
        canvas = np.zeros(
            (top + max(a.shape[0], shift + b.shape[0]), max(a.shape[1], x + b.shape[1])),
            np.float32,
        )
        canvas[top : top + a.shape[0], : a.shape[1]] = a
        region = canvas[top + shift : top + shift + b.shape[0], x : x + b.shape[1]]
        np.maximum(region, b, out=region)
        return _fit(canvas)

    return _collect(count, seed, pair)


def _height(ink: np.ndarray, height: int) -> np.ndarray:
    if ink.shape[0] == height:
        return ink
    width = max(1, int(round(ink.shape[1] * height / ink.shape[0])))
    scaled = Image.fromarray(ink).resize((width, height), Image.BILINEAR)
    return np.asarray(scaled, np.float32)
