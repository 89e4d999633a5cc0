"""Classify a folder from the window: background progress, cancel, table, CSV."""

from __future__ import annotations

import csv

import pytest
from PIL import Image

from mnist_desktop.gui import MainWindow


@pytest.fixture
def folder(tmp_path, mnist_sample):
    images, labels = mnist_sample
    root = tmp_path / "digits"
    (root / "more").mkdir(parents=True)
    for i in range(40):
        sub = root / ("more" if i % 3 == 0 else "")
        Image.fromarray(255 - images[i]).save(sub / f"{i:03d}_{labels[i]}.png")
    (root / "notes.txt").write_text("not an image")
    (root / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    return root, labels[:40]


def test_classify_a_folder_from_the_window(qtbot, clean_settings, folder, tmp_path):
    root, labels = folder
    window = MainWindow()
    qtbot.addWidget(window)
    dialog = window.classify_folder(str(root))
    qtbot.waitUntil(lambda: not dialog.is_running(), timeout=30_000)
    assert "40 classified, 1 unreadable" in dialog.done_text and "1 other file" in dialog.done_text
    assert dialog.table.rowCount() == 41 and dialog.bar.value() == 41
    right = sum(r.digit == int(r.path.rsplit("_", 1)[1][0]) for r in dialog.rows if not r.error)
    assert right >= 39
    broken = [r for r in dialog.rows if r.error]
    assert len(broken) == 1 and broken[0].path.endswith("broken.png")
    # Sorted by confidence, doubtful first (the unreadable file sorts before all).
    confidences = [dialog.table.item(r, 3).data(0x0100) for r in range(dialog.table.rowCount())]
    assert confidences == sorted(confidences)
    out = tmp_path / "out.csv"
    dialog.export_csv(str(out))
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 41 and sum(bool(r["error"]) for r in rows) == 1
    dialog.close()


def test_cancel_stops_early(qtbot, clean_settings, tmp_path, mnist_sample):
    images, _ = mnist_sample
    root = tmp_path / "many"
    root.mkdir()
    for i in range(400):
        Image.fromarray(images[i % 1000]).save(root / f"{i}.png")
    window = MainWindow()
    qtbot.addWidget(window)
    dialog = window.classify_folder(str(root))
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: not dialog.is_running(), timeout=30_000)
    assert dialog.done_text.startswith("Cancelled")
    assert len(dialog.rows) < 400
    dialog.close()
