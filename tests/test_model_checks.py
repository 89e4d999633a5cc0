"""Models are checked when they load: wrong shapes, damaged files, bad cards and
non-finite outputs are one clear error (CLI line, window banner), never a misreading."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from mnist_desktop.cli import main
from mnist_desktop.ml.inference import ModelError, load_classifier, resolve_engine
from mnist_desktop.resources import default_model_path

SUFFIXES = (".keras", ".tflite", ".json")


def copy_bundled(folder, stem: str = "model"):
    """The bundled model's three files under another name: (path of the .keras)."""
    folder.mkdir(parents=True, exist_ok=True)
    for suffix in SUFFIXES:
        shutil.copy(default_model_path(suffix), (folder / stem).with_suffix(suffix))
    return (folder / stem).with_suffix(".keras")


def tiny_model(input_shape=(28, 28), outputs: int = 10, nan: bool = False):
    import keras

    inputs = keras.Input(shape=input_shape)
    x = keras.layers.Flatten()(inputs)
    logits = keras.layers.Dense(outputs)(x)
    model = keras.Model(inputs, logits)
    if nan:
        kernel, bias = model.layers[-1].get_weights()
        model.layers[-1].set_weights([np.full_like(kernel, np.nan), bias])
    return model


def save_pair(model, path):
    """``path`` (.keras) and its .tflite, through the project's own export."""
    from mnist_desktop.ml.export import write_litert

    model.save(path)
    write_litert(model, path.with_suffix(".tflite"))
    return path


@pytest.fixture(scope="module")
def bad_models(tmp_path_factory):
    """Tiny models that do not fit the app, each as .keras and .tflite (no card)."""
    folder = tmp_path_factory.mktemp("bad-models")
    return {
        name: save_pair(tiny_model(*spec), folder / f"{name}.keras")
        for name, spec in {
            "1-output": ((28, 28), 1),
            "2-outputs": ((28, 28), 2),
            "5-outputs": ((28, 28), 5),
            "32x32-input": ((32, 32, 1), 10),
            "flat-input": ((784,), 10),
        }.items()
    }


@pytest.mark.parametrize("engine", ["litert", "keras"])
@pytest.mark.parametrize("name", ["1-output", "2-outputs", "5-outputs"])
def test_a_model_without_ten_outputs_is_refused(bad_models, engine, name):
    with pytest.raises(ModelError, match=r"does not fit this app: it gives \d outputs per image"):
        load_classifier(engine, bad_models[name])


@pytest.mark.parametrize("engine", ["litert", "keras"])
@pytest.mark.parametrize("name", ["32x32-input", "flat-input"])
def test_a_model_for_other_inputs_is_refused(bad_models, engine, name):
    with pytest.raises(ModelError, match="does not fit this app: it takes .* not 28x28 images"):
        load_classifier(engine, bad_models[name])


def test_a_model_with_a_channel_axis_is_accepted_in_both_engines(tmp_path, mnist_sample):
    path = save_pair(tiny_model((28, 28, 1)), tmp_path / "channel.keras")
    from mnist_desktop.preprocess import preprocess_batch

    x = preprocess_batch(mnist_sample[0][:8])
    keras_p = load_classifier("keras", path).probabilities(x)
    litert_p = load_classifier("litert", path).probabilities(x)
    assert keras_p.shape == litert_p.shape == (8, 10)
    assert np.abs(keras_p - litert_p).max() <= 1e-4


@pytest.mark.parametrize("engine", ["litert", "keras"])
def test_non_finite_outputs_are_an_error_not_nan(tmp_path, engine):
    path = save_pair(tiny_model(nan=True), tmp_path / "nan.keras")
    classifier = load_classifier(engine, path)
    with pytest.raises(ModelError, match="not numbers"):
        classifier.classify(np.pad(np.full((10, 4), 255, np.uint8), 9))


def test_the_cli_says_so_in_one_line_and_prints_no_nan(tmp_path, capsys):
    from PIL import Image

    path = save_pair(tiny_model(nan=True), tmp_path / "nan.keras")
    image = tmp_path / "one.png"
    Image.fromarray(np.pad(np.full((60, 12), 255, np.uint8), 40)).save(image)
    assert main(["predict", str(image), "--json", "--model", str(path)]) == 2
    out, err = capsys.readouterr()
    assert "NaN" not in out.replace("(NaN or", "")
    assert err.count("\n") == 1 and err.startswith("mnist-digits: error: ")
    assert main(["predict", str(image), "--model", str(bad_tflite(tmp_path))]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not fit this app" in err


def bad_tflite(tmp_path):
    path = save_pair(tiny_model(outputs=5), tmp_path / "five.keras")
    return path.with_suffix(".tflite")


# ---------------------------------------------------------------- checksums


def test_the_bundled_card_records_the_checksums_of_both_files():
    from mnist_desktop.ml.card import read_card, sha256_file

    card = read_card(default_model_path(".json"))
    for kind in ("keras", "tflite"):
        assert card["sha256"][kind] == sha256_file(default_model_path("." + kind))


def test_byte_flipped_litert_files_are_refused(tmp_path):
    model = copy_bundled(tmp_path)
    tflite = model.with_suffix(".tflite")
    original = tflite.read_bytes()
    rng = np.random.default_rng(15)
    for offset in rng.integers(0, len(original), 25):
        flipped = bytearray(original)
        flipped[offset] ^= 0xFF
        tflite.write_bytes(bytes(flipped))
        with pytest.raises(ModelError, match="damaged: it does not match the checksum"):
            load_classifier("litert", model)
        # 'auto' then runs the .keras, which is intact.
        assert resolve_engine("auto", model) == "keras"
    tflite.write_bytes(original)
    assert resolve_engine("auto", model) == "litert"
    assert load_classifier("litert", model).classify(default_sample(4)).digit == 4


def default_sample(digit: int):
    from mnist_desktop.resources import assets_dir

    return assets_dir() / "samples" / f"{digit}.png"


def test_auto_is_litert_for_a_matching_export_and_keras_otherwise(tmp_path):
    assert resolve_engine("auto") == "litert"  # the bundled pair matches
    assert load_classifier().engine == "litert"
    model = copy_bundled(tmp_path)
    assert resolve_engine("auto", model) == "litert"
    # A .keras that is not the one the export was made from (re-saved, retrained).
    card = json.loads(model.with_suffix(".json").read_text())
    card["sha256"]["keras"] = "0" * 64
    model.with_suffix(".json").write_text(json.dumps(card))
    assert resolve_engine("auto", model) == "keras"
    model.with_suffix(".tflite").unlink()  # no export at all
    assert resolve_engine("auto", model) == "keras"
    assert resolve_engine("keras") == "keras" and resolve_engine("litert") == "litert"
    with pytest.raises(ValueError, match="unknown engine"):
        resolve_engine("onnx")


@pytest.mark.parametrize("with_card", [True, False])
def test_a_truncated_keras_file_is_damaged_not_missing(tmp_path, with_card):
    model = copy_bundled(tmp_path)
    if not with_card:
        model.with_suffix(".json").unlink()
    data = model.read_bytes()
    model.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(ModelError, match="damaged") as info:
        load_classifier("keras", model)
    assert "not found" not in str(info.value).lower()


def test_a_keras_file_with_a_flipped_byte_is_refused_without_a_card(tmp_path):
    model = copy_bundled(tmp_path)
    model.with_suffix(".json").unlink()
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the weights: only the zip's CRC can tell
    model.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="damaged"):
        load_classifier("keras", model)


# ------------------------------------------------------------------- cards


@pytest.mark.parametrize(
    ("card", "message"),
    [
        ([1, 2, 3], "holds a list, not a model card"),
        ("just text", "holds a str"),
        ({"calibration": {"temperature": 0}}, "temperature 0 is not a positive number"),
        ({"calibration": {"temperature": -1}}, "temperature -1"),
        ({"calibration": {"temperature": float("nan")}}, "temperature nan"),
        ({"calibration": {"temperature": "hot"}}, "temperature 'hot'"),
        ({"calibration": [1.1]}, "calibration is not a set of values"),
        ({"rejection": {"reject_below": float("inf")}}, "reject_below inf is not a number"),
        ({"rejection": {"reject_below": "half"}}, "reject_below 'half' is not a number"),
    ],
)
def test_a_bad_card_is_refused_with_its_fault(tmp_path, card, message):
    model = copy_bundled(tmp_path)
    model.with_suffix(".json").write_text(json.dumps(card))
    for engine in ("litert", "auto"):
        with pytest.raises(ModelError, match="model card .* is damaged") as info:
            load_classifier(engine, model)
        assert message in str(info.value)


def test_a_card_that_is_not_json_is_refused(tmp_path):
    model = copy_bundled(tmp_path)
    model.with_suffix(".json").write_bytes(b"\xff{not json")
    with pytest.raises(ModelError, match="not valid JSON"):
        load_classifier("litert", model)


def test_a_card_without_calibration_means_temperature_one(tmp_path):
    model = copy_bundled(tmp_path)
    card = json.loads(model.with_suffix(".json").read_text())
    card["calibration"] = None
    model.with_suffix(".json").write_text(json.dumps(card))
    classifier = load_classifier("litert", model)
    assert classifier.temperature == 1.0
    assert classifier.classify(default_sample(7)).digit == 7


def test_bad_models_are_one_line_in_the_cli(tmp_path, capsys):
    model = copy_bundled(tmp_path)
    model.with_suffix(".json").write_text("[]")
    assert main(["predict", str(default_sample(3)), "--model", str(model)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "is damaged" in captured.err


# ------------------------------------------------------------------ window


def test_a_damaged_personal_model_falls_back_to_the_bundled_one(
    qtbot, clean_settings, tmp_path, monkeypatch
):
    from mnist_desktop import settings
    from mnist_desktop.corrections import CorrectionStore
    from mnist_desktop.gui import MainWindow
    from tests.test_gui import TIMEOUT

    monkeypatch.setenv("MNIST_DESKTOP_DATA", str(tmp_path / "user"))
    personal = CorrectionStore().personal_model_path
    copy_bundled(personal.parent, personal.stem)
    tflite = personal.with_suffix(".tflite")
    data = bytearray(tflite.read_bytes())
    data[len(data) // 2] ^= 0x01
    tflite.write_bytes(bytes(data))
    settings.write("model", "personal")

    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.model_label.text() == "model: mnist_cnn.tflite", timeout=TIMEOUT)
    text = window.message_bar.text()
    assert "personal model could not be loaded" in text and "bundled model answers" in text
    assert "damaged" in text
    assert window.bundled_model_action.isChecked()
    assert window.message_bar.level == "warning"
