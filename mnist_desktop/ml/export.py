"""Export the Keras model to a LiteRT (TensorFlow Lite) flatbuffer."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import keras
import tensorflow as tf


def to_litert(model: keras.Model) -> bytes:
    """Convert ``model`` (28x28 floats -> 10 logits, any batch size) to LiteRT bytes.

    Goes through a SavedModel, whose variables the converter freezes into
    constants (converting a live tf.function keeps them as resource variables,
    which the LiteRT runtime cannot read). The signature is the model's own
    input shape, so any model exports as it is (the loader decides what fits).
    """
    per_image = list(model.input_shape[1:])
    with tempfile.TemporaryDirectory() as tmp:
        model.export(
            tmp,
            format="tf_saved_model",
            input_signature=[tf.TensorSpec([None, *per_image], tf.float32, name="image")],
            verbose=False,
        )
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp)
        return converter.convert()


def write_litert(model: keras.Model, path: str | os.PathLike) -> Path:
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(to_litert(model))
    os.replace(tmp, path)
    return path
