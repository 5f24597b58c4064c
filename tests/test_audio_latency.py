"""Cue latency through the real WAV renderer and the real PortAudio callback path (ALSA's null
device, since this machine has no sound hardware): the measurement script's own figures."""

import re
import subprocess
import sys


def test_cue_sound_starts_within_200_ms_of_the_step_in_wav_and_live_paths():
    command = [sys.executable, "-m", "imurun.coach.latency", "--null-device", "--live-seconds", "12"]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    figures = {m[1]: (int(m[2]), float(m[3]), float(m[4])) for m in re.finditer(
        r"^(.+?): (\d+) cues, ms median (-?[\d.]+), max (-?[\d.]+)$", proc.stdout, re.M)}
    wav = figures["wav: step emission -> sound onset"]
    assert wav[0] >= 10 and wav[2] == 0.0  # sample-exact: every cue's sound starts at its emission
    live = figures["live: total (target <= 200)"]
    assert live[0] >= 3 and 0.0 < live[2] <= 200.0
