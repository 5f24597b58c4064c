"""write_report: gather a session's steps, summary and cues, and write the one-file HTML report."""

from __future__ import annotations

import dataclasses
import math
from html import escape
from pathlib import Path
from typing import Any

import numpy as np

from imurun import __version__
from imurun.coach.cues import find_cue_log, read_cues_csv
from imurun.coach.profile import RunnerProfile, load_profile
from imurun.coach.rules import CoachState, cadence_target, coach_steps
from imurun.core.output import Status
from imurun.errors import InputError
from imurun.report import html
from imurun.report.sections import Session, page_sections
from imurun.session.reader import read_notes


def _cue_log(session_path: Path, out_html: Path, cues_csv: Path | None) -> Path | None:
    """The cue log given, else the session's own (find_cue_log), also looking next to the report."""
    return cues_csv if cues_csv is not None else find_cue_log(session_path, out_html.parent)


def coached(steps: np.ndarray, profile: RunnerProfile, calibration: str = "standing") -> CoachState:
    """The coach's state after the running steps: the targets and references the cues were judged
    against, decided by the coach's own rules (the cadence target: absolute, or the baseline
    measured after the quiet start; without a standing calibration, the early-run posture)."""
    t_end = float(steps["t"][-1]) if len(steps) else 0.0
    return coach_steps(steps, t_end, CoachState(), profile, Status(calibration=calibration))[1]


def cadence_band(state: CoachState, profile: RunnerProfile) -> tuple[float, float]:
    """The coach's cadence target ± its tolerance, spm; NaN when the run never set a target."""
    target = cadence_target(state, profile)
    if not math.isfinite(target) or target <= 0:
        return (math.nan, math.nan)
    tol = profile.cadence.tolerance_pct / 100
    return (target * (1 - tol), target * (1 + tol))


def _summarize_given(steps: np.ndarray, analysed: dict[str, Any]) -> dict[str, Any]:
    """The summary of steps given by the caller, on the analysis' duration, header and data quality."""
    from imurun.core.output import Status
    from imurun.summary import SPLIT_S, summarize

    # the analysis' rows again: a row longer than a minute is a stretch without samples
    minutes = [round(s["t0_s"] / SPLIT_S) for s in analysed["splits"] if s["t1_s"] - s["t0_s"] <= SPLIT_S]
    summary = summarize(steps, Status(), analysed["duration_s"], analysed.get("session"),
                        start_s=analysed["start_s"], minutes=minutes)
    summary["quality"] = analysed["quality"]
    return summary


def write_report(
    session_path: Path | str,
    out_html: Path | str,
    steps: np.ndarray | None = None,
    summary: dict[str, Any] | None = None,
    cues_csv: Path | str | None = None,
    profile: RunnerProfile | None = None,
) -> Path:
    """Write the HTML report of a session and return its path.

    What is not given is computed: without `steps` or `summary` the session is analysed (the same
    engine as `imurun analyze`); steps given without a summary are summarised with the analysis'
    duration and data quality. `profile` (thresholds, cadence target) defaults to the runner's.
    """
    session_path, out_html = Path(session_path), Path(out_html)
    if steps is None or summary is None:
        if not session_path.is_file():
            raise InputError(session_path, "no such session file")
        from imurun.analyze import analyze

        analysed_steps, analysed = analyze(session_path)
        if steps is None:
            steps, summary = analysed_steps, analysed if summary is None else summary
        else:
            summary = _summarize_given(steps, analysed)
    profile = load_profile() if profile is None else profile
    cue_log = _cue_log(session_path, out_html, None if cues_csv is None else Path(cues_csv))
    cues = read_cues_csv(cue_log) if cue_log is not None else []
    # The report's time axis starts at the first sample (a session's clock may start anywhere).
    t0 = summary.get("start_s", 0.0)
    steps = np.sort(steps, order="t")
    steps["t"] -= t0
    notes = read_notes(session_path) if session_path.is_file() else []
    calibration = (summary.get("quality") or {}).get("calibration", "standing")
    state = coached(steps[steps["activity"] == "run"], profile, calibration)
    session = Session(
        steps=steps,
        summary=summary,
        notes=[(n.t - t0, n.text) for n in notes],
        cues=sorted((dataclasses.replace(c, t=c.t - t0) for c in cues), key=lambda c: c.t),
        cue_log=cue_log,
        profile=profile,
        cadence_band=cadence_band(state, profile),
        tilt_posture=state.posture_ref.get("tilt_deg", np.nan) if state.relative else np.nan,
    )
    header = summary.get("session") or {}
    source = header.get("source_format") and f"imported from {header['source_format']}"  # docs/import.md
    parts = (session_path.name, header.get("device"), header.get("placement"), source)
    subtitle = " · ".join(escape(str(x)) for x in parts if x)
    page = html.page(
        f"Run report — {session_path.stem}",
        subtitle,
        page_sections(session),
        f"imurun {escape(__version__)} · numbers from summary.json (docs/validation.md) · "
        "reading rules in docs/report.md",
    )
    return html.write_page(out_html, page, "report")
