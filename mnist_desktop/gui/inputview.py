"""A small view of the exact 28x28 image the model sees."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

from .qtimage import gray_to_rgb32

TIP = "What the model sees: your digit scaled into 20x20 and centred in 28x28"
NARROWED_TIP = (
    f"{TIP}.\nIt fills its square frame, as scanners that size-normalise digits "
    "stretch them, so it was also read narrowed to its likely width."
)


class ModelInputView(QWidget):
    """Shows the model's input, pixel for pixel (nearest-neighbour enlarged)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modelInput")
        self.setAccessibleName("What the model sees (28 x 28 pixels)")
        self.setToolTip(TIP)
        self.setFixedSize(112, 112)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self._image: QImage | None = None
        self._array: np.ndarray | None = None

    def array(self) -> np.ndarray | None:
        """The 28 x 28 float image shown, or None."""
        return None if self._array is None else self._array.copy()

    def set_array(self, image: np.ndarray | None, narrowed: bool = False) -> None:
        """Show ``image``; ``narrowed``: it was read narrowed too (the tooltip says so)."""
        self.setToolTip(NARROWED_TIP if narrowed and image is not None else TIP)
        if image is None:
            self._array, self._image = None, None
        else:
            self._array = np.asarray(image, dtype=np.float32)
            self._image = gray_to_rgb32((np.clip(self._array, 0, 1) * 255).astype(np.uint8))
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        rect = QRectF(self.rect())
        painter.fillRect(rect, QColor("black"))
        if self._image is not None:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
            painter.drawImage(rect, self._image)
        painter.setPen(self.palette().color(QPalette.ColorRole.Mid))
        painter.drawRect(rect.adjusted(0, 0, -1, -1))
        if self._image is None:
            painter.setPen(QColor(150, 150, 150))
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, "28 × 28")
        painter.end()
