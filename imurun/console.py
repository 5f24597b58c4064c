"""Console sinks: one line per step (or per second) for replays and live runs, a progress bar."""

from __future__ import annotations

import math
import sys
import time
from typing import TextIO

from imurun.blocks import SampleBlock
from imurun.core.output import EngineOutput

PROGRESS_EVERY_S = 0.1  # wall time between progress bar updates


def _fmt(value: float, spec: str, scale: float = 1.0) -> str:
    """A number for the console; '-' where the engine has no value (NaN)."""
    width = int(spec.lstrip("+").split(".")[0])
    return format(value * scale, spec) if math.isfinite(value) else "-".rjust(width)


def step_line(step) -> str:
    """The one console format of a step row, live and replayed."""
    return (
        f"step t={step['t']:9.3f} s {step['side']} {step['activity']:<4} "
        f"cadence {_fmt(step['cadence_spm'], '5.1f')} spm  "
        f"contact {_fmt(step['contact_time_s'], '4.0f', 1000)} ms  "
        f"drop {_fmt(step['pelvic_drop_deg'], '+5.1f')}°  tilt {_fmt(step['tilt_deg'], '+5.1f')}°  "
        f"bounce {_fmt(step['vertical_osc_cm'], '4.1f')} cm  braking {_fmt(step['braking_mps'], '4.2f')} m/s"
    )


def second_line(second: int, status, steps_in_second: int) -> str:
    return (
        f"{second:6d} s  {status.activity:<5} {_fmt(status.cadence_spm, '5.1f')} spm  "
        f"{steps_in_second:2d} steps  total {status.steps}"
    )


class ConsolePrinter:
    """Sink: one line per step, or one per second of session time (status and step count)."""

    def __init__(self, per_second: bool = False, stream: TextIO | None = None):
        self.per_second = per_second
        self.stream = stream if stream is not None else sys.stdout  # looked up now: stdout may be redirected
        self._second: int | None = None  # the second being counted (per_second mode)
        self._steps_in_second = 0
        self._status = None

    def consume(self, block: SampleBlock, out: EngineOutput) -> None:
        if not self.per_second:
            for step in out.steps:
                print(step_line(step), file=self.stream)
            if len(out.steps):
                self.stream.flush()
            return
        if len(block):  # an empty block brings the steps owed at the end: the last second's
            second = int(block.t[-1] // 1.0)
            if self._second is not None and second != self._second:
                print(second_line(self._second, self._status, self._steps_in_second), file=self.stream)
                self._steps_in_second = 0
            self._second = second
        self._status = out.status
        self._steps_in_second += len(out.steps)

    def close(self) -> None:
        if self.per_second and self._second is not None:
            print(second_line(self._second, self._status, self._steps_in_second), file=self.stream)
        self.stream.flush()


class ProgressBar:
    """Sink that redraws one stderr line: bar, percent of the file's rows, session time, steps, ETA.

    Rows, not bytes: the reader does not tell how far into the file it is, so the total is counted
    beforehand (imurun.analyze.count_rows). Redrawn at most 10 times a second, and once more at close.
    """

    WIDTH = 30  # characters of the bar itself

    def __init__(self, total_rows: int, stream: TextIO | None = None, label: str = "analyze"):
        self.total_rows = total_rows
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self._start = time.monotonic()
        self._shown = -float("inf")
        self._rows = 0
        self._status = None
        self._length = 0  # of the last line drawn: a shorter one is padded to cover it

    def consume(self, block: SampleBlock, out: EngineOutput) -> None:
        self._rows += len(block)
        self._status = out.status
        now = time.monotonic()
        if now - self._shown >= PROGRESS_EVERY_S:
            self._shown = now
            self._show(now)

    def _show(self, now: float) -> None:
        done = min(self._rows / self.total_rows, 1.0) if self.total_rows > 0 else 1.0
        elapsed = now - self._start
        filled = round(done * self.WIDTH)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        if done >= 1.0:
            timing = f"took {_clock(elapsed)}"
        elif done > 0:
            timing = f"ETA {_clock(elapsed * (1.0 - done) / done)}"
        else:
            timing = "ETA --:--"
        st = self._status
        text = f"{self.label} [{bar}] {int(done * 100):3d} %  {st.t:.0f} s of session, {st.steps} steps, "
        text += timing
        self.stream.write("\r" + text.ljust(self._length))
        self.stream.flush()
        self._length = len(text)

    def close(self) -> None:
        if self._status is not None:
            self._show(time.monotonic())  # the final numbers, whatever the throttle skipped
            self.stream.write("\n")
            self.stream.flush()


def _clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}:{secs:02d}"
