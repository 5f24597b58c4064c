"""Run imurun's virtual sensor on synthetic gait-like data (until the bundled recordings and the
session reader land, this is the data source of the BLE tests; `imurun emulate FILE` serves files).

    python tests/bluez/virtual_sensor.py --profile ID --adapter hci1 --seconds 60 [emulate options]
"""

from __future__ import annotations

import argparse
import asyncio

import numpy as np

from imurun.ble.emulate import VirtualSensor
from imurun.profiles import load_profiles

SOURCE_RATE = 400.0


def synthetic(seconds: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pelvis-like signals: gravity on z plus step-frequency (2.8 Hz) oscillations and noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SOURCE_RATE)) / SOURCE_RATE
    f = 2.8
    acc = np.column_stack(
        [2.0 * np.sin(2 * np.pi * f * t), 1.0 * np.sin(np.pi * f * t), 9.81 + 6.0 * np.cos(2 * np.pi * f * t)]
    ) + rng.normal(0, 0.2, (len(t), 3))
    gyr = np.column_stack(
        [0.5 * np.sin(np.pi * f * t), 0.3 * np.cos(2 * np.pi * f * t), 0.8 * np.sin(np.pi * f * t + 0.3)]
    ) + rng.normal(0, 0.02, (len(t), 3))
    return t, acc, gyr


def build(args: argparse.Namespace) -> VirtualSensor:
    t, acc, gyr = synthetic(args.seconds, args.seed)
    return VirtualSensor(
        load_profiles()[args.profile],
        t,
        acc,
        gyr,
        name=args.name,
        epoch=args.epoch,
        loss=args.loss,
        seed=args.seed,
        burst_s=args.burst_ms / 1000.0,
        drop_at=args.drop_at,
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    p.add_argument("--profile", required=True)
    p.add_argument("--adapter", default="hci1")
    p.add_argument("--name")
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epoch", type=float)
    p.add_argument("--loss", type=float, default=0.0)
    p.add_argument("--burst-ms", type=float, default=0.0)
    p.add_argument("--drop-at", type=float, action="append", default=[])
    return p


if __name__ == "__main__":
    a = parser().parse_args()
    asyncio.run(build(a).serve(a.adapter))
