"""The simulated body: pelvis (and trunk) orientation and acceleration as pure functions of time.

Frames (docs/architecture.md): earth E (z up); heading frame H = E turned by the heading about z (x = the
running direction); pelvis P (x forward, y left, z up) with R_HP = Rz(rot) Ry(tilt) Rx(obl).
Accelerations are returned as the time derivatives of the velocity components in H; the caller adds
the heading-turn (Coriolis) terms once it has integrated the velocity. Per-step pulses are defined
on the step's own time axis s = t - IC; oscillations that run across steps use the C1 gait phase
(an integer at every IC), so every angle and velocity is continuous. Magnitudes: docs/simulator.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.interpolate import CubicHermiteSpline

from imurun.sources.sim_schedule import G, Schedule

IMPACT_S, IMPACT_HZ = 0.10, 20.0  # two cycles of a ~20 Hz transient after IC
WOBBLE_S, WOBBLE_HZ = 0.15, 40.0 / 3.0  # two cycles of soft-tissue wobble after IC
SWAY_PHASE = 0.4  # the pelvis is furthest over the stance foot at 40 % of the step
TILT_PHASE = 0.7  # anterior tilt peaks near toe-off, once per step (twice per stride)
YAW_LAG = 0.25  # pelvic yaw extreme a quarter step after IC: still turning at IC
ROLL_LAG = 0.1  # walking roll term: left side lowest just after a left IC
WALK_FWD_LAG = 0.1  # walking forward acceleration changes sign 10 % of a step after IC
TRUNK_PHASE = 0.5
TRUNK_COUNTER = -0.5  # the thorax counter-rotates against the pelvis
TRUNK_LENGTH_M = 0.3


def _burst(s: np.ndarray, dur: float, hz: float) -> tuple[np.ndarray, np.ndarray]:
    """sin^2 window x sine, whole cycles: returns to zero, zero mean. Value and d/ds."""
    f, df = np.zeros_like(s), np.zeros_like(s)
    on = (s >= 0) & (s < dur)
    x = s[on]
    w, dw = np.sin(np.pi * x / dur) ** 2, np.pi / dur * np.sin(2 * np.pi * x / dur)
    o, do = np.sin(2 * np.pi * hz * x), 2 * np.pi * hz * np.cos(2 * np.pi * hz * x)
    f[on], df[on] = w * o, dw * o + w * do
    return f, df


def _impact(s: np.ndarray) -> np.ndarray:
    """Impact transient after IC: the second derivative of a compact displacement pulse
    -x(s) / (2 pi f)^2 with x = sin^2 window x sine, so it has zero net impulse AND zero net
    displacement (the body neither speeds up nor sinks at each landing). Peak ~1."""
    out = np.zeros_like(s)
    on = (s >= 0) & (s < IMPACT_S)
    x = s[on]
    k, q = 2 * np.pi * IMPACT_HZ, 2 * np.pi / IMPACT_S
    w, dw, ddw = 0.5 - 0.5 * np.cos(q * x), 0.5 * q * np.sin(q * x), 0.5 * q * q * np.cos(q * x)
    sn, cs = np.sin(k * x), np.cos(k * x)
    out[on] = w * sn - (ddw * sn + 2 * dw * k * cs) / k**2
    return out


def _bump(tau: np.ndarray, peak: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(1 - cos 2 pi w) / 2 on [0, 1] with the time warp w = 0.5 at `peak`: 1 at the peak, zero
    value and slope at both ends, C1. Value and d/dtau."""
    rising = tau < peak
    dw = np.where(rising, 0.5 / peak, 0.5 / (1 - peak))
    w = np.where(rising, tau * dw, 0.5 + (tau - peak) * dw)
    return 0.5 - 0.5 * np.cos(2 * np.pi * w), np.pi * np.sin(2 * np.pi * w) * dw


@dataclass
class Angles:
    """Angles (rad) and their time derivatives, arrays (n,)."""

    yaw: np.ndarray
    pitch: np.ndarray
    roll: np.ndarray
    dyaw: np.ndarray
    dpitch: np.ndarray
    droll: np.ndarray


class At:
    """Everything shared by the body quantities at one array of times, looked up once."""

    def __init__(self, body: Body, t: np.ndarray):
        sch = body.sch
        self.t = t
        i = np.searchsorted(sch.t_ic, t, side="right") - 1
        self.valid = i >= 0
        self.i = np.maximum(i, 0)
        self.s = np.where(self.valid, t - sch.t_ic[self.i], -1.0)  # time since the latest IC
        self.tr = sch.traces.at(t)
        # gait phase from the PCHIP's cubic pieces, one interval lookup for all three derivatives
        x, c = sch.phase.x, sch.phase.c
        j = np.clip(np.searchsorted(x, t, side="right") - 1, 0, len(x) - 2)
        d = t - x[j]
        c0, c1, c2, c3 = c[0, j], c[1, j], c[2, j], c[3, j]
        self.ph = ((c0 * d + c1) * d + c2) * d + c3
        self.dph = (3 * c0 * d + 2 * c1) * d + c2
        self.ddph = 6 * c0 * d + 2 * c1
        self._cos, self._sin = np.cos(np.pi * self.ph), np.sin(np.pi * self.ph)

    def osc(self, k: int, lag: float) -> tuple[np.ndarray, np.ndarray]:
        """cos and sin of k*pi*(phase - lag), k = 1 (stride rhythm) or 2 (step rhythm), by angle
        addition from one cos/sin of the phase."""
        c, s = self._cos, self._sin
        if k == 2:
            c, s = c * c - s * s, 2 * s * c
        cl, sl = np.cos(k * np.pi * lag), np.sin(k * np.pi * lag)
        return c * cl + s * sl, s * cl - c * sl


CURVE_W = 2 * np.pi / 60.0  # the curves' period: 60 s
HEADING_HZ = 100.0  # grid on which the heading rate is integrated


class Body:
    def __init__(self, sch: Schedule):
        self.sch = sch
        # heading = integral of the heading rate, tabulated once (the rate itself is exact)
        # (Hermite with the exact rate: smooth enough for the trunk's lever arm, a second difference)
        t = np.arange(sch.t0 - 1.0, sch.t_end + 2.0, 1.0 / HEADING_HZ)
        rate = self._heading_rate(self.at(t))[0]
        psi = np.concatenate([[0.0], np.cumsum(0.5 * (rate[1:] + rate[:-1]) / HEADING_HZ)])
        self._psi = CubicHermiteSpline(t, psi, rate)

    def at(self, t: np.ndarray) -> At:
        return At(self, t)

    def _heading_rate(self, a: At) -> tuple[np.ndarray, np.ndarray]:
        """Gentle curves: heading rate C(t) w cos(w t), its amplitude C = 0 when standing, and its
        derivative (rad/s, rad/s^2). The rate ramps in with C: a heading C(t) sin(w t) turned the
        runner by up to 16 deg in the 1.5 s in which C ramps in at the start of a run."""
        c, dc, _ = a.tr["curve_deg"]
        sn, cs = np.sin(CURVE_W * a.t), np.cos(CURVE_W * a.t)
        return np.radians(c * CURVE_W * cs), np.radians(dc * CURVE_W * cs - c * CURVE_W**2 * sn)

    def heading(self, a: At) -> tuple[np.ndarray, np.ndarray]:
        """Heading (rad) and its rate (rad/s)."""
        return self._psi(a.t), self._heading_rate(a)[0]

    def lean_into_curve(self, a: At, q: Angles) -> Angles:
        """`q` (pelvis or trunk angles relative to the runner's balance axis) with the whole body's
        lean into the curve added to its roll, as the sensor sees it. A runner on a curve leans
        until the resultant of gravity and the centripetal acceleration v ψ' runs along the body,
        tan(lean) = v ψ' / g (Greene 1985, J Biomech Eng 107:96), inward: left on a left turn,
        which is negative roll. The truth (sim_truth) keeps the angles without it: a lean of the
        whole body is no pelvic drop. (A body upright on a curve would fall outward; the
        simulator had one, and its truth then differed from the apparent vertical by ~0.6 deg.)"""
        v, dv, _ = a.tr["speed_mps"]
        dpsi, ddpsi = self._heading_rate(a)
        x = v * dpsi / G
        lean = -np.arctan(x)
        dlean = -(dv * dpsi + v * ddpsi) / G / (1 + x * x)
        return Angles(q.yaw, q.pitch, q.roll + lean, q.dyaw, q.dpitch, q.droll + dlean)

    def pelvis(self, a: At) -> Angles:
        """Pelvis yaw (rotation, relative to heading), pitch (tilt), roll (obliquity)."""
        sch = self.sch
        t0, dt0, _ = a.tr["tilt_deg"]
        ta, dta, _ = a.tr["tilt_amp_deg"]
        cs, sn = a.osc(2, TILT_PHASE)
        tilt = t0 + ta * cs
        dtilt = dt0 + dta * cs - ta * sn * 2 * np.pi * a.dph
        # at a left IC (even phase) the left hip is forward: yaw negative, turning positive in stance
        r, dr, _ = a.tr["rot_amp_deg"]
        cs, sn = a.osc(1, YAW_LAG)
        rot = -r * cs
        drot = -dr * cs + r * sn * np.pi * a.dph
        # obliquity: the swing side drops during each step, peaking at mid-stance
        i, s = a.i, a.s
        step = sch.step_s[i]
        on = a.valid & ~sch.final[i] & (s < step)
        obl, dobl = np.zeros_like(s), np.zeros_like(s)
        k = i[on]
        f, df = _bump(s[on] / step[on], sch.drop_peak[k])
        amp = sch.side[k] * sch.drop_deg[k]
        obl[on], dobl[on] = amp * f, amp * df / step[on]
        # walking: a stride-frequency roll, the landing side lowest around its IC (real recordings)
        ra, dra, _ = a.tr["roll_amp_deg"]
        cs, sn = a.osc(1, ROLL_LAG)
        obl -= ra * cs
        dobl += -dra * cs + ra * sn * np.pi * a.dph
        return Angles(np.radians(rot), np.radians(tilt), np.radians(obl),
                      np.radians(drot), np.radians(dtilt), np.radians(dobl))

    def trunk(self, a: At, pelvis: Angles) -> Angles:
        """Trunk yaw relative to heading, forward lean (pitch) relative to standing, no roll."""
        l0, dl0, _ = a.tr["trunk_lean_deg"]
        la, dla, _ = a.tr["trunk_amp_deg"]
        cs, sn = a.osc(2, TRUNK_PHASE)
        lean = l0 + la * cs
        dlean = dl0 + dla * cs - la * sn * 2 * np.pi * a.dph
        zero = np.zeros_like(lean)
        return Angles(TRUNK_COUNTER * pelvis.yaw, np.radians(lean), zero,
                      TRUNK_COUNTER * pelvis.dyaw, np.radians(dlean), zero)

    def trunk_offset_acc(self, t: np.ndarray, h: float = 1e-3) -> np.ndarray:
        """Second derivative in H of the pelvis-to-trunk-sensor vector (lever arm), by central
        differences of the exact offset: r_E = L * R_ET e_z, expressed in H at time t."""

        def r_e(tt):
            a = self.at(tt)
            q = self.trunk(a, self.pelvis(a))
            yaw = self.heading(a)[0] + q.yaw
            sp = np.sin(q.pitch)
            return TRUNK_LENGTH_M * np.stack([np.cos(yaw) * sp, np.sin(yaw) * sp, np.cos(q.pitch)], axis=1)

        dd = (r_e(t + h) - 2 * r_e(t) + r_e(t - h)) / h**2
        psi = self.heading(self.at(t))[0]
        c, s = np.cos(psi), np.sin(psi)
        return np.stack([c * dd[:, 0] + s * dd[:, 1], -s * dd[:, 0] + c * dd[:, 1], dd[:, 2]], axis=1)

    def acc_h(self, a: At) -> np.ndarray:
        """d/dt of the pelvis velocity components (forward, left, up) in H; gravity excluded."""
        sch = self.sch
        i, s, valid = a.i, a.s, a.valid
        final, step = sch.final[i], sch.step_s[i]
        run = valid & sch.run[i]
        walk = valid & ~sch.run[i] & ~final & (s < step)
        tc = sch.contact_s[i]
        contact = run & (s < tc)
        fwd = a.tr["speed_mps"][1].copy()
        up = np.zeros_like(s)
        # running: braking then propulsion within contact (zero net impulse); spring-mass vertical,
        # a half-sine force in contact and free fall in flight
        k = i[contact]
        tau = s[contact] / tc[contact]
        fwd[contact] -= sch.braking_ms2[k] * np.sin(2 * np.pi * tau)
        up[contact] = G * (sch.from_ground[k] * (1 - tau) + sch.to_ground[k] * tau - 1)
        up[contact] += sch.push_ms2[k] * np.sin(np.pi * tau) + sch.level_ms2[k] * np.sin(2 * np.pi * tau)
        up[run & ~contact & ~final] = -G
        # walking: forward acceleration positive before IC, negative after (Zijlstra & Hof 2003);
        # inverted pendulum, lowest and most accelerated upward at IC
        k = i[walk]
        step_w = step[walk]
        tau = s[walk] / step_w
        fwd[walk] -= sch.braking_ms2[k] * np.sin(2 * np.pi * (tau - WALK_FWD_LAG))
        up[walk] = sch.bounce_m[k] * (2 * np.pi / step_w) ** 2 * np.cos(2 * np.pi * tau)
        up += sch.impact_ms2[i] * _impact(s)
        # medio-lateral: displacement toward the stance side, acceleration away from it
        y, dy, ddy = a.tr["sway_cm"]
        c, sn = a.osc(1, SWAY_PHASE)
        w = np.pi * a.dph
        left = (ddy * c - 2 * dy * sn * w - y * (c * w * w + sn * np.pi * a.ddph)) / 100
        return np.stack([fwd, left, up], axis=1)

    def wobble(self, a: At) -> tuple[np.ndarray, np.ndarray]:
        """Soft-tissue wobble shape after each IC (unit amplitude): angle and its rate."""
        return _burst(a.s, WOBBLE_S, WOBBLE_HZ)
