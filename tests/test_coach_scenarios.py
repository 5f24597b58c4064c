"""The coach on the simulator's scenarios: the expected cues near the times the truth implies.

Truth steps (what NAME.steps.csv holds) are fed as the engine emits steps: at the next IC plus a
delay. The fatigue scenario degrades linearly, so a straight line fitted to a truth metric gives
its true value at any time; the expected time of a cue is where that line crosses the profile's
threshold. "Near" is judged in the metric's own units: at the cue, the true value must be within
a tolerance of the threshold (a per-step scatter of ~0.5 deg makes an 8-of-10 pattern form a
little before or after the mean crosses; the cadence sags only 0.025 spm/s, so a 1 spm scatter
moves its cue by up to a minute).
"""

import numpy as np
import pytest

from imurun.coach.profile import RunnerProfile
from imurun.coach.rules import CoachState, coach_steps
from imurun.sources.simulate import simulate

PROFILE = RunnerProfile()
EMIT_DELAY = 0.08


def coach_truth(steps, profile=PROFILE):
    state, cues = CoachState(), []
    for s in steps:
        new, state = coach_steps(s[None], float(s["t"] + s["step_time_s"] + EMIT_DELAY), state, profile)
        cues += new
    return cues, state


def trend(steps, metric, stance=None):
    """Linear fit of the truth metric over time: (value at t, time it reaches a value)."""
    sel = steps if stance is None else steps[steps["side"] == stance]
    slope, offset = np.polyfit(sel["t"], sel[metric], 1)
    return (lambda t: slope * t + offset), (lambda v: (v - offset) / slope)


def times(cues, cue, side=None):
    return [c.t for c in cues if c.cue == cue and (side is None or c.side == side)]


def truth_steps(name, seed=2):
    """Truth steps only: the sample rate and sensor errors do not change them, so skip the work.
    (Seed 2 here; test_coach_engine runs seed 1.)"""
    return simulate(name, seed=seed, rate_hz=20.0, ideal=True).steps


@pytest.fixture(scope="module")
def truth():
    return {name: truth_steps(name) for name in ("easy-run", "fatigue", "overstride")}


def test_easy_run_gets_only_the_start_reminder(truth):
    steps = truth["easy-run"]
    cues, _ = coach_truth(steps)
    assert [c.cue for c in cues] == ["start"]
    assert steps["t"][0] < cues[0].t < steps["t"][0] + 1.0


def check_fatigue(steps, cues, target_spm, tol_deg, tol_spm):
    """Hips (left), arch and cadence cues when the truth reaches each threshold, within tolerances."""
    th = PROFILE.thresholds
    cadence_limit = target_spm * (1 - PROFILE.cadence.tolerance_pct / 100)
    expected = [  # cue, side, metric, stance, threshold, tolerance
        ("level_hips", "L", "pelvic_drop_deg", "R", th.pelvic_drop_deg, tol_deg),
        ("ease_arch", None, "tilt_deg", None, th.tilt_deg, tol_deg),
        ("quicker_steps", None, "cadence_spm", None, cadence_limit, tol_spm),
    ]
    for cue, side, metric, stance, threshold, tol in expected:
        value_at, time_of = trend(steps, metric, stance)
        given = times(cues, cue, side)
        assert given, f"no {cue} cue; expected near {time_of(threshold):.0f} s"
        assert abs(value_at(given[0]) - threshold) <= tol, (
            f"{cue} at {given[0]:.0f} s, true {metric} {value_at(given[0]):.2f} there; expected near "
            f"{time_of(threshold):.0f} s where it reaches {threshold:.2f}"
        )
        assert np.all(np.diff(given) >= PROFILE.timing.cue_cooldown_s)
    # Right-stance drop grows 5 -> 9 deg: the LEFT hip drops. The right hip never does.
    assert times(cues, "level_hips", "R") == []
    assert "cadence" in next(c.reason for c in cues if c.cue == "quicker_steps")
    assert times(cues, "praise") == []  # the simulated runner never fixes anything
    assert times(cues, "lean_forward") == []  # no trunk sensor


def baseline_target(steps):
    """The truth's step rate over the baseline window, after the quiet start (increase 0 %)."""
    run = steps["t"] - steps["t"][0]
    q, b = PROFILE.timing.quiet_start_s, PROFILE.cadence.baseline_s
    base = steps["step_time_s"][(run >= q) & (run < q + b)]
    return 60.0 * len(base) / float(np.sum(base))


def test_fatigue_cues_hips_arch_and_cadence_when_the_truth_crosses_the_thresholds(truth):
    steps = truth["fatigue"]
    cues, state = coach_truth(steps)
    assert state.target_spm == pytest.approx(baseline_target(steps))
    check_fatigue(steps, cues, state.target_spm, tol_deg=0.4, tol_spm=2.0)


def test_overstride_cues_quicker_shorter_steps_for_braking(truth):
    steps = truth["overstride"]
    cues, _ = coach_truth(steps)
    assert {c.cue for c in cues} == {"start", "quicker_steps"}
    quicker = [c for c in cues if c.cue == "quicker_steps"]
    # Braking is high from the first step: the cue comes as soon as the quiet start ends.
    quiet_end = steps["t"][0] + PROFILE.timing.quiet_start_s
    assert quiet_end <= quicker[0].t <= quiet_end + 1.0
    assert all(c.reason.startswith("braking median 0.7") for c in quicker)
    gaps = np.diff([c.t for c in quicker])
    assert np.all(gaps >= 60.0) and np.all(gaps < 61.0) and len(quicker) == 4  # 240 s session


@pytest.mark.parametrize(
    ("name", "cues_expected"),
    [("walk", []), ("intervals", ["start"]), ("trunk", ["start"]), ("loose-mount", ["start"])],
)
def test_walking_pauses_and_good_form_are_silent(name, cues_expected):
    """Walking is never coached; the start reminder comes with the first running step, once; a
    good trunk posture (10 deg lean, lumbar flexed) gives no trunk cue."""
    steps = truth_steps(name)
    cues, _ = coach_truth(steps)
    assert [c.cue for c in cues] == cues_expected
    if cues:
        first_run = steps[steps["activity"] == "run"][0]
        assert cues[0].t == pytest.approx(first_run["t"] + first_run["step_time_s"] + EMIT_DELAY)
