"""Corrections zips built in the tests: good ones of any size and the hostile kinds
(a header that lies about sizes, corrupt deflate data, a huge shared source)."""

from __future__ import annotations

import csv
import io
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from mnist_desktop.corrections import HEADER


def png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def labels_csv(rows: list[list[object]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return buf.getvalue()


def digit_png(seed: int) -> bytes:
    """A distinct 28 x 28 grey PNG for each seed."""
    pixels = np.zeros((28, 28), np.uint8)
    pixels.flat[seed % 784] = 255
    pixels.flat[(seed // 784) % 784] = 128
    return png(pixels)


def many_rows_zip(path: Path, n: int, prefix: str = "r", source: str = "") -> None:
    """A valid corrections zip with ``n`` rows (ids ``{prefix}{i}``)."""
    rows = [
        [f"{prefix}{i}", i % 10, "", "2026-01-01T00:00:00+00:00", f"inputs/{prefix}{i}.png", source]
        for i in range(n)
    ]
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("labels.csv", labels_csv(rows))
        for i in range(n):
            zf.writestr(f"inputs/{prefix}{i}.png", digit_png(i))


def big_png(width: int, height: int, mode: str = "RGBA") -> bytes:
    """A blank PNG of any size, built a row at a time (never the whole image in memory)."""
    channels = {"L": 1, "RGB": 3, "RGBA": 4}[mode]
    colour = {"L": 0, "RGB": 2, "RGBA": 6}[mode]

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    deflate = zlib.compressobj(9)
    row = b"\x00" * (1 + width * channels)
    idat = b"".join(deflate.compress(row) for _ in range(height)) + deflate.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def shared_source_zip(path: Path, side: int, rows: int, distinct: int = 1) -> None:
    """``rows`` rows whose sources are ``distinct`` blank ``side`` x ``side`` PNGs."""
    source = big_png(side, side)
    table = [
        [f"s{i}", 1, "", "", f"inputs/s{i}.png", f"sources/big{i % distinct}.png"]
        for i in range(rows)
    ]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("labels.csv", labels_csv(table))
        for i in range(rows):
            zf.writestr(f"inputs/s{i}.png", digit_png(i))
        for k in range(distinct):
            zf.writestr(f"sources/big{k}.png", source)


def lying_zip(path: Path, member: str, real_bytes: int, claimed: int = 100) -> None:
    """A zip whose ``member`` inflates to ``real_bytes`` (< 2 GiB) while both its
    headers claim ``claimed`` bytes (a classic bomb: ~1 MB of zip per GB)."""
    good = {
        "labels.csv": labels_csv([["abc-1", 3, "", "", "inputs/abc-1.png", ""]]),
        "inputs/abc-1.png": digit_png(1),
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in good.items():
            if name != member:
                zf.writestr(name, data)
        with zf.open(member, "w") as fh:
            block = b"\x00" * (1 << 20)
            for _ in range(real_bytes >> 20):
                fh.write(block)
    _patch_sizes(path, member, claimed)


def _patch_sizes(path: Path, member: str, size: int) -> None:
    """Rewrite ``member``'s uncompressed size in its local and central headers."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        offset = zf.getinfo(member).header_offset
    assert data[offset : offset + 4] == b"PK\x03\x04"
    struct.pack_into("<I", data, offset + 22, size)
    central = data.find(b"PK\x01\x02")
    while central != -1:
        n = struct.unpack_from("<H", data, central + 28)[0]
        if struct.unpack_from("<I", data, central + 42)[0] == offset:
            struct.pack_into("<I", data, central + 24, size)
        central = data.find(b"PK\x01\x02", central + 46 + n)
    path.write_bytes(bytes(data))


def corrupt_deflate_zip(path: Path) -> None:
    """A zip whose labels.csv deflate stream is damaged (header and sizes intact)."""
    text = labels_csv([["abc-1", 3, "", "", "inputs/abc-1.png", ""]] * 50)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("labels.csv", text)
        zf.writestr("inputs/abc-1.png", digit_png(1))
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("labels.csv")
    name_len, extra_len = struct.unpack_from("<HH", data, info.header_offset + 26)
    start = info.header_offset + 30 + name_len + extra_len
    for i in range(start, start + info.compress_size):
        data[i] = 0xFF
    path.write_bytes(bytes(data))
