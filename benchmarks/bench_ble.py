"""BLE ingestion cost at 200 Hz: notification-to-sinks latency (p50/p99) and CPU use.

Runs the real bleak client (imurun's live pipeline, in this process) against the virtual sensor
on the fake BlueZ of the tests (private dbus-daemon + bluezoo), for each profile that streams at
200 Hz, with the sinks of `imurun run` (step lines, the coach with its cue log, the dashboard
feed; the engine emitting the dashboard's traces), and reports:
- latency: host arrival of a notification -> every sink has its samples' engine output
  (includes the 20 ms batching tick of the live loop);
- CPU: CPU seconds per wall second of this process (bleak + decode + clock + engine + recorder +
  coach + feed), and of the fake BlueZ and virtual sensor processes (test scaffolding, shown for
  context). Drawing and sound are not included: they run on their own threads (Qt, PortAudio);
  benchmarks/bench_dashboard.py measures drawing.
Writes the "BLE" section of benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/bench_ble.py [--seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(Path(__file__).resolve().parent)]

from bluez.harness import FakeBluez, available  # noqa: E402
from common import machine, table, write_section  # noqa: E402

from imurun.ble.profiles import load_profiles  # noqa: E402
from imurun.coach.profile import load_profile  # noqa: E402
from imurun.coach.sink import CoachSink  # noqa: E402
from imurun.live.app import LiveRun  # noqa: E402
from imurun.live.run import build_sinks  # noqa: E402
from imurun.ui.feed import DashboardFeed  # noqa: E402

PROFILES = ("imurun-nus", "witmotion-wt901ble", "polar-h10")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench(profile_id: str, seconds: float, workdir: Path) -> list[object]:
    profiles = load_profiles()
    with FakeBluez(workdir) as fb, open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = fb.address
        sensor = fb.start(
            sys.executable,
            str(ROOT / "tests/bluez/virtual_sensor.py"),
            "--profile",
            profile_id,
            "--seconds",
            str(seconds + 30),
            log="sensor.log",
        )
        time.sleep(1.0)
        coach = CoachSink(load_profile(), cue_log=workdir / "bench.cues.csv")  # text only: no sound device
        feed = DashboardFeed()
        run = LiveRun(
            {"pelvis": {profile_id: profiles[profile_id]}, "trunk": {}},
            200,
            None,
            None,
            workdir / "bench.csv",
            None,
            build_sinks(coach, feed),  # as `imurun run` builds them; console lines go to devnull
            adapter="hci0",
            duration=seconds,
            say=lambda _line: None,
            emit_signals=True,
            on_info=feed.set_info,
        )
        zoo = fb.procs[1].pid
        c0 = (
            resource.getrusage(resource.RUSAGE_SELF),
            cpu_seconds(zoo),
            cpu_seconds(sensor.pid),
            time.monotonic(),
        )
        asyncio.run(run.run())
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        wall = time.monotonic() - c0[3]
        own = (r1.ru_utime + r1.ru_stime - c0[0].ru_utime - c0[0].ru_stime) / wall
        zoo_cpu = (cpu_seconds(zoo) - c0[1]) / wall
        sensor_cpu = (cpu_seconds(sensor.pid) - c0[2]) / wall
    lat = np.concatenate(run.latency) * 1e3
    s = run.sensors[0].stream
    p50, p99 = np.percentile(lat, [50, 99])
    return [
        profile_id,
        s.counters.samples,
        s.clock.lost,
        f"{p50:.1f} / {p99:.1f} ms",
        f"{100 * own:.1f} %",
        f"{100 * zoo_cpu:.1f} % / {100 * sensor_cpu:.1f} %",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    why = available()
    if why:
        raise SystemExit(f"bench_ble: {why}")
    print(f"machine: {machine()}")
    rows = []
    for pid in PROFILES:
        with tempfile.TemporaryDirectory() as tmp:
            rows.append(bench(pid, args.seconds, Path(tmp)))
        print(" | ".join(str(c) for c in rows[-1]), flush=True)
    body = "\n".join([
        f"Machine: {machine()}",
        "",
        "`imurun run`'s live pipeline in-process against the fake BlueZ of the tests, "
        f"{args.seconds:g} s per profile at 200 Hz, with its sinks: step lines, coach (cue log), "
        "dashboard feed (engine emitting traces). CPU in % of one core.",
        "",
        table(
            ["profile", "samples", "lost", "notification -> sinks latency p50 / p99", "CPU of imurun",
             "CPU of bluezoo / virtual sensor (scaffolding)"],
            rows,
        ),
    ])
    write_section("BLE", body)


if __name__ == "__main__":
    main()
