"""What the engine emits: one row per step (STEP_DTYPE) and a continuously updated Status.

Columns and their meaning are fixed by docs/architecture.md ("A step row"). Angles in degrees.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

# The foot that lands, and the hip on the swing side (its own inverse): landing on the left foot,
# the right hip is the one that can drop.
SWING_HIP = {"L": "R", "R": "L"}


@dataclass(frozen=True)
class Metric:
    """One per-step metric, declared once: the engine's output column (STEP_DTYPE, float64 in the
    unit its name ends with) and how people are shown it (report, narrative, dashboard)."""

    column: str
    label: str  # heading of a table row or a tile
    words: str  # in a sentence ("pelvic drop of the right hip rose ...")
    unit: str  # unit shown
    scale: float  # column unit -> unit shown
    digits: int  # decimals shown
    doc: str  # what it is
    swing_hip: bool = False  # the value belongs to the swing-side hip, not to the landing foot's

    def landing_side(self, hip: str) -> str:
        """The landing foot ("L"/"R") of the steps whose value belongs to `hip` ("L"/"R")."""
        return SWING_HIP[hip] if self.swing_hip else hip


# In STEP_DTYPE's order (the column order of steps.csv); docs/architecture.md, "A step row".
METRICS: tuple[Metric, ...] = (
    Metric("step_time_s", "Step time", "step time", "ms", 1000.0, 0, "this IC to the next one"),
    Metric("cadence_spm", "Cadence", "cadence", "spm", 1.0, 0, "60 / step_time_s"),
    Metric("contact_time_s", "Ground contact time", "ground contact time", "ms", 1000.0, 0,
           "IC to toe-off (running steps)"),
    Metric("flight_time_s", "Flight time", "flight time", "ms", 1000.0, 0, "toe-off to the next IC"),
    Metric("vertical_osc_cm", "Bounce (vertical oscillation)", "bounce", "cm", 1.0, 1,
           "peak-to-peak vertical pelvis displacement over the step"),
    Metric("braking_mps", "Braking (speed lost after landing)", "braking", "m/s", 1.0, 2,
           "forward speed lost after IC"),
    Metric("braking_peak_ms2", "Peak braking deceleration", "peak braking deceleration", "m/s²", 1.0, 1,
           "peak deceleration in that braking phase (positive)"),
    Metric("pelvic_drop_deg", "Pelvic drop (of the swing hip)", "pelvic drop", "°", 1.0, 1,
           "largest swing-side drop over the step, rel. standing", swing_hip=True),
    Metric("tilt_deg", "Anterior pelvic tilt, mean", "anterior pelvic tilt", "°", 1.0, 1,
           "mean anterior tilt over the step, rel. standing"),
    Metric("tilt_peak_deg", "Anterior pelvic tilt, peak", "peak anterior pelvic tilt", "°", 1.0, 1,
           "largest anterior tilt over the step, rel. standing"),
    Metric("rotation_range_deg", "Pelvic rotation range", "pelvic rotation range", "°", 1.0, 1,
           "pelvic yaw range over the stride ending at this step"),
    Metric("lumbar_ext_deg", "Lumbar extension", "lumbar extension", "°", 1.0, 1,
           "trunk-minus-pelvis sagittal angle, or tilt proxy (status)"),
    Metric("trunk_lean_deg", "Forward trunk lean", "forward trunk lean", "°", 1.0, 1,
           "forward trunk lean; NaN without a trunk sensor"),
)
METRIC: dict[str, Metric] = {m.column: m for m in METRICS}

STEP_DTYPE = np.dtype(
    [
        ("t", "f8"),  # initial contact (IC) time, s, session clock
        ("side", "U1"),  # foot that lands: "L" or "R"
        ("activity", "U4"),  # "walk" or "run"
        *((m.column, "f8") for m in METRICS),
    ]
)
STEP_COLUMNS: tuple[str, ...] = STEP_DTYPE.names
METRIC_COLUMNS: tuple[str, ...] = tuple(m.column for m in METRICS)


# Per-sample signals in the pelvis frame P (x forward, y left, z up), emitted only when the engine
# is built with emit_signals=True (the dashboard's traces). Gravity removed from acc_*.
SIGNAL_DTYPE = np.dtype(
    [
        ("t", "f8"),
        ("acc_ap", "f4"),  # forward (anterior) acceleration, m/s^2
        ("acc_ml", "f4"),  # left acceleration, m/s^2
        ("acc_v", "f4"),  # upward acceleration, m/s^2
        ("gyr_x", "f4"),  # rad/s about P.x (roll rate)
        ("gyr_y", "f4"),  # rad/s about P.y (pitch rate)
        ("gyr_z", "f4"),  # rad/s about P.z (yaw rate)
        ("tilt_deg", "f4"),  # anterior tilt rel. standing
        ("obliquity_deg", "f4"),  # roll rel. standing, left side up positive
        ("rotation_deg", "f4"),  # yaw rel. running heading
    ]
)


def empty_steps(n: int = 0) -> np.ndarray:
    return np.zeros(n, dtype=STEP_DTYPE)


class FlagKind(Enum):
    """What a status flag says about its metric (a STEP_DTYPE column) or topic."""

    PROXY = "proxy"  # the value stands in for the metric (lumbar extension from pelvic tilt)
    LOW_CONFIDENCE = "low confidence"  # a value, to be trusted less
    UNAVAILABLE = "unavailable"  # no value (NaN)
    NOTE = "note"  # a fact about the session or the stream


@dataclass(frozen=True)
class Flag:
    """One status flag: its kind, and why, for people."""

    kind: FlagKind
    text: str

    def __str__(self) -> str:
        """As summary.json and the dashboard write it: "kind: text"; a note is its text alone."""
        return self.text if self.kind is FlagKind.NOTE else f"{self.kind.value}: {self.text}"

    @classmethod
    def parse(cls, written: str) -> Flag:
        """The flag a str(flag) came from (summary.json's quality.flags)."""
        for kind in FlagKind:
            if kind is not FlagKind.NOTE and written.startswith(f"{kind.value}: "):
                return cls(kind, written[len(kind.value) + 2 :])
        return cls(FlagKind.NOTE, written)


# A sensor with neither gyroscope nor sideways axis (a two-axis sacral accelerometer): its steps'
# sides only alternate from a guess, so nothing may be split by side (summary.json leaves it out).
SIDES_ALTERNATE_ONLY = Flag(FlagKind.LOW_CONFIDENCE, "no gyroscope and no sideways acceleration: "
                            "sides only alternate (the first is a guess)")


@dataclass
class Status:
    """Engine state a person (or a sink) cares about, refreshed by every process() call."""

    t: float = 0.0  # session time of the last sample seen
    calibration: str = "none"  # none | standing (still >= 2 s) | gait (up averaged over gait)
    activity: str = "still"  # still | walk | run
    cadence_spm: float = 0.0  # smoothed; 0 when not in gait
    sample_rate_hz: float = 0.0  # rate seen (median of recent sample intervals)
    samples: int = 0
    steps: int = 0
    last_ic_t: float = float("nan")  # most recent IC detected (before its step row completes)
    last_ic_side: str = ""
    gaps: int = 0  # time jumps > 1.5 nominal periods
    gap_time_s: float = 0.0
    lost_samples: int = 0  # estimated from gap durations
    nan_samples: int = 0
    saturated_samples: int = 0
    rate_changes: int = 0
    mount_changes: int = 0  # sensor slipped: alignment re-estimated
    # the gait posture is off its reference (a slip not yet confirmed, or the baseline following a
    # confirmed one): pelvis angles may still carry the move
    posture_moving: bool = False
    trunk: bool = False  # a trunk sensor is feeding lumbar_ext_deg / trunk_lean_deg
    bout_end_steps: int = 0  # rows of a bout's last step: NaN step time and cadence (no next IC)
    # metric column (or topic: side, alignment, calibration, mount, forward) -> why it is a proxy,
    # of low confidence or unavailable, or a note (empty = all good)
    flags: dict[str, Flag] = field(default_factory=dict)

    @property
    def packet_loss(self) -> float:
        total = self.samples + self.lost_samples
        return self.lost_samples / total if total else 0.0


class EngineOutput:
    """The steps one `process` call completed, its signals, and the status at the end of the call.

    `status` may be given as a zero-argument function: it is then built on first read, once.
    The engine hands over a snapshot of its scalar state that way, because building a Status in
    Python costs more (~3 us) than processing a sample, and batch callers rarely read it.
    """

    __slots__ = ("steps", "signals", "_status")

    def __init__(
        self,
        steps: np.ndarray,  # STEP_DTYPE rows completed by this block
        status: Status | Callable[[], Status],
        signals: np.ndarray | None = None,  # SIGNAL_DTYPE rows of this block (emit_signals=True)
    ):
        self.steps = steps
        self.signals = signals
        self._status = status

    @property
    def status(self) -> Status:
        if not isinstance(self._status, Status):
            self._status = self._status()
        return self._status
