"""A coaching cue and the cue log (cues.csv) that the dashboard and the report read.

cues.csv: header row `t,cue,side,priority,reason`; t = session time (s) the cue was given, which is
the emission time of the step that triggered it; side L/R or empty; reason human-readable text with
the numbers that triggered it (CSV-quoted when it holds a comma). Format: docs/coaching.md.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from imurun.errors import InputError, line_of
from imurun.outputs import open_fresh

CUE_COLUMNS = ("t", "cue", "side", "priority", "reason")
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


class CueLog:
    """Appends cues to cues.csv as they happen (flushed per cue: a crash loses nothing)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            self._file: TextIO = open_fresh(self.path, "w")
        except OSError as exc:
            raise InputError(self.path, f"cannot write cue log: {exc.strerror}") from None
        self._writer = csv.writer(self._file)
        self._writer.writerow(CUE_COLUMNS)
        self._file.flush()

    def write(self, cue: Cue) -> None:
        self._writer.writerow([f"{cue.t:.3f}", cue.cue, cue.side, cue.priority, cue.reason])
        self._file.flush()

    def close(self) -> None:
        self._file.close()


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
        if tuple(next(reader, ())) != CUE_COLUMNS:
            raise InputError(path, f"header must be {','.join(CUE_COLUMNS)}", line=1)
        return [_cue(path, row, reader.line_num) for row in reader]
    except csv.Error as exc:  # e.g. a field longer than csv's limit (128 KiB), a stray NUL
        raise InputError(path, f"not a CSV cue log: {exc}", reader.line_num + 1) from None


def _cue(path: Path, row: list[str], line: int) -> Cue:
    if len(row) != len(CUE_COLUMNS):
        raise InputError(path, f"expected {len(CUE_COLUMNS)} fields, got {len(row)}", line)
    t, cue, side, priority, reason = row
    if cue not in CUE_IDS:
        raise InputError(path, f"unknown cue {cue[:40]!r}", line)
    if side not in ("", "L", "R"):
        raise InputError(path, f"side must be L, R or empty, got {side[:40]!r}", line)
    try:
        t_s, prio = float(t), int(priority)
    except ValueError:
        raise InputError(path, "t must be a number and priority an integer", line) from None
    if not math.isfinite(t_s):
        raise InputError(path, f"t must be a finite time in seconds, not {t[:40]!r}", line)
    return Cue(t_s, cue, side, prio, reason, "")
