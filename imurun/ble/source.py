"""BLE as a source: links -> streams -> SampleBlocks on the session clock, until stopped.

Notifications are queued by the BLE callbacks with their arrival time and processed in small
batches (every TICK_S) so that decoding is vectorised and the pipeline gets blocks. A second
(trunk) sensor goes through the same code path; its samples are put on the pelvis sensor's
timestamps by the rule replays follow (imurun.sources.trunk), so that the recordings of a live
run replay to its steps. A `Stage` (the live app's recorder) sees every sensor's samples before
they go on, and may return them changed (as the file stores them).

`blocks()` may run in a worker thread (the dashboard owns the main thread); `stop()` then ends
it from any thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from imurun.ble.link import Link, describe, find_sensor
from imurun.ble.profiles import Profile
from imurun.ble.stream import Samples, SensorStream
from imurun.blocks import SampleBlock
from imurun.errors import ImurunError
from imurun.sources.trunk import TRUNK_GAP_S, TrunkTrack

TICK_S = 0.02
STATUS_EVERY_S = 5.0
# The trunk's samples are taken to arrive at most TRUNK_LAG_S after the pelvis samples of the same
# time: a gap in the trunk's stream is decided once the pelvis clock is that far past it, and pelvis
# samples wait at most TRUNK_WAIT_S for a trunk that has not started yet.
TRUNK_LAG_S = 0.15
TRUNK_WAIT_S = TRUNK_GAP_S + TRUNK_LAG_S
TRUNK_START_S = 1.0  # a trunk sensor's first packets are held this long, to place its clock by them
PELVIS_WAIT_S = 5.0  # ... or this long when the pelvis has not streamed yet (then it starts at 0)


@dataclass
class Sensor:
    """One sensor of the run: its link, stream and what arrived since the last tick."""

    role: str  # "pelvis" | "trunk"
    profile: Profile
    stream: SensorStream
    link: Link | None = None
    inbox: list[tuple[float, bytes]] = field(default_factory=list)

    def take(self) -> tuple[list[bytes], np.ndarray]:
        batch, self.inbox = self.inbox, []
        return [b for _, b in batch], np.fromiter((h for h, _ in batch), np.float64, len(batch))


class Stage(Protocol):
    """What sees each sensor's samples first (the live app's recorder)."""

    def samples(self, sensor: Sensor, s: Samples) -> Samples:
        """Take the samples; return them as they go on (e.g. rounded as a file stores them)."""

    def lost(self, sensor: Sensor, t: float, detail: str) -> None:
        """The sensor's link was lost after session time t."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """A block for the pipeline and the arrival (host time) of each of its samples."""

    block: SampleBlock
    host_t: np.ndarray


class BleSource:
    def __init__(
        self,
        profiles: dict[str, dict[str, Profile]],  # role -> candidate profiles by id
        rate_hz: int | None,
        device: str | None,
        trunk_device: str | None,
        adapter: str | None = None,
        scan_timeout: float = 10.0,
        reconnect_timeout: float = 30.0,
        duration: float | None = None,
        say: Callable[[str], None] = lambda line: print(line, flush=True),
        on_info: Callable[..., None] | None = None,
        stage: Stage | None = None,
    ):
        """`on_info(sensor=..., profile=...)` is told which sensor the pelvis link connected to."""
        self.profiles = profiles
        self.rate_hz = rate_hz
        self.targets = {"pelvis": device, "trunk": trunk_device}
        self.adapter = adapter
        self.scan_timeout = scan_timeout
        self.reconnect_timeout = reconnect_timeout
        self.duration = duration
        self.say = say
        self.on_info = on_info
        self.stage = stage
        self.sensors: list[Sensor] = []
        self.trunk = TrunkTrack() if trunk_device is not None else None
        self._held: Samples | None = None  # pelvis samples not yet delivered
        self._pelvis_host0 = math.inf  # least-delayed host time of pelvis session time 0 (StreamClock.host0)
        self._tasks: list[asyncio.Task] = []
        self._halt = threading.Event()  # stop() was called (possibly before the loop started)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    @property
    def sample_rate_hz(self) -> float:
        """The pelvis sensor's nominal rate (once connected)."""
        return float(self.sensors[0].stream.params["rate_hz"])

    def stop(self) -> None:
        """End the stream as Ctrl-C would (thread-safe): blocks() delivers what arrived and ends."""
        self._halt.set()
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already finished
                loop.call_soon_threadsafe(stop.set)

    @property
    def stop_event(self) -> asyncio.Event:
        """Set to stop (from this event loop's thread, e.g. a signal handler)."""
        if self._stop is None:
            self._stop, self._loop = asyncio.Event(), asyncio.get_running_loop()
            if self._halt.is_set():
                self._stop.set()
        return self._stop

    # -- set-up -----------------------------------------------------------------------------------

    async def open(self) -> bool:
        """Find and start each sensor's link; False if stopped first."""
        return await _unless_stopped(self._connect_all(), self.stop_event)

    async def _connect_all(self) -> None:
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
            sensor = Sensor(role, profile, SensorStream(profile, rate))
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
            self._tasks.append(asyncio.create_task(sensor.link.run(self.stop_event), name=role))

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
            # Packets that arrived before the loss belong before it: process them first, or they
            # would land after it, close the outage early and hide its missing samples.
            self._drain(sensor, final=True)
            sensor.stream.clock.outage()
            t = sensor.stream.clock.last_t
            self.say(f"{sensor.role}: link lost at t={t:.2f} s ({detail}); reconnecting")
            if self.stage is not None:
                self.stage.lost(sensor, t, detail)

    # -- stream -----------------------------------------------------------------------------------

    async def blocks(self) -> AsyncIterator[Delivery]:
        """Every TICK_S, the blocks that are ready, until stopped (or `duration` of session time);
        then what arrived while stopping. A link's error is raised here."""
        stop = self.stop_event
        pelvis = self.sensors[0]
        next_status = time.monotonic() + STATUS_EVERY_S
        while not stop.is_set():
            for task in self._tasks:
                if task.done() and task.exception() is not None:
                    raise task.exception()
            await asyncio.sleep(TICK_S)
            for delivery in self.tick():
                yield delivery
            if time.monotonic() >= next_status:
                next_status += STATUS_EVERY_S
                self.say(self.status_line())
            if self.duration is not None and pelvis.stream.clock.last_t >= self.duration:
                stop.set()
        for delivery in self.tick(final=True):
            yield delivery

    async def close(self) -> None:
        """Stop and wait for every link to disconnect."""
        self.stop_event.set()
        for task in self._tasks:
            try:
                await task
            except Exception:  # already reported by blocks(), or we are stopping anyway
                pass

    def tick(self, final: bool = False) -> list[Delivery]:
        """Decode what arrived; the pelvis samples that are ready, as blocks. `final`: everything
        (nothing more will come)."""
        for sensor in self.sensors:
            self._drain(sensor, final)
        held = self._held
        if held is None or not len(held):
            return []
        n = self._ready(held, final)
        if n == 0:
            return []
        self._held = Samples(*(x[n:] for x in _fields(held)))
        block = SampleBlock(held.t[:n], held.acc[:n], held.gyr[:n])
        parts = [block] if self.trunk is None else self.trunk.attach(block)
        ends = np.cumsum([len(p) for p in parts])
        return [Delivery(p, held.host_t[e - len(p) : e]) for p, e in zip(parts, ends, strict=True)]

    def _ready(self, held: Samples, final: bool) -> int:
        """How many held pelvis samples can go: all without a trunk sensor; with one, those the
        trunk rule (imurun.sources.trunk) has decided: before the trunk's first sample, covered by
        its samples, or in a gap: the pelvis clock TRUNK_GAP_S + TRUNK_LAG_S past the trunk's last
        sample, and the pelvis sample TRUNK_LAG_S back, where any trunk sample would have come.
        Before the trunk streams, a pelvis sample waits TRUNK_WAIT_S for it (TRUNK_START_S more
        while its first packets are held to place its clock), then goes on alone."""
        if self.trunk is None or final:
            return len(held)
        now = self.sensors[0].stream.clock.last_t
        track = self.trunk
        if math.isnan(track.first_t):
            trunk = self.sensors[1] if len(self.sensors) > 1 else None
            starting = trunk is not None and bool(trunk.inbox)
            ready = now - held.t > TRUNK_WAIT_S + (TRUNK_START_S if starting else 0.0)
        else:
            in_gap = now > track.last_t + TRUNK_WAIT_S  # or past the trunk's end: its last sample is held
            placed = (held.t <= track.last_t) | (held.t < track.first_t)
            ready = placed | (in_gap & (held.t <= now - TRUNK_LAG_S))
        return len(held) if ready.all() else int(np.argmin(ready))

    def _drain(self, sensor: Sensor, final: bool = False) -> None:
        """Decode what the sensor's inbox holds and hand it to the stage; the samples then wait to
        be delivered. `final`: nothing more may come before what is held must go on (link lost,
        stopping)."""
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
        if self.stage is not None:
            s = self.stage.samples(sensor, s)
        if sensor.role == "trunk":
            self.trunk.add(SampleBlock(s.t, s.acc, s.gyr))
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
