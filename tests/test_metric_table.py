"""One metric table (output.METRICS) names, orders and shows the per-step metrics: the engine's
output dtype, its kernel columns, the report, the narrative and the coach must agree with it."""

from __future__ import annotations

import numpy as np

from imurun.coach.profile import RunnerProfile
from imurun.coach.rules import rule_table
from imurun.core import metrics as kernel_metrics
from imurun.core.engine import Engine
from imurun.core.output import METRIC, METRIC_COLUMNS, METRICS, STEP_DTYPE, SWING_HIP
from imurun.report import narrative, sections
from imurun.sources.simulate import simulate

# the unit a column name ends with -> the units it may be shown in, with their scale
SHOWN = {"_s": {("ms", 1000.0)}, "_spm": {("spm", 1.0)}, "_cm": {("cm", 1.0)}, "_mps": {("m/s", 1.0)},
         "_ms2": {("m/s²", 1.0)}, "_deg": {("°", 1.0)}}


def test_step_dtype_is_t_side_activity_then_the_table_in_its_order():
    assert STEP_DTYPE.names == ("t", "side", "activity", *(m.column for m in METRICS))
    assert METRIC_COLUMNS == tuple(m.column for m in METRICS)
    assert all(STEP_DTYPE[m.column] == np.dtype("f8") for m in METRICS)
    assert kernel_metrics.N_M == len(METRICS)


def test_every_metric_is_shown_in_a_unit_that_matches_its_column():
    for m in METRICS:
        suffix = "_" + m.column.rsplit("_", 1)[1]
        assert (m.unit, m.scale) in SHOWN[suffix], m.column
        assert m.label and m.words == m.words.lower() and m.doc


def test_the_kernel_writes_each_metric_into_its_column():
    """Relations between columns that hold only if each value landed in its own column."""
    sim = simulate("easy-run", seed=3, duration_s=40.0)
    eng = Engine(sim.rate_hz)
    steps = np.concatenate([eng.process(sim.t, sim.acc, sim.gyr).steps, eng.finish().steps])
    run = steps[(steps["activity"] == "run") & np.isfinite(steps["contact_time_s"])]
    assert len(run) > 50
    np.testing.assert_allclose(run["cadence_spm"], 60.0 / run["step_time_s"])
    np.testing.assert_allclose(run["contact_time_s"] + run["flight_time_s"], run["step_time_s"])
    assert np.all(run["tilt_peak_deg"] >= run["tilt_deg"])
    np.testing.assert_array_equal(run["lumbar_ext_deg"], run["tilt_deg"])  # no trunk sensor: the proxy
    assert np.isnan(run["trunk_lean_deg"]).all() and (run["braking_mps"] >= 0).all()
    assert (run["vertical_osc_cm"] > 2).all() and (run["vertical_osc_cm"] < 20).all()


def test_swing_hip_rule_is_the_tables_everywhere():
    drop = METRIC["pelvic_drop_deg"]
    assert [m.column for m in METRICS if m.swing_hip] == ["pelvic_drop_deg"]
    assert drop.landing_side("R") == "L" and drop.landing_side("L") == "R"
    assert METRIC["tilt_deg"].landing_side("L") == "L"
    assert all(SWING_HIP[SWING_HIP[s]] == s for s in "LR")
    for key, hip in (("drop_right_hip", "R"), ("drop_left_hip", "L")):
        assert narrative.SERIES[key].hip == hip and narrative.SERIES[key].column == drop.column
    for rule in rule_table(RunnerProfile()):
        if rule.metric == drop.column:
            assert rule.stance == drop.landing_side(rule.side)


def test_report_and_narrative_use_only_table_metrics():
    assert sorted(m.column for m in sections.METRIC_ROWS) == sorted(METRIC_COLUMNS)
    assert all(s.column in METRIC for s in narrative.SERIES.values())
    assert narrative.SERIES["drop_right_hip"].label == "pelvic drop of the right hip"
