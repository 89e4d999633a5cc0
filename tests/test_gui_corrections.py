"""Learning from corrections in the window: say the right digit, undo it, export and
import the set, fine-tune in the background, switch models."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QFileDialog

from mnist_desktop import settings
from mnist_desktop.corrections import CorrectionStore
from mnist_desktop.resources import default_model_path
from tests.helpers.qt import click
from tests.helpers.strokes import digit_strokes
from tests.test_data import idx_bytes
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
    window.export_corrections()
    assert zip_path.is_file()
    store.clear()
    assert len(store) == 0
    assert window.import_corrections(str(zip_path)) == 2
    assert sorted(c.label for c in store.all()) == [7, 8]
    assert window.import_corrections(str(zip_path)) == 0  # already there
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip at all")
    assert window.import_corrections(str(bad)) == 0
    assert window.message_bar.level == "error" and "bad.zip" in window.message_bar.text()


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


def write_replay(folder, images, labels) -> None:
    folder.mkdir()
    for name, array in {
        "train-images-idx3-ubyte": images[:400],
        "train-labels-idx1-ubyte": labels[:400],
        "t10k-images-idx3-ubyte": images[400:500],
        "t10k-labels-idx1-ubyte": labels[400:500],
    }.items():
        (folder / name).write_bytes(idx_bytes(array))


def test_improve_dialog_fine_tunes_and_switches_to_the_personal_model(
    qtbot, window, store, tmp_path, mnist_sample
):
    from mnist_desktop.ml.finetune import FineTuneConfig

    images, labels = mnist_sample
    write_replay(tmp_path / "mnist", images, labels)
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
    write_replay(tmp_path / "mnist", images, labels)
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
