"""The keyboard does what the menus say, in both modes, whatever a user did before.

Keys are typed into whatever widget has the focus (tests/helpers/qt.press),
never sent as action.trigger(): the bug was that the pen width field kept the
focus and swallowed Ctrl+Z, Ctrl+C, Ctrl+V and Delete.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QStyle,
    QStyleOptionSpinBox,
    QToolBar,
    QToolButton,
)

from mnist_desktop import settings
from mnist_desktop.gui import MainWindow
from tests.helpers.qt import draw, press, user_click
from tests.helpers.strokes import digit_strokes, number_strokes
from tests.test_gui import TIMEOUT, wait_ready

pytestmark = pytest.mark.usefixtures("clean_settings")


def launch(qtbot, mode: str = "digit") -> MainWindow:
    """The window as a user gets it: started, shown and active (the window manager's job)."""
    settings.write("mode", mode)
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow, timeout=TIMEOUT)
    wait_ready(qtbot, win)
    return win


def answered(qtbot, win: MainWindow) -> None:
    qtbot.waitUntil(lambda: win._last_result_id == win._next_id, timeout=TIMEOUT)


def scribble(qtbot, win: MainWindow) -> None:
    """Draw with mouse drags: a digit, or a number on the wide canvas."""
    strokes = digit_strokes(4) if win.mode == "digit" else number_strokes("20", 170, 150, 155)
    draw(win.canvas, strokes)
    answered(qtbot, win)


def click_arrow(box, up: bool = True) -> None:
    """Click the spin box's up (or down) arrow with the mouse."""
    option = QStyleOptionSpinBox()
    box.initStyleOption(option)
    part = QStyle.SubControl.SC_SpinBoxUp if up else QStyle.SubControl.SC_SpinBoxDown
    rect = box.style().subControlRect(QStyle.ComplexControl.CC_SpinBox, option, part, box)
    user_click(box, rect.center())


def toolbar_button(win: MainWindow, action) -> QToolButton:
    return win.findChild(QToolBar, "mainToolBar").widgetForAction(action)


@pytest.mark.parametrize("mode", ["digit", "number"])
def test_the_canvas_has_the_keys_at_launch(qtbot, mode):
    win = launch(qtbot, mode)
    assert QApplication.focusWidget() is win.canvas
    press("Delete")  # nothing to clear yet: still nothing typed into the pen field
    assert win.pen_width_box.value() == settings.read("pen_width")


@pytest.mark.parametrize("mode", ["digit", "number"])
def test_undo_redo_clear_after_drawing(qtbot, mode):
    win = launch(qtbot, mode)
    scribble(qtbot, win)
    strokes = win.canvas.state().strokes
    assert strokes and QApplication.focusWidget() is win.canvas
    press("Ctrl+Z")
    assert win.canvas.state().strokes == strokes[:-1]
    press("Ctrl+Shift+Z")
    assert win.canvas.state().strokes == strokes
    press("Delete")
    assert win.canvas.state().empty
    press("Ctrl+Z")
    assert win.canvas.state().strokes == strokes
    press("Esc")
    assert win.canvas.state().empty


@pytest.mark.parametrize("mode", ["digit", "number"])
def test_keys_work_after_the_pen_width_arrows(qtbot, mode):
    win = launch(qtbot, mode)
    scribble(qtbot, win)
    count = len(win.canvas.state().strokes)
    box = win.pen_width_box
    before = box.value()
    click_arrow(box)
    assert box.value() == before + 1 and win.canvas.pen_width == before + 1
    qtbot.waitUntil(lambda: QApplication.focusWidget() is win.canvas, timeout=TIMEOUT)
    press("Ctrl+Z")
    assert len(win.canvas.state().strokes) == count - 1
    press("Delete")
    assert win.canvas.state().empty
    assert box.value() == before + 1  # the pen width is untouched by the keys


def test_typing_a_pen_width_then_the_edit_keys(qtbot):
    win = launch(qtbot)
    scribble(qtbot, win)
    box = win.pen_width_box
    # Click into the field's text (not the arrows): the user means to type.
    user_click(box.lineEdit())
    assert QApplication.focusWidget() in (box, box.lineEdit())
    box.selectAll()
    for key in "30":
        press(key)
    assert box.value() == 30 and win.canvas.pen_width == 30
    # While the field has the focus, the window's shortcuts still act on the drawing.
    count = len(win.canvas.state().strokes)
    press("Ctrl+Z")
    assert len(win.canvas.state().strokes) == count - 1
    assert box.value() == 30
    press("Delete")
    assert win.canvas.state().empty and box.value() == 30
    press("Ctrl+Z")
    assert len(win.canvas.state().strokes) == count - 1
    press("Return")  # done with the field: the keys go back to the canvas
    assert QApplication.focusWidget() is win.canvas
    # Escape in the field leaves it, and clears nothing.
    user_click(box.lineEdit())
    assert QApplication.focusWidget() in (box, box.lineEdit())
    press("Escape")
    assert QApplication.focusWidget() is win.canvas
    assert len(win.canvas.state().strokes) == count - 1


def test_the_wheel_on_the_pen_width_leaves_the_focus_alone(qtbot):
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QWheelEvent

    win = launch(qtbot)
    box = win.pen_width_box
    before = box.value()
    centre = QPointF(box.rect().center())
    wheel = QWheelEvent(
        centre,
        box.mapToGlobal(centre),
        QPoint(0, 0),
        QPoint(0, 120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(box, wheel)
    assert box.value() == before + 1
    assert QApplication.focusWidget() is win.canvas


@pytest.mark.parametrize(("start", "switch_to"), [("digit", "number"), ("number", "digit")])
def test_keys_work_after_switching_modes_with_the_toolbar(qtbot, start, switch_to):
    win = launch(qtbot, start)
    click_arrow(win.pen_width_box)  # the user has been elsewhere first
    action = win.number_mode_action if switch_to == "number" else win.digit_mode_action
    button = toolbar_button(win, action)
    user_click(button)
    assert win.mode == switch_to
    assert QApplication.focusWidget() is win.canvas
    scribble(qtbot, win)
    count = len(win.canvas.state().strokes)
    press("Ctrl+Z")
    assert len(win.canvas.state().strokes) == count - 1
    press("Delete")
    assert win.canvas.state().empty
    press("Ctrl+Z")  # back to the drawing...
    for _ in range(count):  # ...and through its strokes to the mode switch itself
        press("Ctrl+Z")
    assert win.mode == start


@pytest.mark.parametrize("mode", ["digit", "number"])
def test_copy_paste_open_save_from_the_keyboard(qtbot, mode, tmp_path, monkeypatch):
    win = launch(qtbot, mode)
    scribble(qtbot, win)
    click_arrow(win.pen_width_box)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is win.canvas, timeout=TIMEOUT)
    clipboard = QGuiApplication.clipboard()
    clipboard.clear()
    press("Ctrl+C")
    copied = clipboard.image()
    assert not copied.isNull() and copied.size() == win.canvas.export_image().size()

    press("Delete")
    assert win.canvas.state().empty
    press("Ctrl+V")
    answered(qtbot, win)
    assert win.canvas.state().image is not None
    assert win._last_result is not None

    saved = tmp_path / "drawing.png"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(saved), ""))
    press("Ctrl+S")
    assert saved.exists() and not QImage(str(saved)).isNull()

    asked = []

    def fake_open(*args, **kwargs):
        asked.append(args)
        return ("", "")

    monkeypatch.setattr(QFileDialog, "getOpenFileName", fake_open)
    press("Ctrl+O")
    assert len(asked) == 1


def test_keys_work_after_a_correction_and_its_undo_button(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_DESKTOP_DATA", str(tmp_path / "user"))
    win = launch(qtbot)
    scribble(qtbot, win)
    chart = win.chart
    user_click(chart, QPoint(int(chart.width() / 10 * 4.5), chart.height() // 2))
    assert len(win.corrections) == 1
    user_click(win.message_bar.action_button)  # "Undo" the correction
    assert len(win.corrections) == 0
    assert QApplication.focusWidget() is win.canvas
    count = len(win.canvas.state().strokes)
    press("Ctrl+Z")
    assert len(win.canvas.state().strokes) == count - 1


def test_a_shortcut_given_twice_is_bound_once():
    """On X11 the standard Redo key is Ctrl+Shift+Z, which Redo is also given by
    name: bound twice, Qt calls the key ambiguous and Redo never fires."""
    from PySide6.QtGui import QKeySequence

    from mnist_desktop.gui.mainwindow import shortcut_keys

    keys = shortcut_keys(["Ctrl+Shift+Z", QKeySequence("Ctrl+Shift+Z"), "Ctrl+Y", ""])
    assert [k.toString() for k in keys] == ["Ctrl+Shift+Z", "Ctrl+Y"]


def test_no_key_is_bound_to_two_of_the_windows_actions_or_twice_to_one(qtbot):
    win = launch(qtbot)
    bound = [key.toString() for action in win.actions() for key in action.shortcuts()]
    assert bound and len(bound) == len(set(bound)), sorted(bound)
