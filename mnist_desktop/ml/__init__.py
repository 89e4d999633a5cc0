"""The model side: MNIST data, network, augmentation, training, calibration, engines."""
