"""Replay source: a recorded session as the blocks a live run would have delivered.

Blocks hold about `block_s` of session time and are released when the wall clock reaches their last
sample (scaled by `speed`; math.inf = at once). A trunk file next to the session
(`trunk_path_for`) is read alongside and its samples put on the pelvis timestamps by the rule a
live run follows (imurun.sources.trunk).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from imurun.blocks import SampleBlock
from imurun.session.paths import trunk_path_for
from imurun.session.reader import iter_blocks, read_header
from imurun.sources.trunk import TrunkTrack

BATCH_ROWS = 65536  # block size for reading a trunk file


def replay_blocks(path: str | Path, block_s: float = 0.05, speed: float = 1.0) -> Iterator[SampleBlock]:
    """SampleBlocks of about `block_s` of session time (at the header's rate), paced at `speed`,
    with the trunk file's samples when there is one."""
    if not speed > 0:
        raise ValueError(f"speed must be > 0, got {speed}")
    rows = max(1, round(block_s * read_header(path).sample_rate_hz))
    blocks = _paced(iter_blocks(path, rows), speed)
    trunk_path = trunk_path_for(path)
    return with_trunk(blocks, trunk_path) if Path(trunk_path).is_file() else blocks


def _paced(blocks: Iterable[SampleBlock], speed: float) -> Iterator[SampleBlock]:
    start_wall = start_t = None
    for block in blocks:
        if math.isfinite(speed):
            if start_wall is None:
                start_wall, start_t = time.monotonic(), float(block.t[0])
            wait = start_wall + (float(block.t[-1]) - start_t) / speed - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        yield block


def with_trunk(
    blocks: Iterable[SampleBlock], trunk_path: str | Path, rows: int = BATCH_ROWS
) -> Iterator[SampleBlock]:
    """The pelvis `blocks` with the trunk file's samples at their times, the file read forward in
    chunks of `rows` as far as each block needs."""
    track = TrunkTrack()
    chunks = iter_blocks(trunk_path, rows)
    more = True
    for block in blocks:
        if not len(block):
            continue
        while more and track.last_t < float(block.t[-1]):  # the trunk sample after each t is known
            chunk = next(chunks, None)
            more = chunk is not None
            if more:
                track.add(chunk)
        yield from track.attach(block)
