"""Faults on the live path, with the real bleak client against virtual sensors on a fake BlueZ:
link drops, a killed sensor, packet loss and bursty delivery, a sensor that never comes back, a
wrong profile, no Bluetooth stack; plus scan and a trunk sensor."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from bluez.harness import FakeBluez, available, stop
from bluez.session_check import (
    finish,
    imurun,
    read_recording,
    sent_samples,
    start_sensor,
    wait_for_line,
    warm_engine_cache,
)

RATE = 200
LOST = re.compile(r"pelvis: t=[0-9.]+ s samples (\d+) lost (\d+) ")


@pytest.fixture(scope="module", autouse=True)
def _fake_bluez_available():
    why = available()
    assert not why, why
    warm_engine_cache()


def final_status(log: str) -> tuple[int, int]:
    samples, lost = LOST.findall(log)[-1]
    return int(samples), int(lost)


def assert_present_outside_outage(profile, data, notes, seconds):
    """Every sample sent from the first recorded one on is recorded, except inside the outage."""
    sent = sent_samples(profile, seconds, RATE if profile != "movella-dot" else 60)
    dev = sent["device_t"]
    first = int(np.argmin(np.abs(dev - data["device_t"][0])))
    t_lost = next(t for t, text in notes if text.startswith("link lost"))
    t_back = next(t for t, text in notes if text == "link restored")
    session = dev[first:] - dev[first]
    last = data["t"][-1]
    eps = 1e-6  # notes carry 6 decimals
    expected = session[((session <= t_lost + eps) | (session >= t_back - eps)) & (session <= last + eps)]
    np.testing.assert_allclose(data["t"], expected, atol=2e-6)
    return t_lost, t_back


def test_link_dropped_mid_run_reconnects_into_the_same_file(tmp_path):
    out = tmp_path / "drop.csv"
    with FakeBluez(tmp_path) as fb:
        sensor = start_sensor(fb, "imurun-nus", "hci1", "imurun drop", time.time() + 2, "--seconds", "60")
        run = imurun(
            fb, "run", "--profile", "imurun-nus", "--duration", "16", "--out", str(out), log="run.log"
        )
        wait_for_line(tmp_path / "run.log", "recording to", 30)
        time.sleep(6)
        sensor.send_signal(signal.SIGUSR1)  # the sensor drops the link
        assert finish(run, 60) == 0, (tmp_path / "run.log").read_text()
    log = (tmp_path / "run.log").read_text()
    data, notes = read_recording(out)
    assert [text for _, text in notes] == ["link lost: disconnected", "link restored"]
    t_lost, t_back = assert_present_outside_outage("imurun-nus", data, notes, 60)
    assert 4.0 < t_lost < 12.0 and t_back - t_lost < 5.0
    assert final_status(log)[1] == round((t_back - t_lost) * RATE) - 1  # the outage, counted exactly
    assert "reconnects 1" in log


def test_sensor_killed_and_restarted_mid_run(tmp_path):
    out = tmp_path / "kill.csv"
    epoch = time.time() + 2
    with FakeBluez(tmp_path) as fb:
        sensor = start_sensor(fb, "movella-dot", "hci1", "Movella DOT kill", epoch, "--seconds", "60")
        run = imurun(
            fb, "run", "--profile", "movella-dot", "--duration", "20", "--out", str(out), log="run.log"
        )
        wait_for_line(tmp_path / "run.log", "recording to", 30)
        time.sleep(5)
        stop(sensor, 9)  # SIGKILL: the sensor vanishes without a goodbye
        time.sleep(3)
        start_sensor(fb, "movella-dot", "hci1", "Movella DOT kill", epoch, "--seconds", "60")
        assert finish(run, 60) == 0, (tmp_path / "run.log").read_text()
    data, notes = read_recording(out)
    assert [text for _, text in notes] == ["link lost: no data for 2 s", "link restored"]
    assert_present_outside_outage("movella-dot", data, notes, 60)


@pytest.mark.parametrize("profile", ["imurun-nus", "movella-dot"])
def test_one_percent_loss_and_bursts_counted_exactly(tmp_path, profile):
    rate = RATE if profile == "imurun-nus" else 60
    out = tmp_path / "loss.csv"
    with FakeBluez(tmp_path) as fb:
        extra = ("--seconds", "60", "--loss", "0.01", "--burst-ms", "100", "--seed", "7")
        start_sensor(fb, profile, "hci1", "lossy sensor imurun", time.time() + 2, *extra)
        args = (
            "--device",
            "lossy sensor imurun",
            "--profile",
            profile,
            "--duration",
            "20",
            "--out",
            str(out),
        )
        run = imurun(fb, "run", *args, log="run.log")
        assert finish(run, 60) == 0, (tmp_path / "run.log").read_text()
    data, _ = read_recording(out)
    samples, lost = final_status((tmp_path / "run.log").read_text())
    span = round((data["t"][-1] - data["t"][0]) * rate) + 1
    assert samples == len(data) and samples + lost == span and lost > 0
    sent = sent_samples(profile, 60, rate)
    first = int(np.argmin(np.abs(sent["device_t"] - data["device_t"][0])))
    on_grid = sent["device_t"][first:] - sent["device_t"][first]
    assert np.isin(np.round(data["t"] * rate), np.round(on_grid * rate)).all()  # times untouched
    np.testing.assert_allclose(data["t"], np.round(data["t"] * rate) / rate, atol=2e-6)


def test_sensor_that_never_comes_back_exits_2_and_keeps_the_file(tmp_path):
    out = tmp_path / "gone.csv"
    with FakeBluez(tmp_path) as fb:
        sensor = start_sensor(fb, "imurun-nus", "hci1", "imurun gone", time.time() + 2, "--seconds", "60")
        run = imurun(fb, "run", "--reconnect-timeout", "3", "--out", str(out), log="run.log")
        wait_for_line(tmp_path / "run.log", "recording to", 30)
        time.sleep(3)
        stop(sensor, 9)
        assert finish(run, 60) == 2
    log = (tmp_path / "run.log").read_text()
    assert "Traceback" not in log
    assert log.strip().splitlines()[-1].startswith("imurun run: error: imurun gone")
    data, notes = read_recording(out)
    assert len(data) > 2 * RATE and notes[-1][1].startswith("link lost")
    assert f"report: {tmp_path / 'gone.report.html'}" in log  # the report of what was recorded


def test_wrong_profile_is_one_line_and_exit_2(tmp_path):
    with FakeBluez(tmp_path) as fb:
        start_sensor(fb, "imurun-nus", "hci1", "imurun wrong", time.time(), "--seconds", "30")
        out = tmp_path / "new" / "x.csv"
        args = ("--device", "imurun wrong", "--profile", "polar-h10", "--out", str(out))
        run = imurun(fb, "run", *args, log="run.log")
        assert finish(run, 60) == 2
    log = (tmp_path / "run.log").read_text().strip().splitlines()
    assert log[-1].startswith("imurun run: error: imurun wrong") and "not a Polar H10" in log[-1]
    assert not out.parent.exists()  # nothing recorded: neither a file nor the folder made for it


def test_no_bluetooth_stack_is_one_line_and_exit_2(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = {"DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={tmp_path}/no-bus", "PATH": "/usr/bin:/bin",
           "HOME": str(home)}
    # (without --no-audio a machine with no sound device also gets that notice, on its own line)
    for command in (["scan", "--timeout", "1"], ["run", "--scan-timeout", "1", "--no-audio"]):
        proc = subprocess.run(
            [sys.executable, "-m", "imurun", *command], env=env, capture_output=True, text=True
        )
        assert proc.returncode == 2
        expected = "error: no D-Bus system bus (No such file or directory): is BlueZ installed and running?"
        assert proc.stderr.strip() == f"imurun {command[0]}: {expected}"
    assert not any(home.iterdir())  # run's default ~/imurun/sessions is not left behind empty


def test_scan_lists_matching_sensors(tmp_path):
    with FakeBluez(tmp_path, sensors=2) as fb:
        start_sensor(fb, "witmotion-wt901ble", "hci1", "WT901BLE67", time.time(), "--seconds", "30")
        start_sensor(fb, "imurun-nus", "hci2", "imurun-7F3A", time.time(), "--seconds", "30")
        time.sleep(1)
        scan = imurun(fb, "scan", "--timeout", "3", log="scan.log")
        assert finish(scan, 30) == 0
    lines = (tmp_path / "scan.log").read_text().splitlines()
    assert any(re.match(r"WT901BLE67\s+00:1A:7D:DA:71:01\s+-?\d+\s+witmotion-wt901ble$", ln) for ln in lines)
    assert any(re.match(r"imurun-7F3A\s+00:1A:7D:DA:71:02\s+-?\d+\s+imurun-nus$", ln) for ln in lines)


def test_trunk_sensor_same_path_time_aligned(tmp_path):
    """Recorded as two.pelvis.csv, the trunk file is two.trunk.csv, where replay and analyze look
    (it was two.pelvis.trunk.csv, never found again)."""
    from imurun.session.paths import trunk_path_for

    out = tmp_path / "two.pelvis.csv"
    epoch = time.time() + 2
    with FakeBluez(tmp_path, sensors=2) as fb:
        start_sensor(fb, "imurun-nus", "hci1", "imurun pelvis", epoch, "--seconds", "60")
        start_sensor(fb, "imurun-nus", "hci2", "imurun trunk", epoch, "--seconds", "60", "--seed", "1")
        args = ("--device", "imurun pelvis", "--trunk-device", "imurun trunk", "--duration", "12")
        run = imurun(fb, "run", *args, "--out", str(out), log="run.log")
        assert finish(run, 60) == 0, (tmp_path / "run.log").read_text()
    pelvis, _ = read_recording(out)
    assert trunk_path_for(out) == tmp_path / "two.trunk.csv"
    trunk, _ = read_recording(tmp_path / "two.trunk.csv")
    for data in (pelvis, trunk):
        np.testing.assert_allclose(np.diff(data["t"]), 1 / RATE, atol=2e-6)
    # Both sensors sample at the same instants (same epoch): the same device time must map to the
    # same session time, within the delivery delay left in the least-delayed packets that align the
    # two clocks: measured under 1 ms (one packet's arrival alone was 40 ms off one run in five).
    common = np.intersect1d(np.round(pelvis["device_t"] * RATE), np.round(trunk["device_t"] * RATE))
    tp = pelvis["t"][np.isin(np.round(pelvis["device_t"] * RATE), common)]
    tt = trunk["t"][np.isin(np.round(trunk["device_t"] * RATE), common)]
    offset = float(np.median(tt - tp))
    assert len(tp) > 5 * RATE and abs(offset) < 0.005, f"trunk - pelvis at one device time: {offset:.4f} s"


def test_emulate_serves_a_recorded_session(tmp_path):
    """`imurun emulate FILE` (the bundled simulated easy run) feeds `imurun run` the file's samples."""
    from imurun.ble.emulate import DEVICE_CLOCK_OFFSET_S

    recording = Path(__file__).resolve().parent.parent / "imurun" / "recordings" / "easy-run.csv"
    out = tmp_path / "emulated.csv"
    with FakeBluez(tmp_path) as fb:
        emulate = ("--profile", "imurun-nus", "--name", "imurun emulated", "--epoch", repr(time.time() + 2))
        fb.start(
            sys.executable,
            "-m",
            "imurun",
            "emulate",
            str(recording),
            "--adapter",
            "hci1",
            *emulate,
            log="e.log",
        )
        run = imurun(
            fb, "run", "--device", "imurun emulated", "--duration", "10", "--out", str(out), log="run.log"
        )
        assert finish(run, 60) == 0, (tmp_path / "run.log").read_text()
    data, _ = read_recording(out)
    source, _ = read_recording(recording)
    # The emulator resamples the file onto the requested rate's grid (linear interpolation); the
    # device clock is the file's time (from its first sample) plus a fixed offset.
    at = data["device_t"] - DEVICE_CLOCK_OFFSET_S + source["t"][0]
    assert len(data) >= 10 * RATE
    for c in ("ax", "ay", "az"):  # imurun-nus carries 16 g / 32768 per count
        np.testing.assert_allclose(
            data[c], np.interp(at, source["t"], source[c]), atol=0.5 * 16 * 9.80665 / 32768 + 1e-5
        )
    for c in ("gx", "gy", "gz"):  # 2000 deg/s / 32768 per count
        np.testing.assert_allclose(
            data[c], np.interp(at, source["t"], source[c]), atol=0.5 * np.deg2rad(2000) / 32768 + 1e-6
        )


def test_repeated_notifications_are_dropped_and_counted(tmp_path):
    """The sensor notifies 2 % of its packets twice (a retransmitting BLE stack): the run goes on,
    every sample is recorded once, nothing counts as lost, and the repeats are counted."""
    out = tmp_path / "twice.csv"
    with FakeBluez(tmp_path) as fb:
        extra = ("--seconds", "60", "--repeat", "0.02", "--seed", "5")
        start_sensor(fb, "imurun-nus", "hci1", "imurun twice", time.time() + 2, *extra)
        run = imurun(fb, "run", "--device", "imurun twice", "--duration", "10", "--out", str(out),
                     "--no-ui", "--no-audio", log="run.log")
        assert finish(run, 60) == 0, (tmp_path / "run.log").read_text()
    log = (tmp_path / "run.log").read_text()
    data, notes = read_recording(out)
    np.testing.assert_allclose(np.diff(data["t"]), 1 / RATE, atol=2e-6)
    assert final_status(log)[1] == 0 and "reconnects 0" in log
    repeated = int(re.findall(r"repeated (\d+)", log)[-1])
    assert repeated > 0 and notes == [(data["t"][-1], f"repeated notifications dropped: {repeated}")]


def test_a_device_that_only_advertises_the_nordic_uart_service_is_never_written_to(tmp_path):
    """The Nordic UART Service is a generic serial service: a device that advertises it under a
    name no profile knows is not identified. Without --device, and with --device but without
    --profile, `imurun run` must not connect and write the start command to it; it says what it
    saw and how to choose it, one line, exit 2."""
    with FakeBluez(tmp_path) as fb:
        start_sensor(fb, "imurun-nus", "hci1", "Thermostat", time.time(), "--seconds", "30")
        for k, args in enumerate(([], ["--profile", "imurun-nus"], ["--device", "Thermostat"])):
            out = tmp_path / f"nus{k}.csv"
            run = imurun(fb, "run", *args, "--scan-timeout", "4", "--duration", "3", "--out", str(out),
                         "--no-ui", "--no-audio", log=f"run{k}.log")
            assert finish(run, 60) == 2, (tmp_path / f"run{k}.log").read_text()
            last = (tmp_path / f"run{k}.log").read_text().strip().splitlines()[-1]
            assert last.startswith("imurun run: error: ") and "'Thermostat' (00:1A:7D:DA:71:01)" in last
            assert "--profile imurun-nus" in last and not out.exists()
    assert "write" not in (tmp_path / "sensor-hci1.log").read_text()


def test_several_sensors_are_listed_and_none_is_chosen(tmp_path):
    with FakeBluez(tmp_path, sensors=2) as fb:
        start_sensor(fb, "imurun-nus", "hci1", "imurun-A", time.time(), "--seconds", "30")
        start_sensor(fb, "witmotion-wt901ble", "hci2", "WT901BLE67", time.time(), "--seconds", "30")
        run = imurun(fb, "run", "--scan-timeout", "6", "--duration", "3", "--out", str(tmp_path / "x.csv"),
                     "--no-ui", "--no-audio", log="run.log")
        assert finish(run, 60) == 2, (tmp_path / "run.log").read_text()
    last = (tmp_path / "run.log").read_text().strip().splitlines()[-1]
    assert last.startswith("imurun run: error: several sensors found: ") and "--device" in last
    assert "'imurun-A' (00:1A:7D:DA:71:01, imurun-nus)" in last
    assert "'WT901BLE67' (00:1A:7D:DA:71:02, witmotion-wt901ble)" in last
    for log in ("sensor-hci1.log", "sensor-hci2.log"):
        assert "write" not in (tmp_path / log).read_text()


def test_a_missing_characteristic_is_one_line_and_exit_2(tmp_path):
    """The device matches the profile's service but lacks a characteristic its start commands
    write to (here: a profile that also writes to 15171003, which the sensor does not have)."""
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    bundled = Path(__file__).resolve().parent.parent / "imurun" / "firmware_profiles" / "movella-dot.toml"
    text = bundled.read_text().replace('{ char = "15171002-', '{ char = "15171003-')
    (profiles / "movella-dot.toml").write_text(text)
    with FakeBluez(tmp_path) as fb:
        start_sensor(fb, "movella-dot", "hci1", "Movella DOT lacking", time.time(), "--seconds", "30")
        args = ("--profiles", str(profiles), "--device", "Movella DOT lacking", "--duration", "3", "--no-ui")
        run = imurun(fb, "run", *args, "--out", str(tmp_path / "x.csv"), "--no-audio", log="run.log")
        assert finish(run, 60) == 2, (tmp_path / "run.log").read_text()
    log = (tmp_path / "run.log").read_text()
    assert "Traceback" not in log
    last = log.strip().splitlines()[-1]
    assert last.startswith("imurun run: error: Movella DOT lacking (00:1A:7D:DA:71:01) lacks characteristic")
    assert "15171003-4947-11e9-8646-d663bd873d93" in last


def test_scan_marks_a_device_known_only_by_a_generic_service(tmp_path):
    with FakeBluez(tmp_path) as fb:
        start_sensor(fb, "imurun-nus", "hci1", "Thermostat", time.time(), "--seconds", "30")
        time.sleep(1)
        scan = imurun(fb, "scan", "--timeout", "3", log="scan.log")
        assert finish(scan, 30) == 0
    lines = (tmp_path / "scan.log").read_text().splitlines()
    assert any(re.match(r"Thermostat\s+00:1A:7D:DA:71:01\s+-?\d+\s+imurun-nus\?$", ln) for ln in lines)
    assert lines[-1].startswith("?: only a generic service (Nordic UART) matches")
