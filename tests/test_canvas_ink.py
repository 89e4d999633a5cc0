"""A long drawing never makes a repaint wait on its points: the ink shown is
kept per drawing and repainted in slices between events after a resize, while
the model still gets exactly the rasterizer's pixels.

How long each step takes is measured by benchmarks/long_stroke.py; these
tests check the behaviour: what is painted when, and that it is right.
"""

from __future__ import annotations

import numpy as np
import pytest

from mnist_desktop.gui import inklayer
from mnist_desktop.raster import render_array
from tests.helpers.qt import draw, press
from tests.helpers.strokes import digit_strokes, scribble
from tests.test_gui_keys import launch

LONG = inklayer.SYNC_POINTS + 1500
"""A scribble long enough to be painted in slices."""


@pytest.fixture
def strokes_painted(monkeypatch):
    """Counts the points the ink layer paints synchronously (not in slices)."""
    painted = []
    real = inklayer.paint_layer

    def counting(strokes, key):
        painted.append(inklayer.point_count(strokes))
        return real(strokes, key)

    monkeypatch.setattr(inklayer, "paint_layer", counting)
    return painted


def alpha(image) -> np.ndarray:
    """An ARGB32 image's alpha channel (the ink's coverage) as an array."""
    data = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes())
    rows = data.reshape(image.height(), image.bytesPerLine())[:, : image.width() * 4]
    return rows.reshape(image.height(), image.width(), 4)[:, :, 3].copy()


def same_ink(shown, expected) -> bool:
    """The same drawing: only anti-aliased pixels where pieces of a path meet
    may differ (the sliced painting cuts paths into shorter pieces)."""
    a, b = alpha(shown).astype(int), alpha(expected).astype(int)
    differ = np.abs(a - b) > 2
    return differ.sum() <= 0.002 * (b > 0).sum() and np.abs(a - b).max() < 128


def crisp_ink(qtbot, canvas):
    qtbot.waitUntil(lambda: canvas._ink._crisp, timeout=120_000)
    return canvas._ink.current()


def test_a_long_stroke_is_kept_through_resize_undo_and_redo(qtbot, strokes_painted):
    win = launch(qtbot)
    canvas = win.canvas
    draw(canvas, [scribble(LONG)])
    stroke = canvas.state().strokes[0]
    assert len(stroke.points) > inklayer.SYNC_POINTS
    strokes_painted.clear()
    canvas.repaint()
    assert sum(strokes_painted) == 0  # the pen's own segments are what is shown
    assert np.array_equal(canvas.drawing_array(), render_array(canvas.state().strokes))

    # A resize: shown at once, scaled, without stroking the drawing ...
    win.resize(win.width() + 160, win.height() + 120)
    qtbot.waitUntil(lambda: canvas._ink.current() is not None and not canvas._ink._crisp)
    canvas.repaint()
    # ... and the crisp ink arrives between events: the drawing at the new size.
    shown = crisp_ink(qtbot, canvas)
    assert sum(strokes_painted) == 0
    expected = inklayer.paint_layer(canvas.state().strokes, canvas._ink._key)
    assert same_ink(shown, expected)

    # Undo and redo with the keys: both drawings' ink and raster are kept.
    strokes_painted.clear()
    press("Ctrl+Z")
    assert canvas.is_empty()
    canvas.repaint()
    press("Ctrl+Shift+Z")
    canvas.repaint()
    assert canvas.state().strokes == (stroke,)
    assert canvas._ink._crisp
    assert sum(strokes_painted) == 0  # (at most blank ink was painted)
    assert np.array_equal(canvas.drawing_array(), render_array((stroke,)))


def test_a_digit_is_painted_crisp_at_once_after_a_resize(qtbot, strokes_painted):
    """Small drawings need no slices: right after a resize the ink is crisp."""
    win = launch(qtbot)
    canvas = win.canvas
    draw(canvas, digit_strokes(5))
    strokes_painted.clear()
    win.resize(win.width() + 200, win.height() + 100)
    qtbot.waitUntil(lambda: sum(strokes_painted) > 0)
    canvas.repaint()
    assert canvas._ink._crisp
    expected = inklayer.paint_layer(canvas.state().strokes, canvas._ink._key)
    assert np.array_equal(alpha(canvas._ink.current()), alpha(expected))


def test_drawing_while_the_ink_is_being_repainted_keeps_both_strokes(qtbot):
    """A new stroke during the sliced repaint: nothing is lost on screen or for the model."""
    win = launch(qtbot)
    canvas = win.canvas
    draw(canvas, [scribble(LONG)])
    win.resize(win.width() + 160, win.height() + 120)
    qtbot.waitUntil(lambda: canvas._ink.current() is not None and not canvas._ink._crisp)
    draw(canvas, digit_strokes(1, size=100))
    strokes = canvas.state().strokes
    assert len(strokes) == 2
    assert np.array_equal(canvas.drawing_array(), render_array(strokes))
    shown = crisp_ink(qtbot, canvas)
    expected = inklayer.paint_layer(strokes, canvas._ink._key)
    assert same_ink(shown, expected)


def test_quitting_stops_the_sliced_repaint(qtbot):
    win = launch(qtbot)
    canvas = win.canvas
    draw(canvas, [scribble(LONG)])
    win.resize(win.width() + 160, win.height() + 120)
    qtbot.waitUntil(lambda: canvas._ink._job is not None)
    win.close()
    assert canvas._ink._job is None
    assert not canvas._ink._slices.isActive()
