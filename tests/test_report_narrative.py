"""The reading's rules on hand-made steps whose trends are known exactly."""

import numpy as np
import pytest

from imurun.core.output import STEP_DTYPE
from imurun.report import narrative as nr

ALL = tuple(k for k in nr.SERIES if k != "lumbar_ext")


def _steps(minutes=10.0, cadence=(170.0, 170.0), drop_l_stance=(5.0, 5.0), onset=0.0, seed=0, noise=1.0):
    """Running steps; cadence and left-stance drop move linearly from `onset` (fraction) to the end."""
    rng = np.random.default_rng(seed)
    n = int(minutes * cadence[0])
    s = np.zeros(n, STEP_DTYPE)
    s["t"] = 8.0 + np.arange(n) * 60.0 / cadence[0]
    s["side"] = np.where(np.arange(n) % 2 == 0, "L", "R")
    s["activity"] = "run"
    frac = (s["t"] - s["t"][0]) / (s["t"][-1] - s["t"][0])
    ramp = np.clip((frac - onset) / (1 - onset), 0, 1)
    s["cadence_spm"] = cadence[0] + (cadence[1] - cadence[0]) * ramp + rng.normal(0, 2 * noise, n)
    drop = drop_l_stance[0] + (drop_l_stance[1] - drop_l_stance[0]) * ramp
    s["pelvic_drop_deg"] = np.where(s["side"] == "L", drop, 5.0) + rng.normal(0, noise, n)
    s["contact_time_s"] = 0.25 + rng.normal(0, 0.01 * noise, n)
    s["vertical_osc_cm"] = 8 + rng.normal(0, 0.5 * noise, n)
    s["braking_mps"] = 0.25 + rng.normal(0, 0.04 * noise, n)
    s["tilt_deg"] = 4 + rng.normal(0, noise, n)
    return s


def test_rising_drop_and_falling_cadence_are_found_with_their_numbers():
    trends = nr.find_trends(_steps(cadence=(170, 160), drop_l_stance=(5, 9)), ALL)
    by_key = {t.key: t for t in trends}
    assert set(by_key) == {"cadence", "drop_right_hip"}  # left stance: the right hip drops
    cad, drop = by_key["cadence"], by_key["drop_right_hip"]
    assert cad.direction == "fell" and drop.direction == "rose"
    # First / last quarter medians of a linear ramp: 1/8 and 7/8 of the way.
    assert drop.early == pytest.approx(5.5, abs=0.3) and drop.late == pytest.approx(8.5, abs=0.3)
    assert cad.percent == pytest.approx(-100 * 7.5 / 168.75, abs=0.6)
    text = nr.describe_trend(drop)
    assert text.startswith("Pelvic drop of the right hip rose from 5.") and "gradually over the run" in text


def test_onset_of_a_late_change_is_placed_near_where_it_began():
    s = _steps(minutes=20, drop_l_stance=(5, 10), onset=0.5)
    (trend,) = nr.find_trends(s, ("drop_right_hip",))
    begin = s["t"][0] + 0.5 * (s["t"][-1] - s["t"][0])
    assert trend.shape == "ramp" and abs(trend.onset_s - begin) < 90.0
    clock = f"{int(trend.onset_s // 60)}:{int(trend.onset_s % 60):02d}"
    assert f"from about {clock} on" in nr.describe_trend(trend)


def test_sudden_change_reads_as_a_jump_at_its_time():
    s = _steps(minutes=10)
    after = s["t"] >= 300.0
    s["tilt_deg"][after] += 5.0  # e.g. the sensor slipped at 5:00
    (trend,) = nr.find_trends(s, ("tilt",))
    assert trend.shape == "jump" and abs(trend.onset_s - 300.0) <= nr.BIN_S
    assert trend.early == pytest.approx(4.0, abs=0.3) and trend.late == pytest.approx(9.0, abs=0.3)
    clock = f"{int(trend.onset_s // 60)}:{int(trend.onset_s % 60):02d}"
    assert f"suddenly at about {clock} (median of the first" in nr.describe_trend(trend)


@pytest.mark.parametrize("seed", range(5))
def test_steady_noisy_run_claims_no_trend(seed):
    assert nr.find_trends(_steps(noise=2.5, seed=seed), ALL) == []


def test_change_below_the_smallest_meaningful_change_is_not_reported():
    # 1 deg drift with almost no noise is statistically clear but below the 1.5 deg rule.
    assert nr.find_trends(_steps(drop_l_stance=(5, 6.2), noise=0.05), ("drop_right_hip",)) == []


def test_short_gait_is_not_judged():
    s = _steps(minutes=1.5, cadence=(170, 140))
    assert nr.find_trends(s, ALL) == []


def test_gait_steps_prefers_running_and_needs_enough_steps():
    s = _steps(minutes=1)
    assert nr.gait_steps(s)[0] == "run"
    s["activity"][10:] = "walk"
    assert nr.gait_steps(s)[0] == "walk"
    assert nr.gait_steps(s[:30])[0] == ""


def test_asymmetry_and_exceedance_sentences_fire_only_beyond_their_limits():
    def hip(mean, sd=1.0, n=100):
        return {"mean": mean, "sd": sd, "n": n}

    assert nr.describe_asymmetry(hip(5.0), hip(5.4), 7.7) is None  # too small
    line = nr.describe_asymmetry(hip(4.0), hip(8.0), -66.7)
    assert line == "Your right hip dropped more than your left: 8.0° vs 4.0° on average (67 % asymmetry)."
    # The same means from 40 widely scattered steps per side are no evidence of asymmetry.
    assert nr.describe_asymmetry(hip(4.0, 14.0, 40), hip(8.0, 14.0, 40), -66.7) is None
    assert nr.describe_asymmetry(hip(None, None, 0), hip(8.0), None) is None
    s = _steps(drop_l_stance=(9, 9), noise=0.5)
    line = nr.describe_exceedance(s, "drop_right_hip", 7.0, "running steps")
    assert line == "Pelvic drop of the right hip was above 7.0° on 100% of running steps."
    assert nr.describe_exceedance(s, "drop_left_hip", 7.0, "running steps") is None


def test_cue_sentence_counts_each_cue_and_side():
    assert nr.describe_cues([], []) == "The coach gave no cue."
    line = nr.describe_cues(["level_hips", "level_hips", "quicker_steps"], ["R", "R", ""])
    assert line == "The coach gave 3 cues: 2 × level hips (right), 1 × quicker steps."


def test_binned_medians_leave_empty_bins_empty():
    t = np.array([0.0, 1.0, 2.0, 70.0, 71.0])
    x, m = nr.binned_medians(t, np.array([1.0, 3.0, 2.0, 5.0, np.nan]), 0.0, 90.0, 30.0)
    np.testing.assert_allclose(x, [15.0, 45.0, 75.0])
    np.testing.assert_equal(m, [2.0, np.nan, 5.0])
