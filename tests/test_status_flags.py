"""Status flags are typed (output.Flag: kind and text); written out they keep summary.json's strings."""

from __future__ import annotations

import numpy as np
import pytest

from imurun.core.engine import Engine
from imurun.core.output import Flag, FlagKind
from imurun.sources.simulate import simulate
from imurun.summary import summarize


@pytest.mark.parametrize("kind", list(FlagKind))
def test_a_written_flag_reads_back_as_itself(kind):
    flag = Flag(kind, "no trunk sensor: see docs")
    assert Flag.parse(str(flag)) == flag


def test_written_flags_keep_the_summary_strings_and_only_notes_have_no_prefix():
    assert str(Flag(FlagKind.PROXY, "anterior pelvic tilt (no trunk sensor)")) == (
        "proxy: anterior pelvic tilt (no trunk sensor)")
    note = "sensor slipped or posture changed 1x: re-levelled on gait"
    assert str(Flag(FlagKind.NOTE, note)) == note
    assert Flag.parse("lower confidence: x") == Flag(FlagKind.NOTE, "lower confidence: x")


def test_an_accelerometer_only_stream_flags_each_metric_with_its_kind_and_the_summary_writes_them():
    sim = simulate("easy-run", seed=2, duration_s=30.0)
    eng = Engine(sim.rate_hz)
    steps = eng.process(sim.t, sim.acc, np.full_like(sim.gyr, np.nan)).steps
    flags = eng.status().flags
    kinds = {k: f.kind for k, f in flags.items()}
    assert kinds["pelvic_drop_deg"] is kinds["trunk_lean_deg"] is FlagKind.UNAVAILABLE
    assert kinds["lumbar_ext_deg"] is FlagKind.PROXY and kinds["side"] is FlagKind.LOW_CONFIDENCE
    assert kinds["contact_time_s"] is FlagKind.NOTE
    written = summarize(steps, eng.status(), float(sim.t[-1]))["quality"]["flags"]
    assert written["pelvic_drop_deg"] == "unavailable: no gyroscope (accelerometer only)"
    assert {k: Flag.parse(v) for k, v in written.items()} == flags
