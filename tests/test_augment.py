"""The training warps: the low-resolution round trip that stands for upscaled scans."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")


def _sharpness(images: np.ndarray) -> np.ndarray:
    """Each image's Laplacian energy per unit of ink energy: high for crisp edges."""
    a = images
    lap = 4 * a[:, 1:-1, 1:-1] - a[:, :-2, 1:-1] - a[:, 2:, 1:-1] - a[:, 1:-1, :-2] - a[:, 1:-1, 2:]
    return (lap**2).sum(axis=(1, 2)) / (a**2).sum(axis=(1, 2))


def test_low_resolution_blurs_every_picked_image_and_keeps_full_ink(mnist_sample):
    from mnist_desktop.ml.augment import _low_resolution
    from mnist_desktop.preprocess import preprocess_batch

    images = preprocess_batch(mnist_sample[0][:32])
    out = _low_resolution(tf.constant(images), 1.0).numpy()
    assert out.shape == images.shape
    assert out.min() >= 0.0 and out.max() <= 1.0
    # Every digit still has full-strength ink, as the app's contrast stretch gives it ...
    assert (out.max(axis=(1, 2)) > 0.99).all()
    # ... but its edges are soft: far less variation than the sharp original.
    # (measured: at most 0.38 of the original's sharpness over 1,000 round trips).
    assert (_sharpness(out) < 0.6 * _sharpness(images)).all()


def test_low_resolution_leaves_unpicked_images_alone(mnist_sample):
    from mnist_desktop.ml.augment import _low_resolution
    from mnist_desktop.preprocess import preprocess_batch

    images = preprocess_batch(mnist_sample[0][:8])
    np.testing.assert_array_equal(_low_resolution(tf.constant(images), 0.0).numpy(), images)


def test_no_blur_unless_asked():
    from mnist_desktop.ml.augment import MILD, augment

    images = np.zeros((4, 28, 28), np.float32)
    images[:, 8:20, 13:15] = 1.0  # a sharp bar: any round trip would soften it
    out, _ = augment(
        tf.constant(images),
        tf.zeros(4),
        **{
            **MILD,
            "rotation_deg": 0.0,
            "scale": (1.0, 1.0),
            "aspect": (1.0, 1.0),
            "shear": 0.0,
            "shift_px": 0.0,
        },
    )
    np.testing.assert_allclose(out.numpy(), images, atol=1e-5)


def test_binary_scan_is_black_and_white_cells_of_the_same_digit(mnist_sample):
    from mnist_desktop.ml.augment import _binary_scan
    from mnist_desktop.preprocess import preprocess_batch

    images = preprocess_batch(mnist_sample[0][:64])
    tf.random.set_seed(1)  # the side is drawn once per batch: fix it
    out = _binary_scan(tf.constant(images), 1.0).numpy()
    assert out.shape == images.shape and out.min() >= 0.0 and out.max() <= 1.0
    ink = out > 0.05
    # Square cells of 28 / 22 px or more (BINARY_SIDE): much of the ink is
    # inside a cell, at full strength (over 300 batches at least 41 % on
    # average; the sharp originals: 29 %).
    full = ((out > 0.99) & ink).sum(axis=(1, 2)) / ink.sum(axis=(1, 2))
    assert full.mean() > 0.38
    # Still the same digit: most of its ink where the original's was.
    overlap = (np.minimum(out, images).sum(axis=(1, 2))) / images.sum(axis=(1, 2))
    assert (overlap > 0.5).all()
    np.testing.assert_array_equal(_binary_scan(tf.constant(images), 0.0).numpy(), images)
