"""Live audio through the real sounddevice/PortAudio. This machine has no sound device: asking for
live audio must give one notice line and a run that finishes with its cues as text."""

import pytest
import sounddevice as sd
from test_audio_wav import drive, faulty_session

from imurun.coach.live import open_live
from imurun.coach.profile import Cadence, Metronome, RunnerProfile
from imurun.coach.sink import CoachSink, build_outputs


def _has_output_device():
    try:
        return any(d["max_output_channels"] > 0 for d in sd.query_devices())
    except sd.PortAudioError:
        return False


pytestmark = pytest.mark.skipif(_has_output_device(), reason="needs a machine without a sound device")


def test_open_live_without_a_device_is_one_notice():
    notices = []
    assert open_live(0.3, notices.append) is None
    assert len(notices) == 1 and "no sound device" in notices[0] and "\n" not in notices[0]


def test_a_run_with_live_audio_requested_finishes_as_text(tmp_path, capsys):
    profile = RunnerProfile(cadence=Cadence(target_spm=165.0), metronome=Metronome(enabled=True))
    notices = []
    sink = CoachSink(profile, build_outputs(["live", f"wav:{tmp_path / 'w.wav'}"], profile, notices.append),
                     tmp_path / "cues.csv", notice=notices.append)
    drive(sink, faulty_session(), 135.0)
    assert len(notices) == 1
    expected = ["start", "level_hips", "quicker_steps", "level_hips", "quicker_steps"]
    assert [c.cue for c in sink.cues] == expected
    assert capsys.readouterr().out.count("\n") == len(expected)
    # The WAV output requested alongside still works: the whole session is in it.
    assert (tmp_path / "w.wav").stat().st_size > 134.9 * 22050 * 2
