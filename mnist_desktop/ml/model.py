"""The network: a small batch-normalised CNN for 28 x 28 digits.

Only the architecture lives here; training, calibration and export are in
:mod:`mnist_desktop.ml.train`.  The model takes float images in [0, 1] shaped
(N, 28, 28) and returns logits; softmax (with the calibrated temperature) is
applied by the classifier, so calibration never needs retraining.
"""

from __future__ import annotations

import keras
from keras import layers


def _conv_block(x, filters: int, kernel: int, strides: int = 1, padding: str = "valid"):
    x = layers.Conv2D(filters, kernel, strides=strides, padding=padding, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    return layers.Activation("relu")(x)


def build_model(dropout: float = 0.35, name: str = "mnist_cnn") -> keras.Model:
    """Build the (uncompiled) digit classifier.

    Two stages of 3x3, 3x3 and a strided 5x5 convolution (a learnable
    down-sampling instead of max-pooling), each batch-normalised, then a 4x4
    convolution acting as the dense layer; dropout between stages.
    """
    inputs = keras.Input(shape=(28, 28), name="image")
    x = layers.Reshape((28, 28, 1))(inputs)
    x = _conv_block(x, 32, 3)
    x = _conv_block(x, 32, 3)
    x = _conv_block(x, 32, 5, strides=2, padding="same")
    x = layers.Dropout(dropout)(x)
    x = _conv_block(x, 64, 3)
    x = _conv_block(x, 64, 3)
    x = _conv_block(x, 64, 5, strides=2, padding="same")
    x = layers.Dropout(dropout)(x)
    x = _conv_block(x, 128, 4)
    x = layers.Flatten()(x)
    x = layers.Dropout(dropout)(x)
    logits = layers.Dense(10, name="logits")(x)
    return keras.Model(inputs, logits, name=name)
