"""Truth / reference files next to a session: NAME.steps.csv and NAME.bouts.csv (named by paths.py).

Spec: docs/session-format.md ("Truth and reference files"). These files are small (one row per
step), so they are read line by line, with the same strictness and error lines as sessions.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from imurun.core.output import METRIC_COLUMNS, STEP_COLUMNS, STEP_DTYPE
from imurun.errors import InputError
from imurun.outputs import write_atomically
from imurun.session.format import NUMBER_PATTERN

BOUT_DTYPE = np.dtype([("t_start", "f8"), ("t_end", "f8"), ("cadence_spm", "f8")])
STEPS_MAGIC = "# imurun-steps: 1"
BOUTS_MAGIC = "# imurun-bouts: 1"
SIDES = ("L", "R")
ACTIVITIES = ("walk", "run")

# Decimals written per metric column: finer than any metric's meaningful resolution.
STEP_DECIMALS: dict[str, int] = {"t": 6, "cadence_spm": 2, "vertical_osc_cm": 2, "braking_mps": 3,
                                 "braking_peak_ms2": 3} | dict.fromkeys(
    ("step_time_s", "contact_time_s", "flight_time_s"), 4) | {
    c: 2 for c in METRIC_COLUMNS if c.endswith("_deg")}


def read_steps_csv(path: str | Path) -> np.ndarray:
    """Steps as STEP_DTYPE rows; metric columns absent from the file (or empty / nan) are NaN."""
    columns, header_line, rows = _read_table(path)
    for needed in ("t", "side"):
        if needed not in columns:
            raise InputError(path, f"header row must name t and side; found {','.join(columns)}", header_line)
    for name in columns:
        if name not in STEP_COLUMNS:
            raise InputError(path, f"unknown column {name!r} (known: {', '.join(STEP_COLUMNS)})",
                             header_line)
    steps = np.zeros(len(rows), STEP_DTYPE)
    for name in METRIC_COLUMNS:
        steps[name] = np.nan
    for i, (line, fields) in enumerate(rows):
        for name, text in zip(columns, fields, strict=True):
            if name == "side":
                if text not in (*SIDES, ""):
                    raise InputError(path, f"side must be L, R or empty (not known), not {text!r}", line)
                steps[i]["side"] = text
            elif name == "activity":
                if text not in (*ACTIVITIES, ""):
                    raise InputError(path, f"activity must be walk, run or empty, not {text!r}", line)
                steps[i]["activity"] = text
            else:
                steps[i][name] = _number(path, line, name, text, empty_ok=name != "t")
    _check_increasing(path, steps["t"], [line for line, _ in rows])
    return steps


def write_steps_csv(path: str | Path, steps: np.ndarray) -> None:
    """Write steps_csv_text(steps); the file appears complete or not at all (imurun.outputs)."""
    write_atomically(path, steps_csv_text(steps))


def steps_csv_text(steps: np.ndarray) -> str:
    """Every STEP_COLUMNS column with fixed decimals (STEP_DECIMALS); NaN is an empty field."""
    missing = [c for c in STEP_COLUMNS if steps.dtype.names is None or c not in steps.dtype.names]
    if missing:
        raise ValueError(f"steps lack columns {missing}")
    numeric = [c for c in STEP_COLUMNS if c not in ("side", "activity")]
    lines = [STEPS_MAGIC, ",".join(STEP_COLUMNS)]
    for row in steps:
        values = {c: _fixed(float(row[c]), STEP_DECIMALS[c]) for c in numeric}
        values |= {"side": str(row["side"]), "activity": str(row["activity"])}
        lines.append(",".join(values[c] for c in STEP_COLUMNS))
    return "\n".join(lines) + "\n"


def read_bouts_csv(path: str | Path) -> np.ndarray:
    """Reference bouts (BOUT_DTYPE): start before end, in time order, not overlapping."""
    columns, header_line, rows = _read_table(path)
    if columns != list(BOUT_DTYPE.names):
        raise InputError(path, f"header row must be {','.join(BOUT_DTYPE.names)}; found {','.join(columns)}",
                         header_line)
    bouts = np.zeros(len(rows), BOUT_DTYPE)
    for i, (line, fields) in enumerate(rows):
        start, end, cadence = (_number(path, line, n, f, empty_ok=n == "cadence_spm")
                               for n, f in zip(columns, fields, strict=True))
        if not end > start:
            raise InputError(path, f"bout ends ({end}) before it starts ({start})", line)
        if i and start < bouts[i - 1]["t_end"]:
            raise InputError(path, "bout starts before the previous one ends", line)
        bouts[i] = (start, end, cadence)
    return bouts


# --- helpers ----------------------------------------------------------------------------------


def _read_table(path: str | Path) -> tuple[list[str], int, list[tuple[int, list[str]]]]:
    """(columns, header row line, [(line, fields)]): comment lines ('#') are skipped, the first other
    line names the columns and every later line must have as many fields."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except IsADirectoryError:
        raise InputError(path, "is a directory, not a file") from None
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    if not raw:
        raise InputError(path, "empty file")
    columns: list[str] | None = None
    header_line = 0
    rows: list[tuple[int, list[str]]] = []
    lines = raw.split(b"\n")
    if lines[-1] == b"":  # the final newline
        lines.pop()
    for number, line in enumerate(lines, start=1):
        line = line.rstrip(b"\r")
        if not line:
            raise InputError(path, "empty line", number)
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(path, "not UTF-8 text", number) from None
        if text.startswith("#"):
            continue
        fields = [f.strip() for f in text.split(",")]
        if columns is None:
            if len(set(fields)) != len(fields):
                raise InputError(path, "duplicate column in the header row", number)
            columns, header_line = fields, number
        elif len(fields) != len(columns):
            raise InputError(path, f"expected {len(columns)} values, found {len(fields)}", number)
        else:
            rows.append((number, fields))
    if columns is None:
        raise InputError(path, "no header row")
    return columns, header_line, rows


def _number(path: str | Path, line: int, name: str, text: str, *, empty_ok: bool) -> float:
    if empty_ok and text == "":
        return math.nan
    if not NUMBER_PATTERN.fullmatch(text.encode()):
        raise InputError(path, f"column {name}: not a number: {text[:40]!r}", line)
    value = float(text)
    if not (empty_ok or math.isfinite(value)):
        raise InputError(path, f"column {name}: must be a finite number, not {text!r}", line)
    return value


def _check_increasing(path: str | Path, t: np.ndarray, lines: list[int]) -> None:
    bad = np.flatnonzero(np.diff(t) <= 0)
    if len(bad):
        i = bad[0] + 1
        why = "duplicate timestamp" if t[i] == t[i - 1] else "time goes backwards"
        raise InputError(path, f"{why} (t = {t[i]} after {t[i - 1]})", lines[i])


def _fixed(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}" if math.isfinite(value) else ""
