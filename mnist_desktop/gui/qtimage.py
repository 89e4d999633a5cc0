"""Conversions between QImage and NumPy arrays (each returns a copy)."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage

from mnist_desktop.raster import gray_array


def _rows(image: QImage) -> np.ndarray:
    data = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes())
    return data.reshape(image.height(), image.bytesPerLine())


qimage_to_gray = gray_array
"""A Grayscale8 QImage as an H x W uint8 array (the rasterizer's own conversion)."""


def qimage_to_rgba(image: QImage) -> np.ndarray:
    """Any QImage as an H x W x 4 RGBA uint8 array."""
    image = image.convertToFormat(QImage.Format.Format_RGBA8888)
    return _rows(image)[:, : image.width() * 4].reshape(image.height(), image.width(), 4).copy()


def rgba_to_qimage(rgba: np.ndarray) -> QImage:
    """An H x W x 4 RGBA uint8 array as a QImage."""
    h, w = rgba.shape[:2]
    data = np.ascontiguousarray(rgba)
    return QImage(data.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()


def gray_to_qimage(gray: np.ndarray) -> QImage:
    """An H x W uint8 array as a Grayscale8 QImage."""
    h, w = gray.shape
    data = np.ascontiguousarray(gray)
    return QImage(data.data, w, h, w, QImage.Format.Format_Grayscale8).copy()


def gray_to_rgb32(gray: np.ndarray) -> QImage:
    """An H x W uint8 array as an opaque RGB32 QImage (grey pixels).

    Qt paints RGB32 with its fastest blits and scalers; a Grayscale8 image is
    converted again on every paint."""
    h, w = gray.shape
    grey = np.ascontiguousarray(gray, dtype=np.uint32)
    pixels = grey * np.uint32(0x010101) | np.uint32(0xFF000000)  # 0xAARRGGBB
    return QImage(pixels.data, w, h, 4 * w, QImage.Format.Format_RGB32).copy()
