"""Learning from corrections, end to end: does fine-tuning fix what the user corrected,
does it carry over to their other drawings, and does MNIST stay within 0.1 points?

    python benchmarks/corrections.py --data ../shared/data/mnist

The "user" is the set of 810 canvas drawings of benchmarks/accuracy.py (the
hand-made pen paths at 3 sizes x 3 slants x 3 pen widths x 3 positions).  The
drawings at one position (the centre) are the ones the user draws and
corrects: every one the bundled model misreads is saved to a corrections store,
with its right label, as the app's chart click does.  The drawings at the two
other positions are held out: the same hand, never corrected.  Then
:func:`mnist_desktop.ml.finetune.fine_tune` runs with the app's default
settings (as Model > Improve the model on my corrections does), and all three
groups are measured before and after through the same preprocessing.

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="MNIST folder (IDX files) for replay and the test set")
    parser.add_argument(
        "--steps", type=int, default=None, help="fine-tuning steps (default: the app's)"
    )
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "corrections.json"))
    args = parser.parse_args()

    from accuracy import drawing_set

    from mnist_desktop.corrections import CorrectionStore
    from mnist_desktop.ml.finetune import FineTuneConfig, fine_tune, load_replay
    from mnist_desktop.ml.inference import load_classifier
    from mnist_desktop.preprocess import preprocess
    from mnist_desktop.resources import default_model_path

    bundled = load_classifier("keras")
    corrected_x, corrected_y, held_x, held_y = [], [], [], []
    mine_right = mine_n = 0
    with tempfile.TemporaryDirectory() as tmp:
        store = CorrectionStore(Path(tmp) / "corrections")
        for digit, where, raster in drawing_set():
            pre = preprocess(raster, "light")
            if where["center"] == CORRECTED_AT:
                prediction = bundled.predict_preprocessed(pre)
                mine_n += 1
                if prediction.digit != digit:
                    store.add(digit, pre.image, raster, prediction.digit)
                    corrected_x.append(pre.image)
                    corrected_y.append(digit)
                else:
                    mine_right += 1
            else:
                held_x.append(pre.image)
                held_y.append(digit)
        corrected_x, corrected_y = np.array(corrected_x), np.array(corrected_y)
        held_x, held_y = np.array(held_x), np.array(held_y)
        print(f"{len(store)} corrections (of {mine_n} drawings at the corrected position)")

        replay = load_replay(args.data)
        config = FineTuneConfig() if args.steps is None else FineTuneConfig(steps=args.steps)
        started = time.perf_counter()
        card = fine_tune(
            default_model_path(".keras"),
            store.arrays(),
            replay,
            store.personal_model_path,
            config,
            progress=lambda step, total, message: print(f"\r{step}/{total} {message}", end=""),
        )
        seconds = time.perf_counter() - started
        print()
        personal = load_classifier("keras", store.personal_model_path)
        results = {
            "corrections": len(store),
            "corrections_per_digit": store.counts(),
            "corrected_drawings": {
                "n": len(corrected_y),
                "right_before": int(
                    round(accuracy(bundled, corrected_x, corrected_y) * len(corrected_y))
                ),
                "right_after": int(
                    round(accuracy(personal, corrected_x, corrected_y) * len(corrected_y))
                ),
            },
            "held_out_drawings": {
                "n": len(held_y),
                "accuracy_before": round(accuracy(bundled, held_x, held_y), 4),
                "accuracy_after": round(accuracy(personal, held_x, held_y), 4),
            },
            "mnist_test": {
                "n": card["test_n"],
                "accuracy_before": card["test_accuracy_before"],
                "accuracy_after": card["test_accuracy"],
            },
            "fine_tune": card["fine_tune"],
            "seconds": round(seconds, 1),
            "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
