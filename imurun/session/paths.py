"""The names of the files that belong to a session, in one place.

A session `run.csv` (or `run.pelvis.csv`) has its companions next to it, named from the same stem
with any sensor suffix dropped: `run.trunk.csv` (a second sensor), `run.steps.csv` and
`run.bouts.csv` (truth / reference), `run.cues.csv` (the coach's log of a live run). Its report is
`run.report.html` (`run.pelvis.report.html` for `run.pelvis.csv`: the report is of that file), and
an export imported with `imurun import` becomes `NAME.imurun.csv`. docs/session-format.md.
"""

from __future__ import annotations

from pathlib import Path

SENSOR_SUFFIXES = ("pelvis", "trunk")
# CSV companions of a session that are not sessions themselves (batch skips them).
COMPANIONS = ("trunk", "steps", "bouts", "cues")


def session_stem(path: str | Path) -> str:
    """run.csv, run.pelvis.csv, run.trunk.csv -> run."""
    stem = Path(path).name.removesuffix(".csv")
    for sensor in SENSOR_SUFFIXES:
        stem = stem.removesuffix(f".{sensor}")
    return stem


def sibling_path(path: str | Path, kind: str) -> Path:
    """run.csv or run.pelvis.csv -> run.KIND.csv (KIND: one of COMPANIONS)."""
    if kind not in COMPANIONS:
        raise ValueError(f"not a session companion: {kind!r} (known: {', '.join(COMPANIONS)})")
    return Path(path).with_name(f"{session_stem(path)}.{kind}.csv")


def trunk_path_for(path: str | Path) -> Path:
    return sibling_path(path, "trunk")


def steps_path_for(path: str | Path) -> Path:
    return sibling_path(path, "steps")


def bouts_path_for(path: str | Path) -> Path:
    return sibling_path(path, "bouts")


def cues_path_for(path: str | Path) -> Path:
    return sibling_path(path, "cues")


def report_path_for(path: str | Path) -> Path:
    """run.csv -> run.report.html; any other file name's last suffix is replaced likewise."""
    return Path(path).with_suffix(".report.html")


def imported_path_for(path: str | Path) -> Path:
    """An export run.zip (or run.csv) -> the session `imurun import` writes: run.imurun.csv."""
    path = Path(path)
    return path.with_name(path.stem + ".imurun.csv")


def is_companion(path: str | Path) -> bool:
    """run.steps.csv, run.trunk.csv, ...: a file that belongs to a session rather than being one."""
    stem = Path(path).name.removesuffix(".csv")
    return "." in stem and stem.rsplit(".", 1)[1] in COMPANIONS
