"""The plain-language reading of a run, derived from the step metrics by explicit rules.

Nothing here is free text about the runner: every sentence is a template filled with numbers
computed below, and it is only said when its rule fires.

Trend rule (per metric, per side where the side matters): compare the median of the first quarter
of the gait time with the median of the last quarter. A change is reported when it is both
- larger than the metric's smallest meaningful change (MIN_CHANGE: absolute, or percent), and
- larger than Z_MIN standard errors of the difference of two medians (SE of a median ~
  1.2533 sigma / sqrt(n) for normal data; sigma estimated robustly as 1.4826 x MAD),
so step-to-step scatter alone never reads as a trend. Its shape comes from two least-squares fits
to 30-second medians over every candidate onset: a ramp (value = a + b * max(0, t - onset)) and a
jump (value = a + b * [t >= onset]). The better fit wins: a jump reads "suddenly at about m:ss",
a ramp starting in the first ONSET_GRADUAL of the time "gradually over the run", a later one
"from about m:ss on".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imurun.core.output import METRIC, Metric


@dataclass(frozen=True)
class Series:
    """A metric whose trend is judged, of one hip ("L"/"R") or of all steps (""), with the smallest
    change worth a sentence (absolute in the metric's shown unit, or in % when `relative`)."""

    column: str  # STEP_DTYPE column (output.METRICS names, units and scales it)
    min_change: float
    relative: bool
    hip: str = ""

    @property
    def metric(self) -> Metric:
        return METRIC[self.column]

    @property
    def label(self) -> str:
        hip = {"L": " of the left hip", "R": " of the right hip"}.get(self.hip, "")
        return self.metric.words + hip


# Smallest changes are design choices: cadence 3 % = the coach's default tolerance
# (docs/coaching.md); drop 1.5 deg is about the spread of one runner's step-to-step drop.
SERIES: dict[str, Series] = {
    "cadence": Series("cadence_spm", 3.0, True),
    "drop_right_hip": Series("pelvic_drop_deg", 1.5, False, "R"),
    "drop_left_hip": Series("pelvic_drop_deg", 1.5, False, "L"),
    "tilt": Series("tilt_deg", 2.0, False),
    "lumbar_ext": Series("lumbar_ext_deg", 2.0, False),
    "contact_time": Series("contact_time_s", 5.0, True),
    "vertical_osc": Series("vertical_osc_cm", 10.0, True),
    "braking": Series("braking_mps", 15.0, True),
}
Z_MIN = 3.0
ONSET_GRADUAL = 0.2  # onset within this fraction of the span from its start = gradual
BIN_S = 30.0
MIN_SPAN_S = 120.0  # shorter gait than this: no trend is judged
MIN_QUARTER_STEPS = 20
MIN_GAIT_STEPS = 40  # running steps needed to read the run as running (else walking)
ASYMMETRY_PCT = 15.0  # drop asymmetry worth a sentence
ASYMMETRY_MIN_DEG = 1.0
EXCEED_SHARE = 0.25  # share of steps beyond a coaching threshold worth a sentence


def binned_medians(
    t: np.ndarray, v: np.ndarray, t0: float, t1: float, width: float
) -> tuple[np.ndarray, np.ndarray]:
    """(bin centres, median of the finite `v` in each bin; NaN for an empty bin) over [t0, t1]."""
    n = max(int(np.ceil((t1 - t0) / width)), 1)
    idx = np.clip(((t - t0) // width).astype(int), 0, n - 1)
    centres = t0 + (np.arange(n) + 0.5) * width
    medians = np.full(n, np.nan)
    ok = np.isfinite(v)
    for i in np.unique(idx[ok]):
        medians[i] = np.median(v[ok & (idx == i)])
    return centres, medians


@dataclass(frozen=True)
class Trend:
    key: str  # SERIES key
    early: float  # median of the first quarter, in the series' unit
    late: float
    shape: str  # "ramp" (a steady change) or "jump" (a sudden one)
    onset_s: float  # session time the change began; NaN = a ramp over the whole run
    span: tuple[float, float]  # gait time judged, s

    @property
    def change(self) -> float:
        return self.late - self.early

    @property
    def direction(self) -> str:
        return "rose" if self.change > 0 else "fell"

    @property
    def percent(self) -> float:
        return 100.0 * self.change / abs(self.early) if self.early else float("nan")


def gait_steps(steps: np.ndarray) -> tuple[str, np.ndarray]:
    """('run' | 'walk' | '', the steps of that activity): the activity that dominates the session."""
    run = steps[steps["activity"] == "run"]
    if len(run) >= MIN_GAIT_STEPS:
        return "run", run
    walk = steps[steps["activity"] == "walk"]
    if len(walk) >= MIN_GAIT_STEPS:
        return "walk", walk
    return "", steps[:0]


def _values(steps: np.ndarray, key: str) -> tuple[np.ndarray, np.ndarray]:
    series = SERIES[key]
    s = steps[steps["side"] == series.metric.landing_side(series.hip)] if series.hip else steps
    v = s[series.column] * series.metric.scale
    ok = np.isfinite(v)
    return s["t"][ok], v[ok]


def _robust_se(v: np.ndarray) -> float:
    mad = np.median(np.abs(v - np.median(v)))
    return 1.2533 * 1.4826 * mad / np.sqrt(len(v))


def _shape(t: np.ndarray, v: np.ndarray, t0: float, t1: float) -> tuple[str, float]:
    """('ramp' | 'jump', onset time s; NaN for a ramp from the start): the better of the two fits."""
    x, y = binned_medians(t, v, t0, t1, BIN_S)
    x, y = x[np.isfinite(y)], y[np.isfinite(y)]
    if len(x) < 4:
        return "ramp", float("nan")
    best = ("ramp", float("nan"), np.inf)
    for onset in x[1:-1]:
        for shape, regressor in (("ramp", np.maximum(0.0, x - onset)), ("jump", (x >= onset) * 1.0)):
            a = np.column_stack([np.ones_like(x), regressor])
            coef, *_ = np.linalg.lstsq(a, y, rcond=None)
            sse = float(np.sum((a @ coef - y) ** 2))
            if sse < best[2]:
                best = (shape, float(onset), sse)
    shape, onset, _ = best
    if shape == "jump":  # it happened between the previous bin and this one: say the bin's start
        return "jump", onset - BIN_S / 2
    if onset - t0 < ONSET_GRADUAL * (t1 - t0):
        return "ramp", float("nan")
    return "ramp", onset


def find_trends(gait: np.ndarray, keys: tuple[str, ...]) -> list[Trend]:
    """Trends of the SERIES `keys` over the steps of one activity (see the module docstring)."""
    if len(gait) == 0:
        return []
    t0, t1 = float(gait["t"][0]), float(gait["t"][-1])
    if t1 - t0 < MIN_SPAN_S:
        return []
    q = (t1 - t0) / 4
    trends = []
    for key in keys:
        min_change, relative = SERIES[key].min_change, SERIES[key].relative
        t, v = _values(gait, key)
        early, late = v[t <= t0 + q], v[t >= t1 - q]
        if min(len(early), len(late)) < MIN_QUARTER_STEPS:
            continue
        e, lt = float(np.median(early)), float(np.median(late))
        change = lt - e
        big = abs(change) >= (min_change / 100 * abs(e) if relative else min_change)
        se = np.hypot(_robust_se(early), _robust_se(late))
        if big and abs(change) > Z_MIN * se:
            trends.append(Trend(key, e, lt, *_shape(t, v, t0, t1), (t0, t1)))
    return trends


def _fmt(value: float, metric: Metric) -> str:
    sep = "" if metric.unit == "°" else " "
    return f"{value:.{metric.digits}f}{sep}{metric.unit}"


def describe_trend(trend: Trend) -> str:
    series = SERIES[trend.key]
    label, metric = series.label, series.metric
    if np.isnan(trend.onset_s):
        when = "gradually over the run"
    else:
        clock = f"{int(trend.onset_s // 60)}:{int(trend.onset_s % 60):02d}"
        when = f"suddenly at about {clock}" if trend.shape == "jump" else f"from about {clock} on"
    size = f" ({abs(trend.percent):.0f} %)" if series.relative else ""
    return (
        f"{label[0].upper()}{label[1:]} {trend.direction} from {_fmt(trend.early, metric)} to "
        f"{_fmt(trend.late, metric)}{size} {when} (median of the first vs the last quarter)."
    )


def describe_asymmetry(left_hip: dict, right_hip: dict, asymmetry_pct: float | None) -> str | None:
    """A sentence when one hip clearly drops more than the other. `left_hip` / `right_hip` are the
    summary's {mean, sd, n} of the steps on which that hip swings; the difference of the means must
    pass the size limits and exceed Z_MIN standard errors (step scatter alone is no asymmetry)."""
    ml, mr = left_hip["mean"], right_hip["mean"]
    if ml is None or mr is None or asymmetry_pct is None or left_hip["sd"] is None or right_hip["sd"] is None:
        return None
    se = np.hypot(left_hip["sd"] / np.sqrt(left_hip["n"]), right_hip["sd"] / np.sqrt(right_hip["n"]))
    diff = abs(ml - mr)
    if abs(asymmetry_pct) < ASYMMETRY_PCT or diff < ASYMMETRY_MIN_DEG or diff <= Z_MIN * se:
        return None
    more, less = ("right", "left") if mr > ml else ("left", "right")
    return (
        f"Your {more} hip dropped more than your {less}: {max(ml, mr):.1f}° vs {min(ml, mr):.1f}° on "
        f"average ({abs(asymmetry_pct):.0f} % asymmetry)."
    )


def describe_exceedance(gait: np.ndarray, key: str, threshold: float, which: str) -> str | None:
    """A sentence when at least EXCEED_SHARE of the steps are beyond a coaching threshold."""
    label, metric = SERIES[key].label, SERIES[key].metric
    _, v = _values(gait, key)
    if len(v) < MIN_QUARTER_STEPS or not np.isfinite(threshold):
        return None
    share = float(np.mean(v > threshold))
    if share < EXCEED_SHARE:
        return None
    return f"{label[0].upper()}{label[1:]} was above {_fmt(threshold, metric)} on {share:.0%} of {which}."


def describe_cues(cue_ids: list[str], sides: list[str]) -> str:
    if not cue_ids:
        return "The coach gave no cue."
    counts: dict[str, int] = {}
    for cue, side in zip(cue_ids, sides, strict=True):
        name = cue.replace("_", " ") + (f" ({'left' if side == 'L' else 'right'})" if side else "")
        counts[name] = counts.get(name, 0) + 1
    parts = ", ".join(f"{n} × {name}" for name, n in counts.items())
    return f"The coach gave {len(cue_ids)} cue{'s' if len(cue_ids) != 1 else ''}: {parts}."
