"""A trunk sensor's samples put on the pelvis sensor's timestamps: one rule for live runs and replays.

The engine takes the trunk samples at the pelvis times (Engine.process). A live run has the trunk
samples that arrived so far; a replay has the whole trunk file. Both go through `TrunkTrack`, and
the rule depends only on the samples, not on when they arrived, so a live run's recordings replay
to the steps it gave (imurun.ble.source waits until the rule has decided). For each pelvis time t:

- before the trunk's first sample: no trunk (the pelvis samples go on alone, in a block of their own);
- a trunk sample at exactly t (both sensors on one recorder's clock) is taken as it is, so a NaN
  row does not spread to its neighbours;
- otherwise the linear interpolation between the trunk samples either side of t, unless they are
  more than TRUNK_GAP_S apart (a gap in the trunk's stream, e.g. a lost link): then the last one
  before t is held, as it is after the trunk's last sample.
"""

from __future__ import annotations

import math

import numpy as np

from imurun.blocks import SampleBlock

TRUNK_GAP_S = 0.1  # trunk samples further apart are not interpolated across (a few lost packets are)


class TrunkTrack:
    """Trunk samples on the session clock (added in time order), put onto pelvis blocks."""

    def __init__(self) -> None:
        self._buf = SampleBlock.empty()
        self.first_t = math.nan  # the trunk's first sample: NaN until one came

    @property
    def last_t(self) -> float:
        """Time of the latest trunk sample (-inf before any)."""
        return float(self._buf.t[-1]) if len(self._buf) else -math.inf

    def add(self, block: SampleBlock) -> None:
        if not len(block):
            return
        if math.isnan(self.first_t):
            self.first_t = float(block.t[0])
        buf = self._buf
        self._buf = SampleBlock(np.concatenate([buf.t, block.t]), np.concatenate([buf.acc, block.acc]),
                                np.concatenate([buf.gyr, block.gyr]))

    def attach(self, block: SampleBlock) -> list[SampleBlock]:
        """`block` with the trunk samples at its times: one block, or two where the trunk's first
        sample falls inside it (the head goes on without trunk). Samples no longer needed by the
        next (later) block are dropped."""
        if not len(block) or math.isnan(self.first_t) or block.t[-1] < self.first_t:
            return [block]
        split = int(np.searchsorted(block.t, self.first_t))
        head, tail = block.rows(0, split), block.rows(split)
        buf, t = self._buf, tail.t
        nxt = np.searchsorted(buf.t, t)  # the first trunk sample at or after each t
        beyond = nxt == len(buf)
        nxt_c = np.minimum(nxt, len(buf) - 1)
        exact = ~beyond & (buf.t[nxt_c] == t)
        prev = np.maximum(nxt - 1, 0)
        span = buf.t[nxt_c] - buf.t[prev]
        hold = beyond | (span > TRUNK_GAP_S)
        taken = exact | hold | (span <= 0)
        w = np.where(taken, 0.0, (t - buf.t[prev]) / np.where(taken, 1.0, span))[:, None]
        near = np.where(exact, nxt_c, prev)
        taken = taken[:, None]

        def place(v: np.ndarray) -> np.ndarray:
            return np.where(taken, v[near], v[prev] + w * (v[nxt_c] - v[prev]))

        placed = SampleBlock(t, tail.acc, tail.gyr, place(buf.acc), place(buf.gyr))
        keep = max(int(np.searchsorted(buf.t, t[-1])) - 1, 0)  # the next block needs one sample before it
        self._buf = buf.rows(keep)
        return [b for b in (head, placed) if len(b)]
