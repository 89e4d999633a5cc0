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
