"""Learning from corrections in the window: say the right digit, undo it, export and
import the set, fine-tune in the background, switch models."""

from __future__ import annotations

import errno
import os
import shutil
import threading

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog, QProgressDialog, QPushButton

from mnist_desktop import corrections, settings
from mnist_desktop.corrections import CorrectionStore
from mnist_desktop.gui import threads
from mnist_desktop.resources import default_model_path
from tests.helpers.qt import click
from tests.helpers.strokes import digit_strokes
from tests.helpers.zips import many_rows_zip
from tests.test_data import write_digits
from tests.test_gui import TIMEOUT, draw_and_wait, ready_window
from tests.test_gui_number import write_number


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A fresh, empty corrections folder for each test."""
    monkeypatch.setenv("MNIST_DESKTOP_DATA", str(tmp_path / "user"))
    return CorrectionStore()


@pytest.fixture
def window(qtbot, clean_settings, store):
    return ready_window(qtbot, (1000, 700))


def click_bar(chart, digit: int) -> None:
    click(chart, QPointF(chart.width() / 10 * (digit + 0.5), chart.height() / 2))


def test_clicking_the_right_digit_saves_the_drawing(qtbot, window, store):
    prediction = draw_and_wait(qtbot, window, digit_strokes(4))
    assert prediction.digit == 4
    click_bar(window.chart, 9)  # "no, it is a 9"
    items = store.all()
    assert len(items) == 1
    assert items[0].label == 9 and items[0].predicted == 4
    x, y = store.arrays()
    assert y.tolist() == [9]
    assert np.abs(x[0] - window._last_result.preprocessed.image).max() <= 1 / 255
    source = store.source_image(items[0])
    assert source is not None and source.shape == window.canvas.drawing_array().shape
    drawing = store.strokes(items[0])  # the original strokes, as vectors
    assert drawing["canvas"] == [280, 280]
    strokes = window.canvas.state().strokes
    assert [s["points"] for s in drawing["strokes"]] == [
        [list(p) for p in s.points] for s in strokes
    ]
    assert window.message_bar.level == "info" and "as a 9" in window.message_bar.text()
    # The drawing is still there, untouched.
    assert len(window.canvas.state().strokes) == len(digit_strokes(4))


def test_a_correction_can_be_undone(qtbot, window, store):
    draw_and_wait(qtbot, window, digit_strokes(7))
    window.correct_actions[1].trigger()  # Model ▸ Correct the answer ▸ 1
    assert len(store) == 1
    window.message_bar.action_button.click()  # Undo
    assert len(store) == 0
    assert not window.message_bar.isVisible()


def test_undo_on_a_full_disk_says_it_failed(qtbot, window, store, monkeypatch):
    draw_and_wait(qtbot, window, digit_strokes(7))
    window.correct(1)
    assert len(store) == 1

    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    button = window.message_bar.action_button
    click(button, QPointF(button.width() / 2, button.height() / 2))  # Undo
    monkeypatch.undo()
    assert len(store) == 1  # still there, and the banner says so
    assert window.message_bar.level == "error"
    assert "Could not undo" in window.message_bar.text()
    assert "still saved" in window.message_bar.text()


def test_nothing_to_correct_on_a_blank_canvas(qtbot, window, store):
    window.correct(3)
    assert len(store) == 0
    click_bar(window.chart, 3)  # no bars shown: no signal
    assert len(store) == 0


def test_correcting_one_digit_of_a_number(qtbot, window, store):
    window.set_mode("number")
    result = write_number(qtbot, window, "2025")
    window.number_strip.select(3)
    click_bar(window.chart, 6)  # the 5 is really a 6
    (item,) = store.all()
    assert item.label == 6 and item.predicted == 5
    x, _ = store.arrays()
    assert np.abs(x[0] - result.number.digits[3].image).max() <= 1 / 255
    source = store.source_image(item)
    w, h = result.number.digits[3].box[2:]
    assert source.shape[:2] == (h, w)
    drawing = store.strokes(item)
    assert drawing["canvas"] == [840, 280] and len(drawing["digit_box"]) == 4
    assert drawing["digit_box"][0] > 420  # the last digit is on the right


def test_export_and_import_through_the_window(qtbot, window, store, tmp_path, monkeypatch):
    draw_and_wait(qtbot, window, digit_strokes(1))
    window.correct(7)
    draw_and_wait(qtbot, window, digit_strokes(3))
    window.correct(8)
    zip_path = tmp_path / "mine.zip"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(zip_path), ""))
    with qtbot.waitSignal(window.exchange.finished, timeout=TIMEOUT) as done:
        window.exchange.export_dialog()
    assert done.args == ["export", 2] and zip_path.is_file()
    store.clear()
    assert len(store) == 0
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(zip_path), ""))
    with qtbot.waitSignal(window.exchange.finished, timeout=TIMEOUT) as done:
        window.exchange.import_dialog()
    assert done.args == ["import", 2]
    assert sorted(c.label for c in store.all()) == [7, 8]
    assert "Imported 2 new corrections" in window.statusBar().currentMessage()
    with qtbot.waitSignal(window.exchange.finished, timeout=TIMEOUT) as done:
        window.exchange.start_import(str(zip_path))
    assert done.args == ["import", 0]  # already there
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip at all")
    with qtbot.waitSignal(window.exchange.message, timeout=TIMEOUT):
        window.exchange.start_import(str(bad))
    assert window.message_bar.level == "error" and "bad.zip" in window.message_bar.text()
    assert not window.exchange.running() and len(store) == 2


def test_switching_to_a_personal_model_and_back(qtbot, window, store):
    assert not window.personal_model_action.isEnabled()
    personal = store.personal_model_path
    personal.parent.mkdir(parents=True)
    for suffix in (".keras", ".tflite", ".json"):
        shutil.copy(default_model_path(suffix), personal.with_suffix(suffix))
    window._sync_model_actions()
    assert window.personal_model_action.isEnabled()
    window.personal_model_action.trigger()
    qtbot.waitUntil(lambda: window.model_label.text() == "model: personal", timeout=TIMEOUT)
    assert settings.read("model") == "personal"
    assert window.personal_model_action.isChecked()
    window.bundled_model_action.trigger()
    qtbot.waitUntil(lambda: window.model_label.text() == "model: mnist_cnn.tflite", timeout=TIMEOUT)
    assert settings.read("model") == "bundled"


def test_improve_dialog_fine_tunes_and_switches_to_the_personal_model(
    qtbot, window, store, tmp_path, mnist_sample
):
    from mnist_desktop.ml.finetune import FineTuneConfig

    images, labels = mnist_sample
    write_digits(tmp_path / "mnist", images, labels)
    for digit in (4, 7):
        draw_and_wait(qtbot, window, digit_strokes(digit))
        window.correct((digit + 1) % 10)
    dialog = window.improve_dialog()
    assert dialog.start_button.isEnabled()
    dialog._config = FineTuneConfig(steps=4, batch_size=32, validation_size=100, max_test_drop=1.0)
    dialog.folder_edit.setText(str(tmp_path / "mnist"))
    steps = []
    dialog._thread = None
    with qtbot.waitSignal(dialog.model_ready, timeout=300_000):
        dialog.start()
        dialog._worker.progress.connect(lambda step, total, message: steps.append(step))
    assert store.personal_model_path.is_file()
    assert settings.read("mnist_folder") == str(tmp_path / "mnist")
    assert "MNIST test accuracy" in dialog.status_label.text()
    qtbot.waitUntil(lambda: window.model_label.text() == "model: personal", timeout=TIMEOUT)
    assert window.personal_model_action.isChecked()
    assert dialog.progress_bar.value() == dialog.progress_bar.maximum()


def test_improve_dialog_explains_missing_replay_data(qtbot, window, store, tmp_path):
    draw_and_wait(qtbot, window, digit_strokes(2))
    window.correct(3)
    dialog = window.improve_dialog()
    dialog.folder_edit.setText(str(tmp_path / "nowhere"))
    dialog.start()
    qtbot.waitUntil(lambda: not dialog.running(), timeout=TIMEOUT)
    assert dialog.status_label.text().startswith("Not improved")
    assert "nowhere" in dialog.status_label.text()
    assert not store.personal_model_path.exists()


def test_improve_needs_corrections(qtbot, window, store):
    dialog = window.improve_dialog()
    assert not dialog.start_button.isEnabled()
    assert "no corrections yet" in dialog.status_label.text()


def test_quitting_during_fine_tuning_cancels_it_cleanly(
    qtbot, window, store, tmp_path, mnist_sample
):
    from mnist_desktop.ml.finetune import FineTuneConfig

    images, labels = mnist_sample
    write_digits(tmp_path / "mnist", images, labels)
    draw_and_wait(qtbot, window, digit_strokes(4))
    window.correct(9)
    dialog = window.improve_dialog()
    dialog._config = FineTuneConfig(steps=500, batch_size=32, validation_size=100)
    dialog.folder_edit.setText(str(tmp_path / "mnist"))
    dialog.start()
    qtbot.waitUntil(lambda: "step" in dialog.status_label.text(), timeout=120_000)
    window.close()
    assert not dialog.running()
    assert not store.personal_model_path.exists()


# ---- long jobs: progress, cancel, and quitting at any moment ---------------------------


class Gate:
    """Holds a background job at a point until the test lets it go."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.opened = threading.Event()

    def wait(self) -> None:
        self.reached.set()
        assert self.opened.wait(120), "the test never opened the gate"


@pytest.fixture
def gate():
    gate = Gate()
    yield gate
    gate.opened.set()  # whatever happened, no thread stays parked


def press_quit(window) -> None:
    """Ctrl+Q pressed on whatever widget has the focus."""
    window.activateWindow()
    target = QApplication.focusWidget() or window
    QTest.keyClick(target, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)


def quit_and_finish(qtbot, window, gate: Gate) -> None:
    """Quit while ``gate`` holds a job: the window closes without waiting for the
    job (it is still parked, detached); once let go, the job ends on its own."""
    assert gate.reached.wait(TIMEOUT / 1000)
    press_quit(window)
    assert not window.isVisible()
    assert threads.detached_running() >= 1 and not gate.opened.is_set()
    gate.opened.set()
    qtbot.waitUntil(lambda: threads.detached_running() == 0, timeout=TIMEOUT)


def slow_inputs(monkeypatch, gate: Gate, at_row: int = 5) -> None:
    """An import whose row ``at_row`` waits at the gate."""
    real = corrections._input_from_png
    calls = []

    def held(data, what):
        calls.append(what)
        if len(calls) == at_row:
            gate.wait()
        return real(data, what)

    monkeypatch.setattr(corrections, "_input_from_png", held)


def test_an_import_runs_beside_the_window_and_can_be_cancelled(
    qtbot, window, store, tmp_path, monkeypatch, gate
):
    many_rows_zip(tmp_path / "rows.zip", 50)
    slow_inputs(monkeypatch, gate)
    window.exchange.start_import(str(tmp_path / "rows.zip"))
    assert gate.reached.wait(TIMEOUT / 1000)
    progress = window.findChild(QProgressDialog, "exchangeProgress")
    assert progress is not None and progress.isVisible()
    # The window answers while the import is held.
    assert draw_and_wait(qtbot, window, digit_strokes(2)).digit == 2
    cancel = progress.findChild(QPushButton)
    click(cancel, QPointF(cancel.width() / 2, cancel.height() / 2))
    with qtbot.waitSignal(window.exchange.message, timeout=TIMEOUT) as said:
        gate.opened.set()
    assert "cancelled" in said.args[0] and len(store) == 0
    assert window.findChild(QProgressDialog, "exchangeProgress") is None or not progress.isVisible()

    monkeypatch.undo()
    with qtbot.waitSignal(window.exchange.finished, timeout=TIMEOUT) as done:
        window.exchange.start_import(str(tmp_path / "rows.zip"))
    assert done.args == ["import", 50] and len(store) == 50


def test_quitting_during_an_import_returns_at_once(
    qtbot, window, store, tmp_path, monkeypatch, gate
):
    many_rows_zip(tmp_path / "rows.zip", 20)
    slow_inputs(monkeypatch, gate)
    window.exchange.start_import(str(tmp_path / "rows.zip"))
    quit_and_finish(qtbot, window, gate)
    assert len(store) == 0  # the interrupted import took nothing in


def test_quitting_during_a_folder_run_returns_at_once(qtbot, window, tmp_path, monkeypatch, gate):

    for i in range(5):
        Image.new("L", (28, 28), 255 * (i % 2)).save(tmp_path / f"{i}.png")
    from mnist_desktop import files

    real = files.preprocess
    seen = []

    def slow(path, polarity="auto", **options):
        seen.append(path)
        if len(seen) == 2:
            gate.wait()  # a decode that takes forever
        return real(path, polarity, **options)

    monkeypatch.setattr(files, "preprocess", slow)  # the decode of one file
    dialog = window.classify_folder(str(tmp_path))
    quit_and_finish(qtbot, window, gate)
    assert len(seen) == 2, "the run stopped at the next file"
    assert dialog is not None


def test_cancel_stops_a_folder_run_between_files(qtbot, window, tmp_path, monkeypatch, gate):

    for i in range(5):
        Image.new("L", (28, 28), 0).save(tmp_path / f"{i}.png")
    from mnist_desktop import files

    real = files.preprocess
    seen = []

    def slow(path, polarity="auto", **options):
        seen.append(path)
        if len(seen) == 2:
            gate.wait()
        return real(path, polarity, **options)

    monkeypatch.setattr(files, "preprocess", slow)  # the decode of one file
    dialog = window.classify_folder(str(tmp_path))
    assert gate.reached.wait(TIMEOUT / 1000)
    button = dialog.cancel_button
    click(button, QPointF(button.width() / 2, button.height() / 2))
    gate.opened.set()
    qtbot.waitUntil(lambda: not dialog.is_running(), timeout=TIMEOUT)
    assert dialog.done_text == "Cancelled after 2 of 5 images."
    assert len(seen) == 2 and len(dialog.rows) == 2


def test_quitting_during_fine_tuning_returns_at_once(qtbot, window, store, monkeypatch, gate):
    from mnist_desktop.ml import finetune
    from mnist_desktop.ml.data import DataError

    def slow_replay(folder):
        gate.wait()  # e.g. downloading MNIST on a slow line
        raise DataError("no replay data in this test")

    monkeypatch.setattr(finetune, "load_replay", slow_replay)
    store.add(3, np.zeros((28, 28), np.float32))
    dialog = window.improve_dialog()
    click(dialog.start_button, QPointF(dialog.start_button.width() / 2, 5))
    quit_and_finish(qtbot, window, gate)
    assert not dialog.running() and not store.personal_model_path.exists()
