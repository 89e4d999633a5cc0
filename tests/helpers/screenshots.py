"""Screenshots of the window as a user sees it, for looking at layouts.

Run on a real X server (Xvfb) so the platform's fonts, styles and toolbar are
the ones users get::

    Xvfb :99 -screen 0 1920x1200x24 &
    DISPLAY=:99 QT_QPA_PLATFORM=xcb python -m tests.helpers.screenshots OUT_DIR \\
        --sizes 640x480 900x560 1400x900

Each size gets: a drawn 4, an opened photo of a 4 and of a number
(single-digit mode); 2025 written and the opened photo of a number (number
mode); and "not a digit" answers in both modes.  Settings
go to a throwaway folder, never the user's.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np


def _isolate_settings(folder: str) -> None:
    from PySide6.QtCore import QCoreApplication, QSettings, QStandardPaths

    QStandardPaths.setTestModeEnabled(True)
    QCoreApplication.setOrganizationName("mnist-desktop-screenshots")
    QCoreApplication.setApplicationName("mnist-desktop-screenshots")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, folder)


def number_photo(path: Path, text: str = "2025") -> Path:
    """A photo of ``text`` written with the MNIST test digits shipped with the tests."""
    from tests.helpers.images import encode, number_row, on_paper

    with np.load(Path(__file__).parents[1] / "data" / "mnist_test_1000.npz") as f:
        images, labels = f["images"], f["labels"]
    picks = [images[int(np.flatnonzero(labels == int(ch))[0])] for ch in text]
    ink, _ = number_row(picks, np.random.default_rng(3))
    path.write_bytes(encode(on_paper(ink), "PNG"))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--sizes", nargs="+", default=["640x480", "900x560", "1400x900"])
    parser.add_argument("--only", nargs="*", default=None, help="e.g. digit-drawn number-drawn")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtWidgets import QApplication

    tmp = tempfile.mkdtemp(prefix="mnist-shots-")
    _isolate_settings(tmp)
    import os

    os.environ.setdefault("MNIST_DESKTOP_DATA", tmp)
    app = QApplication.instance() or QApplication(sys.argv[:1])

    from mnist_desktop.gui import MainWindow
    from mnist_desktop.resources import assets_dir
    from tests.helpers.qt import draw
    from tests.helpers.strokes import digit_strokes, number_strokes

    def reject_all(win) -> None:
        win.worker._classifier.reject_below = 1.01

    def reject_zero(win) -> None:
        from mnist_desktop.ml.inference import make_prediction

        def verdict(probabilities, pre=None):
            zero = int(np.argmax(probabilities)) == 0
            return make_prediction(probabilities, pre, 1.01 if zero else None)

        win.worker._classifier.verdict = verdict

    photo = number_photo(Path(tmp) / "a_photo_2025_on_paper.png")
    four = assets_dir() / "samples" / "4.png"

    def wait(condition, ms: int = 15_000) -> None:
        import time

        end = time.monotonic() + ms / 1000
        while not condition():
            app.processEvents()
            if time.monotonic() > end:
                raise TimeoutError("the window did not answer")
            time.sleep(0.005)

    def settle(win) -> None:
        wait(lambda: win._last_result_id == win._next_id and not win._opens)
        end_frames = 40
        for _ in range(end_frames):  # let the chart's animation finish
            app.processEvents()
            import time

            time.sleep(0.01)

    scenes = {
        "digit-drawn": ("digit", lambda w: draw(w.canvas, digit_strokes(4))),
        "digit-image": ("digit", lambda w: w.open_file(four)),
        "digit-photo-of-number": ("digit", lambda w: w.open_file(photo)),
        "number-drawn": (
            "number",
            lambda w: draw(w.canvas, number_strokes("2025", 170, 150, 155)),
        ),
        "number-image": ("number", lambda w: w.open_file(photo)),
        # The README's picture: 2025 with its last digit picked in the strip.
        "number-drawn-5": (
            "number",
            lambda w: (
                draw(w.canvas, number_strokes("2025", 170, 150, 155))
                or wait(lambda: w._last_result_id == w._next_id)
                or w.number_strip.select(3)
            ),
        ),
        # As a model with a rejection threshold answers ink that is no digit.
        "digit-rejected": ("digit", lambda w: reject_all(w) or draw(w.canvas, digit_strokes(4))),
        "number-rejected": (
            "number",
            lambda w: reject_zero(w) or draw(w.canvas, number_strokes("2025", 170, 150, 155)),
        ),
    }
    for size in args.sizes:
        width, height = (int(v) for v in size.split("x"))
        for name, (mode, act) in scenes.items():
            if args.only and name not in args.only:
                continue
            win = MainWindow()
            win.set_mode(mode)
            win.canvas.undo_stack.clear()
            win.resize(width, height)
            win.show()
            win.raise_()
            wait(lambda w=win: w.model_label.text().startswith("model:"))
            act(win)
            settle(win)
            screen = win.screen()
            frame = win.frameGeometry()
            shot = screen.grabWindow(0, frame.x(), frame.y(), frame.width(), frame.height())
            target = args.out / f"{name}-{size}.png"
            shot.save(str(target))
            print(f"{target}: window {win.width()}x{win.height()}")
            win.close()
            win.deleteLater()
            app.processEvents()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
