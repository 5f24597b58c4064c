"""Per-step metrics (DESIGN.md "Per-step metrics"), computed when a step's interval closes.

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
from imurun.core.state import R_AX, R_SF, R_T, R_TUX, R_UX, R_WX

RAD2DEG = 180.0 / math.pi

# output columns of compute_step (the engine maps them onto STEP_DTYPE)
M_STEP_TIME, M_CADENCE, M_CONTACT, M_FLIGHT, M_VOSC, M_BRAKE, M_BRAKE_PEAK = 0, 1, 2, 3, 4, 5, 6
M_DROP, M_TILT, M_TILT_PEAK, M_ROT, M_LUMBAR, M_LEAN = 7, 8, 9, 10, 11, 12
N_M = 13


@njit(cache=True, inline="always")
def _pelvis_angles(rot, u0, u1, u2):
    ux = rot[0, 0] * u0 + rot[0, 1] * u1 + rot[0, 2] * u2
    uy = rot[1, 0] * u0 + rot[1, 1] * u1 + rot[1, 2] * u2
    uz = rot[2, 0] * u0 + rot[2, 1] * u1 + rot[2, 2] * u2
    pitch = math.asin(min(1.0, max(-1.0, -ux)))
    roll = math.atan2(uy, uz)
    return ux, uy, uz, pitch, roll


@njit(cache=True)
def yaw_range(ring, mask, rot, i0, i1):
    """Range (deg) of the pelvic yaw integrated over ring samples [i0, i1)."""
    yaw = 0.0
    lo = 0.0
    hi = 0.0
    for k in range(i0, i1 - 1):
        r = ring[k & mask]
        r1 = ring[(k + 1) & mask]
        _, _, _, pitch, roll = _pelvis_angles(rot, r[R_UX], r[R_UX + 1], r[R_UX + 2])
        wy = rot[1, 0] * r[R_WX] + rot[1, 1] * r[R_WX + 1] + rot[1, 2] * r[R_WX + 2]
        wz = rot[2, 0] * r[R_WX] + rot[2, 1] * r[R_WX + 1] + rot[2, 2] * r[R_WX + 2]
        yaw += (math.sin(roll) * wy + math.cos(roll) * wz) / math.cos(pitch) * (r1[R_T] - r[R_T])
        lo = min(lo, yaw)
        hi = max(hi, yaw)
    return (hi - lo) * RAD2DEG


@njit(cache=True)
def compute_step(ring, pend_row, rot, trot, has_trunk, out):
    """Fill out[0:N_M] for one closed step. pend_row holds (see state.P_*) its ICs and indices."""
    mask = ring.shape[0] - 1
    t_ic, side, kind, t_next, t_to = pend_row[0], pend_row[1], pend_row[2], pend_row[3], pend_row[4]
    i0, i1, iprev = int(pend_row[5]), int(pend_row[6]), int(pend_row[7])
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
    n = i1 - i0
    av = np.empty(n)
    af = np.empty(n)
    tt = np.empty(n)
    drop = -1e9
    tilt_sum = 0.0
    tilt_peak = -1e9
    lean_sum = 0.0
    for j in range(n):
        r = ring[(i0 + j) & mask]
        tt[j] = r[R_T]
        ux, uy, uz, pitch, roll = _pelvis_angles(rot, r[R_UX], r[R_UX + 1], r[R_UX + 2])
        drop = max(drop, sign * roll)
        tilt_sum += pitch
        tilt_peak = max(tilt_peak, pitch)
        av[j] = (r[R_SF] - 1.0) * G
        # forward = pelvis x projected on the horizontal, in pelvis coordinates
        fx, fy, fz = 1.0 - ux * ux, -ux * uy, -ux * uz
        fn = math.sqrt(fx * fx + fy * fy + fz * fz)
        a0, a1, a2 = r[R_AX], r[R_AX + 1], r[R_AX + 2]
        ax = rot[0, 0] * a0 + rot[0, 1] * a1 + rot[0, 2] * a2
        ay = rot[1, 0] * a0 + rot[1, 1] * a1 + rot[1, 2] * a2
        az = rot[2, 0] * a0 + rot[2, 1] * a1 + rot[2, 2] * a2
        af[j] = (ax * fx + ay * fy + az * fz) / fn
        if has_trunk:
            tx = trot[0, 0] * r[R_TUX] + trot[0, 1] * r[R_TUX + 1] + trot[0, 2] * r[R_TUX + 2]
            lean_sum += math.asin(min(1.0, max(-1.0, -tx)))
    out[M_DROP] = drop * RAD2DEG
    tilt_mean = tilt_sum / n * RAD2DEG
    out[M_TILT] = tilt_mean
    out[M_TILT_PEAK] = tilt_peak * RAD2DEG
    if has_trunk:
        lean = lean_sum / n * RAD2DEG
        out[M_LEAN] = lean
        out[M_LUMBAR] = tilt_mean - lean  # pelvis anterior tilt relative to the trunk
    else:
        out[M_LEAN] = np.nan
        out[M_LUMBAR] = tilt_mean  # single-sensor proxy (flagged in status)

    # vertical oscillation: zero-mean acceleration and velocity over the step, double integration
    dur = tt[n - 1] - tt[0] if n > 1 else 1.0
    out[M_VOSC] = 100.0 * _pp_displacement(tt, av, dur)
    # braking: forward velocity from IC with the step's mean acceleration removed
    mean_af = _time_mean(tt, af, dur)
    v = 0.0
    vmin = 0.0
    jmin = 0
    for j in range(1, n):
        v += 0.5 * (af[j] + af[j - 1] - 2.0 * mean_af) * (tt[j] - tt[j - 1])
        if v < vmin:
            vmin = v
            jmin = j
    out[M_BRAKE] = -vmin
    peak = 0.0
    for j in range(jmin + 1):
        peak = max(peak, mean_af - af[j])
    out[M_BRAKE_PEAK] = peak
    out[M_ROT] = yaw_range(ring, mask, rot, iprev, i1) if iprev >= 0 else np.nan


@njit(cache=True, inline="always")
def _time_mean(tt, x, dur):
    s = 0.0
    for j in range(1, tt.shape[0]):
        s += 0.5 * (x[j] + x[j - 1]) * (tt[j] - tt[j - 1])
    return s / dur if tt.shape[0] > 1 else x[0]


@njit(cache=True)
def _pp_displacement(tt, a, dur):
    n = tt.shape[0]
    if n < 3:
        return 0.0
    ma = _time_mean(tt, a, dur)
    vel = np.zeros(n)
    for j in range(1, n):
        vel[j] = vel[j - 1] + 0.5 * (a[j] + a[j - 1] - 2.0 * ma) * (tt[j] - tt[j - 1])
    mv = _time_mean(tt, vel, dur)
    z = 0.0
    lo = 0.0
    hi = 0.0
    for j in range(1, n):
        z += 0.5 * (vel[j] + vel[j - 1] - 2.0 * mv) * (tt[j] - tt[j - 1])
        lo = min(lo, z)
        hi = max(hi, z)
    return hi - lo
