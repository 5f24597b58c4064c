"""SampleBlock: the unit every source produces and the engine consumes (docs/architecture.md)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class SampleBlock:
    """Consecutive samples on the session clock, in SI units and the sensor frame S.

    t: float64 (n,) seconds, 0 = first sample of the session; strictly increasing.
    acc: float64 (n, 3) m/s^2.  gyr: float64 (n, 3) rad/s.  NaN rows mark unusable samples.
    A time jump larger than the nominal period is a gap; the engine detects and flags it.
    """

    t: np.ndarray
    acc: np.ndarray
    gyr: np.ndarray

    def __len__(self) -> int:
        return int(self.t.shape[0])

    @staticmethod
    def empty() -> SampleBlock:
        return SampleBlock(np.empty(0), np.empty((0, 3)), np.empty((0, 3)))
