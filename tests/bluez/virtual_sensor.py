"""Run imurun's virtual sensor on a simulated session (imurun.sources.simulate, exact and
reproducible from scenario + seed, so a test can know every sample the sensor sends);
`imurun emulate FILE` serves recorded files the same way.

    python tests/bluez/virtual_sensor.py --profile ID --adapter hci1 --seconds 60 [emulate options]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
from pathlib import Path

import numpy as np

from imurun.ble.emulate import VirtualSensor
from imurun.ble.profiles import load_profiles
from imurun.sources.simulate import simulate


def simulated(scenario: str, seed: int, seconds: float) -> dict[str, np.ndarray]:
    """t, acc, gyr of the simulated session, cached on disk: the test and every sensor process
    it starts share one simulation instead of each computing it."""
    path = Path(tempfile.gettempdir()) / f"imurun-ble-sim-{scenario}-{seed}-{seconds:g}s.npz"
    if not path.exists():
        sim = simulate(scenario, seed=seed, rate_hz=400.0, duration_s=seconds, loss=0.0)
        part = path.with_suffix(f".{os.getpid()}.npz")
        np.savez(part, t=sim.t, acc=sim.acc, gyr=sim.gyr)
        os.replace(part, path)
    with np.load(path) as f:
        return {k: f[k] for k in ("t", "acc", "gyr")}


def build(args: argparse.Namespace) -> VirtualSensor:
    sim = simulated(args.scenario, args.seed, args.seconds)
    return VirtualSensor(
        load_profiles()[args.profile],
        sim["t"],
        sim["acc"],
        sim["gyr"],
        name=args.name,
        epoch=args.epoch,
        loss=args.loss,
        repeat=args.repeat,
        seed=args.seed,
        burst_s=args.burst_ms / 1000.0,
        drop_at=args.drop_at,
        pace=args.pace,
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    p.add_argument("--profile", required=True)
    p.add_argument("--adapter", default="hci1")
    p.add_argument("--name")
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--scenario", default="easy-run")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epoch", type=float)
    p.add_argument("--loss", type=float, default=0.0)
    p.add_argument("--repeat", type=float, default=0.0)
    p.add_argument("--pace", type=float, default=1.0)
    p.add_argument("--burst-ms", type=float, default=0.0)
    p.add_argument("--drop-at", type=float, action="append", default=[])
    return p


if __name__ == "__main__":
    a = parser().parse_args()
    asyncio.run(build(a).serve(a.adapter))
