"""Data augmentation for training, as TensorFlow graph ops on batches.

Users' digits differ from MNIST's in slant, size, position, shape and stroke
width (a thin mouse line vs a thick marker), so each training batch is warped
with one bilinear resampling that combines a random affine map (rotation,
anisotropic scale, shear, shift) with a smooth elastic field, then some images
are thickened or thinned by a 2x2 dilation or erosion; on request
(``lowres_p``), some are blurred by a round trip through a low resolution, as
a digit from a 8x8 or 16x16 scan looks after the app has scaled it up, and
(``binary_p``) some become a blocky black-and-white scan, as a binarised 16x16
form scan looks.
"""

from __future__ import annotations

import math

import tensorflow as tf

ROTATION_DEG = 12.0
SCALE = (0.85, 1.12)
ASPECT = (0.88, 1.12)
SHEAR = 0.2
SHIFT_PX = 2.5
ELASTIC_PX = 1.0
"""Standard deviation of the elastic displacement, in pixels."""
THICKEN_P = 0.15
THIN_P = 0.15
LOWRES_SIDE = (8, 16)
"""Side range, in pixels, of the low resolution: a 28x28 training image holds a
digit in a 20 px box, so 8-16 px is a digit drawn about 6-12 px tall."""
BINARY_SIDE = (15, 22)
"""Side range of the binarised scan for the whole 28 px image: its digit's
20 px box becomes 11-16 cells, as a digit scanned into a 16x16 grid fills."""
BINARY_LEVEL = (0.25, 0.5)
"""The scanner's threshold, as a share of the digit's peak ink: low thickens
the strokes, high thins them and breaks faint ones."""

MILD = {
    "rotation_deg": 6.0,
    "scale": (0.94, 1.06),
    "aspect": (0.96, 1.04),
    "shear": 0.08,
    "shift_px": 1.5,
    "elastic_px": 0.0,
    "thicken_p": 0.0,
    "thin_p": 0.0,
}
"""Gentler warps for the last epochs of training (see ``TrainConfig.polish_epochs``)."""


def _bilinear(images: tf.Tensor, ys: tf.Tensor, xs: tf.Tensor) -> tf.Tensor:
    """Sample (B, H, W) images at float coordinates; outside is 0 (background)."""
    shape = tf.shape(images)
    b, h, w = shape[0], shape[1], shape[2]
    flat = tf.reshape(images, [-1])
    base = tf.reshape(tf.range(b) * h * w, [-1, 1, 1])
    y0 = tf.floor(ys)
    x0 = tf.floor(xs)
    wy = ys - y0
    wx = xs - x0
    y0 = tf.cast(y0, tf.int32)
    x0 = tf.cast(x0, tf.int32)

    def pick(yi, xi):
        valid = (yi >= 0) & (yi < h) & (xi >= 0) & (xi < w)
        idx = base + tf.clip_by_value(yi, 0, h - 1) * w + tf.clip_by_value(xi, 0, w - 1)
        return tf.gather(flat, idx) * tf.cast(valid, images.dtype)

    return (
        pick(y0, x0) * (1 - wy) * (1 - wx)
        + pick(y0, x0 + 1) * (1 - wy) * wx
        + pick(y0 + 1, x0) * wy * (1 - wx)
        + pick(y0 + 1, x0 + 1) * wy * wx
    )


def augment(
    images: tf.Tensor,
    labels: tf.Tensor,
    rotation_deg: float = ROTATION_DEG,
    scale: tuple[float, float] = SCALE,
    aspect: tuple[float, float] = ASPECT,
    shear: float = SHEAR,
    shift_px: float = SHIFT_PX,
    elastic_px: float = ELASTIC_PX,
    thicken_p: float = THICKEN_P,
    thin_p: float = THIN_P,
    lowres_p: float = 0.0,
    binary_p: float = 0.0,
) -> tuple[tf.Tensor, tf.Tensor]:
    """Randomly warp a batch of (B, 28, 28) float images; labels pass through.

    The keyword arguments are the warps' ranges: by default the module's
    constants (the main training phase), :data:`MILD` for the polish phase.
    """
    shape = tf.shape(images)
    b, h, w = shape[0], shape[1], shape[2]
    u = lambda lo, hi: tf.random.uniform([b, 1, 1], lo, hi)  # noqa: E731
    angle = u(-rotation_deg, rotation_deg) * (math.pi / 180.0)
    scale = u(*scale)
    aspect = u(*aspect)
    sx, sy = scale * aspect, scale / aspect
    shear = u(-shear, shear)
    tx, ty = u(-shift_px, shift_px), u(-shift_px, shift_px)

    # Forward map A = R @ Shear @ S about the centre; sample the input at A^-1 (out - c - t) + c.
    cos, sin = tf.cos(angle), tf.sin(angle)
    a00 = cos * sx
    a01 = (cos * shear - sin) * sy
    a10 = sin * sx
    a11 = (sin * shear + cos) * sy
    det = a00 * a11 - a01 * a10
    cy = (tf.cast(h, tf.float32) - 1) / 2
    cx = (tf.cast(w, tf.float32) - 1) / 2
    gy, gx = tf.meshgrid(
        tf.range(h, dtype=tf.float32), tf.range(w, dtype=tf.float32), indexing="ij"
    )
    dy = gy[None] - cy - ty
    dx = gx[None] - cx - tx
    src_x = (a11 * dx - a01 * dy) / det + cx
    src_y = (-a10 * dx + a00 * dy) / det + cy

    # A smooth elastic field: noise on a 4x4 grid, upsampled bicubically.
    if elastic_px > 0:
        field = tf.random.normal([b, 4, 4, 2], stddev=elastic_px)
        field = tf.image.resize(field, [h, w], method="bicubic")
        src_x += field[..., 0]
        src_y += field[..., 1]
    out = _bilinear(images, src_y, src_x)

    if thicken_p > 0 or thin_p > 0:
        # Stroke width: thicken or thin some images.
        out4 = out[..., None]
        thick = tf.nn.max_pool2d(out4, 2, 1, "SAME")[..., 0]
        thin = -tf.nn.max_pool2d(-out4, 2, 1, "SAME")[..., 0]
        pick = tf.random.uniform([b, 1, 1])
        out = tf.where(pick < thicken_p, thick, tf.where(pick > 1 - thin_p, thin, out))
    if lowres_p > 0:
        out = _low_resolution(tf.clip_by_value(out, 0.0, 1.0), lowres_p)
    if binary_p > 0:
        out = _binary_scan(tf.clip_by_value(out, 0.0, 1.0), binary_p)
    return tf.clip_by_value(out, 0.0, 1.0), labels


def _low_resolution(images: tf.Tensor, p: float) -> tf.Tensor:
    """Blur a share ``p`` of (B, H, W) images by averaging them down to one random
    side (per batch) and back up bicubically, then stretch each so that 60-100 %
    of its peak is full ink: the app's contrast stretch leaves an upscaled scan's
    blurred strokes as bright as, or brighter than, a sharp digit's."""
    shape = tf.shape(images)
    b, h, w = shape[0], shape[1], shape[2]
    side = tf.random.uniform([], LOWRES_SIDE[0], LOWRES_SIDE[1] + 1, dtype=tf.int32)
    small = tf.image.resize(images[..., None], [side, side], method="area")
    back = tf.clip_by_value(tf.image.resize(small, [h, w], method="bicubic")[..., 0], 0.0, 1.0)
    peak = tf.reduce_max(back, axis=[1, 2], keepdims=True)
    stretch = peak * tf.random.uniform([b, 1, 1], 0.6, 1.0)
    back = tf.clip_by_value(back / tf.maximum(stretch, 1e-3), 0.0, 1.0)
    pick = tf.random.uniform([b, 1, 1]) < p
    return tf.where(pick, back, images)


def _binary_scan(images: tf.Tensor, p: float) -> tf.Tensor:
    """Turn a share ``p`` of (B, H, W) images into binarised low-resolution scans:
    averaged down to one random side (per batch), thresholded at a random share
    of each digit's peak, and scaled back up with square cells whose edges are
    averaged as the app's area downscale averages an upscaled scan's blocks."""
    shape = tf.shape(images)
    b, h, w = shape[0], shape[1], shape[2]
    side = tf.random.uniform([], BINARY_SIDE[0], BINARY_SIDE[1] + 1, dtype=tf.int32)
    small = tf.image.resize(images[..., None], [side, side], method="area")
    peak = tf.reduce_max(small, axis=[1, 2, 3], keepdims=True)
    level = peak * tf.random.uniform([b, 1, 1, 1], *BINARY_LEVEL)
    binary = tf.cast(small > level, tf.float32)
    blocks = tf.image.resize(binary, [4 * h, 4 * w], method="nearest")
    back = tf.image.resize(blocks, [h, w], method="area")[..., 0]
    pick = tf.random.uniform([b, 1, 1]) < p
    return tf.where(pick, tf.clip_by_value(back, 0.0, 1.0), images)
