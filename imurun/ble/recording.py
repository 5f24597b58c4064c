"""Session files of a live run: where they go and how they are opened (SessionWriter)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

SESSIONS_DIR = Path("~/imurun/sessions")


def default_session_path(now: dt.datetime | None = None) -> Path:
    """~/imurun/sessions/YYYY-MM-DD_HHMMSS.csv (local time)."""
    now = now or dt.datetime.now()
    return SESSIONS_DIR.expanduser() / f"{now:%Y-%m-%d_%H%M%S}.csv"


def trunk_path(pelvis: Path) -> Path:
    """The second sensor's file: same stem, `.trunk` suffix (DESIGN.md "Files")."""
    return pelvis.with_name(pelvis.stem + ".trunk.csv")


def open_session(path: Path, device: str, placement: str, rate_hz: float) -> Any:
    """An open SessionWriter for SI samples (m/s^2, rad/s) on the session clock."""
    from imurun.session.format import SessionHeader
    from imurun.session.writer import SessionWriter

    header = SessionHeader(
        device=device, placement=placement, sample_rate_hz=rate_hz, acc_unit="m/s^2", gyr_unit="rad/s"
    )
    writer = SessionWriter(path, header)
    writer.__enter__()
    return writer
