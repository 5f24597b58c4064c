"""From body motion to what an IMU reports: mounting, low-pass, sampling clock, errors, lost packets.

The motion is evaluated on a fine internal grid in chunks (fixed memory for hour-long sessions),
velocities are integrated there (trapezoid, carried across chunks), each channel goes through a
sensor-like 2nd-order Butterworth low-pass, and the result is interpolated at the device's own
(drifting, jittered) sample times.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import butter, sosfilt, sosfilt_zi

from imurun.sources.sim_body import At, Body
from imurun.sources.sim_rotation import axis_apply_T, zyx_apply_T, zyx_body_rates
from imurun.sources.sim_schedule import G, smootherstep

ACC_RANGE = 16 * G  # +-16 g
GYR_RANGE = np.radians(2000.0)  # +-2000 deg/s
LSB_PER_RANGE = 32768  # 16-bit converter
SLIP_S = 0.15  # how long the sudden mount rotation takes
PACKET_SAMPLES = 4  # samples per radio packet: losses come in multiples of this
CHUNK = 1 << 16


@dataclass(frozen=True)
class Mount:
    """Sensor orientation on its segment: v_segment = M(t) v_S with
    M(t) = R0 Rot(slip_axis, slip(t)) Rot(wobble_axis, wobble(t))."""

    r0: np.ndarray  # R_SP at t = 0 (3, 3)
    slip_axis: np.ndarray
    slip_rad: float
    slip_t: float
    wobble_axis: np.ndarray
    wobble_rad: float

    def _moves(self, body: Body, a: At):
        """(axis, angle, rate) of the mount's own fixed-axis rotations that are in use."""
        if self.slip_rad:
            s, ds, _ = smootherstep((a.t - self.slip_t) / SLIP_S)
            yield self.slip_axis, self.slip_rad * s, self.slip_rad * ds / SLIP_S
        if self.wobble_rad:
            w, dw = body.wobble(a)
            yield self.wobble_axis, self.wobble_rad * w, self.wobble_rad * dw

    def to_sensor(self, body: Body, a: At, v: np.ndarray, w: np.ndarray | None = None):
        """Segment-frame vector v (and segment angular velocity w) in the sensor frame. Each of the
        mount's own rotations adds its body rate: for a fixed-axis rotation, axis * angle rate."""
        v = v @ self.r0
        w = None if w is None else w @ self.r0
        for axis, angle, rate in self._moves(body, a):
            v = axis_apply_T(axis, angle, v)
            if w is not None:
                w = axis_apply_T(axis, angle, w) + np.outer(rate, axis)
        return v if w is None else (v, w)


@dataclass(frozen=True)
class ImuErrors:
    """Constant per-session errors plus white noise, then 16-bit quantisation and saturation."""

    acc_scale: np.ndarray  # per axis, ~1 %
    acc_bias: np.ndarray  # m/s^2
    gyr_bias: np.ndarray  # rad/s, up to ~1 deg/s
    acc_noise: float
    gyr_noise: float

    @staticmethod
    def draw(rng: np.random.Generator, acc_noise: float, gyr_noise: float) -> ImuErrors:
        return ImuErrors(
            acc_scale=1.0 + np.clip(rng.normal(0.0, 0.01, 3), -0.03, 0.03),
            acc_bias=np.clip(rng.normal(0.0, 0.05, 3), -0.15, 0.15),
            gyr_bias=np.radians(np.clip(rng.normal(0.0, 0.5, 3), -1.0, 1.0)),
            acc_noise=acc_noise,
            gyr_noise=gyr_noise,
        )

    def measure(self, f: np.ndarray, w: np.ndarray, rng: np.random.Generator):
        """What the IMU reports for true specific force f and angular velocity w."""
        acc = f * self.acc_scale + self.acc_bias + rng.normal(0.0, self.acc_noise, f.shape)
        gyr = w + self.gyr_bias + rng.normal(0.0, self.gyr_noise, w.shape)
        return _adc(acc, ACC_RANGE), _adc(gyr, GYR_RANGE)


def _adc(x: np.ndarray, full_scale: float) -> np.ndarray:
    lsb = full_scale / LSB_PER_RANGE
    return np.clip(np.round(x / lsb), -LSB_PER_RANGE, LSB_PER_RANGE - 1) * lsb + 0.0  # no -0.0


def device_times(duration_s: float, rate_hz: float, rng: np.random.Generator) -> np.ndarray:
    """Sample instants of a free-running device clock: +-100 ppm rate error and 1 % jitter,
    microsecond timestamps, 0 = first sample."""
    n = int(np.floor(duration_s * rate_hz))
    period = (1.0 + rng.uniform(-1e-4, 1e-4)) / rate_hz
    t = np.arange(n) * period + np.clip(rng.normal(0.0, 0.01 * period, n), -0.05 * period, 0.05 * period)
    return np.round(t - t[0], 6)


def kept_samples(n: int, loss: float, rng: np.random.Generator) -> np.ndarray:
    """Mask of samples that arrive: lost packets come in runs (mean 2 packets) so the session has
    gaps, never single missing rows. The first packet always arrives."""
    keep = np.ones(n, dtype=bool)
    packets = n // PACKET_SAMPLES
    mean_run = 2.0
    events = rng.poisson(loss * packets / mean_run) if packets > 1 else 0
    starts = rng.integers(1, packets, events) if events else np.empty(0, dtype=int)
    for p, length in zip(starts, rng.geometric(1 / mean_run, len(starts)), strict=True):
        keep[p * PACKET_SAMPLES : (p + length) * PACKET_SAMPLES] = False
    return keep


class _LowPass:
    """Sensor anti-alias filter: 2nd-order Butterworth at 0.4 x rate, state carried across chunks."""

    def __init__(self, rate_hz: float, fine_hz: float):
        self.sos = butter(2, 0.4 * rate_hz, fs=fine_hz, output="sos")
        self.zi: np.ndarray | None = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.zi is None:  # start in steady state on the first (still) sample
            self.zi = sosfilt_zi(self.sos)[:, :, None] * x[0][None, None, :]
        y, self.zi = sosfilt(self.sos, x, axis=0, zi=self.zi)
        return y


@dataclass
class Sampled:
    """Noise-free sensor channels and per-sample truth at the device times."""

    f_s: np.ndarray  # specific force, sensor frame
    w_s: np.ndarray  # angular velocity, sensor frame
    trunk_f: np.ndarray | None
    trunk_w: np.ndarray | None
    height_m: np.ndarray  # pelvis height (integrated vertical velocity)
    fwd_mps: np.ndarray  # pelvis forward velocity along the heading


def sample_sensors(
    body: Body, t_dev: np.ndarray, rate_hz: float, pelvis: Mount, trunk: Mount | None
) -> Sampled:
    fine_hz = max(1000.0, 5.0 * rate_hz)
    h = 1.0 / fine_hz
    start = min(body.sch.t0, 0.0) - 0.05
    n_fine = int(np.ceil((t_dev[-1] - start) / h)) + 2
    lp = _LowPass(rate_hz, fine_hz)
    lp_trunk = _LowPass(rate_hz, fine_hz)
    cols = 6 + (6 if trunk else 0) + 2  # sensor channels, then height and forward velocity
    out = np.empty((len(t_dev), cols))
    # every timeline starts standing still: zero velocity and acceleration before the first sample
    a_prev, v, z = np.zeros((1, 3)), np.zeros(3), 0.0
    prev_row = None  # last fine sample of the previous chunk (t, channels) for interpolation
    for j0 in range(0, n_fine, CHUNK):
        t = start + h * np.arange(j0, min(j0 + CHUNK, n_fine))
        at = body.at(t)
        a = body.acc_h(at)
        # trapezoid integration of velocity and height, carried across chunks
        a_ext = np.vstack([a_prev, a])
        vel = v + np.cumsum((a_ext[1:] + a_ext[:-1]) * (h / 2), axis=0)
        v_ext = np.vstack([v, vel])
        height = z + np.cumsum((v_ext[1:, 2] + v_ext[:-1, 2]) * (h / 2))
        a_prev, v, z = a[-1:], vel[-1], height[-1]
        # velocity expressed in a turning heading frame: add omega_heading x v
        _, dpsi = body.heading(at)
        a_turn = a + np.stack([-dpsi * vel[:, 1], dpsi * vel[:, 0], np.zeros_like(t)], axis=1)
        g_up = a_turn + np.array([0.0, 0.0, G])  # specific force in H
        p_bal = body.pelvis(at)
        p = body.lean_into_curve(at, p_bal)
        f_p = zyx_apply_T(p.yaw, p.pitch, p.roll, g_up)
        w_p = zyx_body_rates(p.pitch, p.roll, p.dyaw + dpsi, p.dpitch, p.droll)
        f_s, w_s = pelvis.to_sensor(body, at, f_p, w_p)
        chans = [lp(np.hstack([f_s, w_s]))]
        if trunk:
            q = body.lean_into_curve(at, body.trunk(at, p_bal))
            f_t = zyx_apply_T(q.yaw, q.pitch, q.roll, g_up + body.trunk_offset_acc(t))
            w_t = zyx_body_rates(q.pitch, q.roll, q.dyaw + dpsi, q.dpitch, q.droll)
            chans.append(lp_trunk(np.hstack(trunk.to_sensor(body, at, f_t, w_t))))
        raw = np.hstack(chans + [np.column_stack([height, vel[:, 0]])])
        if prev_row is not None:
            t = np.append(prev_row[0], t)
            raw = np.vstack([prev_row[1], raw])
        sel = slice(np.searchsorted(t_dev, t[0]), np.searchsorted(t_dev, t[-1], side="right"))
        for c in range(cols):
            out[sel, c] = np.interp(t_dev[sel], t, raw[:, c])
        prev_row = (t[-1], raw[-1:])
    k = 12 if trunk else 6
    return Sampled(
        out[:, :3], out[:, 3:6],
        out[:, 6:9] if trunk else None, out[:, 9:12] if trunk else None,
        out[:, k], out[:, k + 1],
    )
