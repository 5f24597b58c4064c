"""Offline speech: espeak-ng renders each phrase once to PCM, kept for the rest of the process."""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np

SPEECH_RATE_HZ = 22050  # espeak-ng's native output rate


class SpeechUnavailable(Exception):
    """espeak-ng is missing or cannot say the phrase (e.g. unknown voice): one line why."""


def render_phrase(text: str, voice: str, rate_wpm: int) -> np.ndarray:
    """float32 mono PCM at SPEECH_RATE_HZ, leading/trailing silence trimmed so sound starts at once.

    Read-only result (it is shared through the cache).
    """
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise SpeechUnavailable("espeak-ng not found")
    return _render(exe, text, voice, rate_wpm)


@functools.lru_cache(maxsize=128)
def _render(exe: str, text: str, voice: str, rate_wpm: int) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "phrase.wav"
        cmd = [exe, "-v", voice, "-s", str(rate_wpm), "-w", str(path), "--", text]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        if proc.returncode != 0 or not path.is_file():
            why = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
            raise SpeechUnavailable(f"espeak-ng failed for voice {voice!r}: {why}")
        with wave.open(str(path), "rb") as w:
            if w.getsampwidth() != 2 or w.getnchannels() != 1:
                raise SpeechUnavailable("espeak-ng wrote an unexpected WAV format")
            rate = w.getframerate()
            pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768
    if rate != SPEECH_RATE_HZ:
        raise SpeechUnavailable(f"espeak-ng wrote {rate} Hz, expected {SPEECH_RATE_HZ}")
    loud = np.flatnonzero(np.abs(pcm) > 0.01)
    pcm = pcm[loud[0] : loud[-1] + 1] if loud.size else pcm[:0]
    pcm.flags.writeable = False
    return pcm
