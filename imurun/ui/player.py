"""Player: streams a recorded session through the engine in a worker thread, paced like a live run.

`open_blocks()` gives the session's blocks as imurun.sources.replay.replay_blocks does at
speed=inf; the player does the pacing itself, and runs each pass through a Pipeline.

Controls (pause, resume, speed, seek, stop) may be called from any thread, typically the Qt one;
they only set flags under a condition variable, so the GUI never waits for the engine. A block is
released when the session time of its last sample is due on the wall clock (as a sensor would
deliver it), at 1x, 2x, 5x or as fast as the engine goes (speed = inf).

A jump forward runs the engine unpaced up to the target. A jump back restarts the engine from the
start (it is deterministic, so it recomputes exactly the same steps) and fast-forwards; the other
sinks (coach, recorder, ...) see every block once and in order, never the re-run.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from imurun.blocks import SampleBlock
from imurun.core.output import EngineOutput
from imurun.pipeline import Pipeline, check_order
from imurun.sinks import Sink
from imurun.ui.feed import DashboardFeed

if TYPE_CHECKING:
    from imurun.core.engine import Engine

SPEEDS = (1.0, 2.0, 5.0, math.inf)


class Player(threading.Thread):
    def __init__(
        self,
        open_blocks: Callable[[], Iterable[SampleBlock]],
        make_engine: Callable[[], Engine],
        feed: DashboardFeed,
        sinks: Sequence[Sink] = (),
        speed: float = 1.0,
    ):
        super().__init__(name="imurun-player", daemon=True)
        self._open_blocks = open_blocks
        self._make_engine = make_engine
        self._feed = feed
        self._once = _FirstPass(sinks)
        self._cond = threading.Condition()
        self._speed = speed
        self._paused = False
        self._stopped = False
        self._seek_to: float | None = None
        self._fast_until: float | None = None  # run unpaced until blocks reach this time
        self._t = 0.0  # session time of the last block processed
        self._anchor = (0.0, 0.0)  # (session time, monotonic wall time) that pacing counts from
        self.finished = threading.Event()  # the whole session has been processed at least once
        self.error: BaseException | None = None

    # -- controls (any thread) -----------------------------------------------------------------
    @property
    def t(self) -> float:
        return self._t

    @property
    def speed(self) -> float:
        return self._speed

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        with self._cond:
            self._paused = True
            self._cond.notify_all()
        self._show_state()

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._reanchor()
            self._cond.notify_all()
        self._show_state()

    def set_speed(self, speed: float) -> None:
        if not speed > 0:
            raise ValueError("speed must be > 0")
        with self._cond:
            self._speed = speed
            self._reanchor()
            self._cond.notify_all()
        self._show_state()

    def seek(self, t: float) -> None:
        with self._cond:
            self._seek_to = max(0.0, float(t))
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    # -- worker -------------------------------------------------------------------------------
    def run(self) -> None:
        try:
            self._play()
        except BaseException as exc:  # noqa: BLE001 - shown in the window, re-raised by the caller
            self.error = exc
            self._feed.set_info(state=f"replay stopped: {exc}")
        finally:
            self._once.close()
            self.finished.set()

    def _play(self) -> None:
        first = True
        while True:
            if not first:
                self._feed.restart()
            first = False
            pipeline = Pipeline(self._make_engine(), [self._feed, self._once.rewind()])
            with self._cond:
                self._reanchor()
            for block in self._open_blocks():
                if not len(block):
                    continue
                if not self._wait_turn(block):
                    break
                pipeline.feed(block)
                self._t = float(block.t[-1])
            else:
                pipeline.close()  # the steps the engine still owes; the other sinks are closed once
                self.finished.set()
                self._feed.set_info(state="end of recording")
                if not self._wait_for_seek():
                    return
            with self._cond:
                if self._stopped:
                    return

    def _wait_turn(self, block: SampleBlock) -> bool:
        """Wait until `block` is due; False to abandon this pass (stop, or a jump back)."""
        with self._cond:
            while True:
                if self._stopped:
                    return False
                if self._seek_to is not None:
                    target, self._seek_to = self._seek_to, None
                    self._fast_until = target
                    if target < self._t:
                        return False
                if self._fast_until is not None:
                    if block.t[-1] < self._fast_until:
                        return True
                    self._fast_until = None
                    self._t = float(block.t[0])
                    self._reanchor()
                if self._paused:
                    self._cond.wait()
                    continue
                if math.isinf(self._speed):
                    return True
                t_anchor, wall_anchor = self._anchor
                delay = wall_anchor + (float(block.t[-1]) - t_anchor) / self._speed - time.monotonic()
                if delay <= 0:
                    return True
                self._cond.wait(delay)

    def _wait_for_seek(self) -> bool:
        """At the end of the recording: stay until a jump back (True) or stop (False)."""
        with self._cond:
            while not self._stopped and self._seek_to is None:
                self._cond.wait()
            self._fast_until, self._seek_to = self._seek_to, None
            return not self._stopped

    def _reanchor(self) -> None:
        self._anchor = (self._t, time.monotonic())

    def _show_state(self) -> None:
        speed = "max" if math.isinf(self._speed) else f"{self._speed:g}x"
        self._feed.set_info(state=f"replay {speed}" + (" (paused)" if self._paused else ""))


class _FirstPass:
    """Sink: hands the player's other sinks (coach, recorder, ...) each block once, in order.

    A jump back replays the same blocks (the engine is deterministic); they are counted, and only
    those past the furthest one already handed on go through."""

    def __init__(self, sinks: Sequence[Sink]):
        check_order(sinks)
        self._sinks = list(sinks)
        self._index = -1  # of the block being handed on in this pass
        self._sent = -1  # the furthest block handed on in any pass
        self._closed = False

    def rewind(self) -> _FirstPass:
        self._index = -1
        return self

    def consume(self, block: SampleBlock, out: EngineOutput) -> None:
        self._index += 1
        if self._index > self._sent:
            self._sent = self._index
            for sink in self._sinks:
                sink.consume(block, out)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            for sink in self._sinks:
                sink.close()
