"""Train, calibrate, evaluate and export the digit model.

Sections follow the keras-io MNIST example: data, model, train, evaluate.
Every image goes through :func:`mnist_desktop.preprocess.preprocess` first, the
same path the app uses, so the test accuracy is the accuracy users get.
The run writes to temporary files and moves them into place only at the end:
an interrupted run never leaves a half-written model where the app looks.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnist_desktop.preprocess import preprocess_batch

from .calibration import expected_calibration_error, fit_temperature, softmax
from .card import sha256_file
from .data import Mnist

VALIDATION_SIZE = 5000


@dataclass
class TrainConfig:
    epochs: int = 30
    batch_size: int = 128
    learning_rate: float = 2e-3
    seed: int = 1
    split_seed: int = 1
    """Seeds the validation split, kept apart from ``seed`` so that ensemble
    members all hold out the same images."""
    validation_size: int = VALIDATION_SIZE
    augment: bool = True
    members: int = 1
    polish_epochs: int = 4
    """Epochs after the main schedule on mild warps (see :func:`polish`)."""
    polish_learning_rate: float = 2e-4
    pen_dir: str | None = None
    """The pen strokes set (``digits.jsonl``, ``letters.jsonl``): its digits are
    drawn on the canvas and learnt, its letters and synthetic marks are taught
    as "not a digit" (see :mod:`mnist_desktop.ml.pen`)."""
    pen_variants: int = 4
    """Random drawings (size, pen, position) of each training writer's digit."""
    pen_holdout: float = 0.25
    """The fraction of each contributor's writers held out for validation."""
    synthetic_marks: int = 6000
    outlier_weight: float = 0.5
    """Weight of the outliers' uniform-target loss (Hendrycks et al. use 0.5)."""
    boxed_digits: int = 0
    """Narrow training digits stretched to fill a square box, as scanners that
    size-normalise digits leave them (see :mod:`mnist_desktop.ml.boxed`)."""
    style_digits: int = 0
    """Digits drawn in handwriting styles MNIST has few of (a flagged 1, a barred
    7, an open 4, a hooked or looped 9, a flat-topped 3, a slashed 0; see
    :mod:`mnist_desktop.ml.styles`)."""
    segment_outliers: int = 0
    """Pieces of MNIST training digits and touching pairs of them, half each,
    taught as "not a digit" so that reading a number does not take half a 0 or
    two joined digits for one (see :mod:`mnist_desktop.ml.segments`)."""
    mnist_weight: float = 1.0
    """Loss weight of each MNIST training digit (the pen digits weigh 1): above 1,
    the mix leans towards MNIST's handwriting."""
    lowres_share: float = 0.0
    """Share of the training images blurred by a round trip through 8-16 px
    (see :func:`mnist_desktop.ml.augment.augment`); 0.2 for the bundled model."""
    binary_share: float = 0.0
    """Share of the training images turned into binarised 11-16 cell scans
    (see :func:`mnist_desktop.ml.augment.augment`); 0.08 for the bundled model."""
    polish_scans: bool = True
    """Whether the polish phase keeps the low-resolution and binarised shares.
    They are what a scanned input looks like, not a distortion of the digit's
    shape, and a last phase without them let the network drift away from
    upscaled 8x8 digits (runs before 2026-12-02 polished without them)."""
    teacher: str | None = None
    """Distil this trained .keras model (e.g. an ensemble) into the network: each
    warped digit's target is blended with the teacher's probabilities for it."""
    teacher_weight: float = 0.5
    """The teacher's share of a digit's target (the label has the rest)."""
    max_digit_rejection: float = 0.001
    """The "not a digit" threshold is the highest that rejects at most this
    share of held-out writers' digits (and a fifth of it of MNIST validation).
    Real digits from elsewhere are rejected more often than these writers'
    (Semeion's scans four to eight times as often), and the app promises at most
    1 %, hence a tenth of it.  (It was 0.5 % while the held-out digits still
    held the pen set's known faults, which took nearly all of it, then 0.2 %
    until 2026-12-02, when a network surer of the held-out digits had its
    threshold rise so far that it rejected 1.3 % of the real scans.)"""
    init: str | None = None
    """Start from this trained .keras model instead of random weights."""


def split_validation(labels: np.ndarray, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, validation): a stratified random split with exactly ``size`` validation items."""
    rng = np.random.default_rng(seed)
    counts = np.bincount(labels, minlength=10)
    exact = size * counts / len(labels)
    quota = np.floor(exact).astype(int)
    # Largest remainders get the items that rounding down left over.
    quota[np.argsort(quota - exact)[: size - quota.sum()]] += 1
    val = np.sort(
        np.concatenate(
            [rng.choice(np.flatnonzero(labels == d), quota[d], replace=False) for d in range(10)]
        )
    )
    train = np.setdiff1d(np.arange(len(labels)), val)
    return train, val


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    return np.bincount(labels * 10 + predicted, minlength=100).reshape(10, 10)


def accuracy_report(labels: np.ndarray, predicted: np.ndarray) -> dict:
    """Accuracy, per-class accuracy and the confusion matrix (rows: true digit)."""
    conf = confusion_matrix(labels.astype(np.int64), predicted.astype(np.int64))
    per_class = conf.diagonal() / np.maximum(conf.sum(axis=1), 1)
    return {
        "accuracy": float((labels == predicted).mean()),
        "n": int(len(labels)),
        "per_class": [round(float(a), 5) for a in per_class],
        "confusion": conf.tolist(),
    }


def _logits(model, images: np.ndarray, batch: int = 1000) -> np.ndarray:
    return np.concatenate(
        [
            np.asarray(model(images[i : i + batch], training=False))
            for i in range(0, len(images), batch)
        ]
    )


@dataclass
class PenHeldOut:
    """Held-out writers' pen data, drawn on the canvas (validation)."""

    x_digits: np.ndarray
    y_digits: np.ndarray
    contributor: np.ndarray
    """Each digit image's contributor (one tablet, one institution)."""
    x_marks: np.ndarray
    """Their letters that don't look like digits, each drawn once."""
    writers: list[str]


@dataclass
class Prepared:
    """The data set after the app's preprocessing, split for training."""

    x_train: np.ndarray
    y_train: np.ndarray
    """Targets (N, 10): one-hot for digits, uniform for things that are no digit."""
    w_train: np.ndarray
    """Loss weight of each training image."""
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    pen: PenHeldOut | None = None
    pen_card: dict | None = None
    segments: tuple[np.ndarray, np.ndarray] | None = None
    """Pieces and pairs of validation digits (see ``TrainConfig.segment_outliers``)."""
    untaught: int = 0
    """The last ``untaught`` training images keep their own target under a teacher:
    the style and boxed digits, which the teacher never learnt (it reads many a
    flagged 1 as 7)."""


def _one_hot(labels: np.ndarray) -> np.ndarray:
    return np.eye(10, dtype=np.float32)[labels]


def prepare(data: Mnist, config: TrainConfig) -> Prepared:
    """Preprocess every image the way the app does, then split off validation;
    with ``config.pen_dir``, add the pen digits and the outliers."""
    x_all = preprocess_batch(data.x_train)
    y_all = data.y_train.astype(np.int32)
    train_idx, val_idx = split_validation(y_all, config.validation_size, config.split_seed)
    xs, ys, ws = [x_all[train_idx]], [_one_hot(y_all[train_idx])], []
    ws.append(np.full(len(train_idx), config.mnist_weight, np.float32))

    def add(x: np.ndarray, y: np.ndarray, weight) -> None:
        """More training images, their targets and loss weight (one, or one each)."""
        xs.append(x)
        ys.append(y)
        ws.append(np.broadcast_to(np.asarray(weight, np.float32), (len(x),)))

    pen = pen_card = None
    if config.pen_dir:
        extra_x, extra_y, extra_w, pen, pen_card = _prepare_pen(config)
        add(extra_x, extra_y, extra_w)
    segments = None
    if config.segment_outliers > 0:
        from .segments import digit_pairs, digit_pieces

        half = config.segment_outliers // 2
        raw = data.x_train[train_idx]
        x_seg = np.concatenate(
            [
                digit_pieces(raw, half, config.seed + 3),
                digit_pairs(raw, config.segment_outliers - half, config.seed + 4),
            ]
        )
        add(x_seg, np.full((len(x_seg), 10), 0.1, np.float32), config.outlier_weight)
        if config.pen_dir:
            # The validation digits' pieces and pairs, to measure against the
            # "not a digit" threshold the pen set's writers give (never to train on).
            raw_val = data.x_train[val_idx]
            segments = (digit_pieces(raw_val, 1000, 7), digit_pairs(raw_val, 1000, 8))
    untaught = 0
    if config.style_digits > 0:
        from . import pen as pen_module
        from .styles import style_digits

        drawings, labels = style_digits(config.style_digits, config.seed + 5)
        x_style, index = pen_module.render_samples(drawings, 1, config.seed + 6)
        add(x_style, _one_hot(labels[index]), 1.0)
        untaught = len(x_style)
    if config.boxed_digits > 0:
        from .boxed import boxed_digits

        x_so_far, y_so_far = np.concatenate(xs), np.concatenate(ys)
        digit = y_so_far.max(axis=1) > 0.5
        x_box, labels = boxed_digits(
            x_so_far[digit], y_so_far[digit].argmax(axis=1), config.boxed_digits, config.seed + 7
        )
        add(x_box, _one_hot(labels), 1.0)
        untaught += len(x_box)
    x_train, y_train, w_train = np.concatenate(xs), np.concatenate(ys), np.concatenate(ws)
    return Prepared(
        x_train,
        y_train,
        w_train,
        x_all[val_idx],
        y_all[val_idx],
        preprocess_batch(data.x_test),
        data.y_test.astype(np.int32),
        pen,
        pen_card,
        segments,
        untaught,
    )


def _prepare_pen(config: TrainConfig):
    """Training writers' digits (drawn ``pen_variants`` times) and outliers, and
    the held-out writers' drawings for validation."""
    from . import pen

    data = pen.load_pen(config.pen_dir)
    held = set(pen.split_writers(data.digits, config.pen_holdout, config.split_seed))
    train_digits = [s for s in data.digits if s.writer not in held]
    val_digits = [s for s in data.digits if s.writer in held]
    letters = [s for s in data.letters if pen.is_outlier_letter(s)]
    train_letters = [s for s in letters if s.writer not in held]
    val_letters = [s for s in letters if s.writer in held]

    x_digits, index = pen.render_samples(train_digits, config.pen_variants, config.seed)
    y_digits = _one_hot(np.array([train_digits[i].label for i in index], np.int32))
    marks = train_letters + pen.synthetic_marks(config.synthetic_marks, config.seed)
    x_marks, _ = pen.render_samples(marks, 1, config.seed + 1)
    y_marks = np.full((len(x_marks), 10), 0.1, np.float32)
    extra_x = np.concatenate([x_digits, x_marks])
    extra_y = np.concatenate([y_digits, y_marks])
    extra_w = np.concatenate(
        [
            np.ones(len(x_digits), np.float32),
            np.full(len(x_marks), config.outlier_weight, np.float32),
        ]
    )

    xv, vindex = pen.render_grid(val_digits)
    held_out = PenHeldOut(
        xv,
        np.array([val_digits[i].label for i in vindex], np.int32),
        np.array([val_digits[i].contributor for i in vindex]),
        pen.render_samples(val_letters, 1, config.seed + 2)[0],
        sorted(held),
    )
    card = {
        "source": data.source,
        "sha256": data.checksums,
        "split": "by writer: about a quarter of each contributor's writers held out",
        "held_out_writers": sorted(held),
        "train_writers": len({s.writer for s in train_digits}),
        "known_faults_left_out": data.faults_left_out,
        "train_digits": len(train_digits),
        "train_digit_images": int(len(x_digits)),
        "train_outlier_letters": len(train_letters),
        "train_synthetic_marks": config.synthetic_marks,
        "digit_like_letters_left_out": "".join(sorted(pen.DIGIT_LIKE_LETTERS)),
        "validation_digits": len(val_digits),
        "validation_letters": len(val_letters),
        "validation_drawing": {
            "heights": list(pen.EVAL_HEIGHTS),
            "pen_widths": list(pen.EVAL_PEN_WIDTHS),
        },
    }
    return extra_x, extra_y, extra_w, held_out, card


def _dataset(
    prepared: Prepared,
    config: TrainConfig,
    seed: int,
    warps: dict | None = None,
    teacher=None,
):
    """Shuffled training batches, warped by :func:`augment` (``warps``: its settings);
    with a ``teacher``, the digits' targets blend in its probabilities."""
    import tensorflow as tf

    from .augment import augment

    taught = np.ones(len(prepared.x_train), np.float32)
    if prepared.untaught:
        taught[-prepared.untaught :] = 0.0
    ds = tf.data.Dataset.from_tensor_slices(
        (prepared.x_train, prepared.y_train, prepared.w_train, taught)
    )
    ds = ds.shuffle(len(prepared.x_train), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(config.batch_size)
    if config.augment:
        scans = {"lowres_p": config.lowres_share, "binary_p": config.binary_share}
        if warps is None:
            settings = scans
        elif config.polish_scans:
            settings = {**warps, **scans}
        else:
            settings = warps
        ds = ds.map(
            lambda x, y, w, t: (*augment(x, y, **settings), w, t),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    if teacher is not None:
        share = config.teacher_weight

        def distil(x, y, w, t):
            # The teacher sees the very image the student does, warps and all;
            # outliers keep their uniform target (the teacher may be sure of them).
            taught = tf.nn.softmax(teacher(x, training=False), axis=-1)
            blend = (tf.reduce_max(y, axis=-1, keepdims=True) > 0.5) & (t[:, None] > 0.5)
            return x, tf.where(blend, (1 - share) * y + share * taught, y), w

        ds = ds.map(distil)
    else:
        ds = ds.map(lambda x, y, w, t: (x, y, w))
    return ds.prefetch(tf.data.AUTOTUNE)


def fit_member(prepared: Prepared, config: TrainConfig, seed: int, backup: Path, verbose="auto"):
    """Train one network with augmentation and a cosine schedule, then polish it; return it."""
    import keras

    from .model import build_model

    keras.utils.set_random_seed(seed)
    teacher = _teacher(config)
    ds = _dataset(prepared, config, seed, teacher=teacher)
    if config.init:
        model = keras.saving.load_model(config.init, compile=False)
    else:
        model = build_model()
    steps = config.epochs * int(np.ceil(len(prepared.x_train) / config.batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(
        config.learning_rate * 0.1,
        decay_steps=max(1, steps - steps // 20),
        warmup_target=config.learning_rate,
        warmup_steps=steps // 20,
        alpha=0.005,
    )
    backup_cb = keras.callbacks.BackupAndRestore(str(backup), delete_checkpoint=True)
    _fit(model, ds, prepared, config.epochs, schedule, verbose, [backup_cb])
    return polish(model, prepared, config, seed, verbose, teacher)


def _teacher(config: TrainConfig):
    """The frozen model to distil, or None."""
    if not config.teacher:
        return None
    import keras

    teacher = keras.saving.load_model(config.teacher, compile=False)
    teacher.trainable = False
    return teacher


def _fit(model, ds, prepared: Prepared, epochs: int, schedule, verbose, callbacks=()) -> None:
    """Compile ``model`` with a fresh Adam on ``schedule`` and train it on ``ds``."""
    import keras

    # Targets are distributions: one-hot for a digit, uniform for an outlier.
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True),
        metrics=["categorical_accuracy"],
    )
    model.fit(
        ds,
        epochs=epochs,
        validation_data=(prepared.x_val, _one_hot(prepared.y_val)),
        shuffle=False,  # the dataset reshuffles itself every epoch
        callbacks=list(callbacks),
        verbose=verbose,
    )


def polish(model, prepared: Prepared, config: TrainConfig, seed: int, verbose="auto", teacher=None):
    """Train ``config.polish_epochs`` more epochs on mild warps at a small, decaying rate.

    The main schedule's strong distortions (slant, elastic wobble, stroke width)
    make the network robust to users' digits but are themselves a distribution
    shift away from ordinary handwriting; a short last phase on gentle warps
    lets the network settle there without forgetting the rest (measured in the
    model card notes).  The scan shares stay (``config.polish_scans``).  A fresh
    optimizer, so a trained network can be polished later with the same result
    as in one run.
    """
    if config.polish_epochs <= 0:
        return model
    import keras

    from .augment import MILD

    keras.utils.set_random_seed(seed + 1000)
    ds = _dataset(prepared, config, seed + 1000, MILD, teacher)
    steps = config.polish_epochs * int(np.ceil(len(prepared.x_train) / config.batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(config.polish_learning_rate, steps)
    _fit(model, ds, prepared, config.polish_epochs, schedule, verbose)
    return model


def combine(members: list):
    """One inference model without optimizer state: the member, or the mean of members' logits."""
    import keras

    from .model import build_model

    clean = []
    for i, member in enumerate(members):
        copy = build_model(name=f"member_{i + 1}" if len(members) > 1 else "mnist_cnn")
        copy.set_weights(member.get_weights())
        clean.append(copy)
    if len(clean) == 1:
        return clean[0]
    inputs = keras.Input(shape=(28, 28), name="image")
    logits = keras.layers.Average(name="logits")([m(inputs) for m in clean])
    return keras.Model(inputs, logits, name="mnist_cnn_ensemble")


def library_versions() -> dict:
    """The versions a model card records: TensorFlow, Keras, NumPy, Python."""
    import keras
    import tensorflow as tf

    return {
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def save_model_files(model, out: Path, card: dict) -> None:
    """Write ``out`` (.keras), its .tflite and its .json card, all or none.

    Each is written to a ``.part`` file first and the three are moved into
    place together at the end, so the app never finds a half-written model
    (or a model with another model's card). On failure the parts are removed,
    and if moving them in fails half-way (a file locked by another program),
    the previous three are put back.
    """
    from .card import CHECKSUMS, file_checksums
    from .export import write_litert

    out.parent.mkdir(parents=True, exist_ok=True)
    finals = [out, out.with_suffix(".tflite"), out.with_suffix(".json")]
    parts = [out.with_name(out.stem + ".part.keras")] + [
        f.with_name(f.name + ".part") for f in finals[1:]
    ]
    try:
        model.save(parts[0])
        write_litert(model, parts[1])
        # The pair's checksums: 'auto' runs LiteRT only on the export of this very .keras.
        card[CHECKSUMS] = file_checksums(parts[0], parts[1])
        parts[2].write_text(json.dumps(card, indent=2) + "\n")
    except BaseException:
        for part in parts:
            part.unlink(missing_ok=True)
        raise
    # Everything is written: move into place together, the old set aside first.
    olds = [final.with_name(final.name + ".old") for final in finals]
    had_old = [final.exists() for final in finals]
    try:
        for final, old, had in zip(finals, olds, had_old, strict=True):
            if had:
                os.replace(final, old)
        for part, final in zip(parts, finals, strict=True):
            os.replace(part, final)
    except OSError:
        # Back to the previous set (or to none), never a mix of two models.
        for part, final, old, had in zip(parts, finals, olds, had_old, strict=True):
            part.unlink(missing_ok=True)
            if had and old.exists():
                os.replace(old, final)
            elif not had:
                final.unlink(missing_ok=True)
        raise
    for old in olds:
        old.unlink(missing_ok=True)


def train(
    data: Mnist,
    out: str | os.PathLike,
    config: TrainConfig | None = None,
    verbose: int | str = "auto",
    members: list | None = None,
) -> dict:
    """Train on ``data`` and write ``out`` (.keras), its .tflite and its .json card.

    ``config.members`` networks (seeds ``seed``, ``seed + 1``, ...) are trained
    and their logits averaged; ``members`` passes networks already trained on
    the same split (they count towards ``config.members``). Returns the card.
    """
    config = config or TrainConfig()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.time()
    prepared = prepare(data, config)
    trained = list(members or [])
    for i in range(len(trained), config.members):
        backup = out.with_name(f"{out.stem}.member{i + 1}.backup")
        trained.append(fit_member(prepared, config, config.seed + i, backup, verbose))
    model = combine(trained)
    train_seconds = time.time() - started

    # ---- calibrate on validation, evaluate once on test ---------------------
    x_val, y_val = prepared.x_val, prepared.y_val
    val_logits = _logits(model, x_val)
    held = prepared.pen
    if held is not None:
        # Calibrated for drawings as well as for MNIST: both validation sets.
        pen_logits = _logits(model, held.x_digits)
        temperature = fit_temperature(
            np.concatenate([val_logits, pen_logits]), np.concatenate([y_val, held.y_digits])
        )
    else:
        temperature = fit_temperature(val_logits, y_val)
    test_probs = softmax(_logits(model, prepared.x_test), temperature)
    report = accuracy_report(prepared.y_test, test_probs.argmax(axis=1))
    rejection = pen_report = None
    if held is not None:
        val_probs = softmax(val_logits, temperature)
        pen_probs = softmax(pen_logits, temperature)
        marks_probs = softmax(_logits(model, held.x_marks), temperature)
        threshold = choose_rejection(pen_probs, val_probs, config.max_digit_rejection)
        rejection, pen_report = rejection_report(
            threshold, held, pen_probs, val_probs, marks_probs, test_probs, prepared.y_test
        )
        rejection["max_digit_rejection"] = config.max_digit_rejection
        if prepared.segments is not None:
            for name, images in zip(("pieces", "pairs"), prepared.segments, strict=True):
                probs = softmax(_logits(model, images), temperature)
                rejection[f"validation_{name}_rejected"] = round(
                    float((probs.max(1) < threshold).mean()), 5
                )
    member_reports = []
    if len(trained) > 1:
        for member in trained:
            member_reports.append(
                {
                    "validation_accuracy": float(
                        (_logits(member, x_val).argmax(1) == y_val).mean()
                    ),
                    "test_accuracy": float(
                        (_logits(member, prepared.x_test).argmax(1) == prepared.y_test).mean()
                    ),
                }
            )

    # ---- save: the model, its LiteRT export, the card ------------------------
    card = {
        "name": out.stem,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "test_accuracy": report["accuracy"],
        "test_n": report["n"],
        "architecture": "mean of the members' logits" if len(trained) > 1 else "single CNN",
        "per_class_accuracy": report["per_class"],
        "confusion": report["confusion"],
        "validation_accuracy": float((val_logits.argmax(1) == y_val).mean()),
        "parameters": int(model.count_params()),
        "members": len(trained),
        "member_accuracy": member_reports,
        "epochs": config.epochs,
        "batch_size": config.batch_size,
        "learning_rate": config.learning_rate,
        "mnist_weight": config.mnist_weight,
        "seed": config.seed,
        "split_seed": config.split_seed,
        "augmentation": config.augment,
        "lowres_share": config.lowres_share,
        "binary_share": config.binary_share,
        "segment_outliers": config.segment_outliers,
        "style_digits": config.style_digits,
        "boxed_digits": config.boxed_digits,
        "polish_epochs": config.polish_epochs,
        "polish_learning_rate": config.polish_learning_rate,
        "polish_scans": config.polish_scans,
        "train_images": int(len(prepared.x_train)),
        "validation_images": int(len(x_val)),
        "training_seconds": round(train_seconds, 1),
        "calibration": {
            "method": "temperature scaling on the validation split",
            "temperature": round(temperature, 5),
            "validation_ece_before": round(
                expected_calibration_error(softmax(val_logits), y_val), 5
            ),
            "validation_ece_after": round(
                expected_calibration_error(softmax(val_logits, temperature), y_val), 5
            ),
            "test_ece": round(expected_calibration_error(test_probs, prepared.y_test), 5),
        },
        "data": {"source": data.source, "sha256": data.checksums},
        "versions": library_versions(),
    }
    if config.init:
        card["initialised_from"] = str(config.init)
    if config.teacher:
        card["distilled_from"] = {
            "model": str(config.teacher),
            "sha256": sha256_file(config.teacher),
            "teacher_weight": config.teacher_weight,
        }
    if held is not None:
        card["calibration"]["method"] += " and the held-out pen writers' drawings"
        card["pen"] = {**(prepared.pen_card or {}), **pen_report}
        card["outlier_exposure"] = {
            "target": "uniform over the ten digits (Hendrycks et al. 2019)",
            "weight": config.outlier_weight,
            "outliers": "the training writers' letters that don't look like digits, "
            "and synthetic scribbles, dashes, crosses and shapes",
        }
        card["rejection"] = rejection
    save_model_files(model, out, card)
    return card


def choose_rejection(pen_probs: np.ndarray, val_probs: np.ndarray, max_share: float) -> float:
    """The "not a digit" threshold on the top calibrated probability: the highest
    that rejects at most ``max_share`` of held-out writers' drawn digits and a
    fifth of that of the MNIST validation digits."""

    def highest(top: np.ndarray, share: float) -> float:
        top = np.sort(top)
        return float(top[min(int(share * len(top)), len(top) - 1)])

    # Rounded down for the card: rounding up would reject more than allowed.
    threshold = min(highest(pen_probs.max(1), max_share), highest(val_probs.max(1), max_share / 5))
    return math.floor(threshold * 1e4) / 1e4


def rejection_report(threshold, held, pen_probs, val_probs, marks_probs, test_probs, y_test):
    """The card's ``rejection`` section and the held-out writers' scores."""
    drawn = held.x_digits.reshape(len(held.x_digits), -1).max(axis=1) > 0
    top = pen_probs.max(1)
    right = (pen_probs.argmax(1) == held.y_digits) & drawn
    accepted = top >= threshold
    per_contributor = {}
    for name in sorted(set(held.contributor.tolist())):
        mine = held.contributor == name
        per_contributor[name] = {
            "images": int(mine.sum()),
            "accuracy": round(float(right[mine].mean()), 5),
            "rejected": round(float((~accepted[mine]).mean()), 5),
        }
    pen_report = {
        "held_out_accuracy": round(float(right.mean()), 5),
        "held_out_read_right": round(float((right & accepted).mean()), 5),
        "held_out_per_contributor": per_contributor,
    }
    rejection = {
        "score": "top calibrated probability",
        "reject_below": threshold,
        "chosen_on": "validation: held-out pen writers' drawings and the MNIST validation split",
        "validation_digits_rejected": round(float((~accepted).mean()), 5),
        "validation_mnist_rejected": round(float((val_probs.max(1) < threshold).mean()), 5),
        "validation_letters_rejected": round(float((marks_probs.max(1) < threshold).mean()), 5),
        "test_mnist_rejected": round(float((test_probs.max(1) < threshold).mean()), 5),
    }
    return rejection, pen_report
