"""The image in a clipboard or drop, as the app's reader wants it.

Another application's image arrives as encoded bytes (PNG, JPEG, ...), which
:mod:`mnist_desktop.imageio` decodes within its memory budget; asking Qt for a
``QImage`` instead would decode it at full size first (a 16000 x 16000 paste
took 10 GB).  An image that only exists as a ``QImage`` (copied within this
process) is scaled down by Qt before it becomes an array.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QMimeData, Qt
from PySide6.QtGui import QImage

from mnist_desktop.imageio import ANALYSIS_SIDE

from .qtimage import qimage_to_rgba

ENCODED_TYPES = (
    "image/png",
    "image/jpeg",
    "image/webp",
    "image/tiff",
    "image/bmp",
    "image/gif",
    "image/x-portable-anymap",
)


def image_from_mime(mime: QMimeData | None) -> bytes | np.ndarray | None:
    """File bytes or an RGBA array of the image in ``mime``; None if it holds none."""
    if mime is None:
        return None
    for kind in ENCODED_TYPES:
        if mime.hasFormat(kind):
            data = bytes(mime.data(kind).data())
            if data:
                return data
    if not mime.hasImage():
        return None
    image = QImage(mime.imageData())
    if image.isNull():
        return None
    side = 2 * ANALYSIS_SIDE  # the reader reduces to about half this anyway
    if max(image.width(), image.height()) > side:
        image = image.scaled(
            side,
            side,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
    return qimage_to_rgba(image)
