"""A coaching cue and the cue log (cues.csv) that the dashboard and the report read.

cues.csv: header row `t,cue,side,priority,reason`; t = session time (s) the cue was given, which is
the emission time of the step that triggered it; side L/R or empty; reason human-readable text with
the numbers that triggered it (CSV-quoted when it holds a comma). Format: docs/coaching.md.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from imurun.errors import InputError
from imurun.session.truth import sibling_path

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
            self._file: TextIO = open(self.path, "w", newline="")
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
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
    except OSError as exc:
        raise InputError(path, f"cannot read cue log: {exc.strerror}") from None
    if not rows or tuple(rows[0]) != CUE_COLUMNS:
        raise InputError(path, f"header must be {','.join(CUE_COLUMNS)}", line=1)
    cues = []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(CUE_COLUMNS):
            raise InputError(path, f"expected {len(CUE_COLUMNS)} fields, got {len(row)}", line)
        t, cue, side, priority, reason = row
        if cue not in CUE_IDS:
            raise InputError(path, f"unknown cue {cue!r}", line)
        if side not in ("", "L", "R"):
            raise InputError(path, f"side must be L, R or empty, got {side!r}", line)
        try:
            cues.append(Cue(float(t), cue, side, int(priority), reason, ""))
        except ValueError:
            raise InputError(path, "t must be a number and priority an integer", line) from None
    return cues


def find_cue_log(session_path: Path, *folders: Path) -> Path | None:
    """The session's own NAME.cues.csv (what `imurun run` writes), else a cues.csv next to the session
    or in one of `folders` (an output folder of demo, replay --out), else None (cues unknown)."""
    session_path = Path(session_path)
    candidates = [sibling_path(session_path, "cues")]
    folders = tuple(dict.fromkeys((session_path.parent, *map(Path, folders))))
    candidates += [folder / "cues.csv" for folder in folders]
    return next((p for p in candidates if p.is_file()), None)
