"""A long live run at accelerated pace: `imurun run`'s pipeline (LiveRun, in this process, with
the real bleak client) against a virtual imurun-nus sensor on the fake BlueZ, which drops the link
every `drop_every` seconds. Used by benchmarks/bench_soak.py (2 h) and tests/test_ble_soak.py
(a few minutes).

Accelerated pace: the sensor plays its recording `pace` times faster than real time, and the
run's host clock (time.monotonic in imurun.ble.link, imurun.ble.source and imurun.live.app) runs
`pace` times faster too, so that device and host clocks still agree (drift estimate, outage
bridging, status every 5 s of session time). The silence timeout stays at 2 s of real time: a
scheduling hiccup of 0.2 s on a shared machine is not a lost link. Everything else, bleak, D-Bus,
decoding, the clock, the engine, the recorder and the coach, runs as in a real run, only faster.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
import time
import types
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bluez.harness import HERE, FakeBluez
from bluez.session_check import read_recording

RATE = 200
NAME = "imurun soak"


@dataclass
class SoakResult:
    seconds: float  # session seconds recorded (last t)
    wall_s: float
    samples: int
    lost: int  # counted by the clock
    lost_outside_outages: int  # samples missing where no outage note brackets the gap
    outages: int  # link drops the sensor made
    noted_outages: int  # "link lost" / "link restored" note pairs that bracket a gap
    unnoted_gaps: int
    resets: int  # device clock restarts the clock saw (the sensor's clock never restarts)
    repeated: int
    ended: str  # "" when the run reached its duration, else why it stopped
    rss: list[tuple[float, float]] = field(default_factory=list)  # (session s, MiB)
    notes: list[tuple[float, str]] = field(default_factory=list)


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextlib.contextmanager
def host_clock_paced(pace: float):
    """time.monotonic of the live modules runs `pace` times faster; silence allows 2 real s."""
    from imurun.ble import link, source
    from imurun.live import app

    start = time.monotonic()
    paced = types.SimpleNamespace(monotonic=lambda: start + (time.monotonic() - start) * pace)
    saved = (link.time, source.time, app.time, link.SILENCE_S)
    link.time = source.time = app.time = paced
    link.SILENCE_S = 2.0 * pace
    try:
        yield
    finally:
        link.time, source.time, app.time, link.SILENCE_S = saved


def soak(
    workdir: Path, seconds: float, pace: float, drop_every: float, rss_every: float = 60.0
) -> SoakResult:
    """Run `seconds` of session time; the sensor drops the link at drop_every, 2 drop_every, ..."""
    from imurun.ble.profiles import load_profiles
    from imurun.coach.profile import load_profile
    from imurun.coach.sink import CoachSink
    from imurun.errors import ImurunError
    from imurun.live.app import LiveRun
    from imurun.live.run import build_sinks

    profile = load_profiles()["imurun-nus"]
    drops = np.arange(drop_every, seconds, drop_every) if drop_every else np.empty(0)
    out = workdir / "soak.csv"
    with FakeBluez(workdir) as fb, open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = fb.address
        drop_args = [a for t in drops for a in ("--drop-at", f"{t:g}")]  # recording time = session time
        sensor = fb.start(
            sys.executable, str(HERE / "virtual_sensor.py"), "--profile", profile.id, "--adapter", "hci1",
            "--name", NAME, "--seconds", f"{seconds + 60:g}", "--pace", f"{pace:g}", *drop_args,
            log="sensor.log",
        )
        coach = CoachSink(load_profile(), cue_log=workdir / "soak.cues.csv")  # text only: no sound
        log = open(workdir / "run.log", "w")  # noqa: SIM115  (closed below)

        def say(line: str) -> None:
            log.write(f"{time.monotonic() - t0:9.3f} {line}\n")
            log.flush()

        t0 = time.monotonic()
        run = LiveRun(
            {"pelvis": {profile.id: profile}, "trunk": {}}, RATE, NAME, None, out, None,
            build_sinks(coach, None), adapter="hci0", scan_timeout=600.0,
            reconnect_timeout=60.0 * pace, duration=seconds, say=say,
        )
        rss: list[tuple[float, float]] = []
        done = threading.Event()

        def sample_rss() -> None:
            next_t = 0.0
            while not done.wait(0.2):
                t = run.sensors[0].stream.clock.last_t if run.sensors else float("nan")
                if t >= next_t:
                    rss.append((t, rss_mib()))
                    next_t += rss_every

        sampler = threading.Thread(target=sample_rss, daemon=True)
        sampler.start()
        ended = ""
        try:
            with host_clock_paced(pace):
                asyncio.run(run.run())
        except ImurunError as exc:  # the sensor gone: what was recorded up to then still counts
            code = sensor.poll()
            ended = f"{exc} (virtual sensor process: {'running' if code is None else f'exit code {code}'})"
        finally:
            done.set()
            sampler.join()
            log.close()
        wall = time.monotonic() - t0
    data, notes = read_recording(out)
    drops_made = int((drops < data["t"][-1]).sum())
    return _check(data, notes, run, drops_made, rss, wall, ended)


def _check(data, notes, run, drops: int, rss, wall: float, ended: str) -> SoakResult:
    t = data["t"]
    gap = np.flatnonzero(np.diff(t) > 1.5 / RATE)  # a gap lies between t[i] and t[i + 1]
    lost_at = {round(nt, 6) for nt, text in notes if text.startswith("link lost")}
    back_at = {round(nt, 6) for nt, text in notes if text == "link restored"}
    noted = [i for i in gap if round(t[i], 6) in lost_at and round(t[i + 1], 6) in back_at]
    unnoted = [i for i in gap if i not in noted]
    missing = np.rint(np.diff(t)[unnoted] * RATE).astype(int) - 1
    stream = run.sensors[0].stream
    return SoakResult(
        seconds=float(t[-1]),
        wall_s=wall,
        samples=len(t),
        lost=stream.clock.lost,
        lost_outside_outages=int(missing.sum()),
        outages=drops,
        noted_outages=len(noted),
        unnoted_gaps=len(unnoted),
        resets=stream.clock.resets,
        repeated=stream.counters.repeated,
        ended=ended,
        rss=rss,
        notes=notes,
    )
