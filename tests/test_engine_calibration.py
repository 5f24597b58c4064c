"""Engine.recalibrate(): the standing baseline is taken again at the next still period."""

import numpy as np
import pytest

from imurun.core.engine import Engine
from imurun.sources.simulate import simulate
from imurun.validate import score


def _remounted(sim, t0: float, deg: float):
    """The sensor re-clipped 6 deg differently at t0 (too little for the slip check's 8 deg)."""
    a = np.radians(deg)
    r = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    late = sim.t > t0
    acc, gyr = sim.acc.copy(), sim.gyr.copy()
    acc[late], gyr[late] = acc[late] @ r.T, gyr[late] @ r.T
    return acc, gyr


def test_recalibrate_waits_for_standing_then_takes_a_new_baseline():
    # intervals: stand 8 s, then walk 40 s, run 60 s, walk 30 s, stand 10 s (from 138 s), repeated
    sim = simulate("intervals", seed=2, rate_hz=100.0, duration_s=200.0)
    acc, gyr = _remounted(sim, 100.0, 6.0)
    eng, plain = Engine(sim.rate_hz), Engine(sim.rate_hz)
    cut = int(np.searchsorted(sim.t, 120.0))
    first = eng.process(sim.t[:cut], acc[:cut], gyr[:cut])
    plain.process(sim.t[:cut], acc[:cut], gyr[:cut])
    assert first.status.calibration == "standing" and "calibration" not in first.status.flags
    eng.recalibrate()
    assert "standing still" in eng.status().flags["calibration"].text
    pause = int(np.searchsorted(sim.t, 138.0))
    moving = eng.process(sim.t[cut:pause], acc[cut:pause], gyr[cut:pause])
    assert "calibration" in moving.status.flags  # no still period yet: the old baseline stays
    same = plain.process(sim.t[cut:pause], acc[cut:pause], gyr[cut:pause])
    assert moving.steps.tobytes() == same.steps.tobytes()
    rest = eng.process(sim.t[pause:], acc[pause:], gyr[pause:])
    assert rest.status.calibration == "standing" and "calibration" not in rest.status.flags
    stale = plain.process(sim.t[pause:], acc[pause:], gyr[pause:])
    truth = sim.steps[sim.steps["t"] > 138.0]
    new, old = score(rest.steps, truth)["metrics"], score(stale.steps, truth)["metrics"]
    assert len(rest.steps) > 50 and new["pelvic_drop_deg"]["rmse"] <= 1.0 and new["tilt_deg"]["rmse"] <= 1.0
    assert max(old["pelvic_drop_deg"]["rmse"], old["tilt_deg"]["rmse"]) > 3.0  # the 6 deg stayed in


def test_a_reversed_forward_axis_is_voted_back_and_flagged():
    """Forward's sign is revisited at every IC: a wrong start (on 3 of 32 real walks the old rule
    reversed it for the whole walk, and drop, tilt and braking with it) is corrected by the
    steps' votes within seconds, and the status says the earlier steps had the wrong sign."""
    sim = simulate("walk", seed=1, rate_hz=100.0, duration_s=60.0)
    half = sim.t < 30.0
    eng = Engine(sim.rate_hz)
    eng.process(sim.t[half], sim.acc[half], sim.gyr[half])
    right = eng.state.fwd.copy()
    assert "forward" not in eng.status().flags
    eng.state.fwd[:] = -right  # as if the start had misled it
    out = eng.process(sim.t[~half][:1000], sim.acc[~half][:1000], sim.gyr[~half][:1000])
    assert np.dot(eng.state.fwd, right) > 0.9
    assert "forward" in out.status.flags


def test_without_standing_tilt_is_the_change_from_the_early_run_posture(monkeypatch):
    """A run that starts moving has no standing baseline: tilt is measured from the posture of its
    first gait (posture_s), then that baseline is frozen. Kept current, it absorbed a slow fatigue
    drift within ~10 s, so a tilt rising 4 -> 7 deg read flat and the coach never heard of it."""
    from imurun.sources import sim_scenarios as sc

    drift = sc.Scenario("drift", "fatigue from the first sample", 300.0,
                        (sc.Segment(0, sc.RUN, sc._FATIGUED),), lead_in_s=20.0)
    monkeypatch.setitem(sc.SCENARIOS, "drift", drift)
    sim = simulate("drift", seed=3, rate_hz=100.0)
    eng = Engine(sim.rate_hz)
    steps = eng.process(sim.t, sim.acc, sim.gyr).steps
    assert eng.status().calibration == "gait"
    truth = sim.truth
    j = np.abs(truth["t"][None, :] - steps["t"][:, None]).argmin(axis=1)

    def change(name):
        early, late = steps["t"] < 40.0, steps["t"] > 260.0
        return (np.nanmean(steps[name][late]) - np.nanmean(steps[name][early]),
                np.nanmean(truth[name][j[late]]) - np.nanmean(truth[name][j[early]]))

    measured, true = change("tilt_deg")
    assert true > 2.0 and abs(measured - true) <= 0.5, (measured, true)


def _rows_with_emit_times(sim, block_s: float = 0.05):
    """Replay `sim` as `imurun replay` does; each step row with the time of the block it came in."""
    eng = Engine(sim.rate_hz)
    step = max(1, int(round(block_s * sim.rate_hz)))
    rows, at = [], []
    for i in range(0, sim.t.size, step):
        out = eng.process(sim.t[i:i + step], sim.acc[i:i + step], sim.gyr[i:i + step])
        rows.append(out.steps)
        at.append(np.full(out.steps.size, sim.t[min(i + step, sim.t.size) - 1]))
    return eng, np.concatenate(rows), np.concatenate(at)


@pytest.mark.parametrize(("scenario", "seed", "rate"), [("no-standing", 1, 50.0), ("no-standing", 2, 50.0),
                                                      ("no-standing", 3, 50.0), ("easy-run", 3, 200.0)])
def test_the_first_running_strides_come_within_a_second_on_a_provisional_axis(scenario, seed, rate):
    """Issue 15: the forward axis needs forward_min_s (3 s) of gait, and the first ~10 running steps
    waited for it, so "easy start" came 3.6-4 s late. They now wait max_hold_s at most and are
    measured on a provisional axis (the stride's posture, levelled on its mean specific force while
    the attitude of a moving start converges): measured 0.68-0.90 s at 50-200 Hz, and their drop
    and tilt as good as the held rows' were on standing starts. Without standing, forward was taken
    from statistics into which the unconverged attitude had leaked gravity: 90 deg off for 8 s
    (seed 1; drop and tilt 2 deg RMSE over its first 15 rows, now 0.6-0.7 at 50 Hz; drop 1.4 at
    200 Hz)."""
    sim = simulate(scenario, seed=seed, rate_hz=rate, duration_s=40.0)
    eng, steps, at = _rows_with_emit_times(sim)
    run = steps["activity"] == "run"
    first = slice(0, 10)
    assert (at[run][first] - steps["t"][run][first]).max() <= 1.0
    flag = eng.status().flags["alignment"]
    assert flag.text.endswith("provisional forward axis (emitted before it was established)")
    assert int(flag.text.split()[0]) >= 5
    truth = sim.truth
    j = np.abs(truth["t"][None, :] - steps["t"][:, None]).argmin(axis=1)
    early = run & (steps["t"] < steps["t"][run][0] + 3.0)  # before the axis is established
    settled = run & (steps["t"] > 20.0)
    for name in ("pelvic_drop_deg", "tilt_deg"):
        err = steps[name] - truth[name][j]
        offset = np.median(err[settled])  # without standing: a change from the early-run posture
        # without standing the provisional baseline is a stride's posture, the final one the mean of
        # 20 s of gait: measured 0.35-1.2 deg (tilt, seed 1 the largest); with standing 0.1-0.2
        limit = 1.0 if scenario == "easy-run" else 1.5
        assert np.sqrt(np.mean((err[early] - offset) ** 2)) <= limit, name


def test_without_standing_the_baseline_waits_for_the_gyro_bias():
    """Without a standing start the gyro bias is unknown and the attitude takes about a minute to
    learn it (kp 0.2, ki 0.01). A baseline frozen after 20 s of gait kept that error: this runner's
    right / left drop read -1.9 / +2.0 deg off for the whole run (5 false hip cues in bench_cues);
    taken after 60 s, -0.05 / +0.10."""
    sim = simulate("no-standing", seed=2, rate_hz=100.0, mount="upright")
    steps = Engine(sim.rate_hz).process(sim.t, sim.acc, sim.gyr).steps
    truth = sim.truth
    j = np.abs(truth["t"][None, :] - steps["t"][:, None]).argmin(axis=1)
    err = steps["pelvic_drop_deg"] - truth["pelvic_drop_deg"][j]
    late = steps["t"] > 70.0
    right, left = (np.median(err[late & (steps["side"] == s)]) for s in ("R", "L"))
    assert abs(right - left) <= 1.0, (right, left)


def test_stillness_returns_after_a_steady_turn():
    """A turn whose 1 s mean rate is far from the gyro bias is no rest; it must not end stillness
    for good (a NaN stillness statistic did, after the first turn of every real walk)."""
    from imurun.core import state as S

    rate = 100.0
    n = int(3 * rate)
    t = np.arange(3 * n) / rate
    acc = np.tile([0.0, 0.0, 9.80665], (3 * n, 1))
    gyr = np.zeros((3 * n, 3))
    gyr[:, 0] = np.radians(0.3)  # a small bias, so the sensor has a gyroscope
    gyr[n : 2 * n, 2] = np.radians(45.0)  # standing, a steady turn, standing
    eng = Engine(rate)
    still_for = []
    for k in range(3):
        eng.process(t[k * n : (k + 1) * n], acc[k * n : (k + 1) * n], gyr[k * n : (k + 1) * n])
        still_for.append(eng.state.f[S.STILL_TIME])
    assert still_for[0] > 2.0 and still_for[1] == 0.0 and still_for[2] > 0.5, still_for  # 3.0, 0, 0.8


def test_a_slow_tilt_after_the_standing_calibration_does_not_become_the_gyro_bias():
    """A steady turn slower than the stillness limits passes for rest: its rate is steady, and |acc|
    stays g. Once standing has given the bias, such a still period moving it by more than a drifting
    gyro could (1 deg/s) is motion. Taken as bias, HA_001's daily-life walk stretched 1.1x learned
    6.4 deg/s and its attitude drifted 40 deg in the next 8 s of gyro-only gait, losing a bout."""
    from scipy.spatial.transform import Rotation

    from imurun.core import state as S

    rate, g = 100.0, 9.80665
    bias = np.radians([0.3, -0.2, 0.1])
    seg = {"stand": 3.0, "shake": 1.0, "tilt": 3.0, "hold": 2.0}
    n = {k: int(v * rate) for k, v in seg.items()}
    tilt_rate = np.radians(5.0)  # about x: steady, so its deviation from the 1 s mean fades; < STILL_MAX_BIAS
    w = np.zeros((sum(n.values()), 3))
    k0 = n["stand"]
    w[k0 : k0 + n["shake"], 2] = np.radians(60.0) * np.sin(2 * np.pi * 2.0 * np.arange(n["shake"]) / rate)
    k1 = k0 + n["shake"]
    w[k1 : k1 + n["tilt"], 0] = tilt_rate
    angle = np.concatenate([[0.0], np.cumsum(w[:-1, 0]) / rate])  # the tilt about x so far
    acc = Rotation.from_rotvec(np.c_[angle, 0 * angle, 0 * angle]).inv().apply([0.0, 0.0, g])
    t = np.arange(len(w)) / rate
    eng = Engine(rate)
    k2 = k1 + n["tilt"]
    eng.process(t[:k2], acc[:k2], w[:k2] + bias)
    assert eng.state.f[S.STILL_CAL_DONE] == 1.0  # the standing calibration happened and ended
    assert eng.state.f[S.STILL_TIME] > 1.0  # the tilt passed for rest
    eng.process(t[k2:], acc[k2:], w[k2:] + bias)
    err = np.degrees(np.abs(eng.state.bias - bias)).max()
    assert err < 0.2, np.degrees(eng.state.bias)  # 3.1 deg/s off when the tilt was taken as bias
