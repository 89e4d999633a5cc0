"""Reading rows of digits as numbers: segmentation and ``mnist-digits read``."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from mnist_desktop.cli import main
from mnist_desktop.numbers import segment
from tests.helpers.images import number_row, on_paper


def test_rows_of_real_digits_are_split_into_digits(mnist_sample):
    images, labels = mnist_sample
    rng = np.random.default_rng(5)
    right = 0
    for _ in range(30):
        idx = rng.choice(len(images), int(rng.integers(2, 7)), replace=False)
        ink, spans = number_row([images[i] for i in idx], rng)
        found = segment(ink)
        right += len(found.digits) == len(idx)
        xs = [d.box[0] for d in found.digits]
        assert xs == sorted(xs), "digits come left to right"
    assert right >= 27


def test_read_prints_the_number(tmp_path, mnist_sample, capsys):
    images, labels = mnist_sample
    pick = {d: int(np.flatnonzero(labels == d)[0]) for d in (2, 0, 5)}
    rng = np.random.default_rng(1)
    ink, _ = number_row([images[pick[d]] for d in (2, 0, 2, 5)], rng)
    path = tmp_path / "year.png"
    Image.fromarray(on_paper(ink)).save(path)  # dark ink on white paper
    blank = tmp_path / "blank.png"
    Image.new("L", (300, 100), 255).save(blank)
    bad = tmp_path / "bad.png"
    bad.write_text("nope")
    code = main(["read", str(path), str(blank), str(bad), "--json", "--engine", "litert"])
    assert code == 1
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[0]["text"] == "2025"
    assert [d["digit"] for d in rows[0]["digits"]] == [2, 0, 2, 5]
    assert all(len(d["box"]) == 4 and 0 < d["confidence"] <= 1 for d in rows[0]["digits"])
    assert rows[1] == {"path": str(blank), "text": "", "digits": []}
    assert "error" in rows[2]


def test_touching_digits_are_flagged(mnist_sample):
    images, labels = mnist_sample
    a, b = images[int(np.flatnonzero(labels == 3)[0])], images[int(np.flatnonzero(labels == 8)[0])]
    pair = np.concatenate([a, b], axis=1)
    # A stroke joins the glyphs: on a row where both have ink, from the right
    # end of the 3's ink to the left end of the 8's.
    row = next(r for r in range(8, 20) if a[r].max() > 128 and b[r].max() > 128)
    left = int(np.flatnonzero(a[row] > 128)[-1])
    right = 28 + int(np.flatnonzero(b[row] > 128)[0])
    pair[row - 1 : row + 1, left : right + 1] = 255
    found = segment(pair)
    assert any(d.touching for d in found.digits)
    assert len(found.digits) == 2
