"""One :class:`Classifier` interface, two engines.

* ``keras``: the source of truth, run with TensorFlow through a ``tf.function``
  with a fixed input signature (``model.predict`` costs ~48 ms per call, a
  direct call ~1 ms).
* ``litert``: the LiteRT export of the same model, ~0.3 ms per image and no
  TensorFlow, so it starts in a tenth of a second; the packaged app uses it.

Both return calibrated probabilities: the logits are divided by the
temperature recorded in the model card (``mnist_cnn.json``) before the softmax.

Every model is checked when it loads, so a wrong or damaged file is a
:class:`ModelError` (one line for a person), never a misreading: 28 x 28 input,
ten outputs, a sane card, the files' checksums against the card, and outputs
that are finite numbers.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mnist_desktop.preprocess import (
    SIZE,
    ImageSource,
    Polarity,
    Preprocessed,
    preprocess,
    with_other_readings,
)
from mnist_desktop.resources import default_model_path

from . import card as cards
from .calibration import softmax
from .quiet import native_stderr_silenced

ENGINES = ("auto", "keras", "litert")

UNSURE_BELOW = 0.6
"""A calibrated top probability below this is reported as unsure."""
CLOSE_RATIO = 0.5
"""...and so is a runner-up with at least this fraction of the winner's probability."""

BLANK = "blank"
"""``Prediction.reason`` when there is nothing to read (empty canvas, blank page)."""
NOT_A_DIGIT = "not a digit"
"""``Prediction.reason`` when there is ink, but the model says it is no digit."""


class ModelError(RuntimeError):
    """The model file is missing or damaged, or the engine cannot run."""


@dataclass
class Prediction:
    """The answer for one image."""

    digit: int | None
    """The predicted digit; None when there is none (see ``reason``)."""
    confidence: float
    """Calibrated probability of ``digit`` (0 when there is none)."""
    probabilities: list[float]
    """Ten calibrated probabilities (all 0 when blank; kept for a rejected
    input, so a person can still pick the right digit)."""
    preprocessed: Preprocessed | None = None
    alternatives: list[int] = field(default_factory=list)
    """The runner-up when the model cannot tell it apart from ``digit`` ("4 or 9?")."""
    reason: str | None = None
    """Why there is no digit: :data:`BLANK` or :data:`NOT_A_DIGIT`; None when read."""

    @property
    def blank(self) -> bool:
        """Nothing to read at all (no ink)."""
        return self.reason == BLANK

    @property
    def rejected(self) -> bool:
        """There is ink, but the model judges it is not a digit."""
        return self.reason == NOT_A_DIGIT

    @property
    def best(self) -> int | None:
        """The most probable digit, even for a rejected input (None when blank)."""
        if self.digit is not None:
            return self.digit
        return None if self.blank else int(np.argmax(self.probabilities))

    @property
    def unsure(self) -> bool:
        return bool(self.alternatives) or (
            self.digit is not None and self.confidence < UNSURE_BELOW
        )

    @property
    def label(self) -> str:
        """What to tell a person: "4", "4 or 9?", "7?", "not a digit" or "no digit"."""
        if self.rejected:
            return NOT_A_DIGIT
        if self.digit is None:
            return "no digit"
        if self.alternatives:
            return " or ".join(str(d) for d in [self.digit, *self.alternatives]) + "?"
        return f"{self.digit}?" if self.unsure else str(self.digit)

    def to_dict(self) -> dict:
        """JSON-ready: a read digit has no ``reason`` key."""
        out = {
            "digit": self.digit,
            "confidence": round(self.confidence, 6),
            "probabilities": [round(p, 6) for p in self.probabilities],
        }
        if self.reason is not None:
            out["reason"] = self.reason
        return out


def make_prediction(
    probabilities: np.ndarray,
    preprocessed: Preprocessed | None = None,
    reject_below: float | None = None,
) -> Prediction:
    """Turn ten calibrated probabilities into a :class:`Prediction`.

    ``reject_below``: a top probability under this means "not a digit" (the
    model was trained to spread its probability over all ten digits on things
    that are no digit, so a low top is its way of saying so); None never rejects.
    """
    if preprocessed is not None and preprocessed.blank:
        return Prediction(None, 0.0, [0.0] * 10, preprocessed, reason=BLANK)
    probs = [float(p) for p in probabilities]
    order = np.argsort(probabilities)[::-1]
    top = probs[order[0]]
    if reject_below is not None and top < reject_below:
        return Prediction(None, 0.0, probs, preprocessed, reason=NOT_A_DIGIT)
    alternatives = []
    if top < UNSURE_BELOW or probs[order[1]] >= CLOSE_RATIO * top:
        alternatives = [int(d) for d in order[1:2] if probs[d] >= CLOSE_RATIO * top]
    return Prediction(int(order[0]), top, probs, preprocessed, alternatives)


def best_reading(predictions: Sequence[Prediction]) -> Prediction:
    """The answer for one image from the predictions for its readings, the
    first being the preprocessing's own choice of paper.

    That choice stands when it reads a digit: the other tone taken as paper
    turns the space around strokes into shapes (a loop's inside, a filled
    outline) that can look like a digit too.  Only when it finds no digit
    (blank, or "not a digit") does the other reading the model is surest of
    answer, and only if it reads a digit surely: a guess ("7?", "4 or 9?")
    from the image read the other way round is no better an answer than "not
    a digit?" (blots of random blocks were read as digits 172 times in 500 so,
    106 with one reading, 131 with sure ones only)."""
    first = predictions[0]
    read = [p for p in predictions[1:] if p.digit is not None and not p.unsure]
    if first.digit is not None or not read:
        return first
    return max(read, key=lambda p: p.confidence)


def read_card(model_path: str | os.PathLike) -> dict:
    """The checked model card beside ``model_path`` (``<stem>.json``), {} if there is none.

    Raises :class:`ModelError` for a card that is damaged or not a model card.
    """
    try:
        return cards.read_card(model_path)
    except cards.CardError as exc:
        raise ModelError(str(exc)) from exc


INPUT_SHAPES = ((SIZE, SIZE), (SIZE, SIZE, 1))
"""What a model may take per image: 28 x 28, with or without a channel axis."""


def _check_shapes(path: Path, inputs: Sequence, outputs: Sequence) -> tuple[int, ...]:
    """The per-image input shape, after checking one 28 x 28 input and ten outputs."""

    def dims(shape) -> tuple:
        return tuple(None if d is None or d < 0 else int(d) for d in shape)

    if len(inputs) != 1 or len(outputs) != 1:
        raise ModelError(
            f"the model file {path} does not fit this app: it has {len(inputs)} input(s) and "
            f"{len(outputs)} output(s), not one 28x28 image in and ten digit scores out"
        )
    per_image, out = dims(inputs[0])[1:], dims(outputs[0])
    if per_image not in INPUT_SHAPES:
        shown = "x".join("?" if d is None else str(d) for d in per_image) or "a scalar"
        raise ModelError(
            f"the model file {path} does not fit this app: it takes {shown} inputs, "
            "not 28x28 images"
        )
    if len(out) != 2 or out[1] != 10:
        count = out[-1] if len(out) == 2 else "x".join(map(str, out[1:])) or "1"
        raise ModelError(
            f"the model file {path} does not fit this app: it gives {count} outputs per "
            "image, not ten (one per digit)"
        )
    return per_image


class Classifier(ABC):
    """Classifies images of digits; subclasses implement :meth:`logits`."""

    engine: str = ""

    def __init__(self, model_path: Path, card: dict) -> None:
        self.model_path = model_path
        try:
            self.card = cards.validate_card(card)
        except cards.CardError as exc:
            raise ModelError(str(exc)) from exc
        self.temperature = cards.temperature(card)
        self.reject_below: float | None = cards.reject_below(card)
        """From the card: a top probability under this is "not a digit" (None: never)."""

    @abstractmethod
    def logits(self, images: np.ndarray) -> np.ndarray:
        """Logits (N, 10) for a batch of preprocessed (N, 28, 28) float images."""

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """Calibrated probabilities (N, 10) for preprocessed (N, 28, 28) images."""
        images = np.asarray(images, dtype=np.float32).reshape(-1, SIZE, SIZE)
        if len(images) == 0:
            return np.zeros((0, 10), np.float32)
        logits = self.logits(images)
        if not np.isfinite(logits).all():
            # A damaged model answers NaN or infinity: never a confidence (nor NaN in JSON).
            raise ModelError(
                f"the model {self.model_path.name} gave outputs that are not numbers "
                "(NaN or infinity); the model file is damaged"
            )
        return softmax(logits, self.temperature)

    def reading_probabilities(self, readings: Sequence[Preprocessed]) -> np.ndarray:
        """Calibrated probabilities (N, 10) for readings with ink.

        A reading with :attr:`~Preprocessed.unstretched` images is the mean of
        its image's probabilities and theirs, the image weighing as much as they
        do together: the digit may not have been stretched at all (a round 0
        cropped to its ink), and narrowed it reads less surely.  (With an
        equal share each, the held-out pen writers' squarish digits cropped to
        their ink read 6 in 1,321 worse than from the image alone, this way 1;
        Semeion's scans 4 in 1,542 better than this way.)"""
        if not readings:
            return np.zeros((0, 10), np.float32)
        counts = [1 + len(r.unstretched) for r in readings]
        probs = self.probabilities(
            np.stack([image for r in readings for image in (r.image, *r.unstretched)])
        )
        out, start = [], 0
        for count in counts:
            own, narrowed = probs[start], probs[start + 1 : start + count]
            out.append((own + narrowed.mean(axis=0)) / 2 if count > 1 else own)
            start += count
        return np.array(out)

    def predict_preprocessed(self, pre: Preprocessed) -> Prediction:
        if pre.other_readings:
            return self.classify_many([pre])[0]
        if pre.blank:
            return make_prediction(np.zeros(10), pre)
        return self.verdict(self.reading_probabilities([pre])[0], pre)

    def verdict(self, probabilities: np.ndarray, pre: Preprocessed | None = None) -> Prediction:
        """A :class:`Prediction` from this model's calibrated probabilities, with
        its "not a digit" threshold applied."""
        return make_prediction(probabilities, pre, self.reject_below)

    def classify(
        self,
        source: ImageSource,
        polarity: Polarity = "auto",
        preprocessed: Preprocessed | None = None,
    ) -> Prediction:
        """Preprocess ``source`` (path, bytes, PIL image or array) and classify it;
        ``preprocessed``: its preprocessing, when the caller has it already.

        A close call on the paper whose first reading finds no digit is read the
        other ways too (:attr:`~Preprocessed.other_readings`): only then, as
        each reading costs as much as the first (a photo with a dark desk
        beside the page is a close call too)."""
        pre = preprocessed if preprocessed is not None else preprocess(source, polarity)
        prediction = self.predict_preprocessed(pre)
        if pre.close_call and not pre.other_readings and prediction.digit is None:
            prediction = self.predict_preprocessed(with_other_readings(pre, source, polarity))
        return prediction

    def classify_many(
        self, preprocessed: Sequence[Preprocessed], batch_size: int = 256
    ) -> list[Prediction]:
        """Classify many preprocessed images in batches (blank ones skip the model).

        An image with :attr:`~Preprocessed.other_readings` is answered from
        one of them when its own reading finds no digit (see :func:`best_reading`)."""
        readings = [[p, *p.other_readings] for p in preprocessed]
        todo = [r for group in readings for r in group if not r.blank]
        answers: dict[int, Prediction] = {}
        for start in range(0, len(todo), batch_size):
            chunk = todo[start : start + batch_size]
            probs = self.reading_probabilities(chunk)
            for r, row in zip(chunk, probs, strict=True):
                answers[id(r)] = self.verdict(row, r)
        return [
            best_reading([answers.get(id(r)) or make_prediction(np.zeros(10), r) for r in group])
            for group in readings
        ]

    def describe(self) -> str:
        acc = self.card.get("test_accuracy")
        extra = f", MNIST test accuracy {acc:.2%}" if isinstance(acc, float) else ""
        return f"{self.engine} engine, {self.model_path.name}{extra}"


class KerasClassifier(Classifier):
    engine = "keras"

    def __init__(self, model_path: Path, card: dict) -> None:
        super().__init__(model_path, card)
        _check_keras_archive(model_path, card)
        with native_stderr_silenced():  # TensorFlow's, absl's and oneDNN's start-up notes
            self._load(model_path)

    def _load(self, model_path: Path) -> None:
        try:
            import keras
            import tensorflow as tf
        except ImportError as exc:
            raise ModelError(
                "the keras engine needs TensorFlow, which is not installed; use --engine litert"
            ) from exc
        try:
            self.model = keras.saving.load_model(model_path, compile=False)
        except Exception as exc:  # zip, h5, json and config errors all land here
            raise ModelError(
                f"the model file {model_path} is damaged or not a Keras model ({exc})"
            ) from exc
        model = self.model
        try:
            inputs = [tuple(t.shape) for t in model.inputs]
            outputs = [tuple(t.shape) for t in model.outputs]
        except Exception as exc:  # a model that was never built has no shapes
            raise ModelError(
                f"the model file {model_path} does not fit this app: it has no fixed input shape"
            ) from exc
        per_image = _check_shapes(model_path, inputs, outputs)

        @tf.function(
            input_signature=[tf.TensorSpec([None, SIZE, SIZE], tf.float32)], reduce_retracing=True
        )
        def _call(x):
            return model(tf.reshape(x, [-1, *per_image]), training=False)

        self._call = _call
        try:  # trace once now, not on the first request
            self._call(np.zeros((1, SIZE, SIZE), np.float32))
        except Exception as exc:
            raise ModelError(f"the model file {model_path} cannot run ({exc})") from exc

    def logits(self, images: np.ndarray) -> np.ndarray:
        return np.asarray(self._call(images), dtype=np.float32)


def _check_keras_archive(path: Path, card: dict) -> None:
    """A .keras file is a zip: a truncated or altered one is "damaged", whatever Keras
    would say about it ("File not found" for a truncated one)."""
    import zipfile

    expected = cards.recorded(card, "keras")
    if expected is not None and cards.sha256_file(path) != expected:
        raise ModelError(
            f"the model file {path} is damaged: it does not match the checksum in its model card"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except Exception as exc:  # BadZipFile, EOFError, zlib.error, ...
        raise ModelError(
            f"the model file {path} is damaged: not a complete .keras archive ({exc})"
        ) from exc
    if bad is not None:
        raise ModelError(f"the model file {path} is damaged: {bad} inside it is corrupt")


class LiteRTRunner:
    """One LiteRT interpreter for a model's bytes: batches of any size (the input
    resized when the size changes), one caller at a time.  Raises ValueError or
    RuntimeError for bytes that are no LiteRT model."""

    def __init__(self, content: bytes) -> None:
        from ai_edge_litert.interpreter import Interpreter

        with native_stderr_silenced():  # "INFO: Created TensorFlow Lite XNNPACK delegate"
            self._interpreter = Interpreter(model_content=content, num_threads=1)
        inputs = self._interpreter.get_input_details()
        outputs = self._interpreter.get_output_details()
        self.input_shapes = [d["shape_signature"] for d in inputs]
        self.output_shapes = [d["shape_signature"] for d in outputs]
        self._input, self._output = inputs[0]["index"], outputs[0]["index"]
        self._shape: list[int] = []
        self._lock = threading.Lock()

    def resize(self, shape: Sequence[int]) -> None:
        """Allocate for a batch of ``shape`` (done by :meth:`run` when it changes)."""
        with native_stderr_silenced():
            self._interpreter.resize_tensor_input(self._input, list(shape), strict=False)
            self._interpreter.allocate_tensors()
        self._shape = list(shape)

    def run(self, batch: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        with self._lock:
            if list(batch.shape) != self._shape:
                self.resize(batch.shape)
            self._interpreter.set_tensor(self._input, batch)
            self._interpreter.invoke()
            return self._interpreter.get_tensor(self._output).copy()


class LiteRTClassifier(Classifier):
    engine = "litert"

    def __init__(self, model_path: Path, card: dict) -> None:
        super().__init__(model_path, card)
        try:
            import ai_edge_litert.interpreter  # noqa: F401
        except ImportError as exc:
            raise ModelError("the litert engine needs the ai-edge-litert package") from exc
        try:
            # From bytes, not from the path: a path is memory-mapped for the
            # interpreter's lifetime, and on Windows a mapped file cannot be
            # replaced, which improving the personal model in use does.
            content = Path(model_path).read_bytes()
        except OSError as exc:
            raise ModelError(f"cannot read the model file {model_path} ({exc})") from exc
        expected = cards.recorded(card, "tflite")
        if expected is not None and cards.sha256_bytes(content) != expected:
            # A flipped byte can still load and misread digits with confidence.
            raise ModelError(
                f"the model file {model_path} is damaged: it does not match the checksum in "
                "its model card"
            )
        try:
            self._runner = LiteRTRunner(content)
            self._per_image = _check_shapes(
                model_path, self._runner.input_shapes, self._runner.output_shapes
            )
            self._runner.resize([1, *self._per_image])
        except (ValueError, RuntimeError) as exc:
            if isinstance(exc, ModelError):
                raise
            raise ModelError(
                f"the model file {model_path} is damaged or not a LiteRT model ({exc})"
            ) from exc

    def logits(self, images: np.ndarray) -> np.ndarray:
        return self._runner.run(np.asarray(images).reshape(-1, *self._per_image))


def tensorflow_available() -> bool:
    return importlib.util.find_spec("tensorflow") is not None


def litert_export_matches(model: str | os.PathLike | None = None) -> bool:
    """Whether the model's LiteRT export is there and is the same model as its .keras.

    The card records both files' SHA-256 when they are exported together; a
    card from before that (no checksums) vouches for the pair it was written
    with. Raises :class:`ModelError` for a damaged card.
    """
    tflite, keras_file = model_file("litert", model), model_file("keras", model)
    if not tflite.is_file():
        return False
    card = read_card(tflite)
    for kind, path in (("tflite", tflite), ("keras", keras_file)):
        expected = cards.recorded(card, kind)
        if expected is not None and path.is_file() and cards.sha256_file(path) != expected:
            return False
    return True


def resolve_engine(engine: str = "auto", model: str | os.PathLike | None = None) -> str:
    """The engine to run ``model`` (None: the bundled one) with.

    'auto' is the fast one: 'litert' when the model's LiteRT export is there and
    matches its .keras, else 'keras' when TensorFlow and the .keras are there;
    failing both, 'litert' (whose load then says what is wrong).
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if engine != "auto":
        return engine
    if litert_export_matches(model):
        return "litert"
    if tensorflow_available() and model_file("keras", model).is_file():
        return "keras"
    return "litert"


def model_file(engine: str, model: str | os.PathLike | None = None) -> Path:
    """The file an engine loads: ``model`` or the bundled one, with the engine's suffix."""
    suffix = ".keras" if engine == "keras" else ".tflite"
    path = Path(model) if model else default_model_path(suffix)
    if path.suffix in (".keras", ".tflite") and path.suffix != suffix:
        path = path.with_suffix(suffix)  # the same model in the engine's format
    return path


def load_classifier(engine: str = "auto", model: str | os.PathLike | None = None) -> Classifier:
    """Load the bundled model (or ``model``) with ``engine``: 'auto', 'keras' or 'litert'.

    Raises :class:`ModelError` with a message fit for a person when the model
    file is missing or damaged, or the engine's runtime is not installed.
    """
    engine = resolve_engine(engine, model)
    path = model_file(engine, model)
    if not path.is_file():
        raise ModelError(
            f"model file not found: {path}. Reinstall mnist-desktop, or train one with "
            "'mnist-digits train --data DIR'"
        )
    if path.stat().st_size == 0:
        raise ModelError(f"the model file {path} is empty (0 bytes); reinstall or retrain it")
    card = read_card(path)
    cls = KerasClassifier if engine == "keras" else LiteRTClassifier
    return cls(path, card)
