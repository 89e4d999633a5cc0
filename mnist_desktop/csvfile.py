"""A results CSV that is never lost half-written and never clobbers an input.

Rows go to a temporary file beside the target, flushed as they come, and the
file is renamed over the target at the end, or when the run is interrupted
(Ctrl-C, SIGTERM), so the rows already classified are kept.  A crash or
``kill -9`` leaves the old target untouched.  Every cell is passed through
:func:`~mnist_desktop.csvcells.safe_cell`, so no file name becomes a formula.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterable, Sequence

from .csvcells import safe_cell
from .imageio import display_path


class CsvTargetError(ValueError):
    """The CSV cannot be written where asked (one line, naming the file)."""


def _same_file(target: str, inputs: Iterable[str]) -> str | None:
    """The input that is ``target`` itself (by device and inode), if any."""
    try:
        st = os.stat(target)
    except OSError:
        return None
    for path in inputs:
        try:
            other = os.stat(path)
        except OSError:
            continue
        if (other.st_dev, other.st_ino) == (st.st_dev, st.st_ino):
            return path
    return None


class ResultsCsv:
    """Write rows to ``target`` safely; use as a context manager.

    Leaving the ``with`` block normally, or by ``KeyboardInterrupt`` once rows
    were written, keeps what was written (renamed over the target); any other
    exception discards it and leaves the target as it was.
    """

    def __init__(self, target: str, header: Sequence[str], inputs: Iterable[str] = ()) -> None:
        self.target = target
        shown = display_path(target)
        folder = os.path.dirname(os.path.abspath(target))
        if os.path.isdir(target):
            raise CsvTargetError(f"{shown}: is a folder; give a file name for the CSV")
        if not os.path.isdir(folder):
            raise CsvTargetError(f"{shown}: the folder {display_path(folder)} does not exist")
        clash = _same_file(target, inputs)
        if clash is not None:
            raise CsvTargetError(
                f"{shown}: is one of the input files ({display_path(clash)}); "
                "choose another name for the CSV"
            )
        try:
            fd, self._temp = tempfile.mkstemp(
                prefix=f".{os.path.basename(target)}.", suffix=".part", dir=folder
            )
        except OSError as exc:
            raise CsvTargetError(f"{shown}: cannot write there ({exc.strerror or exc})") from exc
        self._file = os.fdopen(fd, "w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file)
        self.rows = 0
        self.writerow(header)
        self.rows = 0  # rows of results, the header not counted

    def _fail(self, exc: OSError) -> CsvTargetError:
        self.discard()
        return CsvTargetError(
            f"{display_path(self.target)}: cannot write the CSV ({exc.strerror or exc})"
        )

    def writerow(self, row: Sequence[object]) -> None:
        try:
            self._writer.writerow([safe_cell(cell) for cell in row])
        except OSError as exc:
            raise self._fail(exc) from exc
        self.rows += 1

    def flush(self) -> None:
        """Push the rows so far to the temporary file (kept if the run is stopped)."""
        try:
            self._file.flush()
        except OSError as exc:
            raise self._fail(exc) from exc

    def commit(self) -> None:
        """Finish the file and rename it over the target."""
        if self._file.closed:
            return
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            _match_mode(self._temp, self.target)
            os.replace(self._temp, self.target)
        except OSError as exc:
            raise self._fail(exc) from exc

    def discard(self) -> None:
        """Drop the temporary file; the target stays as it was."""
        try:
            self._file.close()
        except OSError:
            pass
        try:
            os.unlink(self._temp)
        except OSError:
            pass

    def __enter__(self) -> ResultsCsv:
        return self

    def __exit__(self, kind, exc, tb) -> None:
        # Interrupted before any row: the old target is worth more than a header.
        if kind is None or (issubclass(kind, KeyboardInterrupt) and self.rows):
            self.commit()
        else:
            self.discard()


def _match_mode(temp: str, target: str) -> None:
    """Give the new file the target's permissions, or the usual ones (mkstemp's are 0600)."""
    try:
        mode = os.stat(target).st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    os.chmod(temp, mode)
