"""Persistent preferences in QSettings, with one table of defaults."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QByteArray, QSettings

_DEFAULTS: dict[str, Any] = {
    "pen_width": 24,  # in canvas pixels (280 x 280): MNIST-like strokes after fitting into 20x20
    "last_folder": "",
    "engine": "litert",
    "mode": "digit",  # or "number": the wide canvas
    "model": "bundled",  # or "personal": fine-tuned on the user's corrections
    "mnist_folder": "",  # MNIST for replay when fine-tuning
    "geometry": QByteArray(),
}


def read(key: str) -> Any:
    """The stored value of ``key``, of the type of its default."""
    default = _DEFAULTS[key]
    return QSettings().value(key, defaultValue=default, type=type(default))


def write(key: str, value: Any) -> None:
    if key not in _DEFAULTS:
        raise KeyError(key)
    QSettings().setValue(key, value)
