"""`imurun demo`, the README's first command: headless on this machine, and in an (offscreen) window."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from imurun.cli import main
from imurun.session.truth import read_steps_csv

FATIGUE = Path(__file__).resolve().parents[1] / "imurun" / "recordings" / "fatigue.csv"


@pytest.fixture(scope="module")
def analysed():
    from imurun.analyze import analyze

    return analyze(FATIGUE)


def test_headless_demo_writes_analysis_cues_wav_and_report(tmp_path, monkeypatch, capsys, analysed):
    import wave

    from imurun.coach.cues import read_cues_csv

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # as `make demo` in a terminal: progress bar
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    printed, err = capsys.readouterr()
    assert "demo [" in err and "100 %" in err
    assert printed.startswith("demo: no display") and "running headless" in printed
    steps, summary = analysed
    # the demo's replay is the engine of `imurun analyze`: same steps, same summary
    assert read_steps_csv(out / "steps.csv").tobytes() == read_steps_csv_roundtrip(steps, tmp_path).tobytes()
    assert json.loads((out / "summary.json").read_text()) == json.loads(json.dumps(summary))
    cues = read_cues_csv(out / "cues.csv")
    assert [c.cue for c in cues][0] == "start" and {"level_hips", "quicker_steps", "ease_arch"} <= {
        c.cue for c in cues}
    assert printed.count("\n[") == len(cues)  # every cue printed once
    with wave.open(str(out / "cues.wav")) as w:
        rate = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    # the session's length, and a cue spoken in its last seconds runs on to its end
    duration = summary["duration_s"]
    assert duration - 1.0 <= len(x) / rate <= max(duration, cues[-1].t + 4.0) + 1.0
    first_cue = int(cues[1].t * rate)
    assert np.abs(x[first_cue : first_cue + rate]).max() > 1000  # speech at the cue
    page = (out / "report.html").read_text()
    assert f"{summary['steps']}" in page and "level hips (left)" in page  # the cue log is in the page


def read_steps_csv_roundtrip(steps, tmp_path):
    from imurun.session.truth import write_steps_csv

    write_steps_csv(tmp_path / "expected.csv", steps)
    return read_steps_csv(tmp_path / "expected.csv")


def test_demo_in_a_window_reports_what_was_replayed(tmp_path, monkeypatch, capsys, analysed):
    """With a display the demo opens the replay window; closed early, it reports the part replayed."""
    monkeypatch.setenv("DISPLAY", ":imurun-test")  # a display is claimed; Qt draws offscreen
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from imurun.ui.dashboard import Dashboard
    from imurun.ui.qt import qt_app

    qt_app()
    seen = []

    def close_window():
        window = next(w for w in QApplication.topLevelWidgets() if isinstance(w, Dashboard) and w.isVisible())
        seen.append(window.tiles["cadence"].value.text())
        window.close()

    QTimer.singleShot(4000, close_window)
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--speed", "20", "--audio", "none"]) == 0
    assert seen and seen[0].isdigit()  # the window was showing a cadence
    printed = capsys.readouterr().out
    assert "running headless" not in printed
    replayed = read_steps_csv(out / "steps.csv")
    steps, _ = analysed
    assert 100 < len(replayed) < len(steps)  # 4 s at 20x: about 80 s of the 420 s run
    np.testing.assert_allclose(replayed["t"], steps["t"][: len(replayed)], atol=1e-6)
    assert json.loads((out / "summary.json").read_text())["steps"] == len(replayed)
    assert (out / "report.html").is_file()


def test_demo_with_a_missing_file_is_one_line(tmp_path, capsys):
    assert main(["demo", "--file", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nope.csv" in err
