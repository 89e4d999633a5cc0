"""Packaged app: build time, size, file count and start-up, for onedir and onefile.

    python benchmarks/package.py            # builds both variants with build.spec

For each variant: PyInstaller's wall time, the size and number of files of
what lands in dist/, the time from launching ``mnist-digits self-test`` to its
exit (ten predictions) and to its first prediction, and the window program's
``--self-test``. Writes benchmarks/results/package.json.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXE = ".exe" if sys.platform == "win32" else ""


def tree_size(path: Path) -> tuple[int, int]:
    # Symbolic links (PyInstaller links some libraries) take no space: count files once.
    files = (
        [p for p in path.rglob("*") if p.is_file() and not p.is_symlink()]
        if path.is_dir()
        else [path]
    )
    return sum(p.stat().st_size for p in files), len(files)


def run_self_test(program: Path, args: list[str], repeats: int = 3) -> dict:
    walls, firsts = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        proc = subprocess.Popen(
            [str(program), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=dict(os.environ, QT_QPA_PLATFORM="offscreen"),
        )
        first = None
        out = []
        for line in proc.stdout:
            out.append(line)
            if first is None and ": expected " in line:
                first = time.perf_counter() - started
        code = proc.wait()
        walls.append(time.perf_counter() - started)
        firsts.append(first or float("nan"))
        if code != 0:
            raise SystemExit(f"{program} {' '.join(args)} failed ({code}):\n{''.join(out)}")
    summary = [line.strip() for line in out if line.startswith("self-test:")]
    return {
        "launch_to_first_prediction_s": round(sorted(firsts)[len(firsts) // 2], 3),
        "launch_to_exit_s": round(sorted(walls)[len(walls) // 2], 3),
        "summary": summary[-1] if summary else "",
    }


def build(variant: str) -> dict:
    env = dict(os.environ, MNIST_ONEFILE="1" if variant == "onefile" else "0")
    dist, work = ROOT / "dist" / variant, ROOT / "build" / variant
    started = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--clean",
            "--distpath",
            str(dist),
            "--workpath",
            str(work),
            str(ROOT / "build.spec"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    seconds = time.perf_counter() - started
    if proc.returncode:
        raise SystemExit(proc.stderr[-3000:])
    missing = sorted(
        set(re.findall(r"Library not found: could not resolve '([^']+)'", proc.stderr))
    )
    if variant == "onefile":
        cli, gui, target = dist / f"mnist-digits{EXE}", dist / f"mnist-desktop{EXE}", dist
    else:
        target = dist / "mnist-desktop"
        cli, gui = target / f"mnist-digits{EXE}", target / f"mnist-desktop{EXE}"
    # Onefile: each program is one self-contained file; report the window's.
    size, files = tree_size(gui if variant == "onefile" else target)
    return {
        "build_s": round(seconds, 1),
        "size_mb": round(size / 1e6, 1),
        "files": files,
        "cli_size_mb": round(tree_size(cli)[0] / 1e6, 1),
        "libraries_not_found": missing,
        "tensorflow_bundled": any("tensorflow" in p.name.lower() for p in target.rglob("*")),
        "cli_self_test": run_self_test(cli, ["self-test"]),
        "gui_self_test": run_self_test(gui, ["--self-test"]),
    }


def main() -> None:
    results = {variant: build(variant) for variant in ("onedir", "onefile")}
    out = ROOT / "benchmarks" / "results" / "package.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
