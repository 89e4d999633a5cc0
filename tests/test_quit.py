"""Quitting the app (``app.quit()``, as the session ending or a signal does) while a
background job is stuck: the process ends cleanly, never aborts or hangs.

Each case runs the whole app in a child process (tests/helpers/quit_child.py);
how long quitting takes is measured by benchmarks/store_safety.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.helpers.zips import many_rows_zip

ROOT = Path(__file__).resolve().parents[1]


def run_child(tmp_path: Path, job: str, path: str = "") -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    args = [sys.executable, "-m", "tests.helpers.quit_child", job]
    args += [str(tmp_path / "settings"), str(tmp_path / "data"), path]
    # The timeout only stops a hung child from hanging the suite.
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("job", ["idle", "folder", "import", "finetune"])
def test_quitting_while_a_job_is_stuck_ends_the_process_cleanly(tmp_path, job):
    path = ""
    if job == "folder":
        (tmp_path / "images").mkdir()
        for i in range(3):
            Image.new("L", (28, 28), 0).save(tmp_path / "images" / f"{i}.png")
        path = str(tmp_path / "images")
    elif job == "import":
        many_rows_zip(tmp_path / "rows.zip", 20)
        path = str(tmp_path / "rows.zip")
    done = run_child(tmp_path, job, path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("quit ")
    assert "Destroyed while thread" not in done.stderr
    assert "Traceback" not in done.stderr
