"""Stopping background threads without ever hanging the window.

A thread is asked to stop (its cancel flag, ``requestInterruption``, and the
end of its event loop) and waited for with a deadline shared by everything
that is stopping, so quitting returns within ~1.2 s (plus 0.1 s a thread)
whatever is running.  A thread that does not end in time (a decode or a
TensorFlow import that cannot be interrupted) is *detached*: kept referenced here with its worker, so
neither Python's collector nor a parent widget destroys it while it runs
(Qt aborts the process then: "QThread: Destroyed while thread is still
running").  It finishes on its own; if the app is quitting, :func:`exit_now`
ends the process without waiting for it.
"""

from __future__ import annotations

import logging
import os
import sys
import time

from PySide6.QtCore import QObject, QThread

log = logging.getLogger(__name__)

STOP_WAIT_S = 1.2
"""The most the window waits, in all, for its threads to stop."""

MIN_WAIT_S = 0.1
"""Each thread still gets this long, past the deadline: an idle one ends in it."""

_detached: list[tuple[QThread, QObject | None]] = []
_until = 0.0


def deadline(seconds: float = STOP_WAIT_S) -> float:
    """The deadline (a ``time.monotonic()`` value) for stopping threads now.

    Stops that overlap share one: quitting closes the dialogs, then the window,
    each stopping its threads, and all of it must end within ~``seconds``."""
    global _until
    now = time.monotonic()
    if now >= _until:
        _until = now + seconds
    return _until


def stop_thread(
    thread: QThread | None, worker: QObject | None = None, until: float | None = None
) -> bool:
    """Stop ``thread`` (whose ``worker`` has been asked to cancel), waiting until ``until``.

    True if it has ended; False if it is still running and is now detached."""
    if thread is None or not thread.isRunning():
        return True
    if any(thread is t for t, _ in _detached):
        return False  # waited for once already
    thread.requestInterruption()
    thread.quit()
    left = max(MIN_WAIT_S, (until or deadline()) - time.monotonic())
    if thread.wait(int(left * 1000)):
        return True
    log.warning("thread %r still busy; left to finish on its own", thread.objectName())
    if thread.parent() is not None:
        thread.setParent(None)  # a parent being deleted would delete it too
    _detached.append((thread, worker))
    return False


def detached_running() -> int:
    """How many detached threads are still running."""
    return sum(thread.isRunning() for thread, _ in _detached)


def exit_now(code: int) -> None:
    """End the process at once if a detached thread is still running.

    Interpreter shutdown would otherwise destroy the running QThread (an abort)
    or wait on it (a hang); the user's data is already safe (every store write
    is atomic), so nothing is lost by not waiting."""
    if not detached_running():
        return
    log.info("exiting with %d background thread(s) still busy", detached_running())
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    os._exit(code)
