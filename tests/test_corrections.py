"""The corrections store: files on disk, round trips, and zips from elsewhere."""

from __future__ import annotations

import csv
import errno
import io
import os
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mnist_desktop import corrections
from mnist_desktop.corrections import (
    HEADER,
    Cancelled,
    Correction,
    CorrectionsError,
    CorrectionStore,
    default_root,
)
from tests.helpers.zips import (
    corrupt_deflate_zip,
    labels_csv,
    lying_zip,
    many_rows_zip,
    png,
    shared_source_zip,
)


def digit_input(seed: int) -> np.ndarray:
    """A 28x28 float model input with values all over [0, 1]."""
    rng = np.random.default_rng(seed)
    x = rng.random((28, 28)).astype(np.float32)
    x[:4] = 0.0
    return x


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


# ---- several writers ---------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]

ADDER = """
import sys
import numpy as np
from mnist_desktop.corrections import CorrectionStore
store = CorrectionStore(sys.argv[1])
rng = np.random.default_rng(int(sys.argv[2]))
print("ready", flush=True)
sys.stdin.readline()  # every process starts at the same moment
for i in range(int(sys.argv[3])):
    store.add(int(sys.argv[2]), rng.random((28, 28)), predicted=i % 10)
print("done", flush=True)
"""

IMPORTER = """
import sys
from mnist_desktop.corrections import CorrectionStore
store = CorrectionStore(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
print(store.import_zip(sys.argv[2]), flush=True)
"""


def start_python(script: str, *args: object) -> subprocess.Popen:
    """A second process running ``script``; it prints "ready" and waits for a line."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-c", script, *map(str, args)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "ready"
    return proc


def go(*procs: subprocess.Popen) -> None:
    for proc in procs:
        proc.stdin.write("\n")
        proc.stdin.flush()


def finish(proc: subprocess.Popen) -> str:
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0
    return out


def assert_consistent(store: CorrectionStore) -> None:
    """Every row's files exist and no file lies about without a row."""
    items = store.all()
    assert len({c.id for c in items}) == len(items)
    named = {c.input_file for c in items} | {c.source_file for c in items if c.source_file}
    for rel in named:
        assert store.path(rel).is_file()
    on_disk = {
        f"{p.parent.name}/{p.name}" for p in store.root.glob("*/*") if p.parent.name != "personal"
    }
    assert on_disk <= named | {f"strokes/{c.id}.json" for c in items}


def test_two_processes_adding_at_once_lose_no_row(tmp_path):
    root = tmp_path / "shared"
    procs = [start_python(ADDER, root, digit, 150) for digit in (3, 8)]
    go(*procs)
    for proc in procs:
        assert finish(proc).strip() == "done"
    store = CorrectionStore(root)
    assert len(store) == 300
    assert store.counts()[3] == 150 and store.counts()[8] == 150
    assert_consistent(store)


def test_two_stores_in_one_process_lose_no_row(tmp_path):
    stores = [CorrectionStore(tmp_path / "shared") for _ in range(2)]

    def adder(store: CorrectionStore, digit: int) -> None:
        for i in range(100):
            store.add(digit, digit_input(i))

    threads = [
        threading.Thread(target=adder, args=(s, d)) for s, d in zip(stores, (1, 2), strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(stores[0]) == 200 and stores[1].counts()[1:3] == [100, 100]
    assert_consistent(stores[0])


def test_adds_while_another_process_imports_are_kept(tmp_path, monkeypatch):
    many_rows_zip(tmp_path / "big.zip", 3000)
    root = tmp_path / "shared"
    proc = start_python(IMPORTER, root, tmp_path / "big.zip")
    store = CorrectionStore(root)
    go(proc)
    added = 0
    while proc.poll() is None or added < 20:
        store.add(5, digit_input(added))
        added += 1
    assert finish(proc).strip() == "3000"
    assert len(store) == 3000 + added
    assert store.counts()[5] == 300 + added  # the zip's rows cycle through the digits
    assert_consistent(store)


# ---- limits ------------------------------------------------------------------------


def test_the_row_limit_is_checked_before_writing_and_never_bricks_reading(
    store, tmp_path, monkeypatch
):
    monkeypatch.setattr(corrections, "MAX_ROWS", 5)
    many_rows_zip(tmp_path / "a.zip", 4, "a")
    many_rows_zip(tmp_path / "b.zip", 4, "b")
    assert store.import_zip(tmp_path / "a.zip") == 4
    with pytest.raises(CorrectionsError, match=r"would make 8, more than the 5 kept"):
        store.import_zip(tmp_path / "b.zip")
    assert len(store) == 4 and not list(store.root.glob("inputs/b*"))
    store.add(1, digit_input(0))
    with pytest.raises(CorrectionsError, match="already 5 corrections"):
        store.add(2, digit_input(1))
    assert len(store) == 5

    # A store already past the limit (an older version let it grow) is still read.
    monkeypatch.setattr(corrections, "MAX_ROWS", 3)
    assert len(store) == 5 and len(CorrectionStore(store.root)) == 5
    assert store.export_zip(tmp_path / "all.zip") == 5
    assert store.arrays()[0].shape == (5, 28, 28)


def test_a_zip_with_too_many_rows_is_refused(store, tmp_path, monkeypatch):
    monkeypatch.setattr(corrections, "MAX_ROWS", 3)
    many_rows_zip(tmp_path / "many.zip", 4)
    with pytest.raises(CorrectionsError, match="more than 3 rows"):
        store.import_zip(tmp_path / "many.zip")
    assert len(store) == 0


# ---- crashes and full disks ----------------------------------------------------------


def test_opening_a_store_repairs_what_a_crash_left(store):
    kept = [store.add(1, digit_input(0), strokes=DRAWING), store.add(2, digit_input(1))]
    leftovers = [
        store.root / "inputs" / "20260101T000000000000Z-orphan.png",
        store.root / "sources" / "20260101T000000000000Z-orphan.png",
        store.root / "strokes" / "20260101T000000000000Z-orphan.json",
        store.root / "inputs" / "x.png.abc123.part",
        store.root / "labels.csv.abc123.part",
    ]
    for path in leftovers:
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"left by a crash")
    with open(store.labels_path, "a", encoding="utf-8") as fh:
        fh.write("20260101T000000000000Z-torn,3,,2026-01-01T00:00")  # no newline: cut short
    assert CorrectionStore(store.root, repair=False).all() == kept  # readers skip the torn line

    again = CorrectionStore(store.root)
    assert not any(path.exists() for path in leftovers)
    assert store.labels_path.read_text().endswith("\n")
    assert again.all() == kept and again.strokes(kept[0]) == DRAWING
    again.add(3, digit_input(2))
    assert [c.label for c in again.all()] == [1, 2, 3]
    assert_consistent(again)


def test_a_damaged_index_is_not_used_to_delete_files(store):
    c = store.add(1, digit_input(0))
    store.labels_path.write_text(store.labels_path.read_text().replace(",1,", ",x,"))
    CorrectionStore(store.root)
    assert store.path(c.input_file).is_file()


def enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_loses_nothing_and_says_so(store, monkeypatch):
    first = store.add(1, digit_input(0), source=np.zeros((5, 5), np.uint8))
    files = sorted(store.root.rglob("*"))
    monkeypatch.setattr(os, "fsync", enospc)
    with pytest.raises(OSError, match="No space"):
        store.add(2, digit_input(1), source=np.zeros((5, 5), np.uint8))
    with pytest.raises(OSError, match="No space"):
        store.remove(first.id)
    monkeypatch.undo()
    assert store.all() == [first]
    assert sorted(store.root.rglob("*")) == files  # no half-written or temporary file


def test_an_append_cut_short_by_a_full_disk_leaves_no_half_row(store, monkeypatch):
    first = store.add(1, digit_input(0))
    real_fsync = os.fsync

    def fsync(fd):  # the files go through; the index's append fails after its write
        if os.fstat(fd).st_ino == store.labels_path.stat().st_ino:
            enospc()
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(OSError):
        store.add(2, digit_input(1))
    monkeypatch.undo()
    assert store.all() == [first]
    assert store.labels_path.read_text().count("\n") == 2
    assert_consistent(store)


# ---- hostile zips --------------------------------------------------------------------


def hostile_zips(tmp_path) -> dict[str, tuple[Path, str]]:
    """name -> (zip, what the message must say)."""
    zips: dict[str, tuple[Path, str]] = {}

    def add(name: str, files: dict, expect: str) -> None:
        make_zip(tmp_path / f"{name}.zip", files)
        zips[name] = (tmp_path / f"{name}.zip", expect)

    good = good_zip_files()
    row = ["abc-1", 3, "", "", "inputs/abc-1.png", ""]
    add(
        "huge field",
        dict(good, **{"labels.csv": labels_csv([[*row[:3], "9" * 200_000, *row[4:]]])}),
        "field",
    )
    add(
        "long field",
        dict(good, **{"labels.csv": labels_csv([["a" * 5000, *row[1:]]])}),
        "longer than",
    )
    add("nested strokes", dict(good, **{"strokes/abc-1.json": "[" * 100_000}), "nested too deeply")
    add(
        "formula date",
        dict(good, **{"labels.csv": labels_csv([[*row[:3], '=HYPERLINK("http://x")', *row[4:]]])}),
        "not a date",
    )
    add(
        "text date",
        dict(good, **{"labels.csv": labels_csv([[*row[:3], "yesterday", *row[4:]]])}),
        "not a date",
    )
    add(
        "formula id",
        dict(good, **{"labels.csv": labels_csv([["=1+1", *row[1:]]])}),
        "not a valid id",
    )
    add("not utf-8", dict(good, **{"labels.csv": b"id,label\xff"}), "not UTF-8")
    add("huge input", dict(good, **{"inputs/abc-1.png": b"\x89PNG" + bytes(2 << 20)}), "too large")
    corrupt_deflate_zip(tmp_path / "deflate.zip")
    zips["corrupt deflate"] = (tmp_path / "deflate.zip", "damaged")
    for member in ("labels.csv", "inputs/abc-1.png"):
        lying_zip(tmp_path / f"lying-{member[:3]}.zip", member, 100 << 20)
        zips[f"header lies: {member}"] = (tmp_path / f"lying-{member[:3]}.zip", "damaged")
    lying_zip(tmp_path / "claims-big.zip", "labels.csv", 1 << 20, claimed=1 << 30)
    zips["header claims 1 GB"] = (tmp_path / "claims-big.zip", "too large")
    return zips


def test_hostile_zips_give_one_clear_error_and_change_nothing(store, tmp_path):
    store.add(9, digit_input(0))
    before = store.all()
    for case, (path, expect) in hostile_zips(tmp_path).items():
        with pytest.raises(CorrectionsError) as info:
            store.import_zip(path)
        message = str(info.value)
        assert expect in message and path.name in message, (case, message)
        assert "\n" not in message and len(message) < 300, (case, message)
    assert store.all() == before
    assert_consistent(store)


def test_many_rows_sharing_one_huge_source_import(store, tmp_path):
    shared_source_zip(tmp_path / "shared.zip", 2048, rows=8)
    assert store.import_zip(tmp_path / "shared.zip") == 8
    items = store.all()
    assert store.source_image(items[-1]).shape == (2048, 2048, 4)
    assert all(store.path(c.source_file).is_file() for c in items)


def test_a_source_over_the_size_limit_is_refused(store, tmp_path):
    shared_source_zip(tmp_path / "wide.zip", 8193, rows=1)
    with pytest.raises(CorrectionsError, match="too large"):
        store.import_zip(tmp_path / "wide.zip")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_importing_a_fifo_or_a_folder_does_not_block(store, tmp_path):
    os.mkfifo(tmp_path / "pipe.zip")
    errors = []

    def run(path) -> None:
        try:
            store.import_zip(path)
        except CorrectionsError as exc:
            errors.append(str(exc))

    for path in (tmp_path / "pipe.zip", tmp_path):
        thread = threading.Thread(target=run, args=(path,), daemon=True)
        thread.start()
        thread.join(60)  # a blocking open would still be waiting for a writer
        assert not thread.is_alive()
    assert errors == ["pipe.zip is not a regular file", f"{tmp_path.name} is not a regular file"]


def test_dates_are_normalised_and_formula_cells_neutralised(store, tmp_path):
    files = good_zip_files()
    files["labels.csv"] = labels_csv(
        [["-2-abc", 3, "", "2026-01-02 03:04:05", "inputs/abc-1.png", ""]]
    )
    make_zip(tmp_path / "odd.zip", files)
    assert store.import_zip(tmp_path / "odd.zip") == 1
    (c,) = store.all()
    assert c.id == "-2-abc" and c.created == "2026-01-02T03:04:05+00:00"
    cells = list(csv.reader(io.StringIO(store.labels_path.read_text())))[1]
    assert cells[0] == "'-2-abc"  # a spreadsheet shows it as text
    store.export_zip(tmp_path / "back.zip")
    other = CorrectionStore(tmp_path / "other")
    assert other.import_zip(tmp_path / "back.zip") == 1 and other.all() == [c]


# ---- progress and cancel -------------------------------------------------------------


def test_import_reports_progress_and_can_be_cancelled_at_any_point(store, tmp_path, monkeypatch):
    monkeypatch.setattr(corrections, "CHUNK", 10)
    many_rows_zip(tmp_path / "rows.zip", 300)
    store.add(4, digit_input(0))
    before = store.all()
    with pytest.raises(Cancelled):
        store.import_zip(tmp_path / "rows.zip", should_stop=lambda: True)
    assert store.all() == before

    seen: list[tuple[int, int, str]] = []

    def progress(done: int, total: int, what: str) -> None:
        seen.append((done, total, what))

    # Stop once two chunks are in the index: they are taken back out.
    def stop() -> bool:
        return len(store) >= len(before) + 20

    with pytest.raises(Cancelled):
        store.import_zip(tmp_path / "rows.zip", progress, stop)
    assert store.all() == before
    assert_consistent(store)
    assert any(what == "Adding…" for _, _, what in seen)

    seen.clear()
    assert store.import_zip(tmp_path / "rows.zip", progress) == 300
    dones = [done for done, _, _ in seen]
    assert dones == sorted(dones) and seen[-1][:2] == (600, 600)


def test_export_can_be_cancelled_and_leaves_no_file(store, tmp_path):
    for i in range(5):
        store.add(i, digit_input(i))
    with pytest.raises(Cancelled):
        store.export_zip(tmp_path / "out.zip", should_stop=lambda: True)
    assert not list(tmp_path.glob("out.zip*"))
