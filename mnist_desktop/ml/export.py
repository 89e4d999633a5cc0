"""Export the Keras model to a LiteRT (TensorFlow Lite) flatbuffer."""

from __future__ import annotations

import os
from pathlib import Path

import keras
import tensorflow as tf


def to_litert(model: keras.Model) -> bytes:
    """Convert ``model`` (28x28 floats -> 10 logits, any batch size) to LiteRT bytes."""

    @tf.function(input_signature=[tf.TensorSpec([None, 28, 28], tf.float32, name="image")])
    def serve(image):
        return model(image, training=False)

    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [serve.get_concrete_function()], model
    )
    return converter.convert()


def write_litert(model: keras.Model, path: str | os.PathLike) -> Path:
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(to_litert(model))
    os.replace(tmp, path)
    return path
