"""Where the bundled model and assets are: source tree, installed wheel or PyInstaller bundle."""

from __future__ import annotations

import sys
from pathlib import Path

MODEL_STEM = "mnist_cnn"


def _roots() -> list[Path]:
    here = Path(__file__).resolve().parent
    roots = []
    bundle = getattr(sys, "_MEIPASS", None)  # a PyInstaller bundle unpacks here
    if bundle:
        roots.append(Path(bundle))
    roots += [here / "_data", here.parent]  # installed wheel; source checkout
    return roots


def _find(name: str) -> Path:
    for root in _roots():
        candidate = root / name
        if candidate.exists():
            return candidate
    return _roots()[-1] / name


def models_dir() -> Path:
    """The directory that holds the bundled model files."""
    return _find("models")


def assets_dir() -> Path:
    """The directory that holds icons and sample images."""
    return _find("assets")


def default_model_path(suffix: str = ".keras") -> Path:
    """The bundled model: ``mnist_cnn.keras``, ``.tflite`` or ``.json`` (the card)."""
    return models_dir() / (MODEL_STEM + suffix)
