"""Accuracy: MNIST test set per engine, photos of digits, and canvas drawings.

    python benchmarks/accuracy.py --data ../shared/data/mnist

1. ``mnist-digits evaluate --data DIR --json --engine E`` for both engines
   (all 10,000 test digits through the app's own preprocessing);
2. 2,000 MNIST test digits turned into photos of paper: random paper tint,
   ink colour (black, blue, pencil grey), uneven light, sensor noise, JPEG
   quality, digit size (40-240 px) and position in a larger image, both
   polarities (1 in 5 is light ink on a dark board);
3. the hand-made pen paths of tests/helpers/strokes.py drawn on the real canvas
   raster at 3 sizes x 3 slants x 3 pen widths x 3 positions (810 drawings);
4. numbers: 500 rows of 2-6 MNIST test digits (random sizes, heights, gaps)
   on paper, read as ``mnist-digits read`` reads them (``read_number``).

Writes benchmarks/results/accuracy.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def mnist_test(data: str) -> dict:
    out = {}
    for engine in ("litert", "keras"):
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "mnist_desktop",
                "evaluate",
                "--data",
                data,
                "--json",
                "--engine",
                engine,
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        )
        report = json.loads(proc.stdout)
        out[engine] = {k: report[k] for k in ("accuracy", "n", "per_class", "seconds")}
    return out


def photos(data: str, n: int, classifier) -> dict:
    from mnist_desktop.ml.data import load_mnist
    from tests.helpers.images import encode, on_paper, upscale

    mnist = load_mnist(data)
    rng = np.random.default_rng(2024)
    idx = rng.choice(len(mnist.x_test), n, replace=False)
    correct = blank = 0
    by_kind: dict[str, list[int]] = {}
    started = time.perf_counter()
    for i in idx:
        size = int(rng.integers(40, 240))
        dark_board = rng.random() < 0.2
        if dark_board:
            paper, ink, kind = (
                tuple(rng.uniform(0.05, 0.3, 3)),
                (0.95, 0.95, 0.9),
                "chalk on a dark board",
            )
        else:
            paper = tuple(rng.uniform(0.65, 1.0, 3))
            kind = str(rng.choice(["black ink", "blue ballpoint", "pencil"]))
            ink = {
                "black ink": (0.05, 0.05, 0.05),
                "blue ballpoint": (0.1, 0.15, 0.6),
                "pencil": (0.45, 0.45, 0.45),
            }[kind]
        photo = on_paper(
            upscale(mnist.x_test[i], size),
            paper=paper,
            ink_color=ink,
            canvas=(size + int(rng.integers(40, 400)), size + int(rng.integers(40, 500))),
            at=(int(rng.integers(0, 40)), int(rng.integers(0, 40))),
            gradient=float(rng.uniform(0, 0.45)),
            noise=float(rng.uniform(0, 0.04)),
            rng=rng,
        )
        prediction = classifier.classify(encode(photo, "JPEG", quality=int(rng.integers(50, 95))))
        ok = prediction.digit == mnist.y_test[i]
        correct += ok
        blank += prediction.blank
        by_kind.setdefault(kind, []).append(int(ok))
    return {
        "accuracy": round(correct / n, 4),
        "n": n,
        "reported_blank": blank,
        "by_kind": {
            k: {"accuracy": round(float(np.mean(v)), 4), "n": len(v)}
            for k, v in sorted(by_kind.items())
        },
        "seconds": round(time.perf_counter() - started, 1),
    }


def drawing_set(hand: dict | None = None):
    """The 810 canvas drawings: yields (digit, settings dict, canvas raster).

    ``hand``: the pen paths (default ``tests.helpers.strokes.DIGITS``)."""
    from PySide6.QtGui import QGuiApplication

    from mnist_desktop.raster import Stroke, render_array
    from tests.helpers.strokes import DIGITS, digit_strokes

    _app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841
    for digit in range(10):
        for size in (90, 160, 240):
            for slant in (-0.15, 0.0, 0.2):
                for width in (10, 24, 40):
                    for center in ((140, 140), (80, 90), (190, 180)):
                        half = size / 2
                        cx = min(max(center[0], half * 0.8), 280 - half * 0.8)
                        cy = min(max(center[1], half), 280 - half)
                        paths = digit_strokes(digit, size, (cx, cy), slant, hand=hand or DIGITS)
                        strokes = tuple(
                            Stroke(tuple((x, y, 1.0) for x, y in p), width) for p in paths
                        )
                        raster = render_array(strokes)
                        where = {"size": size, "slant": slant, "width": width, "center": center}
                        yield digit, where, raster


def drawings(classifier) -> dict:
    total = correct = 0
    per_digit = np.zeros(10)
    for digit, _, raster in drawing_set():
        ok = classifier.classify(raster, "light").digit == digit
        correct += ok
        per_digit[digit] += ok
        total += 1
    return {
        "accuracy": round(correct / total, 4),
        "n": total,
        "per_digit": [round(float(c) / (total / 10), 3) for c in per_digit],
    }


def numbers(data: str, n: int, classifier) -> dict:
    """Rows of 2-6 MNIST test digits with random sizes, heights and gaps, read as numbers."""
    from mnist_desktop.ml.data import load_mnist
    from mnist_desktop.numbers import read_number
    from tests.helpers.images import number_row, on_paper

    mnist = load_mnist(data)
    rng = np.random.default_rng(11)
    exact = digits_right = digits_total = count_right = 0
    for _ in range(n):
        idx = rng.choice(len(mnist.x_test), int(rng.integers(2, 7)), replace=False)
        ink, _ = number_row([mnist.x_test[i] for i in idx], rng)
        text = read_number(classifier, on_paper(ink)).text
        truth = "".join(str(d) for d in mnist.y_test[idx])
        exact += text == truth
        count_right += len(text) == len(truth)
        if len(text) == len(truth):
            digits_right += sum(a == b for a, b in zip(text, truth, strict=True))
            digits_total += len(truth)
    return {
        "exact_match": round(exact / n, 4),
        "right_digit_count": round(count_right / n, 4),
        "digit_accuracy_when_count_right": round(digits_right / max(1, digits_total), 4),
        "n": n,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", default=os.environ.get("MNIST_DATA"), required=not os.environ.get("MNIST_DATA")
    )
    parser.add_argument("--photos", type=int, default=2000)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "accuracy.json"))
    args = parser.parse_args()
    from mnist_desktop.ml.inference import load_classifier

    classifier = load_classifier("litert")
    results = {
        "mnist_test": mnist_test(args.data),
        "photos": photos(args.data, args.photos, classifier),
        "drawings": drawings(classifier),
        "numbers": numbers(args.data, 500, classifier),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
