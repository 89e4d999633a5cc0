"""mnist-desktop: recognise handwritten digits, drawn or photographed.

Scripting API::

    from mnist_desktop import load_classifier, preprocess
    classifier = load_classifier()            # bundled model, engine 'auto'
    prediction = classifier.classify("digit.jpg")
    prediction.digit, prediction.confidence, prediction.probabilities

Importing this package is cheap: TensorFlow, Qt and LiteRT load only when used.
"""

from __future__ import annotations

__version__ = "1.0.0"
__all__ = ["load_classifier", "preprocess", "Classifier", "Prediction", "__version__"]


def __getattr__(name: str):
    # Lazy: `import mnist_desktop` must not pull in NumPy-heavy or TF modules.
    if name == "preprocess":
        from .preprocess import preprocess

        return preprocess
    if name in ("load_classifier", "Classifier", "Prediction"):
        from .ml import inference

        return getattr(inference, name)
    raise AttributeError(f"module 'mnist_desktop' has no attribute {name!r}")
