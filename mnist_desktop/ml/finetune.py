"""Improve the model on the user's corrections, without forgetting MNIST.

A copy of the bundled model is fine-tuned at a low learning rate on batches
that mix a few corrections (sampled with replacement, augmented like training)
with many replayed MNIST training images (and marks taught as "not a digit",
and pen-drawn digits and letters when the pen set is at hand), so the handful
of corrections teaches the user's style while the replay keeps the rest of
what the model knew.  The
batch-normalisation layers are frozen: their statistics come from 55,000
images and must not be dragged by a few dozen drawings.  Plain SGD with
momentum, not Adam: measured here, Adam's per-weight normalised steps moved
even the weights with nothing to learn, and MNIST accuracy fell 0.15 points in
100 steps at a tenth of this learning rate; SGD at 3e-4 still cost 0.2 points
where 1e-4 cost 0.03 (benchmarks/corrections.py).

Every ``check_every`` steps the model is measured on the validation split and
on the corrections; the weights kept are those with the most corrections
right, then the best validation accuracy (:class:`_Keeper`).  MNIST test
accuracy is then measured, before and after, through the app's own
preprocessing; if it drops by more than ``max_test_drop`` the result is
refused (:class:`FineTuneRejected`) and nothing is written, so the app never
silently gets worse.  Files are written like :func:`train.train` writes them:
temporary parts first, then all moved into place together.  No Qt here: the
GUI runs :func:`fine_tune` in a worker thread and passes ``progress`` and
``should_stop``.
"""

from __future__ import annotations

import datetime as _dt
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from mnist_desktop.preprocess import preprocess_batch

from .calibration import expected_calibration_error, fit_temperature, softmax
from .data import Mnist, load_mnist
from .inference import read_card
from .train import (
    VALIDATION_SIZE,
    TrainConfig,
    _logits,
    accuracy_report,
    library_versions,
    save_model_files,
    split_validation,
)

Progress = Callable[[int, int, str], None]

SPLIT_SEED = TrainConfig.split_seed
"""The validation split seed training uses, so the base model's validation images stay unseen."""
PREPROCESS_CHUNK = 1000


@dataclass
class FineTuneConfig:
    steps: int = 200
    batch_size: int = 128
    corrections_per_batch: int = 16
    learning_rate: float = 1e-4
    optimizer: str = "sgd"
    """'sgd' (with momentum 0.9) or 'adam'."""
    max_validation_drop: float | None = None
    """The largest validation accuracy drop a kept checkpoint may show; None:
    no limit (the test guard decides; see :class:`_Keeper`)."""
    check_every: int = 20
    """Steps between checks of the validation accuracy (see :class:`_Keeper`)."""
    seed: int = 1
    augment: bool = True
    max_test_drop: float = 0.001
    """The largest MNIST test accuracy drop accepted (0.001 = 0.1 points)."""
    validation_size: int | None = None
    """Images held out of the replay for calibration; None: as many as the base
    model's card says it held out (so its validation images stay unseen), else 5000."""
    marks_share: float = 0.1
    """The share of replayed images that are synthetic marks taught as "not a
    digit" (uniform targets), so a personal model keeps rejecting scribbles."""
    pen_dir: str | None = None
    """The pen strokes set, if at hand: its training writers' digits and
    letters are replayed too (drawn as on the canvas)."""
    pen_share: float = 0.2
    """The share of replayed images drawn from the pen set, when given."""


class Cancelled(Exception):
    """``should_stop()`` asked to stop; nothing was written."""


class FineTuneRejected(RuntimeError):
    """The fine-tuned model would be worse on MNIST; nothing was written.

    ``card`` holds the measurements (before and after) for the curious.
    """

    def __init__(self, message: str, card: dict) -> None:
        super().__init__(message)
        self.card = card


def load_replay(data_dir: str | os.PathLike | None = None) -> Mnist:
    """MNIST for replay: ``data_dir``, else ``$MNIST_DATA``, else Keras's download.

    Raises :class:`~mnist_desktop.ml.data.DataError` with a message fit for a person.
    """
    return load_mnist(data_dir)


def freeze_batch_norm(layer) -> int:
    """Make every BatchNormalization layer (in nested models too) untrainable; return how many.

    In Keras 3 an untrainable BatchNormalization also runs in inference mode,
    so its moving statistics stay those of the base model.
    """
    import keras

    if isinstance(layer, keras.layers.BatchNormalization):
        layer.trainable = False
        return 1
    return sum(freeze_batch_norm(child) for child in getattr(layer, "layers", []))


def _check_corrections(corrections: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    x, y = corrections
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y).astype(np.int32)
    if x.ndim != 3 or x.shape[1:] != (28, 28) or y.shape != (len(x),):
        raise ValueError(
            f"corrections must be (N, 28, 28) images and N labels, not {x.shape} and {y.shape}"
        )
    if len(x) == 0:
        raise ValueError("there are no corrections to learn from")
    if y.min() < 0 or y.max() > 9:
        raise ValueError("correction labels must be digits 0-9")
    return x, y


def _mixed_batches(n_corr: int, n_replay: int, config: FineTuneConfig) -> np.ndarray:
    """Indices (steps, batch) into [corrections..., replay...]: k corrections, then replay.

    Corrections are drawn with replacement; replay images are taken in
    shuffled passes, so each is seen about equally often.
    """
    rng = np.random.default_rng(config.seed)
    k = config.corrections_per_batch
    r = config.batch_size - k
    corr = rng.integers(0, n_corr, size=(config.steps, k))
    need = config.steps * r
    passes = -(-need // n_replay) if r else 0
    stream = np.concatenate([rng.permutation(n_replay) for _ in range(passes)] or [[]])
    replay = stream[:need].astype(np.int64).reshape(config.steps, r) + n_corr
    return np.concatenate([corr, replay], axis=1)


def fine_tune(
    base_model: str | os.PathLike,
    corrections: tuple[np.ndarray, np.ndarray],
    replay: Mnist,
    out: str | os.PathLike,
    config: FineTuneConfig | None = None,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict:
    """Fine-tune a copy of ``base_model`` on ``corrections`` (inputs, labels); write ``out``.

    ``corrections``: preprocessed (N, 28, 28) floats in [0, 1] and N labels,
    e.g. :meth:`CorrectionStore.arrays`.  ``replay``: MNIST; its training
    images (minus the validation split) are replayed, its test set is the
    yardstick.  ``progress(step, total, message)`` is called now and then
    (step 0 while preparing); ``should_stop()`` is polled and, once true,
    :class:`Cancelled` is raised.  Writes ``out`` (.keras), its .tflite and
    .json card and returns the card; raises :class:`FineTuneRejected` (and
    writes nothing) if MNIST test accuracy would drop by more than
    ``config.max_test_drop``.
    """
    import keras
    import tensorflow as tf

    from .augment import augment

    config = config or FineTuneConfig()
    if config.steps < 1 or not 1 <= config.corrections_per_batch <= config.batch_size:
        raise ValueError("need steps >= 1 and 1 <= corrections_per_batch <= batch_size")
    base_model, out = Path(base_model), Path(out)
    x_corr, y_corr = _check_corrections(corrections)
    total = config.steps
    report = progress or (lambda step, total, message: None)
    stop = should_stop or (lambda: False)

    def check() -> None:
        if stop():
            raise Cancelled("fine-tuning was cancelled")

    def prep(images: np.ndarray, message: str) -> np.ndarray:
        """The app's preprocessing, in chunks so that cancelling is quick."""
        result = np.zeros((len(images), 28, 28), np.float32)
        for i in range(0, len(images), PREPROCESS_CHUNK):
            check()
            report(0, total, f"{message} ({i:,} of {len(images):,})")
            result[i : i + PREPROCESS_CHUNK] = preprocess_batch(images[i : i + PREPROCESS_CHUNK])
        return result

    started = time.time()
    check()
    report(0, total, "Loading the model")
    base_card = read_card(base_model)
    model = keras.saving.load_model(base_model, compile=False)

    # ---- data: the test set, the validation split, a replay subset -----------
    y_all = replay.y_train.astype(np.int32)
    val_size = config.validation_size or int(base_card.get("validation_images") or VALIDATION_SIZE)
    if val_size >= len(y_all):
        raise ValueError(
            f"the replay data has {len(y_all)} training images, too few for "
            f"{val_size} validation images"
        )
    train_idx, val_idx = split_validation(y_all, val_size, SPLIT_SEED)
    rng = np.random.default_rng(config.seed)
    k = config.corrections_per_batch
    n_replay = min(len(train_idx), config.steps * (config.batch_size - k))
    replay_idx = np.sort(rng.choice(train_idx, n_replay, replace=False))
    x_test = prep(replay.x_test, "Preparing the MNIST test images")
    y_test = replay.y_test.astype(np.int32)
    x_val = prep(replay.x_train[val_idx], "Preparing the validation images")
    y_val = y_all[val_idx]
    x_replay = prep(replay.x_train[replay_idx], "Preparing MNIST images to replay")
    y_replay = np.eye(10, dtype=np.float32)[y_all[replay_idx]]
    check()
    report(0, total, "Drawing pen strokes and marks to replay")
    x_more, y_more = _pen_replay(n_replay, config, base_card)
    # The extra replay takes the place of as many MNIST images, so a batch
    # keeps its size and its share of corrections.
    keep = n_replay - len(x_more)
    x_replay = np.concatenate([x_replay[:keep], x_more])
    y_replay = np.concatenate([y_replay[:keep], y_more])

    check()
    report(0, total, "Measuring the current model")
    test_before = _logits(model, x_test).argmax(1)
    corr_before = _logits(model, x_corr).argmax(1)

    # ---- train -----------------------------------------------------------------
    keras.utils.set_random_seed(config.seed)
    frozen = freeze_batch_norm(model)
    pool_x = tf.constant(np.concatenate([x_corr, x_replay]))
    pool_y = tf.constant(np.concatenate([np.eye(10, dtype=np.float32)[y_corr], y_replay]))
    batches = _mixed_batches(len(x_corr), n_replay, config)
    ds = tf.data.Dataset.from_tensor_slices(batches).map(
        lambda idx: (tf.gather(pool_x, idx), tf.gather(pool_y, idx))
    )
    if config.augment:
        ds = ds.map(augment, num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.prefetch(tf.data.AUTOTUNE)
    if config.optimizer == "adam":
        optimizer = keras.optimizers.Adam(config.learning_rate)
    else:
        # Plain SGD with momentum moves each weight in proportion to its
        # gradient: the replayed digits the model already knows barely move
        # it, the corrections do.  Adam normalises every weight's step, so even
        # weights with nothing to learn drift, and MNIST accuracy with them.
        optimizer = keras.optimizers.SGD(config.learning_rate, momentum=0.9)
    # Targets are distributions: one-hot for digits, uniform for marks.
    model.compile(optimizer=optimizer, loss=keras.losses.CategoricalCrossentropy(from_logits=True))
    watcher = _watcher(total, report, stop)
    keeper = _Keeper(model, x_val, y_val, x_corr, y_corr, config)
    train_started = time.time()
    model.fit(ds, epochs=1, verbose=0, shuffle=False, callbacks=[watcher, keeper.callback()])
    if watcher.cancelled:
        raise Cancelled("fine-tuning was cancelled")
    keeper.finish()
    train_seconds = time.time() - train_started

    # The model that is saved: a fresh, uncompiled copy (no optimizer state,
    # BatchNormalization as in the base) holding the fine-tuned weights.  Every
    # measurement below is made on it, so the card describes exactly what is saved.
    tuned = keras.saving.load_model(base_model, compile=False)
    tuned.set_weights(model.get_weights())
    del model

    check()
    report(total, total, "Checking MNIST accuracy")
    val_logits = _logits(tuned, x_val)
    temperature = fit_temperature(val_logits, y_val)
    test_probs = softmax(_logits(tuned, x_test), temperature)
    test_after = test_probs.argmax(1)
    corr_after = _logits(tuned, x_corr).argmax(1)
    after = accuracy_report(y_test, test_after)
    n_test = len(y_test)
    right_before, right_after = (
        int((test_before == y_test).sum()),
        int((test_after == y_test).sum()),
    )
    acc_before, acc_after = right_before / n_test, right_after / n_test

    card = {
        "name": out.stem,
        "kind": "personal",
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "base_model": str(base_model),
        "base_test_accuracy": base_card.get("test_accuracy"),
        "test_accuracy": acc_after,
        "test_accuracy_before": acc_before,
        "test_n": n_test,
        "per_class_accuracy": after["per_class"],
        "confusion": after["confusion"],
        "validation_accuracy": float((val_logits.argmax(1) == y_val).mean()),
        "n_corrections": int(len(y_corr)),
        "corrections_per_digit": np.bincount(y_corr, minlength=10).tolist(),
        "corrections_accuracy_before": float((corr_before == y_corr).mean()),
        "corrections_accuracy_after": float((corr_after == y_corr).mean()),
        "architecture": base_card.get("architecture"),
        "members": base_card.get("members"),
        "parameters": int(tuned.count_params()),
        "frozen_batch_norm_layers": frozen,
        "steps": config.steps,
        "kept_step": keeper.best_step,
        "checkpoints": keeper.history,
        "fine_tune": asdict(config),
        "replay_images": int(n_replay),
        "validation_images": int(len(y_val)),
        "training_seconds": round(train_seconds, 1),
        "seconds": round(time.time() - started, 1),
        "calibration": {
            "method": "temperature scaling on the validation split",
            "temperature": round(temperature, 5),
            "test_ece": round(expected_calibration_error(test_probs, y_test), 5),
        },
        "data": {"source": replay.source, "sha256": replay.checksums},
        "replayed_marks_and_pen": int(len(x_more)),
        "versions": library_versions(),
    }
    if "rejection" in base_card:
        # The base model's "not a digit" threshold, and what it now rejects.
        reject_below = base_card["rejection"]["reject_below"]
        card["rejection"] = {
            **base_card["rejection"],
            "test_mnist_rejected": round(float((test_probs.max(1) < reject_below).mean()), 5),
        }
    # Compare counts, not floats: a drop of exactly max_test_drop is allowed.
    if right_before - right_after > config.max_test_drop * n_test + 1e-9:
        raise FineTuneRejected(
            f"MNIST accuracy would drop from {acc_before * 100:.2f} % to "
            f"{acc_after * 100:.2f} %; the personal model was not saved",
            card,
        )
    if keeper.best_step == 0:
        raise FineTuneRejected(
            f"the model could not learn your {len(y_corr)} correction"
            f"{'s' if len(y_corr) != 1 else ''} without its MNIST accuracy dropping by more "
            f"than {config.max_test_drop * 100:.1f} points; the personal model was not saved",
            card,
        )
    check()
    report(total, total, "Saving the personal model")
    save_model_files(tuned, out, card)
    return card


def _pen_replay(n_replay: int, config: FineTuneConfig, base_card: dict):
    """Synthetic marks (uniform targets) and, with ``config.pen_dir``, the pen
    set's training writers' digits (one-hot) and letters (uniform), drawn as on
    the canvas: (images, targets), together about ``marks_share`` (+
    ``pen_share``) of ``n_replay``."""
    from . import pen

    rng_seed = config.seed + 7
    n_marks = int(config.marks_share * n_replay)
    images, targets = [], []
    if n_marks:
        x, _ = pen.render_samples(pen.synthetic_marks(n_marks, rng_seed), 1, rng_seed)
        images.append(x)
        targets.append(np.full((len(x), 10), 0.1, np.float32))
    n_pen = int(config.pen_share * n_replay) if config.pen_dir else 0
    if n_pen:
        data = pen.load_pen(config.pen_dir)
        # The writers the base model was validated on stay unseen.
        held = set(base_card.get("pen", {}).get("held_out_writers", []))
        pool = [s for s in data.digits + data.letters if s.writer not in held]
        pool = [s for s in pool if isinstance(s.label, int) or pen.is_outlier_letter(s)]
        rng = np.random.default_rng(rng_seed)
        chosen = [pool[i] for i in rng.choice(len(pool), min(n_pen, len(pool)), replace=False)]
        x, index = pen.render_samples(chosen, 1, rng_seed + 1)
        labels = [chosen[i].label for i in index]
        images.append(x)
        targets.append(
            np.stack(
                [
                    np.eye(10, dtype=np.float32)[v]
                    if isinstance(v, int)
                    else np.full(10, 0.1, np.float32)
                    for v in labels
                ]
            )
            if labels
            else np.zeros((0, 10), np.float32)
        )
    if not images:
        return np.zeros((0, 28, 28), np.float32), np.zeros((0, 10), np.float32)
    return np.concatenate(images), np.concatenate(targets)


class _Keeper:
    """Keeps the weights that learn the most corrections and forget the least.

    Every ``config.check_every`` steps the model is measured on the
    validation split (never the test set) and on the corrections; the weights
    kept have the most corrections right, then the best validation accuracy
    (then the most practice), among those within ``config.max_validation_drop``
    of the start when that is set.  The test set then judges only the weights
    kept.  No validation threshold by default: on 5,000 images a few
    borderline digits flip whenever the weights move (measured here: ±0.1
    points over 100 steps of fine-tuning on correctly labelled MNIST digits),
    so a tight threshold refuses everything, and the bundled model was chosen
    on validation, so any change tends to look worse there.
    """

    def __init__(self, model, x_val, y_val, x_corr, y_corr, config: FineTuneConfig) -> None:
        self.model = model
        self.x_val, self.y_val, self.x_corr, self.y_corr = x_val, y_val, x_corr, y_corr
        self.config = config
        limit = config.max_validation_drop
        self.max_drop = float("inf") if limit is None else limit
        self.val_right_before = self._right(x_val, y_val)
        self.best_step = 0
        # The start is kept only if no checkpoint is allowed or gets as many right.
        self.best_key = (self._right(x_corr, y_corr), -1, 0)
        self.best_weights = model.get_weights()
        self.history: list[dict] = []

    def _right(self, x, y) -> int:
        return int((_logits(self.model, x).argmax(1) == y).sum())

    def check(self, step: int) -> None:
        val_right = self._right(self.x_val, self.y_val)
        corr_right = self._right(self.x_corr, self.y_corr)
        drop = (self.val_right_before - val_right) / len(self.y_val)
        self.history.append(
            {
                "step": step,
                "validation_accuracy": val_right / len(self.y_val),
                "corrections_right": corr_right,
            }
        )
        key = (corr_right, val_right, step)
        if drop <= self.max_drop + 1e-9 and key > self.best_key:
            self.best_step, self.best_key = step, key
            self.best_weights = self.model.get_weights()

    def callback(self):
        import keras

        keeper = self
        every = max(1, self.config.check_every)

        class Keep(keras.callbacks.Callback):
            def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
                step = batch + 1
                if step % every == 0 and step < keeper.config.steps:
                    keeper.check(step)

        return Keep()

    def finish(self) -> None:
        """Check the last step too, then load the weights kept."""
        self.check(self.config.steps)
        self.model.set_weights(self.best_weights)


def _watcher(total: int, report: Progress, stop: Callable[[], bool]):
    """A Keras callback that reports progress every few steps and stops when asked."""
    import keras

    class Watch(keras.callbacks.Callback):
        every = max(1, total // 100)
        cancelled = False

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            step = batch + 1
            if stop():
                self.cancelled = True
                self.model.stop_training = True
                return
            if step % self.every == 0 or step == total:
                loss = (logs or {}).get("loss")
                detail = f", loss {float(loss):.3f}" if loss is not None else ""
                report(
                    step, total, f"Learning from the corrections: step {step} of {total}{detail}"
                )

    return Watch()
