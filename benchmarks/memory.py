"""Peak memory for the largest inputs the app accepts, and for the ones it refuses.

    python benchmarks/memory.py              # every case (a few minutes, ~3 GB of /tmp)
    python benchmarks/memory.py png-rgb ...  # only these cases

Each case runs in a fresh subprocess (``mnist-digits`` itself where it
applies, with the litert engine unless the case says keras; the Python API or
the window otherwise), which reports its own peak
resident memory, ``resource.getrusage(RUSAGE_SELF).ru_maxrss``.  The inputs are
generated first, in another subprocess, and are small files that decode to
huge images (a 2 MB PNG of 22000 x 22000 pixels).  This parent process imports
neither NumPy nor Pillow: Linux carries a parent's peak over into a child it
spawns, so a large parent would inflate every measurement.

Writes benchmarks/results/memory.json.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIMIT_MB = 1024

# name: (what it is, how it runs, arguments)
CASES: dict[str, tuple[str, str, list[str]]] = {
    "start": ("a 28 x 28 PNG (the process itself)", "cli", ["predict", "{dir}/small.png"]),
    "png-grey": (
        "PNG 22000 x 22000 grey (a 0.6 MB file)",
        "cli",
        ["predict", "{dir}/grey-22000.png"],
    ),
    "png-rgb": ("PNG 22000 x 22000 RGB (refused)", "cli", ["predict", "{dir}/rgb-22000.png"]),
    "png-keras": (
        "PNG 16000 x 16000 grey, keras engine (TensorFlow loaded)",
        "cli",
        ["predict", "{dir}/grey-16000.png", "--engine", "keras"],
    ),
    "png-grey-keras": (
        "PNG 22000 x 22000 grey, keras engine (refused: TensorFlow leaves less room)",
        "cli",
        ["predict", "{dir}/grey-22000.png", "--engine", "keras"],
    ),
    "tiff": (
        "TIFF 15000 x 15000 grey, deflate (225 MP, over Pillow's 179 MP)",
        "cli",
        ["predict", "{dir}/grey-15000.tif"],
    ),
    "jpeg": ("JPEG 20000 x 20000 grey", "cli", ["predict", "{dir}/grey-20000.jpg"]),
    "jpeg-progressive": (
        "JPEG 12000 x 12000 grey, progressive",
        "cli",
        ["predict", "{dir}/progressive-12000.jpg"],
    ),
    "gif": ("GIF 16000 x 16000", "cli", ["predict", "{dir}/16000.gif"]),
    "webp": ("WebP 5000 x 5000 grey", "cli", ["predict", "{dir}/grey-5000.webp"]),
    "array": ("NumPy array 10000 x 10000 x 4 uint8 (381 MB) via the API", "array", []),
    "paste-grey": ("paste a 16000 x 16000 grey PNG into the window", "paste", ["grey-16000.png"]),
    "paste-rgb": ("paste a 16000 x 16000 RGB PNG (refused)", "paste", ["rgb-16000.png"]),
    "evaluate-bomb": (
        "evaluate: gzip IDX announcing 4.3 GB (refused)",
        "cli",
        ["evaluate", "--data", "{dir}/mnist-bomb"],
    ),
    "evaluate-trailing": (
        "evaluate: gzip IDX with 1 GB of data beyond its header (refused)",
        "cli",
        ["evaluate", "--data", "{dir}/mnist-trailing"],
    ),
    "folder-csv": (
        "predict DIR --csv: 600 PNGs + 1 zTXt bomb",
        "cli",
        ["predict", "{dir}/folder", "--csv", "{dir}/folder.csv"],
    ),
}


# --------------------------------------------------------------------------- #
# Inputs (generated in a subprocess)
# --------------------------------------------------------------------------- #


def _png_streamed(path: Path, side: int, channels: int) -> None:
    """A side x side PNG, white with a thick dark "7", written row by row."""
    import struct
    import zlib

    import numpy as np

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    colour = {1: 0, 3: 2}[channels]
    pen = side // 25
    white = np.full((side, channels), 255, np.uint8)
    with path.open("wb") as fh:
        fh.write(b"\x89PNG\r\n\x1a\n")
        fh.write(chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, colour, 0, 0, 0)))
        squeeze = zlib.compressobj(6)
        buffer = []
        for y in range(side):
            row = white.copy()
            if side * 3 // 10 <= y < side * 3 // 10 + pen:  # the bar of the 7
                row[side * 3 // 10 : side * 7 // 10] = 0
            elif side * 3 // 10 <= y < side * 7 // 10:  # its stem, leaning left
                x = side * 7 // 10 - (y - side * 3 // 10) // 3
                row[x - pen : x] = 0
            buffer.append(squeeze.compress(b"\0" + row.tobytes()))
            if len(buffer) > 256:
                fh.write(chunk(b"IDAT", b"".join(buffer)))
                buffer = []
        buffer.append(squeeze.flush())
        fh.write(chunk(b"IDAT", b"".join(buffer)))
        fh.write(chunk(b"IEND", b""))


def _digit_image(side: int):
    """A side x side grey Pillow image, white with a dark "7"."""
    from PIL import Image, ImageDraw

    img = Image.new("L", (side, side), 255)
    s = side
    ImageDraw.Draw(img).line(
        [(s * 3 // 10, s * 3 // 10), (s * 7 // 10, s * 3 // 10), (s * 45 // 100, s * 75 // 100)],
        fill=0,
        width=s // 25,
    )
    return img


def _mnist_dir(folder: Path, test_images: bytes) -> None:
    import gzip

    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)

    def idx(array) -> bytes:
        magic = 0x0800 | array.ndim
        head = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
        return head + array.astype(np.uint8).tobytes()

    files = {
        "train-images-idx3-ubyte.gz": idx(rng.integers(0, 256, (10, 28, 28))),
        "train-labels-idx1-ubyte.gz": idx(rng.integers(0, 10, 10)),
        "t10k-labels-idx1-ubyte.gz": idx(rng.integers(0, 10, 10)),
    }
    for name, raw in files.items():
        (folder / name).write_bytes(gzip.compress(raw))
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(test_images)


def make_inputs(where: str) -> None:
    import gzip
    import zlib

    import numpy as np
    from PIL import Image

    d = Path(where)
    _digit_image(28).save(d / "small.png")
    _png_streamed(d / "grey-22000.png", 22000, 1)
    _png_streamed(d / "rgb-22000.png", 22000, 3)
    _png_streamed(d / "grey-16000.png", 16000, 1)
    _png_streamed(d / "rgb-16000.png", 16000, 3)
    _digit_image(15000).save(d / "grey-15000.tif", compression="tiff_adobe_deflate")
    _digit_image(20000).save(d / "grey-20000.jpg", quality=85)
    _digit_image(12000).save(d / "progressive-12000.jpg", quality=85, progressive=True)
    _digit_image(16000).convert("P").save(d / "16000.gif")
    _digit_image(5000).save(d / "grey-5000.webp", quality=80)
    # evaluate: a header announcing 5.5 million test images, and one with 1 GB after its data
    head = (0x0803).to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in (10, 28, 28))
    bomb = head[:4] + (5_500_000).to_bytes(4, "big") + head[8:] + bytes(1_000_000)
    _mnist_dir(d / "mnist-bomb", gzip.compress(bomb))
    squeeze = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip framing
    parts = [squeeze.compress(head + bytes(10 * 28 * 28))]
    zeros = bytes(2**24)
    for _ in range(64):  # 1 GB
        parts.append(squeeze.compress(zeros))
    parts.append(squeeze.flush())
    _mnist_dir(d / "mnist-trailing", b"".join(parts))
    # a folder of 600 digits and a PNG with a 2 MB zTXt chunk
    folder = d / "folder"
    folder.mkdir()
    with np.load(ROOT / "tests" / "data" / "mnist_test_1000.npz") as f:
        images = f["images"]
    for i in range(600):
        Image.fromarray(images[i]).save(folder / f"{i:03d}.png")
    small = (d / "small.png").read_bytes()
    text = b"note\0\0" + zlib.compress(b"a" * 2_000_000, 9)
    ztxt = len(text).to_bytes(4, "big") + b"zTXt" + text
    ztxt += zlib.crc32(b"zTXt" + text).to_bytes(4, "big")
    (folder / "bomb.png").write_bytes(small[:33] + ztxt + small[33:])


# --------------------------------------------------------------------------- #
# Cases (each in its own subprocess)
# --------------------------------------------------------------------------- #


def _peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def run_case(kind: str, where: str, args: list[str]) -> None:
    """Runs in the child; prints one JSON line: exit status, output, peak MB."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        if kind == "cli":
            from mnist_desktop.cli import main

            engine = [] if "--engine" in args else ["--engine", "litert"]
            code = main([a.format(dir=where) for a in args] + engine)
        elif kind == "array":
            import numpy as np

            from mnist_desktop.ml.inference import load_classifier

            array = np.full((10000, 10000, 4), 255, np.uint8)
            array[3000:3400, 3000:7000, :3] = 0  # the bar of a 7
            for y in range(3400, 7500):
                x = 7000 - (y - 3400) // 3
                array[y, x - 400 : x, :3] = 0
            prediction = load_classifier("litert").classify(array)
            print(f"digit {prediction.label} ({prediction.confidence:.1%})")
            code = 0
        else:
            code = _paste(Path(where) / args[0])
    text = (out.getvalue() + err.getvalue()).strip().splitlines()
    print(json.dumps({"code": code, "output": text[-1] if text else "", "peak_mb": _peak_mb()}))


def _paste(path: Path) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QMimeData
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from mnist_desktop.gui import MainWindow

    app = QApplication.instance() or QApplication([])
    window = MainWindow()
    window.show()
    outcome: list[str] = []
    window.result_shown.connect(
        lambda result: outcome.append(
            f"shown: {result.prediction.label if result.prediction else '-'}"
        )
    )
    mime = QMimeData()
    mime.setData("image/png", path.read_bytes())
    QGuiApplication.clipboard().setMimeData(mime)
    window.paste_image()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not outcome and not window.message_bar.isVisible():
        app.processEvents()
        time.sleep(0.01)
    print(outcome[-1] if outcome else window.message_bar.text())
    window.close()  # stops the worker thread
    window.deleteLater()
    QGuiApplication.clipboard().clear()
    app.processEvents()
    return 0 if outcome else 1


# --------------------------------------------------------------------------- #


def main(names: list[str]) -> None:
    chosen = names or list(CASES)
    unknown = [n for n in chosen if n not in CASES]
    if unknown:
        sys.exit(f"unknown case(s): {', '.join(unknown)}; known: {', '.join(CASES)}")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT)}
    results = {}
    with tempfile.TemporaryDirectory(prefix="mnist-memory-") as where:
        print("generating inputs...", file=sys.stderr)
        subprocess.run([sys.executable, __file__, "--make", where], check=True, env=env, cwd=ROOT)
        for name in chosen:
            what, kind, args = CASES[name]
            started = time.monotonic()
            proc = subprocess.run(
                [sys.executable, __file__, "--case", kind, where, json.dumps(args)],
                capture_output=True,
                text=True,
                env=env,
                cwd=ROOT,
            )
            lines = proc.stdout.strip().splitlines()
            if proc.returncode != 0 or not lines:  # the JSON line is printed last
                raise SystemExit(f"{name} failed:\n{proc.stdout}\n{proc.stderr}")
            result = json.loads(lines[-1])
            result["what"] = what
            result["seconds"] = round(time.monotonic() - started, 1)
            result["peak_mb"] = round(result["peak_mb"])
            results[name] = result
            print(
                f"{name:18} {result['peak_mb']:6} MB  {result['seconds']:5} s  {result['output']}"
            )
    over = {n: r["peak_mb"] for n, r in results.items() if r["peak_mb"] > LIMIT_MB}
    out = ROOT / "benchmarks" / "results" / "memory.json"
    if not names:
        out.write_text(json.dumps(results, indent=2) + "\n")
    print("\n| input | peak memory | seconds | result |\n|---|---:|---:|---|")
    for r in results.values():
        print(f"| {r['what']} | {r['peak_mb']} MB | {r['seconds']} | {r['output']} |")
    if over:
        raise SystemExit(f"over {LIMIT_MB} MB: {over}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--make"]:
        make_inputs(sys.argv[2])
    elif sys.argv[1:2] == ["--case"]:
        run_case(sys.argv[2], sys.argv[3], json.loads(sys.argv[4]))
    else:
        main(sys.argv[1:])
