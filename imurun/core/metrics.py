"""Per-step metrics (docs/architecture.md, "A step row"), computed when a step's interval closes.

The samples of the step [IC_k, IC_k+1) (and the stride before it, for rotation) are read back from
the ring buffer, so a step waiting for the alignment can be computed later with the final one.

- Pelvis angles relative to standing, Euler ZYX of the pelvis in a heading-aligned frame: with u the
  up direction in pelvis coordinates, tilt = asin(-u_x) (anterior positive), obliquity =
  atan2(u_y, u_z) (left side up positive); yaw rate = (sin(roll) w_y + cos(roll) w_z) / cos(pitch).
- Vertical oscillation: the vertical acceleration of the step, mean removed (periodic velocity),
  integrated, mean removed (periodic height), integrated; peak to peak. The per-step detrending is
  the usual drift control for IMU-derived pelvis displacement (Zijlstra & Hof 1997, Gait Posture 6:93).
- Braking: forward velocity change from IC, with the step's mean forward acceleration removed
  (constant speed over the step); braking_mps = speed lost down to its minimum, braking_peak_ms2 =
  largest deceleration before that minimum.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from imurun.core.ahrs import G
from imurun.core.output import METRICS
from imurun.core.state import (
    ACC_ONLY,
    FASTMATH,
    PREV_STEP_I1,
    PREV_YAW_END,
    PREV_YAW_MAX,
    PREV_YAW_MIN,
    R_AX,
    R_SF,
    R_T,
    R_TUX,
    R_UX,
    R_WX,
)

RAD2DEG = 180.0 / math.pi

# output columns of compute_step: the metrics' places in output.METRICS (= in STEP_DTYPE), by name
_AT = {m.column: k for k, m in enumerate(METRICS)}
M_STEP_TIME = _AT["step_time_s"]
M_CADENCE = _AT["cadence_spm"]
M_CONTACT = _AT["contact_time_s"]
M_FLIGHT = _AT["flight_time_s"]
M_VOSC = _AT["vertical_osc_cm"]
M_BRAKE = _AT["braking_mps"]
M_BRAKE_PEAK = _AT["braking_peak_ms2"]
M_DROP = _AT["pelvic_drop_deg"]
M_TILT = _AT["tilt_deg"]
M_TILT_PEAK = _AT["tilt_peak_deg"]
M_ROT = _AT["rotation_range_deg"]
M_LUMBAR = _AT["lumbar_ext_deg"]
M_LEAN = _AT["trunk_lean_deg"]
N_M = len(METRICS)


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _asin(x):
    """asin by its series below 0.5 (error < 1e-5 rad, no libm call), exact above."""
    if abs(x) > 0.5:
        return math.asin(x)
    x2 = x * x
    return x * (1.0 + x2 * (1.0 / 6.0 + x2 * (3.0 / 40.0 + x2 * (5.0 / 112.0 + x2 * 35.0 / 1152.0))))


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _filtfilt_max2(x, n, lp):
    """Maxima of x[:n, 4] and x[:n, 5], each low-passed forward and back by the biquad lp[:5] on
    every lp[5]-th sample (zero phase). Overwrites both columns."""
    every = int(lp[5])
    last = (n - 1) // every * every
    _biquad_pass(x, 0, last + 1, every, lp)
    _biquad_pass(x, last, -1, -every, lp)
    return _peak(x, 4, last, every), _peak(x, 5, last, every)


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _biquad_pass(x, first, stop, step, lp):
    """x[j, 4] and x[j, 5] for j in range(first, stop, step) low-passed in place by the biquad
    (b0, b1, b2, a1, a2) = lp[:5], starting in its steady state at their values at `first`."""
    b0, b1, b2, a1, a2 = lp[0], lp[1], lp[2], lp[3], lp[4]
    u, v = x[first, 4], x[first, 5]
    zu1, zu2, zv1, zv2 = (1.0 - b0) * u, (b2 - a2) * u, (1.0 - b0) * v, (b2 - a2) * v
    for j in range(first, stop, step):
        u, v = x[j, 4], x[j, 5]
        yu, yv = b0 * u + zu1, b0 * v + zv1
        zu1, zv1 = b1 * u - a1 * yu + zu2, b1 * v - a1 * yv + zv2
        zu2, zv2 = b2 * u - a2 * yu, b2 * v - a2 * yv
        x[j, 4], x[j, 5] = yu, yv


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _peak(x, col, last, every):
    """Largest of x[0:last+1:every, col], refined by the parabola through it and its neighbours."""
    k = 0
    for j in range(every, last + 1, every):
        if x[j, col] > x[k, col]:
            k = j
    if k == 0 or k == last:
        return x[k, col]
    a, b, c = x[k - every, col], x[k, col], x[k + every, col]
    d = a - 2.0 * b + c  # < 0 at a maximum
    return b - 0.125 * (c - a) ** 2 / d if d < 0.0 else b


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def compute_step(ring, scratch, pend_row, rot, trot, has_trunk, f, lp, out):
    """Fill out[0:N_M] for one closed step. pend_row holds (see state.P_*) its ICs and indices;
    `scratch` (>= its samples, 6) is working space; `lp` the biquad (b0, b1, b2, a1, a2) that the
    peak angles are low-passed with, forward and back, on every lp[5]-th sample.

    Angles need no trig per sample: roll and pitch are monotonic in u_y/u_z and -u_x, so their
    maxima are taken on those and converted once; the yaw rate (sin r w_y + cos r w_z)/cos p equals
    (u_y w_y + u_z w_z) / (u_y^2 + u_z^2) for a unit up vector u.
    """
    mask = ring.shape[0] - 1
    t_ic, side, kind, t_next, t_to = pend_row[0], pend_row[1], pend_row[2], pend_row[3], pend_row[4]
    i0, i1 = int(pend_row[5]), int(pend_row[6])
    step_time = t_next - t_ic
    out[M_STEP_TIME] = step_time
    out[M_CADENCE] = 60.0 / step_time
    if kind == 1.0 and t_to > t_ic and t_to < t_next:
        out[M_CONTACT] = t_to - t_ic
        out[M_FLIGHT] = t_next - t_to
    elif kind == 1.0:
        out[M_CONTACT] = np.nan  # running step whose toe-off was not seen (e.g. gap)
        out[M_FLIGHT] = np.nan
    else:
        out[M_CONTACT] = np.nan  # walking: stance outlasts the step; not estimated (status flag)
        out[M_FLIGHT] = 0.0

    sign = 1.0 if side == 0.0 else -1.0  # L stance: right (swing) side lower = positive roll
    n = max(i1 - i0, 1)
    tilt_sum = 0.0
    lean_sum = 0.0
    # Trapezoid integrals from the IC: A = int a_v, B = int A, F = int a_fwd, yaw = int rate.
    # The step's mean accelerations are removed afterwards in closed form (see pass 2), so one pass
    # over the ring does the costly work and the second reads `scratch` (tau, B, F, a_fwd).
    big_a = 0.0
    big_b = 0.0
    big_f = 0.0
    yaw = 0.0
    ymin = 0.0
    ymax = 0.0
    t0 = ring[i0 & mask, R_T]
    prev_t = t0
    prev_av = 0.0
    prev_af = 0.0
    prev_a = 0.0
    prev_rate = 0.0
    for j in range(n):
        k = (i0 + j) & mask
        u0, u1, u2 = ring[k, R_UX], ring[k, R_UX + 1], ring[k, R_UX + 2]
        ux = rot[0, 0] * u0 + rot[0, 1] * u1 + rot[0, 2] * u2
        uy = rot[1, 0] * u0 + rot[1, 1] * u1 + rot[1, 2] * u2
        uz = rot[2, 0] * u0 + rot[2, 1] * u1 + rot[2, 2] * u2
        scratch[j, 4] = sign * uy / uz
        scratch[j, 5] = -ux
        tilt_sum += _asin(-ux)
        w0, w1, w2 = ring[k, R_WX], ring[k, R_WX + 1], ring[k, R_WX + 2]
        wy = rot[1, 0] * w0 + rot[1, 1] * w1 + rot[1, 2] * w2
        wz = rot[2, 0] * w0 + rot[2, 1] * w1 + rot[2, 2] * w2
        rate = (uy * wy + uz * wz) / (uy * uy + uz * uz)
        av = (ring[k, R_SF] - 1.0) * G
        # forward = pelvis x projected on the horizontal: f = e_x - u_x u (pelvis coordinates)
        a0, a1, a2 = ring[k, R_AX], ring[k, R_AX + 1], ring[k, R_AX + 2]
        ax = rot[0, 0] * a0 + rot[0, 1] * a1 + rot[0, 2] * a2
        ay = rot[1, 0] * a0 + rot[1, 1] * a1 + rot[1, 2] * a2
        az = rot[2, 0] * a0 + rot[2, 1] * a1 + rot[2, 2] * a2
        af = (ax - ux * (ax * ux + ay * uy + az * uz)) / math.sqrt(max(1.0 - ux * ux, 1e-12))
        if has_trunk:
            tx = trot[0, 0] * ring[k, R_TUX] + trot[0, 1] * ring[k, R_TUX + 1]
            tx += trot[0, 2] * ring[k, R_TUX + 2]
            lean_sum += _asin(-tx)
        t = ring[k, R_T]
        if j > 0:
            h = t - prev_t
            yaw += 0.5 * (rate + prev_rate) * h
            ymin = min(ymin, yaw)
            ymax = max(ymax, yaw)
            big_a += 0.5 * (av + prev_av) * h
            big_b += 0.5 * (big_a + prev_a) * h
            big_f += 0.5 * (af + prev_af) * h
        scratch[j, 0] = t - t0
        scratch[j, 1] = big_b
        scratch[j, 2] = big_f
        scratch[j, 3] = af
        prev_t, prev_av, prev_af, prev_a, prev_rate = t, av, af, big_a, rate
    drop_tan, tilt_sin = _filtfilt_max2(scratch, n, lp)
    out[M_DROP] = math.atan(drop_tan) * RAD2DEG
    out[M_TILT_PEAK] = math.asin(min(1.0, tilt_sin)) * RAD2DEG
    tilt_mean = tilt_sum / n * RAD2DEG
    out[M_TILT] = tilt_mean
    if has_trunk:
        lean = lean_sum / n * RAD2DEG
        out[M_LEAN] = lean
        out[M_LUMBAR] = tilt_mean - lean  # pelvis anterior tilt relative to the trunk
    else:
        out[M_LEAN] = np.nan
        out[M_LUMBAR] = tilt_mean  # single-sensor proxy (flagged in status)

    # rotation over the stride ending at this step: this step's yaw path after the previous one's
    ymin *= RAD2DEG
    ymax *= RAD2DEG
    yend = yaw * RAD2DEG
    if f[PREV_STEP_I1] == i0:
        e = f[PREV_YAW_END]
        out[M_ROT] = max(f[PREV_YAW_MAX], e + ymax) - min(f[PREV_YAW_MIN], e + ymin)
    else:
        out[M_ROT] = np.nan  # first step of a bout: no stride yet
    f[PREV_YAW_MIN], f[PREV_YAW_MAX], f[PREV_YAW_END], f[PREV_STEP_I1] = ymin, ymax, yend, i1
    if f[ACC_ONLY] == 1.0:  # the attitude is smoothed gravity: its mean holds, its swings do not
        out[M_DROP] = out[M_TILT_PEAK] = out[M_ROT] = np.nan

    # pass 2, with the means removed: v = A - m_v tau, so int v = B - m_v tau^2 / 2 (a trapezoid
    # is exact on tau), whose mean over the step is removed again to give the height z; the
    # forward velocity from IC is F - m_f tau
    dur = scratch[n - 1, 0]
    mean_av = big_a / dur if dur > 0.0 else 0.0
    mean_af = big_f / dur if dur > 0.0 else 0.0
    mean_v = (big_b - 0.5 * mean_av * dur * dur) / dur if dur > 0.0 else 0.0
    lo = 0.0
    hi = 0.0
    vmin = 0.0
    jmin = 0
    for j in range(1, n):
        tau = scratch[j, 0]
        z = scratch[j, 1] - tau * (0.5 * mean_av * tau + mean_v)
        lo = min(lo, z)
        hi = max(hi, z)
        vf = scratch[j, 2] - mean_af * tau
        if vf < vmin:
            vmin = vf
            jmin = j
    out[M_VOSC] = 100.0 * (hi - lo)
    # braking: speed lost down to the minimum, and the largest deceleration before it
    peak_decel = 0.0
    for j in range(jmin + 1):
        peak_decel = max(peak_decel, mean_af - scratch[j, 3])
    out[M_BRAKE] = -vmin
    out[M_BRAKE_PEAK] = peak_decel
