"""Engine accuracy against ground truth, kept as floors (the achieved figures are in docs/engine.md).

Simulator: scenarios x rates with random mounting, scored with `imurun.validate.score`. Real data:
the three lower-back walking recordings in shared/data/real, scored inside the reference bouts.
The floors sit just under what the engine achieves, so a regression fails; the issue's targets
are asserted where they are met.
"""


import numpy as np
import pytest
from realdata import REAL, REAL_TRIALS, at_rate, kept_after_loss, with_dynamic, with_gyro_offset
from scipy.signal import decimate

from imurun.core.engine import Engine
from imurun.core.kernel import WALK_SCALE_MAX
from imurun.core.output import Flag, FlagKind
from imurun.session.reader import read_session
from imurun.session.truth import read_bouts_csv, read_steps_csv
from imurun.sources.simulate import simulate
from imurun.validate import match, pooled, score

LOW = FlagKind.LOW_CONFIDENCE


def _f1(s: dict, tol_ms: int) -> float:
    return next(d["f1"] for d in s["detection"] if d["tolerance_ms"] == tol_ms)


def _run(sim):
    eng = Engine(sim.rate_hz)
    return eng.process(sim.t, sim.acc, sim.gyr, sim.trunk_acc, sim.trunk_gyr)


def _real_as(change, finish: bool = True) -> tuple[dict, list[Engine]]:
    """One score over the bundled real recordings, inside the reference bouts, each as
    `change(t, acc, gyr, rate) -> (t, acc, gyr, rate)` gives it (another sensor's rate, lost
    samples, a gyro bias), and the engines, for their status."""
    parts, engines = [], []
    for name in REAL_TRIALS:
        header, block = read_session(REAL / f"{name}.csv")
        t, acc, gyr, rate = change(block.t, block.acc, block.gyr, header.sample_rate_hz)
        eng = Engine(rate)
        steps = eng.process(t, acc, gyr).steps
        if finish:
            steps = np.concatenate([steps, eng.finish().steps])
        engines.append(eng)
        parts.append((t[-1], steps, read_steps_csv(REAL / f"{name}.steps.csv"),
                      read_bouts_csv(REAL / f"{name}.bouts.csv")))
    return score(*pooled(parts)), engines


def _real_score(every: int = 1, gyro: bool = True) -> dict:
    """As a sensor would stream them at 1/`every` of their rate (anti-aliased), with or without
    its gyroscope; the steps of live mode (not the last of each trial, owed at its end)."""
    def change(t, acc, gyr, rate):
        t = t[::every]
        if every > 1:
            acc, gyr = (decimate(x, every, axis=0, zero_phase=True)[: len(t)] for x in (acc, gyr))
        return t, acc, gyr if gyro else np.full_like(gyr, np.nan), rate / every

    return _real_as(change, finish=False)[0]


RUNNING = ["easy-run", "fatigue", "overstride", "loose-mount"]


@pytest.mark.parametrize("rate", [100.0, 200.0])
@pytest.mark.parametrize("scenario", RUNNING)
def test_running_scenarios_meet_the_targets(scenario, rate):
    sim = simulate(scenario, seed=1, rate_hz=rate, duration_s=150.0)
    s = score(_run(sim).steps, sim.steps)
    m = s["metrics"]
    assert _f1(s, 50) >= 0.99
    assert s["timing"]["mae_ms"] <= 15.0
    assert s["side"]["accuracy"] >= 0.99
    assert s["cadence"]["mae_spm"] <= 1.0
    assert m["pelvic_drop_deg"]["rmse"] <= 1.0
    assert m["tilt_deg"]["rmse"] <= 1.0
    assert m["contact_time_s"]["rmse"] <= 0.02
    assert m["vertical_osc_cm"]["rmse"] <= 1.0
    assert m["braking_mps"]["rmse"] <= 0.05


@pytest.mark.parametrize(("rate", "cadence_mae"), [(50.0, 2.5), (400.0, 0.3)])
def test_running_at_the_ends_of_the_rate_range(rate, cadence_mae):
    """50 Hz: one sample is ~6 % of a step, so per-step cadence is coarse: 2.08 spm (3.6 when the
    landing's tangent was the one secant across the 0.5 g crossing). 400 Hz: 0.28 spm. Both 2.17 /
    0.14 while every landing's IC was its tangent's foot: the simulated landing rises from the
    contact as a straight ramp, so that foot is exact here, and the norm's 1 g crossing that now
    times steady landings adds its own scatter (on the real runner it removes 30 % of the per-step
    cadence error: tests/test_real_sets.py)."""
    sim = simulate("easy-run", seed=1, rate_hz=rate, duration_s=150.0)
    s = score(_run(sim).steps, sim.steps)
    assert _f1(s, 50) >= 0.99 and s["timing"]["mae_ms"] <= 15.0 and s["side"]["accuracy"] >= 0.99
    assert s["cadence"]["mae_spm"] <= cadence_mae


@pytest.mark.parametrize("scenario", ["easy-run", "overstride"])
def test_a_runner_whose_sacrum_never_reaches_the_flight_level_is_still_running(scenario):
    """The dynamic acceleration x 0.6: the sacrum dips to 0.4 g between stances, the flight level,
    never below, as a softer runner's might. The walking detector took every step ~90 ms late, on
    the rise into the mid-stance peak, as walking steps without contact time: F1@50 0.06 / 0.07.
    A stance that rose out of sf below the contact level at a running rhythm is a running one,
    its loading peak the impact's (F1@50 0.99 / 1.00, contact time on every step but the last)."""
    sim, steps = _softer_run(scenario, 1, 0.6)
    s = score(steps, sim.steps)
    assert _f1(s, 50) >= 0.98
    assert np.mean(steps["activity"] == "run") >= 0.95
    assert np.isfinite(steps["contact_time_s"][:-1]).mean() >= 0.95


@pytest.mark.parametrize(("scenario", "seed"), [("easy-run", 1), ("fatigue", 2)])
def test_a_runner_whose_sacrum_stays_above_the_contact_level_lands_where_it_lands(scenario, seed):
    """The dynamic acceleration x 0.45: between stances the sacrum stays at ~0.55 g, above the
    contact level, so no stance rises out of it, and the walking detector took every step on the
    rise into the active peak, ~90 ms late (F1@50 0.07 / 0.07). A stance at 160 spm or more whose
    peak passes 1.6 g is a landing, and its row stays on the rise into the impact: 0.99 / 0.99.
    (The IC is still ~43 ms after the simulated one, which a small bump before the impact marks.)"""
    sim, steps = _softer_run(scenario, seed, 0.45)
    assert _f1(score(steps, sim.steps), 50) >= 0.98


def _softer_run(scenario: str, seed: int, gain: float):
    """(sim, every step analyze reports) of a 60 s simulated run at 200 Hz with its dynamic
    acceleration x `gain`, gravity kept."""
    sim = simulate(scenario, seed=seed, rate_hz=200.0, duration_s=60.0)
    acc = with_dynamic(sim.acc, sim.rate_hz, gain, 0.5)
    eng = Engine(sim.rate_hz)
    return sim, np.concatenate([eng.process(sim.t, acc, sim.gyr).steps, eng.finish().steps])


def test_the_last_step_of_a_run_without_flights_is_not_lost_at_the_end():
    """A walking-detector step waits to see whether a flight follows its peak; at the end of the
    stream none can, so analyze reports it (it was lost: every 5 s clip of the real runner with
    its dynamic acceleration x 0.6 missed its last step)."""
    sim = simulate("easy-run", seed=1, rate_hz=200.0, duration_s=20.0)
    acc = with_dynamic(sim.acc, sim.rate_hz, 0.6, 0.5)
    for t_ic in sim.steps["t"][-6:-1]:
        keep = sim.t <= t_ic + 0.3
        eng = Engine(sim.rate_hz)
        steps = np.concatenate([eng.process(sim.t[keep], acc[keep], sim.gyr[keep]).steps, eng.finish().steps])
        assert abs(steps["t"][-1] - t_ic) <= 0.05


@pytest.mark.parametrize(("rate", "seed"), [(50.0, 1), (50.0, 2), (100.0, 0)])
def test_a_toe_off_is_never_read_across_lost_packets(rate, seed):
    """The toe-off is read from the stance's own samples at the step's close, and a stance that
    lost > 30 ms of samples, or whose landing fell in such a gap, has none (NaN, 3-4 % of these
    steps). Recorded live instead, it could be read across a packet gap or in the next stance after
    a step lost to one: contact time up to 0.41 s off at 50 Hz. Counted from an IC placed after a
    gap that hid the landing (48 ms late), a contact was 42 ms short; now at most 32 ms off."""
    sim = simulate("loose-mount", seed=seed, rate_hz=rate, duration_s=120.0)
    steps = _run(sim).steps
    di, ti = match(steps["t"], sim.steps["t"], 0.05)
    err = steps["contact_time_s"][di] - sim.steps["contact_time_s"][ti]
    assert np.isfinite(err).mean() >= 0.95
    assert np.nanmax(np.abs(err)) <= 0.04


def test_a_landing_hidden_in_a_packet_gap_is_still_a_step_at_the_right_time():
    """Every 8th landing falls in a 90-130 ms gap that began early in the flight phase: the rise
    is never seen, so the IC is placed by the step rhythm within the gap. Before that, 7 of these
    37 steps were missed and the rest placed 110 ms off on average (cadence MAE 8.7 spm); now
    none is missed, 19 ms off (a gap that swallowed the whole flight still lands late)."""
    sim = simulate("easy-run", seed=2, rate_hz=100.0, duration_s=120.0, ideal=True)
    rng = np.random.default_rng(0)
    hidden = np.sort(sim.steps["t"])[20::8]
    keep = np.ones(len(sim.t), bool)
    for ic in hidden:
        before, after = rng.uniform(0.07, 0.09), rng.uniform(0.02, 0.04)
        keep &= ~((sim.t > ic - before) & (sim.t < ic + after))
    out = Engine(sim.rate_hz).process(sim.t[keep], sim.acc[keep], sim.gyr[keep])
    det = out.steps["t"]
    err = np.array([det[np.argmin(np.abs(det - ic))] - ic for ic in hidden])
    assert out.status.gaps >= len(hidden)
    assert np.all(np.abs(err) <= 0.05), np.round(err, 3)  # every hidden landing found
    assert np.mean(np.abs(err)) <= 0.025
    s = score(out.steps, sim.steps)
    assert _f1(s, 50) >= 0.99 and s["cadence"]["mae_spm"] <= 2.5


@pytest.mark.parametrize("gap_s", [0.15, 0.4, 1.5])
def test_angles_hold_through_a_gap(gap_s):
    """A gap in running, shorter or longer than max_gap_s (0.25 s): the attitude is re-levelled
    from the same gait phase before it. A 0.4 s gap at 52 Hz used to leave tilt 5.4 deg low for
    the next second and 2 deg low for 6 s (left to the accelerometer)."""
    sim = simulate("easy-run", seed=2, rate_hz=52.0, duration_s=90.0)
    keep = ~((sim.t >= 60.0) & (sim.t < 60.0 + gap_s))
    eng = Engine(sim.rate_hz)
    steps = np.concatenate([eng.process(sim.t[keep], sim.acc[keep], sim.gyr[keep]).steps,
                            eng.finish().steps])
    truth = sim.truth
    j = np.abs(truth["t"][None, :] - steps["t"][:, None]).argmin(axis=1)
    after = (np.abs(truth["t"][j] - steps["t"]) < 0.05) & (steps["t"] > 60.0) & (steps["t"] < 70.0)
    assert after.sum() >= 20
    for name in ("tilt_deg", "pelvic_drop_deg"):
        err = steps[name][after] - truth[name][j[after]]
        assert np.sqrt(np.mean(err**2)) <= 1.0, (name, np.round(err, 1))


def test_a_gap_after_a_missed_step_relevels_from_a_whole_stride():
    """The simulated loose mount at 50 Hz (seed 4) loses 180 ms at 136.37 s, with an IC in it that
    is not found, and again at 137.49 s. The last two step times before the second gap made 1.5
    strides, and re-levelling from that phase read the tilt 3.4 deg high for 15 s; two step times
    that are not a stride are left to the median stride: 1.1 deg at most."""
    sim = simulate("loose-mount", seed=4, rate_hz=50.0)
    steps = _run(sim).steps
    di, ti = match(steps["t"], sim.steps["t"], 0.05)
    after = (sim.steps["t"][ti] > 137.4) & (sim.steps["t"][ti] < 152.0)
    err = steps["tilt_deg"][di[after]] - sim.steps["tilt_deg"][ti[after]]
    assert after.sum() >= 35 and np.abs(err).max() <= 1.5, np.round(err, 1)


@pytest.mark.parametrize(("scenario", "seed"), [("easy-run", 2), ("fatigue", 8)])
def test_short_gaps_leave_no_offset_behind(scenario, seed):
    """Ten 90 ms gaps at varied gait phases: the steps 1-10 s after each read as the same run
    without the gaps does. The re-levelling's phase error (step times vary) and the attitude
    filter's missed readings left tilt offsets fading over ~10 s: RMS difference 0.22 / 0.22 deg,
    up to 0.7 deg; now the stride-mean posture after a gap is matched to the one before it."""
    sim = simulate(scenario, seed=seed, rate_hz=100.0, duration_s=200.0)
    gaps = 40.0 + 13.37 * np.arange(10)
    keep = np.ones(sim.t.size, dtype=bool)
    for g in gaps:
        keep &= (sim.t < g) | (sim.t >= g + 0.09)
    clean = _run(sim).steps
    eng = Engine(sim.rate_hz)
    gapped = np.concatenate([eng.process(sim.t[keep], sim.acc[keep], sim.gyr[keep]).steps,
                             eng.finish().steps])
    j = np.abs(clean["t"][None, :] - gapped["t"][:, None]).argmin(axis=1)
    after = np.abs(clean["t"][j] - gapped["t"]) < 0.02
    after &= np.any((gapped["t"][:, None] > gaps + 1.0) & (gapped["t"][:, None] < gaps + 10.0), axis=1)
    assert after.sum() >= 200
    for name, limit in (("tilt_deg", 0.12), ("pelvic_drop_deg", 0.15)):
        diff = gapped[name][after] - clean[name][j[after]]
        assert np.sqrt(np.mean(diff**2)) <= limit, (name, np.round(diff, 2))


def test_lost_packets_on_a_ringing_mount_do_not_tilt_the_attitude():
    """A loose mount rings for two cycles after each IC, and 1 % of the packets are lost: each gap
    re-levels the attitude from the same phase a stride earlier. Taken in the bout's mean stride,
    that phase missed the ringing by the step times' few % (400 Hz: drop 1.05, tilt 0.92 deg RMSE,
    and two false cues in benchmarks/bench_cues.py); from the last IC, 0.74 / 0.48."""
    sim = simulate("loose-mount", seed=1, rate_hz=400.0)
    s = score(_run(sim).steps, sim.steps)["metrics"]
    assert s["pelvic_drop_deg"]["rmse"] <= 0.9
    assert s["tilt_deg"]["rmse"] <= 0.7


@pytest.mark.parametrize("seed", [4, 10])
def test_a_ringing_mount_does_not_raise_the_peak_drop(seed):
    """The loose mount wobbles 3 deg at 13 Hz after each IC, about a random axis; with much of it
    about forward, the step's maximum obliquity took the wobble's crest: drop read 1.2 / 1.8 deg
    high on one stance side (RMSE 1.05 / 1.38 deg at 100 Hz). The maximum of the angle low-passed
    at 8 Hz: 0.54 / 0.43."""
    sim = simulate("loose-mount", seed=seed, rate_hz=100.0)
    drop = score(_run(sim).steps, sim.steps)["metrics"]["pelvic_drop_deg"]
    assert drop["rmse"] <= 0.75 and abs(drop["bias"]) <= 0.3, drop


@pytest.mark.parametrize("scenario", ["intervals", "walk"])
def test_walking_scenarios(scenario):
    sim = simulate(scenario, seed=1, rate_hz=200.0, duration_s=180.0)
    out = _run(sim)
    s = score(out.steps, sim.steps)
    assert _f1(s, 50) >= 0.98
    assert s["side"]["accuracy"] >= 0.98
    assert s["metrics"]["tilt_deg"]["rmse"] <= 1.0
    walking = out.steps["activity"] == "walk"
    assert walking.any() and np.all(np.isnan(out.steps["contact_time_s"][walking]))
    assert np.all(out.steps["flight_time_s"][walking] == 0.0)


def test_a_rows_step_time_is_the_interval_between_the_detectors_ics():
    """docs/architecture.md: `step_time_s` runs between the detector's ICs. A running row reports
    its IC, so two running rows' `t` differ by exactly it; a walking row reports the heel strike's
    forward-acceleration mark, at most 0.1 s x the walking time scale from its IC."""
    sim = simulate("intervals", seed=1, rate_hz=100.0, duration_s=200.0)
    steps = _run(sim).steps
    step_time = steps["step_time_s"][:-1]
    follows = np.isfinite(step_time)  # (a bout's last row has none)
    gap = (np.diff(steps["t"]) - step_time)[follows]
    run = ((steps["activity"][:-1] == "run") & (steps["activity"][1:] == "run"))[follows]
    assert run.sum() > 100 and (~run).sum() > 100
    np.testing.assert_allclose(gap[run], 0.0, atol=1e-9)
    assert np.abs(gap[~run]).max() <= 2 * 0.1 * WALK_SCALE_MAX
    assert np.median(np.abs(gap[~run])) < 0.02  # most marks sit near their ICs


@pytest.mark.parametrize(("scenario", "seed"), [("easy-run", 2), ("fatigue", 1), ("fatigue", 3)])
def test_a_runner_who_stops_dead_takes_no_short_last_step(scenario, seed):
    """These simulated runs end in a stop into standing whose rise comes 0.20-0.21 s after the last
    landing, at a 0.35 s step. A fixed shortest running step of 0.2 s took that rise for a landing:
    the last row read a 0.20-0.21 s step (~290 spm). The shortest step follows the run's rhythm (0.22
    s at this pace), and a rise that never reaches body weight is no landing."""
    sim = simulate(scenario, seed=seed, rate_hz=200.0)
    eng = Engine(sim.rate_hz)
    steps = np.concatenate([eng.process(sim.t, sim.acc, sim.gyr).steps, eng.finish().steps])
    step_time = steps["step_time_s"][steps["activity"] == "run"]
    assert np.nanmin(step_time) >= 0.8 * np.nanmedian(step_time)


@pytest.mark.parametrize("before_s", [0.12, 0.45])
def test_a_weight_shift_before_the_first_step_is_not_its_contact(before_s):
    """Setting off from standing, a small rise of vertical force (0.1 g, as a weight shift onto the
    stance leg) before the first heel strike used to be taken as its IC; a bout's second IC with a
    loading peak twice as high (or any higher one within the shortest step) now replaces it. At
    0.45 s it opened a step of its own: one false step per trial in nine of ten real walkers'
    gait initiations (voisard2023 F1@100 0.920 -> 0.927, 8 of 10 walkers better, none worse)."""
    sim = simulate("walk", seed=1, rate_hz=200.0, duration_s=30.0)
    t0 = sim.steps["t"][0]
    still = (sim.t > 2.0) & (sim.t < 7.0)
    up = sim.acc[still].mean(axis=0) / np.linalg.norm(sim.acc[still].mean(axis=0))
    shift = 0.1 * 9.80665 * np.exp(-0.5 * ((sim.t - (t0 - before_s)) / 0.025) ** 2)
    plain = Engine(sim.rate_hz).process(sim.t, sim.acc, sim.gyr).steps
    shifted = Engine(sim.rate_hz).process(sim.t, sim.acc + shift[:, None] * up, sim.gyr).steps
    assert abs(shifted["t"][0] - t0) <= 0.05
    np.testing.assert_allclose(shifted["t"], plain["t"], atol=1e-3)  # the same steps otherwise


@pytest.mark.parametrize("seed", [1, 3])
def test_trunk_sensor_gives_true_lumbar_angle_and_lean(seed):
    """0.07-0.11 deg RMSE (seeds 1-3). 1.7-2.7 before leaving stillness re-played the trunk's
    attitude too: the push-off, seen by its accelerometer while the attitude still trusted it,
    read as 4-6 deg less trunk lean for the first 20 s of the run."""
    sim = simulate("trunk", seed=seed, rate_hz=200.0, duration_s=120.0)
    out = _run(sim)
    s = score(out.steps, sim.steps)
    assert out.status.trunk and "lumbar_ext_deg" not in out.status.flags
    assert s["metrics"]["lumbar_ext_deg"]["rmse"] <= 0.3
    assert s["metrics"]["trunk_lean_deg"]["rmse"] <= 0.3


def test_a_trunk_sensor_without_gyroscope_still_gives_lean_and_lumbar_angle():
    """A Polar H10 chest strap as the trunk sensor: its samples used to reject every sample of
    the pair (no steps at all); now its attitude is smoothed gravity, enough for step means."""
    sim = simulate("trunk", seed=1, rate_hz=200.0, duration_s=150.0)
    no_gyro = np.full_like(sim.trunk_gyr, np.nan)
    out = Engine(sim.rate_hz).process(sim.t, sim.acc, sim.gyr, sim.trunk_acc, no_gyro)
    s = score(out.steps, sim.steps)
    assert out.status.nan_samples == 0 and _f1(s, 50) >= 0.99
    assert s["metrics"]["trunk_lean_deg"]["rmse"] <= 2.6  # 2.39 (1.46 with its gyroscope)
    assert s["metrics"]["lumbar_ext_deg"]["rmse"] <= 2.6
    assert out.status.flags["trunk_lean_deg"] == Flag(LOW, "trunk sensor without gyroscope (mean posture)")


def test_single_sensor_lumbar_extension_is_the_flagged_tilt_proxy():
    sim = simulate("easy-run", seed=1, rate_hz=200.0, duration_s=40.0)
    out = _run(sim)
    assert out.status.flags["lumbar_ext_deg"].kind is FlagKind.PROXY
    np.testing.assert_array_equal(out.steps["lumbar_ext_deg"], out.steps["tilt_deg"])
    assert np.all(np.isnan(out.steps["trunk_lean_deg"]))


def test_no_standing_calibrates_on_gait_and_says_so():
    sim = simulate("no-standing", seed=1, rate_hz=200.0, duration_s=90.0)
    out = _run(sim)
    s = score(out.steps, sim.steps)
    assert out.status.calibration == "gait"
    assert out.status.flags["tilt_deg"].kind is LOW
    assert _f1(s, 50) >= 0.99 and s["side"]["accuracy"] >= 0.99
    assert s["metrics"]["pelvic_drop_deg"]["rmse"] <= 1.5  # baseline = mean gait posture


@pytest.mark.parametrize("seed", [1, 6])
def test_a_slipping_sensor_is_flagged_and_never_breaks_the_output(seed):
    """Seed 6's 20 deg slip turns the sensor about an axis 18 deg off vertical: up moves 6 deg in
    the sensor frame (below the 8 deg threshold), forward 19 deg. Seen by up alone it went
    unnoticed and left drop 5.6 and tilt 2.9 deg off for good."""
    sim = simulate("slip", seed=seed, rate_hz=200.0)
    out = _run(sim)
    assert out.status.mount_changes == 1 and "mount" in out.status.flags
    s = score(out.steps, sim.steps)
    assert _f1(s, 100) >= 0.98
    # the last minute, well after the 20 deg slip: the baseline was carried along in full (one
    # shortest-arc turn at the 8 deg threshold left tilt 6.5 deg and drop 4.3 deg off for good)
    late = out.steps[out.steps["t"] > out.steps["t"][-1] - 60.0]
    j = np.abs(sim.truth["t"][None, :] - late["t"][:, None]).argmin(axis=1)
    for name, limit in (("tilt_deg", 0.5), ("pelvic_drop_deg", 1.0)):
        err = late[name] - sim.truth[name][j]
        assert np.sqrt(np.mean(err**2)) <= limit, (name, np.sqrt(np.mean(err**2)))
    for name in ("cadence_spm", "pelvic_drop_deg", "tilt_deg", "vertical_osc_cm", "braking_mps"):
        assert np.all(np.isfinite(out.steps[name])), name


@pytest.mark.parametrize("rate", [50.0, 100.0])
def test_tilt_has_no_bias_from_the_attitudes_timing(rate):
    """With an ideal sensor the mean tilt error is the attitude's alone. Integrating each interval
    with the rate at its end (and comparing the reading with the attitude before it) ran the
    attitude half a sample off the accelerometer: on a pelvis that pitches with every loading the
    tilt read 0.18 deg high at 50 Hz, 0.09 at 100 (now -0.004, +0.004)."""
    sim = simulate("easy-run", seed=2, rate_hz=rate, duration_s=150.0, ideal=True)
    eng = Engine(rate)
    steps = np.concatenate([eng.process(sim.t, sim.acc, sim.gyr).steps, eng.finish().steps])
    tilt = score(steps[steps["t"] > 30.0], sim.steps[sim.steps["t"] > 30.0])["metrics"]["tilt_deg"]
    assert tilt["compared"] > 300 and abs(tilt["bias"]) < 0.03, tilt


@pytest.mark.parametrize("gyro", [True, False])
def test_a_clip_that_starts_anywhere_in_a_stride_keeps_its_first_step_and_adds_none(gyro):
    """5 s running clips (as alcantara2022's) cut at an IC, in stance and in flight: the first step
    reported is the first true IC. Cut in flight, the attitude was levelled on a near-zero reading
    (three steps lost with a gyroscope); cut in stance, a walking "step" 0.26 s before the first
    landing opened the clip (alcantara2022 bout cadence MAE 1.45 -> 1.12 spm)."""
    sim = simulate("easy-run", seed=1, rate_hz=200.0, duration_s=40.0)
    gyr = sim.gyr if gyro else np.full_like(sim.gyr, np.nan)
    for where, steps, truth in _clips(sim, sim.acc, gyr, (-0.03, 0.03, 0.06, 0.1, 0.15, 0.25), 0.1):
        steps = steps[steps["t"] < truth["t"][-1] + 0.1]  # a landing in the last 0.1 s may not be whole
        assert abs(steps["t"][0] - truth["t"][0]) <= 0.03, (where, steps["t"][0], truth["t"][0])
        assert _f1(score(steps, truth), 50) == 1.0, where


def _clips(sim, acc, gyr, after_ic, end_s):
    """5 s clips of a simulated run cut `after_ic` (s) after each of four ICs: (where, steps,
    truth), the truth up to `end_s` before the clip's end, times from the clip's start."""
    ics = sim.steps["t"][sim.steps["t"] > 20.0]
    for k in range(4):
        for dt in after_ic:
            t0 = ics[k] + dt
            clip = (sim.t >= t0) & (sim.t < t0 + 5.0)
            eng = Engine(sim.rate_hz)
            out = eng.process(sim.t[clip] - t0, acc[clip], gyr[clip])
            steps = np.concatenate([out.steps, eng.finish().steps])
            truth = sim.steps[(sim.steps["t"] >= t0) & (sim.steps["t"] < t0 + 5.0 - end_s)]
            truth["t"] -= t0
            yield (k, dt), steps, truth


def test_a_softer_runners_clip_keeps_the_steps_at_its_edges():
    """A runner whose sacrum never reaches the flight level (the simulated run's dynamic
    acceleration x 0.6, no gyroscope, as alcantara2022's clips) has every stance found by the
    walking detector. 5 s clips of it lost the first landing when they opened in its flight (a
    stance whose rise the clip holds was taken for one it began on, or for a push-off from standing
    when a flight followed) and the last landing when they ended 0.08-0.2 s after it (its low-passed
    peak had not fallen). A clip opened in stance still adds no step, nor does a runner who stops."""
    sim = simulate("easy-run", seed=1, rate_hz=200.0, duration_s=40.0)
    acc = with_dynamic(sim.acc, sim.rate_hz, 0.6, 0.5, sim.gyr)
    no_gyro = np.full_like(sim.gyr, np.nan)
    # the clips end 0.08-0.33 s after an IC
    for where, steps, truth in _clips(sim, acc, no_gyro, (-0.08, -0.05, -0.03, 0.03, 0.1, 0.25), 0.08):
        assert _f1(score(steps, truth), 50) == 1.0, (where, steps["t"][[0, -1]], truth["t"][[0, -1]])
    # a run whose runner stops and stands 0.6 s before the end: no step after its last landing (the
    # rise out of the last stride's dip into standing, one step time after it, was taken for one)
    sim = simulate("easy-run", seed=4, rate_hz=200.0, duration_s=60.0, loss=0.0)
    eng = Engine(sim.rate_hz)
    steps = np.concatenate([eng.process(sim.t, sim.acc, sim.gyr).steps, eng.finish().steps])
    assert steps["t"][-1] < sim.steps["t"][-1] + 0.5 < sim.t[-1] - 0.5, (steps["t"][-1], sim.steps["t"][-1])


def test_a_sensor_without_gyroscope_gives_steps_and_cadence_and_flags_the_rest():
    sim = simulate("easy-run", seed=1, rate_hz=200.0, duration_s=120.0)
    out = Engine(sim.rate_hz).process(sim.t, sim.acc, np.full_like(sim.gyr, np.nan))  # Polar H10
    s = score(out.steps, sim.steps)
    assert _f1(s, 50) >= 0.99 and s["cadence"]["mae_spm"] <= 1.0  # measured: 0.997, 0.35 spm
    assert s["metrics"]["contact_time_s"]["rmse"] <= 0.02 and s["metrics"]["vertical_osc_cm"]["rmse"] <= 1.0
    no_gyro = Flag(FlagKind.UNAVAILABLE, "no gyroscope (accelerometer only)")
    for col in ("pelvic_drop_deg", "tilt_peak_deg", "rotation_range_deg"):
        assert np.isnan(out.steps[col]).all() and out.status.flags[col] == no_gyro
    assert out.status.flags["side"].kind is LOW and out.status.flags["side"].text.startswith("no gyroscope")
    # 1.000 (0.968 when the steps held for the forward axis kept their guessed sides)
    assert s["side"]["accuracy"] >= 0.99  # sideways acceleration before each IC
    assert out.status.nan_samples == 0  # a stream that starts without one is such a sensor at once
    # a file that writes zeros for a gyroscope that was not recorded gives the same steps
    zeros = Engine(sim.rate_hz).process(sim.t, sim.acc, np.zeros_like(sim.gyr))
    assert np.allclose(zeros.steps["t"], out.steps["t"], rtol=0, atol=1e-9)
    assert (zeros.steps["side"] == out.steps["side"]).all() and zeros.status.flags == out.status.flags


def test_a_sensor_without_gyroscope_or_sideways_axis_alternates_sides_and_says_so():
    """alcantara2022's clips have two axes (forward, vertical): the sideways one and the gyroscope
    are written as zeros. Its "sway" was rounding noise, whose sign decided 13 of a clip's 16 sides
    "R"; with no evidence at all, sides alternate, and the status says they are a guess."""
    sim = simulate("easy-run", seed=1, rate_hz=200.0, duration_s=40.0, mount="upright")
    acc = sim.acc.copy()
    acc[:, 1] = 0.0  # the pelvis's left axis (upright mount: sensor frame = pelvis frame)
    out = Engine(sim.rate_hz).process(sim.t, acc, np.zeros_like(sim.gyr))
    run = out.steps["side"][out.steps["activity"] == "run"]
    assert len(run) > 50 and (run[1:] != run[:-1]).all(), "".join(run)
    flag = out.status.flags["side"]
    assert flag.kind is LOW and "no sideways acceleration" in flag.text
    # with the sideways axis the sides come from it, as before; the steps are the same either way
    with_sway = Engine(sim.rate_hz).process(sim.t, sim.acc, np.zeros_like(sim.gyr))
    assert "no sideways" not in with_sway.status.flags["side"].text
    assert score(with_sway.steps, sim.steps)["side"]["accuracy"] >= 0.99
    assert np.allclose(with_sway.steps["t"], out.steps["t"], rtol=0, atol=1e-4)  # ~10 us: attitude


def test_real_walking_without_gyroscope_floor():
    """The real recordings with their gyroscope columns dropped, as a Polar H10 would stream."""
    s = _real_score(gyro=False)
    # 0.912: steps need no gyroscope (0.927 with it). 0.885 with the loading's IC alone, 0.876 at
    # the forward acceleration's highest peak near it, 0.902 at the peak that falls most after it;
    # 0.925 with the step threshold relative to the sensor's own 1 g, 0.912 (one step) since the
    # walking constants scale with the walk's cadence (docs/engine.md)
    assert _f1(s, 100) >= 0.90
    # 0.945 (0.987 with the gyroscope): the sideways acceleration in the middle of each step; 0.836
    # from the sway before each IC, which moved by a few steps with the forward axis
    assert s["side"]["accuracy"] >= 0.93


def test_a_gyroscope_missing_now_and_then_is_a_lost_sample_not_a_sensor_without_one():
    sim = simulate("easy-run", seed=1, rate_hz=200.0, duration_s=60.0)
    gyr = sim.gyr.copy()
    gyr[1000::500] = np.nan  # an unpaired half-sample every 2.5 s
    out = Engine(sim.rate_hz).process(sim.t, sim.acc, gyr)
    assert out.status.nan_samples == len(gyr[1000::500]) and "side" not in out.status.flags
    assert np.isfinite(out.steps["pelvic_drop_deg"]).mean() > 0.95


def test_standing_only_gives_no_steps():
    sim = simulate("standing", seed=1, rate_hz=100.0)
    out = _run(sim)
    assert len(out.steps) == 0
    assert out.status.activity == "still" and out.status.calibration == "standing"


def test_real_walking_recordings_floor():
    """Published open implementations score ~0.75-0.86 F1@100 and ~0.80 left/right on these trials."""
    s = _real_score()  # one score over the three trials
    # issue target 0.95: not met (0.927; 0.907 with the step threshold at an absolute 1.03 g,
    # which this sensor, reading 0.982 g at rest, put above faint steps; docs/engine.md)
    assert _f1(s, 100) >= 0.915
    # issue target 0.97: met (1.000; 0.987, one bout's first step, before a walk's held steps took
    # the forward peak, which changed the 100 ms pairs; 1.000 before forward was held through
    # turns; 0.947 before the middle of each step joined the side evidence, 0.920 before the
    # walking constants scaled with the walk's cadence)
    assert s["side"]["accuracy"] >= 0.97
    # issue target 3 spm: met (2.71; 3.59 before the walking constants scaled with the walk's
    # cadence; 5.56 before a walking step had to last half the walk's step time)
    assert s["bouts"]["cadence_mae_spm"] <= 3.0


def test_real_walking_recordings_at_50_hz_floor():
    """The same recordings as a 50 Hz sensor gives them (anti-aliased, every second sample). Before
    the established forward axis was rate-limited, Test11's turns reversed it here: left/right 0.76."""
    s = _real_score(every=2)
    # 0.919 (0.897 with an absolute step threshold; voisard2023 at 50 Hz: F1@100 0.923 -> 0.945,
    # F1@50 0.847 -> 0.894 with the forward acceleration's peak that falls most)
    assert _f1(s, 100) >= 0.91
    # 0.986 (0.973 before the middle of each step joined the side evidence; 0.947 while the
    # accelerometer's stillness was judged against g itself)
    assert s["side"]["accuracy"] >= 0.97
    # the rate moves the ICs by less than half a sample: a row's IC is the forward peak, a sample,
    # and 50 Hz samples are 20 ms apart. +6.1 ms against +13.4 at 100 Hz (HA_001's reference sits
    # ~18 ms before the forward peak; docs/engine.md); +7.5 / +14.1 with earlier stillness rules
    assert abs(s["timing"]["bias_ms"] - _real_score()["timing"]["bias_ms"]) <= 10.0
    # 3.74 (4.43 with an absolute step threshold; 4.32 at 50 Hz before the low-pass): most of it
    # Test11's 28.6-33.3 s bout, whose reference counts a 2 s pause as a step (15 spm at 100 Hz)
    assert s["bouts"]["cadence_mae_spm"] <= 4.0


def test_a_rhythm_read_too_fast_at_a_bouts_start_takes_the_signals_step():
    """HA_001 with its dynamic acceleration x 1.2 (a more vigorous walker): a bout of the daily-
    activity trial opens with two extra ICs, read at 136 spm where the walk is ~95. Halving that
    rhythm gave 65 spm: the walking low-pass and threshold, scaled to it, lost the bout's last two
    faint steps (bout cadence MAE 4.45 spm, F1@100 0.908). The signal's own step time: 3.13, 0.928
    (gravity here a 0.5 Hz low-pass; the benchmark follows it by the gyroscope: 3.13, 0.916); 3.12,
    0.916 since a later still period may move the gyro bias by 1 deg/s at most (kernel.BIAS_MAX_STEP:
    this walk's 22 s still period read 2.2 deg/s off its standing calibration and no longer
    replaces it; one step's attitude differs)."""
    def harder(t, acc, gyr, rate):
        return t, with_dynamic(acc, rate, 1.2, 0.5), gyr, rate

    s = _real_as(harder)[0]
    assert s["bouts"]["cadence_mae_spm"] <= 3.3
    assert _f1(s, 100) >= 0.91


def test_forwards_sign_waits_for_steps_that_vote_on_it():
    """An accelerometer 0.3 m/s^2 off on one axis (30 mg: an uncalibrated one). HA_001's first short
    walk opens with shuffles that the engine takes for a step: its forward axis was established at
    the first real step, on that one vote, reversed, and every side of the walk with it (pooled
    left/right 0.865). The sign now waits for three steps' votes: 0.973 (0.974 with forward held
    through turns)."""
    def offset(t, acc, gyr, rate):
        return t, acc + np.array([0.3, 0.0, 0.0]), gyr, rate

    assert _real_as(offset)[0]["side"]["accuracy"] >= 0.96


@pytest.mark.parametrize(("sign", "side_floor"), [(1.0, 0.98), (-1.0, 0.95)])
def test_an_uncalibrated_gyroscope_keeps_steps_and_sides(sign, side_floor):
    """A gyroscope 5, -3.75, 2.5 deg/s off, either way (`with_gyro_offset`, the benchmark's
    conditions): the engine learns the offset while the walker stands. HA_001's lab walks never
    stand still long enough: until a standing calibration, out of gait the accelerometer now holds
    the attitude with the warm-up's gain, where gait's let the offset the other way tilt it ~20 deg
    by the walk (left/right 0.868; now 0.961, 0.987 the first way)."""
    def offset(t, acc, gyr, rate):
        return t, acc, with_gyro_offset(gyr, sign), rate

    s = _real_as(offset)[0]
    assert _f1(s, 100) >= 0.92
    assert s["side"]["accuracy"] >= side_floor


def test_turns_do_not_reverse_forward_at_50_hz_through_another_anti_alias_filter():
    """HA_001's daily-life walk streamed at 50 Hz through a polyphase FIR (not the IIR above): a
    few turning steps voted against forward for a second, below forward_flip_vote, and reversed it
    for 30 s and two bouts' sides with them (left/right 0.766). The votes must now stand against it
    for forward_flip_s of gait. (`at_rate`, as the benchmark resamples: with forward_flip_s 0 this
    fails, left/right 0.761 and a forward flag; zero-padded at the start, as this test once was, the
    walk lost its standing calibration and no longer showed the reversal.)"""
    def at_50_hz(t, acc, gyr, rate):
        return *at_rate(t, acc, gyr, rate, 50.0), 50.0

    s, engines = _real_as(at_50_hz, finish=False)
    assert not any("forward" in eng.status().flags for eng in engines)
    # 1.000 (0.987 at 100 Hz; 0.987 zero-padded; 0.920 before the middle of each step joined the
    # side evidence)
    assert s["side"]["accuracy"] >= 0.96


def test_turns_leave_pelvic_drop_where_a_sensor_at_another_rate_reads_it():
    """HA_001's daily-life walk as sensors at 40-128 Hz give it: the same steps' pelvic drop and tilt
    as at 100 Hz. The forward axis followed the statistics through the turns, whose steps (pivots,
    side steps) fill them with other axes: it strayed 10-35 deg for a minute at 50 and 90 Hz, and
    pelvic drop differed by a mean 1.93 deg per step over the rates (5.1 at 90 Hz), tilt 0.86. Held
    through a turn and AXIS_TAU after: 1.28 (3.5 at 90 Hz) and 0.42. Now 1.48 (4.0 at 90 Hz) and
    0.52: the walk's four false slips (docs/engine.md, Known limits) re-level it a little
    differently at each rate."""
    header, block = read_session(REAL / "HA_001_Test11_Trial1.csv")
    ref = Engine(header.sample_rate_hz).process(block.t, block.acc, block.gyr).steps
    drop, tilt = [], []
    for rate in (40.0, 50.0, 55.0, 64.0, 80.0, 90.0, 128.0):
        t, acc, gyr = at_rate(block.t, block.acc, block.gyr, header.sample_rate_hz, rate)
        other = Engine(rate).process(t, acc, gyr).steps
        di, ri = match(other["t"], ref["t"], 0.05)
        same = other["side"][di] == ref["side"][ri]
        assert same.sum() > 0.8 * len(ref)  # (0.86-0.93: rows outside the bouts, rows moved to another peak)
        drop.append(np.nanmean(np.abs(other["pelvic_drop_deg"][di] - ref["pelvic_drop_deg"][ri])[same]))
        tilt.append(np.nanmean(np.abs(other["tilt_deg"][di] - ref["tilt_deg"][ri])[same]))
    assert np.mean(drop) < 1.6 and np.mean(tilt) < 0.6


@pytest.mark.parametrize(("loss", "burst", "f1_floor"), [(0.01, 1, 0.92), (0.02, 3, 0.90)])
def test_real_walking_with_packet_loss(loss, burst, f1_floor):
    """Lost samples (bursts at random times, the timestamps of the rest kept) on HA_001. A gap used
    to re-level the attitude from the posture one stride before it, which in daily life (sitting
    down, turning) was 10-20 deg off and stayed so for seconds: at 1 % single-sample loss 31 of
    110 steps were lost (F1@100 0.880), at 2 % in bursts of 3 0.868. Now a gap re-levels only when
    longer than one lost sample at 100 Hz and when the gait before it repeated over a stride."""
    rng = np.random.default_rng(7)

    def lossy(t, acc, gyr, rate):
        keep = kept_after_loss(t.size, loss, burst, rng)
        return t[keep], acc[keep], gyr[keep], rate

    s, _ = _real_as(lossy)
    # 0.933 / 0.933 (0.927 without loss); left/right 0.974 / 0.961 (0.987; 0.934 / 0.934 before the
    # middle of each step joined the side evidence)
    assert _f1(s, 100) >= f1_floor
    assert s["side"]["accuracy"] >= 0.95


def test_a_30_hz_sensor_is_not_taken_for_one_with_gaps():
    """At 30 Hz every sample interval is longer than RELEVEL_MIN_S, but none is a gap: re-levelled
    at every sample (a slip while the minimum gap length was added), drop read 1.96 deg RMSE."""
    sim = simulate("easy-run", seed=1, rate_hz=90.0, duration_s=120.0)
    steps = Engine(30.0).process(sim.t[::3], sim.acc[::3], sim.gyr[::3]).steps
    m = score(steps, sim.steps)["metrics"]
    assert m["pelvic_drop_deg"]["rmse"] <= 0.5 and m["tilt_deg"]["rmse"] <= 0.5  # 0.20 / 0.19


def _steps_of_sf(t: np.ndarray, sf: np.ndarray, rate: float, rng) -> np.ndarray:
    """Every step of a level sensor whose vertical axis reads `sf` (g), with a little noise."""
    acc = np.zeros((sf.size, 3))
    acc[:, 2] = 9.80665 * sf
    acc += rng.normal(0.0, 0.02, acc.shape)
    gyr = rng.normal(0.0, 0.002, acc.shape)
    eng = Engine(rate)
    return np.concatenate([eng.process(t, acc, gyr).steps, eng.finish().steps])


def _run_sf(rate: float, lead: np.ndarray, strides) -> tuple[np.ndarray, np.ndarray, float]:
    """sf (g) of 5 s standing, `lead`, each (stance, flight) of `strides`, then 3 s standing; the
    ICs (each stance's first sample, s) and when the last flight ends (s)."""
    parts, ics = [np.ones(int(5 * rate)), lead], []
    for stance, flight in strides:
        ics.append(sum(x.size for x in parts) / rate)
        parts += [stance, flight]
    end = sum(x.size for x in parts) / rate
    return np.concatenate([*parts, np.ones(int(3 * rate))]), np.array(ics), end


def test_running_steps_whose_flight_is_a_short_dip_are_found():
    """A run whose every other step has a full flight (0.05 g for 0.1 s) and the others only a
    dip through the flight level (0.4 g) shorter than a flight (min_flight_s), as the real runner
    shows on many steps with its dynamic acceleration x 0.8 (tests/test_real_sets.py). Such a
    dip used to discard the walking peak without arming the running detector: 38 of 60 steps."""
    rate, rng = 200.0, np.random.default_rng(0)
    tc, tf = 0.23, 0.10  # contact and flight, s
    ts, fs = np.arange(int(tc * rate)) / rate, np.arange(int(tf * rate)) / rate
    flights = [np.full(fs.size, 0.05) if k % 2 else 0.45 - 0.2 * np.sin(np.pi * fs / tf) ** 40
               for k in range(60)]
    sf, ics, _ = _run_sf(rate, np.empty(0), [
        (f[-1] + (2.6 - f[-1]) * np.sin(np.pi * ts / tc) ** 1.5, f) for f in flights])
    steps = _steps_of_sf(np.arange(sf.size) / rate, sf, rate, rng)
    found, _ = match(steps["t"], ics, 0.03)
    assert len(found) >= 57 and len(steps) <= 62, (len(found), len(steps))  # 58 of 60, 60 rows


def test_running_steps_whose_sacrum_stays_above_the_flight_level_are_found():
    """A run whose every other flight reads 0.42-0.45 g, never under the flight level (0.4 g), as
    the real runner with its dynamic acceleration x 0.7 shows downhill: no flight arms the
    running detector for the next landing, and the walking detector's peak of that stance,
    waiting to see whether a flight follows, was dropped when one did: 20 of 40 steps lost. Now,
    after a running IC, such a stance is a step with the walking detector's IC: 40 of 40, all
    within 13 ms."""
    rate, rng = 200.0, np.random.default_rng(2)
    tc, tf = 0.23, 0.10
    ts, fs = np.arange(int(tc * rate)) / rate, np.arange(int(tf * rate)) / rate
    stance = 0.05 + 2.55 * np.sin(np.pi * ts / tc) ** 0.3
    sf, ics, end = _run_sf(rate, np.full(int(tf * rate), 0.05), [
        (stance - stance[0] + (0.05 if k % 2 == 0 else 0.45),
         np.full(fs.size, 0.05) if k % 2 else 0.45 - 0.03 * np.sin(np.pi * fs / tf)) for k in range(40)])
    steps = _steps_of_sf(np.arange(sf.size) / rate, sf, rate, rng)
    steps = steps[steps["t"] < end - 0.05]
    found, _ = match(steps["t"], ics, 0.05)
    assert len(found) >= 38 and len(steps) <= 40, (len(found), len(steps))


@pytest.mark.parametrize("rate", [100.0, 200.0, 500.0])
def test_a_swing_leg_bump_before_the_landing_is_not_the_landing(rate):
    """In late flight the swinging leg lifts the sacrum's reading to ~0.6 g for ~45 ms before it
    falls back, and the landing comes ~0.1 s after that bump (the real runner's dynamic
    acceleration x 0.8 and x 0.7, downhill: alcantara2022 t28, t17). The bump crossed the contact
    level, so it was taken for the landing, ~0.1 s early: now a rise short of 1 g that falls back
    is watched until the steep one."""
    rng = np.random.default_rng(1)
    tc = 0.23
    ts = np.arange(int(tc * rate)) / rate
    stance = 0.05 + 2.55 * np.sin(np.pi * ts / tc) ** 0.3  # an impact: ~150 g/s
    bump = 0.05 + 0.6 * np.sin(np.pi * np.arange(int(0.045 * rate)) / (0.045 * rate))  # <= 42 g/s
    flight = np.r_[np.full(int(0.05 * rate), 0.05), bump, np.full(int(0.05 * rate), 0.05)]
    sf, ics, end = _run_sf(rate, np.full(int(0.1 * rate), 0.05), [(stance, flight)] * 40)
    steps = _steps_of_sf(np.arange(sf.size) / rate, sf, rate, rng)  # ends landing into standing
    steps = steps[steps["t"] < end - 0.05]
    found, _ = match(steps["t"], ics, 0.02)
    # 40 of 40 within 20 ms and no other row (before: 1 of 40, every other ~0.1 s early)
    assert len(found) >= 39 and len(steps) <= 40, (len(found), len(steps), steps["t"][:4], ics[:4])


def test_a_first_step_whose_mount_rings_starts_no_flight():
    """A mount ringing right after the first impact from standing (1.05 g, then 0.10 and 0.30 g)
    is two samples under the flight level at 100 Hz: whether they made a 20 ms flight (and a false
    landing 50 ms later) hung on the clock's last digit, as a WitMotion import's jittery clock
    showed. The sacrum takes 40-60 ms from body weight into a real flight: no run of 20 clocks
    jittered by +-0.5 ms finds a landing in the ringing."""
    rate, tc, tf = 100.0, 0.23, 0.1
    ts = np.arange(int(tc * rate)) / rate
    stance = 1.05 + 1.55 * np.sin(np.pi * ts / tc) ** 1.5
    first = np.r_[0.8, 0.95, 1.05, 0.10, 0.30, stance]
    sf = np.concatenate([np.ones(int(3 * rate)), first, *[np.r_[np.full(int(tf * rate), 0.05), stance]
                                                          for _ in range(12)], np.ones(int(2 * rate))])
    t0 = 3.0  # the first IC
    extra = []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        t = np.arange(sf.size) / rate + rng.uniform(-0.0005, 0.0005, sf.size)
        steps = _steps_of_sf(t, sf, rate, rng)
        extra += [x for x in steps["t"] if t0 + 0.03 < x < t0 + 0.2]
    assert not extra, extra


def test_real_walking_with_a_gyro_bias():
    """HA_001's sensor with 2 deg/s added to each gyro axis (a cheap or warm MEMS gyro). Stillness
    was judged on |gyro - bias| with the bias still unknown, so this sensor was never still and
    never learned its bias: F1@100 0.859, left/right 0.757. Now on the gyro's deviation from its
    own 1 s mean."""
    s, _ = _real_as(lambda t, acc, gyr, rate: (t, acc, gyr + np.radians([2.0, -2.0, 2.0]), rate))
    assert _f1(s, 100) >= 0.92  # 0.927 (0.927 without the bias)
    assert s["side"]["accuracy"] >= 0.97  # 0.987 (0.882 before the middle of each step joined)


def _ic_delays(rate_hz, t, acc, gyr, truth_t, tol_s=0.05):
    """Seconds from each true IC until `status.last_ic_t` shows it, one sample per call (a live
    stream), over the ICs found within `tol_s`."""
    eng = Engine(rate_hz)
    truth_t = np.sort(truth_t)
    shown = []
    last = np.nan
    for i in range(len(t)):
        ic = eng.process(t[i : i + 1], acc[i : i + 1], gyr[i : i + 1]).status.last_ic_t
        if np.isfinite(ic) and ic != last:
            last = ic
            j = np.argmin(np.abs(truth_t - ic))
            if abs(truth_t[j] - ic) <= tol_s:
                shown.append(t[i] - truth_t[j])
    return np.array(shown)


@pytest.mark.parametrize(("scenario", "p50_ms", "p95_ms"), [("easy-run", 31, 33), ("walk", 140, 145)])
def test_an_ic_is_known_soon_after_it_happens(scenario, p50_ms, p95_ms):
    """Issue target p95 <= 100 ms at 200 Hz, for running. Running: 28 / 31 ms (p50 / p95; 24 / 26
    before the landing's rise was watched to its steepest, which took real running F1@50 0.979 ->
    0.994; 19 / 21 before the landing waited a sample for its tangent). Walking: 135 / 141 ms, the 4
    Hz low-passed loading peak confirmed by its fall (85 / 88 ms on the raw peak, which counted the
    bumps between real steps as steps: the real walks of ten new people F1@100 0.84 -> 0.91)."""
    sim = simulate(scenario, seed=1, rate_hz=200.0, duration_s=60.0)
    d = _ic_delays(sim.rate_hz, sim.t, sim.acc, sim.gyr, sim.steps["t"]) * 1e3
    assert d.size >= 0.9 * np.sum(sim.steps["t"] > 5.0)
    assert np.percentile(d, 50) <= p50_ms and np.percentile(d, 95) <= p95_ms, np.percentile(d, [50, 95])


def test_a_real_walking_ic_is_known_a_sixth_of_a_second_after_it():
    """Real walking at 100 Hz: median 160 ms, p95 254 ms after the reference IC (120 / 188 ms on the
    raw loading peak, before the 4 Hz low-pass that stopped bumps between steps counting as steps;
    220 / 290 ms when every peak waited 150 ms): ~100 ms is not met here, where peaks come late."""
    d = []
    for name in REAL_TRIALS:
        header, block = read_session(REAL / f"{name}.csv")
        truth = read_steps_csv(REAL / f"{name}.steps.csv")["t"]
        d.append(_ic_delays(header.sample_rate_hz, block.t, block.acc, block.gyr, truth, tol_s=0.1))
    d = np.concatenate(d) * 1e3
    p50, p95 = np.percentile(d, [50, 95])
    assert d.size >= 65 and p50 <= 170 and p95 <= 265, (p50, p95)


def test_one_missed_ic_moves_the_bout_cadence_by_a_step_not_tens_of_spm():
    """The status cadence is 60 / the median of the bout's last 8 step times (an EMA of 60 / step
    time fell 10 % at each missed IC); a change between walking and running starts it anew."""
    from imurun.core import state as S
    from imurun.core.kernel import _file_step_time

    f = np.zeros(S.N_F)
    for _ in range(8):
        _file_step_time(f, 0.35, False)
    _file_step_time(f, 0.70, False)  # a missed IC: one step twice as long
    assert f[S.CADENCE] == pytest.approx(60 / 0.35)
    _file_step_time(f, 0.60, True)  # the first walking step after running
    assert f[S.CADENCE] == pytest.approx(100.0)


def test_no_running_step_carries_a_walking_step_time():
    """The step from the last walking IC into the first landing is a walking step (its length)."""
    sim = simulate("intervals", seed=1, rate_hz=200.0)
    eng = Engine(sim.rate_hz)
    steps = np.concatenate([eng.process(sim.t, sim.acc, sim.gyr).steps, eng.finish().steps])
    run = steps[steps["activity"] == "run"]
    walk = steps[(steps["activity"] == "walk") & np.isfinite(steps["step_time_s"])]
    assert len(run) > 100 and run["step_time_s"].max() < 0.45 < np.median(walk["step_time_s"])


def test_the_status_says_run_with_the_first_whole_running_step():
    """Two steps of the other kind switch the status activity: "run" comes ~0.75 s after the first
    running contact (four steps, ~1.8 s, before), so the coach's start reminder can follow at once."""
    sim = simulate("easy-run", seed=1, rate_hz=200.0, duration_s=30.0)
    first_run = sim.steps["t"][sim.steps["activity"] == "run"][0]
    eng, block, said = Engine(sim.rate_hz), 10, np.nan
    for i in range(0, len(sim.t), block):
        part = slice(i, i + block)
        if eng.process(sim.t[part], sim.acc[part], sim.gyr[part]).status.activity == "run":
            said = sim.t[part][-1]
            break
    assert 0.3 < said - first_run < 1.0, said - first_run
