"""mnist-desktop: recognise handwritten digits, drawn or photographed.

Scripting API::

    from mnist_desktop import load_classifier
    from mnist_desktop.preprocess import preprocess
    classifier = load_classifier()            # bundled model, engine 'auto'
    prediction = classifier.classify("digit.jpg")
    prediction.digit, prediction.confidence, prediction.probabilities
    preprocess("digit.jpg").image             # the 28x28 input the model sees

Importing this package is cheap: TensorFlow, Qt and LiteRT load only when used.
``mnist_desktop.preprocess`` is the module (never the function of that name):
a package attribute named like a submodule is replaced by the submodule as
soon as anything imports it, so a re-exported function would work or not
depending on import order.
"""

from __future__ import annotations

__version__ = "1.0.0"
__all__ = ["load_classifier", "Classifier", "Prediction", "__version__"]


def __getattr__(name: str):
    # Lazy: `import mnist_desktop` must not pull in NumPy-heavy or TF modules.
    if name in ("load_classifier", "Classifier", "Prediction"):
        from .ml import inference

        return getattr(inference, name)
    raise AttributeError(f"module 'mnist_desktop' has no attribute {name!r}")
