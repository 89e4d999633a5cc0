"""Training end to end on a few hundred images: files, card, export, safety."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mnist_desktop.ml.inference import load_classifier
from mnist_desktop.ml.train import split_validation


@pytest.fixture(scope="module")
def trained(tiny_model):
    out, card, _ = tiny_model
    return out, card


def test_training_writes_model_export_and_card(trained):
    out, card = trained
    assert out.is_file() and out.with_suffix(".tflite").is_file()
    on_disk = json.loads(out.with_suffix(".json").read_text())
    assert on_disk == card
    for key in (
        "test_accuracy",
        "per_class_accuracy",
        "parameters",
        "epochs",
        "seed",
        "split_seed",
        "training_seconds",
    ):
        assert key in card
    assert (
        card["test_n"] == 100 and card["train_images"] == 300 and card["validation_images"] == 100
    )
    assert len(card["per_class_accuracy"]) == 10
    assert card["members"] == 2 and len(card["member_accuracy"]) == 2
    assert card["polish_epochs"] == 1
    assert card["calibration"]["temperature"] > 0
    assert {"tensorflow", "keras"} <= set(card["versions"])
    assert not list(out.parent.glob("*.part*")), "temporary files left behind"


def test_trained_model_loads_in_both_engines_and_they_agree(trained, mnist_sample):
    out, card = trained
    images, _ = mnist_sample
    from mnist_desktop.preprocess import preprocess_batch

    x = preprocess_batch(images[:50])
    keras_c, litert_c = load_classifier("keras", out), load_classifier("litert", out)
    assert keras_c.temperature == litert_c.temperature == card["calibration"]["temperature"]
    assert np.abs(keras_c.probabilities(x) - litert_c.probabilities(x)).max() <= 1e-4


def test_saved_model_has_no_optimizer_state(trained):
    import zipfile

    out, _ = trained
    names = zipfile.ZipFile(out).namelist()
    config = json.loads(zipfile.ZipFile(out).read("config.json"))
    assert not config.get("compile_config")
    assert all("optimizer" not in n for n in names)


def test_validation_split_is_stratified_and_disjoint():
    labels = np.repeat(np.arange(10), 100)
    train_idx, val_idx = split_validation(labels, 100, seed=0)
    assert len(val_idx) == 100 and not set(train_idx) & set(val_idx)
    assert np.bincount(labels[val_idx], minlength=10).tolist() == [10] * 10


def test_a_failed_save_leaves_the_previous_model_whole(trained, tmp_path, monkeypatch):
    """If moving the new files into place fails half-way (a file locked by
    another program), the previous model, export and card are put back."""
    import os
    import shutil

    import keras

    from mnist_desktop.ml import train as train_module

    source, _ = trained
    out = tmp_path / "model.keras"
    for suffix in (".keras", ".tflite", ".json"):
        shutil.copy(source.with_suffix(suffix), out.with_suffix(suffix))
    before = {s: out.with_suffix(s).read_bytes() for s in (".keras", ".tflite", ".json")}
    model = keras.saving.load_model(out, compile=False)
    real_replace = os.replace

    def locked(src, dst):
        if str(src).endswith(".tflite.part"):
            raise PermissionError("the file is in use")
        real_replace(src, dst)

    monkeypatch.setattr(train_module.os, "replace", locked)
    with pytest.raises(PermissionError):
        train_module.save_model_files(model, out, {"new": True})
    monkeypatch.setattr(train_module.os, "replace", real_replace)
    assert {s: out.with_suffix(s).read_bytes() for s in before} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "model.json",
        "model.keras",
        "model.tflite",
    ]


def _write_pen_dir(directory):
    """A tiny pen set in the real format: four writers of two contributors
    drawing every digit (the tests' hand-made paths, jittered) and some letters."""
    from tests.helpers.strokes import DIGITS, SECOND_HAND

    rng = np.random.default_rng(0)
    digits, letters = [], []
    writers = ["unipen/aaa/w1", "unipen/aaa/w2", "unipen/bbb/w3", "unipen/bbb/w4"]
    for n, writer in enumerate(writers):
        hand = DIGITS if n % 2 == 0 else SECOND_HAND
        for digit, strokes in hand.items():
            for _ in range(3):
                jittered = [
                    [
                        [round(400 * x + rng.normal(0, 4)), round(400 * y + rng.normal(0, 4))]
                        for x, y in stroke
                    ]
                    for stroke in strokes
                ]
                digits.append({"label": digit, "writer": writer, "strokes": jittered})
        for label, strokes in {
            "A": [[[0, 100], [50, 0], [100, 100]], [[25, 50], [75, 50]]],
            "x": [[[0, 0], [60, 60]], [[60, 0], [0, 60]]],
            "O": [[[50, 0], [100, 50], [50, 100], [0, 50], [50, 0]]],
        }.items():
            letters.append({"label": label, "writer": writer, "strokes": strokes})
    for name, records in (("digits.jsonl", digits), ("letters.jsonl", letters)):
        (directory / name).write_text("".join(json.dumps(r) + "\n" for r in records))


def test_the_pen_sets_known_faults_are_left_out(tmp_path):
    """Records the pen set's README names as faults (zeros side by side labelled
    0, a scribble labelled 8) are no digit: load_pen leaves them out, by id."""
    from mnist_desktop.ml.pen import KNOWN_FAULTS, load_pen

    _write_pen_dir(tmp_path)
    fault = sorted(KNOWN_FAULTS)[0]
    zeros = [[[x + 120 * k, y] for x, y in ((50, 0), (100, 50), (50, 100), (0, 50), (50, 0))]
             for k in range(3)]  # fmt: skip
    extra = [
        {"label": 0, "writer": "unipen/aaa/w1", "id": fault, "strokes": zeros},
        {"label": 0, "writer": "unipen/aaa/w1", "id": fault + "0", "strokes": zeros[:1]},
    ]
    with open(tmp_path / "digits.jsonl", "a") as f:
        f.write("".join(json.dumps(r) + "\n" for r in extra))
    data = load_pen(tmp_path)
    assert data.faults_left_out == 1
    assert [s.id for s in data.digits].count(fault + "0") == 1
    assert fault not in {s.id for s in data.digits}
    assert len(data.digits) == 4 * 10 * 3 + 1


def test_training_with_pen_strokes_holds_out_writers_and_sets_a_rejection(tmp_path, mnist_sample):
    """--pen: writers are split (none on both sides), held-out writers are scored
    per contributor, outliers are taught, and the card records the "not a digit"
    threshold the classifier then applies."""
    from mnist_desktop.ml.data import Mnist
    from mnist_desktop.ml.pen import load_pen, split_writers
    from mnist_desktop.ml.train import TrainConfig, train

    pen_dir = tmp_path / "pen"
    pen_dir.mkdir()
    _write_pen_dir(pen_dir)
    held = split_writers(load_pen(pen_dir).digits, 0.25, 1)
    assert len(held) == 2 and {w.split("/")[1] for w in held} == {"aaa", "bbb"}

    images, labels = mnist_sample
    data = Mnist(images[:300], labels[:300], images[300:400], labels[300:400], "fixture", {})
    out = tmp_path / "pen.keras"
    config = TrainConfig(
        epochs=1,
        batch_size=64,
        validation_size=100,
        polish_epochs=0,
        pen_dir=str(pen_dir),
        pen_variants=1,
        synthetic_marks=20,
        segment_outliers=20,
        style_digits=10,
    )
    card = train(data, out, config, verbose=0)
    pen = card["pen"]
    assert pen["held_out_writers"] == held and pen["train_writers"] == 2
    assert pen["train_digit_images"] == 60 and pen["validation_digits"] == 60
    assert pen["train_outlier_letters"] == 4  # A and x of two writers; O looks like a 0
    assert set(pen["held_out_per_contributor"]) == {"aaa", "bbb"}
    assert set(pen["sha256"]) == {"digits.jsonl", "letters.jsonl"}
    assert pen["known_faults_left_out"] == 0
    rejection = card["rejection"]
    assert 0 < rejection["reject_below"] <= 1
    assert rejection["validation_digits_rejected"] <= config.max_digit_rejection
    assert rejection["max_digit_rejection"] == config.max_digit_rejection == 0.001
    # Pieces and pairs of the validation digits are scored, never trained on.
    assert 0 <= rejection["validation_pieces_rejected"] <= 1
    assert 0 <= rejection["validation_pairs_rejected"] <= 1
    assert card["segment_outliers"] == 20 and card["style_digits"] == 10
    # 200 MNIST + 60 pen digits + 4 letters + 20 marks + 20 pieces and pairs + 10 styles.
    assert card["train_images"] == 200 + 60 + 4 + 20 + 20 + 10
    assert load_classifier("litert", out).reject_below == rejection["reject_below"]


def test_distillation_blends_the_teachers_probabilities_into_digit_targets_only(
    tiny_model, tmp_path
):
    """--teacher: each digit's target is (1 - w) label + w teacher(image), computed on
    the very image the student sees; an outlier keeps its uniform target, and a
    style digit (the last ``untaught`` images: the teacher never learnt them) its label."""
    import keras

    from mnist_desktop.ml.train import Prepared, TrainConfig, _dataset, _teacher, train

    teacher_path, _, data = tiny_model
    config = TrainConfig(augment=False, batch_size=8, teacher=str(teacher_path), teacher_weight=0.3)
    x = (data.x_train[:8] / 255.0).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[data.y_train[:8]]
    y[5] = 0.1  # an outlier
    empty = np.zeros((0, 28, 28), np.float32)
    prepared = Prepared(
        x, y, np.ones(8, np.float32), empty, np.zeros(0), empty, np.zeros(0), untaught=2
    )
    ((bx, by, _),) = list(_dataset(prepared, config, seed=0, teacher=_teacher(config)))
    bx, by = bx.numpy(), by.numpy()
    order = [int(np.flatnonzero((x == img).all(axis=(1, 2)))[0]) for img in bx]
    teacher = keras.saving.load_model(teacher_path, compile=False)
    probs = keras.ops.convert_to_numpy(keras.ops.softmax(teacher(bx)))
    for row, i in enumerate(order):
        expected = y[i] if i in (5, 6, 7) else 0.7 * y[i] + 0.3 * probs[row]
        np.testing.assert_allclose(by[row], expected, atol=1e-5)

    out = tmp_path / "student.keras"
    card = train(
        data,
        out,
        TrainConfig(
            epochs=1, batch_size=64, validation_size=100, polish_epochs=0, teacher=str(teacher_path)
        ),
        verbose=0,
    )
    from mnist_desktop.ml.card import sha256_file

    assert card["distilled_from"]["sha256"] == sha256_file(teacher_path)
    assert card["members"] == 1 and card["architecture"] == "single CNN"


@pytest.mark.parametrize("polish_scans", [True, False])
def test_the_polish_phase_keeps_the_scan_shares(tiny_model, polish_scans):
    """The polish phase's mild warps keep the binarised (and low-resolution) share:
    a binarised scan's pixels are its cells' coverage, in 16ths of a pixel, which a
    bilinear warp alone never gives."""
    from mnist_desktop.ml.augment import MILD
    from mnist_desktop.ml.train import Prepared, TrainConfig, _dataset

    _, _, data = tiny_model
    config = TrainConfig(batch_size=16, binary_share=1.0, polish_scans=polish_scans)
    x = (data.x_train[:16] / 255.0).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[data.y_train[:16]]
    empty = np.zeros((0, 28, 28), np.float32)
    prepared = Prepared(x, y, np.ones(16, np.float32), empty, np.zeros(0), empty, np.zeros(0))
    ((bx, _, _),) = list(_dataset(prepared, config, seed=0, warps=MILD))
    sixteenths = bx.numpy() * 16
    on_grid = np.isclose(sixteenths, np.round(sixteenths), atol=1e-3).all()
    assert on_grid == polish_scans
