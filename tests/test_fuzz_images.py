"""Damaged files of every supported format: a result or one clear line, nothing else.

For each format the app opens, a digit is encoded, then cut short at several
points and byte-flipped at random places (fixed seed).  Every variant must give
a :class:`Preprocessed` or an :class:`ImageError` whose message is one line;
any other exception (TypeError, struct.error, ...) or a multi-line message fails.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from mnist_desktop.preprocess import ImageError, Preprocessed, preprocess
from tests.helpers.images import encode, interlaced_png, upscale

VARIANTS = 30
CUTS = 10

FORMATS = {
    "PNG": ("PNG", {}),
    "interlaced PNG": ("PNG", {"interlaced": True}),
    "JPEG": ("JPEG", {"quality": 90}),
    "progressive JPEG": ("JPEG", {"progressive": True}),
    "GIF": ("GIF", {}),
    "BMP": ("BMP", {}),
    "TIFF": ("TIFF", {}),
    "TIFF deflate": ("TIFF", {"compression": "tiff_adobe_deflate"}),
    "WebP": ("WEBP", {"quality": 80}),
    "PGM": ("PPM", {}),
    "ICO": ("ICO", {"sizes": [(64, 64)]}),
}


def variants(data: bytes, rng: np.random.Generator) -> list[bytes]:
    """CUTS truncations spread over the file, then byte flips (1-4 bytes each)."""
    out = [data[: max(1, len(data) * k // (CUTS + 1))] for k in range(1, CUTS + 1)]
    while len(out) < VARIANTS:
        flipped = bytearray(data)
        for _ in range(int(rng.integers(1, 5))):
            flipped[int(rng.integers(0, len(data)))] = int(rng.integers(0, 256))
        out.append(bytes(flipped))
    return out


@pytest.mark.parametrize("name", list(FORMATS))
def test_damaged_files_give_a_result_or_one_clear_line(name, mnist_sample):
    fmt, options = FORMATS[name]
    digit = mnist_sample[0][7]
    gray = (upscale(digit, 64) * 255).astype(np.uint8)
    image = Image.fromarray(gray) if fmt != "ICO" else Image.fromarray(gray).convert("RGBA")
    data = interlaced_png(gray) if options.get("interlaced") else encode(image, fmt, **options)
    assert not preprocess(data).blank  # the intact file reads
    rng = np.random.default_rng(sum(map(ord, name)))
    outcomes = {"result": 0, "error": 0}
    for i, variant in enumerate(variants(data, rng)):
        try:
            result = preprocess(variant)
        except ImageError as exc:
            message = str(exc)
            assert message and "\n" not in message, (name, i, message)
            outcomes["error"] += 1
            continue
        assert isinstance(result, Preprocessed), (name, i)
        assert result.image.shape == (28, 28) and np.isfinite(result.image).all(), (name, i)
        outcomes["result"] += 1
    assert sum(outcomes.values()) == VARIANTS
    assert outcomes["error"] > 0  # the truncations at least are noticed
