"""Fine-tuning on corrections, end to end on a tiny model: learns, cancels, refuses."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mnist_desktop.ml.finetune import Cancelled, FineTuneConfig, FineTuneRejected, fine_tune
from mnist_desktop.ml.inference import load_classifier
from mnist_desktop.preprocess import preprocess_batch

WRONG = 7
"""The label the corrections insist on for images of 1s."""


@pytest.fixture(scope="module")
def base(tiny_model):
    out, _, data = tiny_model
    return out, data


@pytest.fixture(scope="module")
def corrections(mnist_sample):
    """Ten 1s (not used in training) that the user insists are 7s."""
    images, labels = mnist_sample
    ones = images[500:][labels[500:] == 1][:10]
    return preprocess_batch(ones), np.full(len(ones), WRONG, np.int32)


def config(**kw) -> FineTuneConfig:
    base = dict(
        steps=30, batch_size=48, corrections_per_batch=16, learning_rate=1e-2, check_every=10
    )
    return FineTuneConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def tuned(base, corrections, tmp_path_factory):
    base_path, data = base
    out = tmp_path_factory.mktemp("personal") / "personal" / "mnist_cnn.keras"
    calls = []
    card = fine_tune(
        base_path,
        corrections,
        data,
        out,
        config(max_test_drop=1.0),
        progress=lambda step, total, message: calls.append((step, total, message)),
    )
    return out, card, calls


def test_fine_tuning_learns_the_corrections(base, tuned, corrections):
    base_path, _ = base
    out, card, _ = tuned
    x, y = corrections
    before = (load_classifier("keras", base_path).probabilities(x).argmax(1) == y).mean()
    after = (load_classifier("keras", out).probabilities(x).argmax(1) == y).mean()
    assert before <= 0.2
    assert after >= 0.8 and after > before
    assert card["corrections_accuracy_before"] == pytest.approx(before)
    assert card["corrections_accuracy_after"] == pytest.approx(after)


def test_fine_tuning_writes_model_export_and_card(base, tuned):
    base_path, _ = base
    out, card, calls = tuned
    assert out.is_file() and out.with_suffix(".tflite").is_file()
    assert json.loads(out.with_suffix(".json").read_text()) == card
    assert not list(out.parent.glob("*.part*")), "temporary files left behind"
    assert card["kind"] == "personal" and card["base_model"] == str(base_path)
    assert (
        card["base_test_accuracy"]
        == json.loads(base_path.with_suffix(".json").read_text())["test_accuracy"]
    )
    assert card["n_corrections"] == 10
    assert card["corrections_per_digit"] == [0] * WRONG + [10] + [0] * (9 - WRONG)
    assert card["steps"] == 30 and card["test_n"] == 100
    assert card["validation_images"] == 100, "the base model's validation split is held out"
    assert card["replay_images"] == 300
    assert card["frozen_batch_norm_layers"] == 14
    for key in ("test_accuracy", "test_accuracy_before", "seconds", "created", "versions"):
        assert key in card
    assert card["calibration"]["temperature"] > 0
    # Progress: preparation at step 0, then training steps up to the total.
    steps = [c[0] for c in calls]
    assert steps[0] == 0 and all(c[1] == 30 for c in calls)
    assert steps == sorted(steps) and steps[-1] == 30
    assert set(range(1, 31)) <= set(steps)


def test_saved_model_loads_in_both_engines_and_they_agree(tuned, mnist_sample):
    import zipfile

    out, card, _ = tuned
    images, _ = mnist_sample
    x = preprocess_batch(images[:50])
    keras_c, litert_c = load_classifier("keras", out), load_classifier("litert", out)
    assert keras_c.temperature == litert_c.temperature == card["calibration"]["temperature"]
    assert np.abs(keras_c.probabilities(x) - litert_c.probabilities(x)).max() <= 1e-4
    config_json = json.loads(zipfile.ZipFile(out).read("config.json"))
    assert not config_json.get("compile_config"), "no optimizer state in the personal model"


def test_cancelling_writes_nothing(base, corrections, tmp_path):
    base_path, data = base
    out = tmp_path / "personal" / "mnist_cnn.keras"
    calls = []

    def should_stop() -> bool:  # stop once training has reported a step
        return any(step > 0 for step, _, _ in calls)

    with pytest.raises(Cancelled):
        fine_tune(
            base_path,
            corrections,
            data,
            out,
            config(max_test_drop=1.0),
            progress=lambda *a: calls.append(a),
            should_stop=should_stop,
        )
    assert max(step for step, _, _ in calls) < 30
    assert not out.exists() and not list(tmp_path.rglob("*"))

    with pytest.raises(Cancelled):  # asked to stop before it starts
        fine_tune(base_path, corrections, data, out, config(), should_stop=lambda: True)
    assert not list(tmp_path.rglob("*"))


def test_a_worse_model_is_refused_and_not_saved(base, corrections, tmp_path):
    base_path, data = base
    out = tmp_path / "personal" / "mnist_cnn.keras"
    with pytest.raises(FineTuneRejected) as info:
        fine_tune(base_path, corrections, data, out, config(steps=3, max_test_drop=-1.0))
    message = str(info.value)
    assert "MNIST accuracy would drop from" in message and "not saved" in message
    card = info.value.card
    assert f"{card['test_accuracy_before'] * 100:.2f} %" in message
    assert isinstance(info.value, RuntimeError)
    assert not list(tmp_path.rglob("*"))


def test_bad_arguments_are_refused(base, tmp_path):
    base_path, data = base
    empty = (np.zeros((0, 28, 28), np.float32), np.zeros(0, np.int32))
    with pytest.raises(ValueError, match="no corrections"):
        fine_tune(base_path, empty, data, tmp_path / "m.keras")
    one = (np.zeros((1, 28, 28), np.float32), np.array([3]))
    with pytest.raises(ValueError):
        fine_tune(base_path, one, data, tmp_path / "m.keras", config(corrections_per_batch=99))
    assert not list(tmp_path.rglob("*"))


def test_checkpoints_and_the_weights_kept(tuned):
    _, card, _ = tuned
    steps = [c["step"] for c in card["checkpoints"]]
    assert steps == [10, 20, 30]
    assert card["kept_step"] in steps
    kept = next(c for c in card["checkpoints"] if c["step"] == card["kept_step"])
    assert kept["corrections_right"] == max(c["corrections_right"] for c in card["checkpoints"])


def test_nothing_is_saved_when_no_checkpoint_keeps_mnist(base, corrections, tmp_path):
    base_path, data = base
    out = tmp_path / "personal" / "mnist_cnn.keras"
    with pytest.raises(FineTuneRejected, match="could not learn your 10 corrections"):
        fine_tune(
            base_path,
            corrections,
            data,
            out,
            config(steps=10, max_test_drop=1.0, max_validation_drop=-1.0),
        )
    assert not list(tmp_path.rglob("*"))
