"""Scoring detected steps against a truth / reference steps file (`imurun validate`).

This is the yardstick every accuracy claim is measured by; docs/validation.md defines each figure.
Detected initial contacts (ICs) are matched one-to-one to truth ICs within a tolerance by an
optimal assignment: the matching with the most pairs, and among those the smallest total |dt|
(scipy's linear_sum_assignment on each connected group of candidate pairs). Side is not part of
the matching; left/right accuracy is measured over the matched pairs.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from imurun.errors import InputError

TOLERANCES_S = (0.05, 0.10)
# Timing, side, cadence and metric errors are measured over the matches at this tolerance.
PRIMARY_TOLERANCE_S = 0.10
# Tolerances are inclusive; the slack absorbs float representation (1.05 - 1.00 > 0.05 in binary),
# which grows with the clock's size: Unix-time stamps (~1.7e9 s) are 2.4e-7 s apart, and a fixed
# 1e-9 s scored their 50 ms edges differently from the same recording timed from 0.
_SLACK_S = 1e-9
_SLACK_ULPS = 16.0
# A derived step time longer than this is a stop or a hole in the reference, not a step.
MAX_STEP_TIME_S = 2.0
# Bout cadence averages the steps of 0.2-2 s (300-30 spm): a doubled IC is not a step. Running
# steps reach 250 spm (the alcantara2022 runner uphill), so 0.25 s left real steps out.
MIN_STEP_TIME_S = 0.2
# No step is shorter than 0.15 s (sprinters reach ~300 spm): beyond this, one contact counted twice.
MAX_CADENCE_SPM = 400.0
_NOT_METRICS = ("t", "side", "activity")


def _slack(*times) -> float:
    """The tolerance slack for comparisons among these times: _SLACK_S or a few of their ulps."""
    import numpy as np

    big = 0.0
    for t in times:
        a = np.abs(np.asarray(t, dtype=float))
        a = a[np.isfinite(a)]
        if a.size:
            big = max(big, float(a.max()))
    return max(_SLACK_S, _SLACK_ULPS * float(np.spacing(big)))


def match(det_t, truth_t, tol: float):
    """Optimal one-to-one pairs (detected index, truth index) with |dt| <= tol.

    Maximises the number of pairs, then minimises the sum of |dt|. Candidate pairs split into
    connected groups (a detection and a truth IC more than 2*tol apart never share one), and each
    group is solved exactly: non-candidate pairs cost more than any full set of candidate pairs,
    so the assignment first takes as many candidates as possible, then the cheapest.
    """
    import numpy as np
    from scipy.optimize import linear_sum_assignment
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    det_t = np.asarray(det_t, dtype=float)
    truth_t = np.asarray(truth_t, dtype=float)
    n, m = det_t.size, truth_t.size
    none = np.empty(0, dtype=np.intp)
    if n == 0 or m == 0:
        return none, none
    order = np.argsort(truth_t, kind="stable")
    sorted_t = truth_t[order]
    lo = np.searchsorted(sorted_t, det_t - 2 * tol, "left")  # wide window, exact test below
    hi = np.searchsorted(sorted_t, det_t + 2 * tol, "right")
    counts = hi - lo
    rows = np.repeat(np.arange(n), counts)
    starts = np.repeat(lo - (np.cumsum(counts) - counts), counts)
    cols = order[np.arange(rows.size) + starts]
    cost = np.abs(det_t[rows] - truth_t[cols])
    keep = cost <= tol + _slack(det_t, truth_t)
    rows, cols, cost = rows[keep], cols[keep], cost[keep]
    if rows.size == 0:
        return none, none

    graph = coo_matrix((np.ones(rows.size), (rows, n + cols)), shape=(n + m, n + m))
    _, label = connected_components(graph, directed=False)
    edge_label = label[rows]
    alone = np.bincount(edge_label)[edge_label] == 1  # the usual case: one candidate, one pair
    det_idx, truth_idx = [rows[alone]], [cols[alone]]
    shared = np.flatnonzero(~alone)
    by_group = shared[np.argsort(edge_label[shared], kind="stable")]
    bounds = np.flatnonzero(np.diff(edge_label[by_group])) + 1
    for edges in np.split(by_group, bounds) if by_group.size else ():
        r, ri = np.unique(rows[edges], return_inverse=True)
        c, ci = np.unique(cols[edges], return_inverse=True)
        big = (tol + 1.0) * (min(r.size, c.size) + 1)
        group_cost = np.full((r.size, c.size), big)
        group_cost[ri, ci] = cost[edges]
        a, b = linear_sum_assignment(group_cost)
        real = group_cost[a, b] < big
        det_idx.append(r[a[real]])
        truth_idx.append(c[b[real]])
    det_idx = np.concatenate(det_idx)
    truth_idx = np.concatenate(truth_idx)
    by_time = np.argsort(truth_t[truth_idx], kind="stable")
    return det_idx[by_time], truth_idx[by_time]


def inside_bouts(t, bouts, tol: float):
    """True for times inside any [t_start - tol, t_end + tol]; all True without bouts."""
    import numpy as np

    t = np.asarray(t, dtype=float)
    if bouts is None:
        return np.ones(t.size, dtype=bool)
    start = np.asarray(bouts["t_start"], dtype=float)
    end = np.asarray(bouts["t_end"], dtype=float)
    slack = _slack(t, start, end)
    return ((t[:, None] >= start - tol - slack) & (t[:, None] <= end + tol + slack)).any(axis=1)


def step_cadence(steps):
    """Per-step cadence, spm: the cadence_spm column if it has any value, else 60 / (next IC - this IC).

    Derived intervals longer than MAX_STEP_TIME_S are NaN (a stop or a gap in the reference), and so
    is any cadence above MAX_CADENCE_SPM: one contact counted twice (HA_001's reference has an IC
    of each foot 10 ms apart at 76.41 s, "6000 spm", which alone made a per-step MAE of 100 spm).
    """
    import numpy as np

    if "cadence_spm" in (steps.dtype.names or ()) and np.isfinite(steps["cadence_spm"]).any():
        cadence = np.array(steps["cadence_spm"], dtype=float)
        cadence[cadence > MAX_CADENCE_SPM] = np.nan
        return cadence
    t = np.asarray(steps["t"], dtype=float)
    order = np.argsort(t, kind="stable")
    step_time = np.full(t.size, np.nan)
    step_time[order[:-1]] = np.diff(t[order])
    with np.errstate(divide="ignore", invalid="ignore"):
        cadence = 60.0 / step_time
    cadence[~(step_time > 0) | (step_time > MAX_STEP_TIME_S) | (cadence > MAX_CADENCE_SPM)] = np.nan
    return cadence


def _ratio(num: float, den: float, what: str, notes: list[str]) -> float:
    if den == 0:
        note = f"{what} has a zero denominator and is reported as 0"
        if note not in notes:
            notes.append(note)
        return 0.0
    return num / den


def _mean(x) -> float | None:
    return float(x.mean()) if x.size else None


def _rms(x) -> float | None:
    import numpy as np

    return float(np.sqrt(np.mean(x * x))) if x.size else None


def _both_finite(a, b):
    import numpy as np

    ok = np.isfinite(a) & np.isfinite(b)
    return a[ok], b[ok]


def pooled(parts, gap_s: float = 100.0):
    """(detected, truth, bouts) of several recordings as one, each after the previous one's end
    (`duration_s`) plus `gap_s`, so that one score pools them (every step weighs the same).

    `parts`: (duration_s, detected, truth, bouts or None) per recording; inputs are not modified.
    """
    import numpy as np

    det, tru, bts = [], [], []
    offset = 0.0
    for duration_s, detected, truth, bouts in parts:
        shifted = ((det, detected, ("t",)), (tru, truth, ("t",)), (bts, bouts, ("t_start", "t_end")))
        for out, arr, cols in shifted:
            if arr is not None:
                arr = arr.copy()
                for col in cols:
                    arr[col] += offset
                out.append(arr)
        offset += duration_s + gap_s
    return np.concatenate(det), np.concatenate(tru), (np.concatenate(bts) if bts else None)


def score(detected, truth, bouts=None) -> dict[str, Any]:
    """All validation figures of `detected` against `truth` (STEP_DTYPE-like, at least t and side).

    With `bouts` (t_start, t_end, cadence_spm), only detections and truth ICs inside
    [t_start - tol, t_end + tol] of some bout count, for each tolerance tol. The result is
    JSON-serialisable; undefined means (nothing to average) are None and explained in "notes".
    """
    import numpy as np

    notes: list[str] = []
    detection = []
    matched = {}
    for tol in TOLERANCES_S:
        det = detected[inside_bouts(detected["t"], bouts, tol)]
        tru = truth[inside_bouts(truth["t"], bouts, tol)]
        matched[tol] = det, tru, *match(det["t"], tru["t"], tol)
        pairs = len(matched[tol][2])
        precision = _ratio(pairs, len(det), "precision (no detections)", notes)
        recall = _ratio(pairs, len(tru), "recall (no truth steps)", notes)
        f1 = _ratio(2 * precision * recall, precision + recall, "F1 (precision + recall = 0)", notes)
        detection.append(
            {
                "tolerance_ms": round(tol * 1000),
                "detected": len(det),
                "truth": len(tru),
                "matched": pairs,
                "false_positives": len(det) - pairs,
                "missed": len(tru) - pairs,
                "precision": precision,
                "recall": recall,
                "f1": f1,
            }
        )

    tol = PRIMARY_TOLERANCE_S
    det, tru, di, ti = matched[tol]
    dm, tm = det[di], tru[ti]
    dt_ms = (dm["t"] - tm["t"]) * 1000.0
    if not di.size:
        notes.append("no matched steps: timing, side, cadence and metric errors are undefined (null)")

    result: dict[str, Any] = {
        "detection": detection,
        "timing": {
            "tolerance_ms": round(tol * 1000),
            "matched": int(di.size),
            "bias_ms": _mean(dt_ms),
            "mae_ms": _mean(np.abs(dt_ms)),
        },
    }
    known = tm["side"] != ""  # an empty side is a reference that does not know it
    same_side = dm["side"][known] == tm["side"][known]
    result["side"] = {"compared": int(known.sum()), "accuracy": _mean(same_side.astype(float))}
    if di.size and not known.all():
        unknown = int((~known).sum())
        notes.append(f"left/right: {unknown} matched reference steps have no side and are not scored")
    if "activity" in (det.dtype.names or ()) and "activity" in (tru.dtype.names or ()):
        known = tm["activity"] != ""  # an empty label is a reference without activity
        if known.any():
            same = (dm["activity"][known] == tm["activity"][known]).astype(float)
            result["activity"] = {"compared": int(known.sum()), "accuracy": _mean(same)}

    d_cad, t_cad = _both_finite(step_cadence(det)[di], step_cadence(tru)[ti])
    err = d_cad - t_cad
    result["cadence"] = {"compared": int(err.size), "mae_spm": _mean(np.abs(err)), "bias_spm": _mean(err)}

    if bouts is not None:
        result["bouts"] = _score_bouts(detected, bouts, tol)

    metrics = {}
    for col in truth.dtype.names:
        if col in _NOT_METRICS or truth[col].dtype.kind != "f" or not np.isfinite(truth[col]).any():
            continue
        if col not in (det.dtype.names or ()):
            notes.append(f"{col}: in the truth but not in the detected steps")
            metrics[col] = {"compared": 0, "bias": None, "rmse": None}
            continue
        d_val, t_val = _both_finite(dm[col].astype(float), tm[col].astype(float))
        err = d_val - t_val
        metrics[col] = {"compared": int(err.size), "bias": _mean(err), "rmse": _rms(err)}
    result["metrics"] = metrics
    result["notes"] = notes
    return result


def _score_bouts(detected, bouts, tol: float) -> dict[str, Any]:
    """Mean cadence of the detected steps that begin and end inside each bout [t_start - tol,
    t_end + tol], vs the bout's cadence.

    The mean of the step cadences is how the reference bout cadence is made: on the bundled real
    recordings it reproduces it from the reference ICs within 1.1 spm MAE, where their median is
    3.5 spm off (slow bouts mix short and long steps); tests/test_validate.py checks this. A bout
    ends at its last IC, so the step that leaves it (into a turn or a stop) is not one of its steps.
    """
    import numpy as np

    cadence = step_cadence(detected)
    plausible = (cadence >= 60.0 / MAX_STEP_TIME_S) & (cadence <= 60.0 / MIN_STEP_TIME_S)
    t = np.asarray(detected["t"], dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_end = t + 60.0 / cadence
    per_bout = []
    slack = _slack(t, bouts["t_start"], bouts["t_end"])
    for start, end, ref in zip(bouts["t_start"], bouts["t_end"], bouts["cadence_spm"], strict=True):
        lo, hi = start - tol - slack, end + tol + slack
        inside = (t >= lo) & (t <= hi) & ~(t_end > hi)  # an unknown end (NaN) has no cadence
        values = cadence[inside & plausible]
        per_bout.append(
            {
                "t_start": float(start),
                "t_end": float(end),
                "cadence_spm": float(ref),
                "detected_cadence_spm": float(np.mean(values)) if values.size else None,
                "steps": int(inside.sum()),
            }
        )
    err = np.array(
        [b["detected_cadence_spm"] - b["cadence_spm"] for b in per_bout
         if b["detected_cadence_spm"] is not None and math.isfinite(b["cadence_spm"])]
    )
    return {
        "count": len(per_bout),
        "compared": int(err.size),
        "cadence_mae_spm": _mean(np.abs(err)),
        "cadence_bias_spm": _mean(err),
        "per_bout": per_bout,
    }


def _f(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def format_table(result: dict[str, Any]) -> str:
    """The human-readable report of a score() result."""
    lines = [
        f"{'tolerance':>9} {'detected':>8} {'truth':>6} {'matched':>7} {'extra':>6} {'missed':>6}"
        f" {'precision':>9} {'recall':>7} {'F1':>6}"
    ]
    for d in result["detection"]:
        lines.append(
            f"{d['tolerance_ms']:>6} ms {d['detected']:>8} {d['truth']:>6} {d['matched']:>7}"
            f" {d['false_positives']:>6} {d['missed']:>6} {d['precision']:>9.3f} {d['recall']:>7.3f}"
            f" {d['f1']:>6.3f}"
        )
    tm = result["timing"]
    lines.append(
        f"timing over {tm['matched']} matches at {tm['tolerance_ms']} ms: "
        f"bias {_f(tm['bias_ms'], '+.1f')} ms, MAE {_f(tm['mae_ms'], '.1f')} ms"
    )
    side = result["side"]
    if side["compared"] == 0 and tm["matched"] > 0:
        lines.append("left/right: not scored (the reference gives no sides)")
    else:
        side_pct = None if side["accuracy"] is None else 100 * side["accuracy"]
        lines.append(f"left/right: {_f(side_pct, '.1f')} % of {side['compared']} matched steps")
    if "activity" in result:
        act = result["activity"]
        lines.append(f"walk/run: {_f(100 * act['accuracy'], '.1f')} % of {act['compared']} matched steps")
    cad = result["cadence"]
    lines.append(
        f"cadence per step: MAE {_f(cad['mae_spm'], '.2f')} spm, bias {_f(cad['bias_spm'], '+.2f')} spm"
        f" over {cad['compared']} matched steps"
    )
    if "bouts" in result:
        b = result["bouts"]
        lines.append(
            f"cadence per bout (mean of its steps): MAE {_f(b['cadence_mae_spm'], '.2f')} spm,"
            f" bias {_f(b['cadence_bias_spm'], '+.2f')} spm over {b['compared']} of {b['count']} bouts"
        )
    if result["metrics"]:
        lines.append(f"{'metric (detected - truth)':<26} {'n':>6} {'bias':>9} {'RMSE':>9}")
        for name, m in result["metrics"].items():
            lines.append(f"{name:<26} {m['compared']:>6} {_f(m['bias'], '+9.3f')} {_f(m['rmse'], '9.3f')}")
    lines += [f"note: {n}" for n in result["notes"]]
    return "\n".join(lines)


def detected_steps(path: str | Path):
    """The steps of FILE: a session runs through the engine (as analyze does), a steps.csv is read."""
    from imurun.session.format import MAGIC
    from imurun.session.truth import read_steps_csv

    try:
        with open(path, "rb") as f:
            first = f.readline(256)
    except OSError as exc:
        raise InputError(path, f"cannot open: {exc.strerror or exc}") from None
    if first.startswith(MAGIC.strip().encode()):
        from imurun.analyze import analyze

        return analyze(path)[0]
    return read_steps_csv(path)
