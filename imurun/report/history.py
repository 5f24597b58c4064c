"""`imurun history DIR --out history.html`: the runner's metrics over time across the sessions of a batch.

DIR is an output folder of `imurun batch`; the page is built from its cohort rows (imurun/cohort.py)
in the run report's style and the same way: inline SVG from matplotlib, no script, no external
resource, every number in a `data-key` / `data-value` element (docs/batch.md, "History").

Trends are ordinary least-squares lines of each metric against the session date, with the 95 %
confidence interval of the slope (t distribution, n - 2 degrees of freedom) and the 95 % confidence
band of the fitted mean, s * t * sqrt(1/n + (x - mean x)^2 / Sxx) (Draper & Smith, Applied Regression
Analysis, 3rd ed., 1998, ch. 1). A trend needs at least 3 sessions on at least 2 different days.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

CONFIDENCE = 0.95
MIN_SESSIONS = 3


@dataclass(frozen=True)
class Trend:
    """A least-squares line of a metric against days since the first session."""

    n: int
    slope: float  # per day
    intercept: float
    slope_lo: float  # 95 % confidence interval of the slope, per day
    slope_hi: float
    p: float  # two-sided p-value of "no trend" (slope 0)
    x_mean: float
    sxx: float  # sum of squared deviations of x
    s: float  # residual standard error
    t: float  # the t quantile used

    def band(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(fitted mean, lower, upper) of the 95 % confidence band at days `x`."""
        import numpy as np

        fit = self.intercept + self.slope * x
        half = self.t * self.s * np.sqrt(1.0 / self.n + (x - self.x_mean) ** 2 / self.sxx)
        return fit, fit - half, fit + half


def fit_trend(days: np.ndarray, values: np.ndarray) -> Trend | None:
    """The trend of the finite values; None below MIN_SESSIONS of them or with all on one day."""
    import numpy as np
    from scipy import stats

    ok = np.isfinite(values)
    x, y = np.asarray(days, float)[ok], np.asarray(values, float)[ok]
    if len(x) < MIN_SESSIONS or np.ptp(x) == 0:
        return None
    fit = stats.linregress(x, y)
    n = len(x)
    t = float(stats.t.ppf(0.5 + CONFIDENCE / 2, n - 2))
    residuals = y - (fit.intercept + fit.slope * x)
    s = math.sqrt(float(residuals @ residuals) / (n - 2))
    half = t * fit.stderr
    return Trend(n, fit.slope, fit.intercept, fit.slope - half, fit.slope + half, float(fit.pvalue),
                 float(x.mean()), float(((x - x.mean()) ** 2).sum()), s, t)


@dataclass(frozen=True)
class Chart:
    """One plot of the page: cohort columns drawn together, their unit, and what the profile sets."""

    ident: str
    title: str
    columns: tuple[tuple[str, str, str], ...]  # (column, legend label, colour)
    unit: str
    digits: int
    target: str = ""  # "cadence", "drop", "tilt" or "" (the profile has no target for it)


def charts() -> tuple[Chart, ...]:
    from imurun.report.plots import INK, LEFT, RIGHT

    return (
        Chart("cadence", "Cadence", (("cadence_spm", "cadence", INK),), "spm", 1, "cadence"),
        Chart("drop", "Pelvic drop", (("drop_left_hip_deg", "left hip", LEFT),
                                      ("drop_right_hip_deg", "right hip", RIGHT)), "°", 2, "drop"),
        Chart("tilt", "Anterior pelvic tilt", (("tilt_deg", "tilt", INK),), "°", 2, "tilt"),
        Chart("contact", "Ground contact time", (("contact_time_ms", "contact time", INK),), "ms", 1),
        Chart("cues", "Form cues per session", (("cues", "cues", "#c2185b"),), "cues", 2),
        Chart("response", "Cue response",
              (("cue_response_pct", "cues followed by improvement", "#2e9d4f"),), "%", 1),
    )


def _target(chart: Chart, profile: Any) -> tuple[float | None, tuple[float, float] | None, str]:
    """(threshold, band, text) that the runner's profile sets for a chart."""
    th = profile.thresholds
    if chart.target == "drop":
        return th.pelvic_drop_deg, None, f"cue threshold {th.pelvic_drop_deg:g}°"
    if chart.target == "tilt":
        return th.tilt_deg, None, f"cue threshold {th.tilt_deg:g}°"
    if chart.target == "cadence":
        c = profile.cadence
        if c.target_spm > 0:
            tol = c.tolerance_pct / 100
            band = (c.target_spm * (1 - tol), c.target_spm * (1 + tol))
            return None, band, f"target {c.target_spm:g} spm ± {c.tolerance_pct:g} %"
        return None, None, (f"relative target: each run's own baseline +{c.increase_pct:g} % (no fixed line)")
    return None, None, ""


def _days(dates: list[dt.datetime]) -> np.ndarray:
    import numpy as np

    first = min(dates)
    return np.array([(d - first).total_seconds() / 86400 for d in dates])


def _values(rows: list[dict[str, Any]], column: str) -> np.ndarray:
    import numpy as np

    return np.array([np.nan if r[column] is None else float(r[column]) for r in rows])


def trend_table(rows: list[dict[str, Any]], profile: Any) -> tuple[str, dict[str, Trend | None]]:
    import numpy as np

    from imurun.report.html import keyed, number, table

    days = _days([r["date"] for r in rows])
    trends, body = {}, []
    for chart in charts():
        _, _, target = _target(chart, profile)
        for column, label, _ in chart.columns:
            trend = trends[column] = fit_trend(days, _values(rows, column))
            name = chart.title if len(chart.columns) == 1 else f"{chart.title}, {label}"
            if trend is None:
                cells = ["—"] * 3
            else:
                key = f"trend.{column}"
                cells = [
                    keyed(f"{key}.slope_per_week", 7 * trend.slope, chart.digits, f"{chart.unit}/week",
                          sign=True),
                    f"{keyed(f'{key}.ci_low_per_week', 7 * trend.slope_lo, chart.digits, sign=True)} … "
                    f"{keyed(f'{key}.ci_high_per_week', 7 * trend.slope_hi, chart.digits, sign=True)}",
                    keyed(f"{key}.p", trend.p, 3),
                ]
            n = int(np.isfinite(_values(rows, column)).sum())
            body.append([escape(name), number(n, 0), *cells, escape(target) or "—"])
    headers = ["Metric", "Sessions", "Trend", "95 % CI of the trend", "p (no trend)", "Runner's target"]
    return table(headers, body), trends


def _chart(chart: Chart, rows: list[dict[str, Any]], trends: dict[str, Trend | None], profile: Any) -> str:
    import matplotlib.dates as mdates
    import numpy as np

    from imurun.report import plots
    from imurun.report.html import figure

    dates = [r["date"] for r in rows]
    x = mdates.date2num(dates)
    days = _days(dates)
    line_days = np.linspace(days.min(), days.max(), 60)
    line_x = x.min() + line_days
    series = []
    for column, label, colour in chart.columns:
        trend = trends[column]
        fit = trend.band(line_days) if trend is not None else (None, None, None)
        series.append(plots.TrendSeries(label, x, _values(rows, column), colour,
                                        line_x if trend is not None else None, *fit))
    threshold, band, target = _target(chart, profile)
    svg = plots.trend_plot(f"history-{chart.ident}", f"{chart.title} ({chart.unit})", series, threshold,
                           band, "target band")
    target = f"runner's profile: {target}" if target else "no target in the runner's profile"
    return figure(svg, f"{escape(chart.title)}: one dot per session; line and shade: linear trend and its "
                       f"95 % confidence band; {escape(target)}.")


def sessions_table(rows: list[dict[str, Any]]) -> str:
    from imurun.report.html import keyed, table

    columns = (("duration_min", "Duration", "min", 1), ("running_min", "Running", "min", 1),
               ("cadence_spm", "Cadence", "spm", 0), ("contact_time_ms", "Contact", "ms", 0),
               ("drop_left_hip_deg", "Drop, left hip", "°", 1),
               ("drop_right_hip_deg", "Drop, right hip", "°", 1),
               ("tilt_deg", "Tilt", "°", 1), ("cues", "Cues", "", 0),
               ("cue_response_pct", "Improved", "%", 0),
               ("packet_loss_pct", "Loss", "%", 2))
    body = [[escape(f"{r['date']:%Y-%m-%d %H:%M}"), escape(r["session"]),
             *(keyed(f"sessions.{i}.{c}", r[c], digits, unit) for c, _, unit, digits in columns)]
            for i, r in enumerate(rows)]
    return f'<div class="scroll">{table(["Date", "Session", *(h for _, h, _, _ in columns)], body)}</div>'


def write_history(folder: Path | str, out_html: Path | str | None = None, profile: Any = None) -> Path:
    """Write the history page of a batch output folder and return its path."""
    from imurun import __version__
    from imurun.batch import MANIFEST, read_manifest
    from imurun.coach.profile import load_profile
    from imurun.cohort import cohort_rows
    from imurun.errors import InputError
    from imurun.report.html import page, section, write_page

    folder = Path(folder)
    out_html = folder / "history.html" if out_html is None else Path(out_html)
    if not (folder / MANIFEST).is_file():
        raise InputError(folder, "not an output folder of `imurun batch` (no manifest.json)")
    rows = cohort_rows(folder, read_manifest(folder))
    if not rows:
        raise InputError(folder / MANIFEST, "no analysed session: nothing to show")
    profile = load_profile() if profile is None else profile
    trends_html, trends = trend_table(rows, profile)
    first, last = rows[0]["date"], rows[-1]["date"]
    sections = [
        section("trends", "Trends", trends_html,
                f"Least-squares line against the session date, per week; at least {MIN_SESSIONS} sessions "
                "on 2 days. A confidence interval that spans 0 means no clear change."),
        section("charts", "Over time", "".join(_chart(c, rows, trends, profile) for c in charts())),
        section("sessions", "Sessions", sessions_table(rows),
                "Means over each session's steps (summary.json); drop is named by the hip that drops."),
    ]
    text = page(f"History — {len(rows)} session{'s' if len(rows) != 1 else ''}",
                escape(f"{first:%Y-%m-%d} to {last:%Y-%m-%d} · {folder}"), sections,
                f"imurun {escape(__version__)} · numbers from the cohort table (docs/batch.md)")
    return write_page(out_html, text, "history page")
