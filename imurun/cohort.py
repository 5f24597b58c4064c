"""The cohort table: one row per analysed session of a batch, as OUT/cohort.csv and OUT/cohort.parquet.

Built from each session's summary.json (the same numbers the run report shows) and, when the
session has one, its cue log. Column meanings: docs/batch.md ("The cohort table"). Parquet needs
pyarrow (imurun[cluster]); without it only the CSV is written, and the batch says so.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
from pathlib import Path
from typing import Any

from imurun.coach.cues import CUE_IDS, Cue, find_cue_log, read_cues_csv
from imurun.coach.profile import RunnerProfile
from imurun.coach.response import improvement
from imurun.coach.rules import rule_for
from imurun.errors import InputError

CSV_NAME, PARQUET_NAME = "cohort.csv", "cohort.parquet"
FORM_CUES = tuple(c for c in CUE_IDS if c not in ("start", "praise"))  # cues that ask for a change
# A live run's file name: ~/imurun/sessions/YYYY-MM-DD_HHMMSS.csv (imurun/ble/recording.py).
NAME_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[_T ](\d{2})(\d{2})(\d{2}))?")
DATE_KEYS = ("start", "date")  # header keys that give the start time, ISO 8601

# (column, type): str, float, int or date. Order is the table's.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("session", "str"), ("date", "date"), ("date_source", "str"),
    ("duration_min", "float"), ("steps", "int"), ("running_min", "float"), ("walking_min", "float"),
    ("cadence_spm", "float"), ("cadence_median_spm", "float"),
    ("contact_time_ms", "float"), ("flight_time_ms", "float"), ("vertical_osc_cm", "float"),
    ("braking_mps", "float"),
    ("drop_left_hip_deg", "float"), ("drop_right_hip_deg", "float"), ("drop_asymmetry_pct", "float"),
    ("tilt_deg", "float"), ("tilt_peak_deg", "float"), ("lumbar_ext_deg", "float"),
    ("rotation_range_deg", "float"), ("trunk_lean_deg", "float"),
    ("cues", "int"), *((f"cues_{c}", "int") for c in FORM_CUES), ("praise", "int"),
    ("cue_response_pct", "float"),
    ("calibration", "str"), ("sample_rate_hz", "float"), ("packet_loss_pct", "float"), ("gaps", "int"),
    ("gap_time_s", "float"), ("nan_samples", "int"), ("saturated_samples", "int"), ("flags", "str"),
)
# cohort column -> (summary metric, side, scale): means over the steps of that landing foot or all.
# The drop of the left hip is measured while the right foot is on the ground, and the other way round.
METRICS: dict[str, tuple[str, str, float]] = {
    "contact_time_ms": ("contact_time_s", "all", 1000.0),
    "flight_time_ms": ("flight_time_s", "all", 1000.0),
    "vertical_osc_cm": ("vertical_osc_cm", "all", 1.0),
    "braking_mps": ("braking_mps", "all", 1.0),
    "drop_left_hip_deg": ("pelvic_drop_deg", "R", 1.0),
    "drop_right_hip_deg": ("pelvic_drop_deg", "L", 1.0),
    "tilt_deg": ("tilt_deg", "all", 1.0),
    "tilt_peak_deg": ("tilt_peak_deg", "all", 1.0),
    "lumbar_ext_deg": ("lumbar_ext_deg", "all", 1.0),
    "rotation_range_deg": ("rotation_range_deg", "all", 1.0),
    "trunk_lean_deg": ("trunk_lean_deg", "all", 1.0),
}


def session_date(path: Path, header: dict[str, Any] | None) -> tuple[dt.datetime, str]:
    """When the session started, in this machine's local time (naive), and how that is known: a
    `# start:` (or `# date:`) header line, ISO 8601 (with an offset, converted to local time), the
    date in a live run's file name (local time), else the file's modification time."""
    for key in DATE_KEYS:
        text = (header or {}).get(key)
        if text:
            try:
                when = dt.datetime.fromisoformat(str(text))
            except ValueError:
                continue
            return (when.astimezone().replace(tzinfo=None) if when.tzinfo else when), "header"
    m = NAME_DATE.search(path.name)
    if m:
        try:
            return dt.datetime(*(int(g) for g in m.groups() if g is not None)), "file name"
        except ValueError:
            pass
    return dt.datetime.fromtimestamp(path.stat().st_mtime).replace(microsecond=0), "file time"


def cue_response_pct(cues: list[Cue]) -> float | None:
    """Of the form cues whose response was measured (their metric before the cue and 10-30 s after
    it, imurun/coach/response.py), the share (%) after which the metric was better: the report's
    "Did the cues work?" count, per session. None when no cue's response was measured."""
    profile = RunnerProfile()  # a rule's direction (which way is better) is the same for any profile
    changes = [improvement(c, rule) for c in cues if c.cue in FORM_CUES
               for rule in [rule_for(c, profile)] if rule is not None]
    changes = [x for x in changes if math.isfinite(x)]
    if not changes:
        return None
    return 100.0 * sum(x > 0 for x in changes) / len(changes)


def _mean(summary: dict[str, Any], metric: str, side: str, scale: float) -> float | None:
    value = summary["metrics"][metric][side]["mean"]
    return None if value is None else value * scale


def session_row(key: str, session: Path, summary: dict[str, Any], problems: list[str] | None = None,
                dated: tuple[str, str] | None = None) -> dict[str, Any]:
    """One row of the table from a session's summary.json and cue log. Without a readable cue log
    the cue columns are None (unknown); an unreadable one is said in `problems`. `dated`: the
    (ISO date, source) the batch recorded, so that a session moved away since is still dated."""
    if dated is not None:
        date, source = dt.datetime.fromisoformat(dated[0]), dated[1]
    else:
        date, source = session_date(session, summary.get("session"))
    q = summary["quality"]
    row: dict[str, Any] = {
        "session": key, "date": date, "date_source": source,
        "duration_min": summary["duration_s"] / 60, "steps": summary["steps"],
        "running_min": summary["time_running_s"] / 60, "walking_min": summary["time_walking_s"] / 60,
        "cadence_spm": summary["cadence_mean_spm"], "cadence_median_spm": summary["cadence_median_spm"],
        "drop_asymmetry_pct": summary["metrics"]["pelvic_drop_deg"]["asymmetry_pct"],
    }
    row |= {name: _mean(summary, *spec) for name, spec in METRICS.items()}
    log, cues = find_cue_log(session), None
    if log is not None:
        try:
            cues = sorted(read_cues_csv(log), key=lambda c: c.t)
        except InputError as exc:
            if problems is not None:
                problems.append(f"{exc} (cue columns of {key} left empty)")
    row["cues"] = None if cues is None else sum(c.cue in FORM_CUES for c in cues)
    for cue_id in (*FORM_CUES, "praise"):
        name = f"cues_{cue_id}" if cue_id != "praise" else "praise"
        row[name] = None if cues is None else sum(c.cue == cue_id for c in cues)
    row["cue_response_pct"] = None if cues is None else cue_response_pct(cues)
    row |= {k: q[k] for k in ("calibration", "sample_rate_hz", "packet_loss_pct", "gaps", "gap_time_s",
                              "nan_samples", "saturated_samples")}
    row["flags"] = ";".join(sorted(q["flags"]))
    return row


def cohort_rows(out_dir: Path, manifest: dict[str, Any], problems: list[str] | None = None
                ) -> list[dict[str, Any]]:
    """Rows of every session the manifest holds as analysed, in date order (problems: session_row)."""
    from imurun.batch import output_dir

    rows = []
    for key, record in sorted(manifest["sessions"].items()):
        path = output_dir(out_dir, key) / "summary.json"
        try:
            summary = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(path, f"cannot read summary: {exc}") from None
        dated = (record["date"], record["date_source"]) if "date" in record else None
        rows.append(session_row(key, Path(record["path"]), summary, problems, dated))
    return sorted(rows, key=lambda r: (r["date"], r["session"]))


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def csv_text(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([name for name, _ in COLUMNS])
    writer.writerows([_csv_value(row[name]) for name, _ in COLUMNS] for row in rows)
    return buf.getvalue()


def write_parquet(path: Path, rows: list[dict[str, Any]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {"str": pa.string(), "float": pa.float64(), "int": pa.int64(), "date": pa.timestamp("s")}
    schema = pa.schema([(name, types[kind]) for name, kind in COLUMNS])
    table = pa.table({name: [row[name] for row in rows] for name, _ in COLUMNS}, schema=schema)
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, tmp)
    tmp.replace(path)


def write_cohort(out_dir: Path, manifest: dict[str, Any], problems: list[str] | None = None) -> list[Path]:
    """Write cohort.csv and (with pyarrow) cohort.parquet; returns the paths written."""
    from imurun.session.truth import write_atomically

    rows = cohort_rows(out_dir, manifest, problems)
    written = [out_dir / CSV_NAME]
    write_atomically(written[0], csv_text(rows))
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return written
    write_parquet(out_dir / PARQUET_NAME, rows)
    return [*written, out_dir / PARQUET_NAME]
