"""The whole-digit check: does a cut of a row hold one whole digit, no more, no less?

The digit model sees a candidate digit alone, fitted into 28 x 28: a slice of a
0 reads as a 1, and a joined "43" as an 8, as surely as real digits read.  The
check sees the candidate in its row, a window around it with the row's ink and
the candidate's own ink as two channels (:data:`WINDOW`, the row's digits
:data:`ROW_PX` high), so it sees whether strokes run on past the cut, or a
second digit sits inside the candidate.  It answers the log probability that the
candidate is one whole digit; the number reader adds it to a reading's score
(:mod:`mnist_desktop.numbers`).  It is trained by :mod:`mnist_desktop.rowcheck`
on rows composed from MNIST training digits.

Files: ``models/whole_check.keras`` (the source of truth), ``.tflite`` (what the
window, the CLI and the package run) and ``.json`` (the card: checksums, how it
was trained).
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mnist_desktop.resources import models_dir

from . import card as cards
from .inference import LiteRTRunner
from .quiet import native_stderr_silenced

if TYPE_CHECKING:
    import keras

WINDOW = (32, 96)
"""(height, width) of the window around a candidate, in pixels: the row's digits
are :data:`ROW_PX` high in it, and it reaches about two digits to either side."""
ROW_PX = 20
CHECK_STEM = "whole_check"

log = logging.getLogger(__name__)


class CheckError(RuntimeError):
    """The check's file is missing, damaged or cannot run (a message for a person)."""


def build_check_model() -> keras.Model:
    """The (uncompiled) check: windows (N, 32, 96, 2) of floats in [0, 1] -> one logit.

    Three 3 x 3 convolutions each followed by 2 x 2 max-pooling, a fourth, and a
    small dense layer.  Small on purpose: a joined row of ten digits has about a
    hundred candidates, all checked while the user writes.
    """
    import keras
    from keras import layers

    inputs = keras.Input(shape=(*WINDOW, 2), name="window")
    x = inputs
    for filters in (8, 16, 32):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.3)(x)
    x = layers.Dense(32, activation="relu")(x)
    logit = layers.Dense(1, name="logit")(x)
    return keras.Model(inputs, logit, name=CHECK_STEM)


def check_file(engine: str, folder: Path | None = None) -> Path:
    """The check's file for ``engine`` ('keras' or 'litert')."""
    suffix = ".keras" if engine == "keras" else ".tflite"
    return (folder or models_dir()) / (CHECK_STEM + suffix)


def _log_sigmoid(logits: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0.0, -logits.astype(np.float64))


class WholeCheck:
    """The check, loaded for one engine: :meth:`log_whole` of windows."""

    def __init__(self, path: Path, engine: str) -> None:
        self.path, self.engine = Path(path), engine
        if not self.path.is_file():
            raise CheckError(f"the whole-digit check {self.path} is missing")
        try:
            content = self.path.read_bytes()
            card = cards.read_card(self.path)
        except (OSError, cards.CardError) as exc:
            raise CheckError(f"cannot read the whole-digit check {self.path} ({exc})") from exc
        expected = cards.recorded(card, "keras" if engine == "keras" else "tflite")
        if expected is not None and cards.sha256_bytes(content) != expected:
            raise CheckError(
                f"the whole-digit check {self.path} is damaged: it does not match its card"
            )
        try:
            with native_stderr_silenced():
                shape = self._keras(self.path) if engine == "keras" else self._litert(content)
            if shape != (*WINDOW, 2):
                raise CheckError(
                    f"the whole-digit check {self.path} does not take {WINDOW} windows"
                )
            self._run(np.zeros((1, *WINDOW, 2), np.float32))
        except CheckError:
            raise
        except Exception as exc:  # damaged flatbuffer or archive, no runtime
            raise CheckError(f"the whole-digit check {self.path} cannot run ({exc})") from exc

    def _keras(self, path: Path) -> tuple:
        """Load the Keras file; the shape of one window it takes."""
        import keras

        model = keras.saving.load_model(path, compile=False)
        self._run = lambda windows: np.asarray(model(windows, training=False), np.float32)
        return tuple(model.input_shape[1:])

    def _litert(self, content: bytes) -> tuple:
        """Load the LiteRT bytes (the digit classifier's runner); the shape of one window."""
        runner = LiteRTRunner(content)
        self._run = runner.run
        return tuple(int(d) for d in runner.input_shapes[0][1:])

    def log_whole(self, windows: np.ndarray) -> np.ndarray:
        """Log probability that each window's candidate is one whole digit, shape (N,)."""
        windows = np.ascontiguousarray(windows, dtype=np.float32).reshape(-1, *WINDOW, 2)
        if not len(windows):
            return np.zeros(0)
        return _log_sigmoid(self._run(windows).reshape(-1))


@functools.cache
def bundled_check(engine: str) -> WholeCheck | CheckError:
    """The bundled check for ``engine``, loaded once; the error if it can't be."""
    try:
        return WholeCheck(check_file(engine), engine)
    except CheckError as exc:
        log.warning("%s; numbers are read without it", exc)
        return exc
