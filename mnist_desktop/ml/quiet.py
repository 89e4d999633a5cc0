"""Keep the native runtimes' log lines off the user's terminal unless asked (``--verbose``).

LiteRT prints "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." from
C++ straight to file descriptor 2 when an interpreter allocates its tensors,
and TensorFlow, absl and oneDNN print their start-up notes the same way; no
Python logger or setting reaches all of them. So the few calls that start a
runtime run with descriptor 2 pointed at the null device. Errors still reach
the user: they come back as exceptions, which the callers turn into one line.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator

_verbose = False
_lock = threading.RLock()


def set_verbose(verbose: bool) -> None:
    """Let the runtimes' own log lines through (the CLI's ``--verbose``)."""
    global _verbose
    _verbose = verbose
    if not verbose:
        # TensorFlow reads this when it is imported: its INFO and WARNING lines.
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def verbose() -> bool:
    return _verbose


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Descriptor 2 goes to the null device for the duration (not when verbose)."""
    if _verbose:
        yield
        return
    with _lock:
        if sys.stderr is not None:
            sys.stderr.flush()  # what Python wrote before still shows
        try:
            saved = os.dup(2)
        except OSError:  # no descriptor 2 (a windowed app without a console)
            yield
            return
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(null, 2)
            finally:
                os.close(null)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
