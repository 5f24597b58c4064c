"""Helpers for the BLE end-to-end tests: run the CLI on the fake bus, read what it recorded, and
know exactly which samples the virtual sensor sent."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from bluez.harness import HERE, FakeBluez
from bluez.virtual_sensor import parser as sensor_parser
from imurun.ble.decoders import DECODERS
from imurun.ble.emulate import DEVICE_CLOCK_OFFSET_S
from imurun.ble.profiles import load_profiles

PROFILES = load_profiles()


def warm_engine_cache() -> None:
    """Compile the engine's numba kernels once here, so that the `imurun run` processes load them
    from numba's cache instead of each compiling them at once on a shared machine."""
    from imurun.core.jitcache import compile_engine

    compile_engine()


def start_sensor(fb: FakeBluez, profile: str, adapter: str, name: str, epoch: float, *extra: str):
    return fb.start(
        sys.executable,
        str(HERE / "virtual_sensor.py"),
        "--profile",
        profile,
        "--adapter",
        adapter,
        "--name",
        name,
        "--epoch",
        repr(epoch),
        *extra,
        log=f"sensor-{adapter}.log",
    )


def imurun(fb: FakeBluez, command: str, *args: str, log: str) -> subprocess.Popen:
    return fb.start(sys.executable, "-m", "imurun", command, "--adapter", "hci0", *args, log=log)


def finish(proc: subprocess.Popen, timeout: float) -> int:
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


def read_recording(path: Path) -> tuple[np.ndarray, list[tuple[float, str]]]:
    """Data rows (structured array by column name) and notes of a session CSV, read directly so
    the check does not depend on the reader under test elsewhere."""
    notes, rows, names = [], [], None
    for line in path.read_text().splitlines():
        if line.startswith("# note: "):
            t, text = line[len("# note: ") :].split(" ", 1)
            notes.append((float(t), text))
        elif line.startswith("#") or not line.strip():
            continue
        elif names is None:
            names = line.split(",")
        else:
            rows.append(tuple(float(x) for x in line.split(",")))
    data = np.array(rows, dtype=[(n, "f8") for n in names])
    return data, notes


def sent_samples(profile: str, seconds: float, rate: int) -> dict[str, np.ndarray]:
    """Every sample the virtual sensor can send: device time and values as decoded from its own
    packets (what a perfect link delivers)."""
    from bluez.virtual_sensor import build

    args = sensor_parser().parse_args(["--profile", profile, "--seconds", str(seconds)])
    sensor = build(args)
    packets, _ = sensor.packets(rate)
    p = PROFILES[profile]
    d = DECODERS[p.decoder].decode(packets, p.decode_params(rate))
    if np.isnan(d.device_t).all():  # no device clock (WitMotion): one sample per packet, in order
        d = replace(d, device_t=DEVICE_CLOCK_OFFSET_S + np.arange(len(d)) / rate)
    t, first = np.unique(np.round(d.device_t * rate).astype(np.int64), return_index=True)
    acc, gyr = np.full((len(t), 3), np.nan), np.full((len(t), 3), np.nan)
    row = np.searchsorted(t, np.round(d.device_t * rate).astype(np.int64))
    has_a, has_g = ~np.isnan(d.acc).any(axis=1), ~np.isnan(d.gyr).any(axis=1)
    acc[row[has_a]] = d.acc[has_a]  # Polar Verity Sense sends acc and gyr in separate frames
    gyr[row[has_g]] = d.gyr[has_g]
    return {"device_t": d.device_t[first], "acc": acc, "gyr": gyr}


def wait_for_line(path: Path, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while text not in (path.read_text() if path.exists() else ""):
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} not seen in {path.name} within {timeout} s")
        time.sleep(0.05)
