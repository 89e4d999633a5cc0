"""Synthetic versions of what users open: photos of paper, scans, odd files."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageFilter


def bold_crop(digit: np.ndarray, scale: int = 6, bolden: int = 9) -> Image.Image:
    """A 28x28 uint8 MNIST digit cropped to its ink, ``scale`` times larger and made
    very bold (a ``bolden`` px minimum filter): dark on white, ink covering as much
    of the image as paper, so which tone is the paper is a close call."""
    ys, xs = np.nonzero(digit > 30)
    crop = Image.fromarray(255 - digit[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1])
    crop = crop.resize((crop.width * scale, crop.height * scale))
    return crop.filter(ImageFilter.MinFilter(bolden))


def boxed_scan(digit: np.ndarray) -> np.ndarray:
    """A 28x28 uint8 MNIST digit as a scanner that size-normalises digits leaves it
    (Semeion's, USPS's): its ink stretched into a square box whatever its width,
    binarised, 64 px, dark on white."""
    ys, xs = np.nonzero(digit > 80)
    crop = Image.fromarray(digit[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1])
    box = crop.resize((64, 64), Image.Resampling.NEAREST).point(lambda v: 255 * (v > 80))
    return 255 - np.asarray(box)


def upscale(digit: np.ndarray, size: int) -> np.ndarray:
    """A 28x28 uint8 MNIST digit enlarged smoothly to ``size`` px (float 0..1, ink = 1)."""
    img = Image.fromarray(digit).resize((size, size), Image.Resampling.BICUBIC)
    return np.clip(np.asarray(img, dtype=np.float32) / 255.0, 0, 1)


def on_paper(
    ink: np.ndarray,
    paper=(1.0, 1.0, 1.0),
    ink_color=(0.0, 0.0, 0.0),
    canvas: tuple[int, int] | None = None,
    at: tuple[int, int] = (0, 0),
    gradient: float = 0.0,
    noise: float = 0.0,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Compose ink (0..1) onto paper as an RGB uint8 photo.

    ``gradient`` darkens the paper linearly from left to right (uneven light);
    ``noise`` adds Gaussian sensor noise.
    """
    rng = rng or np.random.default_rng(0)
    h, w = canvas or ink.shape
    alpha = np.zeros((h, w), np.float32)
    y, x = at
    alpha[y : y + ink.shape[0], x : x + ink.shape[1]] = ink
    light = 1.0 - gradient * np.linspace(0, 1, w, dtype=np.float32)[None, :]
    paper = np.asarray(paper, np.float32)[None, None, :] * light[..., None]
    inkc = np.asarray(ink_color, np.float32)[None, None, :] * light[..., None]
    rgb = paper * (1 - alpha[..., None]) + inkc * alpha[..., None]
    if noise:
        rgb = rgb + rng.normal(0, noise, rgb.shape).astype(np.float32)
    return (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)


def encode(image: Image.Image | np.ndarray, fmt: str = "PNG", **kwargs) -> bytes:
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    buf = io.BytesIO()
    image.save(buf, fmt, **kwargs)
    return buf.getvalue()


def png_header_bomb(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def number_row(
    digits: list[np.ndarray], rng: np.random.Generator, height: int = 200
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Lay MNIST digits out in a row with random sizes, gaps and heights (ink, 0..1).

    Returns the ink image and each digit's (x, width) in it.
    """
    parts, spans, x = [], [], 20
    sizes = [int(rng.integers(int(height * 0.45), int(height * 0.75))) for _ in digits]
    width = 40 + sum(int(s * 0.8) + 40 for s in sizes)
    canvas = np.zeros((height, width), np.float32)
    for digit, size in zip(digits, sizes, strict=True):
        ink = upscale(digit, size)
        y = int(rng.integers(0, height - size))
        canvas[y : y + size, x : x + size] = np.maximum(canvas[y : y + size, x : x + size], ink)
        spans.append((x, size))
        x += int(size * 0.8) + int(rng.integers(8, 40))
        parts.append(ink)
    return canvas[:, : x + 20], spans


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    import struct
    import zlib

    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def interlaced_png(gray: np.ndarray) -> bytes:
    """An Adam7-interlaced 8-bit grey PNG (Pillow only writes non-interlaced ones)."""
    import struct
    import zlib

    h, w = gray.shape
    passes = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2))
    raw = b""
    for x0, y0, dx, dy in (*passes, (0, 1, 1, 2)):
        sub = np.ascontiguousarray(gray[y0::dy, x0::dx], dtype=np.uint8)
        if sub.size:
            raw += b"".join(b"\0" + row.tobytes() for row in sub)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 1)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(raw))
        + _png_chunk(b"IEND", b"")
    )


def png_with_ztxt(png: bytes, text_bytes: int) -> bytes:
    """``png`` with a zTXt chunk that inflates to ``text_bytes`` (a text bomb)."""
    import zlib

    chunk = _png_chunk(b"zTXt", b"note\0\0" + zlib.compress(b"a" * text_bytes, 9))
    return png[:33] + chunk + png[33:]  # after the signature and IHDR


EPS_TEXT = b"""%!PS-Adobe-3.0 EPSF-3.0
%%BoundingBox: 0 0 28 28
newpath 14 4 moveto 14 24 lineto 3 setlinewidth stroke
showpage
%%EOF
"""
"""An EPS drawing a "1": Pillow's EPS plugin would hand it to Ghostscript."""


def pgm(width: int, height: int, maxval: int, pixels: bytes | None = None) -> bytes:
    """A binary PGM with any ``maxval`` (0 is invalid)."""
    body = pixels if pixels is not None else bytes(width * height)
    return f"P5\n{width} {height}\n{maxval}\n".encode() + body


def glyph(digit: np.ndarray, height: int, stretch: float = 1.0) -> np.ndarray:
    """A 28x28 uint8 MNIST digit cropped to its ink, scaled to ``height`` px and
    ``stretch`` times its natural width (a wide 0 or 4: stretch > 1); float ink 0..1."""
    rows = np.flatnonzero(digit.max(axis=1) > 0)
    cols = np.flatnonzero(digit.max(axis=0) > 0)
    crop = digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = crop.shape
    width = max(2, round(w * height / h * stretch))
    img = Image.fromarray(crop).resize((width, height), Image.Resampling.BICUBIC)
    return np.clip(np.asarray(img, dtype=np.float32) / 255.0, 0, 1)


def compose_row(
    glyphs: list[np.ndarray], gaps: list[int], rng: np.random.Generator, margin: int = 30
) -> np.ndarray:
    """Lay glyphs left to right, ``gaps[i]`` px between glyph i and i + 1 (negative:
    they overlap, so their strokes touch or cross), at slightly varying heights;
    the ink (0..1) of the row with a margin around it."""
    tallest = max(g.shape[0] for g in glyphs)
    height = tallest + tallest // 5 + 2 * margin
    width = sum(g.shape[1] for g in glyphs) + sum(max(0, g) for g in gaps) + 2 * margin
    canvas = np.zeros((height, width), np.float32)
    x = margin
    for i, g in enumerate(glyphs):
        y = margin + int(rng.integers(0, height - 2 * margin - g.shape[0] + 1))
        region = canvas[y : y + g.shape[0], x : x + g.shape[1]]
        np.maximum(region, g, out=region)
        x += g.shape[1] + (gaps[i] if i < len(gaps) else 0)
    cols = np.flatnonzero(canvas.max(axis=0) > 0)
    return canvas[:, : cols[-1] + 1 + margin]
