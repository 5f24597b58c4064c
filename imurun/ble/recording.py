"""Session files of a live run: where they go and how they are opened (SessionWriter)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np

SESSIONS_DIR = Path("~/imurun/sessions")


def default_session_path(now: dt.datetime | None = None) -> Path:
    """~/imurun/sessions/YYYY-MM-DD_HHMMSS.csv (local time)."""
    now = now or dt.datetime.now()
    return SESSIONS_DIR.expanduser() / f"{now:%Y-%m-%d_%H%M%S}.csv"


def open_session(
    path: Path, device: str, placement: str, rate_hz: float, profile_id: str, device_time: bool
) -> Any:
    """An open SessionWriter for SI samples (m/s^2, rad/s) on the session clock, with a device_t
    column when the sensor has its own clock."""
    from imurun.session.format import BASE_COLUMNS, SessionHeader
    from imurun.session.writer import SessionWriter

    header = SessionHeader(
        device=device,
        placement=placement,
        sample_rate_hz=rate_hz,
        acc_unit="m/s^2",
        gyr_unit="rad/s",
        columns=BASE_COLUMNS + (("device_t",) if device_time else ()),
        extra={"firmware_profile": profile_id},
    )
    return SessionWriter(path, header)


def as_written(writer: Any, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> tuple[np.ndarray, ...]:
    """The values exactly as the file stores them (same decimal rounding), so that the live
    engine sees what a replay of the file will see and both find the same steps."""
    from imurun.session.format import column_decimals

    d = column_decimals(writer.header)  # t, ax, ay, az, gx, gy, gz, ...

    def rounded(x: np.ndarray, decimals: int) -> np.ndarray:
        return np.char.mod(f"%.{decimals}f", x).astype(np.float64)

    return rounded(t, d[0]), rounded(acc, d[1]), rounded(gyr, d[4])
