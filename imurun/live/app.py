"""The live run's loop: the BLE source, the recorder stage, and one Pipeline into the sinks.

`run()` may run in a worker thread (the dashboard owns the main thread); `stop()` then ends it
from any thread, and Ctrl-C / SIGTERM are the caller's to route there.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from imurun.ble.profiles import Profile
from imurun.ble.source import BleSource, Sensor
from imurun.core.jitcache import compile_engine
from imurun.live.recorder import Recorder
from imurun.pipeline import Pipeline, close_sinks, make_engine
from imurun.sinks import Sink

LATENCY_KEEP = 200_000  # notification -> sinks done, per sample: kept for the p50/p99 report


class LiveRun:
    def __init__(
        self,
        profiles: dict[str, dict[str, Profile]],  # role -> candidate profiles by id
        rate_hz: int | None,
        device: str | None,
        trunk_device: str | None,
        out: Path,
        trunk_out: Path | None,
        sinks: list[Sink],
        adapter: str | None = None,
        scan_timeout: float = 10.0,
        reconnect_timeout: float = 30.0,
        duration: float | None = None,
        placement: str = "sacrum",
        say: Callable[[str], None] = lambda line: print(line, flush=True),
        emit_signals: bool = False,
        on_info: Callable[..., None] | None = None,
    ):
        """`emit_signals`: the engine also emits per-sample traces (for the dashboard);
        `on_info(sensor=..., profile=...)` is told which sensor the pelvis link connected to."""
        self.recorder = Recorder({"pelvis": out, "trunk": trunk_out}, placement, say)
        self.source = BleSource(profiles, rate_hz, device, trunk_device, adapter, scan_timeout,
                                reconnect_timeout, duration, say, on_info, stage=self.recorder)
        self.sinks = sinks
        self.say = say
        self.emit_signals = emit_signals
        self.pipeline: Pipeline | None = None  # made once the pelvis sensor's rate is known
        self.latency: list[np.ndarray] = []
        self._latency_n = 0
        self._recalibrate = threading.Event()  # recalibrate() was called; the engine thread acts

    @property
    def sensors(self) -> list[Sensor]:
        return self.source.sensors

    def stop(self) -> None:
        """End the run as Ctrl-C would (thread-safe); run() then closes everything and returns 0."""
        self.source.stop()

    def recalibrate(self) -> None:
        """Take the standing baseline again (thread-safe; the dashboard's Recalibrate): from the
        next standing-still period of the engine's standing_s, e.g. after the sensor was re-clipped.
        """
        self._recalibrate.set()

    def status_line(self) -> str:
        return self.source.status_line()

    async def run(self) -> int:
        stop = self.source.stop_event
        loop = asyncio.get_running_loop()
        # Signal handlers can only be set from the main thread; in a worker the caller routes
        # Ctrl-C to stop().
        in_main = threading.current_thread() is threading.main_thread()
        signals = (signal.SIGINT, signal.SIGTERM) if in_main else ()
        for sig in signals:
            loop.add_signal_handler(sig, stop.set)
        compile_engine()  # before any link exists
        finished = False
        try:
            if not await self.source.open():
                return 0  # stopped while looking for the sensor
            engine = make_engine(self.source.sample_rate_hz, signals=self.emit_signals)
            self.pipeline = Pipeline(engine, self.sinks)
            async for delivery in self.source.blocks():
                self._recalibrate_if_asked()
                self.pipeline.feed(delivery.block)
                self._note_latency(time.monotonic() - delivery.host_t)  # until every sink has it
            finished = True
            return 0
        finally:
            try:
                await self.source.close()
            finally:
                for sig in signals:
                    loop.remove_signal_handler(sig)
                self._close(finished)

    def _recalibrate_if_asked(self) -> None:
        if self._recalibrate.is_set() and self.pipeline is not None:
            self._recalibrate.clear()
            engine = self.pipeline.engine
            engine.recalibrate()
            self.say(f"calibration: stand tall and still for {engine.config.standing_s:g} s to take the "
                     "standing baseline again")

    def _note_latency(self, lat: np.ndarray) -> None:
        if self._latency_n < LATENCY_KEEP:
            self.latency.append(lat)
            self._latency_n += len(lat)

    def _close(self, finished: bool) -> None:
        """The status, the steps still owed (when the stream ended normally), the sinks closed, then
        the recordings."""
        if self.sensors:
            self.say(self.status_line())
        try:
            if self.pipeline is not None:
                self.pipeline.close(finish=finished)
            else:
                close_sinks(self.sinks)
        finally:
            self.recorder.close(self.sensors)


