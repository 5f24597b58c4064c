"""The bundled recordings replayed as `imurun replay` does (replay source -> Engine -> sinks), with
the coach writing cues.csv and a WAV: cues as their truth files imply, speech where the log says."""

import wave
from pathlib import Path

import numpy as np
import pytest
from test_coach_scenarios import PROFILE, baseline_target, check_fatigue

from imurun.coach.cues import read_cues_csv
from imurun.coach.sink import CoachSink, build_outputs
from imurun.pipeline import run_session
from imurun.session.paths import steps_path_for
from imurun.session.truth import read_steps_csv

RECORDINGS = Path(__file__).resolve().parent.parent / "imurun" / "recordings"


def replay(name, tmp_path):
    path = RECORDINGS / f"{name}.csv"
    sink = CoachSink(PROFILE, build_outputs([f"wav:{tmp_path / 'cues.wav'}"], PROFILE), tmp_path / "cues.csv",
                     console=None)
    run_session(path, [sink])
    return read_steps_csv(steps_path_for(path)), read_cues_csv(tmp_path / "cues.csv")


def test_fatigue_recording(tmp_path):
    truth, cues = replay("fatigue", tmp_path)
    check_fatigue(truth, cues, baseline_target(truth), tol_deg=0.7, tol_spm=2.5)
    with wave.open(str(tmp_path / "cues.wav")) as w:
        rate = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(float) / 32768
    # the WAV spans the session, and a cue spoken in its last seconds runs on to its end
    assert truth["t"][-1] - 2.0 <= len(x) / rate <= max(truth["t"][-1], cues[-1].t + 4.0) + 2.0
    loud = np.abs(x) > 0.02
    for cue in cues:  # the sound starts within 50 ms of the logged time, and is speech
        i, half = int(round(cue.t * rate)), rate // 2
        onset = i - half + int(np.argmax(loud[i - half : i + half]))
        assert abs(onset - i) / rate <= 0.05, (cue, (onset - i) / rate)
        assert np.sqrt(np.mean(x[onset : onset + half] ** 2)) > 0.05


@pytest.mark.parametrize("name", ["easy-run", "trunk"])
def test_good_form_recordings_get_only_the_start_reminder(tmp_path, name):
    """trunk: a second sensor gives real lumbar extension and trunk lean (10 deg: no cue)."""
    _, cues = replay(name, tmp_path)
    assert [c.cue for c in cues] == ["start"]


def test_overstride_recording(tmp_path):
    truth, cues = replay("overstride", tmp_path)
    quicker = [c for c in cues if c.cue == "quicker_steps"]
    assert {c.cue for c in cues} == {"start", "quicker_steps"} and len(quicker) == 4
    quiet_end = truth["t"][0] + PROFILE.timing.quiet_start_s
    assert quiet_end <= quicker[0].t <= quiet_end + 1.0
    assert all("braking" in c.reason for c in quicker)
