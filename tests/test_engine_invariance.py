"""Engine contract: block-size invariance, determinism, fixed memory, bad samples never crash."""


import numpy as np
import pytest
from realdata import REAL
from scipy.spatial.transform import Rotation

from imurun.core.engine import Engine
from imurun.core.output import STEP_DTYPE


def _real(name: str):
    d = np.genfromtxt(REAL / f"{name}.csv", delimiter=",", comments="#", skip_header=9)
    return d[:, 0], d[:, 1:4], np.deg2rad(d[:, 4:7])


@pytest.fixture(scope="module")
def session():
    return _real("HA_001_Test11_Trial1")


def _run(t, acc, gyr, block):
    eng = Engine(100.0)
    parts = [eng.process(t[i : i + block], acc[i : i + block], gyr[i : i + block]).steps
             for i in range(0, len(t), block)]
    return np.concatenate(parts)


def test_same_steps_for_any_block_size(session):
    t, acc, gyr = session
    whole = _run(t, acc, gyr, len(t))
    assert whole.dtype == STEP_DTYPE and len(whole) > 40
    for block in (1, 7, 256):
        split = _run(t, acc, gyr, block)
        assert split.tobytes() == whole.tobytes(), f"block size {block} changed the steps"


def test_same_steps_for_any_block_size_without_gyroscope(session):
    """Without a gyroscope the attitude is the mean acceleration, turned to from the current up at
    each sample; each call used to start from uninitialised memory instead (steps then moved with
    the block size and with whatever the allocator handed back)."""
    t, acc, gyr = session
    nan = np.full_like(gyr, np.nan)
    whole = _run(t, acc, nan, len(t))
    assert len(whole) > 40
    for block in (1, 7, 256):
        assert _run(t, acc, nan, block).tobytes() == whole.tobytes(), f"block size {block}"


def test_same_steps_for_any_block_size_with_a_trunk_sensor():
    """Leaving stillness re-plays the trunk's attitude from the current one; a call used to start
    it from zeros, so one-sample calls (the live path's small blocks) kept the push-off's 6 deg
    trunk-lean error that whole-session analysis removed."""
    from imurun.sources.simulate import simulate

    sim = simulate("trunk", seed=3, rate_hz=200.0, duration_s=30.0)
    runs = []
    for block in (len(sim.t), 1, 8):
        eng = Engine(sim.rate_hz)
        runs.append(np.concatenate([
            eng.process(sim.t[i : i + block], sim.acc[i : i + block], sim.gyr[i : i + block],
                        sim.trunk_acc[i : i + block], sim.trunk_gyr[i : i + block]).steps
            for i in range(0, len(sim.t), block)]))
    assert np.isfinite(runs[0]["trunk_lean_deg"]).sum() > 40
    for split in runs[1:]:
        assert split.tobytes() == runs[0].tobytes()


def test_same_steps_sides_and_angles_for_any_mounting(session):
    """The engine finds its own axes (gravity while still, forward from the steps), so the same
    walk read by a sensor turned any way on the sacrum gives the same steps, sides and angles
    (issue 13: sides that hold for any mounting)."""
    t, acc, gyr = session
    base = _run(t, acc, gyr, len(t))
    for rot in Rotation.random(3, random_state=3).as_matrix():
        turned = _run(t, acc @ rot.T, gyr @ rot.T, len(t))
        assert len(turned) == len(base) and (turned["side"] == base["side"]).all()
        for name in ("t", "step_time_s", "pelvic_drop_deg", "tilt_deg", "rotation_range_deg"):
            np.testing.assert_allclose(turned[name], base[name], atol=1e-6, err_msg=name)


def test_same_signals_for_any_block_size(session):
    t, acc, gyr = session
    runs = []
    for block in (len(t), 1, 33):
        eng = Engine(100.0, emit_signals=True)
        parts = [eng.process(t[i : i + block], acc[i : i + block], gyr[i : i + block]).signals
                 for i in range(0, len(t), block)]
        runs.append(np.concatenate(parts))
    assert len(runs[0]) == len(t) and np.isfinite(runs[0]["tilt_deg"][1000:]).all()
    assert runs[1].tobytes() == runs[0].tobytes() and runs[2].tobytes() == runs[0].tobytes()


def test_state_memory_is_fixed(session):
    t, acc, gyr = session
    eng = Engine(100.0)
    sizes = {k: v.nbytes for k, v in eng.state._asdict().items()}
    eng.process(t, acc, gyr)
    eng.process(t + t[-1] + 0.01, acc, gyr)
    assert {k: v.nbytes for k, v in eng.state._asdict().items()} == sizes


def test_state_is_one_buffer_and_its_views_name_it(session):
    t, acc, gyr = session
    eng = Engine(100.0)
    eng.process(t[:3000], acc[:3000], gyr[:3000])
    assert all(np.shares_memory(v, eng._buf) for v in eng.state)
    assert sum(v.size for v in eng.state) == eng._buf.size  # every slot belongs to one field
    assert eng.state.q @ eng.state.q == pytest.approx(1.0)  # the AHRS wrote where q is read


def test_status_of_an_output_is_the_status_at_the_end_of_its_call(session):
    t, acc, gyr = session
    eng = Engine(100.0)
    first = eng.process(t[:3000], acc[:3000], gyr[:3000])
    later = eng.process(t[3000:6000], acc[3000:6000], gyr[3000:6000])
    assert first.status.samples == 3000 and first.status.t == t[2999]  # read after the second call
    assert later.status == eng.status() and later.status.samples == 6000
    assert later.status.steps == len(first.steps) + len(later.steps) > 0
    assert set(first.steps["side"]) == {"L", "R"} and set(first.steps["activity"]) <= {"walk", "run"}


def test_nan_rows_gaps_and_time_going_back_are_flagged_not_fatal(session):
    t, acc, gyr = (x.copy() for x in session)
    acc[3000:3010] = np.nan  # NaN rows
    keep = np.ones(len(t), bool)
    keep[5000:5100] = False  # a 1 s gap
    t[7000] = t[6999]  # duplicate timestamp
    eng = Engine(100.0)
    out = eng.process(t[keep], acc[keep], gyr[keep])
    st = out.status
    assert st.nan_samples == 11  # 10 NaN rows + the duplicate
    assert st.gaps >= 2 and st.lost_samples >= 99
    promised = [n for n in STEP_DTYPE.names if n not in ("side", "activity", "contact_time_s",
                                                           "flight_time_s", "rotation_range_deg",
                                                           "trunk_lean_deg")]
    # a bout's last step (before a stop or the 1 s gap) has no next IC: its interval alone is
    # unknown, and the status counts exactly those rows
    bout_end = ~np.isfinite(out.steps["step_time_s"])
    assert bout_end.sum() == st.bout_end_steps > 0 and "step_time_s" in st.flags
    for name in promised:
        interval = name in ("step_time_s", "cadence_spm")
        assert np.all(np.isfinite(out.steps[name][~bout_end if interval else slice(None)])), name


def test_no_step_spans_a_gap_that_begins_just_after_a_landing():
    """A running landing waits one sample for its tangent; a gap longer than max_gap_s in that
    sample broke the step sequence, yet the waiting landing used to open a step across the gap."""
    from imurun.sources.simulate import simulate

    sim = simulate("easy-run", seed=1, rate_hz=200.0, duration_s=60.0)
    ic = sim.steps["t"][sim.steps["t"] > 30.0][0]
    for start in ic + np.arange(0.0, 0.04, 0.005):  # one of these is the sample after the crossing
        keep = ~((sim.t > start) & (sim.t < start + 0.3))
        steps = Engine(200.0).process(sim.t[keep], sim.acc[keep], sim.gyr[keep]).steps
        across = (steps["t"] < start) & (steps["t"] + steps["step_time_s"] > start + 0.3)
        assert not across.any(), steps[across]


def test_saturation_and_rate_change_are_counted():
    rng = np.random.default_rng(1)
    t = np.concatenate([np.arange(0, 10, 0.005), 10 + np.arange(0, 10, 0.01)])  # 200 -> 100 Hz
    acc = np.tile([0.0, 0.0, 9.80665], (len(t), 1)) + rng.normal(0, 0.02, (len(t), 3))
    gyr = rng.normal(0, 0.01, (len(t), 3))
    acc[100:105, 0] = 400.0  # beyond +-16 g
    out = Engine(200.0).process(t, acc, gyr)
    assert out.status.saturated_samples == 5
    assert out.status.rate_changes == 1
    assert out.status.activity == "still" and len(out.steps) == 0


def test_re_designing_the_walking_low_pass_keeps_a_steady_signal_steady():
    """The walking low-pass is re-designed whenever the walk's time scale moves. In transposed direct
    form II its states are products of the old coefficients, so a steady 1 g read as a bump of its
    own after a re-design; in direct form I the state is the signal's history (kernel.process_block)."""
    from imurun.core import state as S
    from imurun.core.kernel import _design_walk_lp

    eng = Engine(100.0)
    t = np.arange(0.0, 4.0, 0.01)
    acc = np.tile([0.0, 0.0, 9.80665], (t.size, 1))
    gyr = np.zeros((t.size, 3))
    eng.process(t[:200], acc[:200], gyr[:200])
    f = eng.state.f
    assert f[S.WLP_Y] == pytest.approx(1.0, abs=1e-9)
    for i, scale in ((200, 1.6), (201, 0.75)):
        f[S.WALK_SCALE] = scale
        _design_walk_lp(f, eng._c)
        eng.process(t[i : i + 1], acc[i : i + 1], gyr[i : i + 1])
        assert f[S.WLP_Y] == pytest.approx(1.0, abs=1e-9), scale


def test_the_cadence_median_is_numpys_to_the_bit():
    """The bout cadence's median of the last step times is counted in place (no array per step):
    the same value as np.median for every count it meets, ties and even counts included."""
    from imurun.core.kernel import _median_of_few

    rng = np.random.default_rng(0)
    for n in range(1, 9):
        for trial in range(100):
            x = rng.choice([0.50, 0.52, 0.55], 12) if trial % 2 else rng.uniform(0.25, 1.5, 12)
            assert _median_of_few(x, 3, n) == np.median(x[3 : 3 + n])
