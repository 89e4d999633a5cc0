"""Paint the real chart and canvas thousands of times; report None's refcount.

Run in a subprocess by tests/test_none_refcount.py: PySide6 6.12.0 releases a
reference to None in Qt calls that return nothing, which on Python < 3.12
(where None is refcounted) aborts the interpreter with "none_dealloc".
Prints "start=<n> end=<n> paints=<n>" and exits 0 if it survives.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from mnist_desktop.gui.canvas import DrawingCanvas, Stroke  # noqa: E402
from mnist_desktop.gui.chart import ProbabilityChart  # noqa: E402


def main(paints: int) -> int:
    app = QApplication([])
    chart, canvas = ProbabilityChart(), DrawingCanvas()
    chart.resize(320, 200)
    canvas.resize(300, 300)
    chart.show()
    canvas.show()
    rng = np.random.default_rng(0)
    app.processEvents()
    start = sys.getrefcount(None)
    for i in range(paints):
        chart.set_probabilities(rng.dirichlet(np.ones(10)))
        chart.repaint()
        if i % 10 == 0:
            points = tuple((float(x), float(y), 1.0) for x, y in rng.uniform(20, 260, (8, 2)))
            canvas.add_stroke(Stroke(points, 20.0))
        if i % 100 == 99:
            canvas.clear()  # keep the drawing a realistic size
            canvas.undo_stack.clear()
        canvas.repaint()
        app.processEvents()
    end = sys.getrefcount(None)
    print(f"start={start} end={end} paints={paints}", flush=True)
    chart.close()
    canvas.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 3000))
