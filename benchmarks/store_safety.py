"""The corrections store under hostile zips and several writers: peak memory of
each bomb's import, rows kept by concurrent writers, and how long quitting takes.

    python benchmarks/store_safety.py

* Peak memory: each import runs in a fresh process and reports its own peak
  resident size (``resource.getrusage(RUSAGE_SELF).ru_maxrss``) and the import's
  outcome; the baseline is the same process importing a one-row zip.
* Concurrent writers: two processes x 150 ``add()`` calls on one store.
* Quitting: the whole app in a child process (tests/helpers/quit_child.py),
  ``app.quit()`` while a job is stuck; the time from that call to the
  process's end, as seen from outside.

Writes benchmarks/results/store_safety.json.  POSIX only (``resource``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers.zips import (  # noqa: E402
    corrupt_deflate_zip,
    lying_zip,
    many_rows_zip,
    shared_source_zip,
)

MEASURE = """
import resource, sys, json
from mnist_desktop.corrections import CorrectionStore, CorrectionsError
store = CorrectionStore(sys.argv[2])
try:
    outcome = f"imported {store.import_zip(sys.argv[1])}"
except CorrectionsError as exc:
    outcome = f"refused: {exc}"
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB -> MB on Linux
print(json.dumps({"peak_mb": round(peak), "outcome": outcome}))
"""

ADDER = """
import sys, numpy as np
from mnist_desktop.corrections import CorrectionStore
store = CorrectionStore(sys.argv[1])
for _ in range(150):
    store.add(int(sys.argv[2]), np.random.default_rng().random((28, 28)))
"""


def python(*args: str, **kwargs) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, **kwargs
    )


def bombs(tmp: Path) -> dict[str, Path]:
    zips = {}
    many_rows_zip(tmp / "one.zip", 1)
    zips["baseline: one good row"] = tmp / "one.zip"
    lying_zip(tmp / "lying.zip", "labels.csv", 2000 << 20)
    zips["labels.csv inflating to 2 GB, header says 100 bytes"] = tmp / "lying.zip"
    lying_zip(tmp / "lying-input.zip", "inputs/abc-1.png", 2000 << 20)
    zips["an input inflating to 2 GB, header says 100 bytes"] = tmp / "lying-input.zip"
    shared_source_zip(tmp / "shared.zip", 8192, rows=8)
    zips["8 rows sharing one 8192x8192 RGBA source"] = tmp / "shared.zip"
    shared_source_zip(tmp / "distinct.zip", 8192, rows=8, distinct=8)
    zips["8 rows with 8 distinct 8192x8192 RGBA sources"] = tmp / "distinct.zip"
    corrupt_deflate_zip(tmp / "deflate.zip")
    zips["corrupt deflate data"] = tmp / "deflate.zip"
    return zips


def quit_times(tmp: Path) -> dict[str, float]:
    from PIL import Image

    (tmp / "images").mkdir()
    for i in range(3):
        Image.new("L", (28, 28), 0).save(tmp / "images" / f"{i}.png")
    many_rows_zip(tmp / "rows.zip", 20)
    paths = {"idle": "", "folder": str(tmp / "images"), "import": str(tmp / "rows.zip")}
    paths["finetune"] = ""
    times = {}
    for job, path in paths.items():
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        args = [sys.executable, "-m", "tests.helpers.quit_child", job]
        args += [str(tmp / f"settings-{job}"), str(tmp / f"data-{job}"), path]
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        line = proc.stdout.readline()
        proc.wait(timeout=120)
        ended = time.time()
        times[job] = round(ended - float(line.split()[1]), 2)
    return times


def main() -> None:
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        memory = {}
        for name, path in bombs(tmp).items():
            done = python("-c", MEASURE, str(path), str(tmp / f"store-{path.stem}"))
            memory[name] = json.loads(done.stdout) if done.returncode == 0 else done.stderr[-500:]
            memory[name]["zip_kb"] = round(path.stat().st_size / 1024)
            print(name, memory[name], flush=True)
        results["import_peak_memory"] = memory

        store = tmp / "shared"
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", ADDER, str(store), str(d)],
                cwd=ROOT,
                env=dict(os.environ, PYTHONPATH=str(ROOT)),
            )
            for d in (3, 8)
        ]
        for proc in procs:
            proc.wait()
        from mnist_desktop.corrections import CorrectionStore

        results["rows_after_2x150_concurrent_adds"] = len(CorrectionStore(store))
        print("rows after 2 x 150 concurrent adds:", results["rows_after_2x150_concurrent_adds"])
        results["quit_seconds"] = quit_times(tmp)
        print("quit seconds:", results["quit_seconds"])
    out = ROOT / "benchmarks" / "results" / "store_safety.json"
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
