"""The session summary: the numbers summary.json holds and the report renders.

Keys and their meaning are documented in docs/validation.md ("summary.json") and kept stable.
Every value is JSON-native: numbers that cannot be computed (no steps, one side missing) are None.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from imurun.core.output import METRIC_COLUMNS, SIDES_ALTERNATE_ONLY, Status

SUMMARY_VERSION = 1
SPLIT_S = 60.0
SIDES = ("L", "R")
# The per-minute split columns (medians over the split's steps).
SPLIT_COLUMNS = ("cadence_spm", "tilt_deg", "contact_time_s", "braking_mps")
# Pelvic drop or tilt (relative to standing) beyond this is no walking or running posture: a step
# taken while bending or reaching (the real Test11 walk has "pelvic drop" of 79-90 deg there). Such
# steps stay in steps.csv and in the step counts, but not in the metric means and splits.
POSTURE_LIMIT_DEG = 30.0


def in_gait_posture(steps: np.ndarray) -> np.ndarray:
    """True for steps whose pelvis angles a gait can have (unknown angles count as gait)."""
    with np.errstate(invalid="ignore"):
        bent = (np.abs(steps["pelvic_drop_deg"]) > POSTURE_LIMIT_DEG) | (
            np.abs(steps["tilt_deg"]) > POSTURE_LIMIT_DEG)
    return ~bent


def _num(x: float) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _finite(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return values[np.isfinite(values)]


def _stats(values: np.ndarray) -> dict[str, Any]:
    """Mean, sample standard deviation (ddof=1) and count of the finite values."""
    v = _finite(values)
    return {
        "mean": _num(v.mean()) if v.size else None,
        "sd": _num(v.std(ddof=1)) if v.size > 1 else None,
        "n": int(v.size),
    }


def _median(values: np.ndarray) -> float | None:
    v = _finite(values)
    return _num(np.median(v)) if v.size else None


def asymmetry_pct(left: float | None, right: float | None) -> float | None:
    """100 * (L - R) / mean(L, R); only for two positive means (a ratio needs a positive scale)."""
    if left is None or right is None or left <= 0 or right <= 0:
        return None
    return 100.0 * (left - right) / ((left + right) / 2.0)


def _metrics(steps: np.ndarray, by_side: bool) -> dict[str, Any]:
    """Per metric column: its stats per landing foot (empty unless `by_side`), all, asymmetry."""
    out = {}
    for col in METRIC_COLUMNS:
        per_side = {side: _stats(steps[col][(steps["side"] == side) & by_side]) for side in SIDES}
        out[col] = {
            **per_side,
            "all": _stats(steps[col]),
            "asymmetry_pct": asymmetry_pct(per_side["L"]["mean"], per_side["R"]["mean"]),
        }
    return out


def _splits(
    steps: np.ndarray, duration_s: float, start_s: float, minutes: np.ndarray | None
) -> list[dict[str, Any]]:
    """One row per minute since the first sample; the last split ends at the session end.

    `minutes` (SessionSpan.minutes) are those that hold samples; a stretch of minutes without any
    is one row, so the rows are bounded by the data, not by the time values (a clock jump of
    weeks adds one row, not ten thousand). None: every minute holds samples.
    """
    n = max(math.ceil(duration_s / SPLIT_S), 1)
    index = np.clip(((steps["t"] - start_s) // SPLIT_S).astype(int), 0, n - 1)
    with_data = range(n) if minutes is None else np.unique(np.clip(minutes, 0, n - 1)).tolist()
    spans: list[tuple[int, int]] = []  # [first minute, end minute) of each row
    for k in with_data:
        if spans and k > spans[-1][1]:
            spans.append((spans[-1][1], k))
        spans.append((k, k + 1))
    rows = []
    for k0, k1 in spans:
        s = steps[(index >= k0) & (index < k1)]
        row: dict[str, Any] = {
            "t0_s": k0 * SPLIT_S,
            "t1_s": min(k1 * SPLIT_S, max(duration_s, k0 * SPLIT_S)),
            "steps": len(s),
        }
        row.update({col: _median(s[col]) for col in SPLIT_COLUMNS})
        row["pelvic_drop_deg"] = {side: _median(s["pelvic_drop_deg"][s["side"] == side]) for side in SIDES}
        rows.append(row)
    return rows


class SessionSpan:
    """Sink: first and last sample time, and which minutes since the first hold samples.

    Memory grows with the minutes that hold data (at most one entry per block and minute), never
    with the time values themselves.
    """

    def __init__(self) -> None:
        self.start_s: float | None = None
        self.end_s: float | None = None
        self._minutes: set[int] = set()

    def consume(self, block, out) -> None:
        if not len(block):
            return
        if self.start_s is None:
            self.start_s = float(block.t[0])
        self.end_s = float(block.t[-1])
        self._minutes.update(np.unique((block.t - self.start_s) // SPLIT_S).astype(int).tolist())

    def close(self) -> None:
        pass

    @property
    def duration_s(self) -> float:
        return 0.0 if self.start_s is None else self.end_s - self.start_s

    @property
    def minutes(self) -> np.ndarray:
        return np.array(sorted(self._minutes) or [0], dtype=int)


def _quality(status: Status) -> dict[str, Any]:
    return {
        "calibration": status.calibration,
        "sample_rate_hz": _num(status.sample_rate_hz),
        "samples": status.samples,
        "gaps": status.gaps,
        "gap_time_s": _num(status.gap_time_s),
        "lost_samples": status.lost_samples,
        "packet_loss_pct": _num(100.0 * status.packet_loss),
        "nan_samples": status.nan_samples,
        "saturated_samples": status.saturated_samples,
        "rate_changes": status.rate_changes,
        "mount_changes": status.mount_changes,
        "trunk_sensor": status.trunk,
        "flags": {k: str(flag) for k, flag in status.flags.items()},
    }


def _header(header: Any) -> dict[str, Any] | None:
    """The header as its `# key: value` lines say it: known keys, then the unknown ones (text)."""
    if header is None:
        return None
    if dataclasses.is_dataclass(header):
        fields = dataclasses.asdict(header)
        fields["columns"] = list(fields["columns"])
        extra = fields.pop("extra")
        return {**fields, **extra}
    return dict(header)


def _activity_time(steps: np.ndarray, activity: str) -> float:
    return float(_finite(steps["step_time_s"][steps["activity"] == activity]).sum())


def summarize(
    steps: np.ndarray,
    status: Status,
    duration_s: float,
    header: Any = None,
    *,
    start_s: float = 0.0,
    minutes: np.ndarray | None = None,
    warnings: list[str] | None = None,
) -> dict[str, Any]:
    """The JSON-serialisable summary of one session's STEP_DTYPE steps and final engine status.

    `duration_s` is last - first sample time and `start_s` the first one (splits count minutes from
    it); `minutes` the minutes since it that hold samples (SessionSpan), None for all;
    `warnings` what the input checks found doubtful (imurun.session.plausibility).
    """
    quality = _quality(status)
    quality["input_warnings"] = list(warnings or [])
    gait = steps[in_gait_posture(steps)]
    return {
        "summary_version": SUMMARY_VERSION,
        "start_s": float(start_s),
        "duration_s": float(duration_s),
        "steps": len(steps),
        "steps_by_side": {side: int(np.sum(steps["side"] == side)) for side in SIDES},
        "time_walking_s": _activity_time(steps, "walk"),
        "time_running_s": _activity_time(steps, "run"),
        "steps_outside_gait_posture": len(steps) - len(gait),
        "cadence_mean_spm": _stats(gait["cadence_spm"])["mean"],
        "cadence_median_spm": _median(gait["cadence_spm"]),
        # sides that only alternate from a guess split the steps into foot A and foot B, not L / R
        "metrics": _metrics(gait, status.flags.get("side") != SIDES_ALTERNATE_ONLY),
        "splits": _splits(gait, duration_s, start_s, minutes),
        "quality": quality,
        "session": _header(header),
    }
