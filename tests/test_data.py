"""The IDX loader, on tiny synthetic files."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from mnist_desktop.ml import data
from mnist_desktop.ml.data import DataError, load_idx_dir, load_mnist, read_idx


def idx_bytes(array: np.ndarray) -> bytes:
    magic = 0x0800 | array.ndim
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_digits(folder, images, labels, n_train=400, n_test=100) -> None:
    """Real digits (the fixture's) as an MNIST folder: the first ``n_train`` to
    train on, the next ``n_test`` to test on."""
    folder.mkdir()
    test = slice(n_train, n_train + n_test)
    for name, array in {
        "train-images-idx3-ubyte": images[:n_train],
        "train-labels-idx1-ubyte": labels[:n_train],
        "t10k-images-idx3-ubyte": images[test],
        "t10k-labels-idx1-ubyte": labels[test],
    }.items():
        (folder / name).write_bytes(idx_bytes(array))


def write_mnist(folder, n_train=12, n_test=5, gz=True, rng=None):
    rng = rng or np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28)),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28)),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test),
    }
    for name, array in arrays.items():
        raw = idx_bytes(array)
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(raw))
        else:
            (folder / name).write_bytes(raw)
    return arrays


@pytest.mark.parametrize("gz", [True, False])
def test_reads_a_directory_of_idx_files(tmp_path, gz):
    arrays = write_mnist(tmp_path, gz=gz)
    mnist = load_idx_dir(tmp_path)
    assert mnist.x_train.shape == (12, 28, 28) and mnist.x_test.shape == (5, 28, 28)
    assert np.array_equal(mnist.x_train, arrays["train-images-idx3-ubyte"])
    assert np.array_equal(mnist.y_test, arrays["t10k-labels-idx1-ubyte"])
    assert len(mnist.checksums) == 4 and all(len(v) == 64 for v in mnist.checksums.values())


def test_environment_variable_is_used(tmp_path, monkeypatch):
    write_mnist(tmp_path)
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path))
    assert load_mnist().source == str(tmp_path)


def test_wrong_magic_is_a_clear_error(tmp_path):
    write_mnist(tmp_path, gz=False)
    path = tmp_path / "train-labels-idx1-ubyte"
    raw = bytearray(path.read_bytes())
    raw[3] = 3  # claims 3 dimensions
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError, match="not an IDX file"):
        load_idx_dir(tmp_path)


def test_truncated_file_is_a_clear_error(tmp_path):
    write_mnist(tmp_path, gz=False)
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataError, match="truncated"):
        load_idx_dir(tmp_path)


def test_broken_gzip_is_a_clear_error(tmp_path):
    write_mnist(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(DataError, match="cannot read"):
        load_idx_dir(tmp_path)


def test_label_count_mismatch(tmp_path):
    write_mnist(tmp_path, gz=False)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(3, np.uint8)))
    with pytest.raises(DataError, match="12 train images but 3 train labels"):
        load_idx_dir(tmp_path)


def test_missing_files_and_folders(tmp_path):
    with pytest.raises(DataError, match="missing train-images"):
        load_idx_dir(tmp_path)
    with pytest.raises(DataError, match="not a directory"):
        load_idx_dir(tmp_path / "nope")


def test_nothing_available_names_all_three_options(monkeypatch):
    import keras

    monkeypatch.delenv(data.ENV_VAR, raising=False)

    def offline():
        raise OSError("no network")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(DataError) as info:
        load_mnist()
    message = str(info.value)
    assert "--data DIR" in message and data.ENV_VAR in message and "load_data" in message


def test_read_idx_rejects_short_header(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(b"\0\0")
    with pytest.raises(DataError, match="too short"):
        read_idx(path, 1)
