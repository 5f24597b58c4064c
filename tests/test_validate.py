"""The yardstick on hand-made steps whose exact scores are known."""

import math

import numpy as np
import pytest
from realdata import REAL, REAL_TRIALS
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_bipartite_matching

from imurun.session.truth import read_bouts_csv, read_steps_csv
from imurun.validate import match, score


def steps(t, side=None, **columns):
    """A truth-file-like structured array: t, side and the given float columns."""
    t = np.asarray(t, dtype=float)
    if side is None:
        side = ["L" if k % 2 == 0 else "R" for k in range(t.size)]
    dtype = [("t", "f8"), ("side", "U1")] + [(name, "f8") for name in columns]
    out = np.zeros(t.size, dtype=dtype)
    out["t"], out["side"] = t, list(side)
    for name, values in columns.items():
        out[name] = values
    return out


def bouts(*rows):
    out = np.zeros(len(rows), dtype=[("t_start", "f8"), ("t_end", "f8"), ("cadence_spm", "f8")])
    for k, row in enumerate(rows):
        out[k] = row
    return out


TRUTH_T = 1.0 + 0.35 * np.arange(20)


def det(result, tol_ms):
    (row,) = [d for d in result["detection"] if d["tolerance_ms"] == tol_ms]
    return row


def test_perfect_match():
    r = score(steps(TRUTH_T), steps(TRUTH_T))
    for tol in (50, 100):
        d = det(r, tol)
        assert (d["matched"], d["false_positives"], d["missed"]) == (20, 0, 0)
        assert d["precision"] == d["recall"] == d["f1"] == 1.0
    assert r["timing"] == {"tolerance_ms": 100, "matched": 20, "bias_ms": 0.0, "mae_ms": 0.0}
    assert r["side"]["accuracy"] == 1.0
    assert r["notes"] == []


def test_constant_shift_within_and_beyond_50ms():
    late = score(steps(TRUTH_T + 0.030), steps(TRUTH_T))
    assert det(late, 50)["f1"] == 1.0
    assert late["timing"]["bias_ms"] == pytest.approx(30.0)
    assert late["timing"]["mae_ms"] == pytest.approx(30.0)

    early = score(steps(TRUTH_T - 0.070), steps(TRUTH_T))
    assert det(early, 50)["matched"] == 0
    assert det(early, 50)["f1"] == 0.0
    assert det(early, 100)["f1"] == 1.0
    assert early["timing"]["bias_ms"] == pytest.approx(-70.0)
    assert early["timing"]["mae_ms"] == pytest.approx(70.0)


def test_misses_and_extras():
    kept = np.delete(TRUTH_T, [3, 9, 15])
    r = score(steps(kept, side=np.delete(steps(TRUTH_T)["side"], [3, 9, 15])), steps(TRUTH_T))
    d = det(r, 50)
    assert (d["matched"], d["missed"], d["false_positives"]) == (17, 3, 0)
    assert d["precision"] == 1.0
    assert d["recall"] == pytest.approx(17 / 20)
    assert d["f1"] == pytest.approx(2 * 0.85 / 1.85)
    assert r["side"]["accuracy"] == 1.0

    extra = np.sort(np.concatenate([TRUTH_T, [TRUTH_T[4] + 0.175, TRUTH_T[11] + 0.175]]))
    r = score(steps(extra), steps(TRUTH_T))
    d = det(r, 100)
    assert (d["matched"], d["false_positives"], d["missed"]) == (20, 2, 0)
    assert d["precision"] == pytest.approx(20 / 22)
    assert d["recall"] == 1.0
    assert r["timing"]["mae_ms"] == 0.0


def test_swapped_sides_are_counted_over_matches_only():
    truth = steps(TRUTH_T)
    detected = truth.copy()
    swap = [0, 5, 6, 13, 19]
    detected["side"][swap] = np.where(detected["side"][swap] == "L", "R", "L")
    r = score(detected, truth)
    assert det(r, 50)["f1"] == 1.0  # side is not part of the matching
    assert r["side"] == {"compared": 20, "accuracy": 15 / 20}


def test_a_reference_without_sides_scores_timing_and_skips_left_right(tmp_path):
    from imurun.validate import format_table

    truth = steps(TRUTH_T, side=[""] * 20)  # one force signal for both feet
    truth["side"][:4] = ["L", "R", "L", "R"]
    r = score(steps(TRUTH_T), truth)
    assert det(r, 50)["f1"] == 1.0 and r["side"] == {"compared": 4, "accuracy": 1.0}
    assert any("16 matched reference steps have no side" in n for n in r["notes"])
    r = score(steps(TRUTH_T), steps(TRUTH_T, side=[""] * 20))
    assert r["side"]["accuracy"] is None
    assert "left/right: not scored (the reference gives no sides)" in format_table(r)
    path = tmp_path / "ref.steps.csv"
    path.write_text("# imurun-steps: 1\nt,side\n0.5,\n1.0,L\n")
    assert list(read_steps_csv(path)["side"]) == ["", "L"]


def test_tolerance_edges():
    truth = steps([1.0, 2.0, 3.0])
    detected = steps([1.049, 2.051, 3.05])  # 49 ms, 51 ms and exactly 50 ms (inclusive)
    r = score(detected, truth)
    assert det(r, 50)["matched"] == 2
    assert det(r, 100)["matched"] == 3
    assert r["timing"]["bias_ms"] == pytest.approx(50.0)


@pytest.mark.parametrize("t0", [0.0, 1.7e9])
def test_tolerance_edges_hold_on_a_unix_clock(t0):
    """The same edges timed from 0 and in Unix time, as a file's decimals give them (stamps 2.4e-7 s
    apart there): 1700000000.13 - 1700000000.08 reads 0.0500002, which a fixed 1e-9 s slack scored
    as a miss at 50 ms."""
    def stamps(x):
        return np.array([float(f"{t0 + v:.3f}") for v in x])

    truth = steps(stamps([0.08, 2.0, 3.0]))
    detected = steps(stamps([0.13, 2.051, 3.049]))  # exactly 50 ms, 51 ms, 49 ms
    bouts = np.array([(t0 + 0.08, t0 + 3.0, 60.0)],
                     dtype=[("t_start", float), ("t_end", float), ("cadence_spm", float)])
    r = score(detected, truth, bouts=bouts)
    assert det(r, 50)["matched"] == 2
    assert det(r, 100)["matched"] == 3


def test_two_detections_near_one_truth_step():
    r = score(steps([0.98, 1.01], side="LL"), steps([1.0], side="L"))
    d = det(r, 50)
    assert (d["matched"], d["false_positives"], d["missed"]) == (1, 1, 0)
    assert r["timing"]["bias_ms"] == pytest.approx(10.0)  # the closer one is kept


def test_matching_maximises_pairs_where_nearest_first_would_not():
    # Nearest pair first (1.045 with 1.080) would leave 1.000 and 1.125 unmatched.
    di, ti = match([1.045, 1.125], [1.000, 1.080], 0.05)
    assert sorted(zip(di.tolist(), ti.tolist(), strict=True)) == [(0, 0), (1, 1)]


def test_matching_ignores_input_order():
    rng = np.random.default_rng(1)
    d = TRUTH_T + rng.normal(0, 0.03, TRUTH_T.size)
    perm = rng.permutation(d.size)
    a = score(steps(d), steps(TRUTH_T))
    b = score(steps(d[perm], side=steps(d)["side"][perm]), steps(TRUTH_T))
    assert a == b


@pytest.mark.parametrize("seed", range(30))
def test_matching_is_maximum_one_to_one_and_within_tolerance(seed):
    rng = np.random.default_rng(seed)
    truth_t = np.sort(rng.uniform(0, 3, rng.integers(0, 25)))
    det_t = rng.uniform(0, 3, rng.integers(0, 25))
    tol = 0.05
    di, ti = match(det_t, truth_t, tol)
    assert len(set(di.tolist())) == di.size and len(set(ti.tolist())) == ti.size
    assert np.all(np.abs(det_t[di] - truth_t[ti]) <= tol + 1e-9)
    # Independent maximum cardinality (Hopcroft-Karp) on the same candidate graph.
    adjacency = csr_matrix((np.abs(det_t[:, None] - truth_t[None, :]) <= tol).astype(np.int8))
    best = int((maximum_bipartite_matching(adjacency, perm_type="column") >= 0).sum()) if det_t.size else 0
    assert di.size == best


def test_bout_cadence_of_the_reference_steps_is_the_reference_bout_cadence():
    """The scorer, given the reference ICs themselves, must give back the reference bout cadence,
    or bout cadence errors measure the scorer. (The median of the step cadences did not: 3.5 spm
    MAE, 7.6 at worst, in the slow Test11 bouts; one duplicated reference IC 10 ms apart also
    shows why implausible steps are left out.)"""
    errors = []
    for name in REAL_TRIALS:
        truth = read_steps_csv(REAL / f"{name}.steps.csv")
        per_bout = score(truth, truth, read_bouts_csv(REAL / f"{name}.bouts.csv"))["bouts"]["per_bout"]
        errors += [b["detected_cadence_spm"] - b["cadence_spm"] for b in per_bout]
    errors = np.abs(errors)
    assert len(errors) == 8 and errors.mean() <= 1.2 and errors.max() <= 2.0, np.round(errors, 1)


def test_bouts_exclude_outside_detections():
    truth = steps([2.0, 2.5, 3.0, 3.5], cadence_spm=[120.0] * 4)
    detected = steps(
        [1.0, 2.0, 2.5, 3.0, 3.5, 4.08, 7.0],
        side="RLRLRLR",
        cadence_spm=[50.0, 118.0, 121.0, 122.0, 119.0, 90.0, 40.0],
    )
    r = score(detected, truth, bouts((2.0, 4.0, 119.0)))
    # 4.08 is 80 ms past the bout end: inside the window at 100 ms, outside at 50 ms.
    assert (det(r, 50)["detected"], det(r, 50)["false_positives"], det(r, 50)["precision"]) == (4, 0, 1.0)
    assert (det(r, 100)["detected"], det(r, 100)["false_positives"]) == (5, 1)
    b = r["bouts"]
    assert (b["count"], b["compared"]) == (1, 1)
    assert b["per_bout"][0]["detected_cadence_spm"] == pytest.approx(120.0)  # mean of 118..122
    assert b["cadence_mae_spm"] == pytest.approx(1.0)
    assert b["cadence_bias_spm"] == pytest.approx(1.0)
    assert r["cadence"]["mae_spm"] == pytest.approx((2 + 1 + 2 + 1) / 4)

    assert det(score(detected, truth), 100)["false_positives"] == 3  # without bouts all count


def test_bout_cadence_keeps_fast_running_steps_and_drops_doubled_ics():
    """Uphill running reaches 250 spm (0.24 s steps): those steps are the bout's; an IC counted
    twice (0.05 s apart) is not a step."""
    t = 2.0 + 0.24 * np.arange(12)
    truth = steps(t)
    b = score(truth, truth, bouts((t[0], t[-1], 250.0)))["bouts"]["per_bout"][0]
    assert b["detected_cadence_spm"] == pytest.approx(250.0)
    doubled = steps(np.sort(np.r_[t, t[5] + 0.05]), side="RL" * 6 + "R")
    b = score(doubled, truth, bouts((t[0], t[-1], 250.0)))["bouts"]["per_bout"][0]
    assert b["detected_cadence_spm"] == pytest.approx(250.0)


def test_bout_cadence_counts_the_steps_that_begin_and_end_in_the_bout():
    """A bout ends at its last IC: the step from there into a turn (here 70 spm, ending 0.46 s
    after the bout) is not one of its steps; a first IC detected 60 ms early still begins one."""
    truth = steps([2.0, 2.5, 3.0, 3.5, 4.0])
    cadence = [107.1, 120.0, 120.0, 125.3, 70.0]
    detected = steps([1.94, 2.5, 3.0, 3.5, 3.98], side="RLRLR", cadence_spm=cadence)
    b = score(detected, truth, bouts((2.0, 4.0, 120.0)))["bouts"]["per_bout"][0]
    assert b["steps"] == 4
    assert b["detected_cadence_spm"] == pytest.approx(np.mean(cadence[:4]))


def test_empty_inputs_give_zero_scores_and_notes():
    empty = steps([])
    for detected, truth in ((empty, steps(TRUTH_T)), (steps(TRUTH_T), empty), (empty, empty)):
        r = score(detected, truth)
        for d in r["detection"]:
            assert d["precision"] == d["recall"] == d["f1"] == 0.0 and d["matched"] == 0
        assert r["timing"]["bias_ms"] is None and r["side"]["accuracy"] is None
        assert any("F1" in n for n in r["notes"])
        assert any("no matched steps" in n for n in r["notes"])
    r = score(empty, steps(TRUTH_T))
    assert det(r, 50)["recall"] == 0.0 and det(r, 50)["missed"] == 20
    assert any("precision (no detections)" in n for n in r["notes"])


def test_cadence_is_derived_from_ic_times_when_the_truth_has_none():
    truth = steps([0.0, 0.5, 1.0, 1.6, 5.0])  # derived: 120, 120, 100, (3.4 s gap: none), none
    detected = steps([0.0, 0.5, 1.0, 1.6, 5.0], cadence_spm=[118.0, 121.0, 100.0, 50.0, 90.0])
    r = score(detected, truth)
    assert r["cadence"]["compared"] == 3
    assert r["cadence"]["mae_spm"] == pytest.approx(1.0)
    assert r["cadence"]["bias_spm"] == pytest.approx(-1 / 3)


def test_metric_rmse_and_bias_by_hand():
    truth = steps([1, 2, 3, 4, 5], pelvic_drop_deg=[1, 2, 3, 4, 5], tilt_deg=[np.nan] * 5)
    detected = steps(
        [1, 2, 3, 4, 5.03, 6],
        pelvic_drop_deg=[1.5, 2, 2, 4, np.nan, 9],
        tilt_deg=[7.0] * 6,
    )
    m = score(detected, truth)["metrics"]
    assert set(m) == {"pelvic_drop_deg"}  # tilt has no finite truth value
    assert m["pelvic_drop_deg"]["compared"] == 4  # NaN detection and the unmatched step left out
    assert m["pelvic_drop_deg"]["bias"] == pytest.approx((0.5 + 0 - 1 + 0) / 4)
    assert m["pelvic_drop_deg"]["rmse"] == pytest.approx(math.sqrt((0.25 + 1) / 4))


def test_metric_missing_from_detected_is_reported_not_dropped():
    r = score(steps([1.0]), steps([1.0], braking_mps=[0.3]))
    assert r["metrics"]["braking_mps"] == {"compared": 0, "bias": None, "rmse": None}
    assert any("braking_mps" in n for n in r["notes"])


def test_reference_read_as_full_step_rows_without_cadence_or_activity():
    """read_steps_csv gives every STEP_DTYPE column: NaN metrics and '' activity where the file has none."""
    from imurun.core.output import METRIC_COLUMNS, empty_steps

    def full(t, **columns):
        s = empty_steps(len(t))
        for name in METRIC_COLUMNS:
            s[name] = np.nan
        s["t"], s["side"] = t, ["L" if k % 2 == 0 else "R" for k in range(len(t))]
        for name, values in columns.items():
            s[name] = values
        return s

    truth = full([0.0, 0.5, 1.0, 1.6])  # cadence from the ICs: 120, 120, 100
    detected = full([0.0, 0.5, 1.0, 1.6], cadence_spm=[118.0, 121.0, 100.0, 90.0], activity=["walk"] * 4)
    r = score(detected, truth)
    assert r["cadence"]["compared"] == 3 and r["cadence"]["mae_spm"] == pytest.approx(1.0)
    assert "activity" not in r  # the reference says nothing about walk/run
    assert r["metrics"] == {}  # no finite reference metric

    truth["activity"] = ["walk", "run", "", "walk"]
    assert score(detected, truth)["activity"] == {"compared": 3, "accuracy": pytest.approx(2 / 3)}


def test_pooled_puts_recordings_on_one_timeline_without_touching_them():
    import numpy as np

    from imurun.validate import pooled

    def steps(*t):
        a = np.zeros(len(t), dtype=[("t", "f8"), ("side", "U1")])
        a["t"] = t
        return a

    bouts = np.array([(0.5, 2.5, 100.0)], dtype=[("t_start", "f8"), ("t_end", "f8"), ("cadence_spm", "f8")])
    one, two = steps(1.0, 2.0), steps(1.5)
    det, tru, b = pooled([(3.0, one, one, bouts), (2.0, two, two, bouts)], gap_s=10.0)
    assert list(det["t"]) == [1.0, 2.0, 14.5] and list(tru["t"]) == [1.0, 2.0, 14.5]
    assert list(b["t_start"]) == [0.5, 13.5] and list(b["t_end"]) == [2.5, 15.5]
    assert list(one["t"]) == [1.0, 2.0] and list(bouts["t_start"]) == [0.5]  # inputs unchanged
    assert pooled([(3.0, one, one, None)])[2] is None
