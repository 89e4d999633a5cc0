"""Number mode: the wide canvas, a box and a small chart per digit, click for the full chart."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication

from mnist_desktop import settings
from mnist_desktop.gui import MainWindow
from tests.helpers.images import encode, number_row, on_paper
from tests.helpers.qt import click, draw
from tests.helpers.strokes import digit_strokes, number_strokes
from tests.test_gui import TIMEOUT, draw_and_wait, ready_window, wait_ready, wait_result


@pytest.fixture
def window(qtbot, clean_settings):
    return ready_window(qtbot, (1000, 700))


def write_number(qtbot, window: MainWindow, text: str):
    spacing = min(150.0, 760 / len(text))
    draw(
        window.canvas,
        number_strokes(
            text, size=min(170.0, spacing * 1.2), spacing=spacing, left=80 + spacing / 2
        ),
    )
    qtbot.waitUntil(lambda: window._last_result_id == window._next_id, timeout=TIMEOUT)
    return window._last_result


def test_digit_mode_is_the_default(window):
    assert window.mode == "digit"
    assert window.canvas.columns == 1
    assert window.digit_mode_action.isChecked()
    assert not window.number_strip.isVisible()


def test_number_mode_widens_the_canvas(qtbot, window):
    window.number_mode_action.trigger()
    assert window.mode == "number" and window.canvas.columns == 3
    assert window.number_strip.isVisible()
    rect = window.canvas._area()
    assert rect.width() == pytest.approx(3 * rect.height(), rel=0.01)
    assert settings.read("mode") == "number"


@pytest.mark.parametrize("text", ["2025", "31415", "7", "90"])
def test_written_numbers_are_read(qtbot, window, text):
    window.set_mode("number")
    result = write_number(qtbot, window, text)
    assert result.number is not None
    assert result.number.text == text
    assert window.prediction_label.text() == text
    assert window.number_strip.count() == len(text)
    boxes = window.canvas.box_rects()
    assert len(boxes) == len(text)
    # The boxes lie left to right over the drawing area.
    lefts = [b.left() for b in boxes]
    assert lefts == sorted(lefts)
    area = window.canvas._area()
    for box in boxes:
        assert area.adjusted(-2, -2, 2, 2).contains(box)


def test_clicking_a_digit_shows_its_full_chart(qtbot, window):
    window.set_mode("number")
    result = write_number(qtbot, window, "2025")
    digits = result.number.digits
    # First digit selected by default: its chart and its 28x28 input are shown.
    assert int(np.argmax(window.chart.probabilities())) == 2
    strip = window.number_strip
    click(strip, strip.cell_rect(1).center())
    assert strip.selected() == 1
    assert window.chart.probabilities() == pytest.approx(digits[1].prediction.probabilities)
    assert int(np.argmax(window.chart.probabilities())) == 0
    assert np.array_equal(window.input_view.array(), digits[1].image)
    assert window.canvas._selected_box == 1
    # The arrow keys move the selection too.
    strip.setFocus()
    QApplication.sendEvent(
        strip, QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Right, Qt.KeyboardModifier.NoModifier)
    )
    assert strip.selected() == 2
    assert int(np.argmax(window.chart.probabilities())) == 2


def test_the_reading_follows_the_pen(qtbot, window):
    window.set_mode("number")
    strokes = number_strokes("20", size=170, spacing=150, left=155)
    shown = []
    window.result_shown.connect(lambda r: shown.append(r.number.text if r.number else None))
    draw(window.canvas, strokes, qtbot, pause_ms=8)
    qtbot.waitUntil(lambda: window._last_result_id == window._next_id, timeout=TIMEOUT)
    assert window.prediction_label.text() == "20"
    assert len(shown) > 2, "the number should update while it is written"


def test_the_canvas_keeps_its_place_while_a_number_grows(qtbot, window):
    """Writing a third digit must not move or resize the canvas under the pen:
    the answer's font used to shrink from two digits to three, and the row it
    shares with the chart with it (the drawing area jumped by 46 px)."""
    window.set_mode("number")
    draw(window.canvas, number_strokes("20", size=150, spacing=150, left=155))
    qtbot.waitUntil(lambda: window._last_result_id == window._next_id, timeout=TIMEOUT)
    assert len(window.prediction_label.text()) == 2
    before = (window.canvas.geometry(), window.canvas._area())
    draw(window.canvas, digit_strokes(7, 150, (455.0, 140.0)))
    qtbot.waitUntil(lambda: window._last_result_id == window._next_id, timeout=TIMEOUT)
    assert len(window.prediction_label.text()) == 3
    QApplication.processEvents()
    assert (window.canvas.geometry(), window.canvas._area()) == before


def test_switching_modes_is_undoable_and_loses_nothing(qtbot, window):
    draw_and_wait(qtbot, window, digit_strokes(7))
    strokes = window.canvas.state().strokes
    window.set_mode("number")
    assert window.canvas.is_empty()
    window.canvas.undo_stack.undo()
    assert window.mode == "digit" and window.digit_mode_action.isChecked()
    assert window.canvas.state().strokes == strokes
    qtbot.waitUntil(lambda: window._last_result_id == window._next_id, timeout=TIMEOUT)
    assert window.prediction_label.text() == "7"
    assert not window.number_strip.isVisible()


def test_a_photographed_number_reads_in_number_mode(qtbot, window, tmp_path, mnist_sample):
    images, labels = mnist_sample
    picks = [int(np.flatnonzero(labels == d)[0]) for d in (1, 9, 8, 4)]
    ink, _ = number_row([images[i] for i in picks], np.random.default_rng(3))
    path = tmp_path / "number.jpg"
    path.write_bytes(encode(on_paper(ink), "JPEG"))
    window.set_mode("number")
    window.open_file(path)
    result = wait_result(qtbot, window)
    assert result.number.text == "1984"
    # Boxes are drawn over the image as it is shown, inside the drawing area.
    area = window.canvas._area()
    assert all(area.adjusted(-2, -2, 2, 2).contains(b) for b in window.canvas.box_rects())


def test_blank_number_canvas_and_no_digits(qtbot, window):
    window.set_mode("number")
    assert window.prediction_label.text() == "–"
    assert window.number_strip.count() == 0
    draw(window.canvas, [[(300.0, 140.0)]])  # a click: a dot, no digit
    qtbot.waitUntil(lambda: window._last_result_id == window._next_id, timeout=TIMEOUT)
    assert window.prediction_label.text() == "–"
    assert window.canvas.box_rects() == []


def test_number_mode_is_remembered(qtbot, clean_settings):
    settings.write("mode", "number")
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    wait_ready(qtbot, win)
    assert win.mode == "number" and win.number_mode_action.isChecked()
    assert not win.canvas.undo_stack.canUndo()  # starting in number mode is no edit
