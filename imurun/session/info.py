"""What a session file holds, in a dozen lines, read in one constant-memory pass (`imurun info`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

GAP_PERIODS = 1.5  # an interval longer than this many nominal periods is a gap (as the engine counts)
NOTES_SHOWN = 3


@dataclass
class Stats:
    """Timing figures of a session, accumulated chunk by chunk."""

    samples: int = 0
    t_first: float = float("nan")
    t_last: float = float("nan")
    gaps: int = 0
    gap_missing_s: float = 0.0  # time beyond one nominal period inside the gaps
    steady_intervals: int = 0  # intervals that are not gaps, and their summed duration
    steady_s: float = 0.0
    notes: list = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return self.t_last - self.t_first if self.samples else 0.0

    @property
    def rate_seen_hz(self) -> float:
        return self.steady_intervals / self.steady_s if self.steady_s > 0 else float("nan")


def session_stats(path: str | Path, nominal_rate_hz: float) -> Stats:
    import numpy as np

    from imurun.session.reader import iter_chunks

    stats = Stats()
    period = 1.0 / nominal_rate_hz
    for chunk in iter_chunks(path):
        stats.notes += chunk.notes
        t = chunk.block.t
        if not len(t):
            continue
        dt = np.diff(t, prepend=stats.t_last) if stats.samples else np.diff(t)
        gap = dt > GAP_PERIODS * period
        stats.gaps += int(gap.sum())
        stats.gap_missing_s += float((dt[gap] - period).sum())
        stats.steady_intervals += int((~gap).sum())
        stats.steady_s += float(dt[~gap].sum())
        if not stats.samples:
            stats.t_first = float(t[0])
        stats.t_last = float(t[-1])
        stats.samples += len(t)
    return stats


def describe(path: Path) -> list[str]:
    from imurun.session.paths import bouts_path_for, steps_path_for, trunk_path_for
    from imurun.session.reader import read_header

    header = read_header(path)
    s = session_stats(path, header.sample_rate_hz)
    rows = [
        ("device", header.device or "(not given)"),
        ("placement", header.placement),
        *([("source", f"{header.extra['source_format']} ({header.extra.get('source_file', '?')})")]
          if "source_format" in header.extra else []),  # an export read through docs/import.md
        ("units", f"acc {header.acc_unit}, gyr {header.gyr_unit}"),
        ("samples", f"{s.samples} over {s.duration_s:.2f} s"),
        ("rate", f"nominal {header.sample_rate_hz:g} Hz, seen {s.rate_seen_hz:.2f} Hz"),
        ("gaps", f"{s.gaps} ({s.gap_missing_s:.3f} s missing)" if s.gaps else "none"),
        ("columns", ",".join(header.columns)),
        ("header keys", ", ".join(header.extra) or "none"),
        ("notes", f"{len(s.notes)}" if s.notes else "none"),
    ]
    rows += [("", f"{n.t:.3f} s  {n.text}") for n in s.notes[:NOTES_SHOWN]]
    if len(s.notes) > NOTES_SHOWN:
        rows.append(("", f"... and {len(s.notes) - NOTES_SHOWN} more"))
    siblings = [trunk_path_for(path), steps_path_for(path), bouts_path_for(path)]
    found = [p.name for p in siblings if p.is_file() and p.resolve() != path.resolve()]
    rows.append(("trunk file", next((n for n in found if n.endswith(".trunk.csv")), "none")))
    rows.append(("truth", ", ".join(n for n in found if not n.endswith(".trunk.csv")) or "none"))
    return [str(path)] + [f"  {key:<12}{value}" for key, value in rows]
