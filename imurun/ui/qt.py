"""The one QApplication, created offscreen when there is no display (tests, screenshots, CI)."""

from __future__ import annotations

import os
import sys

from imurun.errors import ImurunError


def has_display() -> bool:
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def qt_app(offscreen: bool = False):
    """The running QApplication, or a new one. Qt reads QT_QPA_PLATFORM only at creation."""
    if offscreen:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    elif not has_display():
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import PySide6
    from PySide6.QtWidgets import QApplication

    if PySide6.__version_info__[:2] == (6, 12) and sys.version_info < (3, 12):
        # Every void Qt call drops a reference to None; the process aborts after a few seconds.
        raise ImurunError(
            f"PySide6 {PySide6.__version__} crashes on Python {sys.version.split()[0]}; "
            "install PySide6-Essentials<6.12 (pip install 'PySide6-Essentials<6.12')"
        )
    app = QApplication.instance()
    if app is None:
        app = QApplication(["imurun"])
    return app
