"""Mixes scheduled sounds and a metronome into consecutive windows of one output's sample clock.

Used by both outputs: the WAV renderer's clock is session time x rate, the live output's is the
frame count of its audio callback. Windows must be rendered in order, without overlap.
"""

from __future__ import annotations

import math

import numpy as np


class Mixer:
    def __init__(self, click: np.ndarray):
        self._click = click
        self._sounds: list[tuple[int, np.ndarray]] = []  # (first sample, pcm), not yet fully rendered
        # Metronome segments (first click sample, samples per beat, end sample); end = inf while on.
        self._beats: list[tuple[int, float, float]] = []

    @property
    def busy(self) -> bool:
        """Sounds still to play (the metronome does not count)."""
        return bool(self._sounds)

    def add(self, start: int, pcm: np.ndarray) -> None:
        if pcm.size:
            self._sounds.append((start, pcm))

    def set_metronome(self, start: int, beats_per_min: float | None, rate_hz: int) -> None:
        """From sample `start` click at this rate (None: stop). Clicks fall on start + k x period."""
        if self._beats and math.isinf(self._beats[-1][2]):
            first, period, _ = self._beats.pop()
            self._beats.append((first, period, start))
        if beats_per_min:
            self._beats.append((start, rate_hz * 60.0 / beats_per_min, math.inf))

    def render(self, start: int, n: int) -> np.ndarray:
        out = np.zeros(n, dtype=np.float32)
        end = start + n
        for first, pcm in self._sounds:
            _add(out, start, first, pcm)
        for first, period, stop in self._beats:
            k0 = max(0, math.ceil((start - len(self._click) + 1 - first) / period))
            k = k0
            while (pos := first + round(k * period)) < min(end, stop):
                _add(out, start, pos, self._click)
                k += 1
        self._sounds = [(f, p) for f, p in self._sounds if f + len(p) > end]
        self._beats = [b for b in self._beats if b[2] + len(self._click) > end]
        np.clip(out, -1.0, 1.0, out=out)
        return out


def _add(out: np.ndarray, start: int, first: int, pcm: np.ndarray) -> None:
    lo, hi = max(start, first), min(start + len(out), first + len(pcm))
    if lo < hi:
        out[lo - start : hi - start] += pcm[lo - first : hi - first]
