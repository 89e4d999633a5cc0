"""Inference off the GUI thread: one long-lived worker owns the classifier.

The window talks to :class:`InferenceWorker` only through queued signals.
Every request carries an increasing id; :meth:`InferenceWorker.supersede` is
called from the GUI thread *before* a request is queued, so when the worker
gets to an older request that a newer one has superseded, it drops it without
work: the latest request wins and the queue never builds up.

TensorFlow takes seconds to load.  When the keras engine is asked for, the
worker first loads the LiteRT export of the same model (~0.1 s) and answers
with it, while a :class:`KerasLoader` thread loads TensorFlow; the worker
switches engines when it is ready.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from mnist_desktop.ml.inference import (
    Classifier,
    ModelError,
    Prediction,
    load_classifier,
    resolve_engine,
)
from mnist_desktop.ml.wholecheck import CheckError, bundled_check
from mnist_desktop.numbers import NumberReading, read_number, segment
from mnist_desktop.preprocess import (
    SIZE,
    ImageError,
    ImageSource,
    Preprocessed,
    preprocess,
    read_image,
)

from . import threads

log = logging.getLogger(__name__)


@dataclass
class Request:
    """Classify ``source``; with ``want_image`` also return a displayable copy."""

    id: int
    source: ImageSource
    polarity: str = "auto"
    want_image: bool = False
    name: str = ""
    """What the user knows the source as (a file name), for messages."""
    mode: str = "digit"
    """'digit': one digit; 'number': a row of digits, each classified."""


@dataclass
class Result:
    id: int
    prediction: Prediction | None
    """None while no model is loaded."""
    preprocessed: Preprocessed
    engine: str
    preprocess_ms: float
    inference_ms: float
    image: np.ndarray | None = None
    """RGBA uint8 copy of an opened image (at most ~1024 px a side)."""
    name: str = ""
    number: NumberReading | None = None
    """In number mode: the digits read (None while no model is loaded)."""
    digits_found: int = 0
    """An image opened in digit mode: how many digits the number reader finds in
    it (several: the window offers to read it as a number). 0 otherwise."""


def displayable(data: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """Float grey/RGB (+ alpha) from :func:`read_image` -> RGBA uint8 for display."""
    rgb = np.repeat(data[..., None], 3, axis=2) if data.ndim == 2 else data
    a = np.ones(rgb.shape[:2], np.float32) if alpha is None else alpha
    out = np.concatenate([rgb, a[..., None]], axis=2)
    return np.ascontiguousarray(np.clip(out * 255.0 + 0.5, 0, 255).astype(np.uint8))


class KerasLoader(QThread):
    """Loads a classifier in its own thread (TensorFlow's import takes seconds)."""

    loaded = Signal(object)
    failed = Signal(str)

    def __init__(self, engine: str, model: str | None, parent: QObject | None = None):
        super().__init__(parent)
        self._engine = engine
        self._model = model

    def run(self) -> None:
        try:
            self.loaded.emit(load_classifier(self._engine, self._model))
        except ModelError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # never die silently
            log.exception("loading the %s engine failed", self._engine)
            self.failed.emit(f"{type(exc).__name__}: {exc}")


class InferenceWorker(QObject):
    """Owns the classifier; lives on its own QThread.

    Signals:
        model_loading(str): a message while a model loads.
        model_ready(dict): engine, path and card of the classifier now in use;
            'provisional' is True while a faster engine stands in for the one asked for.
        model_failed(str): the model could not be loaded (message for a person).
        check_failed(str): the number reader's whole-digit check could not be
            loaded; numbers are read without it (said once per engine, at the
            first number: loading it at start-up would keep the worker busy
            past "model ready").
        result_ready(object): a :class:`Result`.
        request_failed(int, str): request id and a message (bad image, ...).
    """

    model_loading = Signal(str)
    model_ready = Signal(dict)
    model_failed = Signal(str)
    check_failed = Signal(str)
    result_ready = Signal(object)
    request_failed = Signal(int, str)

    def __init__(self) -> None:
        super().__init__()
        self._classifier: Classifier | None = None
        self._newest = 0
        self._newest_lock = threading.Lock()
        self._loaders: list[KerasLoader] = []
        self._wanted_engine = ""
        self._check_reported: set[str] = set()

    # -- called from the GUI thread ---------------------------------------
    def supersede(self, request_id: int) -> None:
        """Mark every request older than ``request_id`` as stale (thread-safe)."""
        with self._newest_lock:
            self._newest = max(self._newest, request_id)

    def is_stale(self, request_id: int) -> bool:
        with self._newest_lock:
            return request_id < self._newest

    # -- slots, run in the worker thread -----------------------------------
    @Slot(str, object)
    def load(self, engine: str, model: object = None) -> None:
        """Load ``engine`` ('auto', 'keras' or 'litert') for ``model`` (None: bundled)."""
        model = str(model) if model else None
        try:
            engine = resolve_engine(engine, model)
        except (ValueError, ModelError) as exc:
            self.model_failed.emit(str(exc))
            return
        self._wanted_engine = engine
        self.model_loading.emit(f"loading the {engine} engine…")
        if engine == "keras":
            # Answer at once with LiteRT while TensorFlow loads in the background.
            try:
                self._use(load_classifier("litert", model), provisional=True)
            except ModelError as exc:
                log.info("no LiteRT stand-in while TensorFlow loads: %s", exc)
            self._start_loader(engine, model)
            return
        try:
            self._use(load_classifier(engine, model), provisional=False)
        except ModelError as exc:
            self.model_failed.emit(str(exc))
        except Exception as exc:
            log.exception("loading the %s engine failed", engine)
            self.model_failed.emit(f"{type(exc).__name__}: {exc}")

    def _start_loader(self, engine: str, model: str | None) -> None:
        # No parent, and a reference kept until it ends: a running QThread that
        # is destroyed (with its parent, or by the collector) aborts the process.
        self._loaders = [loader for loader in self._loaders if loader.isRunning()]
        loader = KerasLoader(engine, model)
        loader.loaded.connect(self._on_loader_done)
        loader.failed.connect(self._on_loader_failed)
        self._loaders.append(loader)
        loader.start()

    @Slot(object)
    def _on_loader_done(self, classifier: Classifier) -> None:
        if classifier.engine == self._wanted_engine:
            self._use(classifier, provisional=False)

    @Slot(str)
    def _on_loader_failed(self, message: str) -> None:
        self.model_failed.emit(message)

    def _use(self, classifier: Classifier, provisional: bool) -> None:
        self._classifier = classifier
        self.model_ready.emit(
            {
                "engine": classifier.engine,
                "path": str(classifier.model_path),
                "card": classifier.card,
                "provisional": provisional,
                "wanted": self._wanted_engine,
            }
        )

    @Slot(object)
    def classify(self, request: Request) -> None:
        if self.is_stale(request.id):
            return  # a newer request is queued behind this one
        try:
            self.result_ready.emit(self._run(request))
        except ImageError as exc:
            # Pasted or dropped data is named as the user knows it.
            message = str(exc)
            if request.name and message.startswith("the data: "):
                message = f"{request.name}: {message.removeprefix('the data: ')}"
            self.request_failed.emit(request.id, message)
        except ModelError as exc:
            self.request_failed.emit(request.id, str(exc))
        except MemoryError:
            self.request_failed.emit(request.id, "not enough memory to open this image")
        except Exception:  # the worker must never die silently
            log.error("request %s failed:\n%s", request.id, traceback.format_exc())
            self.request_failed.emit(
                request.id, "the image could not be processed (an internal error, see the log)"
            )

    def _run(self, request: Request) -> Result:
        started = time.perf_counter()
        source, image = request.source, None
        if request.want_image:
            data, alpha, _ = read_image(source)
            image = displayable(data, alpha)
            source = image
        classifier = self._classifier
        if request.mode == "number":
            return self._run_number(request, classifier, source, image, started)
        pre = preprocess(source, request.polarity)  # type: ignore[arg-type]
        prepared = time.perf_counter()
        # Without a model (still loading, or missing) the image and what the
        # model would see still come back; the prediction is None.
        prediction = classifier.classify(source, request.polarity, pre) if classifier else None  # type: ignore[arg-type]
        paper = None
        chosen = prediction.preprocessed if prediction is not None else None
        if chosen is not None and not np.array_equal(chosen.image, pre.image):
            # Answered from another reading of a close call (see Classifier.classify):
            # its digits are counted with the paper that reading took.
            paper = "light" if chosen.polarity == "dark" else "dark"
            pre = chosen
        done = time.perf_counter()
        # Only for an opened image (a live stroke must stay fast): one digit, or a number?
        found = len(segment(source, request.polarity, paper).digits) if image is not None else 0  # type: ignore[arg-type]
        return Result(
            id=request.id,
            prediction=prediction,
            engine=classifier.engine if classifier else "",
            preprocessed=pre,
            preprocess_ms=(prepared - started) * 1000,
            inference_ms=(done - prepared) * 1000,
            image=image,
            name=request.name,
            digits_found=found,
        )

    def _report_check(self, engine: str) -> None:
        """Say once per engine if numbers are read without the whole-digit check
        (read_number has tried to load it by now; the answer is cached)."""
        check = bundled_check(engine)
        if isinstance(check, CheckError) and engine not in self._check_reported:
            self._check_reported.add(engine)
            self.check_failed.emit(str(check))

    def _run_number(
        self,
        request: Request,
        classifier: Classifier | None,
        source: ImageSource,
        image: np.ndarray | None,
        started: float,
    ) -> Result:
        number = read_number(classifier, source, request.polarity) if classifier else None  # type: ignore[arg-type]
        done = time.perf_counter()
        if classifier is not None:
            self._report_check(classifier.engine)
        first = number.digits[0].image if number and number.digits else None
        # The first digit stands in for "what the model sees"; the size is the
        # source's, in whose pixels the digits' boxes are.
        pre = Preprocessed(
            first if first is not None else np.zeros((SIZE, SIZE), np.float32),
            first is None,
            number.polarity if number else "light",
            source_size=number.size if number else (0, 0),
        )
        return Result(
            id=request.id,
            prediction=None,
            engine=classifier.engine if classifier else "",
            preprocessed=pre,
            preprocess_ms=0.0,
            inference_ms=(done - started) * 1000,
            image=image,
            name=request.name,
            number=number,
        )

    def shutdown_loader(self, until: float | None = None) -> None:
        """Wait until ``until`` for a TensorFlow load in progress (it cannot be
        interrupted); one still loading then is left to finish detached.

        Called from the GUI thread when the window closes."""
        for loader in list(self._loaders):
            threads.stop_thread(loader, None, until)
        self._loaders = []
