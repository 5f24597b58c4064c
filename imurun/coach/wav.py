"""WAV renderer: every sound placed sample-exactly at its session time (replay and tests)."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from imurun.coach.mixer import Mixer
from imurun.coach.speech import SPEECH_RATE_HZ
from imurun.coach.tones import click
from imurun.errors import InputError
from imurun.outputs import open_fresh


class WavOutput:
    """Mono 16-bit WAV whose sample i is session time i / rate; written as the session advances."""

    def __init__(self, path: Path, metronome_volume: float, rate_hz: int = SPEECH_RATE_HZ):
        self.path = Path(path)
        self.rate_hz = rate_hz
        self._mixer = Mixer(click(rate_hz, metronome_volume))
        self._written = 0
        try:
            self._file = open_fresh(self.path, "wb")
        except OSError as exc:
            raise InputError(self.path, f"cannot write audio: {exc.strerror}") from None
        self._wav = wave.open(self._file, "wb")
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(rate_hz)

    def _sample(self, t: float) -> int:
        return max(int(round(t * self.rate_hz)), 0)

    def play(self, t: float, pcm: np.ndarray) -> None:
        start = self._sample(t)
        if start < self._written:
            raise ValueError(f"sound at {t:.3f} s is before the audio already written")
        self._mixer.add(start, pcm)

    def set_metronome(self, t: float, beats_per_min: float | None) -> None:
        self._mixer.set_metronome(max(self._sample(t), self._written), beats_per_min, self.rate_hz)

    def advance(self, t: float) -> None:
        """Session time reached t: nothing can be scheduled before it any more, so write up to it."""
        self._write_until(self._sample(t))

    def close(self) -> None:
        """Stop the metronome and write until the last sound has finished."""
        try:
            self._mixer.set_metronome(self._written, None, self.rate_hz)
            while self._mixer.busy:
                self._write_until(self._written + self.rate_hz)
        finally:
            self._wav.close()
            self._file.close()  # wave closes only files it opened itself

    def _write_until(self, end: int) -> None:
        if end > self._written:
            pcm = self._mixer.render(self._written, end - self._written)
            # Raw: the header's sizes are patched once at close, not after every block.
            self._wav.writeframesraw((pcm * 32767).astype("<i2").tobytes())
            self._written = end
