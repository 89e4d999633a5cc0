"""Which files are images, and finding them in folders."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from .ml.inference import Classifier, Prediction
from .preprocess import ImageError, Polarity, preprocess

IMAGE_SUFFIXES = (
    ".png",
    ".jpg",
    ".jpeg",
    ".bmp",
    ".gif",
    ".tif",
    ".tiff",
    ".webp",
    ".pgm",
    ".ppm",
    ".pbm",
)


def is_image_name(name: str) -> bool:
    return Path(name).suffix.lower() in IMAGE_SUFFIXES


def expand_paths(paths: Sequence[str]) -> tuple[list[str], int]:
    """Files as given, and the image files found (recursively, sorted) in folders.

    Returns (paths, number of non-image files skipped in folders).
    """
    out, skipped = [], 0
    for path in paths:
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    if is_image_name(name):
                        out.append(os.path.join(root, name))
                    else:
                        skipped += 1
        else:
            out.append(path)
    return out, skipped


@dataclass
class FileResult:
    """One file's answer: a prediction, or why the file could not be read."""

    path: str
    prediction: Prediction | None = None
    error: str = ""


def classify_files(
    classifier: Classifier, paths: Sequence[str], batch: int = 256, polarity: Polarity = "auto"
) -> Iterator[list[FileResult]]:
    """Classify files in batches, yielding each batch's results in order.

    Unreadable files become results with an ``error``; they never stop the run.
    """
    for start in range(0, len(paths), batch):
        results, prepared = [], []
        for path in paths[start : start + batch]:
            try:
                prepared.append((len(results), preprocess(path, polarity)))
            except ImageError as exc:
                results.append(FileResult(path, error=str(exc)))
                continue
            results.append(FileResult(path))
        predictions = classifier.classify_many([pre for _, pre in prepared])
        for (i, _), prediction in zip(prepared, predictions, strict=True):
            results[i].prediction = prediction
        yield results
