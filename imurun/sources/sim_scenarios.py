"""Named simulator scenarios: a timeline of standing and gait segments plus the sensor's flaws.

Magnitudes and their sources are in docs/simulator.md. A gait segment may change its parameters
linearly over time (start -> end), which is how fatigue is modelled.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace


@dataclass(frozen=True)
class Gait:
    """How one gait segment moves the pelvis. Angles in degrees, relative to standing."""

    activity: str = "run"  # run | walk
    cadence_spm: float = 170.0
    step_cv: float = 0.025  # step-time coefficient of variation
    contact_s: float = 0.245  # running ground contact; walking uses 60 % of the stride
    speed_mps: float = 3.0
    drop_l_deg: float = 5.0  # pelvic drop (right side lower) during left stance
    drop_r_deg: float = 5.0  # pelvic drop (left side lower) during right stance
    braking_ms2: float = 4.0  # peak forward deceleration of the braking pulse
    impact_ms2: float = 10.0  # amplitude of the vertical impact transient after IC
    bounce_cm: float = 0.0  # walking only: half peak-to-peak of the inverted-pendulum height
    sway_cm: float = 1.5  # medio-lateral displacement amplitude
    tilt_deg: float = 4.0  # mean anterior tilt offset
    tilt_amp_deg: float = 2.0  # twice-per-stride tilt oscillation amplitude
    rot_amp_deg: float = 6.0  # yaw amplitude (range = 2x)
    roll_amp_deg: float = 0.0  # stride-frequency roll on top of the drop (walking: landing side low)
    trunk_lean_deg: float = 10.0  # forward trunk lean (trunk scenarios)
    trunk_amp_deg: float = 1.5  # twice-per-stride trunk pitch oscillation
    curve_deg: float = 20.0  # amplitude of the gentle heading curves


RUN = Gait()
WALK = Gait(
    activity="walk",
    cadence_spm=110.0,
    step_cv=0.02,
    speed_mps=1.3,
    drop_l_deg=3.0,  # with the roll term: truth drop ~2.4 deg (real recordings: small roll rates)
    drop_r_deg=3.0,
    braking_ms2=1.2,
    impact_ms2=2.5,
    bounce_cm=2.0,
    sway_cm=2.0,
    tilt_deg=1.0,
    tilt_amp_deg=1.5,
    rot_amp_deg=4.0,
    roll_amp_deg=2.5,
    trunk_lean_deg=3.0,
    trunk_amp_deg=1.0,
    curve_deg=10.0,
)


@dataclass(frozen=True)
class Segment:
    duration_s: float
    gait: Gait | None = None  # None = standing still
    gait_end: Gait | None = None  # parameters at the end of the segment (default: unchanged)

    def at(self, progress: float) -> Gait:
        """Gait parameters at `progress` in [0, 1] through the segment (linear in time)."""
        end = self.gait_end or self.gait
        changes = {}
        for f in fields(Gait):
            a, b = getattr(self.gait, f.name), getattr(end, f.name)
            if isinstance(a, float) and a != b:
                changes[f.name] = a + (b - a) * progress
        return replace(self.gait, **changes)


@dataclass(frozen=True)
class SensorSpec:
    """The device's flaws. Noise values are standard deviations per sample."""

    acc_noise_ms2: float = 0.02
    gyr_noise_rads: float = 0.002
    loss: float = 0.0005  # fraction of samples lost, in runs of whole packets
    wobble_deg: float = 0.0  # soft-tissue wobble of the mount excited at each IC
    slip_deg: float = 0.0  # sudden mount rotation (slip scenario)
    trunk: bool = False  # a second sensor on the trunk


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    default_duration_s: float
    # The first segment as is; then either the rest with its last segment stretched to fill the
    # duration (repeat=False), or the rest repeated until the duration is filled (repeat=True).
    pattern: tuple[Segment, ...]
    repeat: bool = False
    sensor: SensorSpec = field(default_factory=SensorSpec)
    lead_in_s: float = 0.0  # simulated before t = 0 and cut (the session starts mid-run)

    def segments(self, duration_s: float) -> list[Segment]:
        """The pattern fitted to `duration_s` (+ lead-in), segments of >= 2 s."""
        total = duration_s + self.lead_in_s
        head, body = self.pattern[0], list(self.pattern[1:])
        out = [head]
        left = total - head.duration_s
        if not body:
            return [replace(head, duration_s=total)]
        if not self.repeat:
            fixed = sum(s.duration_s for s in body[:-1])
            out += body[:-1] + [replace(body[-1], duration_s=max(left - fixed, 2.0))]
            return out
        while left > 0:
            for seg in body:
                d = min(seg.duration_s, left)
                if d < 2.0:
                    out[-1] = replace(out[-1], duration_s=out[-1].duration_s + d)
                else:
                    out.append(replace(seg, duration_s=d))
                left -= d
                if left <= 0:
                    break
        return out


STAND = Segment(8.0)
_FATIGUED = replace(RUN, cadence_spm=RUN.cadence_spm * 0.94, contact_s=0.265, drop_r_deg=9.0, tilt_deg=7.0)
_OVERSTRIDE = replace(RUN, cadence_spm=150.0, contact_s=0.30, braking_ms2=7.5, impact_ms2=16.0)

SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "easy-run", "steady easy run at ~170 spm, small symmetric drop", 240.0, (STAND, Segment(0, RUN))
        ),
        Scenario(
            "fatigue",
            "cadence falls 6 %, right-stance drop grows 5 -> 9 deg, tilt rises 4 -> 7 deg",
            420.0,
            (STAND, Segment(0, RUN, _FATIGUED)),
        ),
        Scenario(
            "overstride", "~150 spm, high braking, long contact", 240.0, (STAND, Segment(0, _OVERSTRIDE))
        ),
        Scenario(
            "intervals",
            "walk / run alternation with standing pauses",
            420.0,
            (STAND, Segment(40.0, WALK), Segment(60.0, RUN), Segment(30.0, WALK), Segment(10.0)),
            repeat=True,
        ),
        Scenario(
            "loose-mount",
            "easy run, loose clip: soft-tissue wobble, 3x noise, 1 % packet loss",
            240.0,
            (STAND, Segment(0, RUN)),
            sensor=SensorSpec(acc_noise_ms2=0.06, gyr_noise_rads=0.006, loss=0.01, wobble_deg=3.0),
        ),
        Scenario("walk", "steady walk at ~110 spm", 240.0, (STAND, Segment(0, WALK))),
        Scenario(
            "trunk",
            "easy run with a second sensor on the trunk (T12), 10 deg forward lean",
            240.0,
            (STAND, Segment(0, RUN)),
            sensor=SensorSpec(trunk=True),
        ),
        Scenario(
            "no-standing", "easy run from the first sample (no standing calibration)", 180.0,
            (Segment(10.0), Segment(0, RUN)), lead_in_s=20.0,
        ),
        Scenario(
            "slip",
            "easy run; the mount rotates ~20 deg suddenly mid-run (robustness, not accuracy)",
            180.0,
            (STAND, Segment(0, RUN)),
            sensor=SensorSpec(slip_deg=20.0),
        ),
        Scenario("standing", "standing still only", 60.0, (Segment(0),)),
    )
}
