"""The report's sections, each a function from the session's numbers to an HTML fragment.

Numbers shown from summary.json go through `html.keyed` (data-key / data-value). L and R in the
summary are the landing foot; for pelvic drop the hip that drops is the other one, and the page
names the hip (docs/validation.md, "summary.json").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import numpy as np

from imurun.coach.cues import Cue
from imurun.coach.profile import RunnerProfile
from imurun.coach.response import AFTER_S, BEFORE_STEPS, improvement
from imurun.coach.rules import Rule, rule_for
from imurun.core.output import METRIC, SWING_HIP, Flag, FlagKind, Metric
from imurun.report import narrative as nr
from imurun.report import plots
from imurun.report.html import figure, keyed, number, section, table

# The per-side table's rows, in this order (labels, units and digits: output.METRICS).
METRIC_ROWS: tuple[Metric, ...] = tuple(METRIC[c] for c in (
    "cadence_spm", "step_time_s", "contact_time_s", "flight_time_s", "vertical_osc_cm", "braking_mps",
    "braking_peak_ms2", "pelvic_drop_deg", "tilt_deg", "tilt_peak_deg", "lumbar_ext_deg",
    "rotation_range_deg", "trunk_lean_deg"))


@dataclass(frozen=True)
class Session:
    """Everything a report is made from."""

    steps: np.ndarray  # STEP_DTYPE
    summary: dict[str, Any]  # summary.json
    notes: list[tuple[float, str]]  # events the recorder wrote into the session (t, text), e.g. outages
    cues: list[Cue]
    cue_log: Path | None  # the cues.csv read; None = none found (cues unknown, not "no cues")
    profile: RunnerProfile
    cadence_band: tuple[float, float]  # target band, spm (NaN when no target is known)
    # No standing calibration: the early-run tilt the coach judged the change from (engine's
    # scale, deg); NaN with a standing calibration (tilt judged against its absolute threshold).
    tilt_posture: float = float("nan")

    @property
    def flags(self) -> dict[str, Flag]:
        written = (self.summary.get("quality") or {}).get("flags") or {}
        return {k: Flag.parse(v) for k, v in written.items()}

    def is_proxy(self, column: str) -> bool:
        flag = self.flags.get(column)
        return flag is not None and flag.kind is FlagKind.PROXY

    def has_values(self, column: str) -> bool:
        return bool(self.summary["metrics"][column]["all"]["n"])

    @property
    def standing(self) -> bool:
        """Angles relative to standing (else the coach judged tilt on its change; tilt_posture)."""
        return math.isnan(self.tilt_posture)


def _flag_badge(session: Session, column: str) -> str:
    flag = session.flags.get(column)
    if flag is None:
        return ""
    word = "proxy" if flag.kind is FlagKind.PROXY else "note"
    return f' <span class="proxy" title="{escape(str(flag))}">{word}</span>'


def headline(session: Session) -> str:
    s = session.summary
    tiles = [
        ("Duration", keyed("duration_s", s["duration_s"], 1, "min", 1 / 60)),
        ("Steps", keyed("steps", s["steps"], 0)),
        ("Mean cadence", keyed("cadence_mean_spm", s["cadence_mean_spm"], 0, "spm")),
        ("Running", keyed("time_running_s", s["time_running_s"], 1, "min", 1 / 60)),
        ("Walking", keyed("time_walking_s", s["time_walking_s"], 1, "min", 1 / 60)),
        ("Cues", str(len(session.cues)) if session.cue_log is not None else "—"),
    ]
    body = "".join(
        f'<div class="tile"><div class="label">{label}</div><div class="value">{v}</div></div>'
        for label, v in tiles
    )
    return f'<div class="tiles">{body}</div>'


def reading(session: Session) -> str:
    """The plain-language reading: rule-based sentences (narrative.py), one list item each."""
    items = "".join(f"<li>{escape(sentence)}</li>" for sentence in sentences(session))
    return section(
        "reading", "Reading of the run", f'<ul class="reading">{items}</ul>',
        "Generated from the numbers below by fixed rules (docs/report.md); nothing else is said.",
    )


def _span(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 60 else f"{seconds / 60:.1f} min"


def sentences(session: Session) -> list[str]:
    s, th = session.summary, session.profile.thresholds
    if s["steps"] == 0:
        return [f"No steps were detected in these {s['duration_s'] / 60:.1f} minutes: "
                "nothing to say about running form."]
    activity, gait = nr.gait_steps(session.steps)
    parts = [f"{_span(s[f'time_{a}_s'])} {a}" for a in ("running", "walking") if s[f"time_{a}_s"] >= 0.5]
    cadence = s["cadence_mean_spm"]
    parts += [f"mean cadence {cadence:.0f} spm"] if cadence is not None else []
    out = [f"{s['duration_s'] / 60:.1f} minutes, {s['steps']} steps: {', '.join(parts)}."]
    if not activity:
        out.append(f"Too few steps of one kind (under {nr.MIN_GAIT_STEPS}) to judge form or trends.")
        return out
    keys = [k for k in nr.SERIES if k != "lumbar_ext" or not session.is_proxy("lumbar_ext_deg")]
    trends = nr.find_trends(gait, tuple(keys))
    out += [nr.describe_trend(t) for t in trends]
    word = "running" if activity == "run" else "walking"
    if not trends and gait["t"][-1] - gait["t"][0] >= nr.MIN_SPAN_S:
        out.append(f"No metric changed beyond its threshold between the first and the last quarter of "
                   f"the {word}.")
    drop = s["metrics"]["pelvic_drop_deg"]
    # Landing on the right foot, the left hip drops (and the other way round).
    asym = nr.describe_asymmetry(drop["R"], drop["L"], drop["asymmetry_pct"])
    if asym:
        out.append(asym)
    # The coaching thresholds are for running; walking is not judged against them.
    # Without a standing calibration tilt has no baseline for its threshold (the coach judged its
    # change from the early-run posture instead): no absolute tilt sentence.
    limits = (("drop_right_hip", th.pelvic_drop_deg), ("drop_left_hip", th.pelvic_drop_deg),
              ("tilt", th.tilt_deg if session.standing else math.nan), ("braking", th.braking_mps))
    for key, threshold in limits if activity == "run" else ():
        line = nr.describe_exceedance(gait, key, threshold, "running steps")
        if line:
            out.append(line)
    if not session.standing:
        out.append(f"No standing calibration: anterior tilt is relative to the running posture, so the "
                   f"coach judged its change from the early-run posture (more than "
                   f"{th.tilt_change_deg:g}° up), not the {th.tilt_deg:g}° threshold.")
    if session.cue_log is not None:
        out.append(nr.describe_cues([c.cue for c in session.cues], [c.side for c in session.cues]))
    out += _caveats(session.flags)
    q = s.get("quality") or {}
    if q.get("gaps"):
        lost = f"{q['packet_loss_pct'] or 0:.2f} % of samples lost"
        out.append(f"The data has {q['gaps']} gap{'s' if q['gaps'] != 1 else ''} "
                   f"({q['gap_time_s'] or 0:.1f} s in total; {lost}).")
    return out


def _caveats(flags: dict[str, Flag]) -> list[str]:
    """The engine's low-confidence flags and sensor notes, grouped by reason, as sentences."""
    low: dict[str, list[str]] = {}
    for column, flag in flags.items():
        if flag.kind is FlagKind.LOW_CONFIDENCE:
            name = METRIC[column].words if column in METRIC else column.replace("_", " ")  # e.g. side
            low.setdefault(flag.text, []).append(name)
    out = [f"{' and '.join(sorted(names)).capitalize()} {'are' if len(names) > 1 else 'is'} of low "
           f"confidence: {reason}." for reason, names in low.items()]
    out += [f"Sensor note: {flags[k]}." for k in ("mount", "forward", "alignment") if k in flags]
    return out


def side_table(session: Session) -> str:
    m = session.summary["metrics"]
    rows = []
    for metric in METRIC_ROWS:
        col, digits, scale = metric.column, metric.digits, metric.scale
        if not m[col]["all"]["n"]:
            continue  # e.g. trunk lean without a trunk sensor: said in the data-quality section
        cells = [f"{escape(metric.label)}{_flag_badge(session, col)}"]
        for side in ("L", "R", "all"):
            st = m[col][side]
            mean = keyed(f"metrics.{col}.{side}.mean", st["mean"], digits, metric.unit, scale)
            if st["mean"] is not None:  # (no steps of a side: no spread to give either)
                sd = keyed(f"metrics.{col}.{side}.sd", st["sd"], digits, "", scale)
                mean += f' <span class="sd">± {sd}</span>'
            cells.append(mean)
        cells.append(keyed(f"metrics.{col}.asymmetry_pct", m[col]["asymmetry_pct"], 1, "%", sign=True))
        rows.append(cells)
    headers = ['<span class="left">Left foot lands</span>', '<span class="right">Right foot lands</span>',
               "All steps", "L−R asymmetry"]
    note = ("Mean ± standard deviation per landing foot. Pelvic drop is the drop of the other (swing) "
            "hip: the left-foot column is the right hip. Asymmetry = 100 × (L − R) / mean(L, R); "
            "positive means larger on left-foot steps.")
    return section("summary", "Summary", headline(session) + "<h3>Per side</h3>"
                   + table(["Metric", *headers], rows, "sides"), note)


def _series(steps: np.ndarray, column: str) -> list[plots.Series]:
    """Left and right series of a metric in its shown unit; a swing-hip metric (pelvic drop) names
    the hip too. Colours go by hip: right-foot steps are the left hip's."""
    metric = METRIC[column]
    out = []
    for side, colour, name in (("R", plots.LEFT, "right foot lands"), ("L", plots.RIGHT, "left foot lands")):
        s = steps[steps["side"] == side]
        hip = {"L": "left hip", "R": "right hip"}[SWING_HIP[side]]
        label = f"{hip} ({name})" if metric.swing_hip else name
        out.append(plots.Series(label, s["t"], s[column] * metric.scale, colour))
    return out


def _axis(column: str) -> str:
    metric = METRIC[column]
    return f"{metric.words} ({metric.unit})"


def _cues(session: Session, *cue_ids: str) -> list[Cue]:
    return [c for c in session.cues if c.cue in cue_ids]


def charts(session: Session) -> str:
    steps, th, dur = session.steps, session.profile.thresholds, session.summary["duration_s"]
    lo, hi = session.cadence_band
    band_note = (
        f"shaded: the coach's target band (target ± {session.profile.cadence.tolerance_pct:g} %)"
        if np.isfinite(lo) else "no target band: the coach never set a cadence target (too little running)"
    )
    figs = [
        figure(plots.time_plot("cadence", "cadence (spm)",
                               [plots.Series("cadence", steps["t"], steps["cadence_spm"], plots.INK)], dur,
                               _cues(session, "quicker_steps"), band=session.cadence_band,
                               band_label=f"target {lo:.0f}–{hi:.0f} spm"),
               f"Cadence per step and its 30-second median; {band_note}. Triangles: “quicker steps” cues."),
        figure(plots.time_plot("drop", _axis("pelvic_drop_deg"), _series(steps, "pelvic_drop_deg"), dur,
                               _cues(session, "level_hips"), threshold=th.pelvic_drop_deg),
               f"Pelvic drop of each hip per step, relative to standing; dashed: the {th.pelvic_drop_deg:g}° "
               "coaching threshold. Triangles: “level your hips” cues."),
    ]
    proxy = session.is_proxy("lumbar_ext_deg")
    sag = [plots.Series("anterior tilt", steps["t"], steps["tilt_deg"], "#00838f")]
    if not proxy and session.has_values("lumbar_ext_deg"):
        sag.append(plots.Series("lumbar extension", steps["t"], steps["lumbar_ext_deg"], "#7b4fc9"))
    ylabel = "tilt (°) = lumbar ext. proxy" if proxy else "angle (°)"
    arch = _cues(session, "ease_arch")
    if session.standing:
        tilt_fig = plots.time_plot("tilt", ylabel, sag, dur, arch, threshold=th.tilt_deg)
        what = "Mean anterior pelvic tilt per step, relative to standing"
        limit = f"the {th.tilt_deg:g}° threshold"
    else:  # what the coach judged: the change from the early-run posture
        ref = session.tilt_posture
        sag = [plots.Series(s.label, s.t, s.v - ref, s.colour) for s in sag]
        tilt_fig = plots.time_plot("tilt", "change from early run (°)", sag, dur, arch,
                                   threshold=th.tilt_change_deg)
        what = ("Mean anterior pelvic tilt per step as its CHANGE FROM THE EARLY-RUN POSTURE: there was no "
                "standing calibration, so the angle has no standing baseline (the engine's is the running "
                f"posture), and the coach judged this change (early-run posture {ref:.1f}° on the engine's "
                f"scale, the median of the first {session.profile.timing.posture_s:g} s of running)")
        limit = f"the +{th.tilt_change_deg:g}° threshold of the change"
    figs.append(figure(
        tilt_fig, what + (" — also the lumbar-extension proxy (no trunk sensor)" if proxy else "")
        + f"; dashed: {limit}. Triangles: “ease the arch” cues."))
    figs.append(figure(
        plots.time_plot("braking", _axis("braking_mps"), _series(steps, "braking_mps"), dur,
                        _cues(session, "quicker_steps"), threshold=th.braking_mps),
        f"Forward speed lost after each landing (overstride proxy); dashed: the {th.braking_mps:g} m/s "
        "threshold. Triangles: “quicker steps” cues."))
    dist = plots.distribution_plot("dist", [(_axis(column), *_series(steps, column))
                                            for column in ("pelvic_drop_deg", "contact_time_s", "braking_mps",
                                                           "tilt_deg")])
    figs.append("<h3>Left vs right</h3>" + figure(
        dist, "Distributions over all steps; vertical lines: medians. Blue: left hip / right foot lands, "
        "orange: right hip / left foot lands."))
    return section("charts", "Over time", "".join(figs))


def splits_table(session: Session) -> str:
    rows = []
    cue_t = np.array([c.t for c in session.cues])
    splits = session.summary["splits"]
    for i, sp in enumerate(splits):
        k = f"splits.{i}"
        last = i == len(splits) - 1
        n_cues = int(np.sum((cue_t >= sp["t0_s"]) & ((cue_t < sp["t1_s"]) | last)))
        rows.append([
            f"{number(sp['t0_s'] / 60, 0)}–{number(sp['t1_s'] / 60, 1 if sp['t1_s'] % 60 else 0)}",
            keyed(f"{k}.steps", sp["steps"], 0),
            keyed(f"{k}.cadence_spm", sp["cadence_spm"], 0),
            keyed(f"{k}.pelvic_drop_deg.R", sp["pelvic_drop_deg"]["R"], 1),
            keyed(f"{k}.pelvic_drop_deg.L", sp["pelvic_drop_deg"]["L"], 1),
            keyed(f"{k}.tilt_deg", sp["tilt_deg"], 1),
            keyed(f"{k}.contact_time_s", sp["contact_time_s"], 0, "", 1000.0),
            keyed(f"{k}.braking_mps", sp["braking_mps"], 2),
            str(n_cues) if n_cues else "",
        ])
    headers = ["Minute", "Steps", "Cadence (spm)", '<span class="left">Left hip drop (°)</span>',
               '<span class="right">Right hip drop (°)</span>', "Tilt (°)", "Contact (ms)",
               "Braking (m/s)", "Cues"]
    body = f'<div class="scroll">{table(headers, rows, "splits")}</div>'
    return section("splits", "Splits per minute", body,
                   "Medians over each minute's steps. Distance per split needs speed, which a pelvis IMU "
                   "alone does not measure.")


def _clock(t: float) -> str:
    return f"{int(t // 60)}:{t % 60:04.1f}"


def cue_log(session: Session) -> str:
    if session.cue_log is None:
        return section("cues", "Cue log", "<p>No cue log (cues.csv) was found next to the session or the "
                       "report, so the cues of this run are unknown.</p>")
    source = f"From {escape(str(session.cue_log))}."
    if not session.cues:
        return section("cues", "Cue log", "<p>The coach gave no cue.</p>", source)
    rows = [[_clock(c.t), escape(c.cue.replace("_", " ")),
             {"L": "left", "R": "right"}.get(c.side, ""), str(c.priority), escape(c.reason)]
            for c in session.cues]
    body = f'<div class="scroll">{table(["Time", "Cue", "Side", "Priority", "Why"], rows, "cues")}</div>'
    return section("cues", "Cue log", body, source)


def _threshold(session: Session, rule: Rule) -> float:
    """A rule's threshold on the engine's scale (the values a cue's before / after are on)."""
    if rule.name == "cadence":
        return session.cadence_band[0]  # target x (1 - tolerance)
    if not session.standing and rule.metric in ("tilt_deg", "lumbar_ext_deg"):
        return session.tilt_posture + session.profile.thresholds.tilt_change_deg
    return rule.on


def cue_response(session: Session) -> str:
    """Did the cues work? Per cue type how often it was given and how the runner responded."""
    title = "Did the cues work?"
    if session.cue_log is None:
        return ""
    measured = [(c, rule_for(c, session.profile)) for c in session.cues if c.metric]
    measured = [(c, r) for c, r in measured if r is not None and math.isfinite(c.before)]
    if not measured:
        form_cues = [c for c in session.cues if c.cue not in ("start", "praise")]
        why = ("the cue log has no response columns (written by an earlier version)" if form_cues
               else "the coach gave no cue that targets a metric")
        return section("response", title, f"<p>Nothing to measure: {escape(why)}.</p>")
    groups: dict[tuple[str, str, str], list[tuple[Cue, Rule]]] = {}
    for c, r in measured:
        groups.setdefault((c.cue, c.side, c.metric), []).append((c, r))
    rows = []
    for (cue, side, _), items in groups.items():
        rule = items[0][1]
        done = [(c, r) for c, r in items if math.isfinite(c.after)]
        digits = 2 if rule.unit == "m/s" else 1
        cells = [escape(cue.replace("_", " ") + {"L": " (left hip)", "R": " (right hip)"}.get(side, "")),
                 escape(f"{rule.label} ({rule.unit})"), str(len(items)), str(len(done))]
        if done:
            better = [improvement(c, r) for c, r in done]
            cells += [number(float(np.median([c.before for c, _ in done])), digits),
                      number(float(np.median([c.after for c, _ in done])), digits),
                      number(float(np.median(better)), digits, sign=True),
                      f"{sum(b > 0 for b in better)} of {len(done)}"]
        else:
            cells += ["—"] * 4
        rows.append(cells)
    panels = []
    for metric in dict.fromkeys(c.metric for c, _ in measured):
        items = [(c, r) for c, r in measured if c.metric == metric]
        rule = items[0][1]
        panels.append((f"{rule.label} ({rule.unit})", [c for c, _ in items], _threshold(session, rule)))
    body = table(["Cue", "Metric", "Given", "Measured", "Before (median)", "After (median)",
                  "Change (better +)", "Improved"], rows, "response")
    body += figure(plots.response_plot("response", panels, session.summary["duration_s"]),
                   "Each cue at its time: an arrow from the metric before it to after it, in the cue's "
                   "colour; dashed: the coaching threshold.")
    note = (f"Before = median of the last {BEFORE_STEPS} running steps up to the cue (hip cues: the "
            "steps landing on the other foot); after = median of the running steps "
            f"{AFTER_S[0]:g}–{AFTER_S[1]:g} s after it (not measured when the runner stopped first); "
            "cadence as the step rate of those steps. A cue is given when its metric reads beyond the "
            "threshold, so part of any improvement is regression to the mean: a simulated runner who "
            "never responds shows some too (benchmarks/RESULTS.md, “Cues”). The difference is what "
            "the runner did.")
    return section("response", title, body, note)


def quality(session: Session) -> str:
    q = session.summary.get("quality") or {}
    cal = q.get("calibration", "none")
    cal_note = {"standing": "standing calibration: angles are relative to your standing posture",
                "gait": "no standing still at the start: angles are relative to the mean running posture",
                "none": "not calibrated: angles are unreliable"}.get(cal, "")
    cls = {"standing": "ok", "gait": "warn"}.get(cal, "bad")
    cal_html = f'<span class="{cls}">{keyed("quality.calibration", cal)}</span> — {escape(cal_note)}'
    rows = [
        ["Calibration", cal_html],
        ["Sample rate seen", keyed("quality.sample_rate_hz", q.get("sample_rate_hz"), 1, "Hz")],
        ["Samples", keyed("quality.samples", q.get("samples"), 0)],
        ["Packet loss", keyed("quality.packet_loss_pct", q.get("packet_loss_pct"), 2, "%")
         + f" ({keyed('quality.lost_samples', q.get('lost_samples'), 0)} samples lost)"],
        ["Gaps", keyed("quality.gaps", q.get("gaps"), 0)
         + f" ({keyed('quality.gap_time_s', q.get('gap_time_s'), 2, 's')} in total)"],
        ["Invalid (NaN) samples", keyed("quality.nan_samples", q.get("nan_samples"), 0)],
        ["Saturated samples", keyed("quality.saturated_samples", q.get("saturated_samples"), 0)],
        ["Sample-rate changes", keyed("quality.rate_changes", q.get("rate_changes"), 0)],
        ["Sensor slipped or posture changed (re-levelled)",
         keyed("quality.mount_changes", q.get("mount_changes"), 0)],
        ["Trunk sensor", keyed("quality.trunk_sensor", q.get("trunk_sensor"))],
    ]
    body = table(["", ""], rows, "quality")
    if session.notes:
        body += "<h3>Events in the recording</h3>" + table(
            ["Time", "Event"], [[_clock(t), escape(text)] for t, text in session.notes], "cues")
    flags = session.flags
    if flags:
        body += "<h3>Proxies and low-confidence metrics</h3>" + table(
            ["Metric", "Why"],
            [[f"<code>{escape(k)}</code>", keyed(f"quality.flags.{k}", str(v))]
             for k, v in flags.items()],
            "flags")
    return section("quality", "Data quality", body)


def page_sections(session: Session) -> Sequence[str]:
    return (reading(session), side_table(session), charts(session), splits_table(session),
            cue_response(session), cue_log(session), quality(session))
