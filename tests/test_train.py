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
