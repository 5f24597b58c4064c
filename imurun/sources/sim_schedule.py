"""The simulated session's timeline: smooth parameter traces and the initial-contact schedule.

Everything the body model needs is decided here, once, from the scenario and the random generator:
when each foot lands, how long it stays on the ground, and the per-step amplitudes. The body model
(sim_body) is then a pure function of time over these arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.interpolate import PchipInterpolator

from imurun.sources.sim_scenarios import Gait, Segment

G = 9.80665
TRANSITION_S = 1.5  # smooth ramp between standing / walking / running levels
FIRST_IC_DELAY_S = 0.3  # first IC after a gait segment starts from standing
MIN_FLIGHT_S = 0.03
WALK_STANCE = 0.6  # stance fraction of the stride in walking (Perry & Burnfield, Gait Analysis)
WALK_DROP_PEAK = 0.3  # walking: the swing side drops in the loading response (Perry & Burnfield)


def smootherstep(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """C2 ramp 0 -> 1 on [0, 1] and its first two derivatives (clamped outside)."""
    x = np.clip(x, 0.0, 1.0)
    x2, u = x * x, 1.0 - x
    return x2 * x * (10.0 + x * (6.0 * x - 15.0)), 30.0 * x2 * u * u, 60.0 * x * u * (1.0 - 2.0 * x)


# Continuous gait quantities (0 when standing), as Gait attribute names.
TRACE_FIELDS = (
    "speed_mps", "sway_cm", "tilt_deg", "tilt_amp_deg", "rot_amp_deg", "roll_amp_deg",
    "trunk_lean_deg", "trunk_amp_deg", "curve_deg",
)


@dataclass(frozen=True)
class Traces:
    """C2 functions of time through shared knots (one column per TRACE_FIELDS entry),
    smootherstep between consecutive knots."""

    t: np.ndarray  # (m,)
    v: np.ndarray  # (m, len(TRACE_FIELDS))

    def at(self, t: np.ndarray) -> TracesAt:
        i = np.clip(np.searchsorted(self.t, t, side="right") - 1, 0, len(self.t) - 2)
        w = self.t[i + 1] - self.t[i]
        single = len(i) > 0 and i.min() == i.max()
        return TracesAt(self, i, w, smootherstep((t - self.t[i]) / w), single)


@dataclass(frozen=True)
class TracesAt:
    """Traces looked up at one array of times; fields are evaluated on demand."""

    traces: Traces
    i: np.ndarray
    w: np.ndarray
    ramp: tuple[np.ndarray, np.ndarray, np.ndarray]
    single: bool

    def __getitem__(self, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Value, first and second time derivative of one trace."""
        v = self.traces.v[:, TRACE_FIELDS.index(name)]
        if self.single:  # all times between the same two knots (the usual case): scalars
            v0, dv = v[self.i[0]], v[self.i[0] + 1] - v[self.i[0]]
            if dv == 0.0:
                zero = np.zeros(len(self.i))
                return np.full(len(self.i), v0), zero, zero
        else:
            v0 = v[self.i]
            dv = v[self.i + 1] - v0
        s, ds, dds = self.ramp
        return v0 + dv * s, dv * ds / self.w, dv * dds / self.w**2


@dataclass(frozen=True)
class Schedule:
    """Per-IC arrays (one entry per initial contact, including each bout's final IC) and traces."""

    t0: float  # session time where the timeline starts (negative with a lead-in)
    t_end: float
    traces: Traces
    phase: PchipInterpolator  # gait phase: integer at each IC, even = left, odd = right
    t_ic: np.ndarray
    side: np.ndarray  # +1 left, -1 right
    run: np.ndarray  # bool
    final: np.ndarray  # bool: last IC of a bout (no next IC; its step is not written)
    first: np.ndarray  # bool: first IC of a bout
    step_s: np.ndarray  # interval to the next IC (final: contact time)
    contact_s: np.ndarray  # ground contact of the landing foot (truth)
    flight_s: np.ndarray  # toe-off to next IC (0 walking)
    vz_ic: np.ndarray  # vertical velocity at IC, m/s
    push_ms2: np.ndarray  # running: half-sine amplitude of (vertical force / mass)
    level_ms2: np.ndarray  # running: amplitude of the full-sine term that levels the contact
    from_ground: np.ndarray  # bool: running contact without flight before (force starts at weight)
    to_ground: np.ndarray  # bool: running contact without flight after (force ends at weight)
    braking_ms2: np.ndarray
    impact_ms2: np.ndarray
    bounce_m: np.ndarray  # walking half peak-to-peak height
    drop_deg: np.ndarray  # pelvic drop of this step's swing side
    drop_peak: np.ndarray  # where in the step (0..1) the drop peaks: mid-stance


def _gait_segments(segments: list[Segment], t0: float) -> tuple[list[tuple[float, float, Segment]], list]:
    """(start, end, segment) of every segment, and bouts = lists of consecutive gait segments."""
    spans, bouts, current = [], [], []
    t = t0
    for seg in segments:
        spans.append((t, t + seg.duration_s, seg))
        if seg.gait is None:
            if current:
                bouts.append(current)
            current = []
        else:
            current.append(spans[-1])
        t += seg.duration_s
    if current:
        bouts.append(current)
    return spans, bouts


def _traces(spans: list[tuple[float, float, Segment]]) -> Traces:
    half = TRANSITION_S / 2
    knots: list[float] = []
    values: list[list[float]] = []
    for i, (a, b, seg) in enumerate(spans):
        knots += [a + (half if i else 0.0), b - (half if i < len(spans) - 1 else 0.0)]
        for progress in (0.0, 1.0):
            values.append([getattr(seg.at(progress), f) if seg.gait else 0.0 for f in TRACE_FIELDS])
    return Traces(np.array(knots), np.array(values))


def _segment_at(bout: list[tuple[float, float, Segment]], t: float) -> Gait:
    for a, b, seg in bout:
        if t < b:
            return seg.at((t - a) / (b - a))
    return bout[-1][2].at(1.0)


def build_schedule(segments: list[Segment], t0: float, rng: np.random.Generator) -> Schedule:
    spans, bouts = _gait_segments(segments, t0)
    t_end = spans[-1][1]
    rows: list[list] = []  # [t, run, gait, step_s, contact_base, first] per IC
    for bout in bouts:
        t = bout[0][0] + FIRST_IC_DELAY_S
        end = bout[-1][1] - TRANSITION_S / 2
        first = True
        while t < end:
            g = _segment_at(bout, t)
            step = 60.0 / g.cadence_spm * (1.0 + g.step_cv * float(np.clip(rng.standard_normal(), -3, 3)))
            contact = g.contact_s * (1.0 + 0.03 * float(np.clip(rng.standard_normal(), -3, 3)))
            rows.append([t, g.activity == "run", g, step, contact, first])
            first = False
            t += step
        rows[-1][3] = np.nan  # final IC of the bout
    # a sentinel IC that never happens keeps every per-IC lookup valid (also with no gait at all)
    rows.append([np.inf, False, Gait(), np.nan, np.nan, True])
    n = len(rows)
    t_ic = np.array([r[0] for r in rows])
    run = np.array([r[1] for r in rows], dtype=bool)
    first = np.array([r[5] for r in rows], dtype=bool)
    final = np.zeros(n, dtype=bool)
    final[np.flatnonzero(first)[1:] - 1] = True  # the IC before each bout's first (and the sentinel)
    final[-1] = True
    step_s = np.array([r[3] for r in rows])
    contact = np.array([r[4] for r in rows])
    next_run = np.append(run[1:], False) & ~final
    # running contact leaves a flight, except the last running step before walking or stopping
    contact = np.where(run & next_run, np.minimum(contact, step_s - MIN_FLIGHT_S), contact)
    contact = np.where(run & ~next_run & ~final, step_s, contact)
    nxt = np.where(final, np.nan, np.append(step_s[1:], np.nan))
    nxt = np.where(np.isnan(nxt) | np.append(final[1:], False), step_s, nxt)
    contact = np.where(run, contact, WALK_STANCE * (step_s + nxt))
    step_s = np.where(final, np.where(run, contact, 0.0), step_s)
    contact = np.where(final & ~run, 0.0, contact)
    flight = np.where(run & ~final, step_s - contact, 0.0)
    flight_prev = np.where(first, 0.0, np.append(0.0, flight[:-1]))
    # spring-mass vertical: choose each stance impulse so that the velocity at IC is -g*Tf_prev/2
    # and at toe-off +g*Tf/2 (symmetric flight parabolas, so height stays bounded). A contact that
    # starts from standing or walking (no flight before) starts at body weight instead of zero
    # force, one that ends without flight ends at body weight: a linear term keeps the force
    # continuous, the half-sine amplitude makes up the rest of the impulse. A zero-impulse full
    # sine then sets the height gained over the contact to zero: with symmetric flights the height
    # at every IC is the same and never drifts.
    from_ground = run & (flight_prev == 0)
    to_ground = run & (flight == 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        impulse = G * (flight_prev + flight) / 2 + G * contact * (1 - (from_ground + to_ground) / 2)
        push = np.where(run, np.pi / (2 * contact) * impulse, 0.0)
        u1, c1, c2 = G * flight_prev / 2, from_ground, to_ground
        rise = contact * (-u1 + contact * (G * (c1 / 3 + c2 / 6 - 0.5) + push / np.pi))
        level = np.where(run, -2 * np.pi * rise / contact**2, 0.0)
    vz_ic = np.where(run, -G * flight_prev / 2, 0.0)
    side = np.ones(n)
    phase_knots = []
    k = 0
    for i in range(n - 1):
        if first[i]:
            s = 1.0 if rng.random() < 0.5 else -1.0
            # a new bout starts >= 6 phase units on (room for the virtual steps), on an even
            # phase for a left IC and an odd one for a right IC
            k += 6 if k % 2 == (0 if s > 0 else 1) else 7
        side[i] = 1.0 if k % 2 == 0 else -1.0
        phase_knots.append(k)
        k += 1
    gaits = [r[2] for r in rows]
    drop = np.array([g.drop_l_deg if s > 0 else g.drop_r_deg for g, s in zip(gaits, side, strict=True)])
    drop *= 1.0 + 0.08 * np.clip(rng.standard_normal(n), -3, 3)
    bounce = np.array([g.bounce_cm / 100 for g in gaits])
    bounce *= 1.0 + 0.05 * np.clip(rng.standard_normal(n), -3, 3)
    with np.errstate(invalid="ignore"):
        drop_peak = np.where(run, 0.5 * contact / step_s, WALK_DROP_PEAK)
    phase = _phase(t_ic[:-1], np.array(phase_knots, dtype=float), step_s, first, final, t0, t_end)
    return Schedule(
        t0=t0,
        t_end=t_end,
        traces=_traces(spans),
        phase=phase,
        t_ic=t_ic,
        side=side,
        run=run,
        final=final,
        first=first,
        step_s=step_s,
        contact_s=contact,
        flight_s=flight,
        vz_ic=vz_ic,
        push_ms2=push,
        level_ms2=level,
        from_ground=from_ground,
        to_ground=to_ground,
        braking_ms2=np.array([g.braking_ms2 for g in gaits]),
        impact_ms2=np.array([g.impact_ms2 for g in gaits]),
        bounce_m=bounce,
        drop_deg=drop,
        drop_peak=drop_peak,
    )


def _phase(t_ic, k, step_s, first, final, t0, t_end) -> PchipInterpolator:
    """C1 gait phase through the ICs, continued by 2 virtual steps beyond each bout's ends so the
    oscillations keep their rhythm while their amplitude ramps in and out."""
    t_k, v_k = [t0 - 10.0], [-10.0]
    for i in range(len(t_ic)):
        if first[i]:
            s = step_s[i]
            t_k += [t_ic[i] - 2 * s, t_ic[i] - s]
            v_k += [k[i] - 2, k[i] - 1]
        t_k.append(t_ic[i])
        v_k.append(k[i])
        if final[i]:
            s = step_s[i - 1] if i and not first[i] else 0.5
            t_k += [t_ic[i] + s, t_ic[i] + 2 * s]
            v_k += [k[i] + 1, k[i] + 2]
    t_k.append(t_end + 10.0)
    v_k.append(v_k[-1] + 1.0)
    return PchipInterpolator(np.array(t_k), np.array(v_k), extrapolate=True)
