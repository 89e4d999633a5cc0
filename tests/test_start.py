"""The first ten minutes: a missing X11 library is one line, the CLI's default
is the fast engine without log noise, and the README's API example runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from mnist_desktop import xcblibs
from tests.helpers.images import on_paper, upscale

ROOT = Path(__file__).resolve().parent.parent
THE_THREE = ("libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1")


def clean_env(**extra: str) -> dict:
    """The environment a user has: none of the test suite's own quieting."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return env | extra


# ------------------------------------------------------------- X11 libraries


def test_missing_x11_libraries_are_one_line_naming_the_packages(monkeypatch, capsys):
    from PySide6 import QtWidgets

    from mnist_desktop import app

    # Were the check to let Qt start, xcb would abort this whole test process.
    class NotStarted(QtWidgets.QApplication):
        def __init__(self, *args) -> None:
            pytest.fail("Qt was started")

    monkeypatch.setattr(QtWidgets, "QApplication", NotStarted)
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(xcblibs, "_loadable", lambda soname: soname not in THE_THREE)
    # The lookup happens before Qt is touched: main returns instead of aborting.
    assert app.main([]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1
    line = lines[0]
    assert line.startswith("mnist-desktop: error: ")
    for soname in THE_THREE:
        assert soname in line
    assert "sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1'" in line
    assert "sudo dnf install xcb-util-cursor xcb-util-keysyms xcb-util-wm'" in line


def test_the_process_exits_1_with_the_line_instead_of_qts_abort():
    """A real start of the window program, with the loader's answer for the three
    libraries replaced (a test cannot uninstall system packages)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("Qt's xcb plugin is Linux only")
    code = (
        "import sys; from mnist_desktop import xcblibs, app; "
        f"xcblibs._loadable = lambda s: s not in {THE_THREE!r}; "
        "sys.exit(app.main([]))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env=clean_env(QT_QPA_PLATFORM="xcb", DISPLAY=":99"),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.count("\n") == 1 and "apt-get install libxcb-cursor0" in proc.stderr


def test_which_platforms_need_the_x11_libraries():
    every = lambda soname: True  # noqa: E731
    assert xcblibs.missing_libraries({}, "linux", every) == []
    assert xcblibs.uses_xcb({"DISPLAY": ":0"}, "linux")
    assert xcblibs.uses_xcb({"QT_QPA_PLATFORM": "xcb"}, "linux")
    assert not xcblibs.uses_xcb({"QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert not xcblibs.uses_xcb({"WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert not xcblibs.uses_xcb({}, "win32") and not xcblibs.uses_xcb({}, "darwin")
    nothing = lambda soname: False  # noqa: E731
    assert xcblibs.missing_libraries({}, "darwin", nothing) == []
    # Offscreen still needs what QtGui links; X11's plugin libraries only with xcb.
    offscreen = xcblibs.missing_libraries({"QT_QPA_PLATFORM": "offscreen"}, "linux", nothing)
    assert set(offscreen) == set(xcblibs.GUI_LIBRARIES)
    assert "libxcb-cursor.so.0" in xcblibs.missing_libraries({}, "linux", nothing)


def test_this_machine_has_what_qts_x11_plugin_links():
    """The table names every library PySide6's xcb plugin links (a new Qt may add one)."""
    import shutil

    import PySide6

    if not sys.platform.startswith("linux") or not shutil.which("readelf"):
        pytest.skip("needs Linux and readelf")
    qt = Path(PySide6.__file__).parent / "Qt"
    needed = set()
    for lib in (qt / "plugins/platforms/libqxcb.so", qt / "lib/libQt6XcbQpa.so.6"):
        out = subprocess.run(["readelf", "-d", str(lib)], capture_output=True, text=True).stdout
        needed |= set(re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", out))
    system = {n for n in needed if "Qt6" not in n and not n.startswith(("libc.", "libm.", "ld-"))}
    system -= {"libstdc++.so.6", "libgcc_s.so.1", "libgthread-2.0.so.0"}
    assert system <= set(xcblibs.GUI_LIBRARIES) | set(xcblibs.XCB_LIBRARIES)


# -------------------------------------------------------- the CLI's defaults


@pytest.fixture(scope="module")
def four_png(tmp_path_factory, mnist_sample):
    images, labels = mnist_sample
    index = int(list(labels).index(4))
    path = tmp_path_factory.mktemp("start") / "four.png"
    Image.fromarray(on_paper(upscale(images[index], 120), canvas=(200, 180), at=(40, 30))).save(
        path
    )
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mnist_desktop.cli", *args],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )


def test_predict_without_flags_uses_litert_and_prints_only_the_answer(four_png):
    proc = run_cli("predict", str(four_png))
    assert proc.returncode == 0
    assert proc.stderr == ""  # no "INFO: Created TensorFlow Lite XNNPACK delegate"
    assert proc.stdout.count("\n") == 1 and proc.stdout.startswith(f"{four_png}: 4 (")
    # ...and the runtime's line is there with --verbose: it is silenced, not absent.
    verbose = run_cli("predict", str(four_png), "--verbose")
    assert verbose.returncode == 0 and "XNNPACK" in verbose.stderr
    assert verbose.stdout == proc.stdout


def test_the_keras_engine_is_quiet_too(four_png):
    proc = run_cli("predict", str(four_png), "--engine", "keras")
    assert proc.returncode == 0
    assert proc.stderr == ""  # no TensorFlow, absl or oneDNN lines
    assert proc.stdout.startswith(f"{four_png}: 4 (")


# ------------------------------------------------------ the README's API


def readme_api_snippet() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Python API", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "the README's Python API section has no python block"
    return match.group(1)


def test_the_readme_api_example_runs(tmp_path, mnist_sample):
    """In a fresh interpreter, as a user runs it: the names it imports depend on
    what was imported before, which a test inside this process would hide."""
    images, labels = mnist_sample
    index = int(list(labels).index(4))
    photo = on_paper(upscale(images[index], 150), canvas=(260, 240), at=(50, 40))
    Image.fromarray(photo).convert("RGB").save(tmp_path / "photo.jpg", quality=90)
    snippet = readme_api_snippet()
    assert '"photo.jpg"' in snippet
    check = (
        "\nassert p.digit == 4 and p.label == '4' and 0.5 < p.confidence <= 1, p"
        "\nassert len(p.probabilities) == 10"
        "\nassert x.shape == (28, 28) and x.dtype.name == 'float32'"
        "\nprobs = classifier.probabilities(x[None])"
        "\nassert probs.shape == (1, 10) and probs.argmax() == 4"
        "\nprint('ok')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", snippet + check],
        env=clean_env(PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "ok\n"
