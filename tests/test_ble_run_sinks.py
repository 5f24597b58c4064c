"""`imurun run` with its sinks attached: coach, dashboard and report, with the real bleak client
against a virtual sensor (the simulated fatigue run) on a fake BlueZ, and real offscreen Qt.

`imurun run` runs in this process (so that the test can look at its window); the fake BlueZ and
the sensor are separate processes as in the other BLE tests.
"""

from __future__ import annotations

import re
import signal
import time

import numpy as np
import pytest
from bluez.harness import FakeBluez, available
from bluez.session_check import finish, imurun, read_recording, start_sensor, wait_for_line, warm_engine_cache

from imurun.cli import main

SENSOR = "imurun coached"
# Low thresholds and short quiet time and cooldown: the first seconds of running already give cues.
RUNNER = """
[thresholds]
pelvic_drop_deg = 3.0
tilt_deg = 2.0
[timing]
quiet_start_s = 2.0
any_cooldown_s = 2.0
"""
STEP_LINE = re.compile(r"^step t=\s*(-?[0-9.]+) s ([LR]) ", re.M)
CUE_LINE = re.compile(r"^\[\s*[0-9.]+ s\] ", re.M)


@pytest.fixture(scope="module", autouse=True)
def _fake_bluez_available():
    why = available()
    assert not why, why
    warm_engine_cache()


@pytest.fixture
def display(monkeypatch):
    """A display is claimed (so `imurun run` opens its window); Qt draws offscreen."""
    monkeypatch.setenv("DISPLAY", ":imurun-test")
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    from imurun.ui.qt import qt_app

    return qt_app()


def watch_window(every_ms, look):
    """Calls look(window) with the visible dashboard every every_ms while the Qt loop runs."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from imurun.ui.dashboard import Dashboard

    def tick():
        for w in QApplication.topLevelWidgets():
            if isinstance(w, Dashboard) and w.isVisible():
                look(w)

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(every_ms)
    return timer


def visible_dashboards():
    from PySide6.QtWidgets import QApplication

    from imurun.ui.dashboard import Dashboard

    return [w for w in QApplication.topLevelWidgets() if isinstance(w, Dashboard) and w.isVisible()]


def offline_cues(session, profile):
    """The recorded file replayed through the engine and the coach (as `imurun replay` does)."""
    from imurun.coach.sink import CoachSink
    from imurun.pipeline import run_session

    coach = CoachSink(profile, console=None)
    run_session(session, [coach])
    return coach.cues


def test_coached_run_with_dashboard_writes_cue_log_and_report(tmp_path, monkeypatch, capfd, display):
    from imurun.analyze import analyze
    from imurun.coach.cues import read_cues_csv
    from imurun.coach.profile import load_profile

    runner = tmp_path / "runner.toml"
    runner.write_text(RUNNER)
    out = tmp_path / "run.csv"
    seen = []  # cadence tile texts while streaming
    with FakeBluez(tmp_path) as fb:
        monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", fb.address)
        start_sensor(fb, "imurun-nus", "hci1", SENSOR, time.time() + 2, "--seconds", "60",
                     "--scenario", "fatigue")
        timer = watch_window(250, lambda w: seen.append(w.tiles["cadence"].value.text()))
        args = ["run", "--adapter", "hci0", "--device", SENSOR, "--profile", "imurun-nus",
                "--duration", "17", "--out", str(out), "--runner", str(runner), "--no-audio"]
        code = main(args)
        timer.stop()
    printed = capfd.readouterr().out
    assert code == 0, printed
    assert any(text.isdigit() for text in seen), seen  # the window showed a cadence while streaming
    assert not visible_dashboards()  # the end of the run (--duration) closed it

    # Live steps equal the engine's on the recorded file, so the coach must give the same cues.
    steps, _ = analyze(out)
    assert STEP_LINE.findall(printed) == [(f"{s['t']:.3f}", str(s["side"])) for s in steps]
    cue_log = tmp_path / "run.cues.csv"
    live = read_cues_csv(cue_log)
    offline = offline_cues(out, load_profile(runner))
    assert [c.cue for c in live][0] == "start" and len(live) >= 3  # start, then level hips R and L
    assert [(c.cue, c.side) for c in live] == [(c.cue, c.side) for c in offline]
    # a cue is timed at the block that delivered its step: live blocks (packets) and replay blocks
    # (50 ms) differ, and a cooldown may then end one step later
    np.testing.assert_allclose([c.t for c in live], [c.t for c in offline], atol=0.5)
    assert len(CUE_LINE.findall(printed)) == len(live)  # every cue printed once

    report = tmp_path / "run.report.html"
    assert f"report: {report}" in printed
    for page in (report, tmp_path / "elsewhere" / "again.html"):
        if page != report:  # `imurun report` finds the run's cue log without being told
            assert main(["report", str(out), "--out", str(page)]) == 0
        html = page.read_text()
        assert f"From {cue_log}." in html and "level hips (right)" in html  # the cue log is in it


def test_closing_the_window_stops_the_run_and_keeps_the_recording(tmp_path, monkeypatch, capfd, display):
    out = tmp_path / "closed.csv"
    closed = []

    def close_when_recording(window):
        if out.is_file() and len(out.read_text().splitlines()) > 400 and not closed:  # ~2 s recorded
            closed.append(time.monotonic())
            window.close()

    with FakeBluez(tmp_path) as fb:
        monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", fb.address)
        start_sensor(fb, "imurun-nus", "hci1", SENSOR, time.time() + 1, "--seconds", "60")
        timer = watch_window(100, close_when_recording)
        code = main(["run", "--adapter", "hci0", "--device", SENSOR, "--out", str(out), "--no-coach",
                     "--duration", "30"])  # the window closes long before
        timer.stop()
        stopped = time.monotonic() - closed[0]
    printed = capfd.readouterr().out
    assert code == 0, printed
    assert stopped < 10  # the run ended (link stopped, file closed, report written) soon after
    data, notes = read_recording(out)  # every line complete
    saved = int(re.search(r"pelvis: (\d+) samples saved to", printed)[1])
    assert len(data) == saved >= 400 and notes == []
    np.testing.assert_allclose(np.diff(data["t"]), 1 / 200, atol=2e-6)
    assert (tmp_path / "closed.report.html").is_file() and not (tmp_path / "closed.cues.csv").exists()


def test_ctrl_c_with_the_dashboard_closes_window_recording_and_writes_the_report(tmp_path):
    """A real `imurun run` process with its (offscreen) window: SIGINT reaches the Qt loop, which
    stops the BLE thread; the file is closed and the report written, exit 0."""
    out = tmp_path / "ctrl-c.csv"
    with FakeBluez(tmp_path) as fb:
        fb.env.update(DISPLAY=":imurun-test", QT_QPA_PLATFORM="offscreen")
        start_sensor(fb, "imurun-nus", "hci1", SENSOR, time.time() + 1, "--seconds", "60")
        run = imurun(fb, "run", "--device", SENSOR, "--out", str(out), "--no-audio", "--duration", "30",
                     log="run.log")
        wait_for_line(tmp_path / "run.log", "recording to", 30)
        time.sleep(1)
        run.send_signal(signal.SIGINT)
        assert finish(run, 20) == 0, (tmp_path / "run.log").read_text()
    log = (tmp_path / "run.log").read_text()
    assert "no display" not in log and "Traceback" not in log
    data, _ = read_recording(out)
    assert f"pelvis: {len(data)} samples saved to {out}" in log and len(data) < 10 * 200
    assert f"report: {tmp_path / 'ctrl-c.report.html'}" in log


def test_without_a_display_the_run_says_so_once_and_goes_on(tmp_path, monkeypatch, capfd):
    """No display: one line, then the run goes on (here it ends at once: there is no Bluetooth)."""
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", f"unix:path={tmp_path}/no-bus")
    out = tmp_path / "none.csv"
    assert main(["run", "--scan-timeout", "1", "--audio", "none", "--out", str(out)]) == 2
    captured = capfd.readouterr()
    notice = "run: no display (DISPLAY / WAYLAND_DISPLAY unset): continuing without the dashboard"
    assert captured.out == notice + "\n"
    assert "no D-Bus system bus" in captured.err
    assert list(tmp_path.iterdir()) == []  # no recording: no cue log, no report either
