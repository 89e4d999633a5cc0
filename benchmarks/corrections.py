"""Learning from corrections, end to end: does fine-tuning fix what the user corrected,
does it carry over to their other drawings, and does MNIST stay within 0.1 points?

    python benchmarks/corrections.py --data ../shared/data/mnist

A "user" is a set of 810 canvas drawings as in benchmarks/accuracy.py (pen
paths at 3 sizes x 3 slants x 3 pen widths x 3 positions).  The drawings at
one position (the centre) are the ones the user draws and corrects: every one
the bundled model misreads is saved to a corrections store with its right
label, as the app's chart click does.  The drawings at the two other positions
are held out: the same hand, never corrected.  Then
:func:`mnist_desktop.ml.finetune.fine_tune` runs with the app's default
settings (as Model > Improve the model on my corrections does), and the
groups are measured before and after through the same preprocessing.

Two users:
* ``second hand``: other habits (tests/helpers/strokes.py SECOND_HAND: a
  slashed zero, a looped 2, a flat-topped 3, ...), without the blots (the
  smallest digits drawn with the thickest pen, read since the model's raster
  caps the pen);
* ``pen writer``: a real person's hand, from the pen set (``--pen``): of the
  writers the bundled model's training held out, the one whose digits it
  misreads surely most often, each digit as one of their samples (one it so
  misreads, if any).

Writes benchmarks/results/corrections.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

CORRECTED_AT = (140, 140)
"""The drawings at this canvas position are the ones the user corrects."""


def accuracy(classifier, images: np.ndarray, labels: np.ndarray) -> float:
    if len(images) == 0:
        return float("nan")
    return float((classifier.probabilities(images).argmax(1) == labels).mean())


def blot(where: dict) -> bool:
    return where["size"] == 90 and where["width"] == 40


def writer_hand(pen_dir: str, bundled) -> tuple[str, dict]:
    """(writer, hand): the held-out pen writer whose digits ``bundled`` misreads
    surely most often (each drawn 180 px tall with an 18 px pen: read as
    another digit at 90 % or more, a habit of theirs, where an unsure answer
    or "not a digit" is as often a sample that is no clear digit), and their
    digits as a hand for :func:`tests.helpers.strokes.digit_strokes`: each
    one sample, a surely misread one if any, else one read right, aspect kept."""
    from mnist_desktop.ml import pen

    held = set(bundled.card.get("pen", {}).get("held_out_writers", []))
    samples = [s for s in pen.load_pen(pen_dir).digits if s.writer in held]
    found: dict[str, dict[int, dict[str, list]]] = {}
    drawn = [(sample, pen.draw(sample.strokes, 180, 18)) for sample in samples]
    drawn = [(sample, image) for sample, image in drawn if image is not None]
    probabilities = bundled.probabilities(np.stack([image for _, image in drawn]))
    for (sample, _), row in zip(drawn, probabilities, strict=True):
        answer = bundled.verdict(row)
        kind = (
            "right"
            if answer.digit == sample.label
            else "surely wrong"
            if answer.digit is not None and answer.confidence >= 0.9
            else "unclear"
        )
        found.setdefault(sample.writer, {}).setdefault(sample.label, {}).setdefault(
            kind, []
        ).append(sample)

    def usable(writer: str) -> bool:
        digits = found[writer]
        return len(digits) == 10 and all(
            "right" in d or "surely wrong" in d for d in digits.values()
        )

    def wrong(writer: str) -> int:
        return sum(len(d.get("surely wrong", [])) for d in found[writer].values())

    writer = max(sorted(w for w in found if usable(w)), key=wrong)
    hand = {}
    for digit, kinds in found[writer].items():
        strokes = (kinds.get("surely wrong") or kinds["right"])[0].strokes
        xs = [p[0] for s in strokes for p in s]
        ys = [p[1] for s in strokes for p in s]
        cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
        side = max(max(ys) - min(ys), (max(xs) - min(xs)) / 0.75) or 1.0
        hand[digit] = [
            [(0.5 + (x - cx) / (0.75 * side), 0.5 + (y - cy) / side) for x, y, *_ in s]
            for s in strokes
        ]
    return writer, hand


def scenario(name: str, hand, keep, bundled, replay, steps: int | None) -> dict:
    """Correct the misreads at the centre position, fine-tune, measure."""
    from accuracy import drawing_set

    from mnist_desktop.corrections import CorrectionStore
    from mnist_desktop.ml.finetune import FineTuneConfig, FineTuneRejected, fine_tune
    from mnist_desktop.ml.inference import load_classifier
    from mnist_desktop.preprocess import preprocess
    from mnist_desktop.resources import default_model_path

    corrected_x, corrected_y, held_x, held_y = [], [], [], []
    drawn_at_corrected = 0
    with tempfile.TemporaryDirectory() as tmp:
        store = CorrectionStore(Path(tmp) / "corrections")
        for digit, where, raster in drawing_set(hand):
            if not keep(where):
                continue
            pre = preprocess(raster, "light")
            if where["center"] == CORRECTED_AT:
                drawn_at_corrected += 1
                prediction = bundled.predict_preprocessed(pre)
                if prediction.digit != digit:
                    store.add(digit, pre.image, raster, prediction.digit)
                    corrected_x.append(pre.image)
                    corrected_y.append(digit)
            else:
                held_x.append(pre.image)
                held_y.append(digit)
        corrected_x, corrected_y = np.array(corrected_x), np.array(corrected_y)
        held_x, held_y = np.array(held_x), np.array(held_y)
        print(f"{name}: {len(store)} corrections")
        held_before = round(accuracy(bundled, held_x, held_y), 4)
        if not len(store):
            # The bundled model reads every drawing the user would correct: no fine-tuning.
            return {
                "outcome": f"nothing to correct: all {drawn_at_corrected} drawings read right",
                "corrections": 0,
                "held_out_drawings": {"n": len(held_y), "accuracy_before": held_before},
            }
        config = FineTuneConfig() if steps is None else FineTuneConfig(steps=steps)
        started = time.perf_counter()
        try:
            card = fine_tune(
                default_model_path(".keras"),
                store.arrays(),
                replay,
                store.personal_model_path,
                config,
                progress=lambda step, total, message: print(
                    f"\r{step}/{total} {message:70}", end=""
                ),
            )
            personal, outcome = load_classifier("keras", store.personal_model_path), "saved"
        except FineTuneRejected as exc:
            card, personal, outcome = exc.card, None, f"refused: {exc}"
        print()
        right_before = int((bundled.probabilities(corrected_x).argmax(1) == corrected_y).sum())
        result = {
            "outcome": outcome,
            "corrections": len(store),
            "corrections_per_digit": store.counts(),
            "corrected_drawings_right": {"n": len(corrected_y), "before": right_before},
            "held_out_drawings": {
                "n": len(held_y),
                "accuracy_before": held_before,
            },
            "mnist_test": {"n": card["test_n"], "accuracy_before": card["test_accuracy_before"]},
            "kept_step": card.get("kept_step"),
            "checkpoints": card.get("checkpoints"),
            "seconds": round(time.perf_counter() - started, 1),
        }
        if personal is not None:
            result["corrected_drawings_right"]["after"] = int(
                (personal.probabilities(corrected_x).argmax(1) == corrected_y).sum()
            )
            result["held_out_drawings"]["accuracy_after"] = round(
                accuracy(personal, held_x, held_y), 4
            )
            result["mnist_test"]["accuracy_after"] = card["test_accuracy"]
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="MNIST folder (IDX files) for replay and the test set")
    parser.add_argument(
        "--pen",
        default=str(ROOT.parent / "shared" / "data" / "pen"),
        help="the pen strokes set, for a real writer's hand",
    )
    parser.add_argument(
        "--steps", type=int, default=None, help="fine-tuning steps (default: the app's)"
    )
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "corrections.json"))
    args = parser.parse_args()

    from mnist_desktop.ml.finetune import FineTuneConfig, load_replay
    from mnist_desktop.ml.inference import load_classifier
    from tests.helpers.strokes import SECOND_HAND

    bundled = load_classifier("keras")
    replay = load_replay(args.data)
    writer, hand = writer_hand(args.pen, bundled)
    results = {
        "second hand": scenario(
            "second hand", SECOND_HAND, lambda w: not blot(w), bundled, replay, args.steps
        ),
        "pen writer": {
            "writer": writer,
            **scenario(f"pen writer {writer}", hand, lambda w: True, bundled, replay, args.steps),
        },
        "fine_tune": vars(FineTuneConfig()) if args.steps is None else {"steps": args.steps},
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
