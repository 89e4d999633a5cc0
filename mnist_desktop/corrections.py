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

``labels.csv`` is the index: it is rewritten atomically (temporary file, fsync,
``os.replace``) after the images are in place, so a crash leaves at worst an
unreferenced PNG, never a damaged or lost set.
"""

from __future__ import annotations

import csv
import datetime as _dt
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import sys
import tempfile
import threading
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image, UnidentifiedImageError

ENV_VAR = "MNIST_DESKTOP_DATA"
"""Overrides the app's data directory (the corrections go to ``$MNIST_DESKTOP_DATA/corrections``)."""
APP_DIR = "mnist-desktop"
SIZE = 28
HEADER = ["id", "label", "predicted", "created", "input", "source"]
LABELS = "labels.csv"
INPUTS = "inputs"
SOURCES = "sources"
STROKES = "strokes"

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_ROWS = 100_000
MAX_SOURCE_SIDE = 8192
"""Sources larger than this (per side) are refused on import: no decompression bombs."""
MAX_MEMBER_BYTES = 64 * 1024 * 1024


class CorrectionsError(ValueError):
    """A corrections file or zip is unusable; the message is fit for a person."""


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
    """Write ``data`` to a temporary file beside ``path``, then move it into place."""
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


def _digit(text: str, what: str) -> int:
    text = text.strip()
    if not re.fullmatch(r"[0-9]", text):
        raise ValueError(f"{what} {text!r} is not a digit 0-9")
    return int(text)


def _optional_digit(text: str, what: str) -> int | None:
    return None if text.strip() == "" else _digit(text, what)


def _read_png(data: bytes, what: str) -> Image.Image:
    """Open a PNG from bytes, refusing other formats and huge images before decoding."""
    try:
        img = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise CorrectionsError(f"{what} is not a readable PNG image") from exc
    if img.format != "PNG":
        raise CorrectionsError(f"{what} is not a PNG image")
    if max(img.size) > MAX_SOURCE_SIDE:
        raise CorrectionsError(f"{what} is too large ({img.size[0]} x {img.size[1]})")
    try:
        img.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise CorrectionsError(f"{what} is a damaged PNG image") from exc
    return img


def _input_from_png(data: bytes, what: str) -> np.ndarray:
    """The 28 x 28 uint8 input stored in a PNG; anything else is refused."""
    img = _read_png(data, what)
    if img.mode != "L" or img.size != (SIZE, SIZE):
        raise CorrectionsError(
            f"{what} must be a {SIZE} x {SIZE} 8-bit grey image, "
            f"not {img.size[0]} x {img.size[1]} (mode {img.mode})"
        )
    return np.asarray(img, dtype=np.uint8)


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


class CorrectionStore:
    """The corrections on disk under ``root`` (see the module docstring for the layout).

    Every call reads ``labels.csv`` afresh, so two stores on one folder see
    each other's changes; writes within one process are serialised by a lock.
    """

    def __init__(self, root: str | os.PathLike | None = None) -> None:
        self.root = Path(root) if root is not None else default_root()
        self._lock = threading.RLock()

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

    # ---- reading ---------------------------------------------------------------
    def all(self) -> list[Correction]:
        """Every correction, oldest first. Raises CorrectionsError if labels.csv is damaged.

        A damaged index is reported rather than skipped: the next write would
        otherwise silently drop the rows that could not be read.
        """
        with self._lock:
            try:
                text = self.labels_path.read_text(encoding="utf-8-sig")
            except FileNotFoundError:
                return []
            except (OSError, UnicodeDecodeError) as exc:
                raise CorrectionsError(f"cannot read {self.labels_path} ({exc})") from exc
            try:
                rows = _parse_rows(text)
                return [_row_to_correction(row, self.root) for row in rows]
            except ValueError as exc:
                raise CorrectionsError(f"{self.labels_path} is damaged: {exc}") from exc

    def __len__(self) -> int:
        return len(self.all())

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
        except (OSError, ValueError):
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
        pixels = _to_uint8_input(model_input)
        src = _check_source(source) if source is not None else None
        with self._lock:
            items = self.all()
            correction = Correction(
                id=_new_id(),
                label=label,
                predicted=predicted,
                created=_now().isoformat(timespec="seconds"),
                input_file="",
            )
            self._write_files(correction, pixels, src, blob)
            self._write_index([*items, correction])
        return correction

    def remove(self, correction_id: str) -> None:
        """Forget one correction (KeyError if there is none with that id)."""
        with self._lock:
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
        with self._lock:
            if self.labels_path.exists():
                self._write_index([])
            for folder in (INPUTS, SOURCES, STROKES):
                shutil.rmtree(self.root / folder, ignore_errors=True)

    def _unlink(self, c: Correction) -> None:
        for rel in (c.input_file, c.source_file, _strokes_file(c.id)):
            if rel:
                self.path(rel).unlink(missing_ok=True)

    def _write_files(
        self, c: Correction, pixels: np.ndarray, src: np.ndarray | None, drawing: bytes | None
    ) -> None:
        """Write the PNGs for ``c`` (sets its file names) and its encoded vector
        drawing, if any; the index is written after."""
        if drawing is not None:
            _write_atomic(self.path(_strokes_file(c.id)), drawing)
        c.input_file = f"{INPUTS}/{c.id}.png"
        _write_atomic(self.path(c.input_file), _png_bytes(pixels))
        if src is not None:
            c.source_file = f"{SOURCES}/{c.id}.png"
            _write_atomic(self.path(c.source_file), _png_bytes(src))
        else:
            c.source_file = None

    def _write_index(self, items: Iterable[Correction]) -> None:
        _write_atomic(self.labels_path, _format_rows(items).encode("utf-8"), sync=True)

    # ---- exchange --------------------------------------------------------------
    def export_zip(self, path: str | os.PathLike) -> int:
        """Write every correction to a zip (labels.csv, inputs/, sources/); return how many.

        The zip is written under a temporary name and moved into place, so a
        failed export never leaves a truncated file under the chosen name.
        """
        path = Path(path)
        with self._lock:
            items = self.all()
            blobs: list[tuple[str, bytes]] = []
            for c in items:
                drawn = _strokes_file(c.id)
                if self.path(drawn).is_file():
                    blobs.append((drawn, self.path(drawn).read_bytes()))
                for rel in (c.input_file, c.source_file):
                    if rel:
                        try:
                            blobs.append((rel, self.path(rel).read_bytes()))
                        except OSError as exc:
                            raise CorrectionsError(
                                f"cannot export: {self.path(rel)} is missing or unreadable"
                            ) from exc
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
                zf.writestr(LABELS, _format_rows(items))
                for rel, data in blobs:
                    zf.writestr(rel, data, compress_type=zipfile.ZIP_STORED)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return len(items)

    def import_zip(self, path: str | os.PathLike) -> int:
        """Add the corrections in a zip made by :meth:`export_zip`; return how many were new.

        All or nothing: the whole zip is checked first (a real zip; labels.csv
        with the expected header; digits 0-9; inputs that are 28 x 28 grey
        PNGs; member names that stay inside the folder) and any problem
        rejects it with a :class:`CorrectionsError` naming the row, so a
        damaged file never half-imports.  Rows whose id is already in the store
        are skipped, so importing the same zip twice adds nothing.  A row with
        an empty id gets one derived from its image, an empty date "now".
        """
        path = Path(path)
        name = path.name
        try:
            zf = zipfile.ZipFile(path)
        except FileNotFoundError as exc:
            raise CorrectionsError(f"{name} does not exist") from exc
        except (zipfile.BadZipFile, OSError) as exc:
            raise CorrectionsError(f"{name} is not a zip file") from exc
        with zf:
            infos = {}
            for info in zf.infolist():
                if not _safe_name(info.filename):
                    raise CorrectionsError(
                        f"{name} contains an unsafe file name ({info.filename!r}); not imported"
                    )
                infos[info.filename] = info

            def read(member: str) -> bytes:
                if not _safe_name(member):
                    raise CorrectionsError(
                        f"{name} names an unsafe file ({member!r}); not imported"
                    )
                info = infos.get(member)
                if info is None or info.is_dir():
                    raise CorrectionsError(f"{name} is missing {member}; not imported")
                if info.file_size > MAX_MEMBER_BYTES:
                    raise CorrectionsError(f"{member} in {name} is too large; not imported")
                try:
                    return zf.read(info)
                except (zipfile.BadZipFile, OSError, RuntimeError, EOFError) as exc:
                    raise CorrectionsError(f"{member} in {name} is damaged; not imported") from exc

            try:
                text = read(LABELS).decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise CorrectionsError(f"{LABELS} in {name} is not UTF-8 text") from exc
            try:
                rows = _parse_rows(text)
            except ValueError as exc:
                raise CorrectionsError(f"{LABELS} in {name}: {exc}; not imported") from exc

            staged: list[tuple[Correction, np.ndarray, np.ndarray | None, bytes | None]] = []
            seen: set[str] = set()
            for line, row in enumerate(rows, start=2):
                where = f"{name}, {LABELS} line {line}"
                try:
                    label = _digit(row["label"], "label")
                    predicted = _optional_digit(row["predicted"], "predicted digit")
                except ValueError as exc:
                    raise CorrectionsError(f"{where}: {exc}; not imported") from exc
                input_name = row["input"].strip()
                if not input_name:
                    raise CorrectionsError(f"{where}: no input image; not imported")
                input_bytes = read(input_name)
                pixels = _input_from_png(input_bytes, f"{input_name} ({where})")
                source_name = row["source"].strip()
                src = (
                    _source_from_png(read(source_name), f"{source_name} ({where})")
                    if source_name
                    else None
                )
                cid = row["id"].strip() or "import-" + hashlib.sha256(input_bytes).hexdigest()[:20]
                if not _ID.fullmatch(cid):
                    raise CorrectionsError(f"{where}: {cid!r} is not a valid id; not imported")
                created = row["created"].strip() or _now().isoformat(timespec="seconds")
                if cid in seen:
                    continue
                seen.add(cid)
                correction = Correction(cid, label, predicted, created, "")
                drawn = _strokes_file(cid)
                blob = None
                if drawn in infos:
                    try:
                        blob = _strokes_json(json.loads(read(drawn).decode("utf-8")))
                    except (ValueError, UnicodeDecodeError) as exc:
                        raise CorrectionsError(f"{drawn} in {name}: {exc}; not imported") from exc
                staged.append((correction, pixels, src, blob))

        with self._lock:
            items = self.all()
            present = {c.id for c in items}
            new = [s for s in staged if s[0].id not in present]
            for correction, pixels, src, blob in new:
                self._write_files(correction, pixels, src, blob)
            if new:
                self._write_index([*items, *(s[0] for s in new)])
        return len(new)


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
    blob = json.dumps(strokes, separators=(",", ":")).encode("utf-8")
    if len(blob) > MAX_MEMBER_BYTES:
        raise ValueError("the drawing is too large")
    return blob


def _check_label(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not 0 <= value <= 9:
        raise ValueError(f"{what} must be a digit 0-9, not {value!r}")
    return int(value)


def _parse_rows(text: str) -> list[dict[str, str]]:
    """Rows of labels.csv as dicts; ValueError for a wrong header or too many rows."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or [h.strip() for h in header] != HEADER:
        raise ValueError(f"the first line must be {','.join(HEADER)}")
    rows = []
    for line, values in enumerate(reader, start=2):
        if not values or all(not v.strip() for v in values):
            continue
        if len(values) != len(HEADER):
            raise ValueError(f"line {line} has {len(values)} fields, not {len(HEADER)}")
        rows.append(dict(zip(HEADER, values, strict=True)))
        if len(rows) > MAX_ROWS:
            raise ValueError(f"more than {MAX_ROWS} rows")
    return rows


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


def _format_rows(items: Iterable[Correction]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(HEADER)
    for c in items:
        writer.writerow(
            [
                c.id,
                c.label,
                "" if c.predicted is None else c.predicted,
                c.created,
                c.input_file,
                c.source_file or "",
            ]
        )
    return buf.getvalue()
