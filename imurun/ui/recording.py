"""A recorded session as the dashboard plays it: its streams, an engine with signals, its length."""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

from imurun.blocks import SampleBlock
from imurun.errors import InputError


def streams(path: str | Path) -> tuple[Iterable[SampleBlock], Iterable[SampleBlock] | None]:
    """(pelvis blocks, trunk blocks or None), unpaced: the player paces them itself."""
    from imurun.sources.replay import replay_streams

    return replay_streams(path, speed=math.inf)


def engine_with_signals(path: str | Path):
    """An Engine at the session's nominal rate that also emits the per-sample traces."""
    from imurun.core.engine import Engine
    from imurun.session.reader import read_header

    rate = read_header(path).sample_rate_hz
    try:
        return Engine(sample_rate_hz=rate, emit_signals=True)
    except ValueError as exc:
        raise InputError(path, f"sample_rate_hz {rate:g}: {exc}") from None


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
