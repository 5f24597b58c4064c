"""Synthesised sounds: metronome click, praise chime, and resampling to an output's rate."""

from __future__ import annotations

from math import gcd

import numpy as np
from scipy.signal import resample_poly


def tone(freq_hz: float, duration_s: float, rate_hz: int, volume: float) -> np.ndarray:
    """A sine with 5 ms raised-cosine edges (no clicks at its ends)."""
    n = int(round(duration_s * rate_hz))
    t = np.arange(n) / rate_hz
    env = np.ones(n)
    edge = min(int(0.005 * rate_hz), n // 2)
    if edge:
        ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(edge) / edge)
        env[:edge], env[n - edge :] = ramp, ramp[::-1]
    return (volume * env * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def click(rate_hz: int, volume: float) -> np.ndarray:
    """Metronome tick: 15 ms of 2 kHz with a fast exponential decay, loud from its first sample."""
    n = int(round(0.015 * rate_hz))
    t = np.arange(n) / rate_hz
    return (volume * np.exp(-t / 0.003) * np.sin(2 * np.pi * 2000 * t + np.pi / 2)).astype(np.float32)


def chime(rate_hz: int, volume: float) -> np.ndarray:
    """Rising two-note chime that leads the praise phrase."""
    gap = np.zeros(int(0.03 * rate_hz), dtype=np.float32)
    return np.concatenate([tone(660, 0.09, rate_hz, volume), gap, tone(880, 0.14, rate_hz, volume), gap])


def resample(pcm: np.ndarray, from_hz: int, to_hz: int) -> np.ndarray:
    if from_hz == to_hz:
        return pcm
    g = gcd(from_hz, to_hz)
    return resample_poly(pcm, to_hz // g, from_hz // g).astype(np.float32)
