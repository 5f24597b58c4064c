"""`imurun run` end to end: the real bleak client against virtual sensors on a fake BlueZ.

All five profiles stream concurrently for 60 s (each on its own adapter of the same fake BlueZ) at
their highest rate the vendor allows (200 Hz; Movella DOT 60 Hz, Verity Sense 52 Hz: their
real-time maxima). Every sample sent must be recorded, in order, on the device clock, with its
values; the steps printed live must equal those `analyze` finds in the recorded file.
"""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
from bluez.harness import FakeBluez, available
from bluez.session_check import (
    PROFILES,
    finish,
    imurun,
    read_recording,
    sent_samples,
    start_sensor,
    warm_engine_cache,
)

from imurun.analyze import analyze

SECONDS = float(__import__("os").environ.get("BLE_SECONDS", 60))
RUNS = {  # profile -> rate
    "imurun-nus": 200,
    "witmotion-wt901ble": 200,
    "polar-h10": 200,
    "movella-dot": 60,
    "polar-verity-sense": 52,
}
STEP_LINE = re.compile(r"^step t=\s*(-?[0-9.]+) s ([LR]) ")


@pytest.fixture(scope="module", autouse=True)
def _fake_bluez_available():
    why = available()
    assert not why, why
    warm_engine_cache()


def assert_recorded_everything(profile: str, rate: int, data: np.ndarray, seconds: float) -> None:
    sent = sent_samples(profile, seconds, rate)
    n = len(data)
    assert n > 0.9 * SECONDS * rate
    np.testing.assert_allclose(np.diff(data["t"]), 1.0 / rate, atol=2e-6)  # no gap, no duplicate
    if PROFILES[profile].clock == "device":
        first = int(np.argmin(np.abs(sent["device_t"] - data["device_t"][0])))
        np.testing.assert_allclose(data["device_t"], sent["device_t"][first : first + n], atol=2e-6)
    else:  # no device clock: locate the first recorded sample by its first 50 samples' values
        head = np.column_stack([data["ax"], data["ay"], data["az"]])[:50]
        windows = np.lib.stride_tricks.sliding_window_view(sent["acc"], (50, 3))[:, 0]
        first = int(np.argmin(np.abs(windows - head).sum(axis=(1, 2))))
    acc = np.column_stack([data["ax"], data["ay"], data["az"]])
    gyr = np.column_stack([data["gx"], data["gy"], data["gz"]])
    np.testing.assert_allclose(acc, sent["acc"][first : first + n], atol=1e-4)
    np.testing.assert_allclose(gyr, sent["gyr"][first : first + n], atol=1e-5)


def test_all_profiles_60_s_every_sample_recorded_and_live_steps_equal_offline(tmp_path):
    epoch = time.time() + 3.0
    with FakeBluez(tmp_path, sensors=len(RUNS)) as fb:
        runs = {}
        for k, (profile, rate) in enumerate(RUNS.items(), start=1):
            name = f"{PROFILES[profile].match_names[0].rstrip('*')} sensor{k}"
            start_sensor(fb, profile, f"hci{k}", name, epoch, "--seconds", str(SECONDS + 30))
            out = tmp_path / f"{profile}.csv"
            args = ["--device", name, "--profile", profile, "--rate", str(rate), "--duration", str(SECONDS)]
            proc = imurun(
                fb, "run", *args, "--out", str(out), "--no-ui", "--no-audio", log=f"run-{profile}.log"
            )
            runs[profile] = (proc, out, rate)
        for profile, (proc, out, rate) in runs.items():
            log = (tmp_path / f"run-{profile}.log").read_text
            assert finish(proc, SECONDS + 60) == 0, log()
            data, notes = read_recording(out)
            assert notes == [], notes
            assert_recorded_everything(profile, rate, data, SECONDS + 30)
            assert re.search(r"pelvis: t=[0-9.]+ s samples \d+ lost 0 ", log()), log()
            live = [(m[1], m[2]) for m in map(STEP_LINE.match, log().splitlines()) if m]
            if "gyr" not in PROFILES[profile].channels:  # Polar H10: accelerometer only, steps all the same
                assert "gx" not in (data.dtype.names or ()) or np.isnan(data["gx"]).all()
                assert "has no gyroscope: steps, cadence" in log(), log()
            steps, _ = analyze(out)  # the same pipeline on the recorded file, to its end
            offline = [(f"{s['t']:.3f}", str(s["side"])) for s in steps]  # as printed live
            assert len(live) > 0.5 * SECONDS
            assert live == offline
