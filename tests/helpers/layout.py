"""Geometry checks of the window: nothing overlaps, nothing is cut, nothing is hidden.

``problems(window)`` lists what is wrong with the window as laid out now (an
empty list when all is well); ``python -m tests.helpers.layout`` runs the checks
in a fresh process (so QT_SCALE_FACTOR can be set) and prints the problems.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import QLabel, QToolBar, QToolButton, QWidget


def _rect_in(widget: QWidget, ancestor: QWidget) -> QRect:
    return QRect(widget.mapTo(ancestor, QPoint(0, 0)), widget.size())


def parts(window) -> dict[str, QWidget]:
    """The pieces of the window's content that must each have their own room."""
    caption = window.input_view.parentWidget().findChild(QLabel)
    found = {
        "message bar": window.message_bar,
        "canvas": window.canvas,
        "answer": window.prediction_label,
        "confidence": window.confidence_label,
        "model input": window.input_view,
        "model input caption": caption,
        "digit strip": window.number_strip,
        "chart": window.chart,
        "hint": window.teach_hint,
    }
    return {name: w for name, w in found.items() if w is not None and w.isVisible()}


def problems(window) -> list[str]:
    """What is overlapping, clipped or hidden in ``window`` now."""
    out = []
    central = window.centralWidget()
    shown = parts(window)
    rects = {name: _rect_in(w, central) for name, w in shown.items()}
    names = list(rects)
    for i, a in enumerate(names):
        if not central.rect().contains(rects[a]):
            out.append(f"{a} {rects[a]} sticks out of the window's content {central.rect()}")
        for b in names[i + 1 :]:
            if rects[a].intersects(rects[b]):
                out.append(f"{a} {rects[a]} overlaps {b} {rects[b]}")
    for name, widget in shown.items():
        least = widget.minimumSizeHint().expandedTo(widget.minimumSize())
        if isinstance(widget, QLabel) and widget.wordWrap():
            need = widget.heightForWidth(widget.width())
            if widget.height() < need:
                out.append(f"{name} is {widget.height()} px high, its text needs {need}")
        elif widget.width() < least.width() or widget.height() < least.height():
            out.append(f"{name} is {widget.width()}x{widget.height()}, squeezed below {least}")
        if isinstance(widget, QLabel) and not widget.wordWrap():
            text_width = widget.fontMetrics().horizontalAdvance(widget.text())
            if text_width > widget.contentsRect().width():
                out.append(f"{name} {widget.text()!r} needs {text_width} px, has {widget.width()}")
    for toolbar in window.findChildren(QToolBar):
        extension = toolbar.findChild(QToolButton, "qt_toolbar_ext_button")
        if extension is not None and extension.isVisible():
            out.append(f"toolbar {toolbar.objectName()} hides buttons behind »")
        for action in toolbar.actions():
            widget = toolbar.widgetForAction(action)
            if action.isVisible() and (widget is None or not widget.isVisible()):
                out.append(f"toolbar item {action.iconText()!r} is not shown")
            elif widget is not None:
                bar = toolbar.rect()
                if not bar.contains(_rect_in(widget, toolbar)):
                    out.append(f"toolbar item {action.iconText()!r} is cut off")
    status = window.statusBar()
    message = status.currentMessage()
    if message and status.fontMetrics().horizontalAdvance(message) > status.message_room():
        out.append(f"status message {message!r} runs under the permanent labels")
    return out


def main() -> int:
    """Check both modes at 640x480 and 900x560 (drawn digit / number) in this process."""
    import os
    import sys
    import tempfile
    import time

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from tests.helpers.screenshots import _isolate_settings

    folder = tempfile.mkdtemp(prefix="mnist-layout-")
    _isolate_settings(folder)
    os.environ.setdefault("MNIST_DESKTOP_DATA", folder)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    from mnist_desktop.gui import MainWindow
    from tests.helpers.qt import draw
    from tests.helpers.strokes import digit_strokes, number_strokes

    def wait(condition) -> None:
        end = time.monotonic() + 15
        while not condition():
            app.processEvents()
            if time.monotonic() > end:
                raise TimeoutError("the window did not answer")
            time.sleep(0.005)

    found = []
    for mode in ("digit", "number"):
        win = MainWindow()
        win.set_mode(mode)
        win.show()
        wait(lambda w=win: w.model_label.text().startswith("model:"))
        strokes = digit_strokes(4) if mode == "digit" else number_strokes("2025", 170, 150, 155)
        for size in ((640, 480), (900, 560)):
            win.resize(*size)
            for _ in range(10):
                app.processEvents()
                time.sleep(0.005)
            draw(win.canvas, strokes)
            wait(lambda w=win: w._last_result_id == w._next_id)
            for _ in range(10):  # the layout requests the new answer posted
                app.processEvents()
                time.sleep(0.005)
            found += [f"{mode} {size}: {p}" for p in problems(win)]
            win.canvas.clear()
        win.close()
    print("\n".join(found) if found else "ok")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
