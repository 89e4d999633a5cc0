"""Digits stretched to fill a square box, as some scanners' pipelines leave them.

Form-reading pipelines often size-normalise each digit by stretching it into a
square grid, width and height alike (Semeion's 16 x 16 scans, USPS's): a 1
becomes as wide as it is tall, a narrow 7 or 9 a broad one.  The app keeps a
digit's aspect ratio (MNIST's recipe), so such a scan reaches the model as a
shape MNIST never shows: a flagged 1 stretched square looks like a caret.
Training copies of its digits stretched the same way teach the model that
shape without changing what it sees of ordinary handwriting.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from mnist_desktop.preprocess import _bbox, preprocess

NARROW = 0.85
"""Only digits narrower than this (width over height) change much when stretched."""
MOST = 3.0
"""...and only those it takes at most this much to stretch square: a 1 that is one
bare line would become a solid block, a blot rather than any digit."""


def stretched(image: np.ndarray, aspect: float) -> np.ndarray | None:
    """The 28 x 28 input ``image`` with its ink's box stretched to ``aspect``
    (width over height), through the app's preprocessing again; None if it has no ink."""
    mask = image > 0.05
    if not mask.any():
        return None
    x, y, w, h = _bbox(mask)
    ink = image[y : y + h, x : x + w]
    height = 4 * ink.shape[0]  # work at 4x, like the canvas raster, so strokes stay smooth
    width = max(ink.shape[1] * 4, round(height * aspect))
    big = Image.fromarray(ink.astype(np.float32), "F").resize((width, height), Image.BICUBIC)
    page = np.zeros((height + 32, width + 32), np.float32)
    page[16:-16, 16:-16] = np.clip(np.asarray(big), 0.0, 1.0)
    pre = preprocess(page, "light")
    return None if pre.blank else pre.image


def boxed_digits(
    images: np.ndarray, labels: np.ndarray, count: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` of the narrow digits among ``images`` (28 x 28 inputs) stretched
    into a square box (now and then only part of the way), and their labels."""
    rng = np.random.default_rng(seed)
    ink = images > 0.05
    widths = ink.any(axis=1).sum(axis=1)
    heights = ink.any(axis=2).sum(axis=1)
    narrow = np.flatnonzero((widths < NARROW * heights) & (MOST * widths >= heights))
    out, out_labels = [], []
    if narrow.size == 0:
        return np.zeros((0, 28, 28), np.float32), np.zeros(0, np.int32)
    for i in rng.choice(narrow, count, replace=narrow.size < count):
        aspect = 1.0 if rng.random() < 0.7 else rng.uniform(widths[i] / heights[i], 1.0)
        image = stretched(images[i], aspect)
        if image is not None:
            out.append(image)
            out_labels.append(labels[i])
    return np.stack(out), np.asarray(out_labels, np.int32)
