"""Training data the project makes itself: handwriting styles and boxed digits."""

from __future__ import annotations

import numpy as np

from mnist_desktop.ml import pen
from mnist_desktop.ml.boxed import boxed_digits, stretched
from mnist_desktop.ml.styles import STYLES, style_digits


def _ink_box(image: np.ndarray) -> tuple[int, int]:
    rows = np.flatnonzero(image.max(axis=1) > 0.05)
    cols = np.flatnonzero(image.max(axis=0) > 0.05)
    return int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)


def test_style_digits_are_balanced_and_each_draws_as_an_input():
    drawings, labels = style_digits(50, seed=0)
    assert len(drawings) == 50
    counts = np.bincount(labels, minlength=10)
    assert (
        set(np.flatnonzero(counts)) == set(STYLES) and counts.max() - counts[counts > 0].min() <= 1
    )
    images, index = pen.render_samples(drawings, 1, seed=1)
    assert len(images) == 50 and list(index) == list(range(50))
    assert all(image.max() > 0.9 and image.shape == (28, 28) for image in images)


def test_style_digits_read_as_their_digit(litert):
    """The styles are drawn as people write those digits: the bundled model, which
    never trained on them, reads nearly all of them (a generator that drew
    nonsense would teach it nonsense)."""
    drawings, labels = style_digits(200, seed=3)
    images, index = pen.render_samples(drawings, 1, seed=4)
    predicted = litert.probabilities(images).argmax(axis=1)
    assert np.mean(predicted == labels[index]) >= 0.9


def _bar(width: int, height: int = 20, slant: float = 0.0) -> np.ndarray:
    image = np.zeros((28, 28), np.float32)
    for row in range(height):
        x = 14 - width // 2 + round(slant * (row - height / 2))
        image[4 + row, x : x + width] = 1.0
    return image


def test_a_narrow_digit_is_stretched_into_a_square_box():
    narrow = _bar(4, slant=-0.3)  # a leaning stroke, 10 px wide over 20 tall
    w, h = _ink_box(narrow)
    assert w < 0.6 * h
    square = stretched(narrow, 1.0)
    w, h = _ink_box(square)
    assert abs(w - h) <= 2 and max(w, h) >= 19


def test_boxed_digits_leave_wide_digits_and_bare_lines_alone():
    images = np.stack([_bar(18), _bar(2), _bar(4, slant=-0.3)])  # wide, a bare line, narrow
    boxed, labels = boxed_digits(images, np.array([0, 1, 7]), 5, seed=0)
    assert len(boxed) == 5 and set(labels) == {7}


def _crosses_itself(stroke: list[tuple[float, float]]) -> bool:
    """Whether a polyline's segments (not neighbours) intersect."""
    p = np.asarray(stroke, float)

    def side(a, b, c):
        return np.sign((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]))

    for i in range(len(p) - 1):
        for j in range(i + 2, len(p) - 1):
            a, b, c, d = p[i], p[i + 1], p[j], p[j + 1]
            if side(a, b, c) * side(a, b, d) < 0 and side(c, d, a) * side(c, d, b) < 0:
                return True
    return False


def _one_stroke_drawings(style, count: int = 30):
    """``count`` drawings of a one-stroke ``style``: each stroke's points and ink box
    (x0, y0, width, height)."""
    rng = np.random.default_rng(0)
    for _ in range(count):
        strokes = style(rng)
        assert len(strokes) == 1
        p = np.asarray(strokes[0])
        (x0, y0), (x1, y1) = p.min(axis=0), p.max(axis=0)
        yield p, (x0, y0, x1 - x0, y1 - y0)


def test_a_nine_begun_at_the_foot_of_its_loop_crosses_its_start():
    """crossed_nine: one stroke, begun at the left of the loop's foot, that crosses
    itself where the loop closes and ends in a tail below the loop."""
    from mnist_desktop.ml.styles import crossed_nine

    for p, (x0, y0, width, height) in _one_stroke_drawings(crossed_nine):
        start, end = p[0], p[-1]
        assert start[0] < x0 + 0.35 * width and 0.2 < (start[1] - y0) / height < 0.7
        assert end[1] > y0 + 0.9 * height
        assert _crosses_itself(p)


def test_a_four_whose_stem_starts_at_its_bar_is_one_stroke_down_across_and_down():
    """bar_stem_four: begun at the top, down to the left, across to the right at
    the bar, then down to the foot; no upright above the bar's right end."""
    from mnist_desktop.ml.styles import bar_stem_four

    for p, (x0, y0, width, height) in _one_stroke_drawings(bar_stem_four):
        corner = int(np.argmin(p[:, 0]))  # the bar's left end
        right = corner + int(np.argmax(p[corner:, 0]))  # where the bar turns down
        assert p[0, 1] < y0 + 0.1 * height and p[-1, 1] > y0 + 0.9 * height
        assert 0.3 * height < p[corner, 1] - y0 < 0.8 * height
        assert p[right, 0] > x0 + 0.7 * width and p[right, 1] > y0 + 0.25 * height
        assert p[right:, 1].min() > y0 + 0.25 * height  # nothing rises to the top
