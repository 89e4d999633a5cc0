"""MNIST in its original IDX format: read, validate, and fall back to Keras.

The loader accepts a directory holding the four IDX files, gzip-compressed or
not (``train-images-idx3-ubyte[.gz]`` ...), given by ``--data DIR`` or the
``MNIST_DATA`` environment variable.  With neither, it tries
``keras.datasets.mnist.load_data()``, which needs the internet once.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ENV_VAR = "MNIST_DATA"

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

# IDX magic numbers: two zero bytes, the element type (0x08 = unsigned byte),
# and the number of dimensions.
_MAGIC = {3: 0x00000803, 1: 0x00000801}


class DataError(RuntimeError):
    """The data set is missing, truncated or not MNIST."""


@dataclass(frozen=True)
class Mnist:
    """The four MNIST arrays (uint8 images N x 28 x 28, uint8 labels N)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    checksums: dict[str, str]


MAX_IDX_BYTES = 256 * 2**20
"""An IDX file may announce at most this much data (MNIST's largest holds 47 MB).

The header is checked before anything is read, and the data is read in bounded
chunks, so a small gzip bomb never inflates into gigabytes."""
_CHUNK = 4 * 2**20


def read_idx(path: str | os.PathLike, ndim: int) -> np.ndarray:
    """Read one IDX file (optionally gzip-compressed) with ``ndim`` dimensions."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            return _read_idx_stream(fh, path, ndim)
    except (OSError, EOFError, zlib.error) as exc:  # gzip: BadGzipFile (OSError), EOFError
        raise DataError(f"{path}: cannot read ({exc})") from exc


def _read_exactly(fh, size: int) -> bytes:
    """Up to ``size`` bytes, in chunks (a gzip stream may return less per call)."""
    parts, got = [], 0
    while got < size:
        part = fh.read(min(_CHUNK, size - got))
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def _read_idx_stream(fh, path: Path, ndim: int) -> np.ndarray:
    header = 4 + 4 * ndim
    raw = _read_exactly(fh, header)
    if len(raw) < header:
        raise DataError(f"{path}: too short for an IDX header ({len(raw)} bytes)")
    magic = int.from_bytes(raw[:4], "big")
    if magic != _MAGIC[ndim]:
        raise DataError(
            f"{path}: not an IDX file with {ndim} dimension(s) of unsigned bytes "
            f"(magic 0x{magic:08x}, expected 0x{_MAGIC[ndim]:08x})"
        )
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = math.prod(shape)
    dims = " x ".join(map(str, shape))
    if expected > MAX_IDX_BYTES:
        raise DataError(
            f"{path}: its header announces {expected:,} data bytes ({dims}), more than "
            f"the {MAX_IDX_BYTES // 2**20} MB an MNIST file can hold; damaged or not MNIST"
        )
    data = _read_exactly(fh, expected)
    if len(data) != expected:
        raise DataError(
            f"{path}: holds {len(data)} data bytes, but its header "
            f"announces {expected} ({dims}); truncated or damaged"
        )
    if fh.read(1):
        raise DataError(
            f"{path}: holds more than the {expected} data bytes its header "
            f"announces ({dims}); damaged"
        )
    return np.frombuffer(data, dtype=np.uint8).reshape(shape)


def _find(directory: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx")):
        candidate = directory / name
        if candidate.is_file():
            return candidate
    raise DataError(f"{directory}: missing {stem} (or {stem}.gz)")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def load_idx_dir(directory: str | os.PathLike) -> Mnist:
    """Load MNIST from a directory of IDX files and check that it is consistent."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"{directory}: not a directory")
    paths = {key: _find(directory, stem) for key, stem in FILES.items()}
    arrays = {
        key: read_idx(path, 3 if key.endswith("images") else 1) for key, path in paths.items()
    }
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.shape[1:] != (28, 28):
            raise DataError(
                f"{paths[split + '_images']}: images are {images.shape[1:]}, not 28 x 28"
            )
        if len(images) != len(labels):
            raise DataError(
                f"{directory}: {len(images)} {split} images but {len(labels)} {split} labels"
            )
        if labels.size and labels.max() > 9:
            raise DataError(f"{paths[split + '_labels']}: label {labels.max()} is not a digit")
    return Mnist(
        x_train=arrays["train_images"],
        y_train=arrays["train_labels"],
        x_test=arrays["test_images"],
        y_test=arrays["test_labels"],
        source=str(directory),
        checksums={path.name: _sha256(path) for path in paths.values()},
    )


def load_mnist(data_dir: str | os.PathLike | None = None) -> Mnist:
    """Load MNIST from ``data_dir``, else ``$MNIST_DATA``, else Keras's download."""
    data_dir = data_dir or os.environ.get(ENV_VAR)
    if data_dir:
        return load_idx_dir(data_dir)
    try:
        import keras

        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as exc:  # no TensorFlow, no network, ...
        raise DataError(
            "MNIST is not available. Give a directory of the four IDX files with "
            f"--data DIR, or set {ENV_VAR}=DIR, or let keras.datasets.mnist.load_data() "
            f"download it (needs internet; failed: {exc})"
        ) from exc
    return Mnist(x_train, y_train, x_test, y_test, source="keras.datasets.mnist", checksums={})
