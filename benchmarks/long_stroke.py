"""A very long stroke in the window's canvas: does any repaint wait on its points?

    python benchmarks/long_stroke.py                 # writes results/long_stroke.json
    python benchmarks/long_stroke.py --points 20000  # another length, printed only

One scribble of ``--points`` mouse moves (tests/helpers/strokes.py ``scribble``)
is drawn into a 600 x 600 canvas as real mouse events; then the times the GUI
thread is busy for each thing a user does next, each a synchronous
``repaint()`` (or the event that triggers it): lifting the pen, a plain
repaint, resizing to 900 x 900, undo, redo and resizing back; and how long the
crisp ink takes to arrive after the resize (painted in slices between
events) and how long a timer's events wait meanwhile.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return round((time.perf_counter() - started) * 1000, 1)


def measure(points: int) -> dict:
    from PySide6.QtCore import QEvent, QEventLoop, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from mnist_desktop.gui.canvas import DrawingCanvas
    from tests.helpers.qt import _send, to_widget
    from tests.helpers.strokes import scribble

    app = QApplication.instance() or QApplication([])
    canvas = DrawingCanvas()
    canvas.resize(600, 600)
    canvas.show()
    app.processEvents()
    path = scribble(points)
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    started = time.perf_counter()
    _send(canvas, QEvent.Type.MouseButtonPress, to_widget(canvas, *path[0]), left, left)
    for x, y in path[1:]:
        _send(canvas, QEvent.Type.MouseMove, to_widget(canvas, x, y), none, left)
    drawing_s = time.perf_counter() - started
    release = to_widget(canvas, *path[-1])
    out = {
        "points": points,
        "stored_points": len(canvas.state().strokes[0].points) if canvas.state().strokes else 0,
        "drawing_s": round(drawing_s, 1),
    }

    def lift() -> None:
        _send(canvas, QEvent.Type.MouseButtonRelease, release, left, none)
        canvas.repaint()

    out["pen_up_ms"] = timed(lift)
    out["stored_points"] = len(canvas.state().strokes[0].points)
    out["repaint_ms"] = timed(canvas.repaint)

    def resize(side: int):
        def run() -> None:
            canvas.resize(side, side)
            app.processEvents()
            canvas.repaint()

        return run

    out["resize_to_900_ms"] = timed(resize(900))
    # While the crisp ink is painted in slices, how long do events wait?
    ticks = [time.perf_counter()]
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start(1)
    crisp = time.perf_counter()
    deadline = crisp + 120
    ink = getattr(canvas, "_ink", None)  # (absent before the ink was kept)
    while ink is not None and not ink._crisp and time.perf_counter() < deadline:
        app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 50)
    timer.stop()
    out["crisp_after_resize_s"] = round(time.perf_counter() - crisp, 2)
    gaps = sorted(b - a for a, b in zip(ticks, ticks[1:], strict=False))
    if gaps:
        out["event_wait_while_painting_ms"] = {
            "p50": round(gaps[len(gaps) // 2] * 1000, 1),
            "max": round(gaps[-1] * 1000, 1),
        }
    out["undo_ms"] = timed(lambda: (canvas.undo_stack.undo(), canvas.repaint()))
    out["redo_ms"] = timed(lambda: (canvas.undo_stack.redo(), canvas.repaint()))
    out["resize_to_600_ms"] = timed(resize(600))
    if ink is not None:
        canvas.shutdown()
    canvas.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=50_000)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "long_stroke.json"))
    args = parser.parse_args()
    result = measure(args.points)
    print(json.dumps(result, indent=2))
    if args.points == 50_000:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
