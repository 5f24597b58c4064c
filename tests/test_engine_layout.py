"""The engine's state layout is derived from its declaration tables (imurun/core/state.py): these
tests check that the derived indices, the packed settings and the buffer views agree with them."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import numpy as np
import pytest
from numba import njit
from numba.core.unsafe.refcount import get_refcount

from imurun.core import state as S
from imurun.core.engine import Engine, EngineConfig, _pack
from imurun.sources.simulate import simulate

TABLES = [(S.SCALARS, S.SCALAR_INDEX, S.N_F), (S.SETTINGS, S.SETTING_INDEX, S.N_C),
          (S.CHANNELS, S.CHANNEL_INDEX, S.N_R), (S.PENDING, S.PENDING_INDEX, S.N_P)]


@pytest.mark.parametrize(("table", "index", "n"), TABLES)
def test_each_slot_belongs_to_exactly_one_entry_and_its_names_are_module_constants(table, index, n):
    owner = np.full(n, -1)
    start = 0
    for k, entry in enumerate(table):
        names = entry.names.split()
        assert index[names[0]] == start
        assert [index[m] for m in names] == list(range(start, start + len(names)))
        assert (owner[start : start + entry.size] == -1).all()
        owner[start : start + entry.size] = k
        start += entry.size
    assert start == n and (owner >= 0).all()
    for name, i in index.items():
        assert getattr(S, name) == i


def test_layout_refuses_a_name_declared_twice_or_names_that_do_not_fit_the_size():
    with pytest.raises(ValueError, match="A declared twice"):
        S.layout((S.Slot("A"), S.Slot("B"), S.Slot("A")))
    with pytest.raises(ValueError, match="2 names for 3 slots"):
        S.layout((S.Slot("X Y", size=3),))
    assert S.layout((S.Slot("A", size=3), S.Slot("B C", size=2))) == ({"A": 0, "B": 3, "C": 4}, 5)


def test_tables_do_not_share_names():
    names = [m for _, index, _ in TABLES for m in index]
    assert len(names) == len(set(names))


def test_a_fresh_state_holds_the_declared_initial_values():
    buf = S.new_state(100.0, 2.0)
    f = S.views(buf).f
    expect = S.F_INIT.copy()
    expect[S.DT_EMA] = 0.01
    np.testing.assert_array_equal(f, expect)
    assert np.isnan(f[S.T_PREV]) and f[S.LAST_IC_SIDE] == -1 and f[S.MOVE_T] == -np.inf


def test_every_engine_config_field_is_packed_into_its_own_setting_slot():
    fields = {f.name for f in dataclasses.fields(EngineConfig)}
    packed = {s.field for s in S.SETTINGS if s.field}
    # ring_s sizes the state buffer; activity_hold_s and side_agree_min are read by the status
    # (Python) only
    assert packed == fields - {"ring_s", "activity_hold_s", "side_agree_min"}
    cfg = EngineConfig()
    base = _pack(200.0, cfg)
    for setting in S.SETTINGS:
        if not setting.field:
            continue
        changed = _pack(200.0, dataclasses.replace(cfg, **{setting.field: getattr(cfg, setting.field) * 0.9}))
        i = S.SETTING_INDEX[setting.names]
        diff = np.flatnonzero(changed != base)
        assert diff.size and (diff >= i).all() and (diff < i + setting.size).all(), setting


def test_views_cover_the_buffer_in_order_without_overlap():
    buf = S.new_state(200.0, 4.0)
    st = S.views(buf)
    cap = S.ring_capacity(200.0, 4.0)
    shapes = {"f": (S.N_F,), "pend": (S.MAX_PENDING, S.N_P), "ring": (cap, S.N_R),
              "scratch": (cap, S.N_SCRATCH)}
    at = buf.__array_interface__["data"][0]
    for name, view in zip(st._fields, st, strict=True):
        assert np.shares_memory(view, buf) and view.flags.c_contiguous
        assert view.__array_interface__["data"][0] == at, name
        assert view.shape == shapes.get(name, view.shape), name
        at += view.nbytes
    assert at == buf.__array_interface__["data"][0] + buf.nbytes


@njit
def _references_counted(buf):
    """How many references the owned views and the borrowed views of `buf` each add to its count;
    and a write through a borrowed view."""
    before = get_refcount(buf)
    owned = S.views(buf)
    after_owned = get_refcount(buf)
    borrowed = S.views(S.borrow(buf))
    after_borrowed = get_refcount(buf)
    borrowed.f[0] = owned.f[0] + 1.0
    return after_owned - before, after_borrowed - after_owned


def test_the_kernels_borrowed_views_count_no_reference_and_write_to_the_buffer():
    buf = S.new_state(200.0, 4.0)
    buf[0] = 1.0
    owned, borrowed = _references_counted(buf)
    assert owned == len(S.EngineState._fields)  # one counted reference per view, when owned
    assert borrowed == 0
    assert buf[0] == 2.0


_PURE_PYTHON_RUN = """
import sys
import numpy as np
from imurun.core.engine import Engine
d = np.load(sys.argv[1])
engine = Engine(float(d["rate"]))
steps = np.r_[engine.process(d["t"], d["acc"], d["gyr"]).steps, engine.finish().steps]
np.save(sys.argv[2], np.c_[steps["t"], steps["pelvic_drop_deg"]])
"""


def test_the_kernels_run_as_plain_python_for_debugging_and_give_the_same_steps(tmp_path):
    """NUMBA_DISABLE_JIT=1 is how a kernel rule is stepped through: `borrow` must then be a no-op
    and the engine must not look for a cache. Three seconds of a run, from mid-stride."""
    sim = simulate("easy-run", seed=3, rate_hz=100.0, duration_s=25.0)
    clip = (sim.t >= 20.0) & (sim.t < 23.0)
    t, acc, gyr = sim.t[clip], sim.acc[clip], sim.gyr[clip]
    np.savez(tmp_path / "in.npz", rate=sim.rate_hz, t=t, acc=acc, gyr=gyr)
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    run = [sys.executable, "-c", _PURE_PYTHON_RUN, str(tmp_path / "in.npz"), str(tmp_path / "out.npy")]
    proc = subprocess.run(run, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    engine = Engine(sim.rate_hz)
    steps = np.r_[engine.process(t, acc, gyr).steps, engine.finish().steps]
    assert len(steps) >= 7
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), np.c_[steps["t"], steps["pelvic_drop_deg"]],
                               rtol=0, atol=1e-9)


def test_a_held_step_is_emitted_before_the_samples_its_evidence_reads_leave_the_ring():
    """A walk's first steps wait seconds for the forward axis, and then their sides and row times
    read windows reaching up to a stride (2 max_step) before their ICs. With a ring too short to
    wait that long (4 s asked, 5.12 s at 100 Hz), they are emitted as they are before those
    samples are overwritten: with 64 samples of slack alone, the oldest's windows reached 689
    samples back in a 512-sample ring."""
    sim = simulate("intervals", seed=1, rate_hz=100.0, duration_s=90.0)
    cfg = EngineConfig(ring_s=4.0)
    eng = Engine(100.0, cfg)
    cap = eng.state.ring.shape[0]
    back = 2.0 * cfg.max_step_s * 100.0
    n_steps, reach = 0, 0.0
    for i in range(0, len(sim.t), 25):
        n_steps += len(eng.process(sim.t[i:i + 25], sim.acc[i:i + 25], sim.gyr[i:i + 25]).steps)
        f = eng.state.f
        if f[S.N_PENDING] > 0:
            reach = max(reach, f[S.N_SAMPLES] - 1 - eng.state.pend[0, S.P_I0] + back)
    assert 0 < reach < cap
    n_steps += len(eng.finish().steps)
    whole = Engine(100.0)  # the default ring: the same steps, none lost to the early emission
    assert n_steps == len(whole.process(sim.t, sim.acc, sim.gyr).steps) + len(whole.finish().steps)
