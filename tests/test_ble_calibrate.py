"""`imurun run --calibrate`: the guided standing calibration.

End to end through the real bleak client, a fake BlueZ and two virtual sensors streaming at once:
the simulated easy run (8 s of standing first: calibrated) and the no-standing run (running from
the first sample: missed, with the phrases spoken into a WAV through the coach's output). Then the
guide's decisions on hand-built engine statuses, its one voice with the coach in a real WAV, and
what the real dashboard's status bar shows.
"""

from __future__ import annotations

import re
import time
import wave

import numpy as np
from bluez.harness import FakeBluez, available
from bluez.session_check import finish, imurun, start_sensor, warm_engine_cache

from imurun.blocks import SampleBlock
from imurun.coach.profile import RunnerProfile, Wording
from imurun.coach.sink import CoachSink, build_outputs
from imurun.coach.speech import render_phrase
from imurun.core.output import EngineOutput, Flag, FlagKind, Status, empty_steps
from imurun.live.calibrate import WAITING, CalibrationGuide

W = Wording()
# Low thresholds and a short quiet time: form cues within the first seconds of running, so that
# "before the first form cue" is a real check.
RUNNER = """
[thresholds]
pelvic_drop_deg = 3.0
tilt_deg = 2.0
[timing]
quiet_start_s = 1.0
any_cooldown_s = 1.0
window_steps = 6
min_steps = 4
"""
SAID = re.compile(r"^\[\s*([0-9.]+) s\] (.+?)  \(([a-z_]+)(?: [LR])?: ", re.M)  # guide and cue lines
LOW = Flag(FlagKind.LOW_CONFIDENCE, "no standing calibration (a change from the early-gait posture)")
DURATION = 14


def said_lines(log: str) -> list[tuple[float, str, str]]:
    return [(float(t), text, tag) for t, text, tag in SAID.findall(log)]


def read_wav(path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as w:
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32767
        return x, w.getframerate()


def phrase(text: str) -> np.ndarray:
    """A phrase as the default voice says it through an output (CueSounds: rendered x volume)."""
    v = RunnerProfile().voice
    return render_phrase(text, v.name, v.rate_wpm) * np.float32(v.volume)


def is_said_alone(x: np.ndarray, start: int, pcm: np.ndarray) -> bool:
    """The WAV from `start` holds exactly this phrase, nothing mixed in (16-bit rounding apart)."""
    return np.allclose(x[start : start + len(pcm)], pcm, atol=1.5 / 32767)


def test_live_run_calibrated_standing_and_missed_running(tmp_path):
    why = available()
    assert not why, why
    warm_engine_cache()
    runner = tmp_path / "runner.toml"
    runner.write_text(RUNNER)
    wav = tmp_path / "missed.wav"
    runs = {"calibrated": ("easy-run", "imurun stand"), "missed": ("no-standing", "imurun go")}
    epoch = time.time() + 2.0  # both sensors start their session at once, after connecting
    with FakeBluez(tmp_path, sensors=2) as fb:
        procs = {}
        for k, (name, (scenario, device)) in enumerate(runs.items(), start=1):
            start_sensor(fb, "imurun-nus", f"hci{k}", device, epoch, "--seconds", "30",
                         "--scenario", scenario)
            audio = ["--audio", f"wav:{wav}"] if name == "missed" else ["--audio", "none"]
            procs[name] = imurun(
                fb, "run", "--calibrate", "--device", device, "--profile", "imurun-nus",
                "--duration", str(DURATION), "--no-ui", *audio, "--runner", str(runner),
                "--out", str(tmp_path / f"{name}.csv"), log=f"{name}.log",
            )  # fmt: skip
        for name, proc in procs.items():
            assert finish(proc, DURATION + 40) == 0, (tmp_path / f"{name}.log").read_text()
    logs = {name: (tmp_path / f"{name}.log").read_text() for name in runs}

    # Standing first: the prompt before any step, "Calibrated" 2 s into standing, before any cue.
    log = logs["calibrated"]
    said = said_lines(log)
    assert said[0][1:] == (W.calibrate, "calibration") and log.index(W.calibrate) < log.index("step t=")
    t_cal = next(t for t, text, _ in said if text == W.calibrated)
    assert 2.0 <= t_cal <= 8.5, said
    assert W.calibration_missed not in log
    cues = [(t, tag) for t, _, tag in said if tag != "calibration"]
    form = [t for t, tag in cues if tag != "start"]
    assert cues and cues[0][1] == "start" and form, said  # the coach spoke, form cues included
    assert t_cal < cues[0][0] and log.index(W.calibrated) < log.index(f"] {W.start}")

    # Running from the first sample: missed, said once, before every cue; nothing lost.
    log = logs["missed"]
    said = said_lines(log)
    assert said[0][1] == W.calibrate and W.calibrated not in log
    assert [text for _, text, _ in said].count(W.calibration_missed) == 1
    t_missed = next(t for t, text, _ in said if text == W.calibration_missed)
    first_cue = next(i for i, (_, _, tag) in enumerate(said) if tag != "calibration")
    assert said[first_cue - 1][1] == W.calibration_missed and t_missed <= said[first_cue][0]
    assert 0.3 < t_missed < 6.0  # the engine takes the gait's baseline after ~3 s of gait
    assert str(LOW) in log  # the printed reason says what the baseline now is
    saved = int(re.search(r"pelvis: (\d+) samples saved to", log)[1])
    assert saved >= (DURATION - 0.2) * 200
    assert (tmp_path / "missed.report.html").is_file() and (tmp_path / "missed.cues.csv").is_file()

    # Spoken through the coach's output, one voice: the prompt, then the missed phrase with
    # nothing over it, and the start reminder (given in the same block) only after it.
    x, rate = read_wav(wav)
    loud = np.flatnonzero(np.abs(x) > 1e-4)
    prompt, missed = phrase(W.calibrate), phrase(W.calibration_missed)
    s_prompt = int(loud[0])
    assert s_prompt / rate < 0.2 and is_said_alone(x, s_prompt, prompt)
    s_missed = int(loud[np.searchsorted(loud, s_prompt + len(prompt))])
    assert abs(s_missed / rate - max(t_missed, (s_prompt + len(prompt)) / rate)) < 0.05
    assert is_said_alone(x, s_missed, missed)
    t_start = next(t for t, _, tag in said if tag == "start")
    s_next = int(loud[np.searchsorted(loud, s_missed + len(missed))])
    assert abs(s_next / rate - max(t_start, (s_missed + len(missed)) / rate)) < 0.05


def guide_with(**kw) -> tuple[CalibrationGuide, list[str]]:
    lines: list[str] = []
    return CalibrationGuide(W, console=lines.append, **kw), lines


def drive(sinks, seq) -> None:
    """Blocks ending at t with this status: (t, calibration, activity, steps delivered)."""
    for t, cal, activity, n in seq:
        flags = {"pelvic_drop_deg": LOW, "tilt_deg": LOW} if cal == "gait" else {}
        out = EngineOutput(empty_steps(n), Status(t=t, calibration=cal, activity=activity, flags=flags))
        block = SampleBlock(np.array([t]), np.zeros((1, 3)), np.zeros((1, 3)))
        for sink in sinks:
            sink.consume(block, out)


def still(t0, t1, cal="none", dt=0.5):
    return [(t, cal, "still", 0) for t in np.arange(t0, t1, dt)]


def test_standing_still_is_calibrated_once_and_said_before_the_run():
    guide, lines = guide_with()
    drive([guide], still(0.02, 2.3) + still(2.3, 8.0, "standing") + [(9.0, "standing", "run", 1)])
    assert guide.said == [(0.02, W.calibrate), (2.3, W.calibrated)] and guide.stage == "calibrated"
    assert lines[1] == f"[    2.30 s] {W.calibrated}  (calibration: standing baseline taken)"


def test_a_few_steps_into_position_then_standing_is_not_missed():
    guide, _ = guide_with()
    drive([guide], still(0.02, 1.0) + [(1.5, "none", "walk", 0), (2.0, "none", "walk", 0)]
          + still(2.5, 4.5) + still(4.5, 6.0, "standing"))  # fmt: skip
    assert [text for _, text in guide.said] == [W.calibrate, W.calibrated]


def test_running_off_is_missed_once_and_a_later_standing_still_calibrates():
    guide, lines = guide_with()
    run = [(t, "gait", "run", 1) for t in np.arange(3.5, 20.0, 0.5)]
    drive([guide], still(0.02, 0.5) + [(0.5, "none", "run", 0), (3.0, "none", "run", 0)] + run
          + still(20.0, 21.5, "gait") + still(21.5, 23.0, "standing"))  # fmt: skip
    assert guide.said == [(0.02, W.calibrate), (3.5, W.calibration_missed), (21.5, W.calibrated)]
    assert str(LOW) in lines[1] and "replacing the gait's" in lines[2]


def test_steps_before_any_baseline_count_as_missed():
    """Steps the engine had to emit before it had a baseline (ring full) are not from standing."""
    guide, _ = guide_with()
    drive([guide], still(0.02, 1.0) + [(1.0, "none", "walk", 2)])
    assert guide.said[-1] == (1.0, W.calibration_missed) and guide.stage == "missed"


def test_never_moving_never_still_enough_only_prompts_and_keeps_waiting():
    from imurun.ui.feed import DashboardFeed

    feed = DashboardFeed()
    guide, lines = guide_with(feed=feed)
    drive([feed, guide], still(0.02, 120.0))
    assert guide.said == [(0.02, W.calibrate)] and len(lines) == 1 and guide.stage == "waiting"
    snap = feed.snapshot(10.0, 60.0)
    assert snap.info.state == WAITING and [c.text for c in snap.cues] == [W.calibrate]


def test_calibrated_waits_for_the_prompt_to_end_in_the_wav(tmp_path):
    profile = RunnerProfile()
    coach = CoachSink(profile, build_outputs([f"wav:{tmp_path / 'v.wav'}"], profile), console=None)
    guide, _ = guide_with(coach=coach)
    drive([guide, coach], still(0.02, 1.0, dt=0.02) + still(1.0, 6.0, "standing", dt=0.02))
    coach.close()
    x, rate = read_wav(tmp_path / "v.wav")
    prompt, calibrated = phrase(W.calibrate), phrase(W.calibrated)
    start = int(round(0.02 * rate))
    assert guide.said[1][0] == 1.0 and len(prompt) / rate > 1.5  # due while the prompt is said
    assert is_said_alone(x, start, prompt)
    blocks = np.round(np.arange(1.0, 6.0, 0.02) * rate).astype(int)  # the first block after it
    later = int(blocks[np.searchsorted(blocks, start + len(prompt))])
    assert is_said_alone(x, later, calibrated) and not x[start + len(prompt) : later].any()


def test_dashboard_status_bar_says_waiting_then_calibrated():
    from imurun.ui.dashboard import Dashboard
    from imurun.ui.feed import DashboardFeed
    from imurun.ui.qt import qt_app

    app = qt_app(offscreen=True)
    feed = DashboardFeed()
    guide, _ = guide_with(feed=feed)
    window = Dashboard(feed)
    try:
        drive([feed, guide], still(0.02, 1.0))
        window.refresh()
        bar = window.status_label.text()
        assert "calibration: none" in bar and bar.endswith(WAITING)
        drive([feed, guide], still(2.3, 3.0, "standing"))
        window.refresh()
        bar = window.status_label.text()
        assert "calibration: standing" in bar and "calibrating" not in bar
        assert window.cue_texts()[0].startswith(f"0:02  {W.calibrated}\ncalibration: ")
    finally:
        window.close()
        window.deleteLater()
        app.processEvents()


def test_recalibrate_mid_run_prompts_again_and_is_never_missed():
    """The dashboard's Recalibrate: the engine flags `calibration` until a new standing baseline;
    the runner hears the prompt again, keeps running a while (the old baseline stays: not missed),
    then stands still and hears "Calibrated"."""
    guide, _ = guide_with()
    waiting = {"calibration": Flag(FlagKind.NOTE, "waiting for 2 s of standing still")}

    def block(t, activity, steps, flags):
        status = Status(t=t, calibration="standing", activity=activity, flags=flags)
        out = EngineOutput(empty_steps(steps), status)
        guide.consume(SampleBlock(np.array([t]), np.zeros((1, 3)), np.zeros((1, 3))), out)

    drive([guide], still(0.02, 2.3) + still(2.3, 3.0, "standing"))
    for t in np.arange(3.0, 30.0, 0.5):
        block(t, "run", 1, waiting if t >= 20.0 else {})  # Recalibrate pressed at 20 s
    for t in np.arange(30.0, 32.0, 0.5):
        block(t, "still", 0, waiting)
    block(32.0, "still", 0, {})
    assert [text for _, text in guide.said] == [W.calibrate, W.calibrated, W.calibrate, W.calibrated]
    assert [t for t, _ in guide.said][2:] == [20.0, 32.0] and guide.stage == "calibrated"
