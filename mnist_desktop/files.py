"""Which files are images, finding them in folders, and classifying them in batches."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .imageio import display_path
from .ml.inference import Classifier, Prediction
from .preprocess import ImageError, Polarity, preprocess

log = logging.getLogger(__name__)

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
    ".pnm",
    ".ico",
)


def is_image_name(name: str) -> bool:
    return Path(name).suffix.lower() in IMAGE_SUFFIXES


@dataclass
class FoundImages:
    """What :func:`find_images` found."""

    paths: list[str] = field(default_factory=list)
    skipped: int = 0
    """Files in folders that are not images by their name."""
    errors: list[tuple[str, str]] = field(default_factory=list)
    """(folder, message) for each folder that could not be listed."""


def find_images(paths: Sequence[str]) -> FoundImages:
    """Files as given, and the image files found (recursively, sorted) in folders.

    A subfolder that cannot be listed (no permission, gone) is reported in
    ``errors`` rather than skipped without a word.
    """
    found = FoundImages()

    def unreadable(exc: OSError) -> None:
        folder = exc.filename if isinstance(exc.filename, str) else str(exc.filename or "")
        name = display_path(folder)
        found.errors.append((folder, f"{name}: cannot read the folder ({exc.strerror or exc})"))

    for path in paths:
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path, onerror=unreadable):
                dirs.sort()
                for name in sorted(files):
                    if is_image_name(name):
                        found.paths.append(os.path.join(root, name))
                    else:
                        found.skipped += 1
        else:
            found.paths.append(path)
    return found


def expand_paths(paths: Sequence[str]) -> tuple[list[str], int]:
    """(image paths, non-image files skipped): :func:`find_images` without the errors."""
    found = find_images(paths)
    return found.paths, found.skipped


@dataclass
class FileResult:
    """One file's answer: a prediction, or why the file could not be read."""

    path: str
    prediction: Prediction | None = None
    error: str = ""


def file_error(path: str, exc: BaseException) -> str:
    """One line naming the file, for any exception raised while reading it."""
    if isinstance(exc, ImageError):
        return str(exc)
    # Not an input problem we know: say so plainly, keep the details for the log.
    log.error("%s could not be processed", display_path(path), exc_info=exc)
    name = display_path(os.path.basename(path) or path)
    return f"{name}: the image could not be processed (an internal error, see the log)"


def classify_files(
    classifier: Classifier,
    paths: Sequence[str],
    batch: int = 256,
    polarity: Polarity = "auto",
    cancelled: Callable[[], bool] | None = None,
) -> Iterator[list[FileResult]]:
    """Classify files in batches, yielding each batch's results in order.

    Every per-file failure, whatever raised it, becomes a result with an
    ``error``; it never stops the run.  ``cancelled`` is asked between files:
    when it says yes, the files read so far are classified and yielded, and the
    run ends.
    """
    for start in range(0, len(paths), batch):
        results, prepared = [], []
        stop = False
        for path in paths[start : start + batch]:
            if cancelled is not None and cancelled():
                stop = True
                break
            try:
                prepared.append((len(results), preprocess(path, polarity)))
            except Exception as exc:  # noqa: BLE001  # one file never stops the batch
                results.append(FileResult(path, error=file_error(path, exc)))
                continue
            results.append(FileResult(path))
        predictions = classifier.classify_many([pre for _, pre in prepared])
        for (i, pre), prediction in zip(prepared, predictions, strict=True):
            if pre.close_call and prediction.digit is None:
                # Read the other ways only now, as Classifier.classify does: most
                # close calls read a digit the first way, and each reading costs as much.
                try:
                    prediction = classifier.classify(results[i].path, polarity, pre)
                except Exception:  # noqa: BLE001  # the first answer stands
                    log.warning(
                        "re-reading %s failed", display_path(results[i].path), exc_info=True
                    )
            results[i].prediction = prediction
        if results:
            yield results
        if stop:
            return
