"""Teach the whole-digit check (:mod:`mnist_desktop.ml.wholecheck`) what the number
reader's candidates are.

Rows of 2-6 MNIST training digits are composed (joined, spaced, some digits
written wide; some rows binarised, low-resolution, bold or blurred, as scans and
photos are), each pixel remembering which digit's ink it is.  The number reader
cuts each row exactly as it cuts a user's (:func:`mnist_desktop.numbers._candidates`,
both layouts), and a candidate is "whole" when at least :data:`PURE` of its ink is
one digit's and it holds at least :data:`PURE` of that digit's ink.  So the check
learns from the very windows it will judge.  The validation split training
holds out (the digit model card's ``split_seed``) is never used: the real-data
benchmark composes its rows from it.

    mnist-digits train-check --data ../shared/data/mnist
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from .ml import card as cards
from .ml.wholecheck import CHECK_STEM, WINDOW, build_check_model
from .numbers import _candidates, _reduced_ink, _run_mask

PURE = 0.85
"""A candidate is one whole digit when this share of its ink is one digit's and it
holds this share of that digit's ink."""
KINDS = ("touching", "joined", "wide", "mixed", "spaced", "touching")
"""Row kinds, drawn in turn: digits whose ink touches (crossing by a few pixels),
whose boxes overlap (joined), some written wide, mixed gaps, spaced."""
REPEAT = 0.25
"""Chance that a digit repeats the one before it (another sample of it)."""
STYLES = {"plain": 0.55, "binary": 0.15, "lowres": 0.15, "bold": 0.1, "blur": 0.05}
"""How a row's digits look, with the share of rows."""


@dataclass
class CheckConfig:
    rows: int = 5000
    validation_rows: int = 600
    epochs: int = 5
    batch_size: int = 256
    learning_rate: float = 1e-3
    seed: int = 1
    split_seed: int = 1
    """The digit model's validation split, held out here too."""
    validation_images: int = 5000


def _glyph(
    digit: np.ndarray, height: int, stretch: float, style: str, rng: np.random.Generator
) -> np.ndarray:
    """An MNIST digit cropped to its ink, ``height`` px high, ``stretch`` x its width,
    in ``style``; ink 0..1."""
    rows = np.flatnonzero(digit.max(axis=1) > 0)
    cols = np.flatnonzero(digit.max(axis=0) > 0)
    crop = Image.fromarray(digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1])
    width = max(2, round(crop.width * height / crop.height * stretch))
    if style == "lowres":  # a 16 px scan upscaled
        small = (max(2, round(width * 16 / height)), 16)
        crop = crop.resize(small, Image.Resampling.BILINEAR)
        if rng.random() < 0.5:
            crop = crop.point(lambda v: 255 if v > 100 else 0)
    img = crop.resize((width, height), Image.Resampling.BICUBIC)
    if style == "bold":
        img = img.filter(ImageFilter.MaxFilter(2 * int(rng.integers(1, 3)) + 1))
    elif style == "blur":
        img = img.filter(ImageFilter.GaussianBlur(float(rng.uniform(1.0, 2.5))))
    ink = np.clip(np.asarray(img, np.float32) / 255.0, 0, 1)
    if style == "binary":
        ink = (ink > 0.4).astype(np.float32)
    return ink


def _meet(a: np.ndarray, ya: int, b: np.ndarray, yb: int) -> int:
    """How far right of glyph a's left edge b's must start for their ink to just
    meet, given their tops ya and yb (a's width if they share no row of ink)."""
    best = None
    for r in range(max(ya, yb), min(ya + a.shape[0], yb + b.shape[0])):
        right = np.flatnonzero(a[r - ya] > 0.5)
        left = np.flatnonzero(b[r - yb] > 0.5)
        if right.size and left.size:
            x = int(right[-1] - left[0])
            best = x if best is None else max(best, x)
    return a.shape[1] if best is None else best


def compose(
    glyphs: list[np.ndarray],
    gaps: list[int | None],
    rng: np.random.Generator,
    margin: int = 30,
    overlap: int = 2,
) -> tuple[np.ndarray, np.ndarray]:
    """Glyphs left to right, ``gaps[i]`` px apart (negative: their boxes overlap;
    None: their ink touches, crossing by up to ``overlap`` px), at varying heights:
    the row's ink and which glyph each pixel's ink is (-1: paper)."""
    tallest = max(g.shape[0] for g in glyphs)
    height = tallest + tallest // 5 + 2 * margin
    tops = [margin + int(rng.integers(0, height - 2 * margin - g.shape[0] + 1)) for g in glyphs]
    xs = [margin]
    for i, gap in enumerate(gaps):
        a, b = glyphs[i], glyphs[i + 1]
        if gap is None:
            step = _meet(a, tops[i], b, tops[i + 1]) - int(rng.integers(0, overlap + 1))
        else:
            step = a.shape[1] + gap
        xs.append(max(margin, xs[-1] + step))
    width = max(x + g.shape[1] for x, g in zip(xs, glyphs, strict=True)) + margin
    ink = np.zeros((height, width), np.float32)
    owner = np.full((height, width), -1, np.int32)
    for i, (x, y, g) in enumerate(zip(xs, tops, glyphs, strict=True)):
        region = ink[y : y + g.shape[0], x : x + g.shape[1]]
        owner[y : y + g.shape[0], x : x + g.shape[1]][g > region] = i
        np.maximum(region, g, out=region)
    owner[ink <= 0.25] = -1
    return ink, owner


def random_row(
    images: np.ndarray, labels: np.ndarray, kind: str, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A row of ``kind`` (see :data:`KINDS`) in a random style: (ink, owner)."""
    n = int(rng.integers(2, 7))
    picks = [int(rng.integers(len(images)))]
    for _ in range(n - 1):
        # Doubled digits ("00", "11") are common and hard: a joined pair looks like one.
        if rng.random() < REPEAT:
            same = np.flatnonzero(labels == labels[picks[-1]])
            picks.append(int(rng.choice(same)))
        else:
            picks.append(int(rng.integers(len(images))))
    style = str(rng.choice(list(STYLES), p=list(STYLES.values())))
    height = int(rng.integers(50, 140))
    wide_share = {"touching": 0.0, "joined": 0.0, "wide": 0.5, "mixed": 0.33, "spaced": 0.1}[kind]
    glyphs = []
    for i in picks:
        wide = labels[i] != 1 and rng.random() < wide_share
        stretch = float(rng.uniform(1.25, 1.8)) if wide else 1.0
        glyphs.append(_glyph(images[i], int(height * rng.uniform(0.8, 1.0)), stretch, style, rng))
    gaps: list[int | None]
    if kind == "touching":
        gaps = [None] * (n - 1)
    elif kind == "joined":
        gaps = [-int(rng.integers(1, max(2, height // 10) + 1)) for _ in range(n - 1)]
    elif kind in ("wide", "spaced"):
        gaps = [int(rng.uniform(0.08, 0.4) * height) for _ in range(n - 1)]
    else:
        gaps = [int(rng.uniform(-0.08, 0.4) * height) for _ in range(n - 1)]
    return compose(glyphs, gaps, rng, overlap=max(1, height // 25))


def row_examples(ink: np.ndarray, owner: np.ndarray) -> tuple[list[np.ndarray], list[float]]:
    """The reader's candidates of a row (both layouts, as it reads them): their
    windows, and 1.0 for each that is one whole digit, else 0.0."""
    paper = np.round(255 * (1.0 - ink)).astype(np.uint8)
    _, reduced = _reduced_ink(paper, "auto")
    if reduced is None or reduced.shape != owner.shape:
        return [], []  # reduced: taller than WORK_HEIGHT would need its owners pooled too
    windows: list[np.ndarray] = []
    whole: list[float] = []
    for split in (True, False):
        pieces, candidates, was_split, pixels = _candidates(reduced, split=split)
        for c in candidates:
            x0, y0, mine = _run_mask(pixels, pieces, c.first, c.end)
            box = (slice(y0, y0 + mine.shape[0]), slice(x0, x0 + mine.shape[1]))
            owners = owner[box][mine & (reduced[box] > 0.25)]
            owners = owners[owners >= 0]
            if owners.size == 0 or c.window is None:
                continue
            counts = np.bincount(owners)
            digit = int(counts.argmax())
            purity = counts[digit] / owners.size
            cover = counts[digit] / max(1, int((owner == digit).sum()))
            windows.append(np.round(255 * c.window).astype(np.uint8))
            whole.append(float(purity >= PURE and cover >= PURE))
        if not was_split:
            break
    return windows, whole


def _examples(args: tuple) -> tuple[np.ndarray, np.ndarray]:
    images, labels, rows, seed = args
    rng = np.random.default_rng(seed)
    windows: list[np.ndarray] = []
    whole: list[float] = []
    for i in range(rows):
        w, y = row_examples(*random_row(images, labels, KINDS[i % len(KINDS)], rng))
        windows += w
        whole += y
    return np.stack(windows), np.asarray(whole, np.float32)


def examples(
    images: np.ndarray, labels: np.ndarray, rows: int, seed: int, workers: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Windows (uint8) and labels from ``rows`` random rows, made on every core."""
    workers = workers or os.cpu_count() or 1
    chunks = [rows // workers + (k < rows % workers) for k in range(workers)]
    jobs = [(images, labels, n, (seed, k)) for k, n in enumerate(chunks) if n]
    # Spawned, not forked: forking a process that runs TensorFlow's threads can deadlock.
    with ProcessPoolExecutor(len(jobs), mp_context=multiprocessing.get_context("spawn")) as pool:
        parts = list(pool.map(_examples, jobs))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def train_check(
    x_train: np.ndarray,
    y_train: np.ndarray,
    out_dir: str | os.PathLike,
    config: CheckConfig | None = None,
    log: Callable[[str], None] = print,
) -> dict:
    """Train the check on MNIST training digits (the validation split left out),
    write ``whole_check.keras``, ``.tflite`` and the card into ``out_dir``; the card."""
    import keras

    from .ml.export import write_litert
    from .ml.train import split_validation

    config = config or CheckConfig()
    # The same split as the digit model's (a small data set: half of it).
    held_out = min(config.validation_images, len(y_train) // 2)
    keep, _ = split_validation(y_train.astype(np.int32), held_out, config.split_seed)
    images, labels = x_train[keep], y_train[keep]
    log(f"composing {config.rows} rows and {config.validation_rows} for validation")
    x, y = examples(images, labels, config.rows, config.seed)
    vx, vy = examples(images, labels, config.validation_rows, config.seed + 1000)
    log(f"{len(x)} candidates, {y.mean():.1%} whole; validation {len(vx)}")

    class Batches(keras.utils.PyDataset):
        """uint8 windows to floats a batch at a time (as floats they would not fit)."""

        def __init__(self, x, y, shuffle: bool) -> None:
            super().__init__()
            self.x, self.y, self.shuffle = x, y, shuffle
            self.order = np.arange(len(x))
            self.rng = np.random.default_rng(config.seed)
            self.on_epoch_end()

        def __len__(self) -> int:
            return -(-len(self.x) // config.batch_size)

        def __getitem__(self, i: int):
            k = self.order[i * config.batch_size : (i + 1) * config.batch_size]
            return self.x[np.sort(k)].astype(np.float32) / 255.0, self.y[np.sort(k)]

        def on_epoch_end(self) -> None:
            if self.shuffle:
                self.rng.shuffle(self.order)

    keras.utils.set_random_seed(config.seed)
    model = build_check_model()
    model.compile(
        keras.optimizers.Adam(config.learning_rate),
        keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[keras.metrics.BinaryAccuracy(threshold=0.0), keras.metrics.AUC(from_logits=True)],
    )
    history = model.fit(
        Batches(x, y, True),
        epochs=config.epochs,
        validation_data=Batches(vx, vy, False),
        callbacks=[keras.callbacks.ReduceLROnPlateau(patience=1, factor=0.3)],
        verbose=2,
    )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    keras_path, tflite_path = out / f"{CHECK_STEM}.keras", out / f"{CHECK_STEM}.tflite"
    model.save(keras_path)
    write_litert(model, tflite_path)
    last = {k: round(float(v[-1]), 4) for k, v in history.history.items() if k != "learning_rate"}
    card = {
        "model": CHECK_STEM,
        "what": "log probability that a number reader's candidate is one whole digit",
        "window": list(WINDOW),
        "trained_on": "rows composed from MNIST training digits, the validation split held out",
        "config": asdict(config),
        "candidates": {
            "train": len(x),
            "validation": len(vx),
            "whole_share": round(float(y.mean()), 4),
        },
        "history": last,
        cards.CHECKSUMS: cards.file_checksums(keras_path, tflite_path),
    }
    cards.card_path(keras_path).write_text(json.dumps(card, indent=2) + "\n")
    log(f"saved {keras_path} (+ .tflite, .json): validation {last}")
    return card
