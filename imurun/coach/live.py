"""Live sound through PortAudio (sounddevice): cues play as soon as they are given.

Without a sound device the output is not created: `open_live` says so in one line and the run
carries on (text, and a WAV if one was asked for).
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable

import numpy as np

from imurun.coach.mixer import Mixer
from imurun.coach.tones import click


class LiveOutput:
    def __init__(self, sd: object, metronome_volume: float):
        dev = sd.query_devices(kind="output")
        self.rate_hz = int(dev["default_samplerate"])
        self._mixer = Mixer(click(self.rate_hz, metronome_volume))
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()  # main thread -> audio callback
        self._pos = 0  # frames rendered by the callback
        # Per sound, on the PortAudio stream clock: (queued by play(), picked up by the callback,
        # DAC time of its first sample) -- for measuring latency (imurun.coach.latency).
        self.started: list[tuple[float, float, float]] = []
        self._stream = sd.OutputStream(
            samplerate=self.rate_hz, channels=1, dtype="float32", latency="low", callback=self._callback
        )
        self._stream.start()

    @property
    def time(self) -> float:
        """Now on the PortAudio stream clock (the clock of the times in `started`)."""
        return self._stream.time

    @property
    def output_latency_s(self) -> float:
        """The device's output latency as PortAudio reports it."""
        return float(self._stream.latency)

    def play(self, t: float, pcm: np.ndarray) -> None:
        self._inbox.put(("sound", pcm, self._stream.time))

    def set_metronome(self, t: float, beats_per_min: float | None) -> None:
        self._inbox.put(("metronome", beats_per_min, self._stream.time))

    def advance(self, t: float) -> None:
        """Live sound follows the wall clock; nothing to do."""

    def close(self) -> None:
        """Let the sounds already given finish (at most 5 s), then release the device."""
        self.set_metronome(0.0, None)
        deadline = time.monotonic() + 5.0
        while (self._mixer.busy or not self._inbox.empty()) and time.monotonic() < deadline:
            time.sleep(0.02)
        self._stream.stop()
        self._stream.close()

    def _callback(self, outdata: np.ndarray, frames: int, time_info: object, status: object) -> None:
        while True:
            try:
                kind, payload, queued_at = self._inbox.get_nowait()
            except queue.Empty:
                break
            if kind == "sound":
                self._mixer.add(self._pos, payload)
                self.started.append((queued_at, time_info.currentTime, time_info.outputBufferDacTime))
            else:
                self._mixer.set_metronome(self._pos, payload, self.rate_hz)
        outdata[:, 0] = self._mixer.render(self._pos, frames)
        self._pos += frames


def open_live(metronome_volume: float, notice: Callable[[str], None]) -> LiveOutput | None:
    """The live output, or None after a one-line notice when there is no usable sound device."""
    try:
        import sounddevice as sd
    except OSError as exc:  # PortAudio library missing
        notice(f"no sound output ({exc}); coaching continues as text")
        return None
    try:
        return LiveOutput(sd, metronome_volume)
    except (sd.PortAudioError, ValueError) as exc:
        notice(f"no sound device ({exc}); coaching continues as text")
        return None
