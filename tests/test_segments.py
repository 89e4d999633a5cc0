"""Pieces of digits and touching pairs: the outliers that teach number reading."""

from __future__ import annotations

import numpy as np

from mnist_desktop.ml.segments import digit_pairs, digit_pieces


def _ring() -> np.ndarray:
    """A 0 as MNIST would hold it (uint8, light on dark)."""
    yy, xx = np.mgrid[:28, :28]
    r = np.hypot((yy - 14) / 9.0, (xx - 14) / 7.0)
    return (np.clip(1.0 - np.abs(r - 1.0) * 5, 0, 1) * 255).astype(np.uint8)


def _bar() -> np.ndarray:
    image = np.zeros((28, 28), np.uint8)
    image[4:24, 13:15] = 255
    return image


def _box_aspect(image: np.ndarray) -> float:
    rows = np.flatnonzero(image.max(axis=1) > 0.25)
    cols = np.flatnonzero(image.max(axis=0) > 0.25)
    return (cols[-1] - cols[0] + 1) / (rows[-1] - rows[0] + 1)


def test_pieces_of_a_0_are_arcs_cut_through_two_strokes():
    pieces = digit_pieces(np.stack([_ring()] * 3), 20, seed=1)
    assert pieces.shape == (20, 28, 28)
    assert pieces.min() >= 0.0 and pieces.max() == 1.0
    whole = _box_aspect(_ring() / 255.0)  # about 0.8
    assert all(_box_aspect(p) < 0.7 * whole for p in pieces)
    # Cut at different places, not one piece again and again.
    assert len({round(float(p.sum()), 2) for p in pieces}) > 5


def test_a_1_is_never_cut_into_pieces():
    """A slice of a narrow digit is still that digit: no outlier is made of it."""
    assert len(digit_pieces(np.stack([_bar()] * 4), 10, seed=1)) == 0


def test_pairs_are_two_digits_side_by_side_in_one_box():
    pairs = digit_pairs(np.stack([_ring()] * 3), 10, seed=2)
    assert pairs.shape == (10, 28, 28)
    # Two 0s side by side, overlapping by at most a quarter: about 1.5 times as
    # wide for their height as one 0 (0.8) or more.
    whole = _box_aspect(_ring() / 255.0)
    assert all(_box_aspect(p) > 1.45 * whole for p in pairs)
