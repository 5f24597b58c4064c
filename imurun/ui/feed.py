"""DashboardFeed: the thread-safe hand-over from the engine's thread to the drawing thread.

The engine side (a Sink, called from the BLE/replay thread) only copies each block's rows into
fixed-size buffers under a lock held for a memcpy; the Qt side takes a Snapshot of the latest
window ~30 times a second. Neither ever waits for the other's work, and memory is fixed whatever
the session length (old rows fall out of the buffers; nothing queues up if drawing stalls).
"""

from __future__ import annotations

import bisect
import copy
import math
import threading
from collections import deque
from dataclasses import dataclass, field, replace

import numpy as np

from imurun.blocks import SampleBlock
from imurun.core.output import SIGNAL_DTYPE, STEP_DTYPE, EngineOutput, Status

SIGNAL_ROWS = 8192  # >= 20 s at 400 Hz: the longest trace window at the fastest supported rate
STEP_ROWS = 1024  # ~5 min of running steps: the cadence and drop histories look back 60 s
CUE_ROWS = 200


@dataclass(frozen=True)
class CueRecord:
    t: float  # session time the cue was given, s
    text: str  # what was said
    side: str  # "L", "R" or ""
    reason: str  # the numbers that triggered it
    response: str = ""  # how the runner responded, once measured (~30 s later; coach/response.py)


@dataclass(frozen=True)
class Targets:
    cadence_spm: float = math.nan  # NaN: no target (yet)
    cadence_tolerance_pct: float = 3.0
    pelvic_drop_deg: float = math.nan
    trunk_lean_min_deg: float = math.nan


@dataclass(frozen=True)
class SessionInfo:
    """What the engine cannot know: shown in the status bar."""

    sensor: str = ""
    profile: str = ""
    recording: str = ""
    battery_pct: float | None = None  # None: unknown
    state: str = ""  # e.g. "replay 2x", "paused", "finished"


@dataclass
class Snapshot:
    signals: np.ndarray  # SIGNAL_DTYPE rows, oldest first
    steps: np.ndarray  # STEP_DTYPE rows, oldest first
    status: Status
    cues: list[CueRecord]  # oldest first
    targets: Targets
    info: SessionInfo
    version: int = 0


class SlidingBuffer:
    """The last `capacity` rows of a stream, always readable as one contiguous, ordered slice.

    Rows go into an array of twice the capacity; when it fills, the newest `capacity` rows move
    to its front (amortised O(1) per row, no allocation after construction).
    """

    def __init__(self, dtype: np.dtype, capacity: int):
        self.capacity = capacity
        self._buf = np.zeros(2 * capacity, dtype=dtype)
        self._end = 0

    def __len__(self) -> int:
        return self._end

    def extend(self, rows: np.ndarray) -> None:
        n = len(rows)
        if n >= self.capacity:
            self._buf[: self.capacity] = rows[-self.capacity :]
            self._end = self.capacity
            return
        if self._end + n > len(self._buf):
            keep = self.capacity - n
            self._buf[:keep] = self._buf[self._end - keep : self._end]
            self._end = keep
        self._buf[self._end : self._end + n] = rows
        self._end += n

    def since(self, t0: float) -> np.ndarray:
        """A copy of the stored rows with t >= t0."""
        rows = self._buf[: self._end]
        # bisect reads ~14 values; np.searchsorted would first copy the whole strided column.
        return rows[bisect.bisect_left(rows["t"], t0) :].copy()

    def clear(self) -> None:
        self._end = 0


@dataclass
class _Shared:
    signals: SlidingBuffer = field(default_factory=lambda: SlidingBuffer(SIGNAL_DTYPE, SIGNAL_ROWS))
    steps: SlidingBuffer = field(default_factory=lambda: SlidingBuffer(STEP_DTYPE, STEP_ROWS))
    status: Status = field(default_factory=Status)
    cues: deque[CueRecord] = field(default_factory=lambda: deque(maxlen=CUE_ROWS))
    targets: Targets = field(default_factory=Targets)
    info: SessionInfo = field(default_factory=SessionInfo)
    version: int = 0


class DashboardFeed:
    """A Sink (imurun/sinks.py) plus thread-safe setters for what the engine does not emit.

    Every method may be called from any thread. The engine must be built with emit_signals=True
    for the traces; without signals the step-based views still work.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._s = _Shared()

    # -- engine side ------------------------------------------------------------------------
    def consume(self, block: SampleBlock, out: EngineOutput) -> None:
        status = copy.copy(out.status)
        status.flags = dict(out.status.flags)
        with self._lock:
            if out.signals is not None and len(out.signals):
                self._s.signals.extend(out.signals)
            if len(out.steps):
                self._s.steps.extend(out.steps)
            self._s.status = status
            self._s.version += 1

    def close(self) -> None:
        """Nothing to flush: the window keeps showing the last state."""

    def add_cue(self, t: float, text: str, side: str = "", reason: str = "") -> None:
        with self._lock:
            self._s.cues.append(CueRecord(float(t), text, side, reason))
            self._s.version += 1

    def add_response(self, t: float, response: str) -> None:
        """The runner's response to the cue given at session time t (the latest cue at t)."""
        with self._lock:
            cues = self._s.cues
            for i in range(len(cues) - 1, -1, -1):
                if cues[i].t == t:
                    cues[i] = replace(cues[i], response=response)
                    self._s.version += 1
                    return

    def set_targets(self, targets: Targets) -> None:
        with self._lock:
            if targets != self._s.targets:
                self._s.targets = targets
                self._s.version += 1

    def set_info(self, **changes: object) -> None:
        """Update SessionInfo fields (sensor=, profile=, recording=, battery_pct=, state=)."""
        with self._lock:
            info = replace(self._s.info, **changes)
            if info != self._s.info:
                self._s.info = info
                self._s.version += 1

    def restart(self) -> None:
        """Forget signals, steps and status (a replay jumping back); cues, targets and info stay."""
        with self._lock:
            self._s.signals.clear()
            self._s.steps.clear()
            self._s.status = Status()
            self._s.version += 1

    # -- drawing side -----------------------------------------------------------------------
    @property
    def version(self) -> int:
        """Changes whenever anything new arrived: the drawing side skips frames with nothing new."""
        return self._s.version

    def snapshot(self, signal_window_s: float, step_window_s: float) -> Snapshot:
        with self._lock:
            now = self._s.status.t
            return Snapshot(
                signals=self._s.signals.since(now - signal_window_s),
                steps=self._s.steps.since(now - step_window_s),
                status=self._s.status,
                cues=list(self._s.cues),
                targets=self._s.targets,
                info=self._s.info,
                version=self._s.version,
            )

