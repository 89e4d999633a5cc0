"""Folder throughput: images per second through `mnist-digits predict DIR`'s path.

    python benchmarks/folder.py        # 2,000 PNGs of MNIST-fixture digits, both engines

Writes benchmarks/results/folder.json.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(n: int = 2000) -> None:
    from mnist_desktop.files import classify_files, expand_paths
    from mnist_desktop.ml.inference import load_classifier

    with np.load(ROOT / "tests" / "data" / "mnist_test_1000.npz") as f:
        images, labels = f["images"], f["labels"]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(n):
            Image.fromarray(255 - images[i % len(images)]).resize((112, 112)).save(
                Path(tmp) / f"{i:05d}.png"
            )
        paths, _ = expand_paths([tmp])
        for engine in ("litert", "keras"):
            classifier = load_classifier(engine)
            started = time.perf_counter()
            right = 0
            for chunk in classify_files(classifier, paths):
                for result in chunk:
                    index = int(Path(result.path).stem)
                    right += result.prediction.digit == labels[index % len(labels)]
            seconds = time.perf_counter() - started
            results[engine] = {
                "images": n,
                "seconds": round(seconds, 2),
                "images_per_second": round(n / seconds, 1),
                "accuracy": round(right / n, 4),
            }
    out = ROOT / "benchmarks" / "results" / "folder.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
