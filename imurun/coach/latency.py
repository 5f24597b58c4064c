"""Measure cue latency: step emission -> first sample of the cue's sound, WAV and live paths.

    python -m imurun.coach.latency [--null-device]

A synthetic run with a fault from the start and short cooldowns gives a cue every few seconds.
WAV: the onset found in the rendered samples minus the emission time. Live, fed in real time:
from the block reaching the sink to the audio callback picking the sound up (software path), and
from there to the DAC time of its first sample (device buffer; where the device reports no DAC
time, its nominal output latency). Needs a sound device; without hardware, `--null-device` points
ALSA at its `null` plugin (ALSA_CONFIG_PATH), which runs the whole software path, PortAudio's
callback included, but is not paced by a DAC.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

from imurun.blocks import SampleBlock
from imurun.coach.live import LiveOutput, open_live
from imurun.coach.profile import Cadence, RunnerProfile, Timing
from imurun.coach.sink import CoachSink
from imurun.coach.wav import WavOutput
from imurun.core.output import STEP_DTYPE, EngineOutput, Status

RATE_HZ, BLOCK = 200.0, 4  # a BLE-like block of 4 samples = 20 ms
EMIT_DELAY_S = 0.05


def _session(duration_s: float) -> np.ndarray:
    steps = np.zeros(int(duration_s * 170 / 60), dtype=STEP_DTYPE)
    steps["t"] = 0.5 + np.arange(len(steps)) * 60 / 170
    steps["side"] = np.where(np.arange(len(steps)) % 2 == 0, "L", "R")
    steps["activity"] = "run"
    steps["step_time_s"], steps["cadence_spm"] = 60 / 170, 170.0
    steps["pelvic_drop_deg"], steps["braking_mps"], steps["tilt_deg"] = 9.0, 0.7, 12.0
    steps["trunk_lean_deg"] = np.nan
    return steps


def _feed(sink: CoachSink, steps: np.ndarray, duration_s: float, live: LiveOutput | None) -> list[float]:
    """Blocks on the session clock; in real time when `live`. Returns stream times of cue blocks."""
    emit = steps["t"] + steps["step_time_s"] + EMIT_DELAY_S
    given: list[float] = []
    t0 = time.monotonic()
    for b in range(int(duration_s * RATE_HZ / BLOCK)):
        t = (b * BLOCK + np.arange(BLOCK)) / RATE_HZ
        if live is not None:
            time.sleep(max(0.0, t[-1] - (time.monotonic() - t0)))
        mine = steps[(emit > t[0] - 1 / RATE_HZ) & (emit <= t[-1])]
        arrived = live.time if live is not None else 0.0
        n = len(sink.cues)
        block = SampleBlock(t, np.zeros((BLOCK, 3)), np.zeros((BLOCK, 3)))
        sink.consume(block, EngineOutput(mine, Status(t=t[-1])))
        given += [arrived] * (len(sink.cues) - n)
    sink.close()
    return given


def _profile() -> RunnerProfile:
    timing = Timing(quiet_start_s=0.0, any_cooldown_s=2.5, cue_cooldown_s=5.0)
    return RunnerProfile(cadence=Cadence(target_spm=170.0), timing=timing)


def wav_latencies(duration_s: float = 60.0) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cues.wav"
        sink = CoachSink(_profile(), [WavOutput(path, 0.3)], console=None)
        _feed(sink, _session(duration_s), duration_s, None)
        with wave.open(str(path)) as w:
            rate = w.getframerate()
            x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(float) / 32768
    loud = np.abs(x) > 0.01
    out = []
    for cue in sink.cues:
        i = int(round(cue.t * rate))
        after = np.flatnonzero(loud[i:])
        if after.size == 0:
            raise RuntimeError(f"the cue at {cue.t:.3f} s left no sound in the WAV")
        out.append(after[0] / rate)  # emission time (sample i) -> onset
    return np.asarray(out)


def live_latencies(duration_s: float = 20.0) -> tuple[np.ndarray, np.ndarray] | None:
    """(software path, device buffer) per cue, s; None without a sound device."""
    live = open_live(0.3, lambda m: print(f"live: {m}"))
    if live is None:
        return None
    sink = CoachSink(_profile(), [live], console=None)
    arrived = np.asarray(_feed(sink, _session(duration_s), duration_s, live))
    _, picked, dac = np.asarray(live.started).T
    buffer = dac - picked
    buffer[buffer <= 0] = live.output_latency_s  # the device reports no DAC time
    return picked - arrived[: len(picked)], buffer


def _report(name: str, lat: np.ndarray) -> None:
    ms = lat * 1000
    print(f"{name}: {len(ms)} cues, ms median {np.median(ms):.1f}, max {ms.max():.1f}")


NULL_ALSA_CONFIG = "pcm.!default { type null }\nctl.!default { type hw card 0 }\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m imurun.coach.latency", description=__doc__.split("\n")[0])
    ap.add_argument("--null-device", action="store_true", help="live path on ALSA's null device")
    ap.add_argument("--live-seconds", type=float, default=20.0, help="length of the real-time live run")
    args = ap.parse_args(argv)
    if args.null_device:  # before PortAudio starts: it reads the ALSA configuration once
        config = Path(tempfile.mkdtemp()) / "asound-null.conf"
        config.write_text(NULL_ALSA_CONFIG)
        os.environ["ALSA_CONFIG_PATH"] = str(config)
    print(f"machine: {platform.machine()} {platform.processor() or ''} python {sys.version.split()[0]}")
    _report("wav: step emission -> sound onset", wav_latencies())
    live = live_latencies(args.live_seconds)
    if live is not None:
        software, buffer = live
        _report("live: block at the sink -> callback picks the sound up", software)
        _report("live: callback -> DAC (device buffer)", buffer)
        _report("live: total (target <= 200)", software + buffer)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
