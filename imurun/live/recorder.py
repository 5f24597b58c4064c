"""The live run's recorder: where its session files go, how they are opened (SessionWriter), and
the stage that writes every sensor's samples as they arrive."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from imurun.ble.source import Sensor
from imurun.ble.stream import Samples

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


class Recorder:
    """The live run's recorder stage (imurun.ble.source.Stage): each sensor's samples are written
    to its own session file as they arrive, and go on to the pipeline as the file stores them.
    A lost link is noted in the file ("link lost: ..."), and so is its return ("link restored",
    at the first sample after it)."""

    def __init__(self, paths: dict[str, Path | None], placement: str, say: Callable[[str], None]):
        self.paths = paths  # role -> session file
        self.placement = placement  # of the pelvis sensor; a trunk sensor is at the upper back
        self.say = say
        self.writers: dict[str, Any] = {}  # role -> SessionWriter, opened at the first samples
        self._owed: dict[str, str] = {}  # role -> note to write at the next sample

    def samples(self, sensor: Sensor, s: Samples) -> Samples:
        writer = self.writers.get(sensor.role)
        if writer is None:
            writer = self.writers[sensor.role] = self._open(sensor)
        note = self._owed.pop(sensor.role, None)
        if note:
            writer.note(float(s.t[0]), note)
        extra = {"device_t": s.device_t} if sensor.profile.clock == "device" else None
        writer.write(s.t, s.acc, s.gyr, extra=extra)
        return Samples(*as_written(writer, s.t, s.acc, s.gyr), s.device_t, s.host_t)

    def lost(self, sensor: Sensor, t: float, detail: str) -> None:
        writer = self.writers.get(sensor.role)
        if writer is not None and sensor.role not in self._owed:  # one note per outage
            writer.note(t, f"link lost: {detail}")
            self._owed[sensor.role] = "link restored"

    def close(self, sensors: list[Sensor]) -> None:
        """Close every file, each with a note of the notifications dropped as repeats."""
        for s in sensors:
            writer = self.writers.get(s.role)
            if writer is None:
                continue
            repeated = s.stream.counters.repeated
            if repeated:
                writer.note(s.stream.clock.last_t, f"repeated notifications dropped: {repeated}")
            writer.close()
            self.say(f"{s.role}: {s.stream.counters.samples} samples saved to {self.paths[s.role]}")

    def _open(self, sensor: Sensor) -> Any:
        path = self.paths[sensor.role]
        path.parent.mkdir(parents=True, exist_ok=True)
        device = f"{sensor.profile.name} {sensor.link.name if sensor.link else ''} ({sensor.profile.id})"
        placement = self.placement if sensor.role == "pelvis" else "upper-back"
        self.say(f"{sensor.role}: recording to {path}")
        rate = float(sensor.stream.params["rate_hz"])
        device_time = sensor.profile.clock == "device"
        return open_session(path, device, placement, rate, sensor.profile.id, device_time)
