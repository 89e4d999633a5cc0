"""Rate-limit a call: the first runs at once, later ones collapse into one pending call."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer


class Throttle(QObject):
    """Call ``func`` at most once per ``delay_ms``.

    The first call runs immediately; calls during the delay replace a single
    pending call, which runs when the delay ends (so the last state always gets
    through, and nothing queues up).  Modelled on qutebrowser's misc/throttle.py.
    """

    def __init__(self, func: Callable[[], None], delay_ms: int, parent: QObject | None = None):
        super().__init__(parent)
        self._func = func
        self._delay_ms = delay_ms
        self._pending = False
        self._last = 0.0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._on_timeout)

    def __call__(self) -> None:
        elapsed_ms = (time.monotonic() - self._last) * 1000
        if self._timer.isActive() or elapsed_ms < self._delay_ms:
            self._pending = True
            if not self._timer.isActive():
                self._timer.start(max(0, int(self._delay_ms - elapsed_ms)))
            return
        self._run()

    def cancel(self) -> None:
        """Drop any pending call; the next call runs at once (a new burst begins)."""
        self._timer.stop()
        self._pending = False
        self._last = 0.0

    def _run(self) -> None:
        self._pending = False
        self._last = time.monotonic()
        self._func()

    def _on_timeout(self) -> None:
        if self._pending:
            self._run()
