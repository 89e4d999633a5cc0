"""The one stroke rasterizer: the canvas's raster, headless renders, placing strokes."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from mnist_desktop.raster import (
    CANVAS_SIZE,
    MAX_PEN_SHARE,
    MIN_PEN_CAP,
    PATH_CHUNK,
    Stroke,
    for_model,
    gray_array,
    place_strokes,
    render_array,
    render_strokes,
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


def test_the_models_raster_caps_a_pen_wide_for_the_drawing():
    """A pen wider than MAX_PEN_SHARE of the drawing's longer side (in number
    mode, its height) is drawn that wide for the model; narrower pens, and a
    click, are drawn as they are."""
    small = [Stroke(((100.0, 100.0, 1.0), (110.0, 190.0, 1.0)), 40.0)]  # 90 tall
    assert for_model(small)[0].width == MAX_PEN_SHARE * 90
    assert for_model(small)[0].points == small[0].points
    fine = [Stroke(((100.0, 100.0, 1.0), (110.0, 190.0, 1.0)), 20.0)]
    assert for_model(fine) == tuple(fine)
    click = [Stroke(((100.0, 100.0, 1.0),), 40.0)]
    assert for_model(click)[0].width == MIN_PEN_CAP
    row = [  # three 90 px tall digits side by side: the row's height counts
        Stroke(((x, 100.0, 1.0), (x + 10, 190.0, 1.0)), 40.0) for x in (50.0, 250.0, 450.0)
    ]
    assert {s.width for s in for_model(row, columns=3)} == {MAX_PEN_SHARE * 90}
    model = render_array(small)  # the model's raster: capped
    assert np.array_equal(model, render_array(for_model(small)))
    assert (model > 127).sum() < 0.7 * (gray_array(render_strokes(small)) > 127).sum()


def test_a_small_digit_drawn_with_a_wide_pen_is_read(qtbot, litert):
    """Digits 90 px tall drawn with a 40 px pen, by mouse drags: on the screen
    and in a saved drawing a blob, for the model the strokes' centre lines at
    a pen it learnt (the benchmark's 90 such drawings read 42 without the cap,
    all 90 with it).  The canvas's raster is the rasterizer's, pixel for pixel."""
    from mnist_desktop.gui.canvas import DrawingCanvas
    from mnist_desktop.gui.qtimage import qimage_to_gray

    canvas = DrawingCanvas()
    qtbot.addWidget(canvas)
    canvas.resize(400, 400)
    canvas.show()
    canvas.pen_width = 40
    read = 0
    for digit in range(10):
        canvas.clear()
        draw(canvas, digit_strokes(digit, size=90))
        strokes = canvas.state().strokes
        assert all(s.width == 40 for s in strokes)
        assert np.array_equal(canvas.drawing_array(), render_array(strokes))
        saved = 255 - qimage_to_gray(canvas.export_image())
        as_drawn = render_strokes(strokes, CANVAS_SIZE)
        assert np.array_equal(saved, qimage_to_gray(as_drawn))  # the user's pen
        read += litert.classify(canvas.drawing_array(), "light").digit == digit
    assert read >= 9, f"{read}/10"
