"""The live pipeline: links -> streams -> session files + engine -> sinks, until stopped.

Notifications are queued by the BLE callbacks with their arrival time and processed in small
batches (every TICK_S) so that decoding is vectorised and the engine sees blocks. A second
(trunk) sensor goes through the same code path; its samples are recorded to their own file and
interpolated onto the pelvis sensor's timestamps for the engine.

`run()` may run in a worker thread (the dashboard owns the main thread); `stop()` then ends it
from any thread, and Ctrl-C / SIGTERM are the caller's to route there.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from imurun.ble.link import Link, describe, find_sensor
from imurun.ble.stream import Samples, SensorStream
from imurun.blocks import SampleBlock
from imurun.errors import ImurunError
from imurun.profiles import Profile

TICK_S = 0.02
STATUS_EVERY_S = 5.0
TRUNK_WAIT_S = 0.25  # pelvis samples wait this long for trunk samples that cover them
TRUNK_START_S = 1.0  # a trunk sensor's first packets are held this long, to place its clock by them
PELVIS_WAIT_S = 5.0  # ... or this long when the pelvis has not streamed yet (then it starts at 0)
LATENCY_KEEP = 200_000  # notification -> sinks done, per sample: kept for the p50/p99 report


@dataclass
class Sensor:
    """One sensor of the run: its link, stream, file and what arrived since the last tick."""

    role: str  # "pelvis" | "trunk"
    profile: Profile
    stream: SensorStream
    path: Path
    link: Link | None = None
    inbox: list[tuple[float, bytes]] = field(default_factory=list)
    writer: Any = None
    outage_note: str = ""  # set while the link is down; written at the next sample

    def take(self) -> tuple[list[bytes], np.ndarray]:
        batch, self.inbox = self.inbox, []
        return [b for _, b in batch], np.fromiter((h for h, _ in batch), np.float64, len(batch))


class LiveRun:
    def __init__(
        self,
        profiles: dict[str, dict[str, Profile]],  # role -> candidate profiles by id
        rate_hz: int | None,
        device: str | None,
        trunk_device: str | None,
        out: Path,
        trunk_out: Path | None,
        sinks: list[Any],
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
        self.profiles = profiles
        self.rate_hz = rate_hz
        self.targets = {"pelvis": device, "trunk": trunk_device}
        self.paths = {"pelvis": out, "trunk": trunk_out}
        self.sinks = sinks
        self.adapter = adapter
        self.scan_timeout = scan_timeout
        self.reconnect_timeout = reconnect_timeout
        self.duration = duration
        self.placement = placement
        self.say = say
        self.emit_signals = emit_signals
        self.on_info = on_info
        self.sensors: list[Sensor] = []
        self.engine: Any = None
        self.latency: list[np.ndarray] = []
        self._latency_n = 0
        self._trunk_buf: Samples | None = None
        self._held: Samples | None = None
        self._pelvis_host0 = math.inf  # least-delayed host time of pelvis session time 0 (StreamClock.host0)
        self._halt = threading.Event()  # stop() was called (possibly before run() started)
        self._recalibrate = threading.Event()  # recalibrate() was called; the engine thread acts
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    def stop(self) -> None:
        """End the run as Ctrl-C would (thread-safe); run() then closes everything and returns 0."""
        self._halt.set()
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already finished
                loop.call_soon_threadsafe(stop.set)

    def recalibrate(self) -> None:
        """Take the standing baseline again (thread-safe; the dashboard's Recalibrate): from the
        next standing-still period of the engine's standing_s, e.g. after the sensor was re-clipped.
        """
        self._recalibrate.set()

    # -- set-up -----------------------------------------------------------------------------------

    async def _connect_all(self, stop: asyncio.Event, tasks: list[asyncio.Task]) -> None:
        """Find and start each sensor's link; `tasks` gets each link's task as it starts."""
        for role in ("pelvis", "trunk"):
            if role == "trunk" and self.targets["trunk"] is None:
                continue
            target, candidates = self.targets[role], self.profiles[role]
            hit = await find_sensor(candidates, target, self.adapter, self.scan_timeout)
            if hit is None:
                only = next(iter(candidates.values())) if len(candidates) == 1 else None
                raise ImurunError(f"no {describe(target, only)} found within {self.scan_timeout:g} s")
            device, profile = hit
            rate = self._rate(profile)
            sensor = Sensor(role, profile, SensorStream(profile, rate), self.paths[role])
            sensor.link = Link(
                device,
                profile,
                rate,
                self.adapter,
                on_data=lambda h, d, s=sensor: s.inbox.append((h, d)),
                on_response=sensor.stream.response,
                on_event=lambda kind, detail, s=sensor: self._event(s, kind, detail),
                reconnect_timeout=self.reconnect_timeout,
            )
            self.sensors.append(sensor)
            tasks.append(asyncio.create_task(sensor.link.run(stop), name=role))

    def _rate(self, profile: Profile) -> int:
        if self.rate_hz is None:
            return profile.default_rate_hz
        if self.rate_hz not in profile.rates_hz:
            rates = ", ".join(str(r) for r in profile.rates_hz)
            raise ImurunError(f"{profile.name} cannot stream at {self.rate_hz} Hz (supported: {rates})")
        return self.rate_hz

    def _event(self, sensor: Sensor, kind: str, detail: str) -> None:
        if kind == "connected":
            self.say(f"{sensor.role}: connected to {detail}, streaming {sensor.profile.id}")
            if "gyr" not in sensor.profile.channels:
                self.say(f"{sensor.role}: {sensor.profile.name} has no gyroscope: steps, cadence, contact "
                         "time and bounce only; no pelvic drop, rotation or left/right")
            if sensor.role == "pelvis" and self.on_info is not None:
                self.on_info(sensor=detail, profile=sensor.profile.id)
        elif kind == "lost":
            # Packets that arrived before the loss belong before the note: process them first, or
            # they would land after it, close the outage early and hide its missing samples.
            self._drain(sensor, final=True)
            sensor.stream.clock.outage()
            t = sensor.stream.clock.last_t
            self.say(f"{sensor.role}: link lost at t={t:.2f} s ({detail}); reconnecting")
            if sensor.writer is not None and not sensor.outage_note:  # one note per outage
                sensor.writer.note(t, f"link lost: {detail}")
                sensor.outage_note = "link restored"

    # -- run --------------------------------------------------------------------------------------

    async def run(self) -> int:
        from imurun.core.engine import Engine

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        self._stop, self._loop = stop, loop
        if self._halt.is_set():
            stop.set()
        # Signal handlers can only be set from the main thread; in a worker the caller routes
        # Ctrl-C to stop().
        in_main = threading.current_thread() is threading.main_thread()
        signals = (signal.SIGINT, signal.SIGTERM) if in_main else ()
        for sig in signals:
            loop.add_signal_handler(sig, stop.set)
        tasks: list[asyncio.Task] = []
        # Compile (or load) the numba kernels before any link exists: a JIT stall inside the BLE
        # event loop would look like a silent sensor.
        Engine().process(np.zeros(1), np.zeros((1, 3)), np.zeros((1, 3)))
        try:
            if not await _unless_stopped(self._connect_all(stop, tasks), stop):
                return 0  # stopped while looking for the sensor
            pelvis = self.sensors[0]
            rate = float(pelvis.stream.params["rate_hz"])
            self.engine = Engine(sample_rate_hz=rate, emit_signals=self.emit_signals)
            next_status = time.monotonic() + STATUS_EVERY_S
            while not stop.is_set():
                for task in tasks:
                    if task.done() and task.exception() is not None:
                        raise task.exception()
                await asyncio.sleep(TICK_S)
                self._tick()
                if time.monotonic() >= next_status:
                    next_status += STATUS_EVERY_S
                    self.say(self.status_line())
                if self.duration is not None and pelvis.stream.clock.last_t >= self.duration:
                    stop.set()
            self._tick(final=True)  # what arrived while stopping
            return 0
        finally:
            stop.set()
            for task in tasks:
                try:
                    await task
                except Exception:  # already reported above, or we are stopping anyway
                    pass
            for sig in signals:
                loop.remove_signal_handler(sig)
            self._close()

    def _tick(self, final: bool = False) -> None:
        if self._recalibrate.is_set() and self.engine is not None:
            self._recalibrate.clear()
            self.engine.recalibrate()
            self.say(f"calibration: stand tall and still for {self.engine.config.standing_s:g} s to take the "
                     "standing baseline again")
        for sensor in self.sensors:
            self._drain(sensor, final)
        if self._held is not None and len(self._held):
            self._feed_engine(self.sensors[0])

    def _drain(self, sensor: Sensor, final: bool = False) -> None:
        """Decode and record what the sensor's inbox holds; its samples wait for the engine.
        `final`: nothing more may come before what is held must be written (link lost, stopping)."""
        starting = sensor.role == "trunk" and sensor.stream.counters.samples == 0
        if starting and not self._trunk_starts(sensor, final):
            return  # its first packets wait in the inbox
        packets, host = sensor.take()
        if not packets:
            return
        s = sensor.stream.feed(packets, host)
        if len(s) == 0:
            return
        if sensor.role == "pelvis":
            self._pelvis_host0 = min(self._pelvis_host0, float(np.min(s.host_t - s.t)))
        s = self._record(sensor, s)
        if sensor.role == "trunk":
            self._trunk_buf = _join(self._trunk_buf, s)
        else:
            self._held = _join(self._held, s)

    def _trunk_starts(self, sensor: Sensor, final: bool) -> bool:
        """Whether the trunk stream can start now, on the pelvis clock: once its held packets span
        TRUNK_START_S, its least-delayed one places it (one packet's delay was up to 40 ms on a
        busy host, 2 cores). A pelvis that has not streamed for PELVIS_WAIT_S leaves it at 0."""
        if not sensor.inbox:
            return False
        span = sensor.inbox[-1][0] - sensor.inbox[0][0]
        pelvis = math.isfinite(self._pelvis_host0)
        if final or span >= (TRUNK_START_S if pelvis else PELVIS_WAIT_S):
            if pelvis:
                sensor.stream.clock.host0 = self._pelvis_host0
            return True
        return False

    def _record(self, sensor: Sensor, s: Samples) -> Samples:
        """Write the samples; return them as the file holds them (what the engine gets)."""
        from imurun.ble.recording import as_written

        if sensor.writer is None:
            sensor.writer = self._open_writer(sensor)
        if sensor.outage_note:
            sensor.writer.note(float(s.t[0]), sensor.outage_note)
            sensor.outage_note = ""
        extra = {"device_t": s.device_t} if sensor.profile.clock == "device" else None
        sensor.writer.write(s.t, s.acc, s.gyr, extra=extra)
        return Samples(*as_written(sensor.writer, s.t, s.acc, s.gyr), s.device_t, s.host_t)

    def _open_writer(self, sensor: Sensor) -> Any:
        from imurun.ble.recording import open_session

        sensor.path.parent.mkdir(parents=True, exist_ok=True)
        device = f"{sensor.profile.name} {sensor.link.name if sensor.link else ''} ({sensor.profile.id})"
        placement = self.placement if sensor.role == "pelvis" else "upper-back"
        self.say(f"{sensor.role}: recording to {sensor.path}")
        rate = float(sensor.stream.params["rate_hz"])
        device_time = sensor.profile.clock == "device"
        return open_session(sensor.path, device, placement, rate, sensor.profile.id, device_time)

    def _feed_engine(self, pelvis: Sensor) -> None:
        held = self._held
        trunk = self._trunk_buf
        use_trunk = trunk is not None and len(trunk) > 1
        if use_trunk:
            covered = held.t <= trunk.t[-1]
            waited = pelvis.stream.clock.last_t - held.t > TRUNK_WAIT_S
            ready = covered | waited
            n = int(np.argmin(ready)) if not ready.all() else len(held)
        else:
            n = len(held) if len(self.sensors) == 1 or self._trunk_lagging(held) else 0
        if n == 0:
            return
        block, self._held = _split(held, n)
        tacc = tgyr = None
        if use_trunk:
            tacc = _interp(block.t, trunk.t, trunk.acc)
            tgyr = _interp(block.t, trunk.t, trunk.gyr)
            keep = trunk.t >= block.t[-1] - 1.0
            self._trunk_buf = _take(trunk, keep)
        out = self.engine.process(block.t, block.acc, block.gyr, trunk_acc=tacc, trunk_gyr=tgyr)
        sample_block = SampleBlock(block.t, block.acc, block.gyr)
        for sink in self.sinks:
            sink.consume(sample_block, out)
        self._note_latency(time.monotonic() - block.host_t)  # until every sink has the output

    def _trunk_lagging(self, held: Samples) -> bool:
        """No trunk data yet: feed the pelvis alone once it waited TRUNK_WAIT_S."""
        return self.sensors[0].stream.clock.last_t - held.t[0] > TRUNK_WAIT_S

    def _note_latency(self, lat: np.ndarray) -> None:
        if self._latency_n < LATENCY_KEEP:
            self.latency.append(lat)
            self._latency_n += len(lat)

    def status_line(self) -> str:
        parts = []
        for s in self.sensors:
            c, clk = s.stream.counters, s.stream.clock
            total = c.samples + clk.lost
            loss = 100.0 * clk.lost / total if total else 0.0
            drift = f"{clk.drift.ppm:+.0f} ppm" if math.isfinite(clk.drift.ppm) else "n/a"
            reconnects = s.link.reconnects if s.link else 0
            parts.append(
                f"{s.role}: t={clk.last_t:.1f} s samples {c.samples} lost {clk.lost} ({loss:.2f} %) "
                f"gaps {clk.gaps} malformed {c.malformed} drift {drift} reconnects {reconnects}"
                + (f" repeated {c.repeated}" if c.repeated else "")
            )
        return "status " + " | ".join(parts)

    def _close(self) -> None:
        if self.sensors:
            self.say(self.status_line())
        for sink in self.sinks:
            sink.close()
        for s in self.sensors:
            if s.writer is not None:
                repeated = s.stream.counters.repeated
                if repeated:
                    s.writer.note(s.stream.clock.last_t, f"repeated notifications dropped: {repeated}")
                s.writer.close()
                self.say(f"{s.role}: {s.stream.counters.samples} samples saved to {s.path}")


async def _unless_stopped(work: Any, stop: asyncio.Event) -> bool:
    """Await `work` unless `stop` is set first (then cancel it): True if it finished."""
    job, stopped = asyncio.ensure_future(work), asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait((job, stopped), return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    if not job.done():
        job.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await job
        return False
    job.result()  # its error, if any
    return True


def _join(a: Samples | None, b: Samples) -> Samples:
    if a is None or len(a) == 0:
        return b
    return Samples(*(np.concatenate([x, y]) for x, y in zip(_fields(a), _fields(b), strict=True)))


def _fields(s: Samples) -> tuple[np.ndarray, ...]:
    return (s.t, s.acc, s.gyr, s.device_t, s.host_t)


def _split(s: Samples, n: int) -> tuple[Samples, Samples]:
    return Samples(*(x[:n] for x in _fields(s))), Samples(*(x[n:] for x in _fields(s)))


def _take(s: Samples, rows: np.ndarray) -> Samples:
    return Samples(*(x[rows] for x in _fields(s)))


def _interp(t: np.ndarray, tt: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.column_stack([np.interp(t, tt, v[:, k]) for k in range(3)])
