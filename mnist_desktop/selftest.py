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
    wrong += not _number_reads(classifier, samples)
    total = len(samples) + 1
    print(
        f"self-test: {total - wrong}/{total} right with the {classifier.engine} engine "
        f"({classifier.model_path.name}); model loaded in {loaded - started:.2f} s, "
        f"first prediction after {first_prediction - started:.2f} s"
    )
    return 1 if wrong else 0


def _number_reads(classifier, samples: list) -> bool:
    """Read the samples 2, 0, 2, 5 side by side as a number, with the whole-digit
    check (a build without the check's file fails here)."""
    import numpy as np
    from PIL import Image

    from mnist_desktop.ml.wholecheck import CheckError, bundled_check
    from mnist_desktop.numbers import read_number

    check = bundled_check(classifier.engine)
    if isinstance(check, CheckError):
        print(f"number: FAILED: {check}")
        return False
    by_digit = {int(p.stem): p for p in samples}
    if not {0, 2, 5} <= by_digit.keys():
        return True  # a folder without those samples: the digits above were the test
    row = np.concatenate([np.asarray(Image.open(by_digit[d]).convert("L")) for d in (2, 0, 2, 5)], 1)
    text = read_number(classifier, row).text
    print(f"number: expected 2025, got {text or '-'} {'ok' if text == '2025' else 'WRONG'}")
    return text == "2025"
