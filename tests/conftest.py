"""Shared fixtures. Qt runs offscreen; settings go to a throwaway location."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def mnist_sample() -> tuple[np.ndarray, np.ndarray]:
    """1,000 real MNIST test digits (uint8 28x28) and their labels, shipped with the tests."""
    with np.load(DATA / "mnist_test_1000.npz") as f:
        return f["images"], f["labels"]


@pytest.fixture(scope="session")
def litert():
    from mnist_desktop.ml.inference import load_classifier

    return load_classifier("litert")


@pytest.fixture(scope="session")
def keras_classifier():
    from mnist_desktop.ml.inference import load_classifier

    return load_classifier("keras")


@pytest.fixture(scope="session", autouse=True)
def _user_data(tmp_path_factory):
    """Corrections and personal models go to a throwaway folder, never the user's."""
    os.environ["MNIST_DESKTOP_DATA"] = str(tmp_path_factory.mktemp("user-data"))
    yield


@pytest.fixture(scope="session", autouse=True)
def _qt_test_settings(tmp_path_factory):
    """QSettings and standard paths in test mode, never the user's own."""
    from PySide6.QtCore import QCoreApplication, QSettings, QStandardPaths

    QStandardPaths.setTestModeEnabled(True)
    QCoreApplication.setOrganizationName("mnist-desktop-tests")
    QCoreApplication.setApplicationName("mnist-desktop-tests")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(
        QSettings.Format.IniFormat,
        QSettings.Scope.UserScope,
        str(tmp_path_factory.mktemp("settings")),
    )
    yield


@pytest.fixture
def clean_settings(_qt_test_settings):
    from PySide6.QtCore import QSettings

    QSettings().clear()
    yield
    QSettings().clear()


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, mnist_sample):
    """A two-network model trained for one epoch on 300 fixture digits, with the
    real training code: (model path, card, the data set it was trained on)."""
    from mnist_desktop.ml.data import Mnist
    from mnist_desktop.ml.train import TrainConfig, train

    images, labels = mnist_sample
    data = Mnist(
        images[:400], labels[:400], images[400:500], labels[400:500], "fixture", {"x": "y"}
    )
    out = tmp_path_factory.mktemp("model") / "tiny.keras"
    card = train(
        data,
        out,
        TrainConfig(epochs=1, batch_size=64, validation_size=100, members=2, polish_epochs=1),
        verbose=0,
    )
    return out, card, data
