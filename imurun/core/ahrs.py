"""Attitude from gyro + accelerometer: a Mahony-style complementary filter, with gyro-bias estimation.

Mahony, Hamel & Pflimlin (2008), "Nonlinear complementary filters on the special orthogonal group",
IEEE TAC 53(5): the accelerometer error e = a x v (measured x estimated up) drives a proportional
correction and an integral term that is the gyro bias.

Three changes for a runner's pelvis, where dynamic acceleration reaches 2-3 g every step:
- the accelerometer is NOT normalised, so e stays linear in a;
- e is low-passed in the earth frame, where it equals (a_E x z)/g: over whole strides the pelvis'
  mean horizontal acceleration is zero, so the filtered error sees only the attitude error while the
  within-stride oscillation (which would otherwise leak into tilt) is averaged away;
- the correction about one axis (the pelvis' forward, for roll) may take its own gain: a lean into
  a curve should be followed faster than a speed change's forward tilt of the resultant.
No magnetometer: yaw is free-running and only used over single strides (rotation range).
Quaternions are (w, x, y, z), sensor to earth, earth z up.
"""

from __future__ import annotations

import math

from numba import njit

from imurun.core.state import FASTMATH

G = 9.80665


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def up_in_sensor(q, out):
    """Earth z (up) expressed in the sensor frame: the third row of R(q)."""
    w, x, y, z = q[0], q[1], q[2], q[3]
    out[0] = 2.0 * (x * z - w * y)
    out[1] = 2.0 * (y * z + w * x)
    out[2] = 1.0 - 2.0 * (x * x + y * y)


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def earth_xy(q, a0, a1, a2):
    """Horizontal (x, y) earth components of the sensor-frame vector a: first two rows of R(q) a."""
    w, x, y, z = q[0], q[1], q[2], q[3]
    ex = (1.0 - 2.0 * (y * y + z * z)) * a0 + 2.0 * (x * y - w * z) * a1 + 2.0 * (x * z + w * y) * a2
    ey = 2.0 * (x * y + w * z) * a0 + (1.0 - 2.0 * (x * x + z * z)) * a1 + 2.0 * (y * z - w * x) * a2
    return ex, ey


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def init_from_acc(q, a0, a1, a2):
    """Level the quaternion on one accelerometer reading (yaw 0): shortest arc from a to earth z."""
    n = math.sqrt(a0 * a0 + a1 * a1 + a2 * a2)
    if n < 1e-6:
        q[0], q[1], q[2], q[3] = 1.0, 0.0, 0.0, 0.0
        return
    ux, uy, uz = a0 / n, a1 / n, a2 / n
    # rotation taking u to z: axis u x z = (uy, -ux, 0), cos = uz
    w = 1.0 + uz
    if w < 1e-9:  # upside down: 180 deg about x
        q[0], q[1], q[2], q[3] = 0.0, 1.0, 0.0, 0.0
        return
    m = math.sqrt(w * w + uy * uy + ux * ux)
    q[0], q[1], q[2], q[3] = w / m, uy / m, -ux / m, 0.0


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def mahony_step(q, bias, eh, a0, a1, a2, w0, w1, w2, dt, dt_read, kp, ki, tau_corr, up, kr, fwd):
    """Advance q and bias by one sample, dt after the last. `eh` is this sensor's (2,) earth-frame
    error filter state; the reading weighs in it as one of dt_read (the sample interval: across a
    gap, the missing readings are no evidence, and one reading taken at 0.25 s moved the tilt by
    1 deg for 10 s in a simulated run).

    `kr` is an extra gain on the correction about the unit sensor-frame axis `fwd` (roll, for a
    pelvis whose forward axis is known; 0 for none). `up` (3,) receives the new up direction in
    the sensor frame.
    """
    # earth-frame error (a_E x z)/g = (ey, -ex, 0), rotated back to the sensor frame: R^T e
    w, x, y, z = q[0], q[1], q[2], q[3]
    e0x, e0y = eh[1], -eh[0]
    s0 = (1.0 - 2.0 * (y * y + z * z)) * e0x + 2.0 * (x * y + w * z) * e0y
    s1 = 2.0 * (x * y - w * z) * e0x + (1.0 - 2.0 * (x * x + z * z)) * e0y
    s2 = 2.0 * (x * z + w * y) * e0x + 2.0 * (y * z - w * x) * e0y
    bias[0] -= ki * s0 * dt
    bias[1] -= ki * s1 * dt
    bias[2] -= ki * s2 * dt
    r = kr * (s0 * fwd[0] + s1 * fwd[1] + s2 * fwd[2])
    g0 = w0 - bias[0] + kp * s0 + r * fwd[0]
    g1 = w1 - bias[1] + kp * s1 + r * fwd[1]
    g2 = w2 - bias[2] + kp * s2 + r * fwd[2]
    # q <- q * exp(omega dt / 2). q carries from sample to sample, so this chain bounds the speed
    # of the whole loop: it is kept free of square roots and divisions on the common path.
    h2 = 0.25 * (g0 * g0 + g1 * g1 + g2 * g2) * dt * dt  # h = |omega| dt / 2, half the angle
    if h2 > 1e-24:
        if h2 < 0.0025:  # h < 0.05 rad (20 rad/s at 200 Hz): series to h^5, error < 1e-12
            sinc = 1.0 - h2 / 6.0 * (1.0 - h2 / 20.0)
            c = 1.0 - 0.5 * h2 * (1.0 - h2 / 12.0 * (1.0 - h2 / 30.0))
        else:
            h = math.sqrt(h2)
            sinc = math.sin(h) / h
            c = math.cos(h)
        s = 0.5 * dt * sinc  # sin(h) / |omega|
        d0, d1, d2 = g0 * s, g1 * s, g2 * s
        nw = w * c - x * d0 - y * d1 - z * d2
        nx = w * d0 + x * c + y * d2 - z * d1
        ny = w * d1 - x * d2 + y * c + z * d0
        nz = w * d2 + x * d1 - y * d0 + z * c
        # the exponential keeps |q| = 1 but for rounding: one Newton step for 1/|q| removes that
        k = 1.5 - 0.5 * (nw * nw + nx * nx + ny * ny + nz * nz)
        q[0], q[1], q[2], q[3] = nw * k, nx * k, ny * k, nz * k
    # the error of this sample's reading against the attitude at its own time, not the previous
    # sample's (with the mean rate over the interval, kernel._interval_rate: either lag alone
    # biased the tilt of a pelvis that pitches with each loading); it corrects from the next sample
    ex, ey = earth_xy(q, a0, a1, a2)
    alpha = dt_read / (tau_corr + dt_read)
    eh[0] += alpha * (ex / G - eh[0])
    eh[1] += alpha * (ey / G - eh[1])
    up_in_sensor(q, up)
