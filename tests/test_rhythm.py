"""The check of a walk's detected cadence against the signal's autocorrelation (rhythm.doubled_step_s)."""

import numpy as np
import pytest

from imurun.core import state as S
from imurun.core.rhythm import doubled_step_s


def _ring(t: np.ndarray, sf: np.ndarray) -> tuple[np.ndarray, int]:
    ring = np.zeros((S.ring_capacity(100.0, 12.0), S.N_R))
    mask = ring.shape[0] - 1
    for i, (ti, x) in enumerate(zip(t, sf, strict=True)):
        ring[i & mask, S.R_T] = ti
        ring[i & mask, S.R_SF] = x
    return ring, len(t) - 1


def _slow_walk(step_s: float, rate: float = 100.0, seconds: float = 6.0, seed: int = 0) -> tuple:
    """sf of a slow walk: high in each step's double support, low in single support, where a
    mid-stance bump is a second maximum a step detector may take; left and right a little unlike."""
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, seconds, 1.0 / rate)
    phase = (t / step_s) % 1.0
    side = np.floor(t / step_s) % 2
    sf = (1.0 + (0.3 + 0.05 * side) * np.cos(2 * np.pi * (phase - 0.1))
          + 0.2 * np.exp(-(((phase - 0.6) / 0.06) ** 2)) + 0.02 * rng.standard_normal(t.size))
    return t, sf


def doubled(ring, idx, cadence_spm):
    return np.isfinite(doubled_step_s(ring, idx, cadence_spm))


@pytest.mark.parametrize("step_s", [0.8, 0.65])
@pytest.mark.parametrize("read_as", [2.0, 1.7])
def test_a_cadence_faster_than_the_signals_gives_the_signals_step(step_s, read_as):
    """Twice the true cadence (every mid-stance bump a step), or less: extra steps at a bout's start
    need not double it."""
    ring, idx = _ring(*_slow_walk(step_s))
    assert doubled_step_s(ring, idx, read_as * 60.0 / step_s) == pytest.approx(step_s, abs=0.03)


@pytest.mark.parametrize("step_s", [0.45, 0.4])
def test_a_fast_walk_read_at_its_own_cadence_is_not_doubled(step_s):
    ring, idx = _ring(*_slow_walk(step_s))
    assert not doubled(ring, idx, 60.0 / step_s)


def test_a_walk_read_under_120_spm_is_not_checked():
    ring, idx = _ring(*_slow_walk(1.1))  # 55 spm, read doubled as 109
    assert not doubled(ring, idx, 120.0 / 1.1)
    ring, idx = _ring(*_slow_walk(0.95))  # 63 spm, read doubled as 126
    assert doubled(ring, idx, 120.0 / 0.95)


def test_noise_and_a_short_ring_cannot_tell():
    rng = np.random.default_rng(1)
    t = np.arange(0.0, 6.0, 0.01)
    ring, idx = _ring(t, 1.0 + 0.1 * rng.standard_normal(t.size))
    assert not doubled(ring, idx, 150.0)
    ring, idx = _ring(*_slow_walk(0.8, seconds=1.0))  # the window is shorter than 2 x 0.4 s twice
    assert not doubled(ring, idx, 150.0)


def test_lost_samples_and_a_low_rate_leave_the_answer():
    t, sf = _slow_walk(0.8, rate=50.0)
    keep = np.ones(t.size, bool)
    keep[100:112] = False  # 0.24 s lost
    ring, idx = _ring(t[keep], sf[keep])
    assert doubled(ring, idx, 150.0)
    ring, idx = _ring(*_slow_walk(0.8, rate=16.0))  # bins of 50 ms without a sample
    assert doubled(ring, idx, 150.0)
