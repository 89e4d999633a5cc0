"""The window with files that used to hang, crash or show internal text (issue 15)."""

from __future__ import annotations

import csv
import threading

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog

from mnist_desktop import files
from tests.helpers.images import encode, on_paper, pgm, png_header_bomb, upscale
from tests.test_batch import FORMULA, write_bad, write_good
from tests.test_gui import TIMEOUT, ready_window


@pytest.fixture
def window(qtbot, clean_settings):
    return ready_window(qtbot)


def finish(qtbot, dialog) -> None:
    qtbot.waitUntil(lambda: not dialog.is_running(), timeout=60_000)


def test_bad_files_become_rows_and_the_export_is_safe(qtbot, window, tmp_path, mnist_sample):
    images, _ = mnist_sample
    folder = tmp_path / "mixed"
    write_good(folder, images, 4)
    bad = write_bad(folder, images[0])
    dialog = window.classify_folder(str(folder))
    finish(qtbot, dialog)
    errors = {r.path: r.error for r in dialog.rows if r.error}
    expected = {str(p) for k, p in bad.items() if k != "non-utf8"}
    assert set(errors) == expected
    assert all(e and "\n" not in e and "Error" not in e for e in errors.values())
    assert dialog.table.rowCount() == 4 + len(bad)
    assert f"{4 + ('non-utf8' in bad)} classified, {len(expected)} unreadable" in dialog.done_text
    out = tmp_path / "out.csv"
    dialog.export_csv(str(out))
    with out.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4 + len(bad)
    assert not any(c.startswith(("=", "+", "-", "@")) for r in rows for c in r.values())
    formula = next(r for r in rows if r["path"].endswith(FORMULA))
    assert formula["error"].startswith("'" + FORMULA)
    dialog.close()


def test_an_unreadable_subfolder_is_a_row(qtbot, window, tmp_path, mnist_sample, monkeypatch):
    import os

    images, _ = mnist_sample
    write_good(tmp_path / "top", images, 2)
    locked = tmp_path / "top" / "locked"
    locked.mkdir()
    real = os.scandir

    def scandir(path="."):
        if os.fspath(path) == str(locked):
            raise PermissionError(13, "Permission denied", str(locked))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    dialog = window.classify_folder(str(tmp_path / "top"))
    finish(qtbot, dialog)
    assert [r.path for r in dialog.rows if r.error] == [str(locked)]
    assert "2 classified, 1 unreadable" in dialog.done_text
    dialog.close()


def test_cancel_takes_effect_between_files(qtbot, window, tmp_path, mnist_sample, monkeypatch):
    images, _ = mnist_sample
    write_good(tmp_path / "many", images, 30)  # fewer than one batch of the dialog
    reached, release = threading.Event(), threading.Event()
    real, calls = files.preprocess, []

    def slow_third_file(path, polarity="auto", **options):
        calls.append(path)
        if len(calls) == 3:  # a file that takes long to read
            reached.set()
            release.wait(30)
        return real(path, polarity, **options)

    monkeypatch.setattr(files, "preprocess", slow_third_file)
    dialog = window.classify_folder(str(tmp_path / "many"))
    qtbot.waitUntil(reached.is_set, timeout=TIMEOUT)
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    release.set()
    finish(qtbot, dialog)
    assert dialog.done_text == "Cancelled after 3 of 30 images."
    assert len(dialog.rows) == 3 and len(calls) == 3
    dialog.close()


def paste_bytes(window, kind: str, data: bytes) -> None:
    mime = QMimeData()
    mime.setData(kind, data)
    QGuiApplication.clipboard().setMimeData(mime)
    window.paste_action.trigger()


def test_pasted_image_bytes_are_read_by_the_bounded_reader(qtbot, window, mnist_sample):
    images, labels = mnist_sample
    index = int(np.flatnonzero(labels == 5)[0])
    rgb = on_paper(upscale(images[index], 100), canvas=(140, 140), at=(20, 20))
    with qtbot.waitSignal(window.result_shown, timeout=TIMEOUT) as blocker:
        paste_bytes(window, "image/png", encode(rgb))
    assert blocker.args[0].prediction.digit == 5


def test_a_huge_paste_is_refused_with_a_readable_message(qtbot, window):
    # A 16000 x 16000 RGB PNG (the header of one): decoding it would need 1 GB.
    header = png_header_bomb(16000, 16000)
    import struct
    import zlib

    ihdr = header[12:16] + struct.pack(">IIBBBBB", 16000, 16000, 8, 2, 0, 0, 0)
    data = header[:8] + header[8:12] + ihdr + struct.pack(">I", zlib.crc32(ihdr)) + header[33:]
    paste_bytes(window, "image/png", data)
    qtbot.waitUntil(window.message_bar.isVisible, timeout=TIMEOUT)
    text = window.message_bar.text()
    assert text.startswith("Could not open pasted image: the image is too large to open safely")
    assert "16000 x 16000" in text and "the data" not in text


@pytest.mark.parametrize(
    "name, data, expected",
    [
        ("zero.pgm", pgm(8, 8, 0), "damaged"),
        ("digit.png", b"%!PS-Adobe-3.0 EPSF-3.0\n{ } loop\n", "not an image file"),
    ],
)
def test_open_messages_are_readable(qtbot, window, tmp_path, monkeypatch, name, data, expected):
    path = tmp_path / name
    path.write_bytes(data)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    window.open_action.trigger()
    qtbot.waitUntil(window.message_bar.isVisible, timeout=TIMEOUT)
    text = window.message_bar.text()
    assert text.startswith(f"Could not open {name}: ") and expected in text
    assert "Error" not in text and "unexpected" not in text and "maxval" not in text


def test_a_large_in_process_image_is_scaled_down_before_it_becomes_an_array(qtbot):
    from PySide6.QtGui import QImage

    from mnist_desktop.gui.clipboard import image_from_mime

    image = QImage(6000, 3000, QImage.Format.Format_Grayscale8)
    image.fill(255)
    mime = QMimeData()
    mime.setImageData(image)
    rgba = image_from_mime(mime)
    assert rgba.shape == (1024, 2048, 4) and rgba.dtype == np.uint8
    assert image_from_mime(QMimeData()) is None
