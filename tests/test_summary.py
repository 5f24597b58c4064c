"""summarize() on hand-made steps whose summary is known exactly."""

import dataclasses
import json
import math

import numpy as np
import pytest

from imurun.core.output import METRIC_COLUMNS, SIDES_ALTERNATE_ONLY, Status, empty_steps
from imurun.summary import asymmetry_pct, summarize


def make_steps():
    """150 s: 100 running steps L/R alternating, left steps drop 4 deg, right steps 6 deg; then walking."""
    s = empty_steps(130)
    for name in METRIC_COLUMNS:
        s[name] = np.nan
    s["t"] = np.concatenate([0.5 + 0.35 * np.arange(100), 100.0 + 0.5 * np.arange(30)])
    s["side"] = ["L" if k % 2 == 0 else "R" for k in range(130)]
    s["activity"] = ["run"] * 100 + ["walk"] * 30
    s["step_time_s"] = [0.35] * 100 + [0.5] * 30
    s["cadence_spm"] = 60.0 / s["step_time_s"]
    s["pelvic_drop_deg"] = np.where(s["side"] == "L", 4.0, 6.0)
    s["tilt_deg"] = np.arange(130) % 3  # 0, 1, 2, ...
    s["contact_time_s"][:100] = 0.25  # walking steps: NaN (not estimated)
    s["braking_mps"] = 0.2
    return s


STATUS = Status(
    t=150.0,
    calibration="standing",
    sample_rate_hz=200.0,
    samples=29_900,
    gaps=2,
    gap_time_s=0.5,
    lost_samples=100,
    nan_samples=3,
    saturated_samples=1,
    flags={"lumbar_ext_deg": "proxy: anterior pelvic tilt (no trunk sensor)"},
)


@pytest.fixture(scope="module")
def summary():
    return summarize(make_steps(), STATUS, 150.0, header={"device": "sim", "sample_rate_hz": 200.0})


def test_totals_and_cadence(summary):
    assert summary["duration_s"] == 150.0
    assert summary["steps"] == 130
    assert summary["steps_by_side"] == {"L": 65, "R": 65}
    assert summary["time_running_s"] == pytest.approx(35.0)
    assert summary["time_walking_s"] == pytest.approx(15.0)
    assert summary["cadence_mean_spm"] == pytest.approx((100 * 60 / 0.35 + 30 * 120) / 130)
    assert summary["cadence_median_spm"] == pytest.approx(60 / 0.35)


def test_per_side_stats_and_asymmetry(summary):
    drop = summary["metrics"]["pelvic_drop_deg"]
    assert drop["L"] == {"mean": 4.0, "sd": 0.0, "n": 65}
    assert drop["R"] == {"mean": 6.0, "sd": 0.0, "n": 65}
    assert drop["asymmetry_pct"] == pytest.approx(100 * (4 - 6) / 5)
    contact = summary["metrics"]["contact_time_s"]
    assert contact["all"]["n"] == 100 and contact["L"]["n"] == 50
    tilt = summary["metrics"]["tilt_deg"]["all"]
    values = np.arange(130) % 3
    assert tilt["mean"] == pytest.approx(values.mean())
    assert tilt["sd"] == pytest.approx(values.std(ddof=1))
    # no trunk sensor: nothing to average, said as null, not 0
    assert summary["metrics"]["trunk_lean_deg"]["L"] == {"mean": None, "sd": None, "n": 0}
    assert summary["metrics"]["trunk_lean_deg"]["asymmetry_pct"] is None
    assert set(summary["metrics"]) == set(METRIC_COLUMNS)


def test_sides_that_only_alternate_are_not_split():
    """A two-axis sacral accelerometer gives no side evidence: its steps' sides alternate from a
    guess, so a per-side mean is foot A or B, and an asymmetry's sign is a coin toss. Left out;
    the means over all steps stay."""
    status = dataclasses.replace(STATUS, flags={"side": SIDES_ALTERNATE_ONLY})
    guessed = summarize(make_steps(), status, 150.0)
    drop = guessed["metrics"]["pelvic_drop_deg"]
    assert drop["L"] == drop["R"] == {"mean": None, "sd": None, "n": 0}
    assert drop["asymmetry_pct"] is None and drop["all"]["n"] == 130
    assert guessed["quality"]["flags"]["side"] == str(SIDES_ALTERNATE_ONLY)


def test_asymmetry_needs_two_positive_means():
    assert asymmetry_pct(4.0, 6.0) == pytest.approx(-40.0)
    assert asymmetry_pct(-1.0, 1.0) is None
    assert asymmetry_pct(0.0, 0.0) is None
    assert asymmetry_pct(None, 2.0) is None


def test_minute_splits(summary):
    splits = summary["splits"]
    assert [(s["t0_s"], s["t1_s"]) for s in splits] == [(0.0, 60.0), (60.0, 120.0), (120.0, 150.0)]
    steps = make_steps()
    for split in splits:
        inside = (steps["t"] >= split["t0_s"]) & (steps["t"] < split["t1_s"])
        assert split["steps"] == int(inside.sum())
    assert splits[0]["cadence_spm"] == pytest.approx(60 / 0.35)
    assert splits[0]["pelvic_drop_deg"] == {"L": 4.0, "R": 6.0}
    assert splits[0]["contact_time_s"] == 0.25
    # running ends at 35.15 s; walking fills 100..114.5 s: no contact time; the last minute is empty
    assert splits[1]["steps"] == 30 and splits[1]["contact_time_s"] is None
    assert splits[1]["cadence_spm"] == 120.0
    assert splits[1]["braking_mps"] == pytest.approx(0.2)
    assert splits[2]["steps"] == 0 and splits[2]["cadence_spm"] is None
    assert splits[2]["pelvic_drop_deg"] == {"L": None, "R": None}


def test_quality_and_header(summary):
    q = summary["quality"]
    assert q["calibration"] == "standing"
    assert (q["gaps"], q["gap_time_s"], q["lost_samples"]) == (2, 0.5, 100)
    assert q["packet_loss_pct"] == pytest.approx(100 * 100 / 30_000)
    assert (q["nan_samples"], q["saturated_samples"]) == (3, 1)
    assert q["flags"] == {"lumbar_ext_deg": "proxy: anterior pelvic tilt (no trunk sensor)"}
    assert summary["session"] == {"device": "sim", "sample_rate_hz": 200.0}


def test_strict_json_round_trip(summary):
    text = json.dumps(summary, allow_nan=False)
    assert json.loads(text) == summary


def test_steps_in_no_gait_posture_stay_out_of_the_means():
    """Steps taken while bending (the real Test11 walk: "pelvic drop" 79-90 deg) are counted, not averaged."""
    steps = make_steps()
    steps["pelvic_drop_deg"][10] = 85.0
    steps["tilt_deg"][11] = -40.0
    s = summarize(steps, STATUS, 150.0)
    assert s["steps"] == 130 and s["steps_outside_gait_posture"] == 2
    assert s["metrics"]["pelvic_drop_deg"]["all"]["n"] == 128
    assert s["metrics"]["pelvic_drop_deg"]["L"]["mean"] == pytest.approx(4.0)


def test_no_steps_at_all():
    s = summarize(empty_steps(), Status(), 12.5)
    json.dumps(s, allow_nan=False)
    assert s["steps"] == 0 and s["cadence_mean_spm"] is None and s["cadence_median_spm"] is None
    assert s["time_running_s"] == 0.0
    assert [(x["t0_s"], x["t1_s"], x["steps"]) for x in s["splits"]] == [(0.0, 12.5, 0)]
    assert s["session"] is None
    assert not math.isnan(s["quality"]["packet_loss_pct"])


def test_session_header_becomes_its_key_value_lines():
    from imurun.session.format import SessionHeader

    header = SessionHeader(device="dev", sample_rate_hz=100.0, extra={"distance_m": "5000"})
    s = summarize(empty_steps(), Status(), 1.0, header)
    json.dumps(s, allow_nan=False)
    assert s["session"]["device"] == "dev" and s["session"]["sample_rate_hz"] == 100.0
    assert s["session"]["distance_m"] == "5000"  # unknown keys stay text, as written
    assert s["session"]["columns"] == ["t", "ax", "ay", "az", "gx", "gy", "gz"]
    assert "extra" not in s["session"]
