"""``mnist-digits train`` never replaces the bundled model unless asked, and says
loudly when what it trained is far worse than the bundled one."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from mnist_desktop.cli import main
from mnist_desktop.resources import default_model_path
from tests.test_data import write_mnist


def bundled_digest() -> str:
    return "".join(
        hashlib.sha256(default_model_path(s).read_bytes()).hexdigest()
        for s in (".keras", ".tflite", ".json")
    )


@pytest.fixture
def quick_training(monkeypatch, tmp_path, tiny_model):
    """``train`` hands back the smoke test's model (the real training code on 300
    digits, one epoch: conftest's ``tiny_model``) instead of training for an hour,
    written where the command asks, as train() writes it."""
    from mnist_desktop.ml import train as train_module

    source, card, _ = tiny_model
    calls = []

    def trained(data, out, config, **kwargs):
        calls.append((out, config))
        out.parent.mkdir(parents=True, exist_ok=True)
        for suffix in (".keras", ".tflite", ".json"):
            shutil.copy(source.with_suffix(suffix), out.with_suffix(suffix))
        return json.loads(source.with_suffix(".json").read_text())

    monkeypatch.setattr(train_module, "train", trained)
    monkeypatch.setenv("MNIST_DESKTOP_DATA", str(tmp_path / "user"))
    data = tmp_path / "mnist"
    data.mkdir()
    write_mnist(data, n_train=20, n_test=10)
    args = ["train", "--data", str(data), "--epochs", "1", "--polish-epochs", "0"]
    return args, calls, card


def test_train_writes_a_new_run_folder_and_says_how_to_use_it(quick_training, tmp_path, capsys):
    args, calls, card = quick_training
    before = bundled_digest()
    assert main(args) == 0
    assert bundled_digest() == before, "the bundled model was touched"
    assert calls[0][1].epochs == 1 and calls[0][1].polish_epochs == 0
    assert calls[0][1].max_digit_rejection == 0.001
    runs = list((tmp_path / "user" / "runs").iterdir())
    assert len(runs) == 1
    model = runs[0] / "mnist_cnn.keras"
    assert all(model.with_suffix(s).is_file() for s in (".keras", ".tflite", ".json"))
    captured = capsys.readouterr()
    assert f"use it with: mnist-digits predict --model {model} IMAGE" in captured.out
    # One epoch on 300 digits: far below the bundled model's accuracy. Never silent.
    assert card["validation_accuracy"] < 0.99
    warning = [line for line in captured.err.splitlines() if "WARNING" in line]
    assert len(warning) == 1 and "much worse than the bundled one" in warning[0]
    bundled = json.loads(default_model_path().with_suffix(".json").read_text())
    assert f"{bundled['validation_accuracy']:.2%}" in warning[0]
    # The model it wrote is a working model with a matching export.
    from mnist_desktop.ml.inference import load_classifier, resolve_engine

    assert resolve_engine("auto", model) == "litert"
    assert load_classifier("auto", model).engine == "litert"


def test_out_naming_the_bundled_model_needs_the_explicit_flag(quick_training, capsys):
    before = bundled_digest()
    args, calls, _ = quick_training
    out = str(default_model_path(".keras"))
    assert main([*args, "--out", out]) == 2
    assert not calls
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--replace-bundled" in err
    assert bundled_digest() == before


def test_replace_bundled_and_out_exclude_each_other(quick_training, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main([*quick_training[0], "--out", str(tmp_path / "m.keras"), "--replace-bundled"])
    assert exit_info.value.code == 2


def test_replace_bundled_writes_where_the_app_loads_and_warns(
    quick_training, tmp_path, monkeypatch, capsys
):
    """--replace-bundled, pointed at a copy of the bundled model (never the real one)."""
    from mnist_desktop import resources

    copy = tmp_path / "installed" / "models"
    copy.mkdir(parents=True)
    for suffix in (".keras", ".tflite", ".json"):
        shutil.copy(default_model_path(suffix), copy / f"mnist_cnn{suffix}")
    monkeypatch.setattr(resources, "models_dir", lambda: copy)
    old = (copy / "mnist_cnn.keras").read_bytes()
    assert main([*quick_training[0], "--replace-bundled"]) == 0
    assert (copy / "mnist_cnn.keras").read_bytes() != old
    assert not (tmp_path / "user" / "runs").exists()
    err = capsys.readouterr().err
    assert "much worse than the bundled one" in err and "REPLACED the bundled model" in err


def test_only_a_model_far_below_the_bundled_one_gets_the_warning():
    from mnist_desktop.cli import FAR_BELOW, accuracy_warning

    assert accuracy_warning(0.9968, 0.9968, False) is None
    assert accuracy_warning(0.9968 - FAR_BELOW + 1e-6, 0.9968, True) is None
    assert accuracy_warning(0.99, 0.9968, False) is not None
    assert "REPLACED" in accuracy_warning(0.19, 0.9968, True)
    assert "REPLACED" not in accuracy_warning(0.19, 0.9968, False)
    assert accuracy_warning(0.19, None, False) is None  # no bundled card to compare with


def test_the_not_a_digit_budget_reaches_training(quick_training):
    args, calls, _ = quick_training
    assert main([*args, "--max-digit-rejection", "0.004"]) == 0
    assert calls[0][1].max_digit_rejection == 0.004


def test_the_polish_keeps_the_scan_warps_unless_asked_not_to(quick_training):
    args, calls, _ = quick_training
    assert main(args) == 0 and main([*args, "--no-polish-scans"]) == 0
    assert [config.polish_scans for _, config in calls] == [True, False]
