"""The whole-digit check: the windows it sees, what it tells apart, how numbers read with it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from mnist_desktop.ml import wholecheck
from mnist_desktop.ml.wholecheck import WINDOW, CheckError, WholeCheck, bundled_check, check_file
from mnist_desktop.numbers import _candidates, _reduced_ink, read_number
from mnist_desktop.rowcheck import compose, row_examples
from tests.helpers.images import compose_row, glyph, on_paper


def _picks(labels: np.ndarray, digit: int, n: int) -> list[int]:
    return [int(i) for i in np.flatnonzero(labels == digit)[:n]]


def _joined_rows(images, labels, n: int, seed: int) -> list[tuple[np.ndarray, str]]:
    """``n`` rows of 2-5 fixture digits, each touching or crossing the next."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        picks = rng.choice(len(images), int(rng.integers(2, 6)), replace=False)
        glyphs = [glyph(images[i], 100) for i in picks]
        gaps = [-int(rng.integers(1, 9)) for _ in picks[1:]]
        rows.append((compose_row(glyphs, gaps, rng), "".join(str(labels[i]) for i in picks)))
    return rows


def test_a_window_holds_the_candidate_in_its_row(mnist_sample):
    images, labels = mnist_sample
    rng = np.random.default_rng(0)
    row = compose_row([glyph(images[i], 100) for i in (0, 1, 2)], [30, 30], rng)
    _, ink = _reduced_ink(on_paper(row), "auto")
    _, candidates, _, _ = _candidates(ink)
    assert candidates
    for c in candidates:
        window = c.window
        assert window.shape == (*WINDOW, 2)
        assert window.min() >= 0 and window.max() <= 1
        # The candidate's own ink is part of the row's, and centred.
        assert np.all(window[..., 1] <= window[..., 0] + 1e-6)
        mass = window[..., 1]
        assert mass.sum() > 0
        cx = (mass.sum(axis=0) * np.arange(WINDOW[1])).sum() / mass.sum()
        assert abs(cx - WINDOW[1] / 2) < 0.2 * WINDOW[1]
    # A single digit's window shows its neighbours, not as its own ink.
    middle = [c for c in candidates if c.end - c.first == 1][1]
    assert middle.window[..., 0].sum() > 1.5 * middle.window[..., 1].sum()


def test_training_rows_label_whole_digits_from_their_owners(mnist_sample):
    images, _ = mnist_sample
    rng = np.random.default_rng(1)
    glyphs = [glyph(images[i], 90) for i in (3, 4, 5)]
    ink, owner = compose(glyphs, [6, 6], rng)
    assert set(np.unique(owner)) == {-1, 0, 1, 2}
    assert np.all(owner[ink <= 0.25] == -1)
    windows, whole = row_examples(ink, owner)
    # Near each other: pairs are candidates too, never whole; each digit is
    # (the 0, cut into column pieces, also without its last sliver: 85 % of it).
    assert len(windows) == len(whole) > 10
    assert 3 <= sum(whole) <= 4


def test_the_check_tells_whole_digits_from_pieces_and_pairs(mnist_sample):
    """On joined rows of the fixture's digits (never trained on: MNIST test digits)."""
    images, labels = mnist_sample
    check = bundled_check("litert")
    assert isinstance(check, WholeCheck)
    windows, whole = [], []
    rng = np.random.default_rng(3)
    for _ in range(20):
        picks = rng.choice(len(images), int(rng.integers(2, 6)), replace=False)
        glyphs = [glyph(images[i], 100) for i in picks]
        w, y = row_examples(*compose(glyphs, [-int(rng.integers(1, 9)) for _ in picks[1:]], rng))
        windows += w
        whole += y
    scores = check.log_whole(np.stack(windows).astype(np.float32) / 255)
    whole = np.asarray(whole, bool)
    assert 20 <= whole.sum() < len(whole)
    # Area under the ROC curve: how often a whole digit scores above a non-whole one.
    above = (scores[whole][:, None] > scores[~whole][None, :]).mean()
    assert above > 0.95


def _wide_digits(images, labels) -> list[tuple[np.ndarray, str]]:
    """20 fixture 0s and 20 4s, each written 1.7 times as wide as usual, alone."""
    rng = np.random.default_rng(0)
    return [
        (compose_row([glyph(images[i], 100, 1.7)], [], rng), str(digit))
        for digit in (0, 4)
        for i in _picks(labels, digit, 20)
    ]


def test_rows_read_better_with_the_check(litert, mnist_sample):
    """Joined digits split and wide ones kept whole: without the check a wide 4's
    halves often read better than the whole (measured with it: 33 of 40 joined
    rows and 40 of 40 wide digits; without: 33 and 30)."""
    images, labels = mnist_sample
    joined = _joined_rows(images, labels, 40, seed=7)
    wide = _wide_digits(images, labels)

    def right(rows, check):
        return sum(read_number(litert, on_paper(r), check=check).text == t for r, t in rows)

    checked, unchecked = (
        (right(joined, True), right(wide, True)),
        right(joined, False) + right(wide, False),
    )
    assert checked[0] >= 31 and checked[1] >= 38
    assert sum(checked) > unchecked + 5


def test_the_engines_agree(mnist_sample):
    pytest.importorskip("tensorflow")
    images, _ = mnist_sample
    rng = np.random.default_rng(2)
    row = compose_row([glyph(images[i], 100) for i in (6, 7, 8)], [-4, -4], rng)
    _, ink = _reduced_ink(on_paper(row), "auto")
    windows = np.stack([c.window for c in _candidates(ink)[1]])
    fast = WholeCheck(check_file("litert"), "litert").log_whole(windows)
    source = WholeCheck(check_file("keras"), "keras").log_whole(windows)
    np.testing.assert_allclose(fast, source, atol=1e-3)


@pytest.fixture
def models_in(tmp_path, monkeypatch):
    """The bundled check's folder moved to ``tmp_path`` (empty until a test fills it)."""
    monkeypatch.setattr(wholecheck, "models_dir", lambda: tmp_path)
    bundled_check.cache_clear()
    yield tmp_path
    bundled_check.cache_clear()


def test_a_missing_check_reads_without_it_and_says_so(litert, mnist_sample, models_in):
    images, labels = mnist_sample
    rng = np.random.default_rng(4)
    row = compose_row([glyph(images[i], 100) for i in (0, 1, 2)], [30, 30], rng)
    reading = read_number(litert, on_paper(row))
    assert reading.text == "".join(str(labels[i]) for i in (0, 1, 2))
    assert any("without the whole-digit check" in n and "missing" in n for n in reading.notes)


def test_a_damaged_check_is_refused(models_in):
    bundled = Path(__file__).parents[1] / "models"
    for suffix in (".tflite", ".json"):
        shutil.copy(bundled / f"whole_check{suffix}", models_in)
    path = models_in / "whole_check.tflite"
    assert isinstance(WholeCheck(path, "litert"), WholeCheck)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckError, match="damaged"):
        WholeCheck(path, "litert")
    assert isinstance(bundled_check("litert"), CheckError)


def test_overlapping_canvas_numbers_are_read(qapp, litert):
    """Numbers written on the canvas with each digit's box overlapping the next
    (170 px digits 95 px apart, 24 px pen): 29 of 29 read with the check, 22 without."""
    from tests.test_numbers import _canvas_number

    rng = np.random.default_rng(0)
    texts = ["2000", "100", "2025", "1990", "4411", "8808", "31415", "2468", "97531"]
    texts += ["".join(map(str, rng.integers(0, 10, rng.integers(2, 6)))) for _ in range(20)]
    rasters = [(_canvas_number(t, 95.0), t) for t in texts]
    with_check = sum(read_number(litert, r).text == t for r, t in rasters)
    without = sum(read_number(litert, r, check=False).text == t for r, t in rasters)
    assert with_check >= 27
    assert with_check >= without + 4


def test_train_check_writes_a_check_the_reader_can_load(tmp_path, capsys, mnist_sample):
    """``mnist-digits train-check`` end to end on a few rows of the fixture's
    digits: both files and the card, which the loader checks them against; the
    engines agree on them."""
    pytest.importorskip("tensorflow")
    from mnist_desktop.cli import main
    from tests.test_data import write_digits

    images, labels = mnist_sample
    data = tmp_path / "mnist"
    write_digits(data, images, labels, n_test=10)
    out = tmp_path / "check"
    args = ["train-check", "--data", str(data), "--rows", "16", "--epochs", "1", "--out", str(out)]
    assert main(args) == 0
    assert "--replace-bundled" in capsys.readouterr().out
    card = json.loads((out / "whole_check.json").read_text())
    assert card["config"]["rows"] == 16 and card["candidates"]["train"] > 16
    assert set(card["sha256"]) == {"keras", "tflite"}
    windows = np.random.default_rng(0).random((5, *WINDOW, 2)).astype(np.float32)
    fast = WholeCheck(out / "whole_check.tflite", "litert").log_whole(windows)
    source = WholeCheck(out / "whole_check.keras", "keras").log_whole(windows)
    assert fast.shape == (5,) and np.all(fast <= 0)
    np.testing.assert_allclose(fast, source, atol=1e-3)


def test_the_window_says_when_numbers_are_read_without_the_check(qtbot, clean_settings, models_in):
    from tests.test_gui import ready_window
    from tests.test_gui_number import write_number

    win = ready_window(qtbot, (1000, 700))
    win.set_mode("number")
    assert not win.message_bar.isVisible()
    result = write_number(qtbot, win, "27")
    assert result.number.text == "27"  # read, without the check
    qtbot.waitUntil(lambda: win.message_bar.isVisible(), timeout=10_000)
    text = win.message_bar.text()
    assert "without the whole-digit check" in text and "missing" in text
    assert win.message_bar.level == "warning"
