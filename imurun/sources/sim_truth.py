"""Ground-truth per-step metrics from the simulated body, exactly as docs/architecture.md defines them.

Each written step k covers [IC_k, IC_k+1). Its truth is evaluated on a fine grid spanning that
interval (the body model is a pure function of time), integrating the vertical acceleration from the
known velocity at IC and the forward acceleration from IC. A bout's final IC has no next IC in the
same bout, so its step is not written.
"""

from __future__ import annotations

import numpy as np

from imurun.core.output import STEP_DTYPE
from imurun.sources.sim_body import Body

TRUTH_HZ = 1000.0
ROWS_PER_BATCH = 1024


def _cumtrapz(y: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Running trapezoid integral along axis 1, starting at 0; h per row."""
    inc = (y[:, 1:] + y[:, :-1]) * (h[:, None] / 2)
    return np.concatenate([np.zeros((len(y), 1)), np.cumsum(inc, axis=1)], axis=1)


def step_truth(body: Body, trunk: bool) -> np.ndarray:
    sch = body.sch
    idx = np.flatnonzero(~sch.final)
    steps = np.zeros(len(idx), dtype=STEP_DTYPE)
    if not len(idx):
        return steps
    n_pts = int(np.ceil(np.nanmax(sch.step_s[idx]) * TRUTH_HZ)) + 1
    grid = np.linspace(0.0, 1.0, n_pts)
    yaw_hi = np.empty(len(idx))
    yaw_lo = np.empty(len(idx))
    for b0 in range(0, len(idx), ROWS_PER_BATCH):
        k = idx[b0 : b0 + ROWS_PER_BATCH]
        rows = slice(b0, b0 + len(k))
        dur = sch.step_s[k]
        h = dur / (n_pts - 1)
        t = (sch.t_ic[k][:, None] + dur[:, None] * grid).ravel()
        shape = (len(k), n_pts)
        at = body.at(t)
        acc = body.acc_h(at)
        a_fwd, a_up = acc[:, 0].reshape(shape), acc[:, 2].reshape(shape)
        p = body.pelvis(at)
        tilt, obl, yaw = (np.degrees(x).reshape(shape) for x in (p.pitch, p.roll, p.yaw))

        vz = sch.vz_ic[k][:, None] + _cumtrapz(a_up, h)
        height = _cumtrapz(vz, h)
        steps["vertical_osc_cm"][rows] = 100 * np.ptp(height, axis=1)
        # braking phase: from IC to the slowest forward velocity within the step
        v_rel = _cumtrapz(a_fwd, h)
        j_min = np.argmin(v_rel, axis=1)
        steps["braking_mps"][rows] = 0.0 - v_rel[np.arange(len(k)), j_min]
        in_braking = np.arange(n_pts)[None, :] <= j_min[:, None]
        steps["braking_peak_ms2"][rows] = np.max(np.where(in_braking, -a_fwd, 0.0), axis=1)

        steps["pelvic_drop_deg"][rows] = np.max(sch.side[k][:, None] * obl, axis=1)
        steps["tilt_deg"][rows] = np.trapezoid(tilt, axis=1) / (n_pts - 1)
        steps["tilt_peak_deg"][rows] = np.max(tilt, axis=1)
        yaw_hi[rows], yaw_lo[rows] = np.max(yaw, axis=1), np.min(yaw, axis=1)
        if trunk:
            lean = np.degrees(body.trunk(at, p).pitch).reshape(shape)
            steps["trunk_lean_deg"][rows] = np.trapezoid(lean, axis=1) / (n_pts - 1)
            steps["lumbar_ext_deg"][rows] = np.trapezoid(tilt - lean, axis=1) / (n_pts - 1)

    steps["t"] = sch.t_ic[idx]
    steps["side"] = np.where(sch.side[idx] > 0, "L", "R")
    steps["activity"] = np.where(sch.run[idx], "run", "walk")
    steps["step_time_s"] = sch.step_s[idx]
    steps["cadence_spm"] = 60.0 / sch.step_s[idx]
    steps["contact_time_s"] = sch.contact_s[idx]
    steps["flight_time_s"] = sch.flight_s[idx]
    # rotation range over the stride [IC_k-1, IC_k+1): needs the previous step of the same bout
    has_prev = ~sch.first[idx]
    prev_hi = np.append(np.nan, yaw_hi[:-1])
    prev_lo = np.append(np.nan, yaw_lo[:-1])
    steps["rotation_range_deg"] = np.where(
        has_prev, np.fmax(yaw_hi, prev_hi) - np.fmin(yaw_lo, prev_lo), np.nan
    )
    if not trunk:
        steps["lumbar_ext_deg"] = np.nan
        steps["trunk_lean_deg"] = np.nan
    return steps
