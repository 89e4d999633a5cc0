"""Speed: single-image latency, start-up, the live stroke-to-chart path, GUI stalls.

    python benchmarks/latency.py              # everything, prints a table, writes results/latency.json
    python benchmarks/latency.py --quick      # fewer repetitions
    python benchmarks/latency.py --only stroke_to_chart   # one section, printed only

Sections:
1. preprocess + inference of one image (a canvas raster, as the canvas sends it), p50/p99, for
   the litert engine, the keras engine (tf.function) and ``model.predict``;
2. start-up to the first prediction per engine, each in a fresh process;
3. the window: launch to first paint, and stroke-to-chart latency: a mouse move
   sent to the canvas until the window has painted the chart with the answer,
   and the issue's own sum of the parts (preprocess + inference + repaint);
4. how long the GUI thread stalls while TensorFlow loads in the background.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def percentiles(ms: list[float]) -> dict:
    a = np.asarray(ms)
    return {
        "p50_ms": round(float(np.percentile(a, 50)), 3),
        "p99_ms": round(float(np.percentile(a, 99)), 3),
        "n": len(a),
    }


def canvas_raster() -> np.ndarray:
    """A '3' drawn on the canvas, as the canvas hands it to the model."""
    from PySide6.QtWidgets import QApplication

    from mnist_desktop.raster import Stroke, render_array
    from tests.helpers.strokes import digit_strokes

    _app = QApplication.instance() or QApplication([])  # noqa: F841  (the window needs it later)
    strokes = tuple(Stroke(tuple((x, y, 1.0) for x, y in s), 24) for s in digit_strokes(3))
    return render_array(strokes)


def single_image(repeats: int) -> dict:
    from mnist_desktop.ml.inference import load_classifier
    from mnist_desktop.preprocess import preprocess

    raster = canvas_raster()
    out = {}
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        preprocess(raster, "light")
        times.append((time.perf_counter() - t) * 1000)
    out["preprocess only"] = percentiles(times)
    for engine in ("litert", "keras"):
        classifier = load_classifier(engine)
        for _ in range(20):
            classifier.classify(raster, "light")
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            classifier.classify(raster, "light")
            times.append((time.perf_counter() - t) * 1000)
        out[f"{engine} (preprocess + inference)"] = percentiles(times)
        if engine == "keras":
            model = classifier.model
            x = preprocess(raster, "light").image[None]
            for _ in range(5):
                model.predict(x, verbose=0)
            times = []
            for _ in range(max(20, repeats // 10)):
                t = time.perf_counter()
                preprocess(raster, "light")
                model.predict(x, verbose=0)
                times.append((time.perf_counter() - t) * 1000)
            out["keras model.predict per image (baseline)"] = percentiles(times)
    return out


STARTUP = """
import time; t0 = time.perf_counter()
from mnist_desktop.ml.inference import load_classifier
c = load_classifier({engine!r})
t1 = time.perf_counter()
p = c.classify({sample!r})
t2 = time.perf_counter()
print(t1 - t0, t2 - t0, p.digit)
"""


def startup(repeats: int) -> dict:
    sample = str(ROOT / "assets" / "samples" / "5.png")
    out = {}
    for engine in ("litert", "keras"):
        loads, firsts = [], []
        for _ in range(repeats):
            t = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-c", STARTUP.format(engine=engine, sample=sample)],
                capture_output=True,
                text=True,
                cwd=ROOT,
                check=True,
            )
            wall = time.perf_counter() - t
            load, first, digit = proc.stdout.split()
            assert digit == "5", proc.stdout
            loads.append(float(load))
            firsts.append(wall)
        out[engine] = {
            "load_s": round(float(np.median(loads)), 3),
            "process_start_to_first_prediction_s": round(float(np.median(firsts)), 3),
        }
    return out


WINDOW = """
import time; t0 = time.perf_counter()
import os; os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6.QtCore import QTimer, QCoreApplication
from PySide6.QtWidgets import QApplication
app = QApplication([])
from mnist_desktop.gui import MainWindow
w = MainWindow({engine_arg})
w.show()
app.processEvents()
w.repaint()
painted = time.perf_counter() - t0
while not w.model_label.text().startswith("model:"):
    app.processEvents()
    if time.perf_counter() - t0 > 120: break
ready = time.perf_counter() - t0
print(painted, ready)
w.close()
"""


def window_start(repeats: int) -> dict:
    out = {}
    for engine in ("litert", "keras"):
        painted, ready = [], []
        for _ in range(repeats):
            proc = subprocess.run(
                [sys.executable, "-c", WINDOW.format(engine_arg=f"engine={engine!r}")],
                capture_output=True,
                text=True,
                cwd=ROOT,
                check=True,
                env=dict(os.environ, QT_QPA_PLATFORM="offscreen"),
            )
            p, r = map(float, proc.stdout.split())
            painted.append(p)
            ready.append(r)
        out[engine] = {
            "window_painted_s": round(float(np.median(painted)), 3),
            "model_ready_s": round(float(np.median(ready)), 3),
        }
    return out


def stroke_to_chart(repeats: int) -> dict:
    """Mouse move -> throttle -> worker (preprocess + model) -> chart on screen.

    Between events the GUI thread waits in a Qt event loop, as it does in the
    app (a busy ``processEvents()`` loop would hold the GIL and slow the worker
    down, which no user's app does).  Each move is sent after the throttle's
    interval, so it is classified at once.  The clock stops when the window has
    painted the frame that shows the answer: the first paint of the chart after
    the result arrived, and everything else Qt repaints in that frame (the
    labels, the 28x28 view, layout changes).  Reported per engine, and the
    parts: the worker's preprocessing and model time (as the status bar shows
    them), the chart's repaint, and their sum per update.
    """
    from PySide6.QtCore import QEvent, QEventLoop, QObject, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from mnist_desktop.gui import MainWindow
    from mnist_desktop.gui.chart import ProbabilityChart
    from mnist_desktop.gui.mainwindow import LIVE_INTERVAL_MS
    from tests.helpers.qt import _send, to_widget
    from tests.helpers.strokes import digit_strokes

    _app = QApplication.instance() or QApplication([])  # noqa: F841  (kept alive while windows exist)
    out = {}

    def wait(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    class FrameWatch(QObject):
        """Ends ``loop`` once the frame that first paints the chart after an answer is done."""

        def __init__(self) -> None:
            super().__init__()
            self.loop = QEventLoop()
            self.shown: list = []  # results shown since the move
            self.framed = False
            self.repaint_ms: float | None = None  # the chart's paint in that frame

        def reset(self) -> None:
            self.shown.clear()
            self.framed = False
            self.repaint_ms = None

        def eventFilter(self, obj, event) -> bool:  # noqa: N802  (Qt's name)
            if event.type() == QEvent.Type.Paint and self.shown and not self.framed:
                self.framed = True
                QTimer.singleShot(0, self.loop.quit)  # runs once this frame is painted
            return False

    watch = FrameWatch()
    paint = ProbabilityChart.paintEvent

    def timed_paint(chart, event) -> None:  # the chart's own repaint, timed
        started = time.perf_counter()
        paint(chart, event)
        if watch.framed and watch.repaint_ms is None:
            watch.repaint_ms = (time.perf_counter() - started) * 1000

    ProbabilityChart.paintEvent = timed_paint
    for engine in ("litert", "keras"):
        w = MainWindow(engine=engine)
        w.show()
        t0 = time.perf_counter()
        while not (
            w.model_label.text().startswith("model:") and w.engine_label.text().endswith(engine)
        ):
            wait(5)
            if time.perf_counter() - t0 > 120:
                raise RuntimeError("model did not load")
        canvas = w.canvas
        points = [p for s in digit_strokes(8) for p in s]
        left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
        latencies, preprocess_ms, model_ms, repaint_ms = [], [], [], []
        w.chart.installEventFilter(watch)
        w.result_shown.connect(watch.shown.append)
        for i in range(repeats):
            if i % len(points) == 0:
                if i:
                    _send(
                        canvas,
                        QEvent.Type.MouseButtonRelease,
                        to_widget(canvas, *points[-1]),
                        left,
                        none,
                    )
                canvas.clear()
                _send(
                    canvas, QEvent.Type.MouseButtonPress, to_widget(canvas, *points[0]), left, left
                )
            wait(LIVE_INTERVAL_MS + 5)  # past the throttle: this move is classified at once
            watch.reset()
            x, y = points[i % len(points)]
            t = time.perf_counter()
            _send(canvas, QEvent.Type.MouseMove, to_widget(canvas, x + 0.5, y), none, left)
            watch.loop.exec()
            latencies.append((time.perf_counter() - t) * 1000)
            preprocess_ms.append(watch.shown[-1].preprocess_ms)
            model_ms.append(watch.shown[-1].inference_ms)
            repaint_ms.append(watch.repaint_ms)
        _send(canvas, QEvent.Type.MouseButtonRelease, to_widget(canvas, *points[-1]), left, none)
        w.chart.removeEventFilter(watch)
        w.result_shown.disconnect(watch.shown.append)
        parts = np.add(np.add(preprocess_ms, model_ms), repaint_ms)
        out[engine] = percentiles(latencies)
        out[engine]["worker_preprocess_p50_ms"] = round(float(np.median(preprocess_ms)), 3)
        out[engine]["worker_model_p50_ms"] = round(float(np.median(model_ms)), 3)
        out[engine]["chart_repaint_p50_ms"] = round(float(np.median(repaint_ms)), 3)
        out[engine]["preprocess_inference_repaint"] = percentiles(list(parts))
        w.close()
    ProbabilityChart.paintEvent = paint
    return out


GIL_STALL = """
import os, time; os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
app = QApplication([])
from mnist_desktop.gui import MainWindow
w = MainWindow(engine="litert"); w.show()
while not w.model_label.text().startswith("model:"): app.processEvents()
gaps = []; last = [time.perf_counter()]
def tick():
    now = time.perf_counter(); gaps.append(now - last[0]); last[0] = now
timer = QTimer(); timer.timeout.connect(tick); timer.start(5)
t0 = time.perf_counter()
w.set_engine("keras")
while w.engine_label.text() != "engine: keras": app.processEvents(); time.sleep(0.001)
loaded = time.perf_counter() - t0
timer.stop()
gaps.sort()
print(loaded, max(gaps), sum(g > 0.05 for g in gaps), gaps[len(gaps) // 2])
w.close()
"""


def gil_stall() -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", GIL_STALL],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        env=dict(os.environ, QT_QPA_PLATFORM="offscreen"),
    )
    loaded, worst, over50, median = map(float, proc.stdout.split())
    return {
        "keras_ready_after_s": round(loaded, 2),
        "longest_gui_stall_ms": round(worst * 1000, 1),
        "gui_stalls_over_50ms": int(over50),
        "median_timer_interval_ms": round(median * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--only",
        choices=("single_image", "startup", "window_start", "stroke_to_chart", "gil_stall"),
        help="run one section and print it (results/latency.json is left as it is)",
    )
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "latency.json"))
    args = parser.parse_args()
    n = 100 if args.quick else 500
    sections = {
        "single_image": lambda: single_image(n),
        "startup": lambda: startup(1 if args.quick else 3),
        "window_start": lambda: window_start(1 if args.quick else 3),
        "stroke_to_chart": lambda: stroke_to_chart(60 if args.quick else 200),
        "tensorflow_load_gui_stall": gil_stall,
    }
    if args.only:
        key = "tensorflow_load_gui_stall" if args.only == "gil_stall" else args.only
        print(json.dumps({key: sections[key]()}, indent=2))
        return
    results = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}}
    results.update({name: run() for name, run in sections.items()})
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
