"""A coaching cue and the cue log (cues.csv) that the dashboard and the report read.

cues.csv: header row `t,cue,side,priority,reason,metric,before,after`; t = session time (s) the cue
was given, which is the emission time of the step that triggered it; side L/R or empty; reason
human-readable text with the numbers that triggered it (CSV-quoted when it holds a comma); metric
the step column the cue targets, before/after the runner's response (imurun/coach/response.py;
empty until measured). Logs of earlier versions (the first five columns only) read as well.
Format: docs/coaching.md.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from imurun.errors import InputError, line_of
from imurun.outputs import open_fresh
from imurun.session.paths import cues_path_for

CUE_COLUMNS = ("t", "cue", "side", "priority", "reason", "metric", "before", "after")
_FIRST_COLUMNS = CUE_COLUMNS[:5]  # cue logs written before the response columns
# Cue ids; `praise` is the short positive feedback after a cue's pattern has been fixed.
CUE_IDS = ("start", "quicker_steps", "level_hips", "ease_arch", "lean_forward", "praise")


@dataclass(frozen=True)
class Cue:
    t: float  # session time, s
    cue: str  # one of CUE_IDS
    side: str  # "L", "R" or ""
    priority: int
    reason: str
    text: str  # what is said
    metric: str = ""  # STEP_DTYPE column the cue targets ("" for the start reminder and praise)
    before: float = math.nan  # the runner's response: that metric before the cue and after it
    after: float = math.nan  # (imurun/coach/response.py); NaN = not measured (yet)


class CueLog:
    """Appends cues to cues.csv as they happen (flushed per cue: a crash loses nothing). A cue's
    response, known ~30 s later, replaces its row: the file is rewritten beside and renamed over
    (atomic), so a crash leaves either the log before or after, both whole."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._rows: list[list[str]] = []
        self._file: TextIO = self._open("w")
        self._writer.writerow(CUE_COLUMNS)
        self._file.flush()

    def _open(self, mode: str, path: Path | None = None) -> TextIO:
        """A fresh file ("w": a symlink there is replaced, never followed) or the log to append to."""
        try:
            f = open_fresh(path or self.path, "w") if mode == "w" else open(self.path, mode, newline="")
        except OSError as exc:
            raise InputError(self.path, f"cannot write cue log: {exc.strerror}") from None
        self._writer = csv.writer(f)
        return f

    def write(self, cue: Cue) -> None:
        self._rows.append(_row(cue))
        self._writer.writerow(self._rows[-1])
        self._file.flush()

    def update(self, index: int, cue: Cue) -> None:
        """Rewrite the row of the index-th cue written (its response is now known)."""
        self._rows[index] = _row(cue)
        self._file.close()
        tmp = self.path.with_name(self.path.name + ".tmp")
        f = self._open("w", tmp)
        self._writer.writerows([CUE_COLUMNS, *self._rows])
        f.close()
        try:
            os.replace(tmp, self.path)
        except OSError as exc:
            raise InputError(self.path, f"cannot write cue log: {exc.strerror}") from None
        finally:
            self._file = self._open("a")

    def close(self) -> None:
        self._file.close()


def _number(x: float) -> str:
    return f"{x:.3f}" if math.isfinite(x) else ""


def _row(cue: Cue) -> list[str]:
    return [f"{cue.t:.3f}", cue.cue, cue.side, str(cue.priority), cue.reason, cue.metric,
            _number(cue.before), _number(cue.after)]


def write_cues_csv(path: Path, cues: Iterable[Cue]) -> None:
    log = CueLog(path)
    try:
        for cue in cues:
            log.write(cue)
    finally:
        log.close()


def read_cues_csv(path: Path) -> list[Cue]:
    """Cues of a cue log (`text` is empty: the log keeps what triggered a cue, not its wording)."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise InputError(path, f"cannot read cue log: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise InputError(path, "cue log is not UTF-8 text", line_of(exc.object, exc.start)) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = tuple(next(reader, ()))
        if header not in (CUE_COLUMNS, _FIRST_COLUMNS):
            raise InputError(path, f"header must be {','.join(CUE_COLUMNS)}", line=1)
        return [_cue(path, row, reader.line_num, len(header)) for row in reader]
    except csv.Error as exc:  # e.g. a field longer than csv's limit (128 KiB), a stray NUL
        raise InputError(path, f"not a CSV cue log: {exc}", reader.line_num + 1) from None


def _cue(path: Path, row: list[str], line: int, fields: int) -> Cue:
    if len(row) != fields:
        raise InputError(path, f"expected {fields} fields, got {len(row)}", line)
    t, cue, side, priority, reason = row[:5]
    metric, before, after = row[5:] or ("", "", "")
    if cue not in CUE_IDS:
        raise InputError(path, f"unknown cue {cue[:40]!r}", line)
    if side not in ("", "L", "R"):
        raise InputError(path, f"side must be L, R or empty, got {side[:40]!r}", line)
    try:
        t_s, prio = float(t), int(priority)
        before_v, after_v = float(before or "nan"), float(after or "nan")
    except ValueError:
        raise InputError(path, "t, before and after must be numbers and priority an integer", line) from None
    if not math.isfinite(t_s):
        raise InputError(path, f"t must be a finite time in seconds, not {t[:40]!r}", line)
    return Cue(t_s, cue, side, prio, reason, "", metric[:40], before_v, after_v)


def find_cue_log(session_path: Path, *folders: Path) -> Path | None:
    """The session's own NAME.cues.csv (what `imurun run` writes), else a cues.csv next to the session
    or in one of `folders` (an output folder of demo, replay --out), else None (cues unknown)."""
    session_path = Path(session_path)
    candidates = [cues_path_for(session_path)]
    folders = tuple(dict.fromkeys((session_path.parent, *map(Path, folders))))
    candidates += [folder / "cues.csv" for folder in folders]
    return next((p for p in candidates if p.is_file()), None)
