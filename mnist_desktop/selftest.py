"""Headless self-test: classify the bundled sample digits, fail on any mismatch.

Run as ``mnist-desktop --self-test`` or ``mnist-digits self-test``; the
packaged build runs it to prove that recognition works, not only that the
window opens.  Each sample is ``assets/samples/<digit>.png``: a real MNIST
test digit photographed-style (dark ink on off-white paper), so the full
preprocessing path runs, not a shortcut.
"""

from __future__ import annotations

import sys
import time

from mnist_desktop.ml.inference import ModelError, load_classifier
from mnist_desktop.resources import assets_dir


def run_self_test(engine: str = "auto", model: str | None = None) -> int:
    """Print one line per sample and a summary; return 0 only if all are right."""
    started = time.perf_counter()
    try:
        classifier = load_classifier(engine, model)
    except ModelError as exc:
        print(f"self-test: FAILED: {exc}", file=sys.stderr)
        return 2
    loaded = time.perf_counter()
    samples = sorted((assets_dir() / "samples").glob("[0-9].png"))
    if not samples:
        print(f"self-test: FAILED: no sample images in {assets_dir() / 'samples'}", file=sys.stderr)
        return 2
    wrong = 0
    first_prediction = None
    for path in samples:
        expected = int(path.stem)
        prediction = classifier.classify(path)
        if first_prediction is None:
            first_prediction = time.perf_counter()
        ok = prediction.digit == expected
        wrong += not ok
        print(
            f"{path.name}: expected {expected}, got {prediction.label} ({prediction.confidence:.1%}) {'ok' if ok else 'WRONG'}"
        )
    print(
        f"self-test: {len(samples) - wrong}/{len(samples)} right with the {classifier.engine} engine "
        f"({classifier.model_path.name}); model loaded in {loaded - started:.2f} s, "
        f"first prediction after {first_prediction - started:.2f} s"
    )
    return 1 if wrong else 0
