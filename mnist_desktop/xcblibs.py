"""Before Qt starts on Linux: are the system libraries its X11 (xcb) plugin loads there?

PySide6's wheels bring Qt but not the X11 libraries its ``xcb`` platform
plugin links against. When one is missing, Qt prints a paragraph naming only
the first one and aborts (exit 134), and installing that one package is not
enough. This module checks them all first, with the dynamic loader itself, and
names every package to install in one line.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable
from pathlib import Path

# soname -> (Debian/Ubuntu package, Fedora package). The first group is what
# QtGui itself links (every platform plugin needs it); the rest is what
# libqxcb.so and libQt6XcbQpa.so link (readelf -d on PySide6 6.11/6.12).
GUI_LIBRARIES: dict[str, tuple[str, str]] = {
    "libEGL.so.1": ("libegl1", "mesa-libEGL"),
    "libGL.so.1": ("libgl1", "mesa-libGL"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
}
XCB_LIBRARIES: dict[str, tuple[str, str]] = {
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
}


def uses_xcb(environ: dict | os._Environ = os.environ, platform: str = sys.platform) -> bool:
    """Whether Qt will load its X11 plugin: Linux, and QT_QPA_PLATFORM unset or
    naming xcb; on a Wayland session Qt tries its Wayland plugin first."""
    if not platform.startswith("linux"):
        return False
    chosen = environ.get("QT_QPA_PLATFORM", "").strip()
    if chosen:
        return chosen.split(";")[0].split(":")[0] == "xcb"
    return not environ.get("WAYLAND_DISPLAY")


def _loadable(soname: str) -> bool:
    try:
        ctypes.CDLL(soname)
    except OSError:
        # A PyInstaller bundle carries them beside the program.
        bundle = getattr(sys, "_MEIPASS", None)
        return bool(bundle) and (Path(bundle) / soname).is_file()
    return True


def missing_libraries(
    environ: dict | os._Environ = os.environ,
    platform: str = sys.platform,
    loadable: Callable[[str], bool] | None = None,
) -> list[str]:
    """The sonames Qt will need here and the dynamic loader cannot find."""
    if not platform.startswith("linux"):
        return []
    loadable = loadable or _loadable
    needed = dict(GUI_LIBRARIES)
    if uses_xcb(environ, platform):
        needed |= XCB_LIBRARIES
    return [soname for soname in needed if not loadable(soname)]


def fix_message(missing: list[str]) -> str:
    """One line: what is missing and the apt-get and dnf commands that install it."""
    table = GUI_LIBRARIES | XCB_LIBRARIES
    apt = sorted({table[s][0] for s in missing})
    dnf = sorted({table[s][1] for s in missing})
    return (
        f"mnist-desktop: error: Qt needs system libraries that are missing "
        f"({', '.join(missing)}); install them with "
        f"'sudo apt-get install {' '.join(apt)}' (Debian/Ubuntu) or "
        f"'sudo dnf install {' '.join(dnf)}' (Fedora), then start mnist-desktop again"
    )
