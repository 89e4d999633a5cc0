"""What the window says: "not a digit", a photo of several digits, and the small print
(timing, percentages, the folder table and its CSV)."""

from __future__ import annotations

import csv
import json
import re
import shutil

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QApplication

from mnist_desktop.corrections import CorrectionStore
from mnist_desktop.gui.folder import CSV_HEADER, FolderDialog, FolderRow
from mnist_desktop.ml.inference import make_prediction
from mnist_desktop.resources import default_model_path
from tests.helpers.images import encode, number_row, on_paper
from tests.helpers.qt import click, draw, user_click
from tests.helpers.strokes import digit_strokes, number_strokes
from tests.test_gui import TIMEOUT, draw_and_wait, ready_window, wait_result


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_DESKTOP_DATA", str(tmp_path / "user"))
    return CorrectionStore()


@pytest.fixture
def window(qtbot, clean_settings, store):
    return ready_window(qtbot, (1000, 700))


def answered(qtbot, win) -> None:
    qtbot.waitUntil(lambda: win._last_result_id == win._next_id, timeout=TIMEOUT)


def reject(win, which=lambda best: True) -> None:
    """Make the window's model call ``which`` of its answers (by best digit) no digit,
    as a model with a rejection threshold does."""
    classifier = win.worker._classifier

    def verdict(probabilities, pre=None):
        best = int(np.argmax(probabilities))
        return make_prediction(probabilities, pre, 1.01 if which(best) else None)

    classifier.verdict = verdict


def click_bar(chart, digit: int) -> None:
    click(chart, QPointF(chart.width() / 10 * (digit + 0.5), chart.height() / 2))


def photo(tmp_path, mnist_sample, text: str) -> str:
    images, labels = mnist_sample
    picks = [images[int(np.flatnonzero(labels == int(ch))[0])] for ch in text]
    ink, _ = number_row(picks, np.random.default_rng(3))
    path = tmp_path / f"photo_{text}.png"
    path.write_bytes(encode(on_paper(ink), "PNG"))
    return str(path)


# -- not a digit ---------------------------------------------------------------
def test_a_rejected_drawing_says_not_a_digit_with_the_chart_greyed(qtbot, window):
    reject(window)
    prediction = draw_and_wait(qtbot, window, digit_strokes(4))
    assert prediction.rejected and prediction.best == 4
    assert window.prediction_label.text() == "Not a digit?"
    assert "sure" not in window.confidence_label.text()
    assert "%" not in window.confidence_label.text()  # never a confident answer
    chart = window.chart
    assert chart.muted() and chart.highlighted() is None
    assert len(chart.probabilities()) == 10 and int(np.argmax(chart.probabilities())) == 4
    # An accepted answer afterwards is highlighted again.
    window.worker._classifier.__dict__.pop("verdict")
    draw_and_wait(qtbot, window, [[(30.0, 30.0), (40.0, 40.0)]])
    assert not chart.muted() and chart.highlighted() is not None


def test_a_rejected_drawing_can_still_be_corrected(qtbot, window, store):
    reject(window)
    draw_and_wait(qtbot, window, digit_strokes(4))
    click_bar(window.chart, 4)
    assert len(store) == 1
    saved = store.all()[0]
    assert saved.label == 4 and saved.predicted is None
    assert "Saved as a 4" in window.message_bar.text()


def test_number_mode_leaves_a_rejected_mark_out(qtbot, window, store):
    window.set_mode("number")
    reject(window, lambda best: best == 0)  # the 0 of 2025 is judged no digit
    draw(window.canvas, number_strokes("2025", 170, 150, 155))
    answered(qtbot, window)
    assert window._last_result.number.digits[1].prediction.rejected
    assert window.prediction_label.text() == "225"
    assert "1 mark left out" in window.confidence_label.text()
    strip = window.number_strip
    assert strip.count() == 4 and strip.rejected(1) and not strip.rejected(0)
    assert strip.cell_text(1) == "? (not a digit)"
    assert [label for _, label in window.canvas._boxes] == ["2", "?", "2", "5"]
    click(strip, strip.cell_rect(1).center())
    assert window.chart.muted() and window.chart.highlighted() is None
    # It can still be corrected: it is a 0.
    click_bar(window.chart, 0)
    assert len(store) == 1 and store.all()[0].label == 0


def test_the_folder_table_says_not_a_digit(qtbot, clean_settings, tmp_path, mnist_sample):
    """A model whose card rejects everything: each file reads "not a digit"."""
    model = tmp_path / "model" / "mnist_cnn.tflite"
    model.parent.mkdir()
    shutil.copy(default_model_path(".tflite"), model)
    card = json.loads(default_model_path(".json").read_text())
    card["rejection"] = {"reject_below": 1.01}
    model.with_suffix(".json").write_text(json.dumps(card))
    images, _ = mnist_sample
    folder = tmp_path / "digits"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(255 - images[i]).save(folder / f"{i}.png")
    dialog = FolderDialog(str(folder), "litert", str(model))
    qtbot.addWidget(dialog)
    dialog.start()
    qtbot.waitUntil(lambda: not dialog.is_running(), timeout=30_000)
    notes = [dialog.table.item(r, 4).text() for r in range(dialog.table.rowCount())]
    assert notes == ["not a digit"] * 3
    assert all(dialog.table.item(r, 2).text() == "" for r in range(3))
    out = tmp_path / "out.csv"
    dialog.export_csv(str(out))
    rows = list(csv.DictReader(out.open()))
    assert [r["reason"] for r in rows] == ["not a digit"] * 3
    assert all(r["digit"] == "" and r["p0"] != "" for r in rows)
    dialog.close()


# -- a photo of several digits -------------------------------------------------
def test_a_photo_of_a_number_offers_to_read_it_as_one(qtbot, window, tmp_path, mnist_sample):
    window.open_file(photo(tmp_path, mnist_sample, "1984"))
    result = wait_result(qtbot, window)
    assert result.digits_found == 4
    bar = window.message_bar
    assert "4 digits" in bar.text() and bar.action_button.text() == "Read as a number"
    user_click(bar.action_button)
    assert window.mode == "number"
    assert window.canvas.state().image is not None  # the photo stays
    answered(qtbot, window)
    assert window._last_result.number.text == "1984"
    assert window.prediction_label.text() == "1984"
    assert bar.text() == ""
    assert QApplication.focusWidget() is window.canvas


def test_a_single_digit_photo_makes_no_offer(qtbot, window, tmp_path, mnist_sample):
    window.open_file(photo(tmp_path, mnist_sample, "7"))
    result = wait_result(qtbot, window)
    assert result.digits_found == 1 and window.message_bar.text() == ""


def test_switching_modes_keeps_an_opened_image_and_reads_it_again(
    qtbot, window, tmp_path, mnist_sample
):
    window.set_mode("number")
    window.open_file(photo(tmp_path, mnist_sample, "31"))
    assert wait_result(qtbot, window).number.text == "31"
    image = window.canvas.state().image
    window.digit_mode_action.trigger()
    answered(qtbot, window)
    assert window.canvas.state().image is image
    assert window._last_result.number is None and window._last_result.prediction is not None
    window.number_mode_action.trigger()
    answered(qtbot, window)
    assert window._last_result.number.text == "31"
    # Both switches are undoable steps; the image was never lost.
    window.canvas.undo_stack.undo()
    assert window.mode == "digit" and window.canvas.state().image is image


# -- the small print -----------------------------------------------------------
@pytest.mark.parametrize("how", ["clear", "mode switch"])
def test_the_timing_goes_with_the_answer(qtbot, window, how):
    draw_and_wait(qtbot, window, digit_strokes(3))
    assert window.timing_label.text().endswith("ms")
    if how == "clear":
        window.clear_action.trigger()
    else:
        window.set_mode("number")
    answered(qtbot, window)
    assert window.timing_label.text() == ""


@pytest.mark.parametrize("digit", [0, 4, 7])
def test_the_headline_and_the_bar_give_the_same_percentage(qtbot, window, digit):
    prediction = draw_and_wait(qtbot, window, digit_strokes(digit))
    shown = re.search(r"[<>]?\d+(\.\d+)?%", window.confidence_label.text()).group(0)
    assert shown == window.chart.bar_label(prediction.digit)


def test_folder_csv_has_the_command_lines_columns(qtbot, clean_settings, tmp_path, mnist_sample):
    images, labels = mnist_sample
    folder = tmp_path / "digits"
    folder.mkdir()
    Image.fromarray(255 - images[0]).save(folder / "=HYPERLINK(1).png")
    Image.fromarray(np.full((28, 28), 255, np.uint8)).save(folder / "blank.png")
    (folder / "broken.png").write_bytes(b"\x89PNG broken")
    dialog = FolderDialog(str(folder))
    qtbot.addWidget(dialog)
    dialog.start()
    qtbot.waitUntil(lambda: not dialog.is_running(), timeout=30_000)
    # A relative name (as another folder listing may give) that a spreadsheet would run.
    dialog.rows.append(FolderRow('=HYPERLINK("x")', error="@SUM(1)"))
    out = tmp_path / "out.csv"
    dialog.export_csv(str(out))
    with out.open(newline="") as fh:
        header = next(csv.reader(fh))
    assert header == CSV_HEADER
    assert header[:13] == ["path", "digit", "confidence", *[f"p{d}" for d in range(10)]]
    rows = {r["path"].rsplit("/", 1)[-1]: r for r in csv.DictReader(out.open(newline=""))}
    digit = rows["=HYPERLINK(1).png"]
    formula = rows['\'=HYPERLINK("x")']  # written as text: shown, never run
    assert formula["error"] == "'@SUM(1)"
    probs = [float(digit[f"p{d}"]) for d in range(10)]
    assert sum(probs) == pytest.approx(1.0, abs=1e-4)
    assert int(digit["digit"]) == int(np.argmax(probs)) == labels[0]
    assert rows["blank.png"]["reason"] == "blank" and rows["blank.png"]["digit"] == ""
    assert rows["broken.png"]["error"] and rows["broken.png"]["p0"] == ""
    dialog.close()


def test_the_winners_digit_is_drawn_like_the_others(qtbot):
    """The digits under the bars come from a cached backdrop; the winner's is painted
    over it: both in the labels' font (a larger backdrop digit peeked out under it)."""
    from mnist_desktop.gui.chart import ANIMATION_MS, ProbabilityChart

    def digit_three_ink(winner: int) -> tuple[int, int, int, int]:
        chart = ProbabilityChart()
        qtbot.addWidget(chart)
        chart.resize(600, 300)  # labels of 16 px: not the default font's size
        chart.show()
        probs = [0.01] * 10
        probs[winner] = 0.91
        chart.set_probabilities(probs)
        qtbot.wait(ANIMATION_MS + 50)
        image = chart.grab().toImage()
        slot = image.width() / 10
        background = image.pixelColor(int(slot * 3) + 1, image.height() - 1)
        xs, ys = [], []
        for y in range(image.height() - 22, image.height()):  # the digits' row, under the bars
            for x in range(int(slot * 3) + 1, int(slot * 4) - 1):
                c = image.pixelColor(x, y)
                if abs(c.lightness() - background.lightness()) > 60:
                    xs.append(x)
                    ys.append(y)
        return min(xs), min(ys), max(xs), max(ys)

    highlighted, plain = digit_three_ink(3), digit_three_ink(5)
    assert highlighted == plain
