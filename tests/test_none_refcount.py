"""Regression guard for PySide6 6.12.0's None-refcount bug (see README, Known issues).

Qt calls that return nothing in PySide6 6.12.0 drop a reference to None they
never took; on Python < 3.12 the interpreter aborts after a few thousand paints
("Fatal Python error: none_dealloc"). The pins in pyproject.toml avoid the
combination; this test paints the real widgets in a subprocess and fails if the
process dies or (on Python < 3.12, where None is refcounted) None's count drains.

Only a *fall* counts: PySide6 6.11.3 on 3.11 keeps one extra reference to None
per QUndoStack.push (measured: +1.0 per push, 0 for paints), a slow, harmless
rise (a count cannot overflow), whereas a fall ends in "deallocating None".
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

PAINTS = 3000
MAX_DRAIN = 200
"""Ordinary caches move None's count by a few dozen; the bug drains one per Qt call
(six thousand paints take it down by tens of thousands)."""


def test_painting_thousands_of_times_does_not_drain_none():
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(root))
    proc = subprocess.run(
        [sys.executable, "-m", "tests.helpers.paint_soak", str(PAINTS)],
        capture_output=True,
        text=True,
        cwd=root,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, f"painting crashed the interpreter:\n{proc.stderr[-2000:]}"
    match = re.search(r"start=(\d+) end=(\d+) paints=(\d+)", proc.stdout)
    assert match, proc.stdout
    start, end, paints = map(int, match.groups())
    assert paints == PAINTS
    if sys.version_info < (3, 12):
        assert start - end <= MAX_DRAIN, f"None's refcount fell from {start} to {end}"
