"""The ground-truth simulator: deterministic, physically consistent, truth as docs/architecture.md says."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from imurun.errors import ImurunError
from imurun.sources.sim_rotation import random_rotation, zyx_apply, zyx_apply_T, zyx_body_rates
from imurun.sources.sim_scenarios import SCENARIOS
from imurun.sources.simulate import simulate

G = 9.80665


@pytest.fixture(scope="module")
def run400():
    """Noise-free easy run at 400 Hz: the sensor sees only the body (and its low-pass)."""
    return simulate("easy-run", seed=5, rate_hz=400.0, duration_s=45.0, ideal=True)


@pytest.fixture(scope="module")
def walk400():
    return simulate("walk", seed=6, rate_hz=400.0, duration_s=40.0, ideal=True)


def vertical_sf(sim):
    return np.sum(sim.acc * sim.up_s, axis=1)


def between(t, a, b):
    return (t >= a) & (t < b)


def test_same_seed_same_session_other_seed_differs():
    a = simulate("loose-mount", seed=3, duration_s=20.0)
    b = simulate("loose-mount", seed=3, duration_s=20.0)
    c = simulate("loose-mount", seed=4, duration_s=20.0)
    for name in ("t", "acc", "gyr", "tilt_deg", "up_s"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert a.steps.tobytes() == b.steps.tobytes()
    assert not np.array_equal(a.steps["t"], c.steps["t"])
    assert not np.allclose(a.R_SP, c.R_SP)


@pytest.mark.parametrize("rate", [50.0, 100.0, 200.0, 400.0])
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_every_scenario_runs_at_every_rate(scenario, rate):
    sim = simulate(scenario, seed=1, rate_hz=rate, duration_s=16.0)
    n = len(sim.t)
    assert sim.t[0] == 0.0 and np.all(np.diff(sim.t) > 0)
    assert np.median(np.diff(sim.t)) == pytest.approx(1.0 / rate, rel=1e-3)
    assert sim.acc.shape == sim.gyr.shape == sim.up_s.shape == (n, 3)
    assert np.all(np.isfinite(sim.acc)) and np.all(np.isfinite(sim.gyr))
    assert np.all(np.abs(sim.acc) <= 16 * G) and np.all(np.abs(sim.gyr) <= np.radians(2000.0))
    assert (sim.trunk_acc is not None) == SCENARIOS[scenario].sensor.trunk
    if sim.trunk_acc is not None:
        assert sim.trunk_acc.shape == sim.trunk_gyr.shape == (n, 3)
    steps = sim.steps
    assert np.all((steps["t"] >= 0) & (steps["t"] + steps["step_time_s"] <= sim.t[-1] + 1e-9))
    if scenario == "standing":
        assert len(steps) == 0
        assert np.linalg.norm(sim.acc, axis=1).mean() == pytest.approx(G, rel=0.03)
    else:
        assert len(steps) > 5


def test_a_session_shorter_than_its_standing_start_has_no_steps():
    sim = simulate("easy-run", seed=1, rate_hz=100.0, duration_s=3.0)
    assert sim.t[-1] < 3.0 and len(sim.steps) == 0


def test_unknown_scenario_and_bad_rate_are_clear_errors():
    with pytest.raises(ImurunError, match="unknown scenario"):
        simulate("marathon")
    with pytest.raises(ImurunError, match="outside"):
        simulate("easy-run", rate_hz=5.0)


def test_rotation_helpers_match_scipy():
    rng = np.random.default_rng(0)
    ypr = rng.uniform(-1.2, 1.2, (50, 3))
    v = rng.standard_normal((50, 3))
    ref = Rotation.from_euler("ZYX", ypr)
    assert np.allclose(zyx_apply(*ypr.T, v), ref.apply(v))
    assert np.allclose(zyx_apply_T(*ypr.T, v), ref.apply(v, inverse=True))
    # body rate = vee(R^T dR/dt), from a central difference of the scipy rotation
    rates = rng.uniform(-3, 3, (50, 3))
    h = 1e-6
    d = (Rotation.from_euler("ZYX", ypr - h * rates).inv() * Rotation.from_euler("ZYX", ypr + h * rates))
    assert np.allclose(zyx_body_rates(ypr[:, 1], ypr[:, 2], *rates.T), d.as_rotvec() / (2 * h), atol=1e-6)
    r = random_rotation(rng)
    assert np.allclose(r @ r.T, np.eye(3)) and np.linalg.det(r) == pytest.approx(1.0)


def test_random_mount_is_any_orientation_upright_is_identity():
    ups = np.array([simulate("standing", seed=s, duration_s=2.0).R_SP[2] for s in range(40)])
    assert ups[:, 2].min() < -0.5 and ups[:, 2].max() > 0.5  # upside down happens too
    upright = simulate("standing", seed=1, duration_s=2.0, mount="upright", ideal=True)
    assert np.array_equal(upright.R_SP, np.eye(3))
    assert np.allclose(upright.acc, [0.0, 0.0, G], atol=1e-9)


def test_mean_vertical_specific_force_over_whole_strides_is_g(run400, walk400):
    for sim in (run400, walk400):
        ic = sim.steps["t"]
        sel = between(sim.t, ic[4], ic[44])  # 20 whole strides
        assert vertical_sf(sim)[sel].mean() == pytest.approx(G, rel=3e-3)


def test_the_runner_leans_into_curves_along_the_resultant_of_gravity_and_centripetal(run400):
    """Over whole strides the specific force in the heading frame tilts toward the curve's inside
    by atan(v psi' / g), and the body leans with it (lean = minus that), so a balanced runner's
    apparent vertical is the body's own axis."""
    sim = run400
    ic = sim.steps["t"]
    k = np.searchsorted(ic, 30.0)  # the heading rate peaks at t = 30 s (0.037 rad/s)
    sel = between(sim.t, ic[k - 6], ic[k + 6])  # 6 whole strides
    euler = np.radians(np.column_stack([sim.rotation_deg, sim.tilt_deg, sim.obliquity_deg + sim.lean_deg]))
    f_h = Rotation.from_euler("ZYX", euler[sel]).apply(sim.acc[sel] @ sim.R_SP.T)  # sensor -> P -> H
    apparent = np.degrees(np.arctan2(f_h[:, 1].mean(), f_h[:, 2].mean()))
    lean = sim.lean_deg[sel].mean()
    assert abs(lean) > 0.5  # 3 m/s x 0.037 rad/s: 0.64 deg
    assert apparent == pytest.approx(-lean, abs=0.03)


def test_flight_is_free_fall(run400):
    s = run400.steps
    assert np.all(s["flight_time_s"][s["activity"] == "run"][1:] > 0.03)
    sf = vertical_sf(run400)
    # away from the edges, where the sensor's low-pass still rings from the contact
    mid = np.zeros(len(run400.t), dtype=bool)
    for ic, tc, st in zip(s["t"], s["contact_time_s"], s["step_time_s"], strict=True):
        mid |= between(run400.t, ic + tc + 0.015, ic + st - 0.01)
    assert mid.sum() > 1000
    assert np.abs(sf[mid]).max() < 0.02
    # and the stance carries the body: vertical specific force well above 1 g at mid-contact
    mid_contact = np.interp(s["t"] + s["contact_time_s"] / 2, run400.t, sf)
    assert np.all(mid_contact[1:-1] > 1.8 * G)


def test_gyro_is_the_body_rate_of_the_true_orientation(run400):
    sim = run400
    roll = sim.obliquity_deg + sim.lean_deg  # the body leans into the curves
    euler = np.radians(np.column_stack([sim.heading_deg + sim.rotation_deg, sim.tilt_deg, roll]))
    rot = Rotation.from_euler("ZYX", euler)
    w_p = (rot[:-1].inv() * rot[1:]).as_rotvec() / np.diff(sim.t)[:, None]
    w_s = w_p @ sim.R_SP  # R_SP^T w_P
    gyr = 0.5 * (sim.gyr[1:] + sim.gyr[:-1])
    rms = np.sqrt(np.mean(w_s**2))
    assert rms > 0.2  # the pelvis does turn
    assert np.sqrt(np.mean((gyr - w_s) ** 2)) < 0.03 * rms  # only the sensor low-pass differs
    assert np.abs(np.linalg.norm(gyr, axis=1) - np.linalg.norm(w_s, axis=1)).mean() < 0.02 * rms


def test_up_direction_matches_the_true_angles_and_the_still_accelerometer(run400):
    sim = run400
    euler = np.radians(np.column_stack([sim.rotation_deg, sim.tilt_deg, sim.obliquity_deg + sim.lean_deg]))
    up_p = Rotation.from_euler("ZYX", euler).apply([0.0, 0.0, 1.0], inverse=True)
    assert np.allclose(up_p @ sim.R_SP, sim.up_s, atol=1e-12)
    still = sim.t < 5.0
    assert np.allclose(sim.acc[still], G * sim.up_s[still], atol=1e-6)


def _recomputed(sim, k):
    """Step k's truth metrics from the per-sample truth signals (independent of sim_truth). The
    signals are continuous, so their extremes over [IC_k, IC_k+1) include the values at both ICs,
    interpolated between samples."""
    s = sim.steps
    t0, t1 = s["t"][k], s["t"][k] + s["step_time_s"][k]

    def over(x, a, b):
        sel = between(sim.t, a, b)
        return np.concatenate([np.interp([a], sim.t, x), x[sel], np.interp([b], sim.t, x)])

    sign = 1.0 if s["side"][k] == "L" else -1.0
    sel = between(sim.t, t0, t1)
    fwd = sim.fwd_mps[sel]
    j = np.argmin(fwd)
    decel = -np.gradient(fwd, sim.t[sel])[: j + 1]
    return {
        "pelvic_drop_deg": np.max(sign * over(sim.obliquity_deg, t0, t1)),
        "tilt_deg": np.mean(sim.tilt_deg[sel]),
        "tilt_peak_deg": np.max(over(sim.tilt_deg, t0, t1)),
        "rotation_range_deg": np.ptp(over(sim.rotation_deg, s["t"][k - 1], t1)),
        "vertical_osc_cm": 100 * np.ptp(over(sim.height_m, t0, t1)),
        "braking_mps": fwd[0] - fwd[j],
        "braking_peak_ms2": decel.max() if j else 0.0,
    }


TOLERANCE = {
    "pelvic_drop_deg": 0.01,
    "tilt_deg": 0.02,
    "tilt_peak_deg": 0.01,
    "rotation_range_deg": 0.02,
    "vertical_osc_cm": 0.03,
    "braking_mps": 0.01,
    "braking_peak_ms2": 0.1,
}


@pytest.mark.parametrize("which", ["run400", "walk400"])
def test_truth_metrics_agree_with_the_per_sample_truth(which, request):
    sim = request.getfixturevalue(which)
    s = sim.steps
    assert len(s) > 50
    for k in range(2, len(s) - 1):
        got = _recomputed(sim, k)
        for name, tol in TOLERANCE.items():
            assert s[name][k] == pytest.approx(got[name], abs=tol), (k, name)


def test_truth_step_definitions(run400, walk400):
    for sim, activity in ((run400, "run"), (walk400, "walk")):
        s = sim.steps
        assert set(s["activity"]) == {activity}
        assert np.all(s["side"][1:] != s["side"][:-1])
        assert np.allclose(s["t"][:-1] + s["step_time_s"][:-1], s["t"][1:])
        assert np.allclose(s["cadence_spm"], 60.0 / s["step_time_s"])
        assert np.isnan(s["rotation_range_deg"][0]) and np.all(np.isfinite(s["rotation_range_deg"][1:]))
        assert np.all(np.isnan(s["lumbar_ext_deg"])) and np.all(np.isnan(s["trunk_lean_deg"]))
        cv = np.std(s["step_time_s"]) / np.mean(s["step_time_s"])
        assert 0.01 < cv < 0.04
    run = run400.steps
    assert np.allclose(run["contact_time_s"][:-1] + run["flight_time_s"][:-1], run["step_time_s"][:-1])
    assert 0.22 < np.median(run["contact_time_s"]) < 0.28
    assert 165 < np.median(run["cadence_spm"]) < 175
    walk = walk400.steps
    assert np.all(walk["flight_time_s"] == 0.0)
    stride = walk["step_time_s"][:-1] + walk["step_time_s"][1:]
    assert np.allclose(walk["contact_time_s"][:-1] / stride, 0.6)


def test_sides_sway_rotation_and_drop_follow_the_conventions(run400):
    sim, s = run400, run400.steps
    left = s["side"] == "L"
    # at a left IC the left hip is forward: yaw negative, and still turning that way (McCamley 2012)
    yaw_at_ic = np.interp(s["t"], sim.t, sim.rotation_deg)
    assert np.all(yaw_at_ic[left][1:] < -2) and np.all(yaw_at_ic[~left][1:] > 2)
    # obliquity: left side up (positive) during left stance, i.e. the right (swing) side drops
    mid = s["t"] + 0.5 * s["contact_time_s"]
    obl = np.interp(mid, sim.t, sim.obliquity_deg)
    assert np.all(obl[left] > 1) and np.all(obl[~left] < -1)


def test_trunk_truth_is_lean_and_tilt_minus_lean():
    sim = simulate("trunk", seed=2, rate_hz=100.0, duration_s=30.0)
    s = sim.steps
    assert np.allclose(s["trunk_lean_deg"], 10.0, atol=1.0)
    assert np.allclose(s["lumbar_ext_deg"], s["tilt_deg"] - s["trunk_lean_deg"], atol=1e-6)
    assert not np.allclose(sim.trunk_acc, sim.acc, atol=1.0)
    # both sensors read g while standing, each in its own random orientation
    still = sim.t < 5.0
    assert np.linalg.norm(sim.trunk_acc[still].mean(0)) == pytest.approx(G, rel=0.02)


def test_scenarios_show_their_signatures():
    fat = simulate("fatigue", seed=1, rate_hz=50.0).steps
    early, late = fat[fat["t"] < 60.0], fat[fat["t"] > fat["t"][-1] - 60.0]
    assert np.mean(late["cadence_spm"]) / np.mean(early["cadence_spm"]) == pytest.approx(0.94, abs=0.015)
    for side, grows in (("R", True), ("L", False)):
        d_early = np.mean(early["pelvic_drop_deg"][early["side"] == side])
        d_late = np.mean(late["pelvic_drop_deg"][late["side"] == side])
        assert (d_late - d_early > 3.0) == grows
    assert np.mean(late["tilt_deg"]) - np.mean(early["tilt_deg"]) > 2.5
    easy = simulate("easy-run", seed=1, rate_hz=50.0, duration_s=60.0).steps
    over = simulate("overstride", seed=1, rate_hz=50.0, duration_s=60.0).steps
    assert np.median(over["cadence_spm"]) == pytest.approx(150, abs=3)
    assert np.median(over["braking_mps"]) > 1.8 * np.median(easy["braking_mps"])
    assert np.median(over["contact_time_s"]) > np.median(easy["contact_time_s"]) + 0.04
    iv = simulate("intervals", seed=1, rate_hz=50.0, duration_s=200.0).steps
    assert {"walk", "run"} == set(iv["activity"])
    gaps = np.diff(iv["t"]) - iv["step_time_s"][:-1]
    assert np.sum(gaps > 5.0) >= 1  # a standing pause: the last IC before it has no step row


def test_no_standing_runs_from_the_first_sample():
    sim = simulate("no-standing", seed=1, rate_hz=100.0, duration_s=20.0, ideal=True)
    assert sim.steps["t"][0] < 0.5
    assert np.std(vertical_sf(sim)[sim.t < 2.0]) > 3.0  # already bouncing


def test_slip_turns_the_mount_mid_run():
    """Same body, same mount draw: after the slip the sensor reads the same motion turned by 20 deg."""
    slip = simulate("slip", seed=1, rate_hz=100.0, duration_s=60.0, ideal=True)
    easy = simulate("easy-run", seed=1, rate_hz=100.0, duration_s=60.0, ideal=True)
    assert np.array_equal(slip.t, easy.t) and slip.steps.tobytes() == easy.steps.tobytes()
    before, after = slip.t < 29.9, slip.t > 30.3
    assert np.allclose(slip.acc[before], easy.acc[before]) and np.allclose(slip.gyr[before], easy.gyr[before])
    turn, _ = Rotation.align_vectors(slip.acc[after], easy.acc[after])
    assert np.degrees(turn.magnitude()) == pytest.approx(20.0, abs=0.5)
    assert np.allclose(turn.apply(easy.gyr[after]), slip.gyr[after], atol=1e-3)


def test_loose_mount_wobbles_the_sensor_against_the_pelvis():
    loose = simulate("loose-mount", seed=1, rate_hz=200.0, duration_s=30.0, ideal=True)
    up_p = loose.up_s @ loose.R_SP.T
    roll = loose.obliquity_deg + loose.lean_deg
    euler = np.radians(np.column_stack([loose.rotation_deg, loose.tilt_deg, roll]))
    exact = Rotation.from_euler("ZYX", euler).apply([0.0, 0.0, 1.0], inverse=True)
    wobble = np.degrees(np.arccos(np.clip(np.sum(up_p * exact, axis=1), -1, 1)))
    assert 0.5 < wobble.max() < 4.0


def test_lost_packets_leave_gaps_where_loss_is_requested():
    n_rate = 200.0
    clean = simulate("easy-run", seed=2, rate_hz=n_rate, duration_s=60.0, loss=0.0)
    lossy = simulate("easy-run", seed=2, rate_hz=n_rate, duration_s=60.0, loss=0.03)
    assert clean.lost_samples == 0 and np.all(np.diff(clean.t) < 1.5 / n_rate)
    dt = np.diff(lossy.t)
    gaps = dt[dt > 1.5 / n_rate]
    assert len(gaps) > 5
    missing = np.round(gaps * n_rate) - 1
    assert np.all(missing % 4 == 0)  # whole packets of 4 samples
    assert lossy.lost_samples == len(clean.t) - len(lossy.t)
    assert lossy.lost_samples / len(clean.t) == pytest.approx(0.03, rel=0.5)
    # the samples that did arrive are the same samples
    assert np.array_equal(np.isin(clean.t, lossy.t).sum(), len(lossy.t))
    # truth does not depend on the radio
    assert clean.steps.tobytes() == lossy.steps.tobytes()


def test_height_stays_bounded_over_a_long_run():
    sim = simulate("easy-run", seed=3, rate_hz=50.0, duration_s=300.0, ideal=True)
    assert np.ptp(sim.height_m) < 0.3
