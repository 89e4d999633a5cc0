"""The window, driven as a person would: real mouse events, files, clipboard."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QApplication, QFileDialog, QLabel

from mnist_desktop.gui import MainWindow
from mnist_desktop.gui.chart import ProbabilityChart
from tests.helpers.dnd import drag_enter_event, drop_event
from tests.helpers.images import boxed_scan, encode, on_paper, png_header_bomb, upscale
from tests.helpers.qt import drag, draw
from tests.helpers.strokes import digit_strokes

TIMEOUT = 15_000


def wait_ready(qtbot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: window.model_label.text().startswith("model:"), timeout=TIMEOUT)


def wait_result(qtbot, window: MainWindow):
    with qtbot.waitSignal(window.result_shown, timeout=TIMEOUT) as blocker:
        pass
    return blocker.args[0]


def ready_window(qtbot, size: tuple[int, int] | None = None) -> MainWindow:
    """A shown MainWindow (optionally resized) whose model has loaded."""
    win = MainWindow()
    qtbot.addWidget(win)
    if size:
        win.resize(*size)
    win.show()
    wait_ready(qtbot, win)
    return win


@pytest.fixture
def window(qtbot, clean_settings):
    return ready_window(qtbot)


def draw_and_wait(qtbot, window, strokes, pause_ms: int = 0):
    """Draw, then wait until the answer for the finished drawing is on screen."""
    draw(window.canvas, strokes, qtbot, pause_ms)
    qtbot.waitUntil(lambda: window._last_result_id == window._next_id, timeout=TIMEOUT)
    return window._last_prediction


def test_contract_object_names(window):
    for name in ("canvas", "probabilityChart", "modelInput", "predictionLabel"):
        assert window.findChild(object, name) is not None, name
    chart = window.findChild(ProbabilityChart, "probabilityChart")
    assert chart.probabilities() == []
    assert isinstance(window.findChild(QLabel, "predictionLabel"), QLabel)
    assert "litert" in window.engine_label.text()


@pytest.mark.parametrize("digit", range(10))
def test_drawn_digits_are_recognised(qtbot, window, digit):
    prediction = draw_and_wait(qtbot, window, digit_strokes(digit))
    assert prediction.digit == digit
    assert window.prediction_label.text().startswith(str(digit))
    probs = window.chart.probabilities()
    assert len(probs) == 10 and int(np.argmax(probs)) == digit
    assert window.input_view.array() is not None and window.input_view.array().max() > 0.9


def test_an_opened_bold_crop_shows_the_reading_it_was_answered_from(
    qtbot, window, tmp_path, mnist_sample
):
    """A bold 8 cropped to its ink: its ink, the larger tone, was once taken for
    the paper ("not a digit?", the paper shown as the digit).  Read the other
    way, it is an 8, and "what the model saw" shows that reading."""
    from mnist_desktop.preprocess import preprocess
    from tests.helpers.images import bold_crop

    images, labels = mnist_sample
    path = tmp_path / "bold8.png"
    for digit in images[labels == 8]:
        bold_crop(digit).save(path)
        pre = preprocess(path, other_readings=True)
        if pre.polarity == "light":  # its own reading takes the ink for the paper
            break
    else:
        pytest.fail("no fixture 8 whose ink is taken for the paper at first")
    window.open_file(path)
    result = wait_result(qtbot, window)
    assert result.prediction.digit == 8 and window.prediction_label.text().startswith("8")
    shown = window.input_view.array()
    away = [float(np.abs(shown - r.image).mean()) for r in [pre, *pre.other_readings]]
    assert min(away[1:]) < 0.01 < away[0], away
    # Its digits are counted with the paper it was read with: one, not the
    # paper's pieces (it offered to read "3 digits" as a number once).
    assert result.digits_found == 1
    assert "digits, not one" not in window.message_bar.text()


def test_an_opened_digit_stretched_square_says_it_was_read_narrowed_too(
    qtbot, window, tmp_path, mnist_sample
):
    """A scan that fills its square frame is read narrowed too; the model's
    input view says so in its tooltip, and a drawing's view does not."""
    from mnist_desktop.gui.inputview import NARROWED_TIP, TIP

    images, labels = mnist_sample
    ones = images[labels == 1]
    path = tmp_path / "scan.png"
    Image.fromarray(boxed_scan(ones[0])).save(path)
    window.open_file(path)
    result = wait_result(qtbot, window)
    assert result.preprocessed.unstretched
    assert window.input_view.toolTip() == NARROWED_TIP
    draw_and_wait(qtbot, window, digit_strokes(1))
    assert window.input_view.toolTip() == TIP


@pytest.mark.parametrize(
    ("digit", "size", "center", "width", "slant"),
    [
        (3, 90, (70, 80), 10, 0.0),  # small, top left, thin pen
        (7, 250, (140, 140), 36, 0.15),  # big, thick marker, leaning
        (2, 150, (200, 180), 24, -0.1),
        (5, 120, (90, 200), 16, 0.1),
        (8, 200, (150, 130), 30, 0.0),
        (4, 160, (170, 120), 12, 0.2),
    ],
)
def test_sizes_positions_and_pen_widths(qtbot, window, digit, size, center, width, slant):
    window.set_pen_width(width)
    prediction = draw_and_wait(qtbot, window, digit_strokes(digit, size, center, slant))
    assert prediction.digit == digit


def test_chart_follows_the_pen_during_a_stroke(qtbot, window):
    updates = []
    window.chart.probabilities_changed.connect(lambda p: updates.append(p))
    stroke = digit_strokes(0)[0]
    canvas = window.canvas
    from tests.helpers.qt import _send, to_widget

    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    from PySide6.QtCore import QEvent

    _send(canvas, QEvent.Type.MouseButtonPress, to_widget(canvas, *stroke[0]), left, left)
    for x, y in stroke[1:]:
        _send(canvas, QEvent.Type.MouseMove, to_widget(canvas, x, y), none, left)
        qtbot.wait(15)
    during = len(updates)
    _send(canvas, QEvent.Type.MouseButtonRelease, to_widget(canvas, *stroke[-1]), left, none)
    qtbot.waitUntil(lambda: window._last_result_id == window._next_id, timeout=TIMEOUT)
    assert during >= 3, "the chart must update while the pen moves, not only on release"
    assert int(np.argmax(window.chart.probabilities())) == 0


def test_undo_redo_clear(qtbot, window):
    one = digit_strokes(1)
    draw_and_wait(qtbot, window, one)
    canvas = window.canvas
    drag(canvas, [(40, 40), (60, 60)])
    assert len(canvas.state().strokes) == 2
    window.undo_action.trigger()
    assert len(canvas.state().strokes) == 1
    window.redo_action.trigger()
    assert len(canvas.state().strokes) == 2
    window.undo_action.trigger()
    qtbot.waitUntil(
        lambda: window._last_prediction is not None and window._last_prediction.digit == 1,
        timeout=TIMEOUT,
    )
    window.clear_action.trigger()
    assert canvas.state().empty
    qtbot.waitUntil(lambda: window.chart.probabilities() == [], timeout=TIMEOUT)
    assert window.prediction_label.text() == "–"
    window.undo_action.trigger()  # clearing is undoable too
    assert len(canvas.state().strokes) == 1
    qtbot.waitUntil(lambda: len(window.chart.probabilities()) == 10, timeout=TIMEOUT)


def test_standard_shortcuts(window):
    def keys(action):
        return {s.toString() for s in action.shortcuts()}

    assert "Ctrl+O" in keys(window.open_action) and "Ctrl+S" in keys(window.save_action)
    assert "Ctrl+C" in keys(window.copy_action) and "Ctrl+V" in keys(window.paste_action)
    assert "Ctrl+Z" in keys(window.undo_action) and "Ctrl+Shift+Z" in keys(window.redo_action)
    assert {"Esc", "Del"} <= keys(window.clear_action)
    assert "Ctrl+Q" in keys(window.quit_action)


@pytest.fixture
def photo_of_six(tmp_path, mnist_sample):
    images, labels = mnist_sample
    index = int(np.flatnonzero(labels == 6)[0])
    path = tmp_path / "six.jpg"
    Image.fromarray(
        on_paper(
            upscale(images[index], 150), paper=(0.9, 0.9, 0.85), canvas=(260, 300), at=(50, 70)
        )
    ).save(path)
    return path


def test_open_with_the_file_dialog(qtbot, window, photo_of_six, monkeypatch):
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(photo_of_six), ""))
    with qtbot.waitSignal(window.result_shown, timeout=TIMEOUT) as blocker:
        window.open_action.trigger()
    assert blocker.args[0].prediction.digit == 6
    assert window.canvas.state().image is not None
    assert window.prediction_label.text() == "6"
    # Drawing again starts a new drawing; undo brings the image back.
    draw_and_wait(qtbot, window, digit_strokes(1))
    assert window.canvas.state().image is None
    window.undo_action.trigger()
    assert window.canvas.state().image is not None
    qtbot.waitUntil(lambda: window.prediction_label.text() == "6", timeout=TIMEOUT)


def test_drag_and_drop_a_file(qtbot, window, photo_of_six):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(photo_of_six))])
    pos = window.rect().center()
    enter = drag_enter_event(pos.toPointF(), mime)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    drop = drop_event(pos.toPointF(), mime)
    with qtbot.waitSignal(window.result_shown, timeout=TIMEOUT) as blocker:
        QApplication.sendEvent(window, drop)
    assert blocker.args[0].prediction.digit == 6


def test_paste_an_image(qtbot, window, mnist_sample):
    images, labels = mnist_sample
    index = int(np.flatnonzero(labels == 3)[0])
    rgb = on_paper(upscale(images[index], 100), canvas=(140, 140), at=(20, 20))
    image = QImage(rgb.data, 140, 140, 3 * 140, QImage.Format.Format_RGB888).copy()
    QGuiApplication.clipboard().setImage(image)
    with qtbot.waitSignal(window.result_shown, timeout=TIMEOUT) as blocker:
        window.paste_action.trigger()
    assert blocker.args[0].prediction.digit == 3


def test_copy_and_save(qtbot, window, tmp_path, monkeypatch):
    draw_and_wait(qtbot, window, digit_strokes(7))
    window.copy_action.trigger()
    copied = QGuiApplication.clipboard().image()
    assert not copied.isNull() and copied.width() == 280
    target = tmp_path / "mine"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    window.save_action.trigger()
    saved = tmp_path / "mine.png"
    assert saved.is_file()
    from mnist_desktop.ml.inference import load_classifier

    assert load_classifier("litert").classify(saved).digit == 7  # dark on white, as saved


BAD_FILES = {
    "notes.png": b"these are my notes, not a picture",
    "empty.jpg": b"",
    "truncated.png": None,  # filled in below
    "bomb.png": png_header_bomb(100_000, 100_000),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_bad_files_show_a_message_and_keep_the_drawing(qtbot, window, tmp_path, monkeypatch, name):
    data = BAD_FILES[name]
    if data is None:
        full = encode(np.full((64, 64), 200, np.uint8), "PNG")
        data = full[: len(full) // 2]
    path = tmp_path / name
    path.write_bytes(data)
    draw_and_wait(qtbot, window, digit_strokes(4))
    strokes = window.canvas.state().strokes
    label = window.prediction_label.text()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    window.open_action.trigger()
    qtbot.waitUntil(lambda: window.message_bar.isVisible(), timeout=TIMEOUT)
    text = window.message_bar.text()
    assert name in text and "unchanged" in text
    assert window.canvas.state().strokes == strokes
    assert window.prediction_label.text() == label


def test_a_missing_file_and_a_folder(qtbot, window, tmp_path):
    window.open_file(tmp_path / "gone.png")
    qtbot.waitUntil(lambda: window.message_bar.isVisible(), timeout=TIMEOUT)
    assert "gone.png" in window.message_bar.text()
    window.message_bar.clear_message()
    window.open_file(tmp_path)
    qtbot.waitUntil(lambda: window.message_bar.isVisible(), timeout=TIMEOUT)


def test_pasting_no_image_says_so(qtbot, window):
    QGuiApplication.clipboard().setText("just some text")
    window.paste_action.trigger()
    assert window.message_bar.isVisible() and "no image" in window.message_bar.text()


def test_blank_canvas_shows_no_bars(qtbot, window):
    assert window.chart.probabilities() == []
    drag(window.canvas, [(140, 140)])  # a click: a dot, not a digit
    qtbot.waitUntil(lambda: window._last_result_id == window._next_id, timeout=TIMEOUT)
    assert window.chart.probabilities() == []


@pytest.mark.parametrize("content", [None, b"garbage" * 100], ids=["missing", "damaged"])
def test_missing_or_damaged_model_shows_a_banner_and_drawing_still_works(
    qtbot, clean_settings, tmp_path, content
):
    path = tmp_path / "mnist_cnn.tflite"
    if content is not None:
        path.write_bytes(content)
    win = MainWindow(engine="litert", model=path)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.message_bar.isVisible(), timeout=TIMEOUT)
    assert "could not be loaded" in win.message_bar.text() and "reinstall" in win.message_bar.text()
    with qtbot.waitSignal(win.result_shown, timeout=TIMEOUT):
        draw(win.canvas, digit_strokes(2))
    assert len(win.canvas.state().strokes) == 1
    assert win.input_view.array() is not None  # what the model would see is still shown
    assert win.chart.probabilities() == []


def test_switching_to_the_keras_engine(qtbot, window):
    window.set_engine("keras")
    qtbot.waitUntil(lambda: window.engine_label.text() == "engine: keras", timeout=60_000)
    prediction = draw_and_wait(qtbot, window, digit_strokes(9))
    assert prediction.digit == 9
    assert window._last_result.engine == "keras"


def test_settings_persist(qtbot, clean_settings):
    first = MainWindow()
    qtbot.addWidget(first)
    first.set_pen_width(33)
    first.resize(720, 500)
    first.close()
    second = MainWindow()
    qtbot.addWidget(second)
    assert second.canvas.pen_width == 33 and second.pen_width_box.value() == 33
    assert second.size().width() == 720


def test_about_shows_the_model_card(window):
    text = window.about_text()
    assert "MNIST test accuracy" in text and "Parameters" in text and "litert" in text


def test_quitting_while_a_prediction_runs_is_clean(qtbot, clean_settings, tmp_path):
    big = tmp_path / "big.png"
    Image.new("L", (6000, 6000), 255).save(big)
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    wait_ready(qtbot, win)
    win.open_file(big)  # takes the worker a while
    draw(win.canvas, digit_strokes(1))
    win.close()  # waits ~1.2 s at most; a decode still in hand ends on its own
    qtbot.waitUntil(win._thread.isFinished, timeout=TIMEOUT)


def test_window_starts_without_waiting_for_the_model(qtbot, clean_settings):
    win = MainWindow(engine="keras")
    qtbot.addWidget(win)
    win.show()
    # The constructor returned before TensorFlow loaded: the model loads in the worker.
    assert not win.model_label.text().startswith("model:")
    qtbot.waitUntil(lambda: win.engine_label.text() == "engine: keras", timeout=60_000)


def test_drop_of_non_image_data_is_refused(window):
    mime = QMimeData()
    mime.setText("hello")
    enter = drag_enter_event(QPointF(10, 10), mime)
    QApplication.sendEvent(window, enter)
    assert not enter.isAccepted()


def test_a_tablet_pen_draws_with_pressure(qtbot, window):
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QInputDevice, QPointingDevice, QTabletEvent

    from tests.helpers.qt import to_widget

    pen = QPointingDevice(
        "test pen",
        42,
        QInputDevice.DeviceType.Stylus,
        QPointingDevice.PointerType.Pen,
        QInputDevice.Capability.Position | QInputDevice.Capability.Pressure,
        1,
        3,
    )
    canvas = window.canvas
    points = digit_strokes(1)[0]
    kinds = (
        [QEvent.Type.TabletPress]
        + [QEvent.Type.TabletMove] * (len(points) - 2)
        + [QEvent.Type.TabletRelease]
    )
    for i, (kind, (x, y)) in enumerate(zip(kinds, points, strict=True)):
        pos = to_widget(canvas, x, y)
        pressure = 0.2 + 0.8 * i / len(points)
        event = QTabletEvent(
            kind,
            pen,
            pos,
            canvas.mapToGlobal(pos),
            pressure,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            Qt.KeyboardModifier.NoModifier,
            Qt.MouseButton.LeftButton,
            Qt.MouseButton.NoButton
            if kind == QEvent.Type.TabletRelease
            else Qt.MouseButton.LeftButton,
        )
        QApplication.sendEvent(canvas, event)
    strokes = window.canvas.state().strokes
    assert len(strokes) == 1
    pressures = [p[2] for p in strokes[0].points]
    assert min(pressures) < 0.3 and max(pressures) > 0.9
    qtbot.waitUntil(lambda: window._last_result_id == window._next_id, timeout=TIMEOUT)
    assert window._last_prediction.digit == 1


def test_an_image_given_at_start_is_opened(qtbot, clean_settings, photo_of_six):
    """`mnist-desktop IMAGE`: the file opens while the model is still loading."""
    win = MainWindow(image=photo_of_six)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.canvas.state().image is not None, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: win.prediction_label.text() == "6", timeout=TIMEOUT)


def test_canvas_shows_the_ink_and_follows_the_palette(qtbot, window):
    """The canvas paints its ink from a cached layer: it must show every stroke,
    the one being drawn too, and take the palette's new colours."""
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QColor, QPalette

    from tests.helpers.qt import _send, to_widget

    canvas = window.canvas

    def colour_at(x: float, y: float) -> QColor:
        p = to_widget(canvas, x, y)
        return canvas.grab().toImage().pixelColor(round(p.x()), round(p.y()))

    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    _send(canvas, QEvent.Type.MouseButtonPress, to_widget(canvas, 60, 140), left, left)
    for x in range(70, 230, 10):
        _send(canvas, QEvent.Type.MouseMove, to_widget(canvas, x, 140), none, left)
    assert colour_at(150, 140).lightness() < 60  # mid-stroke: the segments so far show
    assert colour_at(150, 40).lightness() > 200  # paper
    _send(canvas, QEvent.Type.MouseButtonRelease, to_widget(canvas, 220, 140), left, none)
    assert colour_at(150, 140).lightness() < 60
    dark = QPalette(canvas.palette())
    dark.setColor(QPalette.ColorRole.Base, QColor("#202020"))
    dark.setColor(QPalette.ColorRole.Text, QColor("#f0f0f0"))
    canvas.setPalette(dark)
    assert colour_at(150, 140).lightness() > 200  # light ink on a dark theme
    assert colour_at(150, 40).lightness() < 60
    window.canvas.undo_stack.undo()
    assert colour_at(150, 140).lightness() < 60  # the stroke is gone


def test_a_new_stroke_is_answered_at_once(qtbot, window):
    """The throttle lets the first update of every stroke through at once, even
    right after the pen was lifted (a 4 drawn in two quick strokes)."""
    from PySide6.QtCore import QEvent

    from tests.helpers.qt import _send, to_widget

    first, second = digit_strokes(4)
    drag(window.canvas, first)
    sent = []
    window.request_classification.connect(sent.append)
    left = Qt.MouseButton.LeftButton
    _send(
        window.canvas,
        QEvent.Type.MouseButtonPress,
        to_widget(window.canvas, *second[0]),
        left,
        left,
    )
    assert len(sent) == 1, "the new stroke waited for the throttle"
    _send(
        window.canvas,
        QEvent.Type.MouseMove,
        to_widget(window.canvas, *second[1]),
        Qt.MouseButton.NoButton,
        left,
    )
    assert len(sent) == 1, "within a stroke, updates are still throttled"


def test_the_canvas_on_screen_matches_a_full_repaint_while_drawing(qtbot, window):
    """Each pen segment repaints only the pixels it covers: what is on screen
    must still be exactly what painting the whole canvas gives."""
    from PySide6.QtCore import QEvent

    from tests.helpers.qt import _send, to_widget

    canvas, app = window.canvas, QApplication.instance()
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    window.set_pen_width(40)
    points = [(60 + 9 * i, 50 + 7 * i + (i % 3) * 12) for i in range(20)]
    _send(canvas, QEvent.Type.MouseButtonPress, to_widget(canvas, *points[0]), left, left)
    for point in points[1:]:
        _send(canvas, QEvent.Type.MouseMove, to_widget(canvas, *point), none, left)
        app.processEvents()  # paint this segment's region before the next
    screen = QGuiApplication.primaryScreen().grabWindow(window.winId()).toImage()
    origin = canvas.mapTo(window, canvas.rect().topLeft())
    on_screen = screen.copy(origin.x(), origin.y(), canvas.width(), canvas.height())
    full = canvas.grab().toImage().convertToFormat(on_screen.format())
    assert full.size() == on_screen.size()
    ink = to_widget(canvas, *points[10])
    assert on_screen.pixelColor(round(ink.x()), round(ink.y())).lightness() < 60
    assert on_screen == full
    _send(canvas, QEvent.Type.MouseButtonRelease, to_widget(canvas, *points[-1]), left, none)


def test_the_chart_highlights_the_winner_and_follows_a_font_change(qtbot):
    from PySide6.QtGui import QPalette

    from mnist_desktop.gui.chart import ANIMATION_MS

    chart = ProbabilityChart()
    qtbot.addWidget(chart)
    chart.resize(400, 240)
    chart.show()
    chart.set_probabilities([0.02] * 3 + [0.82] + [0.02] * 6)
    qtbot.wait(ANIMATION_MS + 100)  # the bars have glided into place
    before = chart.grab().toImage()
    assert chart.grab().toImage() == before

    highlight = chart.palette().color(QPalette.ColorRole.Highlight)

    def highlighted_in_digit_row(digit: int) -> int:
        """Pixels of the highlight colour under the bar of ``digit`` (its label)."""
        slot = before.width() / 10
        count = 0
        for y in range(before.height() - 22, before.height()):
            for x in range(int(slot * digit), int(slot * (digit + 1))):
                c = before.pixelColor(x, y)
                count += (
                    abs(c.red() - highlight.red())
                    + abs(c.green() - highlight.green())
                    + abs(c.blue() - highlight.blue())
                    < 60
                )
        return count

    assert highlighted_in_digit_row(3) > 5  # the winner's digit, in the highlight colour
    assert highlighted_in_digit_row(4) == 0
    font = chart.font()
    font.setBold(True)
    chart.setFont(font)
    after = chart.grab().toImage()
    slot, h = before.width() // 10, before.height()
    digit_four = (4 * slot, h - 22, slot, 22)  # drawn once, in the cached backdrop
    assert after.copy(*digit_four) != before.copy(*digit_four)  # bold now
