"""A recorded session as the dashboard plays it: its blocks, an engine with signals, its length."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

from imurun.blocks import SampleBlock


def blocks(path: str | Path) -> Iterator[SampleBlock]:
    """The session's blocks (trunk included), unpaced: the player paces them itself."""
    from imurun.sources.replay import replay_blocks

    return replay_blocks(path, speed=math.inf)


def engine_with_signals(path: str | Path):
    """An Engine at the session's nominal rate that also emits the per-sample traces."""
    from imurun.pipeline import engine_for

    return engine_for(path, signals=True)


def duration_s(path: str | Path) -> float | None:
    """Session time of the last row (read from the file's tail), None if it cannot be told."""
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - 4096))
            lines = f.read().decode("ascii", "replace").strip().splitlines()
        return float(lines[-1].split(",")[0]) if lines else None
    except (OSError, ValueError):
        return None
