"""Sensor-to-pelvis alignment for any mounting: up from gravity, forward from the gait itself.

Up (P.z) is the gravity direction while standing still (or its mean over gait when there is no
still period). Forward (P.x) is the principal axis of horizontal pelvis acceleration, which during
gait is dominated by the antero-posterior braking/propulsion oscillation at step frequency
(Zijlstra & Hof 2003, Gait Posture 18:1-10; Lee et al. 2010 for running).

The sign of forward comes from votes, one per step (kernel._file_sign_votes), each a unit vector:
- walking: the horizontal acceleration over the 0.1 s before each heel strike points forward (the
  forward acceleration peaks at initial contact: Zijlstra & Hof 2003); 73-97 % of the steps of each
  of 35 real walks agree;
- running is a spring-mass bounce: braking (a_fwd < 0) while the vertical force rises to mid-stance,
  propulsion while it falls (Cavagna et al. 1988), so the step's E[a_fwd * d(sf)/dt] points backward.
Votes are kept separately for walking and running and combined as (walk - run). Once established,
the sign stays unless the recent votes reverse it (EngineConfig.forward_flip_vote) for
forward_flip_s of gait: a start that misled it (a weight shift, a first step with the phases of
neither rule) is corrected within seconds, a few turning steps are not enough.
"""

from __future__ import annotations

import math

from numba import njit

from imurun.core.state import FASTMATH


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def accumulate(cov, ev_step, alin, b0, b1, b2, up, dsf, alpha, dt):
    """EMA of the covariance of horizontal a(t) + a(t - one step); integral of a_h * d(sf)/dt.

    Antero-posterior acceleration repeats every step, medio-lateral acceleration alternates sign
    from step to step (it repeats every stride): the sum of two samples one step apart doubles the
    first and cancels the second, so the principal axis is forward even when sway is as large as
    the fore-aft oscillation (slow or turning walks; raw covariance ratio ~1.1 on the real Test11).
    """
    d = alin[0] * up[0] + alin[1] * up[1] + alin[2] * up[2]
    h0 = alin[0] - d * up[0]
    h1 = alin[1] - d * up[1]
    h2 = alin[2] - d * up[2]
    ev_step[0] += h0 * dsf * dt
    ev_step[1] += h1 * dsf * dt
    ev_step[2] += h2 * dsf * dt
    s0 = alin[0] + b0  # b: the linear acceleration one step ago
    s1 = alin[1] + b1
    s2 = alin[2] + b2
    d = s0 * up[0] + s1 * up[1] + s2 * up[2]
    h0 = s0 - d * up[0]
    h1 = s1 - d * up[1]
    h2 = s2 - d * up[2]
    cov[0, 0] += alpha * (h0 * h0 - cov[0, 0])
    cov[0, 1] += alpha * (h0 * h1 - cov[0, 1])
    cov[0, 2] += alpha * (h0 * h2 - cov[0, 2])
    cov[1, 1] += alpha * (h1 * h1 - cov[1, 1])
    cov[1, 2] += alpha * (h1 * h2 - cov[1, 2])
    cov[2, 2] += alpha * (h2 * h2 - cov[2, 2])
    cov[1, 0] = cov[0, 1]
    cov[2, 0] = cov[0, 2]
    cov[2, 1] = cov[1, 2]


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def file_vote(ev, v0, v1, v2, step_s, tau):
    """Fold one step's sign evidence (a horizontal vector, sensor frame) into `ev` as a unit vote,
    an EMA over `tau` seconds of steps: every step weighs the same, however hard it landed, so one
    stumble or bend cannot outvote the steps around it."""
    n = math.sqrt(v0 * v0 + v1 * v1 + v2 * v2)
    if n == 0.0:
        return
    a = min(1.0, step_s / tau)
    ev[0] += a * (v0 / n - ev[0])
    ev[1] += a * (v1 / n - ev[1])
    ev[2] += a * (v2 / n - ev[2])


# An established forward axis turns by at most this much per step. It is fixed on the pelvis, but
# in turns and shuffles the statistics of the last seconds can point anywhere: on the real Test11
# the free principal axis swung 135 deg in 15 s and forward came out reversed (left/right 0.67 at
# 50 Hz). A sensor turned on the belt is re-learned at ~4-6 deg/s of gait.
MAX_TURN = math.radians(2.0)
COS_MAX_TURN, SIN_MAX_TURN = math.cos(MAX_TURN), math.sin(MAX_TURN)


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def solve_forward(cov, ev_walk, ev_run, z, fwd, keep_sign, min_ratio):
    """Update `fwd` (unit, orthogonal to z) from the statistics. Returns the eigenvalue ratio.

    The covariance is reduced to the plane orthogonal to z (closed-form 2x2 eigenproblem). With
    keep_sign (the axis is established) the new axis keeps the hemisphere of the previous one, is
    taken only if the ratio reaches min_ratio, and fwd turns toward it by MAX_TURN at most.
    Otherwise the sign follows the evidence.
    """
    # orthonormal basis (b1, b2) of the plane orthogonal to z
    if abs(z[0]) < 0.9:
        b1x, b1y, b1z = 0.0 - z[0] * z[0], -z[0] * z[1], -z[0] * z[2]
        b1x += 1.0
    else:
        b1x, b1y, b1z = -z[1] * z[0], 1.0 - z[1] * z[1], -z[1] * z[2]
    n1 = math.sqrt(b1x * b1x + b1y * b1y + b1z * b1z)
    b1x, b1y, b1z = b1x / n1, b1y / n1, b1z / n1
    b2x = z[1] * b1z - z[2] * b1y
    b2y = z[2] * b1x - z[0] * b1z
    b2z = z[0] * b1y - z[1] * b1x
    a = _quad(cov, b1x, b1y, b1z, b1x, b1y, b1z)
    b = _quad(cov, b1x, b1y, b1z, b2x, b2y, b2z)
    c = _quad(cov, b2x, b2y, b2z, b2x, b2y, b2z)
    mean = 0.5 * (a + c)
    rad = math.sqrt(0.25 * (a - c) ** 2 + b * b)
    if mean + rad <= 0.0:
        return 0.0
    th = 0.5 * math.atan2(2.0 * b, a - c)
    ct, s_ = math.cos(th), math.sin(th)
    ex, ey, ez = ct * b1x + s_ * b2x, ct * b1y + s_ * b2y, ct * b1z + s_ * b2z
    ratio = (mean + rad) / max(mean - rad, 1e-12)
    if keep_sign:
        s = ex * fwd[0] + ey * fwd[1] + ez * fwd[2]
        if ratio < min_ratio:
            return ratio
        if s < 0.0:
            ex, ey, ez, s = -ex, -ey, -ez, -s
        if s < COS_MAX_TURN:  # turn fwd toward the new axis by MAX_TURN only, in their plane
            px, py, pz = ex - s * fwd[0], ey - s * fwd[1], ez - s * fwd[2]
            pn = math.sqrt(px * px + py * py + pz * pz)
            ex = COS_MAX_TURN * fwd[0] + SIN_MAX_TURN * px / pn
            ey = COS_MAX_TURN * fwd[1] + SIN_MAX_TURN * py / pn
            ez = COS_MAX_TURN * fwd[2] + SIN_MAX_TURN * pz / pn
    else:
        d = ev_walk - ev_run
        s = ex * d[0] + ey * d[1] + ez * d[2]
    if s < 0.0:
        ex, ey, ez = -ex, -ey, -ez
    fwd[0], fwd[1], fwd[2] = ex, ey, ez
    return ratio


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _quad(m, x0, x1, x2, y0, y1, y2):
    return (
        x0 * (m[0, 0] * y0 + m[0, 1] * y1 + m[0, 2] * y2)
        + x1 * (m[1, 0] * y0 + m[1, 1] * y1 + m[1, 2] * y2)
        + x2 * (m[2, 0] * y0 + m[2, 1] * y1 + m[2, 2] * y2)
    )


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def rotation_sensor_to_pelvis(fwd, up, out):
    """Rows P.x, P.y = z x x, P.z in sensor coordinates (fwd re-orthogonalised against up)."""
    d = fwd[0] * up[0] + fwd[1] * up[1] + fwd[2] * up[2]
    x0, x1, x2 = fwd[0] - d * up[0], fwd[1] - d * up[1], fwd[2] - d * up[2]
    n = math.sqrt(x0 * x0 + x1 * x1 + x2 * x2)
    x0, x1, x2 = x0 / n, x1 / n, x2 / n
    out[0, 0], out[0, 1], out[0, 2] = x0, x1, x2
    out[1, 0] = up[1] * x2 - up[2] * x1
    out[1, 1] = up[2] * x0 - up[0] * x2
    out[1, 2] = up[0] * x1 - up[1] * x0
    out[2, 0], out[2, 1], out[2, 2] = up[0], up[1], up[2]
