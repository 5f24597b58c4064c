"""Sensor-to-pelvis alignment for any mounting: up from gravity, forward from the gait itself.

Up (P.z) is the gravity direction while standing still (or its mean over gait when there is no
still period). Forward (P.x) is the principal axis of horizontal pelvis acceleration, which during
gait is dominated by the antero-posterior braking/propulsion oscillation at step frequency
(Zijlstra & Hof 2003, Gait Posture 18:1-10; Lee et al. 2010 for running).

The sign of forward comes from how forward acceleration is phased against vertical loading:
- walking is an inverted pendulum: forward acceleration is positive while vertical specific force
  rises into double support and negative as it falls (Zijlstra & Hof 2003), so E[a_fwd * d(sf)/dt] > 0;
- running is a spring-mass bounce: braking (a_fwd < 0) while the vertical force rises to mid-stance,
  propulsion while it falls (Cavagna et al. 1988), so E[a_fwd * d(sf)/dt] < 0.
Evidence is kept separately for walking and running steps and combined as (walk - run).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def accumulate(cov, ev, alin, up, dsf, alpha):
    """EMA of the horizontal-acceleration covariance and of the forward-sign evidence vector `ev`."""
    d = alin[0] * up[0] + alin[1] * up[1] + alin[2] * up[2]
    h0 = alin[0] - d * up[0]
    h1 = alin[1] - d * up[1]
    h2 = alin[2] - d * up[2]
    cov[0, 0] += alpha * (h0 * h0 - cov[0, 0])
    cov[0, 1] += alpha * (h0 * h1 - cov[0, 1])
    cov[0, 2] += alpha * (h0 * h2 - cov[0, 2])
    cov[1, 1] += alpha * (h1 * h1 - cov[1, 1])
    cov[1, 2] += alpha * (h1 * h2 - cov[1, 2])
    cov[2, 2] += alpha * (h2 * h2 - cov[2, 2])
    cov[1, 0] = cov[0, 1]
    cov[2, 0] = cov[0, 2]
    cov[2, 1] = cov[1, 2]
    ev[0] += alpha * (h0 * dsf - ev[0])
    ev[1] += alpha * (h1 * dsf - ev[1])
    ev[2] += alpha * (h2 * dsf - ev[2])


@njit(cache=True)
def solve_forward(cov, ev_walk, ev_run, z, fwd, keep_sign):
    """Update `fwd` (unit, orthogonal to z) from the statistics. Returns the eigenvalue ratio.

    With keep_sign, the new axis keeps the hemisphere of the previous one (continuity once the
    sign is established); otherwise the sign follows the evidence.
    """
    p = np.eye(3) - np.outer(z, z)
    c = p @ cov @ p
    vals, vecs = np.linalg.eigh(c)
    e = vecs[:, 2] - (vecs[:, 2] @ z) * z
    n = math.sqrt(e @ e)
    if n < 1e-9 or vals[2] <= 0.0:
        return 0.0
    e = e / n
    if keep_sign:
        s = e @ fwd
    else:
        s = (ev_walk - ev_run) @ e
    if s < 0.0:
        e = -e
    fwd[:] = e
    return vals[2] / max(vals[1], 1e-12)


@njit(cache=True)
def rotation_sensor_to_pelvis(fwd, up, out):
    """Rows P.x, P.y = z x x, P.z in sensor coordinates (fwd re-orthogonalised against up)."""
    d = fwd @ up
    x = fwd - d * up
    x = x / math.sqrt(x @ x)
    y = np.cross(up, x)
    out[0, :] = x
    out[1, :] = y
    out[2, :] = up
