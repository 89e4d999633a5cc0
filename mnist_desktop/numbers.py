"""Read a row of digits (a year, a house number, an amount) as a number.

The image goes through the same ink estimation as single digits
(:func:`mnist_desktop.preprocess.ink_map`); the ink is then split into
connected components, components that overlap horizontally are merged (the bar
of a 5, the two strokes of a 4 or a 7 with a crossbar are one digit), and each
digit is fitted into the model's 28 x 28 input by the same
:func:`~mnist_desktop.preprocess.fit_to_mnist` as a single digit.
A component much wider than tall is flagged as touching digits and split at
the thinnest columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .preprocess import (
    ImageSource,
    Polarity,
    _components,
    fit_to_mnist,
    ink_map,
    pool_cells,
    read_image,
    scale_box,
)

if TYPE_CHECKING:
    from .ml.inference import Classifier, Prediction

SEGMENT_SIDE = 384
"""Components are found on a grid of at most this many cells on the long side."""
MERGE_OVERLAP = 0.5
"""Components whose horizontal extents overlap by this fraction of the narrower one merge."""
TOUCHING_RATIO = 1.25
"""A digit wider than this times its height is taken for touching digits."""
MIN_PART = 0.15
"""Parts shorter than this fraction of the tallest one are noise (a dot, a comma)."""


@dataclass
class DigitBox:
    """One digit found in the image."""

    box: tuple[int, int, int, int]
    """(x, y, width, height) in the source image's pixels."""
    image: np.ndarray
    """Its 28 x 28 model input."""
    touching: bool = False
    """True when it was cut out of a component too wide for one digit."""


@dataclass
class Segmentation:
    digits: list[DigitBox] = field(default_factory=list)
    polarity: str = "light"
    size: tuple[int, int] = (0, 0)
    notes: list[str] = field(default_factory=list)


def _split_wide(ink: np.ndarray, x0: int, x1: int, y0: int, y1: int) -> list[tuple[int, int]]:
    """Split columns x0..x1 into about width/height parts at the thinnest columns."""
    height = y1 - y0
    parts = max(2, round((x1 - x0) / height))
    profile = ink[y0:y1, x0:x1].sum(axis=0)
    cuts = [x0]
    for k in range(1, parts):
        centre = (x1 - x0) * k / parts
        lo, hi = int(centre - 0.25 * height), int(centre + 0.25 * height)
        lo, hi = max(lo, 1), min(hi, x1 - x0 - 1)
        cut = lo + int(np.argmin(profile[lo:hi])) if hi > lo else int(centre)
        cuts.append(x0 + cut)
    cuts.append(x1)
    return [(a, b) for a, b in zip(cuts[:-1], cuts[1:], strict=True) if b - a > 1]


def segment(source: ImageSource, polarity: Polarity = "auto") -> Segmentation:
    """Find the digits of a number, left to right."""
    data, alpha, size = read_image(source)
    found = ink_map(data, alpha, polarity, speck_fraction=0.02)
    result = Segmentation(polarity=found.polarity, size=size)
    if found.blank:
        result.notes.append("no digit found")
        return result
    ink = found.ink
    h, w = ink.shape
    cell = max(1, -(-max(h, w) // SEGMENT_SIDE))
    grid = pool_cells(ink, cell, np.max) > 0.25
    labels, count = _components(grid)
    boxes = []
    for label in range(1, count + 1):
        ys, xs = np.nonzero(labels == label)
        boxes.append(
            [
                xs.min() * cell,
                ys.min() * cell,
                min(w, (xs.max() + 1) * cell),
                min(h, (ys.max() + 1) * cell),
            ]
        )
    boxes = [b for b in boxes if (b[3] - b[1]) >= MIN_PART * max(bb[3] - bb[1] for bb in boxes)]
    boxes.sort()
    merged: list[list[int]] = []
    for box in boxes:
        if merged:
            last = merged[-1]
            overlap = min(last[2], box[2]) - max(last[0], box[0])
            narrower = min(last[2] - last[0], box[2] - box[0])
            if overlap > MERGE_OVERLAP * narrower:
                last[:] = [
                    min(last[0], box[0]),
                    min(last[1], box[1]),
                    max(last[2], box[2]),
                    max(last[3], box[3]),
                ]
                continue
        merged.append(list(box))
    for x0, y0, x1, y1 in merged:
        height = y1 - y0
        touching = (x1 - x0) > TOUCHING_RATIO * height
        spans = _split_wide(ink, x0, x1, y0, y1) if touching else [(x0, x1)]
        for a, b in spans:
            part = np.zeros_like(ink)
            part[y0:y1, a:b] = ink[y0:y1, a:b]
            rows = np.flatnonzero(part[:, a:b].any(axis=1))
            if rows.size == 0:
                continue
            box = (a, int(rows[0]), b - a, int(rows[-1] - rows[0] + 1))
            image = fit_to_mnist(part, box)
            result.digits.append(DigitBox(scale_box(box, ink.shape, size), image, touching))
    if any(d.touching for d in result.digits):
        result.notes.append("some digits touch; they were split at the thinnest columns")
    return result


@dataclass(kw_only=True)
class DigitReading(DigitBox):
    """One digit of a number, classified."""

    prediction: Prediction

    def to_dict(self) -> dict:
        entry = {
            "digit": self.prediction.digit,
            "confidence": round(self.prediction.confidence, 6),
            "box": list(self.box),
        }
        if self.touching:
            entry["touching"] = True
        return entry


@dataclass
class NumberReading(Segmentation):
    """A number read from an image: its digits left to right, classified."""

    digits: list[DigitReading] = field(default_factory=list)  # type: ignore[assignment]

    @property
    def text(self) -> str:
        """The number as text ("2025"), "" when there is no digit."""
        return "".join(str(d.prediction.digit) for d in self.digits)

    @property
    def touching(self) -> bool:
        return any(d.touching for d in self.digits)


def read_number(
    classifier: Classifier, source: ImageSource, polarity: Polarity = "auto"
) -> NumberReading:
    """Segment ``source`` into digits and classify them all in one batch."""
    found = segment(source, polarity)
    reading = NumberReading(polarity=found.polarity, size=found.size, notes=list(found.notes))
    if not found.digits:
        return reading
    probabilities = classifier.probabilities(np.stack([d.image for d in found.digits]))
    for digit, row in zip(found.digits, probabilities, strict=True):
        reading.digits.append(
            DigitReading(digit.box, digit.image, digit.touching, prediction=classifier.verdict(row))
        )
    return reading
