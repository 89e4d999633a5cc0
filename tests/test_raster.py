"""The one stroke rasterizer: the canvas's raster, headless renders, placing strokes."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from mnist_desktop.raster import (
    CANVAS_SIZE,
    PATH_CHUNK,
    Stroke,
    place_strokes,
    render_array,
)
from tests.helpers.qt import draw
from tests.helpers.strokes import digit_strokes


def test_canvas_sends_the_model_exactly_the_rasterizers_pixels(qtbot):
    """A digit drawn with mouse drags: what the canvas hands the model is the
    rasterizer's render of the strokes the canvas recorded, pixel for pixel."""
    from mnist_desktop.gui.canvas import DrawingCanvas

    canvas = DrawingCanvas()
    qtbot.addWidget(canvas)
    canvas.resize(400, 400)
    canvas.show()
    draw(canvas, digit_strokes(4, size=180))
    strokes = canvas.state().strokes
    assert len(strokes) == 2
    assert np.array_equal(canvas.drawing_array(), render_array(strokes))
    assert canvas.drawing_array().max() == 255


def test_headless_render_needs_no_application_and_matches():
    """Training renders pen data without any Qt application object: the same pixels."""
    strokes = place_strokes([[(0, 0), (3, 40), (10, 80)], [(-5, 30), (20, 28)]], height=150)
    here = render_array(strokes)
    code = (
        "import sys, numpy as np\n"
        "from mnist_desktop.raster import Stroke, render_array\n"
        f"strokes = {strokes!r}\n"
        "sys.stdout.buffer.write(render_array(strokes).tobytes())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, check=True, timeout=60
    ).stdout
    assert np.array_equal(np.frombuffer(out, np.uint8).reshape(here.shape), here)


def test_place_strokes_fits_any_units_into_the_canvas():
    """Device units (y down) are scaled, aspect kept, so the longer side is
    ``height`` canvas pixels, centred where asked, with the given pen width."""
    tall = [[(1000, 2000), (1000, 2400)], [(900, 2100), (1100, 2100)]]  # 200 x 400 units
    placed = place_strokes(tall, height=200, centre=(100, 150), pen_width=12)
    xs = [p[0] for s in placed for p in s.points]
    ys = [p[1] for s in placed for p in s.points]
    assert (min(ys), max(ys)) == (50, 250) and (min(xs), max(xs)) == (50, 150)
    assert all(s.width == 12 for s in placed) and all(p[2] == 1.0 for p in placed[0].points)
    dot = place_strokes([[(5, 5)]], height=100)
    assert dot[0].points == ((CANVAS_SIZE / 2, CANVAS_SIZE / 2, 1.0),)
    assert place_strokes([], height=100) == ()


def test_a_long_stroke_is_painted_whole():
    """A scribble of many points is painted in chunks: the chunk joins leave no
    gap, and it covers what its pieces cover."""
    t = np.linspace(0, 40 * np.pi, PATH_CHUNK * 6)
    points = tuple(
        (140 + 100 * np.cos(a) * (a / 130), 140 + 100 * np.sin(a) * (a / 130), 1.0) for a in t
    )
    whole = render_array([Stroke(points, 10)], size=CANVAS_SIZE)
    step = PATH_CHUNK // 2
    pieces = [Stroke(points[i : i + step + 1], 10) for i in range(0, len(points) - 1, step)]
    assert np.array_equal(whole > 127, render_array(pieces, size=CANVAS_SIZE) > 127)
