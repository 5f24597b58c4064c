"""The report's figures, drawn with matplotlib and returned as inline SVG text.

No pyplot: each figure is a bare `Figure`, so no global backend or state is touched. Dense per-step
dots are rasterised inside the SVG (thousands of vector circles would make the page heavy); axes,
lines and text stay vector. Text stays text (svg.fonttype none) in the browser's own sans-serif,
and every figure gets its own id salt so that several inline SVGs never share an element id.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from imurun.coach.cues import Cue
from imurun.report.narrative import BIN_S, binned_medians

LEFT, RIGHT = "#2f6db5", "#d9622b"  # left / right side, used consistently on the page
INK, MUTED, BAND = "#1f2933", "#8a96a3", "#d8eedd"
CUE_COLOURS = {
    "start": "#6b7785",
    "quicker_steps": "#7b4fc9",
    "level_hips": "#c2185b",
    "ease_arch": "#00838f",
    "lean_forward": "#5d8c1d",
    "praise": "#2e9d4f",
}
RASTER_ABOVE = 500  # points per series beyond which dots are rasterised


@dataclass(frozen=True)
class Series:
    label: str
    t: np.ndarray  # session time, s
    v: np.ndarray
    colour: str


def _svg(fig: Figure, salt: str) -> str:
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": salt}):
        fig.savefig(buf, format="svg", dpi=110, metadata={"Date": None})
    svg = buf.getvalue()
    return svg[svg.index("<svg") :]  # drop the XML prolog and DOCTYPE: the SVG sits inside HTML


def _figure(width: float, height: float, margins: dict, ncols: int = 1) -> tuple[Figure, list]:
    """Fixed margins (in figure fractions), not a layout engine: the same axes width in every time
    plot, and one draw per figure instead of three."""
    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(**margins)
    axes = list(np.atleast_1d(fig.subplots(1, ncols)))
    for ax in axes:
        ax.spines[["top", "right"]].set_visible(False)
        ax.spines[["left", "bottom"]].set_color(MUTED)
        ax.tick_params(colors=INK, labelsize=9)
        ax.grid(axis="y", color="#e6e9ed", linewidth=0.8)
        ax.set_axisbelow(True)
    return fig, axes


def _rc() -> dict:
    return {"font.family": "sans-serif", "font.size": 9, "axes.labelsize": 9}


def time_plot(
    name: str,
    ylabel: str,
    series: Sequence[Series],
    duration_s: float,
    cues: Sequence[Cue] = (),
    threshold: float | None = None,
    band: tuple[float, float] | None = None,
    band_label: str = "",
) -> str:
    """Per-step dots and their 30-second medians over time, with a threshold or target band and
    vertical markers where the given cues fired."""
    with matplotlib.rc_context(_rc()):
        fig, (ax,) = _figure(10, 2.8, {"left": 0.07, "right": 0.99, "bottom": 0.16, "top": 0.84})
        end = max(duration_s, 1.0)
        _targets(ax, threshold, band, band_label)
        for s in series:
            ok = np.isfinite(s.v)
            ax.scatter(s.t[ok] / 60, s.v[ok], s=4, color=s.colour, alpha=0.25, linewidths=0,
                       rasterized=int(ok.sum()) > RASTER_ABOVE)
            x, m = binned_medians(s.t, s.v, 0.0, end, BIN_S)  # the reading's bins
            ax.plot(x / 60, m, color=s.colour, linewidth=2, label=s.label)
        seen = set()
        for cue in cues:
            colour = CUE_COLOURS.get(cue.cue, MUTED)
            key = (cue.cue, cue.side)
            side = {"L": " (left)", "R": " (right)"}.get(cue.side, "")
            label = None if key in seen else f"cue: {cue.cue.replace('_', ' ')}{side}"
            seen.add(key)
            ax.axvline(cue.t / 60, color=colour, linewidth=1, alpha=0.8, linestyle=":")
            ax.plot([cue.t / 60], [1.0], marker="v", color=colour, markersize=7, clip_on=False,
                    transform=ax.get_xaxis_transform(), label=label, linestyle="none")
        ax.set_xlim(0, end / 60)
        ax.set_xlabel("time (min)")
        return _finish(fig, ax, name, ylabel, series, "no steps with this metric")


def _targets(ax, threshold: float | None, band: tuple[float, float] | None, band_label: str) -> None:
    """The runner's target band (shaded) and threshold (dashed line), where known."""
    if band is not None and np.all(np.isfinite(band)):
        ax.axhspan(*band, color=BAND, label=band_label, zorder=0)
    if threshold is not None and np.isfinite(threshold):
        ax.axhline(threshold, color=INK, linestyle="--", linewidth=1, label=f"threshold {threshold:g}")


def _finish(fig: Figure, ax, name: str, ylabel: str, series: Sequence, empty: str) -> str:
    """Label, say `empty` when no series has a value, put the legend above the plot; the SVG."""
    ax.set_ylabel(ylabel)
    if not any(np.isfinite(s.v).any() for s in series):
        ax.text(0.5, 0.5, empty, transform=ax.transAxes, ha="center", va="center", color=MUTED)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.04), ncol=5, frameon=False, fontsize=8)
    return _svg(fig, name)


def distribution_plot(name: str, panels: Sequence[tuple[str, Series, Series]]) -> str:
    """One histogram panel per metric, the two sides overlaid on the same bins."""
    with matplotlib.rc_context(_rc()):
        margins = {"left": 0.01, "right": 0.99, "bottom": 0.2, "top": 0.97, "wspace": 0.08}
        fig, axes = _figure(10, 2.3, margins, ncols=len(panels))
        for ax, (xlabel, a, b) in zip(axes, panels, strict=True):
            va, vb = a.v[np.isfinite(a.v)], b.v[np.isfinite(b.v)]
            both = np.concatenate([va, vb])
            if len(both) == 0:
                ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", color=MUTED)
            else:
                lo, hi = np.percentile(both, [1, 99])  # a few start-up outliers must not squash the rest
                bins = np.linspace(lo, hi if hi > lo else lo + 1, 31)
                for s, v in ((a, va), (b, vb)):
                    if len(v):
                        ax.hist(np.clip(v, bins[0], bins[-1]), bins=bins, color=s.colour, alpha=0.45,
                                histtype="stepfilled")
                        ax.axvline(np.median(v), color=s.colour, linewidth=1.5)
            ax.set_xlabel(xlabel)
            ax.set_yticks([])
            ax.grid(False)
        return _svg(fig, name)


def response_plot(name: str, panels: Sequence[tuple[str, Sequence[Cue], float]], duration_s: float) -> str:
    """One panel per metric: each cue an arrow at its time, from the metric before it (open dot,
    last 20 steps) to after it (filled dot, 10-30 s later); dashed: the coaching threshold."""
    with matplotlib.rc_context(_rc()):
        margins = {"left": 0.06, "right": 0.99, "bottom": 0.2, "top": 0.86, "wspace": 0.25}
        fig, axes = _figure(10, 2.6, margins, ncols=len(panels))
        end = max(duration_s, 1.0) / 60
        for ax, (ylabel, cues, threshold) in zip(axes, panels, strict=True):
            if np.isfinite(threshold):
                ax.axhline(threshold, color=INK, linestyle="--", linewidth=1)
            for cue in cues:
                colour, x = CUE_COLOURS.get(cue.cue, MUTED), cue.t / 60
                ax.plot([x], [cue.before], marker="o", markersize=6, markerfacecolor="none", color=colour)
                if np.isfinite(cue.after):
                    ax.annotate("", xy=(x, cue.after), xytext=(x, cue.before),
                                arrowprops={"arrowstyle": "->", "color": colour, "linewidth": 1.5})
                    ax.plot([x], [cue.after], marker="o", markersize=6, color=colour)
            ax.set_xlim(0, end)
            ax.set_xlabel("cue time (min)")
            ax.set_ylabel(ylabel)
            ax.set_title("○ before → ● 10–30 s after", fontsize=8, color=MUTED, loc="left")
        return _svg(fig, name)


@dataclass(frozen=True)
class TrendSeries:
    """One metric across sessions: a point per session and its fitted trend with a confidence band."""

    label: str
    x: np.ndarray  # session dates, matplotlib date numbers (days)
    v: np.ndarray
    colour: str
    fit_x: np.ndarray | None = None  # where the trend is drawn (date numbers); None: no trend
    fit: np.ndarray | None = None  # fitted mean
    lo: np.ndarray | None = None  # lower and upper edge of its confidence band
    hi: np.ndarray | None = None


def trend_plot(
    name: str,
    ylabel: str,
    series: Sequence[TrendSeries],
    threshold: float | None = None,
    band: tuple[float, float] | None = None,
    band_label: str = "",
) -> str:
    """A metric over sessions (dates on x): one dot per session, the linear trend and its confidence
    band, and the runner's threshold or target band."""
    import matplotlib.dates as mdates

    with matplotlib.rc_context(_rc()):
        fig, (ax,) = _figure(10, 2.8, {"left": 0.07, "right": 0.99, "bottom": 0.16, "top": 0.84})
        _targets(ax, threshold, band, band_label)
        for s in series:
            ok = np.isfinite(s.v)
            ax.plot(s.x[ok], s.v[ok], marker="o", markersize=5, linestyle="none", color=s.colour,
                    label=s.label)
            if s.fit_x is not None:
                ax.fill_between(s.fit_x, s.lo, s.hi, color=s.colour, alpha=0.15, linewidth=0)
                ax.plot(s.fit_x, s.fit, color=s.colour, linewidth=1.5, label=f"{s.label}: trend, 95 % CI")
        locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        all_x = np.concatenate([s.x for s in series]) if series else np.zeros(0)
        if all_x.size:
            pad = max(float(np.ptp(all_x)) * 0.04, 0.5)
            ax.set_xlim(float(all_x.min()) - pad, float(all_x.max()) + pad)
        return _finish(fig, ax, name, ylabel, series, "no session has this metric")
