"""Replay source: a recorded session as the blocks a live run would have delivered.

Blocks hold about `block_s` of session time and are released when the wall clock reaches their last
sample (scaled by `speed`; math.inf = at once). A trunk file next to the session
(`trunk_path_for`) is read alongside and put on the pelvis timestamps by linear interpolation, as
the live path does with a second sensor.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from imurun.blocks import SampleBlock
from imurun.session.paths import trunk_path_for
from imurun.session.reader import iter_blocks, read_header

BATCH_ROWS = 65536  # block size for reading a trunk file, and for replays at full speed


def replay_blocks(path: str | Path, block_s: float = 0.05, speed: float = 1.0) -> Iterator[SampleBlock]:
    """SampleBlocks of about `block_s` of session time (at the header's rate), paced at `speed`."""
    if not speed > 0:
        raise ValueError(f"speed must be > 0, got {speed}")
    rows = max(1, round(block_s * read_header(path).sample_rate_hz))
    start_wall = start_t = None
    for block in iter_blocks(path, rows):
        if math.isfinite(speed):
            if start_wall is None:
                start_wall, start_t = time.monotonic(), float(block.t[0])
            wait = start_wall + (float(block.t[-1]) - start_t) / speed - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        yield block


class TrunkOnPelvisClock:
    """The trunk sensor's samples at given (pelvis) times, reading its file forward in chunks.

    np.interp holds the end values outside the trunk recording, like the live path. Each time is
    interpolated from the same two neighbours whatever the blocks, so results do not depend on
    how the pelvis samples are split.
    """

    def __init__(self, path: str | Path, rows: int = BATCH_ROWS):
        self._chunks = iter_blocks(path, rows)
        self._buf = next(self._chunks, SampleBlock.empty())

    def at(self, t: np.ndarray) -> SampleBlock:
        while len(self._buf) and self._buf.t[-1] < t[-1]:
            more = next(self._chunks, None)
            if more is None:
                break
            buf = self._buf
            self._buf = SampleBlock(
                np.concatenate([buf.t, more.t]),
                np.concatenate([buf.acc, more.acc]),
                np.concatenate([buf.gyr, more.gyr]),
            )
        buf = self._buf
        if not len(buf):
            nan = np.full((len(t), 3), np.nan)
            return SampleBlock(t, nan, nan.copy())
        # Samples at the very pelvis times (a recorder on one clock) are taken as they are, which
        # also keeps a NaN row from spreading to its neighbours through the interpolation.
        idx = np.minimum(np.searchsorted(buf.t, t), len(buf) - 1)
        exact = (buf.t[idx] == t)[:, None]
        acc = np.where(exact, buf.acc[idx], np.column_stack([np.interp(t, buf.t, a) for a in buf.acc.T]))
        gyr = np.where(exact, buf.gyr[idx], np.column_stack([np.interp(t, buf.t, g) for g in buf.gyr.T]))
        keep = max(int(np.searchsorted(buf.t, t[-1])) - 1, 0)  # the next block needs one sample before it
        self._buf = SampleBlock(buf.t[keep:], buf.acc[keep:], buf.gyr[keep:])
        return SampleBlock(t, acc, gyr)


def replay_streams(
    path: str | Path, block_s: float = 0.05, speed: float = 1.0
) -> tuple[Iterator[SampleBlock], Iterator[SampleBlock] | None]:
    """(pelvis blocks, trunk blocks on the same timestamps or None), for run_pipeline."""
    blocks = replay_blocks(path, block_s, speed)
    trunk_path = trunk_path_for(path)
    if not Path(trunk_path).is_file():
        return blocks, None
    blocks, times = itertools.tee(blocks)
    trunk = TrunkOnPelvisClock(trunk_path)
    return blocks, (trunk.at(b.t) for b in times)
