"""The model card (``<stem>.json`` beside the model): read it strictly, check files against it.

The card carries the numbers the classifier trusts (the calibration
temperature, the "not a digit" threshold) and the SHA-256 of the ``.keras``
and ``.tflite`` files written with it. A card that is not what the app wrote
is refused with a message fit for a person, never half-used: a temperature of
0 or NaN would turn every confidence into NaN. Pure Python: the window and the
lean package read cards without TensorFlow.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path

CHECKSUMS = "sha256"
"""The card's key for ``{"keras": <hex>, "tflite": <hex>}``."""


class CardError(ValueError):
    """The model card is damaged or not a model card (a message for a person)."""


def card_path(model_path: str | os.PathLike) -> Path:
    return Path(model_path).with_suffix(".json")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_checksums(keras_path: str | os.PathLike, tflite_path: str | os.PathLike) -> dict:
    """The card entry recording both files of one model, written when they are exported."""
    return {"keras": sha256_file(keras_path), "tflite": sha256_file(tflite_path)}


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def validate_card(card: object, where: str = "the model card") -> dict:
    """``card`` if the classifier can trust it, else :class:`CardError` naming the fault."""
    if not isinstance(card, dict):
        raise CardError(f"{where} is damaged: it holds a {type(card).__name__}, not a model card")
    calibration = card.get("calibration")
    if calibration is not None:  # null: an uncalibrated model (temperature 1)
        if not isinstance(calibration, dict):
            raise CardError(f"{where} is damaged: its calibration is not a set of values")
        temperature = calibration.get("temperature", 1.0)
        if not _number(temperature) or temperature <= 0:
            raise CardError(
                f"{where} is damaged: its temperature {temperature!r} is not a positive number"
            )
    rejection = card.get("rejection")
    if rejection is not None:
        if not isinstance(rejection, dict):
            raise CardError(f"{where} is damaged: its rejection is not a set of values")
        below = rejection.get("reject_below")
        # Any finite threshold has a meaning: above 1 rejects everything (tests do that).
        if below is not None and not _number(below):
            raise CardError(f"{where} is damaged: its reject_below {below!r} is not a number")
    checksums = card.get(CHECKSUMS)
    if checksums is not None and not (
        isinstance(checksums, dict) and all(isinstance(v, str) for v in checksums.values())
    ):
        raise CardError(f"{where} is damaged: its {CHECKSUMS} entry is not a set of checksums")
    return card


def read_card(model_path: str | os.PathLike) -> dict:
    """The checked card beside ``model_path``; {} when the model has none (a bare file)."""
    path = card_path(model_path)
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise CardError(f"cannot read the model card {path} ({exc.strerror or exc})") from exc
    try:
        card = json.loads(text)
    except ValueError as exc:  # also UnicodeDecodeError
        raise CardError(f"the model card {path} is damaged: not valid JSON ({exc})") from exc
    return validate_card(card, f"the model card {path}")


def temperature(card: dict) -> float:
    """The calibrated temperature (1 for an uncalibrated model); the card is validated."""
    return float((card.get("calibration") or {}).get("temperature", 1.0))


def reject_below(card: dict) -> float | None:
    value = (card.get("rejection") or {}).get("reject_below")
    return None if value is None else float(value)


def recorded(card: dict, kind: str) -> str | None:
    """The SHA-256 the card records for the ``kind`` ("keras" or "tflite") file, if any."""
    return (card.get(CHECKSUMS) or {}).get(kind)


def stamp(model_paths: Sequence[str]) -> None:
    """Record the checksums of ``<stem>.keras`` and ``<stem>.tflite`` in ``<stem>.json``."""
    for model in model_paths:
        stem = Path(model).with_suffix("")
        path = card_path(stem.with_suffix(".json"))
        card = read_card(path)
        card[CHECKSUMS] = file_checksums(stem.with_suffix(".keras"), stem.with_suffix(".tflite"))
        path.write_text(json.dumps(card, indent=2) + "\n")
        print(f"{path}: {card[CHECKSUMS]}")


if __name__ == "__main__":  # python -m mnist_desktop.ml.card models/mnist_cnn.keras
    stamp(sys.argv[1:])
