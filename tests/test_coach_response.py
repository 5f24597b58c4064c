"""Cue response through the CoachSink: the cue's metric before it and 10-30 s after it, in the cue
log; and the engine's calibration state reaching the rules. Steps are fed as engine output blocks."""

import math

import numpy as np
import pytest
from test_coach_rules import EMIT_DELAY, absolute, run_steps

from imurun.blocks import SampleBlock
from imurun.coach.cues import read_cues_csv
from imurun.coach.response import response_text
from imurun.coach.sink import CoachSink
from imurun.core.output import EngineOutput, Status


def feed(steps, out_dir, calibration="standing", profile=None):
    """Each step as one engine block delivered at its emission time (the sink is left open)."""
    out_dir.mkdir(exist_ok=True)
    sink = CoachSink(profile or absolute(), cue_log=out_dir / "cues.csv", console=None)
    for s in steps:
        t = float(s["t"] + s["step_time_s"] + EMIT_DELAY)
        block = SampleBlock(np.array([t]), np.zeros((1, 3)), np.zeros((1, 3)))
        status = Status(t=t, calibration=calibration, activity=str(s["activity"]))
        sink.consume(block, EngineOutput(s[None], status))
    return sink


def test_each_cue_gets_its_metric_before_and_after_in_the_cue_log(tmp_path):
    steps = run_steps(0.0, 700)
    left = steps["side"] == "L"  # left stance: the right hip drops
    steps["pelvic_drop_deg"][left & (steps["t"] > 20.0)] = 9.0
    sink = feed(steps[steps["t"] < 50.0], tmp_path)
    cue = next(c for c in sink.cues if c.cue == "level_hips")
    assert cue.side == "R" and cue.metric == "pelvic_drop_deg" and 30.0 < cue.t < 31.0
    assert cue.before == 9.0 and math.isnan(cue.after)  # runner has not responded yet
    sink.close()
    logged = read_cues_csv(tmp_path / "cues.csv")
    assert [(c.cue, c.side) for c in logged] == [("start", ""), ("level_hips", "R")]
    assert math.isnan(logged[0].before) and logged[1].before == 9.0
    assert logged[1].after == 9.0  # 10-30 s after: still 9 deg (no response)

    fixed = steps.copy()  # the runner levels the hips 5 s after the cue
    fixed["pelvic_drop_deg"][left & (fixed["t"] > cue.t + 5.0)] = 4.5
    sink = feed(fixed, tmp_path / "x")
    hips = next(c for c in sink.cues if c.cue == "level_hips")
    assert hips.before == 9.0 and hips.after == 4.5  # measured by cue + 31 s, while still running
    assert sink.responded == [sink.cues.index(hips)]
    assert response_text(hips, absolute()) == "pelvic drop 9.0 → 4.5 deg: better by 4.5"
    sink.close()
    assert read_cues_csv(tmp_path / "x" / "cues.csv")[1].after == 4.5


def test_cadence_response_and_a_window_closed_by_walking(tmp_path):
    steps = run_steps(0.0, 130, cadence=160.0)  # target 170: "quicker steps" at ~30 s
    walk = run_steps(steps["t"][-1] + 0.4, 30, cadence=110, activity="walk")
    sink = feed(np.concatenate([steps, walk]), tmp_path)
    i, cue = next((i, c) for i, c in enumerate(sink.cues) if c.cue == "quicker_steps")
    assert cue.metric == "cadence_spm" and cue.before == pytest.approx(160.0)
    # the runner walks from ~49 s, 19 s after the cue: the window closes then, with the running
    # steps from cue + 10 s on
    assert sink.responded == [i] and cue.after == pytest.approx(160.0)
    sink.close()


def test_cadence_response_is_a_step_rate_like_the_rule_and_target(tmp_path):
    """Cadence before / after are the step rate (60 x steps / their summed times), the estimate the
    cadence rule and target use, not a median of per-step cadences (which coarse step times bias)."""
    steps = run_steps(0.0, 300)
    pattern = np.resize([0.34, 0.40, 0.34, 0.40, 0.34], len(steps))  # median 176.5 spm, rate 164.8 spm
    steps["step_time_s"], steps["cadence_spm"] = pattern, 60.0 / pattern
    steps["t"] = np.concatenate([[0.0], np.cumsum(pattern[:-1])])
    sink = feed(steps, tmp_path, profile=absolute(target=175.0))
    sink.close()
    cue = next(c for c in sink.cues if c.cue == "quicker_steps")
    rate = 60.0 * 5 / pattern[:5].sum()
    assert cue.before == pytest.approx(rate, rel=0.01) and cue.after == pytest.approx(rate, rel=0.01)


def test_sink_cues_tilt_on_its_change_when_the_engine_has_no_standing_calibration(tmp_path):
    steps = run_steps(0.0, 300, tilt_deg=7.0)  # engine's tilt: 7 deg throughout
    standing = feed(steps, tmp_path / "a")
    assert [c.cue for c in standing.cues][:2] == ["start", "ease_arch"]
    gait = feed(steps, tmp_path / "b", calibration="gait")
    assert [c.cue for c in gait.cues] == ["start"]  # no baseline for 7 deg: no change, no cue
    assert gait.state.relative and gait.state.posture_ref == {"tilt_deg": 7.0, "lumbar_ext_deg": 3.0}
