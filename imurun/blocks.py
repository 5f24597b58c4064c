"""SampleBlock: the unit every source produces and the pipeline feeds the engine (docs/architecture.md)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class SampleBlock:
    """Consecutive samples on the session clock, in SI units and the sensor frame S.

    t: float64 (n,) seconds, 0 = first sample of the session; strictly increasing.
    acc: float64 (n, 3) m/s^2.  gyr: float64 (n, 3) rad/s.  NaN rows mark unusable samples.
    A time jump larger than the nominal period is a gap; the engine detects and flags it.
    trunk_acc, trunk_gyr: the trunk sensor's samples at the same times t (imurun.sources.trunk),
    or None where there is none (no trunk sensor, or before its first sample).
    """

    t: np.ndarray
    acc: np.ndarray
    gyr: np.ndarray
    trunk_acc: np.ndarray | None = None
    trunk_gyr: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.t.shape[0])

    @property
    def has_trunk(self) -> bool:
        return self.trunk_acc is not None

    def rows(self, start: int, stop: int | None = None) -> SampleBlock:
        """Samples start..stop (a slice of rows), trunk included."""
        cut = slice(start, stop)
        if self.trunk_acc is None:
            return SampleBlock(self.t[cut], self.acc[cut], self.gyr[cut])
        ta, tg = self.trunk_acc[cut], self.trunk_gyr[cut]
        return SampleBlock(self.t[cut], self.acc[cut], self.gyr[cut], ta, tg)

    @staticmethod
    def empty() -> SampleBlock:
        return SampleBlock(np.empty(0), np.empty((0, 3)), np.empty((0, 3)))
