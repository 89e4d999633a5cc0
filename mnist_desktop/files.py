"""Which files are images, and finding them in folders."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

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
