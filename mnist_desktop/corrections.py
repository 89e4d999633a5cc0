"""The user's corrections: digits the model got wrong, with the right label.

When a prediction is wrong the user clicks the right digit; the drawing (its
28 x 28 model input, and optionally what was drawn or opened) is kept here with
the label, so the model can later be fine-tuned on it.  The set lives in the
user's data directory, never inside the install or bundle (often read-only,
and replaced on every update).  Pure NumPy and Pillow, no Qt.

Layout under the store's root::

    labels.csv            id,label,predicted,created,input,source
    inputs/<id>.png       the model input: 8-bit grey, white digit on black
    sources/<id>.png      the original drawing or image (optional)
    strokes/<id>.json     the drawing as vector strokes, when it was drawn (optional)
    personal/mnist_cnn.keras (.tflite, .json)  the fine-tuned model
    .lock                 the OS file lock every writer holds

Several writers (two windows, a window and a script) share one store safely:
every change of ``labels.csv`` happens under an OS file lock (``filelock``),
and new rows are *appended* to it only after their files are written and
fsynced, so a crash leaves at worst unreferenced files (removed when the store
is next opened), never a damaged or lost row.  Removing rewrites the index
atomically (temporary file, fsync, ``os.replace``).  Readers take no lock:
they ignore an unfinished last line.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import hashlib
import io
import json
import logging
import os
import re
import secrets
import shutil
import stat
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
from filelock import FileLock, Timeout
from PIL import Image, UnidentifiedImageError

from mnist_desktop.csvcells import FORMULA_STARTS, safe_cell

log = logging.getLogger(__name__)

ENV_VAR = "MNIST_DESKTOP_DATA"
"""Overrides the app's data directory (the corrections go to ``$MNIST_DESKTOP_DATA/corrections``)."""
APP_DIR = "mnist-desktop"
SIZE = 28
HEADER = ["id", "label", "predicted", "created", "input", "source"]
LABELS = "labels.csv"
INPUTS = "inputs"
SOURCES = "sources"
STROKES = "strokes"
LOCK = ".lock"
FOLDERS = (INPUTS, SOURCES, STROKES)

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_ROWS = 100_000
"""The most corrections a store keeps; checked before writing, never when reading."""
MAX_SOURCE_SIDE = 8192
"""Sources larger than this (per side) are refused on import: no decompression bombs."""
MAX_MEMBER_BYTES = 64 * 1024 * 1024
"""The most bytes read from one zip member, counted while decompressing."""
MAX_INPUT_BYTES = 1024 * 1024
"""A 28 x 28 PNG is a few hundred bytes; anything far larger is not one."""
MAX_STROKES_BYTES = 8 * 1024 * 1024
"""A drawing's JSON (~400,000 points): bounds the memory its parsed lists take."""
MAX_FIELD = 1000
"""The longest cell of labels.csv (ids are <= 64 characters, paths about 80)."""
LOCK_TIMEOUT = 30.0
"""Seconds a writer waits for another one (an import holds the lock per chunk, < 1 s
on an idle machine), before it gives up with a message."""
CHUNK = 500
"""Rows an import writes per hold of the lock, so other writers get their turn."""
CHUNK_PAUSE = 0.25
"""An import lets go of the lock between chunks for this share of the time it
held it (at least 20 ms): a waiting writer polls every 5 ms and would
otherwise rarely find it free, least of all on a busy machine."""

Progress = Callable[[int, int, str], None]
"""progress(done, total, what is happening)"""


class CorrectionsError(ValueError):
    """A corrections file or zip is unusable; the message is fit for a person."""


class Cancelled(Exception):
    """The user cancelled an import or export; nothing was changed."""


@dataclass
class Correction:
    """One corrected drawing (paths are relative to the store's root)."""

    id: str
    label: int
    predicted: int | None
    created: str
    input_file: str
    source_file: str | None = None


def default_root() -> Path:
    """Where the corrections live: ``<user data dir>/mnist-desktop/corrections``.

    ``$MNIST_DESKTOP_DATA`` replaces the user data directory (tests, portable
    installs); otherwise the platform's convention, found without Qt so the
    store also works from the command line.
    """
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override).expanduser() / "corrections"
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or home / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    return base / APP_DIR / "corrections"


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


def _new_id() -> str:
    """Sortable by time, unique by a random tail, safe as a file name everywhere."""
    return _now().strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(4)


def _timestamp(text: str) -> str:
    """``created`` from outside, checked: an ISO 8601 date and time (UTC if no zone given)."""
    text = text.strip()
    if not text:
        return _now().isoformat(timespec="seconds")
    try:
        when = _dt.datetime.fromisoformat(text) if len(text) <= 40 else None
    except ValueError:
        when = None
    if when is None:
        raise ValueError(f"created {text[:40]!r} is not a date and time")
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.UTC)
    return when.isoformat(timespec="seconds")


def _to_uint8_input(model_input: np.ndarray) -> np.ndarray:
    x = np.asarray(model_input)
    if x.shape != (SIZE, SIZE):
        raise ValueError(f"the model input must be {SIZE} x {SIZE}, not {x.shape}")
    x = x.astype(np.float64)
    if not np.isfinite(x).all() or x.min() < -1e-6 or x.max() > 1 + 1e-6:
        raise ValueError("the model input must hold values in [0, 1]")
    return np.round(np.clip(x, 0.0, 1.0) * 255).astype(np.uint8)


def _check_source(source: np.ndarray) -> np.ndarray:
    s = np.asarray(source)
    if s.dtype == bool:
        s = s.astype(np.uint8) * 255
    if s.dtype != np.uint8:
        raise ValueError(f"the source image must be uint8, not {s.dtype}")
    if not (s.ndim == 2 or (s.ndim == 3 and s.shape[2] in (3, 4))) or 0 in s.shape:
        raise ValueError(f"the source image must be H x W grey or H x W x 3/4, not {s.shape}")
    return np.ascontiguousarray(s)


def _png_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def _write_atomic(path: Path, data: bytes, sync: bool = False) -> None:
    """Write ``data`` to a temporary file beside ``path``, then move it into place.

    ``sync``: fsync the data before the move (else the caller fsyncs it later)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if sync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _fsync_dir(path: Path) -> None:
    """Make the renames in a folder durable (POSIX; Windows has no such call)."""
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_durably(path: Path, data: bytes) -> None:
    """Write and fsync a file that no row names yet: no temporary name needed,
    since a crash leaves at worst an orphan, removed when the store is opened."""
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


IN_FLIGHT_BYTES = 256 * 1024 * 1024
"""The most file data an import holds while its writes are in progress."""


def _write_all(files: Iterable[tuple[Path, bytes]]) -> list[Path]:
    """Write and fsync files, several at once: in parallel the file system commits
    them together (~0.3 ms a file here instead of ~3.5 ms one after the other).

    Returns the paths begun (to remove if the caller fails)."""
    begun: list[Path] = []
    folders: set[Path] = set()
    with ThreadPoolExecutor(8) as pool:
        pending: list = []
        held = 0
        for path, data in files:
            if path.parent not in folders:
                path.parent.mkdir(parents=True, exist_ok=True)
                folders.add(path.parent)
            begun.append(path)
            pending.append(pool.submit(_write_durably, path, data))
            held += len(data)
            if held > IN_FLIGHT_BYTES:
                for future in pending:
                    future.result()
                pending, held = [], 0
        for future in pending:
            future.result()
    for folder in folders:
        _fsync_dir(folder)
    return begun


def _digit(text: str, what: str) -> int:
    text = text.strip()
    if not re.fullmatch(r"[0-9]", text):
        raise ValueError(f"{what} {text[:20]!r} is not a digit 0-9")
    return int(text)


def _optional_digit(text: str, what: str) -> int | None:
    return None if text.strip() == "" else _digit(text, what)


def _open_png(data: bytes, what: str) -> Image.Image:
    """Open a PNG from bytes (not yet decoded), refusing other formats and huge images."""
    try:
        img = Image.open(io.BytesIO(data), formats=["PNG"])
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise CorrectionsError(f"{what} is not a readable PNG image") from exc
    if max(img.size) > MAX_SOURCE_SIDE:
        raise CorrectionsError(f"{what} is too large ({img.size[0]} x {img.size[1]})")
    return img


def _read_png(data: bytes, what: str) -> Image.Image:
    """Open and decode a PNG from bytes; any damage is a CorrectionsError."""
    img = _open_png(data, what)
    try:
        img.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise CorrectionsError(f"{what} is a damaged PNG image") from exc
    except MemoryError as exc:
        raise CorrectionsError(f"{what} is too large to open") from exc
    return img


def _input_from_png(data: bytes, what: str) -> np.ndarray:
    """The 28 x 28 uint8 input stored in a PNG; anything else is refused."""
    img = _open_png(data, what)
    if img.mode != "L" or img.size != (SIZE, SIZE):
        raise CorrectionsError(
            f"{what} must be a {SIZE} x {SIZE} 8-bit grey image, "
            f"not {img.size[0]} x {img.size[1]} (mode {img.mode})"
        )
    return np.asarray(_read_png(data, what), dtype=np.uint8)


def _source_from_png(data: bytes, what: str) -> np.ndarray:
    img = _read_png(data, what)
    if img.mode not in ("L", "RGB", "RGBA"):
        img = img.convert("RGBA" if "A" in img.getbands() or "transparency" in img.info else "RGB")
    return np.asarray(img, dtype=np.uint8)


def _safe_name(name: str) -> bool:
    """A zip member name that stays inside the folder it is extracted to."""
    if not name or "\\" in name or name.startswith("/") or "\x00" in name:
        return False
    parts = PurePosixPath(name).parts
    return ".." not in parts and not (parts and ":" in parts[0])


def _open_regular(path: Path) -> io.BufferedReader:
    """Open ``path`` for reading only if it is a regular file.

    Opening a FIFO blocks until a writer comes, so the file is opened
    non-blocking and its type checked on the open descriptor (no race)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError as exc:
        raise CorrectionsError(f"{path.name} does not exist") from exc
    except OSError as exc:
        raise CorrectionsError(f"{path.name} cannot be read ({exc.strerror or exc})") from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise CorrectionsError(f"{path.name} is not a regular file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


class CorrectionStore:
    """The corrections on disk under ``root`` (see the module docstring for the layout).

    Every call reads ``labels.csv`` afresh, so two stores on one folder (in one
    process or in two) see each other's changes; every write holds the
    store's OS file lock.  Opening a store repairs what a crash left behind.
    """

    def __init__(self, root: str | os.PathLike | None = None, repair: bool = True) -> None:
        self.root = Path(root) if root is not None else default_root()
        self._lock = threading.RLock()
        self._file_lock = FileLock(str(self.root / LOCK))
        if repair:
            try:
                self.repair(wait=False)
            except (OSError, CorrectionsError) as exc:
                log.warning("could not tidy the corrections in %s: %s", self.root, exc)

    # ---- paths -----------------------------------------------------------------
    @property
    def labels_path(self) -> Path:
        return self.root / LABELS

    @property
    def personal_model_path(self) -> Path:
        """The fine-tuned model sits next to the corrections it learnt from."""
        return self.root / "personal" / "mnist_cnn.keras"

    def path(self, relative: str) -> Path:
        return self.root / relative

    # ---- locking ---------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
        """Hold this store's thread lock and the OS file lock shared by every process."""
        with self._lock:
            self.root.mkdir(parents=True, exist_ok=True)
            try:
                self._file_lock.acquire(timeout=timeout, poll_interval=0.005)
            except Timeout as exc:
                raise CorrectionsError(
                    "the corrections are busy: another window or program is changing "
                    "them; try again in a moment"
                ) from exc
            try:
                yield
            finally:
                self._file_lock.release()

    # ---- reading ---------------------------------------------------------------
    def all(self) -> list[Correction]:
        """Every correction, oldest first. Raises CorrectionsError if labels.csv is damaged.

        A damaged index is reported rather than skipped: the next write would
        otherwise silently drop the rows that could not be read.  There is no
        row limit here: a store is always readable, whatever its size.
        """
        try:
            text = self.labels_path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError) as exc:
            raise CorrectionsError(f"cannot read {self.labels_path} ({exc})") from exc
        try:
            rows = _parse_rows(text, max_rows=None, complete_lines=True)
            return [_row_to_correction(row, self.root) for row in rows]
        except ValueError as exc:
            raise CorrectionsError(f"{self.labels_path} is damaged: {exc}") from exc

    def __len__(self) -> int:
        return len(self.all())

    def _columns(self) -> list[tuple[str, str, str]] | None:
        """(id, input, source) of every row, read quickly (an import's checks, the
        repair on opening); None if labels.csv is damaged."""
        try:
            text = self.labels_path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError):
            return None
        return _columns(text)

    def _ids(self) -> set[str]:
        columns = self._columns()
        if columns is None:
            self.all()  # raises the CorrectionsError that says what is wrong
            raise CorrectionsError(f"{self.labels_path} is damaged")
        return {cid for cid, _, _ in columns}

    def counts(self) -> list[int]:
        """How many corrections there are of each digit 0-9."""
        counts = [0] * 10
        for c in self.all():
            counts[c.label] += 1
        return counts

    def input_image(self, correction: Correction) -> np.ndarray:
        """The stored 28 x 28 model input as uint8 (0 = background)."""
        path = self.path(correction.input_file)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CorrectionsError(
                f"the image of correction {correction.id} is missing ({path})"
            ) from exc
        return _input_from_png(data, str(path))

    def source_image(self, correction: Correction) -> np.ndarray | None:
        """The original drawing or image, if one was kept."""
        if not correction.source_file:
            return None
        path = self.path(correction.source_file)
        try:
            return _source_from_png(path.read_bytes(), str(path))
        except OSError:
            return None

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Model inputs (N, 28, 28) float32 in [0, 1] and labels (N,) int32, for training."""
        items = self.all()
        x = np.zeros((len(items), SIZE, SIZE), np.float32)
        for i, c in enumerate(items):
            x[i] = self.input_image(c) / np.float32(255)
        return x, np.array([c.label for c in items], dtype=np.int32)

    def strokes(self, correction: Correction) -> dict | None:
        """The vector drawing saved with ``correction``, or None."""
        try:
            return json.loads(self.path(_strokes_file(correction.id)).read_text("utf-8"))
        except (OSError, ValueError, RecursionError):
            return None

    # ---- writing ---------------------------------------------------------------

    def add(
        self,
        label: int,
        model_input: np.ndarray,
        source: np.ndarray | None = None,
        predicted: int | None = None,
        strokes: dict | None = None,
    ) -> Correction:
        """Save a drawing with its right ``label``; ``model_input`` is 28 x 28 floats in [0, 1].

        ``strokes``: the drawing as vectors (JSON-serialisable), e.g.
        ``{"canvas": [280, 280], "strokes": [{"width": 24, "points": [[x, y, pressure], ...]}]}``,
        so it can be rendered again at any resolution.
        """
        blob = _strokes_json(strokes) if strokes is not None else None
        label = _check_label(label, "label")
        if predicted is not None:
            predicted = _check_label(predicted, "predicted")
        input_png = _png_bytes(_to_uint8_input(model_input))
        # Encoded before taking the lock: other writers wait only for the writes.
        src = _png_bytes(_check_source(source)) if source is not None else None
        with self._locked():
            count = len(self.all())
            if count >= MAX_ROWS:
                raise CorrectionsError(
                    f"there are already {count:,} corrections, the most kept; remove some "
                    "(or export them and clear the set) before adding more"
                )
            correction = Correction(
                id=_new_id(),
                label=label,
                predicted=predicted,
                created=_now().isoformat(timespec="seconds"),
                input_file="",
            )
            files = self._files(correction, input_png, src, blob)
            try:
                for path, data in files:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    _write_durably(path, data)
                for folder in {path.parent for path, _ in files}:
                    _fsync_dir(folder)
                self._append_index([correction])
            except BaseException:
                for path, _ in files:
                    path.unlink(missing_ok=True)
                raise
        return correction

    def remove(self, correction_id: str) -> None:
        """Forget one correction (KeyError if there is none with that id).

        The index is rewritten first; an error (a full disk) leaves the
        correction in place and is raised."""
        with self._locked():
            items = self.all()
            keep = [c for c in items if c.id != correction_id]
            if len(keep) == len(items):
                raise KeyError(correction_id)
            self._write_index(keep)
            for c in items:
                if c.id == correction_id:
                    self._unlink(c)

    def clear(self) -> None:
        """Forget every correction (the personal model, if any, stays)."""
        if not self.root.is_dir():
            return
        with self._locked():
            if self.labels_path.exists():
                self._write_index([])
            for folder in FOLDERS:
                shutil.rmtree(self.root / folder, ignore_errors=True)

    def repair(self, wait: bool = True) -> dict[str, int]:
        """Tidy what a crash left: temporary ``.part`` files, files no row names,
        and an unfinished last line of labels.csv.  Returns what was removed.

        ``wait=False``: skip the repair when another writer holds the lock (its
        files are not indexed yet, they are no orphans)."""
        done = {"part": 0, "orphan": 0, "torn": 0}
        if not self.root.is_dir():
            return done
        try:
            with self._locked(LOCK_TIMEOUT if wait else 0):
                self._repair_locked(done)
        except CorrectionsError:
            if wait:
                raise
        if any(done.values()):
            log.info("tidied the corrections in %s: %s", self.root, done)
        return done

    def _repair_locked(self, done: dict[str, int]) -> None:
        for folder in (self.root, *(self.root / f for f in FOLDERS)):
            if folder.is_dir():
                for entry in folder.glob("*.part"):
                    entry.unlink(missing_ok=True)
                    done["part"] += 1
        done["torn"] = int(self._drop_torn_tail())
        columns = self._columns()
        if columns is None:
            return  # a damaged index: delete nothing it might name
        named = {name for _, input_file, source in columns for name in (input_file, source)}
        named |= {_strokes_file(cid) for cid, _, _ in columns}
        for folder in FOLDERS:
            if (self.root / folder).is_dir():
                for entry in os.scandir(self.root / folder):
                    if entry.is_file() and f"{folder}/{entry.name}" not in named:
                        os.unlink(entry.path)
                        done["orphan"] += 1

    def _unlink(self, c: Correction) -> None:
        for rel in (c.input_file, c.source_file, _strokes_file(c.id)):
            if rel:
                self.path(rel).unlink(missing_ok=True)

    def _files(
        self,
        c: Correction,
        input_png: bytes,
        src: np.ndarray | bytes | None,
        drawing: bytes | None,
    ) -> list[tuple[Path, bytes]]:
        """The files of ``c`` and their bytes (sets its file names); they are
        written and fsynced before the index names them.

        ``src``: an image, or a PNG's bytes already checked."""
        files = []
        if drawing is not None:
            files.append((self.path(_strokes_file(c.id)), drawing))
        c.input_file = f"{INPUTS}/{c.id}.png"
        files.append((self.path(c.input_file), input_png))
        if src is not None:
            c.source_file = f"{SOURCES}/{c.id}.png"
            files.append(
                (self.path(c.source_file), src if isinstance(src, bytes) else _png_bytes(src))
            )
        else:
            c.source_file = None
        return files

    def _write_index(self, items: Iterable[Correction]) -> None:
        _write_atomic(self.labels_path, _format_rows(items).encode("utf-8"), sync=True)
        _fsync_dir(self.root)

    def _drop_torn_tail(self) -> bool:
        """Cut an unfinished last line (a crash during an append); True if there was one."""
        try:
            with open(self.labels_path, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                size = fh.tell()
                if size == 0:
                    return False
                fh.seek(size - 1)
                if fh.read(1) == b"\n":
                    return False
                fh.seek(0)
                data = fh.read()
        except FileNotFoundError:
            return False
        _write_atomic(self.labels_path, data[: data.rfind(b"\n") + 1], sync=True)
        return True

    def _append_index(self, items: list[Correction]) -> None:
        """Append rows to labels.csv (the caller holds the lock; their files are fsynced).

        On any error the file is cut back to its old length: no half row."""
        if not self.labels_path.exists() or self.labels_path.stat().st_size == 0:
            self._write_index(items)
            return
        self._drop_torn_tail()
        data = _format_rows(items, header=False).encode("utf-8")
        with open(self.labels_path, "ab") as fh:
            size = fh.tell()
            try:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            except BaseException:
                with contextlib.suppress(OSError):
                    fh.truncate(size)
                raise

    def _remove_ids(self, ids: set[str]) -> None:
        """Take rows back out (an import cancelled or failed half way)."""
        with self._locked():
            items = self.all()
            self._write_index([c for c in items if c.id not in ids])
            for c in items:
                if c.id in ids:
                    self._unlink(c)

    # ---- exchange --------------------------------------------------------------
    def export_zip(
        self,
        path: str | os.PathLike,
        progress: Progress | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> int:
        """Write every correction to a zip (labels.csv, inputs/, sources/); return how many.

        The files are streamed into the zip one by one (memory stays small),
        under a temporary name moved into place at the end, so a failed or
        cancelled export never leaves a truncated file under the chosen name.
        """
        path = Path(path)
        items = self.all()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
                exported = []
                for i, c in enumerate(items):
                    if should_stop is not None and should_stop():
                        raise Cancelled()
                    if progress is not None and i % 100 == 0:
                        progress(i, len(items), "Exporting…")
                    blobs = self._export_files(c)
                    if blobs is None:
                        continue  # removed while the export ran
                    for rel, data in blobs:
                        zf.writestr(rel, data, compress_type=zipfile.ZIP_STORED)
                    exported.append(c)
                zf.writestr(LABELS, _format_rows(exported))
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return len(exported)

    def _export_files(self, c: Correction) -> list[tuple[str, bytes]] | None:
        blobs = []
        drawn = _strokes_file(c.id)
        with contextlib.suppress(FileNotFoundError):
            blobs.append((drawn, self.path(drawn).read_bytes()))
        for rel in (c.input_file, c.source_file):
            if rel:
                try:
                    blobs.append((rel, self.path(rel).read_bytes()))
                except OSError as exc:
                    if c.id not in {item.id for item in self.all()}:
                        return None
                    raise CorrectionsError(
                        f"cannot export: {self.path(rel)} is missing or unreadable"
                    ) from exc
        return blobs

    def import_zip(
        self,
        path: str | os.PathLike,
        progress: Progress | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> int:
        """Add the corrections in a zip made by :meth:`export_zip`; return how many were new.

        All or nothing: the whole zip is checked first (a real zip; labels.csv
        with the expected header; digits 0-9; valid dates; inputs that are
        28 x 28 grey PNGs; sources that are PNGs; member names that stay inside
        the folder; every member's size counted while it is decompressed) and
        any problem rejects it with a :class:`CorrectionsError` naming the row,
        so a damaged file never half-imports.  An import that would take the
        store past :data:`MAX_ROWS` is refused before anything is written.
        Rows whose id is already in the store are skipped, so importing the
        same zip twice adds nothing.  A row with an empty id gets one derived
        from its image, an empty date "now".

        The rows are then written in chunks, each under the lock (so other
        writers are never kept waiting long); ``should_stop`` is polled between
        rows and chunks, and a cancelled (:class:`Cancelled`) or failed import
        takes back the rows it had added.
        """
        path = Path(path)
        name = path.name
        fh = _open_regular(path)
        try:
            zf = zipfile.ZipFile(fh)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            fh.close()
            raise CorrectionsError(f"{name} is not a zip file") from exc
        with fh, zf:
            reader = _ZipReader(zf, name)
            staged = _stage(reader, progress, should_stop)
            return self._import_staged(reader, staged, progress, should_stop)

    def _import_staged(
        self,
        reader: _ZipReader,
        staged: list[_Staged],
        progress: Progress | None,
        should_stop: Callable[[], bool] | None,
    ) -> int:
        name = reader.name
        with self._locked():
            present = self._ids()
        todo = [s for s in staged if s.correction.id not in present]
        _check_room(len(present), len(todo), name)
        added: set[str] = set()
        held = 0.0
        try:
            for start in range(0, len(todo), CHUNK):
                if should_stop is not None and should_stop():
                    raise Cancelled()
                if progress is not None:
                    progress(len(staged) + start, 2 * len(staged), "Adding…")
                if start:
                    time.sleep(max(0.02, CHUNK_PAUSE * held))
                with self._locked():
                    began = time.monotonic()
                    ids = self._ids()
                    chunk = [s for s in todo[start : start + CHUNK] if s.correction.id not in ids]
                    _check_room(len(ids), len(chunk), name)

                    def files(chunk: list[_Staged] = chunk) -> Iterator[tuple[Path, bytes]]:
                        for s in chunk:
                            source = reader.read(s.source) if s.source else None
                            drawing = (
                                _strokes_json(reader.strokes(s.strokes)) if s.strokes else None
                            )
                            yield from self._files(s.correction, s.input_png, source, drawing)

                    try:
                        _write_all(files())
                    except BaseException:
                        for s in chunk:
                            self._unlink(s.correction)
                        raise
                    self._append_index([s.correction for s in chunk])
                    added.update(s.correction.id for s in chunk)
                held = time.monotonic() - began
        except BaseException as exc:
            if added:
                try:
                    self._remove_ids(added)
                except (OSError, CorrectionsError) as undo:
                    log.error("could not take back a failed import: %s", undo)
                    if isinstance(exc, Exception):
                        raise CorrectionsError(
                            f"importing {name} failed ({exc}); {len(added)} corrections had "
                            "been added and stay"
                        ) from exc
            if isinstance(exc, OSError):
                raise CorrectionsError(
                    f"could not import {name} ({exc.strerror or exc}); nothing was imported"
                ) from exc
            raise
        if progress is not None:
            progress(2 * len(staged), 2 * len(staged), "Done")
        return len(added)


def _check_room(present: int, new: int, name: str) -> None:
    if present + new > MAX_ROWS:
        raise CorrectionsError(
            f"importing {new:,} corrections from {name} would make {present + new:,}, more "
            f"than the {MAX_ROWS:,} kept; nothing was imported (remove some first)"
        )


class _ZipReader:
    """Reads members of an untrusted zip: safe names, sizes counted as decompressed."""

    def __init__(self, zf: zipfile.ZipFile, name: str) -> None:
        self.zf, self.name = zf, name
        self.infos: dict[str, zipfile.ZipInfo] = {}
        for info in zf.infolist():
            if not _safe_name(info.filename):
                raise CorrectionsError(
                    f"{name} contains an unsafe file name ({info.filename!r}); not imported"
                )
            self.infos[info.filename] = info

    def read(self, member: str, limit: int = MAX_MEMBER_BYTES) -> bytes:
        """A member's bytes; the header's size is not trusted, the bytes are counted."""
        name = self.name
        if not _safe_name(member):
            raise CorrectionsError(f"{name} names an unsafe file ({member[:100]!r}); not imported")
        info = self.infos.get(member)
        if info is None or info.is_dir():
            raise CorrectionsError(f"{name} is missing {member}; not imported")
        too_large = CorrectionsError(f"{member} in {name} is too large; not imported")
        if info.file_size > limit:
            raise too_large
        chunks, total = [], 0
        try:
            with self.zf.open(info) as fh:
                while block := fh.read(min(1 << 20, limit + 1 - total)):
                    total += len(block)
                    if total > limit:
                        raise too_large
                    chunks.append(block)
        except CorrectionsError:
            raise
        except Exception as exc:  # zlib.error, BadZipFile, NotImplementedError, ...: damage
            raise CorrectionsError(f"{member} in {name} is damaged; not imported") from exc
        return b"".join(chunks)

    def strokes(self, member: str) -> dict:
        """A drawing's JSON, parsed (deep nesting and bad text are a CorrectionsError)."""
        data = self.read(member, MAX_STROKES_BYTES)
        try:
            return json.loads(data.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise CorrectionsError(f"{member} in {self.name}: {exc}; not imported") from exc
        except RecursionError as exc:
            raise CorrectionsError(
                f"{member} in {self.name} is nested too deeply; not imported"
            ) from exc


@dataclass
class _Staged:
    """A checked row of an import, small: the member names, not their bytes."""

    correction: Correction
    input_png: bytes
    source: str
    strokes: str


def _stage(
    reader: _ZipReader, progress: Progress | None, should_stop: Callable[[], bool] | None
) -> list[_Staged]:
    """Check every row of the zip; raise CorrectionsError at the first problem."""
    name = reader.name
    try:
        text = reader.read(LABELS).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorrectionsError(f"{LABELS} in {name} is not UTF-8 text") from exc
    try:
        rows = _parse_rows(text, max_rows=MAX_ROWS)
    except ValueError as exc:
        raise CorrectionsError(f"{LABELS} in {name}: {exc}; not imported") from exc
    del text
    staged: list[_Staged] = []
    seen: set[str] = set()
    sources_checked: set[str] = set()
    for line, row in enumerate(rows, start=2):
        if should_stop is not None and should_stop():
            raise Cancelled()
        if progress is not None and line % 100 == 0:
            progress(line - 2, 2 * len(rows), "Checking…")
        where = f"{name}, {LABELS} line {line}"
        try:
            label = _digit(row["label"], "label")
            predicted = _optional_digit(row["predicted"], "predicted digit")
            created = _timestamp(row["created"])
        except ValueError as exc:
            raise CorrectionsError(f"{where}: {exc}; not imported") from exc
        input_name = row["input"].strip()
        if not input_name:
            raise CorrectionsError(f"{where}: no input image; not imported")
        input_bytes = reader.read(input_name, MAX_INPUT_BYTES)
        pixels = _input_from_png(input_bytes, f"{input_name} ({where})")
        source_name = row["source"].strip()
        if source_name and source_name not in sources_checked:
            # Checked once however many rows share it; its bytes are read again to write.
            _read_png(reader.read(source_name), f"{source_name} ({where})").close()
            sources_checked.add(source_name)
        cid = row["id"].strip() or "import-" + hashlib.sha256(input_bytes).hexdigest()[:20]
        if not _ID.fullmatch(cid):
            raise CorrectionsError(f"{where}: {cid[:80]!r} is not a valid id; not imported")
        if cid in seen:
            continue
        seen.add(cid)
        drawn = _strokes_file(cid)
        if drawn in reader.infos:
            try:
                _strokes_json(reader.strokes(drawn))
            except ValueError as exc:
                raise CorrectionsError(f"{drawn} in {name}: {exc}; not imported") from exc
        else:
            drawn = ""
        correction = Correction(cid, label, predicted, created, "")
        # A small PNG is kept as it is; a larger one (text chunks, ...) is re-encoded.
        input_png = input_bytes if len(input_bytes) <= 1024 else _png_bytes(pixels)
        staged.append(_Staged(correction, input_png, source_name, drawn))
    return staged


def _strokes_file(correction_id: str) -> str:
    """Where a correction's vector drawing lives, relative to the store's root."""
    return f"{STROKES}/{correction_id}.json"


def _strokes_json(strokes: dict) -> bytes:
    """Check a vector drawing (a dict with a list of strokes of points) and encode it."""
    if not isinstance(strokes, dict) or not isinstance(strokes.get("strokes"), list):
        raise ValueError("a drawing must be a dict with a list of 'strokes'")
    for stroke in strokes["strokes"]:
        points = stroke.get("points") if isinstance(stroke, dict) else None
        if not isinstance(points, list) or not all(
            isinstance(p, list | tuple)
            and 2 <= len(p) <= 3
            and all(isinstance(v, int | float) for v in p)
            for p in points
        ):
            raise ValueError("each stroke needs 'points': a list of [x, y] or [x, y, pressure]")
    try:
        blob = json.dumps(strokes, separators=(",", ":")).encode("utf-8")
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValueError(f"the drawing cannot be saved ({exc})") from exc
    if len(blob) > MAX_STROKES_BYTES:
        raise ValueError("the drawing is too large")
    return blob


def _check_label(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not 0 <= value <= 9:
        raise ValueError(f"{what} must be a digit 0-9, not {value!r}")
    return int(value)


def _plain_cell(value: str) -> str:
    """Undo :func:`safe_cell`: the apostrophe it put before a formula character."""
    if len(value) > 1 and value[0] == "'" and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


def _parse_rows(
    text: str, max_rows: int | None = MAX_ROWS, complete_lines: bool = False
) -> list[dict[str, str]]:
    """Rows of labels.csv as dicts; ValueError for a wrong header, a long field or too many rows.

    ``complete_lines``: ignore a last line without its newline (an append in
    progress in another process, or cut short by a crash)."""
    if complete_lines and text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader, None)
        if header is None or [h.strip() for h in header] != HEADER:
            raise ValueError(f"the first line must be {','.join(HEADER)}")
        rows = []
        for values in reader:
            line = reader.line_num
            if not values or all(not v.strip() for v in values):
                continue
            if len(values) != len(HEADER):
                raise ValueError(f"line {line} has {len(values)} fields, not {len(HEADER)}")
            if any(len(v) > MAX_FIELD for v in values):
                raise ValueError(f"line {line} has a field longer than {MAX_FIELD} characters")
            rows.append(dict(zip(HEADER, map(_plain_cell, values), strict=True)))
            if max_rows is not None and len(rows) > max_rows:
                raise ValueError(f"more than {max_rows:,} rows")
    except csv.Error as exc:
        raise ValueError(f"line {reader.line_num}: {exc}") from exc
    return rows


def _columns(text: str) -> list[tuple[str, str, str]] | None:
    """(id, input, source) of each complete row of labels.csv; None if it is not
    well formed.  The app writes no quotes, so a line splits on its commas
    (~10 x faster than the csv module at 100,000 rows); quoted text goes the
    long way."""
    text = text[: text.rfind("\n") + 1] if not text.endswith("\n") else text
    if '"' in text:
        try:
            rows = _parse_rows(text, max_rows=None)
        except ValueError:
            return None
        return [(r["id"].strip(), r["input"].strip(), r["source"].strip()) for r in rows]
    lines = text.split("\n")
    if [h.strip() for h in lines[0].split(",")] != HEADER:
        return None
    out = []
    for line in lines[1:]:
        if not line.strip():
            continue
        cells = [_plain_cell(cell.strip()) for cell in line.split(",")]
        if len(cells) != len(HEADER):
            return None
        out.append((cells[0], cells[4], cells[5]))
    return out


def _row_to_correction(row: dict[str, str], root: Path) -> Correction:
    cid = row["id"].strip()
    if not _ID.fullmatch(cid):
        raise ValueError(f"{cid!r} is not a valid id")
    for key in ("input", "source"):
        if row[key] and not _safe_name(row[key]):
            raise ValueError(f"{row[key]!r} is not a path inside {root}")
    return Correction(
        id=cid,
        label=_digit(row["label"], "label"),
        predicted=_optional_digit(row["predicted"], "predicted digit"),
        created=row["created"].strip(),
        input_file=row["input"].strip(),
        source_file=row["source"].strip() or None,
    )


def _format_rows(items: Iterable[Correction], header: bool = True) -> str:
    """labels.csv's text; cells that a spreadsheet would run are neutralised."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    if header:
        writer.writerow(HEADER)
    for c in items:
        writer.writerow(
            [
                safe_cell(c.id),
                c.label,
                "" if c.predicted is None else c.predicted,
                safe_cell(c.created),
                safe_cell(c.input_file),
                safe_cell(c.source_file or ""),
            ]
        )
    return buf.getvalue()
