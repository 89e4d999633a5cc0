"""Layouts that fit: both modes, from the minimum size up, with real content.

The checks (tests/helpers/layout.problems) are geometric: no two pieces of the
window overlap, none is squeezed below its minimum or cut off, every label's
text fits, no toolbar control is hidden behind », the status message fits.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QToolBar, QToolButton

from mnist_desktop.gui import MainWindow
from tests.helpers.images import encode, number_row, on_paper
from tests.helpers.layout import problems
from tests.helpers.qt import draw, press
from tests.helpers.strokes import digit_strokes, number_strokes
from tests.test_gui import TIMEOUT, ready_window, wait_result

SIZES = [(640, 480), (900, 560), (1400, 900)]
ROOT = Path(__file__).parents[1]


@pytest.fixture
def window(qtbot, clean_settings):
    return ready_window(qtbot)


def show_at(qtbot, win: MainWindow, size: tuple[int, int]) -> None:
    win.resize(*size)
    qtbot.waitUntil(lambda: (win.width(), win.height()) == size, timeout=TIMEOUT)
    qtbot.wait(20)  # the layout requests the resize posted, as on screen


def settled(qtbot) -> None:
    """Let Qt run the layout requests a new answer posted (a longer text, a new
    label height), as it does before the window is next painted."""
    qtbot.wait(50)


def write(qtbot, win: MainWindow, strokes) -> None:
    draw(win.canvas, strokes)
    qtbot.waitUntil(lambda: win._last_result_id == win._next_id, timeout=TIMEOUT)
    settled(qtbot)


def number_photo(tmp_path, mnist_sample, text: str = "2025", name: str = "n.png") -> Path:
    images, labels = mnist_sample
    picks = [images[int(np.flatnonzero(labels == int(ch))[0])] for ch in text]
    ink, _ = number_row(picks, np.random.default_rng(3))
    path = tmp_path / name
    path.write_bytes(encode(on_paper(ink), "PNG"))
    return path


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("mode", ["digit", "number"])
def test_nothing_overlaps_or_is_cut_with_a_drawing(qtbot, window, mode, size):
    window.set_mode(mode)
    show_at(qtbot, window, size)
    assert problems(window) == []  # blank
    strokes = digit_strokes(4) if mode == "digit" else number_strokes("2025", 170, 150, 155)
    write(qtbot, window, strokes)
    assert window.prediction_label.text() == ("4" if mode == "digit" else "2025")
    assert problems(window) == []


@pytest.mark.parametrize("mode", ["digit", "number"])
def test_the_smallest_window_still_fits(qtbot, window, mode):
    window.set_mode(mode)
    strokes = digit_strokes(4) if mode == "digit" else number_strokes("2025", 170, 150, 155)
    write(qtbot, window, strokes)
    least = window.minimumSize()
    assert least.width() <= 640 and least.height() <= 480, least
    window.resize(least)
    qtbot.waitUntil(lambda: window.size() == least, timeout=TIMEOUT)
    qtbot.wait(20)
    assert problems(window) == []


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("mode", ["digit", "number"])
def test_an_opened_photo_with_a_long_name_fits(qtbot, window, tmp_path, mnist_sample, mode, size):
    path = number_photo(tmp_path, mnist_sample, name="a_photo_4_mnist24_taken_on_paper.png")
    window.set_mode(mode)
    show_at(qtbot, window, size)
    window.open_file(path)
    wait_result(qtbot, window)
    settled(qtbot)
    assert problems(window) == []
    # The Undo button keeps its short label; the menu and tooltip name the step.
    button = window.toolbar.widgetForAction(window.undo_action)
    assert not window.toolbar.compact() or size == (640, 480)
    if not window.toolbar.compact():
        assert button.text() == "Undo"
    assert path.name in window.undo_action.text() and path.name in button.toolTip()


def test_the_default_size_shows_every_toolbar_label(qtbot, window, tmp_path, mnist_sample):
    """At 900 x 560 nothing drops into », and every button keeps its text."""
    show_at(qtbot, window, (900, 560))
    window.open_file(number_photo(tmp_path, mnist_sample, name="x" * 60 + ".png"))
    wait_result(qtbot, window)
    settled(qtbot)
    toolbar = window.findChild(QToolBar, "mainToolBar")
    assert not toolbar.findChild(QToolButton, "qt_toolbar_ext_button").isVisible()
    assert not window.toolbar.compact()
    shown = {toolbar.widgetForAction(a).text() for a in toolbar.actions() if a.iconText()}
    assert {"Open", "Save", "Undo", "Redo", "Clear", "Single digit", "Whole number"} <= shown
    assert window.pen_width_box.isVisible()
    assert toolbar.rect().contains(window.pen_width_box.geometry())


def test_a_narrow_window_drops_labels_before_controls(qtbot, window):
    show_at(qtbot, window, (640, 480))
    assert window.toolbar.compact()  # icons only for Open ... Clear
    assert window.number_mode_action.iconText() == "Whole number"
    assert problems(window) == []
    show_at(qtbot, window, (1000, 560))
    assert not window.toolbar.compact()  # the labels come back


def test_switching_mode_with_a_message_showing_keeps_the_window_size(qtbot, window, tmp_path):
    """A message above the canvas, a digit's large answer, then Ctrl+Shift+N: the
    smallest window stays as it is (it grew by 3 px once: the number layout was
    laid out while the answer still had the digit's large font)."""
    show_at(qtbot, window, (640, 480))
    write(qtbot, window, digit_strokes(4))
    bad = tmp_path / "notes.png"
    bad.write_bytes(b"these are notes, not an image")
    window.open_file(bad)
    qtbot.waitUntil(lambda: window.message_bar.text() != "", timeout=TIMEOUT)
    window.canvas.setFocus()
    press("Ctrl+Shift+N")
    assert window.mode == "number"
    settled(qtbot)
    assert (window.width(), window.height()) == (640, 480)
    assert window.message_bar.text() != ""
    assert problems(window) == []


@pytest.mark.parametrize("mode", ["digit", "number"])
def test_long_and_rejected_answers_fit_the_smallest_size(qtbot, window, mode):
    window.set_mode(mode)
    show_at(qtbot, window, (640, 480))
    window.worker._classifier.reject_below = 1.01  # every answer: "not a digit"
    strokes = digit_strokes(4) if mode == "digit" else number_strokes("31415", 150, 130, 90)
    write(qtbot, window, strokes)
    if mode == "digit":
        assert window.prediction_label.text() == "Not a digit?"
    assert problems(window) == []


def test_layouts_fit_at_200_percent_scaling():
    """QT_SCALE_FACTOR=2 is read when Qt starts: the same checks in a fresh process."""
    env = dict(os.environ, QT_SCALE_FACTOR="2", QT_QPA_PLATFORM="offscreen")
    run = subprocess.run(
        [sys.executable, "-m", "tests.helpers.layout"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip().splitlines()[-1] == "ok"
