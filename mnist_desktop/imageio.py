"""Reading images safely: which formats, how much memory, one clear error.

Everything the app reads from outside (a file, pasted bytes, an array or a
Pillow image given to the API) comes through :func:`read`, which returns float
arrays reduced to about :data:`ANALYSIS_SIDE` pixels a side.  Three rules:

* **Only the formats the README promises** are passed to Pillow
  (:data:`FORMATS`), so no plugin that runs an external program (EPS runs
  Ghostscript) is ever tried, whatever the file is called.
* **Memory is bounded**: JPEGs are decoded at 1/2 .. 1/8 scale by libjpeg; for
  the others the header's size decides, before any pixel is decoded, whether
  the decoded image fits :func:`decode_budget`; it is then reduced in bands of
  rows, so no full-size converted copy (RGB, float) ever exists.  Arrays are
  reduced in bands before they become floats.  Decodes are serialised, so two
  threads (the window and a folder run) never hold two budgets at once.
* **Every failure is an** :class:`ImageError` with one line naming the file,
  whatever Pillow raised.
"""

from __future__ import annotations

import io
import os
import stat
import struct
import threading
import warnings
from typing import IO

import numpy as np
from PIL import Image, UnidentifiedImageError

ANALYSIS_SIDE = 1024
"""Images are reduced to at most about this many pixels per side before
analysis: enough for a small digit in a large photo, cheap for a 20000 x 20000
scan."""
MAX_PIXELS = 500_000_000
"""Larger images are refused from their header, before decoding (a 20000 x
20000 scan, 400 MP, is still accepted when it fits :data:`DECODE_BUDGET`)."""
DECODE_BUDGET = 512 * 2**20
"""The most memory one decode may take (Pillow's full-size image plus the
decoder's own copies, estimated from the header); less when the process is
already large (TensorFlow takes 500 MB), see :func:`decode_budget`."""
PROCESS_LIMIT = 1024 * 2**20
"""The process's peak memory while it reads an image stays under this
(measured by ``benchmarks/memory.py``)."""
_HEADROOM = 128 * 2**20
"""Beyond the decode itself: the bands of the reduction and the arrays it gives."""
_MIN_BUDGET = 128 * 2**20
"""Ordinary images are always read, however large the process already is: a
32 MP RGB PNG, a JPEG of any size (decoded at reduced scale)."""
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "DIB", "TIFF", "WEBP", "PPM", "ICO")
"""Pillow plugins tried when opening (PPM: PBM/PGM/PPM).  A phone's JPEG with
several pictures opens through JPEG as format "MPO"."""
FORMAT_NAMES = "PNG, JPEG, GIF, BMP, TIFF, WebP, PNM (PBM/PGM/PPM) or ICO"
BAND_BYTES = 16 * 2**20
"""Reductions work on bands of rows of about this size."""

_SMALL_MODES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}
"""Bytes per pixel of Pillow's in-memory image; every other mode takes 4."""
_DECODER_COPIES = {"bmp_rle": 3, "ppm_plain": 2, "libtiff": 2, "tiff_lzw": 1}
"""Decoders that hold more than the image itself (a full-size buffer or two)."""
_FORMAT_COPIES = {"WEBP": 4, "TIFF": 2}
"""libwebp's animation decoder keeps two canvases and hands over a copy
(measured: 3.8 x the image); libtiff may read a whole image into an RGBA
buffer (YCbCr, old JPEG)."""
_EXIF_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_DECODE_LOCK = threading.Lock()

Arrays = tuple[np.ndarray, "np.ndarray | None", tuple[int, int]]


class ImageError(ValueError):
    """The input cannot be read as an image (corrupt, empty, too large, ...)."""


def display_path(path: str | os.PathLike | bytes) -> str:
    """A path as one printable line: undecodable bytes and control characters escaped.

    A file name need not be UTF-8 (``os.fsdecode`` keeps its bytes as lone
    surrogates, which cannot be printed or written to a UTF-8 CSV), and may
    hold a newline.
    """
    text = os.fsencode(path).decode("utf-8", "backslashreplace")
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _resident_bytes() -> int | None:
    """This process's resident memory now (Linux), None where unknown."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def decode_budget() -> int:
    """Bytes one decode may take now: :data:`DECODE_BUDGET`, less what the
    process already holds beyond :data:`PROCESS_LIMIT` minus some headroom."""
    resident = _resident_bytes()
    if resident is None:
        return DECODE_BUDGET
    room = PROCESS_LIMIT - resident - _HEADROOM
    return max(_MIN_BUDGET, min(DECODE_BUDGET, room))


def _too_large(
    name: str, size: tuple[int, int], needed: int | None = None, budget: int = 0
) -> ImageError:
    w, h = size
    if needed is None:
        detail = f"at most {MAX_PIXELS // 1_000_000} megapixels"
    else:
        detail = (
            f"decoding it would take about {needed / 2**20:,.0f} MB; "
            f"the limit is {budget / 2**20:,.0f} MB"
        )
    return ImageError(f"{name}: the image is too large to open safely ({w} x {h} pixels; {detail})")


# --------------------------------------------------------------------------- #
# Opening: only our formats, checked before decoding
# --------------------------------------------------------------------------- #


def _open_checked(stream: IO[bytes], name: str) -> Image.Image:
    """``Image.open`` limited to :data:`FORMATS`; the header's size checked.

    Pillow's own decompression-bomb limit (179 MP) is lifted while the caller
    holds :data:`_DECODE_LOCK`: :data:`MAX_PIXELS` and the budget replace it.
    """
    try:
        img = Image.open(stream, formats=FORMATS)
    except UnidentifiedImageError as exc:
        raise ImageError(f"{name}: not an image file this app can read ({FORMAT_NAMES})") from exc
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{name}: the image is too large to open safely") from exc
    except MemoryError as exc:
        raise ImageError(f"{name}: not enough memory to open the image") from exc
    except Exception as exc:  # any plugin's complaint about the header
        if "too large" in str(exc).lower():  # PNG text chunks over Pillow's limits
            raise ImageError(f"{name}: the file's metadata is too large to read safely") from exc
        raise ImageError(f"{name}: the image file is damaged (its header is invalid)") from exc
    width, height = img.size
    if width * height > MAX_PIXELS:
        raise _too_large(name, img.size)
    if width <= 0 or height <= 0:
        raise ImageError(f"{name}: the image has no pixels ({width} x {height})")
    return img


def _ico_frame_size(img: Image.Image) -> tuple[int, int]:
    """The size an ICO's chosen frame really has: its embedded PNG or DIB header.

    The directory says at most 256 x 256, but the frame inside may claim more.
    """
    ico = img.ico  # type: ignore[attr-defined]
    header = ico.entry[ico.getentryindex(img.size)]
    ico.buf.seek(header.offset)
    head = ico.buf.read(26)
    if head[:8] == b"\x89PNG\r\n\x1a\n" and len(head) >= 24:
        return struct.unpack(">II", head[16:24])
    if len(head) >= 12:
        width, height = struct.unpack("<ii", head[4:12])
        return abs(width), abs(height)
    raise ValueError("ICO frame header is truncated")


def decode_cost(img: Image.Image) -> int:
    """Bytes the decode of ``img`` will take, from its header (an upper estimate)."""
    fmt = img.format or ""
    width, height = img.size
    per_pixel = _SMALL_MODES.get(img.mode, 4)
    if fmt == "ICO":
        width, height = _ico_frame_size(img)
        per_pixel = 4
    copies = _FORMAT_COPIES.get(fmt, 1)
    for tile in getattr(img, "tile", None) or ():
        copies = max(copies, _DECODER_COPIES.get(tile[0], 1))
    if fmt == "BMP" and img.info.get("compression"):
        copies = max(copies, 3)
    cost = width * height * per_pixel * copies
    if fmt in ("JPEG", "MPO") and img.info.get("progressive"):
        # A progressive JPEG keeps every DCT coefficient (2 bytes) of the full
        # image, whatever scale it is decoded at.
        (full_w, full_h), bands = getattr(img, "_full_size", img.size), len(img.getbands())
        cost += full_w * full_h * bands * 2
    return cost


def _draft(img: Image.Image) -> None:
    """Let libjpeg decode a large JPEG at 1/2, 1/4 or 1/8 scale."""
    if img.format in ("JPEG", "MPO") and max(img.size) > 2 * ANALYSIS_SIDE:
        full = img.size
        img.draft(img.mode if img.mode in ("L", "RGB") else "RGB", (ANALYSIS_SIDE,) * 2)
        img._full_size = full  # type: ignore[attr-defined]  # for decode_cost


def _load(img: Image.Image, name: str) -> None:
    """Decode ``img`` once, within the budget; every failure an ImageError."""
    if getattr(img, "format", None) not in (None, "MPO", *FORMATS):
        # A Pillow image given to the API, opened by its caller with another
        # plugin (EPS would run Ghostscript on load).
        raise ImageError(f"{name}: {img.format} images are not read ({FORMAT_NAMES} are)")
    if not hasattr(img, "tile") or not img.tile:
        return  # already decoded (or made in memory)
    try:
        cost = decode_cost(img)
    except Exception as exc:
        raise ImageError(f"{name}: the image file is damaged (its header cannot be read)") from exc
    budget = decode_budget()
    if cost > budget:
        raise _too_large(name, getattr(img, "_full_size", img.size), cost, budget)
    try:
        img.load()
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{name}: the image is too large to open safely") from exc
    except MemoryError as exc:
        raise ImageError(f"{name}: not enough memory to decode the image") from exc
    except Exception as exc:  # Pillow raises OSError, ValueError, SyntaxError, TypeError, ...
        if "truncated" in str(exc) or isinstance(exc, EOFError):
            raise ImageError(f"{name}: the image is truncated (the file ends early)") from exc
        raise ImageError(f"{name}: the image is damaged and cannot be decoded") from exc


def _orientation(img: Image.Image) -> int:
    """The EXIF orientation (1..8) of a decoded image; 1 when unknown or unreadable."""
    try:
        value = img.getexif().get(0x0112, 1)
    except Exception:  # damaged EXIF: show the image as stored
        return 1
    return value if value in _EXIF_TRANSPOSE else 1


# --------------------------------------------------------------------------- #
# Reducing in bands of rows
# --------------------------------------------------------------------------- #


def _has_alpha(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info


def _reducible(img: Image.Image) -> Image.Image:
    """A mode ``Image.reduce`` averages correctly (transparency made an alpha band)."""
    if _has_alpha(img) and img.mode not in ("RGBA", "LA"):
        return img.convert("RGBA")
    if img.mode == "1":
        return img.convert("L")
    if img.mode == "P":
        return img.convert("RGB")
    if img.mode.startswith("I;16"):
        return img.convert("I")
    return img


def _reduce_pil(img: Image.Image, factor: int) -> Image.Image:
    """``img.reduce(factor)`` computed band by band: no full-size converted copy."""
    width, height = img.size
    row_bytes = width * 4 * 4  # the widest converted band row
    step = factor * max(1, BAND_BYTES // (row_bytes * factor))
    out: Image.Image | None = None
    for top in range(0, height, step):
        band = _reducible(img.crop((0, top, width, min(height, top + step))))
        small = band.reduce(factor)
        if out is None:
            out = Image.new(small.mode, (-(-width // factor), -(-height // factor)))
        out.paste(small, (0, top // factor))
    assert out is not None
    return out


def pil_to_arrays(
    img: Image.Image, name: str = "the image"
) -> tuple[np.ndarray, np.ndarray | None]:
    """A small decoded image as (RGB or grey floats in [0, 1], alpha in [0, 1] or None)."""
    mode = img.mode
    if mode.startswith("I;16"):
        return np.asarray(img, dtype=np.float32) / 65535.0, None
    if mode in ("I", "F"):
        arr = np.asarray(img, dtype=np.float32)
        if not np.isfinite(arr).all():
            raise ImageError(f"{name}: the image holds NaN or infinite values")
        top = float(arr.max()) if arr.size else 1.0
        scale = 1.0 if top <= 1.0 else 255.0 if top <= 255 else 65535.0 if top <= 65535 else top
        return np.clip(arr / scale, 0.0, 1.0), None
    if _has_alpha(img):
        rgba = np.asarray(img.convert("RGBA"), dtype=np.float32) / 255.0
        return rgba[..., :3], rgba[..., 3]
    if mode in ("1", "L"):
        return np.asarray(img.convert("L"), dtype=np.float32) / 255.0, None
    return np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0, None


def _read_pil(img: Image.Image, name: str) -> Arrays:
    """Decode (bounded), reduce and turn upright a Pillow image."""
    width, height = getattr(img, "_full_size", None) or img.size
    if width <= 0 or height <= 0:
        raise ImageError(f"{name}: the image has no pixels ({width} x {height})")
    if width * height > MAX_PIXELS and getattr(img, "tile", None):
        raise _too_large(name, (width, height))
    _load(img, name)
    turn = _orientation(img)
    try:
        factor = max(img.size) // ANALYSIS_SIDE
        if factor >= 2:
            img = _reduce_pil(img, factor)
        if turn != 1:
            img = img.transpose(_EXIF_TRANSPOSE[turn])
        data, alpha = pil_to_arrays(img, name)
    except ImageError:
        raise
    except MemoryError as exc:
        raise ImageError(f"{name}: not enough memory to read the image") from exc
    except Exception as exc:  # an odd mode Pillow cannot convert
        raise ImageError(f"{name}: the image cannot be converted ({img.mode} pixels)") from exc
    size = (height, width) if turn in (5, 6, 7, 8) else (width, height)
    return data, alpha, size


# --------------------------------------------------------------------------- #
# Arrays
# --------------------------------------------------------------------------- #


def array_to_arrays(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """An image array as floats in [0, 1], reduced by block means when large.

    Large arrays are reduced band by band *before* conversion to float, so a
    400 MB uint8 array never becomes a 1.6 GB float copy.
    """
    if arr.dtype.kind not in "biuf":
        raise ImageError(f"an array of {arr.dtype} values is not an image (numbers are needed)")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise ImageError(f"an array of shape {arr.shape} is not an image")
    if arr.size == 0:
        raise ImageError("the image has no pixels")
    if arr.dtype == np.uint8:
        scale, clip = 255.0, False
    elif arr.dtype == np.uint16:
        scale, clip = 65535.0, False
    elif arr.dtype == bool:
        scale, clip = 1.0, False
    else:
        low, top = arr.min(), arr.max()  # no copies; NaN and inf show in these
        if not (np.isfinite(low) and np.isfinite(top)):
            raise ImageError("the image holds NaN or infinite values")
        scale, clip = (255.0 if float(top) > 1.0 else 1.0), True

    def to_float(part: np.ndarray) -> np.ndarray:
        data = part.astype(np.float32)
        if scale != 1.0:
            data *= np.float32(1.0 / scale)
        if clip:
            np.clip(data, 0.0, 1.0, out=data)
        return data

    height, width = arr.shape[:2]
    factor = max(height, width) // ANALYSIS_SIDE
    if factor < 2:
        data = to_float(arr)
    else:
        rows, cols = height // factor, width // factor
        rest = arr.shape[2:]
        data = np.empty((rows, cols, *rest), np.float32)
        row_bytes = cols * factor * int(np.prod(rest, dtype=np.int64)) * 4
        step = max(1, BAND_BYTES // (row_bytes * factor))  # output rows per band
        for r in range(0, rows, step):
            n = min(step, rows - r)
            band = to_float(arr[r * factor : (r + n) * factor, : cols * factor])
            # Sum the rows of each block, then its columns: two reductions over
            # contiguous memory (a mean over axes (1, 3) at once is ~10x slower).
            rows_summed = band.reshape(n, factor, -1).sum(axis=1)
            blocks = rows_summed.reshape(n, cols, factor, *rest).sum(axis=2)
            data[r : r + n] = blocks * np.float32(1.0 / (factor * factor))
    if data.ndim == 3 and data.shape[2] == 4:
        return data[..., :3], data[..., 3]
    return data, None


# --------------------------------------------------------------------------- #
# The entry point
# --------------------------------------------------------------------------- #


def _open_path(path: str) -> tuple[IO[bytes], str]:
    name = display_path(os.path.basename(path) or path)
    try:
        info = os.stat(path)
    except OSError as exc:
        raise ImageError(f"{name}: cannot read the file ({exc.strerror or exc})") from exc
    if stat.S_ISDIR(info.st_mode):
        raise ImageError(f"{name}: cannot read the file (it is a folder)")
    if not stat.S_ISREG(info.st_mode):
        # A FIFO or a device would block or never end.
        raise ImageError(f"{name}: cannot read the file (not a regular file)")
    if info.st_size == 0:
        raise ImageError(f"{name}: the file is empty (0 bytes)")
    try:
        return open(path, "rb"), name  # noqa: SIM115  # closed by read()
    except OSError as exc:
        raise ImageError(f"{name}: cannot read the file ({exc.strerror or exc})") from exc


def read(source: object) -> Arrays:
    """Read ``source`` into float arrays: (grey or RGB, alpha or None, source size).

    ``source`` is a path, the bytes of an image file, a Pillow image or a NumPy
    array.  Large images come back reduced to about :data:`ANALYSIS_SIDE`
    pixels per side; the size is the source's (upright).  Anything else, or
    anything unreadable, raises :class:`ImageError`.
    """
    if isinstance(source, np.ndarray):
        data, alpha = array_to_arrays(source)
        return data, alpha, (source.shape[1], source.shape[0])
    if isinstance(source, Image.Image):
        with _DECODE_LOCK:
            return _read_pil(source, "the Pillow image")
    if isinstance(source, (bytes, bytearray, memoryview)):
        if not len(source):
            raise ImageError("the data is empty (0 bytes)")
        stream, name = io.BytesIO(source), "the data"
    elif isinstance(source, (str, os.PathLike)):
        stream, name = _open_path(os.fspath(source))
    else:
        kind = "None" if source is None else f"a {type(source).__name__}"
        raise ImageError(
            f"{kind} is not an image: give a file path, file bytes, a Pillow image or a NumPy array"
        )
    with stream, _DECODE_LOCK, warnings.catch_warnings():
        # Pillow warns about damage it works around ("Corrupt EXIF data"): the
        # image is read or refused all the same, and a CLI line stays one line.
        warnings.simplefilter("ignore")
        saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            img = _open_checked(stream, name)
            _draft(img)
            return _read_pil(img, name)
        finally:
            Image.MAX_IMAGE_PIXELS = saved


__all__ = [
    "ANALYSIS_SIDE",
    "DECODE_BUDGET",
    "PROCESS_LIMIT",
    "FORMATS",
    "MAX_PIXELS",
    "ImageError",
    "array_to_arrays",
    "decode_budget",
    "decode_cost",
    "display_path",
    "pil_to_arrays",
    "read",
]
