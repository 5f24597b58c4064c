"""Cold start: seconds from launching a command to its first processed sample, with numba's cache
empty (the first command after an install) and with the cache built (by `imurun warmup`, the
set-up step, or by any earlier run).

Every figure is one fresh interpreter whose NUMBA_CACHE_DIR is a folder of its own, timed from just
before it is launched (interpreter start and imports included) to the moment the engine handed its
first output to the sinks:
- replay: the session reader and the engine as `imurun replay` and `imurun demo` run them, on the
  bundled recording;
- live: `imurun run`'s LiveRun against the fake BlueZ of the tests (a virtual imurun-nus sensor at
  200 Hz, a new bus each time), finding the sensor by scanning as `imurun run` does by default, or
  by its exact address (a reconnection: no scan settling).
Writes the "Cold start" section of benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/bench_coldstart.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(Path(__file__).resolve().parent)]

from bluez.harness import FakeBluez, available  # noqa: E402
from common import machine, table, write_section  # noqa: E402

RECORDING = ROOT / "imurun" / "recordings" / "fatigue.csv"
SENSOR = "00:1A:7D:DA:71:01"  # the first virtual sensor's adapter in FakeBluez
WARM_RUNS = 3


class FirstOutput:
    """A sink that reports when the engine's first output reaches it, then ends the process."""

    def __init__(self, t0: float, link: list[float]):
        self.t0, self.link = t0, link

    def consume(self, block, out) -> None:
        first = time.time() - self.t0
        print(json.dumps({"first": first, "link": self.link[0] if self.link else math.nan}), flush=True)
        os._exit(0)  # nothing else is measured; the recording in the temporary folder is dropped

    def close(self) -> None:
        pass


def child(args: argparse.Namespace) -> None:
    link: list[float] = []
    sink = FirstOutput(args.t0, link)
    if args.child == "replay":
        from imurun.pipeline import run_session

        run_session(RECORDING, [sink])
        return
    from imurun.ble.profiles import load_profiles
    from imurun.live.app import LiveRun

    profile = load_profiles()["imurun-nus"]
    run = LiveRun(
        {"pelvis": {profile.id: profile}, "trunk": {}}, 200, args.device, None, args.out / "live.csv", None,
        [sink], adapter="hci0",
        say=lambda line: link.append(time.time() - args.t0) if "connected" in line and not link else None,
    )
    asyncio.run(run.run())


def launch(cache: Path, *argv: str, env: dict[str, str] | None = None) -> dict[str, float]:
    """Run this script as a child (or `imurun warmup`) with its own numba cache; its figures."""
    env = {**(env or os.environ), "NUMBA_CACHE_DIR": str(cache)}
    t0 = time.time()
    if argv[0] == "warmup":
        subprocess.run([sys.executable, "-m", "imurun", "warmup"], env=env, check=True, capture_output=True)
        return {"first": time.time() - t0}
    proc = subprocess.run([sys.executable, __file__, "--t0", repr(t0), *argv], env=env, capture_output=True,
                          text=True, timeout=300)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise SystemExit(f"bench_coldstart: {argv} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def live(cache: Path, work: Path, device: str | None) -> dict[str, float]:
    with FakeBluez(work) as fb:
        fb.start(sys.executable, str(ROOT / "tests/bluez/virtual_sensor.py"), "--profile", "imurun-nus",
                 "--seconds", "600", log="sensor.log")
        time.sleep(1.0)  # the sensor advertises
        argv = ["--child", "live", "--out", str(work)] + (["--device", device] if device else [])
        return launch(cache, *argv, env=fb.env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", choices=("replay", "live"), help=argparse.SUPPRESS)
    parser.add_argument("--t0", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--device", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    why = available()
    if why:
        raise SystemExit(f"bench_coldstart: {why}")
    where = machine()  # the load while it runs, not after
    print(f"machine: {where}", flush=True)
    rows = []

    def row(what: str, cold: dict, warm: list[dict]) -> None:
        """One run cold; the median of WARM_RUNS warm ones (the machine is shared)."""
        warm_median = {k: float(np.median([w[k] for w in warm])) for k in cold}
        cells = [what] + [f"{d['link']:.2f} / {d['first']:.2f}" if not math.isnan(d.get("link", math.nan))
                          else f"{d['first']:.2f}" for d in (cold, warm_median)]
        rows.append(cells)
        print(" | ".join(cells), flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cold = launch(tmp / "set-up", "warmup")
        row("`imurun warmup` (the set-up step), whole command", cold,
            [launch(tmp / "set-up", "warmup") for _ in range(WARM_RUNS)])
        replay = ("--child", "replay")  # warm: with the cache the set-up step built
        row("replay / demo: first block processed", launch(tmp / "empty", *replay),
            [launch(tmp / "set-up", *replay) for _ in range(WARM_RUNS)])
        for device, how in ((None, "scanning"), (SENSOR, "exact address")):
            cache = tmp / f"live-{how}"
            runs = [live(cache, Path(tempfile.mkdtemp(dir=tmp)), device) for _ in range(1 + WARM_RUNS)]
            row(f"`imurun run`, {how}: link up / first sample", runs[0], runs[1:])
    body = "\n".join([
        f"Machine: {where}",
        "",
        "Seconds from launching a fresh interpreter (start-up and imports included) to the engine's first "
        "output reaching the sinks; for the live path also to the link being up (connected and streaming). "
        "Cold: numba's cache empty, as the first command after an install. Warm: the cache built (by "
        "`imurun warmup`, or for the live rows by the cold run before): the median of 3 runs. The machine "
        "is shared: compare within a row.",
        "",
        table(["what", "cold (empty cache)", "warm (cache built)"], rows),
    ])
    write_section("Cold start", body)


if __name__ == "__main__":
    main()
