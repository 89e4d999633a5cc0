"""Pen drawings of writers the model never saw, and things that are no digit.

    python benchmarks/pen.py [--engine litert|keras] [--model PATH] [--letters N]
    python benchmarks/pen.py --writers-from RUN/mnist_cnn.json --out OTHER.json  # the bundled model

Reads the pen strokes set (``../shared/data/pen``) and the held-out writers
recorded in the model's card, draws each of their digits through the canvas's
own rasterizer at 3 sizes x 3 pen widths, centred, then measures through the
app's classifier (preprocessing, model, calibration, "not a digit" verdict):

* held-out digits: read right, answered "not a digit", per contributor;
* the same digits opened as images (2,000 of them): cropped to their ink, and
  stretched into a square box as scanners that size-normalise digits leave
  them (what ``Preprocessed.unstretched`` is for);
* their letters that don't look like digits: answered "not a digit" (and the
  digit-like ones, for information);
* marks drawn on the canvas: minus signs, dashes, scribbles, crosses: how
  many still get a confident digit (>= 90 %);
* real digits rejected: MNIST test set, the real photos and scans
  (``../shared/data/real``), with calibration (ECE) on MNIST test.

Writes ``benchmarks/results/pen.json`` and a contact sheet of misses into the
git-ignored ``benchmarks/misses/``.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from real import crop_to_ink, resize, to_uint8  # noqa: E402  (benchmarks/real.py)

from mnist_desktop.ml import pen  # noqa: E402
from mnist_desktop.ml.calibration import expected_calibration_error  # noqa: E402
from mnist_desktop.ml.data import load_mnist  # noqa: E402
from mnist_desktop.ml.inference import load_classifier  # noqa: E402
from mnist_desktop.preprocess import preprocess, preprocess_batch  # noqa: E402

CONFIDENT = 0.9


def verdicts(clf, images: np.ndarray):
    """(probabilities, digit or -1 when rejected) for preprocessed images."""
    probs = clf.probabilities(images)
    reject = clf.reject_below
    top = probs.max(1)
    drawn = images.reshape(len(images), -1).max(1) > 0
    digit = np.where((top >= (reject or 0)) & drawn, probs.argmax(1), -1)
    return probs, digit


def marks(count: int, seed: int) -> dict[str, list]:
    """Marks people draw that are no digit, in unit coordinates."""
    rng = np.random.default_rng(seed)
    out: dict[str, list] = {"minus sign": [], "short dash": [], "scribble": [], "cross": []}
    for _ in range(count):
        tilt = rng.uniform(-0.08, 0.08)
        out["minus sign"].append([[(0.0, 0.5), (1.0, 0.5 + tilt)]])
        out["short dash"].append([[(0.0, 0.5), (0.25, 0.5 + tilt / 4)]])
        out["scribble"].append(pen.synthetic_marks(1, int(rng.integers(1 << 30)))[0])
        out["cross"].append([[(0.0, 0.0), (1.0, 1.0)], [(1.0, 0.0), (0.0, 1.0 + tilt)]])
    return out


def sheet(items, path: Path, columns: int = 12) -> None:
    """A contact sheet: each miss's 28 x 28 input, enlarged, with its caption."""
    if not items:
        return
    cell = 84
    rows = -(-len(items) // columns)
    img = Image.new("L", (columns * cell, rows * (cell + 14)), 255)
    draw = ImageDraw.Draw(img)
    for i, (image, caption) in enumerate(items):
        x, y = (i % columns) * cell, (i // columns) * (cell + 14)
        img.paste(
            Image.fromarray((image * 255).astype(np.uint8)).resize((cell - 4, cell - 4)), (x, y)
        )
        draw.text((x, y + cell - 2), caption, fill=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)


def as_opened(image: np.ndarray, square: bool) -> np.ndarray:
    """A drawn 28 x 28 digit as an image file of it would be: cropped to its
    ink, 96 px on its longer side, or stretched into a 96 px square."""
    ink = crop_to_ink(image, 0.05)
    h, w = ink.shape
    k = 96 / max(h, w)
    return to_uint8(resize(ink, 96, 96) if square else resize(ink, round(w * k), round(h * k)))


def opened(clf, x: np.ndarray, y: np.ndarray, count: int) -> dict:
    """Read right of ``count`` drawn digits opened as images, cropped or stretched
    square; with the narrowed readings and from each image alone."""
    pick = np.random.default_rng(3).choice(len(x), min(count, len(x)), replace=False)
    out = {"images": int(len(pick))}
    for name, square in (("cropped", False), ("stretched_square", True)):
        read = alone = filled = 0
        for i in pick:
            pre = preprocess(as_opened(x[i], square), "light")
            filled += bool(pre.unstretched)
            read += clf.predict_preprocessed(pre).digit == y[i]
            alone += clf.predict_preprocessed(replace(pre, unstretched=[])).digit == y[i]
        out[name] = {
            "read_right": round(read / len(pick), 4),
            "read_right_from_the_image_alone": round(alone / len(pick), 4),
            "fill_a_square_frame": int(filled),
        }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default="litert")
    parser.add_argument("--model")
    parser.add_argument("--pen", default=str(ROOT.parent / "shared/data/pen"))
    parser.add_argument("--real", default=str(ROOT.parent / "shared/data/real"))
    parser.add_argument("--mnist", default=str(ROOT.parent / "shared/data/mnist"))
    parser.add_argument("--letters", type=int, default=600, help="held-out letters drawn (sampled)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/pen.json"))
    parser.add_argument(
        "--writers-from",
        metavar="CARD",
        help="the held-out writers named in this model card (.json): to measure a model "
        "trained without pen data on the same writers",
    )
    args = parser.parse_args()

    started = time.time()
    clf = load_classifier(args.engine, args.model)
    card = json.loads(Path(args.writers_from).read_text()) if args.writers_from else clf.card
    held = set(card.get("pen", {}).get("held_out_writers", []))
    if not held:
        print("the model's card names no held-out pen writers; train it with --pen")
        return 2
    data = pen.load_pen(args.pen)
    results: dict = {
        "command": "python benchmarks/pen.py " + " ".join(sys.argv[1:]),
        "engine": clf.engine,
        "model_created": clf.card.get("created"),
        "reject_below": clf.reject_below,
        "held_out_writers": sorted(held),
        "drawing": {"heights": list(pen.EVAL_HEIGHTS), "pen_widths": list(pen.EVAL_PEN_WIDTHS)},
    }
    misses = []

    # ---- held-out writers' digits ---------------------------------------------
    digits = [s for s in data.digits if s.writer in held]
    x, index = pen.render_grid(digits)
    y = np.array([digits[i].label for i in index])
    probs, digit = verdicts(clf, x)
    per = {}
    contributors = np.array([digits[i].contributor for i in index])
    for name in sorted(set(contributors.tolist())):
        mine = contributors == name
        per[name] = {
            "images": int(mine.sum()),
            "read_right": round(float((digit[mine] == y[mine]).mean()), 4),
            "not_a_digit": round(float((digit[mine] == -1).mean()), 4),
        }
    results["held_out_digits"] = {
        "samples": len(digits),
        "images": int(len(x)),
        "read_right": round(float((digit == y).mean()), 4),
        "argmax_right": round(float((probs.argmax(1) == y).mean()), 4),
        "not_a_digit": round(float((digit == -1).mean()), 4),
        "ece": round(expected_calibration_error(probs, y), 4),
        "per_contributor": per,
    }
    for i in np.flatnonzero(digit != y)[:240]:
        misses.append((x[i], f"{y[i]}->{'?' if digit[i] < 0 else digit[i]} {probs[i].max():.2f}"))
    results["held_out_digits_opened"] = opened(clf, x, y, 2000)

    # ---- held-out writers' letters ----------------------------------------------
    rng = np.random.default_rng(0)
    letters = [s for s in data.letters if s.writer in held]
    for name, chosen in (
        ("letters", [s for s in letters if pen.is_outlier_letter(s)]),
        ("digit_like_letters", [s for s in letters if not pen.is_outlier_letter(s)]),
    ):
        if len(chosen) > args.letters:
            chosen = [chosen[i] for i in rng.choice(len(chosen), args.letters, replace=False)]
        lx, lindex = pen.render_grid(chosen)
        lprobs, ldigit = verdicts(clf, lx)
        by_letter: dict[str, list[int]] = {}
        for i, v in zip(lindex, ldigit, strict=True):
            by_letter.setdefault(chosen[i].label, []).append(int(v == -1))
        results[name] = {
            "samples": len(chosen),
            "images": int(len(lx)),
            "not_a_digit": round(float((ldigit == -1).mean()), 4),
            "confident_digit": round(
                float(((ldigit >= 0) & (lprobs.max(1) >= CONFIDENT)).mean()), 4
            ),
            "not_a_digit_by_letter": {
                k: round(float(np.mean(v)), 3) for k, v in sorted(by_letter.items())
            },
        }

    # ---- marks drawn on the canvas ---------------------------------------------
    results["marks"] = {}
    for name, strokes in marks(40, 1).items():
        drawn = [
            pen.draw(s, height, width)
            for s in strokes
            for height in pen.EVAL_HEIGHTS
            for width in pen.EVAL_PEN_WIDTHS
        ]
        # A mark the app calls blank (a dot) stays in as an empty input.
        mx = np.stack([np.zeros((28, 28), np.float32) if d is None else d for d in drawn])
        mprobs, mdigit = verdicts(clf, mx)
        blank = mx.reshape(len(mx), -1).max(1) == 0
        results["marks"][name] = {
            "images": int(len(mx)),
            "no_digit_or_not_a_digit": round(float(((mdigit == -1) | blank).mean()), 4),
            "confident_digit": round(
                float(((mdigit >= 0) & (mprobs.max(1) >= CONFIDENT)).mean()), 4
            ),
        }

    # ---- real digits: MNIST test, photos, scans --------------------------------
    mnist = load_mnist(args.mnist)
    tx = preprocess_batch(mnist.x_test)
    tprobs, tdigit = verdicts(clf, tx)
    results["mnist_test"] = {
        "images": int(len(tx)),
        "accuracy": round(float((tprobs.argmax(1) == mnist.y_test).mean()), 4),
        "not_a_digit": round(float((tdigit == -1).mean()), 4),
        "ece": round(expected_calibration_error(tprobs, mnist.y_test), 4),
    }
    real = Path(args.real)
    for name in ("photos", "scans"):
        rows = list(csv.DictReader(open(real / name / "index.csv", newline="")))
        # As the app answers them: a close call on the paper is read the other ways too.
        answers = [clf.classify(real / r["file"]) for r in rows]
        results[f"real_{name}"] = {
            "images": len(rows),
            "not_a_digit": round(float(np.mean([a.rejected for a in answers])), 4),
        }
    results["seconds"] = round(time.time() - started, 1)

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    sheet(misses, ROOT / "benchmarks/misses/pen-held-out-digits.png")
    print(json.dumps({k: v for k, v in results.items() if k != "held_out_writers"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
