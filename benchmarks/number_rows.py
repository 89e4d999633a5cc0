"""Numbers: how well and how fast rows of digits are read (``read_number``).

    python benchmarks/number_rows.py --data ../shared/data/mnist          # everything
    python benchmarks/number_rows.py --data ../shared/data/mnist --only speed
    python benchmarks/number_rows.py --data ../shared/data/mnist --split train  # tuning
    python benchmarks/number_rows.py --data ../shared/data/mnist --no-check  # as before the check

Sections:
1. rows: rows of 2-6 MNIST digits (the test set unless ``--split train``) composed
   by kind, read as ``mnist-digits read`` reads them, whole number right (exact):
   ``spaced`` (random sizes, heights and gaps, as benchmarks/accuracy.py),
   ``joined`` (each digit's ink touching or crossing the next one's),
   ``wide`` (half the digits but 1s stretched 1.3-1.7 times their width, spaced),
   ``mixed`` (gaps from overlapping to wide apart, a third of the digits stretched),
   ``canvas`` (the hand-made pen paths of tests/helpers/strokes.py, both hands,
   written 0.6-0.9 of their height apart so neighbours' boxes overlap, on the
   number-mode raster);
2. real: the photos of numbers in ``--real`` (``index.csv`` with file,label), if given;
3. speed: segmentation + classification time of one ``read_number`` call, the first
   in the process and the typical (p50/p99) one, for the live number canvas
   (252 x 84 raster) and for photos of rows.

Numbers are read with the whole-digit check (``mnist_desktop.ml.wholecheck``)
unless ``--no-check``.  Writes benchmarks/results/number_rows.json (not with
``--only``, ``--split train`` or ``--no-check``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

KINDS = ("spaced", "joined", "wide", "mixed", "canvas")


def _row(kind: str, images, labels, rng) -> tuple[np.ndarray, str]:
    """One composed row of ``kind``: (ink 0..1, light on dark; the digits as text)."""
    from tests.helpers.images import compose_row, glyph, number_row

    n = int(rng.integers(2, 7))
    idx = rng.choice(len(images), n, replace=False)
    text = "".join(str(int(labels[i])) for i in idx)
    if kind == "spaced":
        return number_row([images[i] for i in idx], rng)[0], text
    height = int(rng.integers(50, 150))
    stretch_share = {"joined": 0.0, "wide": 0.5, "mixed": 0.33}[kind]
    glyphs = []
    for i in idx:
        size = int(height * rng.uniform(0.85, 1.0))
        # Any digit but a 1 may be written wide.
        wide = labels[i] != 1 and rng.random() < stretch_share
        stretch = rng.uniform(1.3, 1.7) if wide else 1.0
        glyphs.append(glyph(images[i], size, stretch))
    if kind == "joined":
        gaps = [-int(rng.integers(1, max(2, height // 12) + 1)) for _ in range(n - 1)]
    elif kind == "wide":
        gaps = [int(rng.uniform(0.12, 0.4) * height) for _ in range(n - 1)]
    else:
        gaps = [int(rng.uniform(-0.06, 0.4) * height) for _ in range(n - 1)]
    return compose_row(glyphs, gaps, rng), text


def canvas_raster(text: str, spacing: float, size: float = 170.0, hand=None, slant=0.0):
    """``text`` written with the pen paths on the number-mode canvas, as its raster."""
    from PySide6.QtWidgets import QApplication

    from mnist_desktop.raster import Stroke, render_array
    from tests.helpers.strokes import DIGITS, digit_strokes

    _app = QApplication.instance() or QApplication([])  # noqa: F841
    left = 420 - spacing * (len(text) - 1) / 2
    strokes = []
    for i, ch in enumerate(text):
        for s in digit_strokes(
            int(ch), size, (left + i * spacing, 140.0), slant, hand=hand or DIGITS
        ):
            strokes.append(Stroke(tuple((x, y, 1.0) for x, y in s), 20))
    return render_array(strokes, columns=3)


def _canvas_row(rng) -> tuple[np.ndarray, str]:
    from tests.helpers.strokes import DIGITS, SECOND_HAND

    n = int(rng.integers(2, 6))
    text = "".join(str(int(d)) for d in rng.integers(0, 10, n))
    size = rng.uniform(120, 200)
    # Written about as close as a digit is wide (0.75 x size): boxes overlap, strokes may cross.
    spacing = min(size * rng.uniform(0.6, 0.9), 760 / n)
    hand = DIGITS if rng.random() < 0.5 else SECOND_HAND
    return canvas_raster(text, spacing, size, hand, rng.uniform(-0.15, 0.15)), text


def rows(
    data: str | None, split: str, n: int, classifier, misses: list | None = None, check: bool = True
) -> dict:
    from mnist_desktop.ml.data import load_mnist
    from mnist_desktop.numbers import read_number
    from tests.helpers.images import on_paper

    mnist = load_mnist(data)
    images, labels = (
        (mnist.x_test, mnist.y_test) if split == "test" else (mnist.x_train, mnist.y_train)
    )
    out = {}
    for k, kind in enumerate(KINDS):
        rng = np.random.default_rng(100 + k + (1000 if split == "train" else 0))
        exact = count_right = 0
        for _ in range(n):
            if kind == "canvas":
                source, truth = _canvas_row(rng)
            else:
                ink, truth = _row(kind, images, labels, rng)
                source = on_paper(ink)
            text = read_number(classifier, source, check=check).text
            exact += text == truth
            count_right += len(text) == len(truth)
            if misses is not None and text != truth:
                misses.append((kind, truth, text, source))
        out[kind] = {"exact": round(exact / n, 4), "right_count": round(count_right / n, 4), "n": n}
    out["all"] = {"exact": round(float(np.mean([v["exact"] for v in out.values()])), 4)}
    return out


def real(folder: Path, classifier, check: bool = True) -> dict:
    from mnist_desktop.numbers import read_number

    with open(folder / "index.csv", newline="") as f:
        entries = list(csv.DictReader(f))
    wrong = []
    for entry in entries:
        path = folder.parent / entry["file"]
        if not path.exists():
            path = folder / Path(entry["file"]).name
        text = read_number(classifier, path, check=check).text
        if text != entry["label"]:
            wrong.append({"file": path.name, "truth": entry["label"], "read": text})
    return {"exact": len(entries) - len(wrong), "n": len(entries), "wrong": wrong}


def speed(data: str | None, repeats: int, classifier, check: bool = True) -> dict:
    from mnist_desktop.ml.data import load_mnist
    from mnist_desktop.numbers import read_number
    from tests.helpers.images import compose_row, glyph, number_row, on_paper

    rng = np.random.default_rng(7)
    mnist = load_mnist(data)
    pick = rng.choice(len(mnist.x_test), 10, replace=False)
    inputs = {
        "canvas 2025 (252 x 84)": canvas_raster("2025", 150),
        "canvas 31415, overlapping (252 x 84)": canvas_raster("31415", 110),
        "photo, 6 spaced digits": on_paper(number_row([mnist.x_test[i] for i in pick[:6]], rng)[0]),
        "photo, 10 joined digits": on_paper(
            compose_row([glyph(mnist.x_test[i], 120) for i in pick], [-3] * 9, rng)
        ),
    }
    out = {}
    for name, source in inputs.items():
        t = time.perf_counter()
        read_number(classifier, source, check=check)
        first = (time.perf_counter() - t) * 1000
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            read_number(classifier, source, check=check)
            times.append((time.perf_counter() - t) * 1000)
        out[name] = {
            "size": list(np.asarray(source).shape[:2][::-1]),
            "first_ms": round(first, 2),
            "p50_ms": round(float(np.percentile(times, 50)), 2),
            "p99_ms": round(float(np.percentile(times, 99)), 2),
            "n": repeats,
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("MNIST_DATA"))
    parser.add_argument("--split", choices=("test", "train"), default="test")
    parser.add_argument("--n", type=int, default=200, help="rows per kind (default 200)")
    parser.add_argument("--repeats", type=int, default=100)
    default_real = ROOT.parent / "shared" / "data" / "real" / "numbers"
    parser.add_argument(
        "--real", type=Path, default=default_real if default_real.exists() else None
    )
    parser.add_argument("--only", choices=("rows", "real", "speed"))
    parser.add_argument("--engine", default="litert")
    parser.add_argument(
        "--no-check", action="store_true", help="read without the whole-digit check"
    )
    parser.add_argument("--misses", type=Path, help="write a contact sheet of the row misses here")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "number_rows.json"))
    args = parser.parse_args()
    check = not args.no_check  # with the whole-digit check, unless asked
    from mnist_desktop.ml.inference import load_classifier

    classifier = load_classifier(args.engine)
    results: dict = {"engine": classifier.engine, "whole_digit_check": check}
    misses: list | None = [] if args.misses else None
    # Speed first: its "first" call is then the first of the process.
    if args.only in (None, "speed"):
        results["speed"] = speed(args.data, args.repeats, classifier, check)
    if args.only in (None, "rows"):
        results["rows"] = rows(args.data, args.split, args.n, classifier, misses, check)
    if args.only in (None, "real") and args.real is not None:
        results["real"] = real(args.real, classifier, check)
    print(json.dumps(results, indent=2))
    if misses:
        _contact_sheet(misses, args.misses)
    if args.only is None and args.split == "test" and check:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n")


def _contact_sheet(misses: list, path: Path) -> None:
    """Every miss, scaled to 80 px high, captioned truth -> read."""
    from PIL import Image, ImageDraw, ImageOps

    tiles = []
    for kind, truth, text, source in misses:
        img = Image.fromarray(np.asarray(source)).convert("L")
        if np.asarray(img).mean() < 128:
            img = ImageOps.invert(img)
        img = img.resize((max(1, img.width * 80 // img.height), 80))
        tile = Image.new("L", (max(img.width, 200), 100), 255)
        tile.paste(img, (0, 20))
        ImageDraw.Draw(tile).text((2, 2), f"{kind}: {truth} -> {text or '-'}", fill=0)
        tiles.append(tile)
    width = max(t.width for t in tiles)
    sheet = Image.new("L", (width, 100 * len(tiles)), 255)
    for i, t in enumerate(tiles):
        sheet.paste(t, (0, 100 * i))
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)


if __name__ == "__main__":
    main()
