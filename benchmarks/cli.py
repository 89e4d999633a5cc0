"""The command line as a user meets it: ``mnist-digits predict x.png``, cold.

    python benchmarks/cli.py            # 7 runs each, no flags and --engine keras

Each run is a fresh process (``python -m mnist_desktop.cli predict x.png``,
what the ``mnist-digits`` script runs), timed from start to exit; the median
is reported, and the number of lines the run printed on stderr (expected: 0).
Writes benchmarks/results/cli.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def time_runs(args: list[str], repeats: int) -> dict:
    # The user's environment: none of the test suite's quieting variables.
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    seconds, stderr_lines, answers = [], 0, set()
    for _ in range(repeats):
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "mnist_desktop.cli", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            check=True,
        )
        seconds.append(time.perf_counter() - started)
        stderr_lines += len(proc.stderr.splitlines())
        answers.add(proc.stdout.split(":", 1)[1].split("(")[0].strip())
    return {
        "median_s": round(statistics.median(seconds), 3),
        "min_s": round(min(seconds), 3),
        "max_s": round(max(seconds), 3),
        "runs": repeats,
        "stderr_lines": stderr_lines,
        "answers": sorted(answers),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "cli.json"))
    args = parser.parse_args()
    sample = ROOT / "assets" / "samples" / "4.png"
    with tempfile.TemporaryDirectory() as tmp:
        image = Path(tmp) / "x.png"
        image.write_bytes(sample.read_bytes())
        results = {
            "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
            "predict x.png": time_runs(["predict", str(image)], args.repeats),
            "predict x.png --engine keras": time_runs(
                ["predict", str(image), "--engine", "keras"], args.repeats
            ),
        }
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
