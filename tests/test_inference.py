"""The bundled model through both engines: accuracy, parity, calibration, errors."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from mnist_desktop.ml.calibration import expected_calibration_error, fit_temperature, softmax
from mnist_desktop.ml.inference import ModelError, load_classifier, make_prediction
from mnist_desktop.preprocess import Preprocessed, preprocess, preprocess_batch
from tests.helpers.images import boxed_scan, encode, on_paper, upscale


@pytest.fixture(scope="module")
def inputs(mnist_sample):
    images, labels = mnist_sample
    return preprocess_batch(images), labels


def test_bundled_model_is_accurate_on_real_mnist_digits(litert, inputs):
    x, y = inputs
    accuracy = (litert.probabilities(x).argmax(axis=1) == y).mean()
    assert accuracy >= 0.99, accuracy


def test_engines_agree(litert, keras_classifier, inputs):
    x, _ = inputs
    a = litert.probabilities(x)
    b = keras_classifier.probabilities(x)
    assert np.abs(a - b).max() <= 1e-4
    # One at a time (the GUI's case) as well as in a batch.
    for image in x[:5]:
        assert (
            np.abs(
                litert.probabilities(image[None]) - keras_classifier.probabilities(image[None])
            ).max()
            <= 1e-4
        )


def test_probabilities_are_calibrated_distributions(litert, inputs):
    x, y = inputs
    p = litert.probabilities(x)
    assert p.shape == (len(x), 10)
    assert np.allclose(p.sum(axis=1), 1, atol=1e-5)
    assert litert.temperature > 0
    assert expected_calibration_error(p, y) < 0.02


def test_photos_and_scans_of_digits_are_recognised(litert, mnist_sample):
    """Digits as users photograph them: dark ink, tinted paper, uneven light, JPEG."""
    images, labels = mnist_sample
    rng = np.random.default_rng(7)
    correct = 0
    n = 60
    for image, label in zip(images[:n], labels[:n], strict=True):
        size = int(rng.integers(40, 240))
        paper = tuple(rng.uniform(0.6, 1.0, 3))
        ink = (rng.uniform(0, 0.3), rng.uniform(0, 0.3), rng.uniform(0, 0.7))
        photo = on_paper(
            upscale(image, size),
            paper=paper,
            ink_color=ink,
            canvas=(size + 200, size + 260),
            at=(int(rng.integers(0, 200)), int(rng.integers(0, 260))),
            gradient=float(rng.uniform(0, 0.4)),
            noise=float(rng.uniform(0, 0.03)),
            rng=rng,
        )
        prediction = litert.classify(encode(photo, "JPEG", quality=int(rng.integers(60, 95))))
        correct += prediction.digit == label
    assert correct / n >= 0.95


def test_blank_images_are_no_digit(litert):
    prediction = litert.classify(np.full((200, 200), 255, np.uint8))
    assert prediction.blank and prediction.digit is None
    assert prediction.confidence == 0 and prediction.probabilities == [0.0] * 10
    assert prediction.label == "no digit"


def test_unsure_predictions_say_so():
    sure = make_prediction(np.array([0, 0, 0, 0, 0.97, 0, 0, 0, 0, 0.03]))
    assert sure.digit == 4 and not sure.unsure and sure.label == "4"
    torn = make_prediction(np.array([0, 0, 0, 0, 0.52, 0, 0, 0, 0, 0.46]))
    assert torn.unsure and torn.alternatives == [9] and torn.label == "4 or 9?"
    vague = make_prediction(np.array([0.1, 0.05, 0.05, 0.05, 0.45, 0.1, 0.05, 0.05, 0.05, 0.05]))
    assert vague.unsure and vague.label == "4?"


def test_temperature_scaling_recovers_a_known_temperature():
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 3, (4000, 10))
    labels = np.array([rng.choice(10, p=p) for p in softmax(true_logits)])
    assert fit_temperature(true_logits * 2.5, labels) == pytest.approx(2.5, rel=0.1)


@pytest.mark.parametrize("engine", ["litert", "keras"])
def test_missing_and_damaged_model_files(tmp_path, engine):
    suffix = ".tflite" if engine == "litert" else ".keras"
    with pytest.raises(ModelError, match="not found"):
        load_classifier(engine, tmp_path / f"absent{suffix}")
    empty = tmp_path / f"empty{suffix}"
    empty.write_bytes(b"")
    with pytest.raises(ModelError, match="empty"):
        load_classifier(engine, empty)
    junk = tmp_path / f"junk{suffix}"
    junk.write_bytes(b"certainly not a model" * 50)
    with pytest.raises(ModelError, match="damaged"):
        load_classifier(engine, junk)


def test_classify_many_batches_and_keeps_order(litert, mnist_sample):
    from mnist_desktop.preprocess import preprocess

    images, labels = mnist_sample
    pre = [preprocess(i) for i in images[:40]] + [preprocess(np.zeros((28, 28), np.uint8))]
    results = litert.classify_many(pre, batch_size=16)
    assert len(results) == 41 and results[-1].blank
    assert sum(r.digit == label for r, label in zip(results[:40], labels[:40], strict=True)) >= 39


def test_a_reading_with_unstretched_images_is_answered_from_all_of_them(litert, mnist_sample):
    """The probabilities of a digit that filled a square frame are the mean of
    its image's and its narrowed ones' (together), one at a time or in a
    folder's batches."""
    images, _ = mnist_sample
    stretched = preprocess(boxed_scan(images[0]))
    plain = preprocess(images[1])
    assert len(stretched.unstretched) == 2 and not plain.unstretched
    own = litert.probabilities(np.stack([stretched.image, *stretched.unstretched]))
    expected = [(own[0] + own[1:].mean(axis=0)) / 2, litert.probabilities(plain.image[None])[0]]
    got = litert.reading_probabilities([stretched, plain])
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)
    one = litert.predict_preprocessed(stretched)
    np.testing.assert_allclose(one.probabilities, expected[0], rtol=1e-6, atol=1e-7)
    many = litert.classify_many([plain, stretched, plain], batch_size=2)
    np.testing.assert_allclose(many[1].probabilities, one.probabilities, rtol=1e-6, atol=1e-7)
    assert litert.reading_probabilities([]).shape == (0, 10)


def test_litert_engine_does_not_hold_its_model_file(tmp_path):
    """The personal model in use can be replaced (a mapped file cannot be, on Windows)."""
    import shutil

    from mnist_desktop.resources import default_model_path

    model = tmp_path / "model.tflite"
    shutil.copy(default_model_path(".tflite"), model)
    classifier = load_classifier("litert", model)
    maps = open("/proc/self/maps").read() if sys.platform.startswith("linux") else ""
    assert str(model) not in maps
    probs = classifier.probabilities(np.zeros((1, 28, 28), np.float32))
    model.write_bytes(b"replaced")  # still classifies from its own copy
    assert np.allclose(classifier.probabilities(np.zeros((1, 28, 28), np.float32)), probs)


def test_verdict_reasons_and_json():
    """A read digit has no reason; blank and rejected inputs say why, and a
    rejected one keeps its probabilities so a person can still correct it."""
    from mnist_desktop.ml.inference import BLANK, NOT_A_DIGIT, make_prediction
    from mnist_desktop.preprocess import Preprocessed

    sure = np.array([0.01] * 9 + [0.91])
    read = make_prediction(sure, reject_below=0.5)
    assert read.digit == 9 and read.reason is None and "reason" not in read.to_dict()

    flat = np.full(10, 0.1)
    rejected = make_prediction(flat, reject_below=0.5)
    assert rejected.digit is None and rejected.rejected and not rejected.blank
    assert rejected.to_dict()["reason"] == NOT_A_DIGIT and rejected.to_dict()["digit"] is None
    assert rejected.label == "not a digit" and rejected.best == 0
    assert rejected.probabilities == [0.1] * 10
    assert make_prediction(flat).digit is not None  # no threshold: never rejected

    blank = make_prediction(np.zeros(10), Preprocessed(np.zeros((28, 28), np.float32), True))
    assert blank.blank and blank.to_dict()["reason"] == BLANK and blank.best is None


def test_csv_cells_that_start_a_formula_are_neutralised():
    from mnist_desktop.csvcells import safe_cell

    assert safe_cell('=HYPERLINK("x").png') == '\'=HYPERLINK("x").png'
    assert [safe_cell(c) for c in ("+1", "-2", "@a", "\tx")] == ["'+1", "'-2", "'@a", "'\tx"]
    assert safe_cell("digit.png") == "digit.png" and safe_cell(-1.5) == -1.5


def test_the_preprocessings_reading_stands_unless_it_finds_no_digit():
    """Of an image read with either tone as paper (a close call), the first
    reading answers when it reads a digit, even if another is surer: the
    space inside a loop, taken for ink, can look like a 0.  A first reading
    with no digit (blank, or "not a digit") gives way to the surest other
    reading of a sure digit; never to "not a digit", nor to a guess ("1?")."""
    from mnist_desktop.ml.inference import best_reading

    def reading(top, digit=4):
        probs = np.full(10, (1 - top) / 9)
        probs[digit] = top
        return make_prediction(probs, reject_below=0.4)

    blank = make_prediction(np.zeros(10), Preprocessed(np.zeros((28, 28), np.float32), True))
    read, surer, rejected = reading(0.6, 4), reading(0.99, 0), reading(0.2, 7)
    assert best_reading([read, surer]) is read
    assert best_reading([rejected, read, surer]) is surer
    assert best_reading([rejected, reading(0.3, 1)]) is rejected
    assert best_reading([rejected, reading(0.5, 1)]) is rejected  # "1?" is no answer either
    assert best_reading([blank, rejected]) is blank
    assert best_reading([blank, read]) is read
    assert best_reading([read]) is read


def test_a_classifier_answers_from_the_reading_it_chose(litert, mnist_sample):
    """A bold 8 cropped to its ink, once answered "not a digit" because its
    larger tone, the ink, was taken for the paper, is read; the prediction
    carries the reading it came from, which is what the window shows and learns
    from.  The other readings are made only when the first finds no digit."""
    from tests.helpers.images import bold_crop

    images, labels = mnist_sample
    for digit in images[labels == 8]:
        bold = np.asarray(bold_crop(digit))
        first = preprocess(bold)
        if first.polarity == "light":  # its own reading takes the ink for the paper
            break
    else:
        pytest.fail("no fixture 8 whose ink is taken for the paper at first")
    assert first.close_call and not first.other_readings  # not made unless asked
    assert litert.predict_preprocessed(first).digit is None
    prediction = litert.classify(bold)
    assert prediction.digit == 8 and prediction.preprocessed.polarity == "dark"
    pre = preprocess(bold, other_readings=True)
    assert any(np.array_equal(prediction.preprocessed.image, r.image) for r in pre.other_readings)
    assert litert.predict_preprocessed(pre).digit == 8
    assert [p.digit for p in litert.classify_many([pre, pre])] == [8, 8]
    # Given its first reading, classify makes the others too.
    assert litert.classify(bold, preprocessed=first).digit == 8
