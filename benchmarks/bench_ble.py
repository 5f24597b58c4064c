"""BLE ingestion cost at 200 Hz: notification-to-engine latency (p50/p99) and CPU use.

Runs the real bleak client (imurun's live pipeline, in this process) against the virtual sensor
on the fake BlueZ of the tests (private dbus-daemon + bluezoo), for each profile that streams at
200 Hz, and reports:
- latency: host arrival of a notification -> the engine has processed its samples (includes the
  20 ms batching tick of the live loop);
- CPU: CPU seconds per wall second of this process (bleak + decode + clock + engine + recorder),
  and of the fake BlueZ and virtual sensor processes (test scaffolding, shown for context).

    .venv/bin/python benchmarks/bench_ble.py [--seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
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
from common import machine  # noqa: E402

from imurun.ble.console import StepPrinter  # noqa: E402
from imurun.ble.live import LiveRun  # noqa: E402
from imurun.profiles import load_profiles  # noqa: E402

PROFILES = ("imurun-nus", "witmotion-wt901ble", "polar-h10")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench(profile_id: str, seconds: float, workdir: Path) -> str:
    profiles = load_profiles()
    with FakeBluez(workdir) as fb:
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
        run = LiveRun(
            {"pelvis": {profile_id: profiles[profile_id]}, "trunk": {}},
            200,
            None,
            None,
            workdir / "bench.csv",
            None,
            [StepPrinter(open(os.devnull, "w"))],  # noqa: SIM115
            adapter="hci0",
            duration=seconds,
            say=lambda _line: None,
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
    return (
        f"{profile_id:<20} samples {s.counters.samples:6d} lost {s.clock.lost:4d}"
        f"  latency p50 {p50:5.1f} ms p99 {p99:5.1f} ms  CPU imurun {100 * own:5.1f} %"
        f"  (bluezoo {100 * zoo_cpu:5.1f} %, virtual sensor {100 * sensor_cpu:5.1f} %)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    why = available()
    if why:
        raise SystemExit(f"bench_ble: {why}")
    print(f"machine: {machine()}")
    print(f"{args.seconds:g} s per profile at 200 Hz, CPU in % of one core")
    for pid in PROFILES:
        with tempfile.TemporaryDirectory() as tmp:
            print(bench(pid, args.seconds, Path(tmp)), flush=True)


if __name__ == "__main__":
    main()
