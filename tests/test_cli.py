"""``mnist-digits`` end to end: predict, evaluate, bad files, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from mnist_desktop.cli import main
from tests.helpers.images import on_paper, upscale
from tests.test_data import write_mnist


@pytest.fixture
def digit_files(tmp_path, mnist_sample):
    images, labels = mnist_sample
    paths = []
    for i in range(4):
        path = tmp_path / f"digit_{labels[i]}_{i}.png"
        Image.fromarray(on_paper(upscale(images[i], 120), canvas=(200, 180), at=(40, 30))).save(
            path
        )
        paths.append(path)
    return paths, labels[:4]


def test_predict_json_lines(digit_files, capsys):
    paths, labels = digit_files
    assert main(["predict", *map(str, paths), "--json", "--engine", "litert"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["path"] for r in rows] == [str(p) for p in paths]
    assert [r["digit"] for r in rows] == list(labels)
    for r in rows:
        assert len(r["probabilities"]) == 10 and abs(sum(r["probabilities"]) - 1) < 1e-3
        assert r["confidence"] == max(r["probabilities"])


def test_predict_human_output(digit_files, capsys):
    paths, labels = digit_files
    assert main(["predict", str(paths[0]), "--engine", "litert"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{paths[0]}: {labels[0]}") and "%" in out and "9:" in out


def test_bad_files_get_one_line_each_and_exit_1(digit_files, tmp_path, capsys):
    paths, labels = digit_files
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    blank = tmp_path / "blank.png"
    Image.new("L", (100, 100), 255).save(blank)
    code = main(
        ["predict", str(bad), str(paths[0]), str(empty), str(blank), "--json", "--engine", "litert"]
    )
    assert code == 1
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert "error" in rows[0] and "not an image" in rows[0]["error"]
    assert rows[1]["digit"] == labels[0]
    assert "empty" in rows[2]["error"]
    assert rows[3]["digit"] is None and rows[3]["probabilities"] == [0.0] * 10


def test_human_errors_go_to_stderr(tmp_path, capsys):
    missing = tmp_path / "missing.png"
    assert main(["predict", str(missing), "--engine", "litert"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"mnist-digits: error: {missing}: ")
    assert err[0].count("missing.png") == 1  # named once, as typed


def test_error_lines_name_the_file_as_typed(tmp_path, capsys):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    assert main(["predict", str(empty), "--engine", "litert"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == f"mnist-digits: error: {empty}: the file is empty (0 bytes)"


def test_missing_model_is_a_clear_error(tmp_path, digit_files, capsys):
    paths, _ = digit_files
    code = main(
        ["predict", str(paths[0]), "--engine", "litert", "--model", str(tmp_path / "none.tflite")]
    )
    assert code == 2
    assert "model file not found" in capsys.readouterr().err


def test_evaluate_json(tmp_path, mnist_sample, capsys):
    images, labels = mnist_sample
    write_mnist(tmp_path)  # train split: random noise, unused by evaluate
    from tests.test_data import idx_bytes

    (tmp_path / "t10k-images-idx3-ubyte.gz").unlink()
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(idx_bytes(images[:200]))
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(labels[:200]))
    assert main(["evaluate", "--data", str(tmp_path), "--json", "--engine", "litert"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 200 and report["accuracy"] >= 0.98
    assert len(report["per_class"]) == 10
    assert np.array(report["confusion"]).sum() == 200


def test_evaluate_without_data_names_the_options(monkeypatch, capsys):
    import keras

    monkeypatch.delenv("MNIST_DATA", raising=False)
    monkeypatch.setattr(
        keras.datasets.mnist, "load_data", lambda: (_ for _ in ()).throw(OSError("offline"))
    )
    assert main(["evaluate"]) == 2
    err = capsys.readouterr().err
    assert "--data DIR" in err and "MNIST_DATA" in err


def test_python_dash_m_runs_the_cli(digit_files):
    paths, labels = digit_files
    bad = paths[0].with_name("bad.png")
    bad.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mnist_desktop",
            "predict",
            str(paths[1]),
            str(bad),
            "--json",
            "--engine",
            "litert",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert rows[0]["digit"] == labels[1] and "error" in rows[1]


def test_predict_a_folder_to_csv(tmp_path, mnist_sample, capsys):
    import csv

    images, labels = mnist_sample
    folder = tmp_path / "scans"
    (folder / "b").mkdir(parents=True)
    for i in range(6):
        sub = folder / ("b" if i % 2 else "")
        Image.fromarray(255 - images[i]).resize((84, 84)).save(sub / f"{i}.png")
    (folder / "readme.txt").write_text("not an image")
    (folder / "b" / "broken.jpg").write_bytes(b"\xff\xd8\xff broken")
    out = tmp_path / "results.csv"
    code = main(["predict", str(folder), "--csv", str(out), "--engine", "litert"])
    assert code == 1  # the broken file
    captured = capsys.readouterr()
    assert "skipped 1 non-image" in captured.err
    assert "6 classified, 1 unreadable" in captured.out
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 7
    by_name = {os.path.basename(r["path"]): r for r in rows}
    assert by_name["broken.jpg"]["error"] and by_name["broken.jpg"]["digit"] == ""
    right = sum(int(by_name[f"{i}.png"]["digit"]) == labels[i] for i in range(6))
    assert right == 6
    assert abs(sum(float(by_name["0.png"][f"p{d}"]) for d in range(10)) - 1) < 1e-3
