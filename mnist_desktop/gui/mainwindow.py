"""The main window: canvas, live chart, prediction, model input, menus.

The window holds no ML logic: it sends what the canvas shows to the
:class:`~mnist_desktop.gui.worker.InferenceWorker` on its own thread and shows
what comes back.  Only the newest request's answer is ever shown.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QMimeData, QSize, Qt, QThread, QUrl, Signal, Slot
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QFont,
    QGuiApplication,
    QIcon,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from mnist_desktop import __version__, settings
from mnist_desktop.corrections import CorrectionsError, CorrectionStore
from mnist_desktop.files import IMAGE_SUFFIXES
from mnist_desktop.ml.inference import Prediction
from mnist_desktop.resources import assets_dir

from . import numberoffer, threads
from .body import Body, column
from .canvas import CANVAS_SIZE, DrawingCanvas
from .chart import ProbabilityChart
from .clipboard import image_from_mime
from .exchange import CorrectionsExchange
from .focus import CanvasFocus, PenWidthBox
from .folder import FolderDialog
from .improve import ImproveDialog, personal_model_exists
from .inputview import ModelInputView
from .messagebar import MessageBar
from .numberoffer import NumberOffer
from .numberstrip import NumberStrip
from .percent import percent
from .statusbar import ElidingStatusBar
from .throttle import Throttle
from .toolbar import FittingToolBar
from .worker import InferenceWorker, Request, Result

log = logging.getLogger(__name__)

LIVE_INTERVAL_MS = 40
"""While the pen moves, at most one prediction per this many ms (25 a second)."""
NUMBER_COLUMNS = 3
"""In number mode the canvas is this many squares wide."""
MIN_WIDTH = 640
"""The narrowest window: both modes are laid out to fit it (and 480 px high)."""
SURE_NUMBER = 0.95
"""A number whose digits are all at least this sure is reported as "all sure"."""
REJECTED_ANSWER = "Not a digit?"
"""The headline when the model judges the ink is no digit (never a confident answer)."""
IMAGE_FILTER = f"Images ({' '.join('*' + s for s in IMAGE_SUFFIXES)});;All files (*)"
_SP = QStyle.StandardPixmap
_FALLBACK_ICONS = {
    "document-open": _SP.SP_DialogOpenButton,
    "document-save": _SP.SP_DialogSaveButton,
    "edit-undo": _SP.SP_ArrowBack,
    "edit-redo": _SP.SP_ArrowForward,
    "edit-clear": _SP.SP_DialogResetButton,
    "application-exit": _SP.SP_DialogCloseButton,
    "help-about": _SP.SP_MessageBoxInformation,
    "folder-open": _SP.SP_DirOpenIcon,
}
ENGINE_NAMES = {"litert": "LiteRT (fast, default)", "keras": "Keras (TensorFlow)"}


def app_icon() -> QIcon:
    icon = QIcon()
    icons = assets_dir() / "icons"
    for path in sorted(icons.glob("mnist-desktop-*.png")):
        icon.addFile(str(path))
    svg = icons / "mnist-desktop.svg"
    if icon.isNull() and svg.exists():
        icon.addFile(str(svg))
    return icon


def shortcut_keys(shortcuts) -> list[QKeySequence]:
    """The key sequences of ``shortcuts`` (strings or standard keys), each once and
    none empty: a standard key is another shortcut's twin on some platforms (Redo
    is Ctrl+Shift+Z on X11), and an action given one sequence twice ignores it
    as ambiguous; some platforms lack a standard key."""
    keys: list[QKeySequence] = []
    for shortcut in shortcuts:
        key = QKeySequence(shortcut)
        if not key.isEmpty() and key not in keys:
            keys.append(key)
    return keys


class MainWindow(QMainWindow):
    """The mnist-desktop window.

    ``engine``: 'litert' (default, from the settings), 'keras' or 'auto';
    ``model``: a model file, default the bundled one; ``image``: open this file.

    Signals:
        request_classification(object): a :class:`Request` for the worker.
        request_model(str, object): (engine, model path or None) for the worker.
        result_shown(object): a :class:`Result` was shown (for tests and tools).
    """

    request_classification = Signal(object)
    request_model = Signal(str, object)
    result_shown = Signal(object)

    def __init__(
        self,
        engine: str | None = None,
        model: str | os.PathLike | None = None,
        image: str | os.PathLike | None = None,
    ) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle("MNIST Desktop")
        self.setWindowIcon(app_icon())
        # Only the width: the height is what the mode's layout needs (see body.py),
        # so no widget is ever squeezed below its own minimum.
        self.setMinimumWidth(MIN_WIDTH)
        self.setAcceptDrops(True)
        self._engine = engine or settings.read("engine")
        self._explicit_model = str(model) if model else None  # --model wins over the choice
        self.corrections = CorrectionStore()
        self.exchange = CorrectionsExchange(self.corrections, self)
        self.exchange.message.connect(self._on_store_message)
        self._improve_dialog: ImproveDialog | None = None
        self._shut_down = False
        self._model = self._chosen_model()
        self._next_id = 0
        self._opens: dict[int, str] = {}  # request id -> file name, for open requests
        self._model_info: dict = {}
        self._model_error = ""
        self._last_result: Result | None = None  # None while the canvas shows no answer
        self._last_result_id = 0  # the request whose answer is on screen
        self._sent_at = time.perf_counter()
        self._applying_result = False  # showing an opened image is no new request

        self._build_widgets()
        self._build_actions()
        self.focus = CanvasFocus(self, self.canvas, self.pen_width_box)
        self.number_offer = NumberOffer(
            self.result_shown, self.message_bar, lambda: self.set_mode("number")
        )
        self.canvas.setFocus()  # not the first field in the tab order: the keys act on the drawing
        self._start_worker()
        geometry = settings.read("geometry")
        if not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(900, 560)
        if settings.read("mode") == "number":
            self.canvas.set_columns(NUMBER_COLUMNS, undoable=False)
        self.request_model.emit(self._engine, self._model)
        if image:
            self.open_file(image)

    # ------------------------------------------------------------------ UI
    def _build_widgets(self) -> None:
        self.canvas = DrawingCanvas()
        self.canvas.pen_width = settings.read("pen_width")
        self.chart = ProbabilityChart()
        self.chart.digit_clicked.connect(self.correct)
        self.input_view = ModelInputView()
        self.message_bar = MessageBar()
        self.number_strip = NumberStrip()
        self.number_strip.digit_selected.connect(self._show_digit_detail)
        self.number_strip.hide()

        self.prediction_label = QLabel("–")
        self.prediction_label.setObjectName("predictionLabel")
        self.prediction_label.setAccessibleName("Predicted digit")
        self.prediction_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._big_font = QFont(self.font())
        self._big_font.setPointSizeF(self._big_font.pointSizeF() * 4.5)
        self._big_font.setBold(True)
        self._medium_font = QFont(self._big_font)
        self._medium_font.setPointSizeF(self._big_font.pointSizeF() * 0.5)
        self.prediction_label.setFont(self._big_font)
        self.prediction_label.setMinimumWidth(160)

        self.confidence_label = QLabel("Draw a digit, or open an image")
        self.confidence_label.setObjectName("confidenceLabel")
        self.confidence_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.confidence_label.setWordWrap(True)

        input_caption = QLabel("What the model sees")
        input_caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        small = QFont(self.font())
        small.setPointSizeF(small.pointSizeF() * 0.9)
        input_caption.setFont(small)

        self.teach_hint = QLabel("Wrong? Click the right digit's bar to teach the model.")
        self.teach_hint.setObjectName("teachHint")
        self.teach_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.teach_hint.setWordWrap(True)
        self.teach_hint.setFont(small)
        self.teach_hint.setEnabled(False)  # drawn in the palette's quieter, disabled colour

        self.body = Body(
            self.canvas,
            column(self.prediction_label, self.confidence_label, stretch=0),
            column(self.input_view, input_caption),
            self.number_strip,
            column(self.chart, self.teach_hint, stretch=0),
        )
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self.message_bar)
        layout.addWidget(self.body, 1)
        self.setCentralWidget(central)

        self.engine_label = QLabel()
        self.engine_label.setObjectName("engineLabel")
        self.model_label = QLabel("loading model…")
        self.model_label.setObjectName("modelStateLabel")
        self.timing_label = QLabel()
        self.timing_label.setObjectName("timingLabel")
        # A fixed size: a new text every live update then repaints just this
        # label; a label that may resize makes the status bar lay out and
        # repaint all of itself.
        metrics = self.timing_label.fontMetrics()
        self.timing_label.setFixedSize(metrics.horizontalAdvance("00000.0 ms"), metrics.height())
        self.timing_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        status = ElidingStatusBar()
        self.setStatusBar(status)
        status.addPermanentWidget(self.timing_label)
        status.addPermanentWidget(self.engine_label)
        status.addPermanentWidget(self.model_label)

        self._live = Throttle(self._request_current, LIVE_INTERVAL_MS, self)
        self.canvas.drawing_changed.connect(self._live)
        self.canvas.stroke_finished.connect(self._on_stroke_finished)
        self.canvas.state_changed.connect(self._on_canvas_state_changed)

    def _icon(self, theme_name: str) -> QIcon:
        """The desktop theme's icon, else Qt's built-in one (no theme on some desktops)."""
        fallback = _FALLBACK_ICONS.get(theme_name)
        if fallback is None:
            return QIcon.fromTheme(theme_name)
        return QIcon.fromTheme(theme_name, self.style().standardIcon(fallback))

    def _action(self, text: str, slot, shortcuts=(), tip: str = "", icon: str = "") -> QAction:
        action = QAction(text, self)
        if icon:
            action.setIcon(self._icon(icon))
        keys = shortcut_keys(shortcuts)
        if keys:
            action.setShortcuts(keys)
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts work even with the toolbar hidden
        return action

    def _build_actions(self) -> None:
        K = QKeySequence.StandardKey
        self.open_action = self._action(
            "&Open image…", self.open_dialog, [K.Open], "Open an image of a digit", "document-open"
        )
        self.save_action = self._action(
            "&Save drawing as PNG…",
            self.save_dialog,
            [K.Save],
            "Save the canvas as a PNG",
            "document-save",
        )
        self.folder_action = self._action(
            "Classify &folder…",
            self.folder_dialog,
            ["Ctrl+Shift+O"],
            "Classify every image in a folder",
            "folder-open",
        )
        self.quit_action = self._action(
            "&Quit", self.close, [K.Quit, "Ctrl+Q"], "Quit", "application-exit"
        )
        self.undo_action = self.canvas.undo_stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcuts(shortcut_keys([K.Undo]))
        self.undo_action.setIcon(self._icon("edit-undo"))
        self.redo_action = self.canvas.undo_stack.createRedoAction(self, "&Redo")
        self.redo_action.setShortcuts(shortcut_keys(["Ctrl+Shift+Z", K.Redo]))
        self.redo_action.setIcon(self._icon("edit-redo"))
        self.addAction(self.undo_action)
        self.addAction(self.redo_action)
        self.copy_action = self._action(
            "&Copy image",
            self.copy_image,
            [K.Copy],
            "Copy the canvas to the clipboard",
            "edit-copy",
        )
        self.paste_action = self._action(
            "&Paste image",
            self.paste_image,
            [K.Paste],
            "Classify the image on the clipboard",
            "edit-paste",
        )
        self.clear_action = self._action(
            "C&lear", self.canvas.clear, ["Esc", "Delete"], "Clear the canvas", "edit-clear"
        )
        self.about_action = self._action(
            "&About MNIST Desktop", self.show_about, tip="About", icon="help-about"
        )

        self.pen_width_box = PenWidthBox()
        self.pen_width_box.setRange(4, 60)
        self.pen_width_box.setSuffix(" px")
        self.pen_width_box.setValue(self.canvas.pen_width)
        self.pen_width_box.setToolTip("Pen width (of a 280 px canvas)")
        self.pen_width_box.setAccessibleName("Pen width")
        self.pen_width_box.valueChanged.connect(self.set_pen_width)
        pen_group = QActionGroup(self)
        self.pen_actions = {}
        for name, width, key in (
            ("&Thin", 12, "Ctrl+1"),
            ("&Medium", 20, "Ctrl+2"),
            ("T&hick", 32, "Ctrl+3"),
        ):
            action = self._action(
                f"{name} pen ({width} px)", lambda _=False, w=width: self.set_pen_width(w), [key]
            )
            action.setCheckable(True)
            action.setChecked(width == self.canvas.pen_width)
            pen_group.addAction(action)
            self.pen_actions[width] = action

        engine_group = QActionGroup(self)
        self.engine_actions = {}
        for engine, label in ENGINE_NAMES.items():
            action = self._action(label, lambda _=False, e=engine: self.set_engine(e))
            action.setCheckable(True)
            action.setChecked(engine == self._engine)
            engine_group.addAction(action)
            self.engine_actions[engine] = action

        mode_group = QActionGroup(self)
        self.digit_mode_action = self._action(
            "Single &digit",
            lambda: self.set_mode("digit"),
            ["Ctrl+Shift+D"],
            "Draw one digit on a square canvas",
        )
        self.number_mode_action = self._action(
            "Whole &number",
            lambda: self.set_mode("number"),
            ["Ctrl+Shift+N"],
            "Write a number of several digits on a wide canvas",
        )
        for action in (self.digit_mode_action, self.number_mode_action):
            action.setCheckable(True)
            mode_group.addAction(action)
        self.digit_mode_action.setChecked(True)

        self.improve_action = self._action(
            "&Improve the model on my corrections…",
            self.improve_dialog,
            tip="Fine-tune a personal copy of the model on the drawings you corrected",
        )
        self.export_corrections_action = self._action(
            "&Export corrections…",
            self.exchange.export_dialog,
            tip="Save your corrections as a zip",
        )
        self.import_corrections_action = self._action(
            "I&mport corrections…", self.exchange.import_dialog, tip="Add corrections from a zip"
        )
        model_group = QActionGroup(self)
        self.bundled_model_action = self._action(
            "&Bundled model",
            lambda: self.use_personal_model(False),
            tip="The model shipped with the app",
        )
        self.personal_model_action = self._action(
            "&Personal model",
            lambda: self.use_personal_model(True),
            tip="The model fine-tuned on your corrections",
        )
        for action in (self.bundled_model_action, self.personal_model_action):
            action.setCheckable(True)
            model_group.addAction(action)
        self._sync_model_actions()

        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addActions([self.open_action, self.folder_action, self.save_action])
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit_menu = menu.addMenu("&Edit")
        edit_menu.addActions([self.undo_action, self.redo_action])
        edit_menu.addSeparator()
        edit_menu.addActions([self.copy_action, self.paste_action, self.clear_action])
        mode_menu = menu.addMenu("&Mode")
        mode_menu.addActions([self.digit_mode_action, self.number_mode_action])
        pen_menu = menu.addMenu("&Pen")
        pen_menu.addActions(list(self.pen_actions.values()))
        model_menu = menu.addMenu("Mo&del")
        correct_menu = model_menu.addMenu("&Correct the answer: it is a…")
        correct_menu.setObjectName("correctMenu")
        self.correct_actions = []
        for digit in range(10):
            action = correct_menu.addAction(f"&{digit}", lambda _=False, d=digit: self.correct(d))
            self.correct_actions.append(action)
        model_menu.addAction(self.improve_action)
        model_menu.addSeparator()
        model_menu.addActions([self.bundled_model_action, self.personal_model_action])
        model_menu.addSeparator()
        model_menu.addActions([self.export_corrections_action, self.import_corrections_action])
        engine_menu = menu.addMenu("E&ngine")
        engine_menu.addActions(list(self.engine_actions.values()))
        help_menu = menu.addMenu("&Help")
        help_menu.addAction(self.about_action)

        toolbar = FittingToolBar("Main", self)
        self.addToolBar(toolbar)
        toolbar.setObjectName("mainToolBar")
        toolbar.setMovable(False)
        toolbar.setIconSize(QSize(18, 18))
        # Short labels of fixed length (the Undo action's text names the step undone,
        # "Undo Open a_long_file_name.jpg": that goes in the menu and the tooltip).
        for action, label in (
            (self.open_action, "Open"),
            (self.save_action, "Save"),
            (self.undo_action, "Undo"),
            (self.redo_action, "Redo"),
            (self.clear_action, "Clear"),
        ):
            action.setIconText(label)
        toolbar.addActions([self.open_action, self.save_action])
        toolbar.addSeparator()
        toolbar.addActions([self.undo_action, self.redo_action, self.clear_action])
        toolbar.addSeparator()
        toolbar.addActions([self.digit_mode_action, self.number_mode_action])
        toolbar.addSeparator()
        toolbar.addWidget(QLabel(" Pen: "))
        toolbar.addWidget(self.pen_width_box)
        toolbar.set_compactable(
            [self.open_action, self.save_action, self.undo_action, self.redo_action,
             self.clear_action]
        )  # fmt: skip
        self.toolbar = toolbar

    # -------------------------------------------------------------- worker
    def _start_worker(self) -> None:
        self._thread = QThread()
        self._thread.setObjectName("inference")
        self.worker = InferenceWorker()
        self.worker.moveToThread(self._thread)
        self._thread.finished.connect(self.worker.deleteLater)
        self.request_classification.connect(self.worker.classify)
        self.request_model.connect(self.worker.load)
        self.worker.model_loading.connect(self._on_model_loading)
        self.worker.model_ready.connect(self._on_model_ready)
        self.worker.model_failed.connect(self._on_model_failed)
        self.worker.check_failed.connect(self._on_check_failed)
        self.worker.result_ready.connect(self._on_result)
        self.worker.request_failed.connect(self._on_request_failed)
        self._thread.start()
        self._stopped = False

    def stop_worker(self, until: float | None = None) -> None:
        """Stop the worker thread: it ends after the request in hand (a few ms);
        waits at most until ``until`` (see gui/threads.py)."""
        if self._stopped:
            return
        self._stopped = True
        self._live.cancel()
        self.worker.supersede(self._next_id + 1)  # drop anything still queued
        self.worker.shutdown_loader(until)
        threads.stop_thread(self._thread, self.worker, until)

    def shutdown(self) -> None:
        """Stop every background job, waiting ~1.2 s at most in all, so quitting
        never hangs; a job still busy then is left to finish detached."""
        if self._shut_down:
            return
        self._shut_down = True
        until = threads.deadline()
        if self._improve_dialog is not None:
            self._improve_dialog.shutdown(until)  # cancels a fine-tuning
            self._improve_dialog.close()
        for dialog in self.findChildren(FolderDialog):
            dialog.shutdown(until)
        self.exchange.shutdown(until)
        self.stop_worker(until)
        self.canvas.shutdown()

    def _new_id(self) -> int:
        self._next_id += 1
        self.worker.supersede(self._next_id)
        return self._next_id

    def _send(self, request: Request) -> None:
        self._sent_at = time.perf_counter()
        self.request_classification.emit(request)

    def _request_current(self) -> None:
        """Classify what the canvas shows now (newest request wins)."""
        if self._stopped:
            return
        source = self.canvas.source()
        request_id = self._new_id()
        if source is None:
            self._show_blank()
            return
        data, polarity = source
        self._send(Request(request_id, data, polarity, mode=self.mode))

    # -------------------------------------------------------------- slots
    @Slot()
    def _on_stroke_finished(self) -> None:
        self._live.cancel()

    @Slot()
    def _on_canvas_state_changed(self) -> None:
        self._sync_mode()
        if not self._applying_result:
            self._live.cancel()
            self._request_current()

    @Slot(str)
    def _on_model_loading(self, message: str) -> None:
        self.model_label.setText(message)

    @Slot(dict)
    def _on_model_ready(self, info: dict) -> None:
        self._model_info = info
        self._model_error = ""
        self.message_bar.clear_message("model")
        engine = info["engine"]
        self.engine_label.setText(f"engine: {engine}")
        if info.get("provisional"):
            self.model_label.setText(f"answering with {engine} while {info['wanted']} loads…")
        else:
            self.model_label.setText(f"model: {self._model_name(info['path'])}")
        if not self._opens:  # an image being opened gets its answer from this model anyway
            self._request_current()

    @Slot(str)
    def _on_check_failed(self, message: str) -> None:
        self.message_bar.show_message(
            f"Numbers are read without the whole-digit check: {message}. Reinstall "
            "mnist-desktop to restore it; single digits are not affected.",
            "warning",
            tag="check",
        )

    @Slot(str)
    def _on_model_failed(self, message: str) -> None:
        if self._model and not self._explicit_model and self._model_name(self._model) == "personal":
            # A damaged personal model: the bundled one answers, and the banner says so.
            self._model = None
            self.request_model.emit(self._engine, None)
            self._sync_model_actions()
            self.message_bar.show_message(
                f"Your personal model could not be loaded ({message}); the bundled model "
                "answers instead. Model ▸ Improve the model on my corrections makes a new one.",
                "warning",
                tag="personal-model",
            )
            return
        self._model_error = message
        if self._model_info:
            # A stand-in engine still answers: say what failed, keep working.
            self.model_label.setText(f"engine: {self._model_info['engine']} ({message})")
            self.message_bar.show_message(
                f"The {self._engine} engine could not be loaded: {message}. "
                f"Predictions keep coming from the {self._model_info['engine']} engine.",
                "warning",
                tag="model",
            )
            return
        self.model_label.setText("no model")
        self.engine_label.setText("")
        self.message_bar.show_message(
            f"The digit model could not be loaded: {message}\n"
            "You can keep drawing; nothing is lost. To fix it, reinstall mnist-desktop "
            "(pip install --force-reinstall mnist-desktop) or train a model with "
            "'mnist-digits train --data DIR', then restart.",
            "error",
            tag="model",
        )
        self.chart.clear("No model loaded")

    @Slot(object)
    def _on_result(self, result: Result) -> None:
        name = self._opens.pop(result.id, None)
        if result.id != self._next_id:
            return  # superseded by a newer request: never show a stale answer
        if result.image is not None:
            self._applying_result = True
            try:
                self.canvas.set_image(result.image, name or result.name)
            finally:
                self._applying_result = False
            self.message_bar.clear_message("open")
            self.statusBar().showMessage(f"Opened {name or result.name}", 4000)
        self._show(result)

    @Slot(int, str)
    def _on_request_failed(self, request_id: int, message: str) -> None:
        name = self._opens.pop(request_id, None)
        if name is None and request_id != self._next_id:
            return
        if name and message.startswith(f"{name}: "):
            message = message[len(name) + 2 :]  # the file is named once
        what = f"Could not open {name}" if name else "Could not classify the image"
        if self.canvas.state().strokes:
            keep = "Your drawing is unchanged."
        elif self.canvas.state().image is not None:
            keep = "The image shown is unchanged."
        else:
            keep = ""
        self.message_bar.show_message(f"{what}: {message}. {keep}".strip(), "error", tag="open")
        if name is not None:
            # The failed open superseded any answer in flight for the canvas: ask again.
            self._request_current()

    # ------------------------------------------------------------- display
    @property
    def _last_prediction(self) -> Prediction | None:
        """The answer on screen (None: blank, or no model yet)."""
        return self._last_result.prediction if self._last_result else None

    def _set_answer(self, text: str) -> None:
        """The big answer: one digit large; "4 or 9?" smaller so it fits.  A
        number is always the smaller size: the answer shares its row with the
        wide canvas, which a change of font would move under the pen."""
        number = self.canvas.columns > 1
        font = self._big_font if len(text) <= 2 and not number else self._medium_font
        if self.prediction_label.font() != font:  # a new font means a new layout: only on change
            self.prediction_label.setFont(font)
        if self.prediction_label.text() != text:
            self.prediction_label.setText(text)

    def _show_blank(self) -> None:
        self._last_result = None
        self._last_result_id = self._next_id
        self._set_answer("–")
        hint = "Write a number" if self.mode == "number" else "Draw a digit"
        self.confidence_label.setText(f"{hint}, or open an image")
        self.input_view.set_array(None)
        self.chart.clear("No model loaded" if self._model_error and not self._model_info else hint)
        self.number_strip.clear(hint)
        self.timing_label.clear()  # no answer on screen, so no time for one
        self.message_bar.clear_message(numberoffer.TAG)

    def _show(self, result: Result) -> None:
        prediction = result.prediction
        self.input_view.set_array(
            result.preprocessed.image, narrowed=bool(result.preprocessed.unstretched)
        )
        self._last_result = result
        self._last_result_id = result.id
        if result.number is not None:
            self._show_number(result)
        elif prediction is None:
            self._set_answer("–")
            waiting = "no model loaded" if self._model_error else "loading the model…"
            self.confidence_label.setText(f"({waiting})")
            self.chart.clear("No model loaded" if self._model_error else "Loading model…")
        elif prediction.blank:
            self._set_answer("–")
            self.confidence_label.setText("No digit found")
            self.chart.clear("No digit found" if not self.canvas.is_empty() else "Draw a digit")
        elif prediction.rejected:
            # Never a confident answer: greyed bars, no winner; a click on a bar still
            # says what it is (kept as a correction like any other).
            self._set_answer(REJECTED_ANSWER)
            self.confidence_label.setText(
                "This does not look like a digit to the model. If it is one, click its bar."
            )
            self.chart.set_probabilities(prediction.probabilities, muted=True)
        else:
            self._set_answer(prediction.label)
            if prediction.alternatives:
                parts = [
                    f"{d}: {percent(prediction.probabilities[d])}"
                    for d in [prediction.digit, *prediction.alternatives]
                ]
                self.confidence_label.setText("Unsure — " + ", ".join(parts))
            elif prediction.unsure:
                self.confidence_label.setText(f"Unsure — {percent(prediction.confidence)}")
            else:
                # Written as its bar is: the headline and the chart agree.
                self.confidence_label.setText(f"{percent(prediction.confidence)} sure")
            self.chart.set_probabilities(prediction.probabilities, prediction.digit)
        total = (time.perf_counter() - self._sent_at) * 1000
        # The total on the bar (short: the file name of a message needs the room),
        # the parts in the tooltip.
        self.timing_label.setText(f"{total:.1f} ms")
        if result.number is not None:
            parts = f"reading the number {result.inference_ms:.1f} ms"
        else:
            parts = (
                f"preprocessing {result.preprocess_ms:.1f} ms + model {result.inference_ms:.1f} ms"
            )
        self.timing_label.setToolTip(f"From drawing to answer: {total:.1f} ms ({parts})")
        self.result_shown.emit(result)

    def _show_number(self, result: Result) -> None:
        """A number: the text, a box per digit on the canvas, a cell per digit in the strip."""
        number = result.number
        assert number is not None
        digits = number.digits
        if not digits:
            self._set_answer("–")
            self.confidence_label.setText("No digits found")
            self.chart.clear("No digits found")
            self.number_strip.clear("No digits found")
            self.canvas.set_boxes([], [], result.preprocessed.source_size)
            return
        # A mark the model judges no digit is left out of the number (shown as "?").
        read = [i for i, d in enumerate(digits) if not d.prediction.rejected]
        left_out = len(digits) - len(read)
        self._set_answer("".join(str(digits[i].prediction.digit) for i in read) or "–")
        parts = [f"{len(read)} digit{'s' if len(read) != 1 else ''}"]
        if read:
            least = min(read, key=lambda i: digits[i].prediction.confidence)
            worst = digits[least].prediction
            if worst.unsure or worst.confidence < SURE_NUMBER:
                where = f" (digit {read.index(least) + 1})" if len(read) > 1 else ""
                parts.append(f"least sure: {worst.label}{where} at {percent(worst.confidence)}")
            else:
                parts.append("all sure" if len(read) > 1 else f"{percent(worst.confidence)} sure")
        if left_out:
            parts.append(f"{left_out} mark{'s' if left_out > 1 else ''} left out: not a digit")
        if number.touching:
            parts.append("some digits touch and were split")
        self.confidence_label.setText(" · ".join(parts))
        keep = self.number_strip.selected()
        selected = keep if 0 <= keep < len(digits) else 0
        self.number_strip.set_digits(
            [
                (d.prediction.best, d.prediction.confidence, d.prediction.probabilities,
                 d.prediction.unsure, d.prediction.rejected)
                for d in digits
            ],
            selected,
        )  # fmt: skip
        self.canvas.set_boxes(
            [d.box for d in digits],
            ["?" if d.prediction.rejected else d.prediction.label for d in digits],
            result.preprocessed.source_size,
            selected,
            muted=[d.prediction.rejected for d in digits],
        )
        self._show_digit_detail(selected)

    @Slot(int)
    def _show_digit_detail(self, index: int) -> None:
        """The full chart and model input of digit ``index`` of the number on screen."""
        result = self._last_result
        if result is None or result.number is None or not 0 <= index < len(result.number.digits):
            return
        digit = result.number.digits[index]
        self.chart.set_probabilities(
            digit.prediction.probabilities, digit.prediction.digit, digit.prediction.rejected
        )
        self.input_view.set_array(digit.image)
        self.canvas.select_box(index)

    # ------------------------------------------------------------ commands
    def set_pen_width(self, width: int) -> None:
        self.canvas.pen_width = int(width)
        if self.pen_width_box.value() != width:
            self.pen_width_box.setValue(int(width))
        for w, action in self.pen_actions.items():
            action.setChecked(w == width)
        settings.write("pen_width", int(width))

    @property
    def mode(self) -> str:
        """'digit' (a square canvas, one digit) or 'number' (a wide canvas)."""
        return "number" if self.canvas.columns > 1 else "digit"

    def set_mode(self, mode: str) -> None:
        """Switch between one digit and a whole number (undoable: nothing is lost)."""
        if mode not in ("digit", "number"):
            raise ValueError(f"mode must be 'digit' or 'number', not {mode!r}")
        settings.write("mode", mode)
        self.canvas.set_columns(NUMBER_COLUMNS if mode == "number" else 1)
        self._sync_mode()
        self.focus.restore()  # the toolbar's mode buttons leave the keys with the canvas

    def _sync_mode(self) -> None:
        """Lay the window out for the canvas's mode (an undo may change it)."""
        number = self.canvas.columns > 1
        (self.number_mode_action if number else self.digit_mode_action).setChecked(True)
        if self.body.number_mode() != number:
            # The number layout never holds the digit canvas's 200 px minimum height
            # nor the digit's large answer, not even for a moment: showing the
            # number strip lays the window out at once, and it would grow to fit.
            if number:
                self.canvas.setMinimumSize(420, 160)
                self._set_answer(self.prediction_label.text())
            self.body.set_number_mode(number)
            if not number:
                self.canvas.setMinimumSize(200, 200)
            self.canvas.setToolTip("Write a number here" if number else "Draw a digit here")
            self._set_answer(self.prediction_label.text())  # its size for the mode

    # ------------------------------------------------- corrections & models
    def _chosen_model(self) -> str | None:
        """The model file to load: --model, else the personal one if chosen and there."""
        if self._explicit_model:
            return self._explicit_model
        if settings.read("model") == "personal" and personal_model_exists(self.corrections):
            return str(self.corrections.personal_model_path)
        return None

    def _model_name(self, path: str) -> str:
        if Path(path).parent == self.corrections.personal_model_path.parent:
            return "personal"
        return Path(path).name

    def _sync_model_actions(self) -> None:
        personal = self._model is not None and self._model_name(self._model) == "personal"
        has_personal = personal_model_exists(self.corrections)
        self.personal_model_action.setEnabled(has_personal and not self._explicit_model)
        self.bundled_model_action.setEnabled(not self._explicit_model)
        (self.personal_model_action if personal else self.bundled_model_action).setChecked(True)
        self.personal_model_action.setToolTip(
            "The model fine-tuned on your corrections"
            if has_personal
            else "No personal model yet: Model ▸ Improve the model on my corrections"
        )

    def use_personal_model(self, personal: bool) -> None:
        """Switch between the bundled model and the one fine-tuned on the corrections."""
        settings.write("model", "personal" if personal else "bundled")
        model = self._chosen_model()
        if personal and model is None:
            settings.write("model", "bundled")
            self.message_bar.show_message(
                "There is no personal model yet: correct a few drawings, then "
                "Model ▸ Improve the model on my corrections.",
                "warning",
                tag="model",
            )
        if model != self._model:
            self._model = model
            self.request_model.emit(self._engine, self._model)
        self._sync_model_actions()

    def correct(self, digit: int) -> None:
        """Save what is on screen as a drawing of ``digit``, to learn from later."""
        result = self._last_result
        if result is None or result.id != self._next_id:
            self.statusBar().showMessage("Draw or open a digit first, then say what it is", 5000)
            return
        source = self.canvas.source()
        if result.number is not None:
            index = self.number_strip.selected()
            if not 0 <= index < len(result.number.digits):
                self.statusBar().showMessage("There is no digit to correct", 5000)
                return
            found = result.number.digits[index]
            model_input, predicted = found.image, found.prediction.digit
            x, y, w, h = found.box
            crop = source[0][y : y + h, x : x + w] if source is not None else None
            source_image = crop if crop is not None and crop.size else None
        else:
            if result.prediction is None or result.prediction.blank:
                self.statusBar().showMessage("There is no digit to correct", 5000)
                return
            model_input, predicted = result.preprocessed.image, result.prediction.digit
            source_image = source[0] if source is not None else None
        try:
            saved = self.corrections.add(
                digit, model_input, source_image, predicted, self._drawing_strokes(result)
            )
        except (OSError, CorrectionsError, ValueError) as exc:
            self.message_bar.show_message(
                f"Could not save the correction: {exc}. Your drawing is unchanged.", "error"
            )
            return
        count = len(self.corrections)
        what = "Kept" if predicted == digit else "Saved"
        self.message_bar.show_message(
            f"{what} as a {digit} ({count} correction{'s' if count != 1 else ''} so far). "
            "Model ▸ Improve the model on my corrections learns from them.",
            "info",
            tag="correction",
            action=("Undo", lambda: self._forget_correction(saved.id)),
        )

    def _drawing_strokes(self, result: Result) -> dict | None:
        """The drawing on the canvas as vectors, for the corrections set (None: an image)."""
        state = self.canvas.state()
        if not state.strokes:
            return None
        drawing = {
            "canvas": [CANVAS_SIZE * state.columns, CANVAS_SIZE],
            "strokes": [
                {"width": s.width, "points": [list(p) for p in s.points]} for s in state.strokes
            ],
        }
        if result.number is not None:
            # The digit corrected, as a box in canvas pixels.
            x, y, w, h = result.number.digits[self.number_strip.selected()].box
            scale = CANVAS_SIZE / max(1, result.preprocessed.source_size[1])
            drawing["digit_box"] = [round(v * scale, 1) for v in (x, y, w, h)]
        return drawing

    def _forget_correction(self, correction_id: str) -> None:
        try:
            self.corrections.remove(correction_id)
        except KeyError:
            self.statusBar().showMessage("That correction was already removed", 3000)
            return
        except (OSError, CorrectionsError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            self.message_bar.show_message(
                f"Could not undo the correction ({reason}); it is still saved.", "error"
            )
            return
        self.statusBar().showMessage("Correction removed", 3000)

    def improve_dialog(self) -> ImproveDialog:
        """Open (or raise) the fine-tuning dialog."""
        if self._improve_dialog is None:
            self._improve_dialog = ImproveDialog(self.corrections, self)
            self._improve_dialog.model_ready.connect(self._on_personal_model_ready)
        elif not self._improve_dialog.running():
            self._improve_dialog.deleteLater()
            self._improve_dialog = None
            return self.improve_dialog()  # a fresh one counts the new corrections
        self._improve_dialog.show()
        self._improve_dialog.raise_()
        return self._improve_dialog

    @Slot(str)
    def _on_personal_model_ready(self, path: str) -> None:
        self._model = None  # reload even when the personal model was in use already
        self.use_personal_model(True)

    @Slot(str, str)
    def _on_store_message(self, text: str, level: str) -> None:
        if level == "error":
            self.message_bar.show_message(text, "error", tag="open")
        else:
            self.statusBar().showMessage(text, 5000)

    def set_engine(self, engine: str) -> None:
        if engine == self._engine and self._model_info.get("engine") == engine:
            return
        self._engine = engine
        settings.write("engine", engine)
        self.engine_actions[engine].setChecked(True)
        self.request_model.emit(engine, self._model)

    def open_file(self, path: str | os.PathLike) -> None:
        """Open an image file (read and classified in the worker)."""
        path = os.fspath(path)
        name = os.path.basename(path) or path
        request_id = self._new_id()
        self._opens[request_id] = name
        settings.write("last_folder", os.path.dirname(os.path.abspath(path)))
        self._send(Request(request_id, path, "auto", want_image=True, name=name, mode=self.mode))

    def open_data(self, data: bytes | np.ndarray, name: str) -> None:
        """Open an image given as file bytes or an RGBA array (paste, drop)."""
        request_id = self._new_id()
        self._opens[request_id] = name
        self._send(Request(request_id, data, "auto", want_image=True, name=name, mode=self.mode))

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open image", settings.read("last_folder"), IMAGE_FILTER
        )
        if path:
            self.open_file(path)

    def classify_folder(self, folder: str) -> FolderDialog:
        """Classify every image in ``folder`` in the background (a non-modal dialog)."""
        dialog = FolderDialog(folder, "litert", self._model, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        dialog.start()
        return dialog

    def folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Classify folder", settings.read("last_folder")
        )
        if folder:
            settings.write("last_folder", folder)
            self.classify_folder(folder)

    def save_dialog(self) -> None:
        if self.canvas.is_empty():
            self.statusBar().showMessage("Nothing to save: the canvas is empty", 4000)
            return
        folder = settings.read("last_folder")
        suggested = os.path.join(folder, "digit.png") if folder else "digit.png"
        path, _ = QFileDialog.getSaveFileName(self, "Save drawing", suggested, "PNG image (*.png)")
        if not path:
            return
        if not path.lower().endswith(".png"):
            path += ".png"
        if self.canvas.export_image().save(path, "PNG"):
            settings.write("last_folder", os.path.dirname(os.path.abspath(path)))
            self.statusBar().showMessage(f"Saved {path}", 4000)
        else:
            self.message_bar.show_message(
                f"Could not save {path}: check the folder exists and is writable.", "error"
            )

    def copy_image(self) -> None:
        if self.canvas.is_empty():
            self.statusBar().showMessage("Nothing to copy: the canvas is empty", 4000)
            return
        QGuiApplication.clipboard().setImage(self.canvas.export_image())
        self.statusBar().showMessage("Copied the canvas to the clipboard", 3000)

    def paste_image(self) -> None:
        self._open_mime(QGuiApplication.clipboard().mimeData(), "pasted image")

    def _open_mime(self, mime: QMimeData | None, name: str) -> bool:
        if mime is not None and mime.hasUrls():
            files = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
            if files:
                self.open_file(files[0])
                return True
        data = image_from_mime(mime)
        if data is not None:
            self.open_data(data, name)
            return True
        if mime is not None and mime.hasText():
            text = mime.text().strip()
            path = QUrl(text).toLocalFile() if text.startswith("file:") else text
            if path and os.path.isfile(path):
                self.open_file(path)
                return True
        self.message_bar.show_message(
            f"There is no image to open (the {name.split()[0]} data holds none).", "error"
        )
        return False

    def about_text(self) -> str:
        info = self._model_info
        card = info.get("card", {})
        lines = [
            f"<h3>MNIST Desktop {__version__}</h3>",
            "<p>Draw a digit or open an image; the model recognises it as you draw.</p>",
        ]
        if card:
            lines.append("<p><b>Model</b>: " + Path(info.get("path", "")).name + "<br>")
            if "test_accuracy" in card:
                lines.append(
                    f"MNIST test accuracy: {card['test_accuracy']:.2%} ({card.get('test_n', '')} images)<br>"
                )
            if "parameters" in card:
                lines.append(f"Parameters: {card['parameters']:,}<br>")
            cal = card.get("calibration", {})
            if cal:
                lines.append(
                    f"Calibration: temperature {cal.get('temperature')} (test ECE {cal.get('test_ece')})<br>"
                )
            if "created" in card:
                lines.append(f"Trained: {card['created']} with {card.get('epochs')} epochs<br>")
            lines.append(f"Engine: {info.get('engine')}</p>")
        elif self._model_error:
            lines.append(f"<p><b>No model loaded</b>: {self._model_error}</p>")
        return "".join(lines)

    def show_about(self) -> None:
        QMessageBox.about(self, "About MNIST Desktop", self.about_text())

    # -------------------------------------------------------------- events
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        mime = event.mimeData()
        if mime.hasUrls() or mime.hasImage():
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        if self._open_mime(event.mimeData(), "dropped image"):
            event.acceptProposedAction()

    def closeEvent(self, event: QCloseEvent) -> None:
        settings.write("geometry", self.saveGeometry())
        self.shutdown()
        super().closeEvent(event)
