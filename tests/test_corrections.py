"""The corrections store: files on disk, round trips, and zips from elsewhere."""

from __future__ import annotations

import csv
import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from mnist_desktop.corrections import (
    HEADER,
    Correction,
    CorrectionsError,
    CorrectionStore,
    default_root,
)


def digit_input(seed: int) -> np.ndarray:
    """A 28x28 float model input with values all over [0, 1]."""
    rng = np.random.default_rng(seed)
    x = rng.random((28, 28)).astype(np.float32)
    x[:4] = 0.0
    return x


def png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def labels_csv(rows: list[list[object]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return buf.getvalue()


def make_zip(path, files: dict[str, bytes | str]) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)


def good_zip_files(label: object = 3) -> dict[str, bytes | str]:
    pixels = np.zeros((28, 28), np.uint8)
    pixels[8:20, 12:16] = 255
    return {
        "labels.csv": labels_csv(
            [["abc-1", label, 5, "2026-01-01T00:00:00+00:00", "inputs/abc-1.png", ""]]
        ),
        "inputs/abc-1.png": png(pixels),
    }


@pytest.fixture
def store(tmp_path) -> CorrectionStore:
    return CorrectionStore(tmp_path / "corrections")


def test_add_list_and_arrays_round_trip(store):
    inputs = [digit_input(i) for i in range(3)]
    source = np.zeros((40, 30, 4), np.uint8)
    source[..., 3] = 255
    added = [
        store.add(7, inputs[0], source=source, predicted=1),
        store.add(0, inputs[1]),
        store.add(7, inputs[2], source=np.full((10, 12), 200, np.uint8)),
    ]
    assert [c.id for c in store.all()] == [c.id for c in added]
    assert len({c.id for c in added}) == 3
    assert len(store) == 3 and store.counts() == [1, 0, 0, 0, 0, 0, 0, 2, 0, 0]
    first = store.all()[0]
    assert first.label == 7 and first.predicted == 1 and first.created.endswith("+00:00")
    assert first.input_file == f"inputs/{first.id}.png"
    assert first.source_file == f"sources/{first.id}.png"
    assert store.all()[1].source_file is None and store.all()[1].predicted is None

    x, y = store.arrays()
    assert x.dtype == np.float32 and x.shape == (3, 28, 28)
    assert y.dtype == np.int32 and y.tolist() == [7, 0, 7]
    assert np.abs(x - np.stack(inputs)).max() <= 1 / 510 + 1e-7
    # The PNG holds exactly round(x * 255), 8-bit grey.
    with Image.open(store.path(first.input_file)) as img:
        assert img.mode == "L" and img.size == (28, 28)
        assert np.array_equal(np.asarray(img), np.round(inputs[0] * 255).astype(np.uint8))
    assert np.array_equal(store.source_image(first), source)
    assert store.path("labels.csv").read_text().splitlines()[0] == ",".join(HEADER)


def test_store_persists_across_instances(store):
    c = store.add(4, digit_input(0), predicted=9)
    again = CorrectionStore(store.root)
    assert again.all() == [c]
    assert np.array_equal(again.arrays()[0], store.arrays()[0])


def test_empty_store_creates_nothing(tmp_path):
    store = CorrectionStore(tmp_path / "nowhere")
    assert store.all() == [] and len(store) == 0 and store.counts() == [0] * 10
    x, y = store.arrays()
    assert x.shape == (0, 28, 28) and y.shape == (0,)
    assert not (tmp_path / "nowhere").exists()


def test_remove_and_clear(store):
    a = store.add(1, digit_input(0), source=np.zeros((5, 5), np.uint8))
    b = store.add(2, digit_input(1))
    store.remove(a.id)
    assert store.all() == [b]
    assert not store.path(a.input_file).exists() and not store.path(a.source_file).exists()
    with pytest.raises(KeyError):
        store.remove(a.id)
    store.clear()
    assert store.all() == [] and not store.path(b.input_file).exists()
    assert store.add(3, digit_input(2)).label == 3  # usable after clearing


@pytest.mark.parametrize(
    ("label", "model_input", "predicted"),
    [
        (10, np.zeros((28, 28)), None),
        (-1, np.zeros((28, 28)), None),
        (True, np.zeros((28, 28)), None),
        (3, np.zeros((28, 27)), None),
        (3, np.zeros((1, 28, 28)), None),
        (3, np.full((28, 28), 2.0), None),
        (3, np.full((28, 28), np.nan), None),
        (3, np.zeros((28, 28)), 11),
    ],
)
def test_invalid_corrections_are_refused(store, label, model_input, predicted):
    with pytest.raises(ValueError):
        store.add(label, model_input, predicted=predicted)
    assert store.all() == []


def test_invalid_source_is_refused(store):
    with pytest.raises(ValueError):
        store.add(3, digit_input(0), source=np.zeros((5, 5), np.float32))
    assert store.all() == []


def test_no_temporary_files_left(store):
    store.add(3, digit_input(0), source=np.zeros((5, 5), np.uint8))
    store.remove(store.all()[0].id)
    assert not [p for p in store.root.rglob("*") if ".part" in p.name]


def test_export_then_import_round_trips_exactly(store, tmp_path):
    store.add(7, digit_input(0), source=np.full((30, 20, 4), 9, np.uint8), predicted=1)
    store.add(0, digit_input(1))
    store.add(5, digit_input(2), predicted=6)
    zip_path = tmp_path / "out" / "mine.zip"
    assert store.export_zip(zip_path) == 3
    assert not list(zip_path.parent.glob("*.part"))
    names = set(zipfile.ZipFile(zip_path).namelist())
    assert "labels.csv" in names and sum(n.startswith("inputs/") for n in names) == 3
    assert sum(n.startswith("sources/") for n in names) == 1

    other = CorrectionStore(tmp_path / "other")
    assert other.import_zip(zip_path) == 3
    assert other.all() == store.all()
    x1, y1 = store.arrays()
    x2, y2 = other.arrays()
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    first = store.all()[0]
    assert np.array_equal(other.source_image(first), store.source_image(first))

    assert other.import_zip(zip_path) == 0, "importing twice adds nothing"
    assert len(other) == 3
    other.add(2, digit_input(3))
    assert store.import_zip(tmp_path / "out" / "mine.zip") == 0


def test_import_merges_new_rows(store, tmp_path):
    store.add(1, digit_input(0))
    zip_path = tmp_path / "one.zip"
    store.export_zip(zip_path)
    other = CorrectionStore(tmp_path / "other")
    other.add(2, digit_input(1))
    assert other.import_zip(zip_path) == 1
    assert sorted(c.label for c in other.all()) == [1, 2]


def test_import_without_ids_is_idempotent(store, tmp_path):
    files = good_zip_files()
    files["labels.csv"] = labels_csv([["", 3, "", "", "inputs/abc-1.png", ""]])
    make_zip(tmp_path / "hand.zip", files)
    assert store.import_zip(tmp_path / "hand.zip") == 1
    assert store.import_zip(tmp_path / "hand.zip") == 0
    (c,) = store.all()
    assert c.label == 3 and c.predicted is None and c.created


def test_a_good_handmade_zip_imports(store, tmp_path):
    make_zip(tmp_path / "good.zip", good_zip_files())
    assert store.import_zip(tmp_path / "good.zip") == 1
    assert store.all()[0].id == "abc-1" and store.all()[0].predicted == 5


def _bad_zips() -> dict[str, dict[str, bytes | str]]:
    good = good_zip_files()
    not_28 = dict(good, **{"inputs/abc-1.png": png(np.zeros((20, 28), np.uint8))})
    rgb = dict(good, **{"inputs/abc-1.png": png(np.zeros((28, 28, 3), np.uint8))})
    not_png = dict(good, **{"inputs/abc-1.png": b"GIF89a not really"})
    missing_input = {"labels.csv": good["labels.csv"]}
    bad_header = dict(good, **{"labels.csv": "name,digit\nabc-1,3\n"})
    traversal = dict(good, **{"../evil.png": b"x"})
    absolute = dict(good, **{"/etc/evil.png": b"x"})
    csv_points_outside = dict(
        good,
        **{"labels.csv": labels_csv([["abc-1", 3, "", "", "../inputs/abc-1.png", ""]])},
    )
    bad_id = dict(good, **{"labels.csv": labels_csv([["a/b", 3, "", "", "inputs/abc-1.png", ""]])})
    return {
        "no labels.csv": {"inputs/abc-1.png": good["inputs/abc-1.png"]},
        "label 12": good_zip_files(label=12),
        "label not a number": good_zip_files(label="seven"),
        "input not 28x28": not_28,
        "input not grey": rgb,
        "input not a png": not_png,
        "input missing": missing_input,
        "wrong header": bad_header,
        "path traversal": traversal,
        "absolute name": absolute,
        "row points outside": csv_points_outside,
        "bad id": bad_id,
    }


@pytest.mark.parametrize("case", list(_bad_zips()))
def test_bad_zips_are_rejected_whole(store, tmp_path, case):
    store.add(9, digit_input(0))
    before = store.all()
    files = _bad_zips()[case]
    # A good row first: rejection is all or nothing, it must not be imported either.
    if "labels.csv" in files and "abc-1" in str(files["labels.csv"]):
        files = dict(files)
        files["labels.csv"] = str(files["labels.csv"]).replace(
            "\n", "\nok-1,4,,,inputs/ok.png,\n", 1
        )
        files["inputs/ok.png"] = png(np.zeros((28, 28), np.uint8))
    path = tmp_path / "bad.zip"
    make_zip(path, files)
    with pytest.raises(CorrectionsError) as info:
        store.import_zip(path)
    assert "bad.zip" in str(info.value)
    assert store.all() == before


def test_not_a_zip_is_rejected(store, tmp_path):
    path = tmp_path / "notes.zip"
    path.write_text("hello")
    with pytest.raises(CorrectionsError, match="not a zip"):
        store.import_zip(path)
    with pytest.raises(CorrectionsError, match="does not exist"):
        store.import_zip(tmp_path / "missing.zip")


def test_damaged_labels_file_is_reported_not_dropped(store):
    store.add(1, digit_input(0))
    text = store.path("labels.csv").read_text()
    store.path("labels.csv").write_text(text.replace(",1,", ",x,"))
    with pytest.raises(CorrectionsError, match="damaged"):
        store.all()
    with pytest.raises(CorrectionsError):
        store.add(2, digit_input(1))
    assert store.path("labels.csv").read_text() == text.replace(",1,", ",x,")


def test_default_root_honours_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MNIST_DESKTOP_DATA", str(tmp_path / "data"))
    assert default_root() == tmp_path / "data" / "corrections"
    store = CorrectionStore()
    assert store.root == tmp_path / "data" / "corrections"
    assert (
        store.personal_model_path
        == tmp_path / "data" / "corrections" / "personal" / "mnist_cnn.keras"
    )


def test_default_root_follows_xdg_without_override(monkeypatch, tmp_path):
    import sys

    monkeypatch.delenv("MNIST_DESKTOP_DATA", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("APPDATA", str(tmp_path / "appdata"))
    root = default_root()
    assert root.name == "corrections" and root.parent.name == "mnist-desktop"
    if sys.platform.startswith("linux"):
        assert root == tmp_path / "xdg" / "mnist-desktop" / "corrections"
    elif sys.platform == "win32":
        assert root == tmp_path / "appdata" / "mnist-desktop" / "corrections"


def test_correction_is_a_plain_record():
    c = Correction("x", 1, None, "2026-01-01T00:00:00+00:00", "inputs/x.png")
    assert c.source_file is None


DRAWING = {
    "canvas": [280, 280],
    "strokes": [{"width": 24, "points": [[40.0, 50.0, 1.0], [200.5, 220.0, 0.5]]}],
}


def test_vector_strokes_round_trip_export_import_and_remove(store, tmp_path):
    kept = store.add(7, digit_input(1), predicted=1, strokes=DRAWING)
    plain = store.add(3, digit_input(2))
    assert store.strokes(kept) == DRAWING and store.strokes(plain) is None
    store.export_zip(tmp_path / "c.zip")
    assert f"strokes/{kept.id}.json" in zipfile.ZipFile(tmp_path / "c.zip").namelist()
    other = CorrectionStore(tmp_path / "other")
    assert other.import_zip(tmp_path / "c.zip") == 2
    by_label = {c.label: c for c in other.all()}
    assert other.strokes(by_label[7]) == DRAWING and other.strokes(by_label[3]) is None
    store.remove(kept.id)
    assert not (store.root / "strokes" / f"{kept.id}.json").exists()


@pytest.mark.parametrize(
    "strokes",
    [
        [1, 2],
        {"strokes": "no"},
        {"strokes": [{"points": [[1]]}]},
        {"strokes": [{"points": [["a", 2]]}]},
    ],
)
def test_malformed_strokes_are_refused(store, strokes):
    with pytest.raises(ValueError):
        store.add(1, digit_input(0), strokes=strokes)
    assert len(store) == 0


def test_a_zip_with_malformed_strokes_is_rejected_whole(store, tmp_path):
    files = good_zip_files()
    files["strokes/abc-1.json"] = b"{not json"
    make_zip(tmp_path / "bad.zip", files)
    with pytest.raises(CorrectionsError, match="strokes"):
        store.import_zip(tmp_path / "bad.zip")
    assert len(store) == 0
