"""Real audio rendered to WAV and listened to with numpy: speech where the cue log says, metronome
clicks at the target cadence, and no speech (one notice) when espeak-ng is missing."""

import wave

import numpy as np
import pytest
from test_coach_rules import EMIT_DELAY, run_steps

from imurun.blocks import SampleBlock
from imurun.coach.cues import read_cues_csv
from imurun.coach.profile import Cadence, Metronome, RunnerProfile
from imurun.coach.sink import CoachSink, build_outputs
from imurun.core.output import EngineOutput, Status

BLOCK_S = 0.1  # 20 samples at 200 Hz


def drive(sink, steps, duration_s, rate_hz=200.0):
    """Blocks of 20 samples; each step is delivered by the block in which it is emitted."""
    emit = steps["t"] + steps["step_time_s"] + EMIT_DELAY
    n_block = int(BLOCK_S * rate_hz)
    for b in range(int(duration_s / BLOCK_S)):
        t = (b * n_block + np.arange(n_block)) / rate_hz
        mine = steps[(emit > t[0] - 1 / rate_hz) & (emit <= t[-1])]
        status = Status(t=t[-1], activity="run" if t[-1] >= steps["t"][0] else "still")
        block = SampleBlock(t, np.zeros((n_block, 3)), np.zeros((n_block, 3)))
        sink.consume(block, EngineOutput(mine, status))
    sink.close()


def read_wav(path):
    with wave.open(str(path)) as w:
        rate = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(float) / 32768
    return x, rate


def faulty_session():
    """2 min: good form, a right hip drop from 40 s and overstriding from 60 s."""
    steps = run_steps(2.0, 360, cadence=165.0)
    steps["pelvic_drop_deg"][(steps["t"] >= 40.0) & (steps["side"] == "L")] = 9.5
    steps["braking_mps"][steps["t"] >= 60.0] = 0.7
    return steps


def test_speech_is_in_the_wav_where_the_cue_log_says(tmp_path, capsys):
    profile = RunnerProfile(cadence=Cadence(target_spm=165.0))
    notices = []
    sink = CoachSink(profile, build_outputs([f"wav:{tmp_path / 'a.wav'}"], profile), tmp_path / "cues.csv",
                     notice=notices.append)
    drive(sink, faulty_session(), 135.0)
    x, rate = read_wav(tmp_path / "a.wav")
    logged = read_cues_csv(tmp_path / "cues.csv")
    assert notices == []
    assert [c.cue for c in logged] == ["start", "level_hips", "quicker_steps", "level_hips", "quicker_steps"]
    assert [(c.t, c.side) for c in logged] == [(round(c.t, 3), c.side) for c in sink.cues]
    printed = capsys.readouterr().out
    assert "Right hip dropping. Level your hips." in printed and printed.count("\n") == len(logged)
    loud = np.abs(x) > 0.02
    for cue in logged:
        i = int(round(cue.t * rate))
        onset = i - int(0.3 * rate) + int(np.argmax(loud[i - int(0.3 * rate) :]))
        latency_s = (onset - i) / rate  # sound start after the step's emission time
        assert 0.0 <= latency_s <= 0.05, (cue, latency_s)
        speech = x[i : i + int(0.5 * rate)]
        assert np.sqrt(np.mean(speech**2)) > 0.05  # speech energy, not a click
    # Silence away from the cues (no metronome here): nothing between 10 s and the first fault.
    assert not loud[int(10 * rate) : int(logged[1].t * rate) - 1].any()


def test_metronome_clicks_at_the_target_cadence(tmp_path):
    profile = RunnerProfile(cadence=Cadence(target_spm=172.0), metronome=Metronome(enabled=True, volume=0.3))
    sink = CoachSink(profile, build_outputs([f"wav:{tmp_path / 'm.wav'}"], profile), console=None)
    drive(sink, run_steps(2.0, 250, cadence=172.0), 80.0)
    x, rate = read_wav(tmp_path / "m.wav")
    speech_end = int((sink.cues[0].t + 4.0) * rate)  # only the start reminder is spoken
    assert len(sink.cues) == 1
    hits = np.flatnonzero(np.abs(x[speech_end:]) > 0.1) + speech_end
    onsets = hits[np.r_[True, np.diff(hits) > 0.05 * rate]]
    period = rate * 60.0 / 172.0
    intervals = np.diff(onsets)
    assert len(onsets) > 150
    assert np.all(np.abs(intervals - period) <= 1.0)  # sample-exact, rounding only
    assert abs(np.mean(intervals) - period) < 0.01
    # Clicks start with running (first running block at 2.0 s) and stop at the end.
    first_click = np.flatnonzero(np.abs(x) > 0.1)[0] / rate
    assert first_click == pytest.approx(2.0, abs=BLOCK_S)


def test_without_espeak_cues_are_text_only_with_one_notice(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # no espeak-ng on it
    profile = RunnerProfile(cadence=Cadence(target_spm=165.0), metronome=Metronome(enabled=True))
    notices = []
    sink = CoachSink(profile, build_outputs([f"wav:{tmp_path / 'b.wav'}"], profile), notice=notices.append)
    drive(sink, faulty_session(), 135.0)
    assert len(notices) == 1 and "espeak-ng not found" in notices[0]
    assert len(sink.cues) == 5 and capsys.readouterr().out.count("\n") == 5
    x, rate = read_wav(tmp_path / "b.wav")
    i = int(round(sink.cues[1].t * rate))
    assert np.sqrt(np.mean(x[i : i + rate // 2] ** 2)) < 0.05  # clicks only, no speech


def test_unknown_voice_is_one_notice_not_a_crash(tmp_path):
    from dataclasses import replace

    profile = RunnerProfile()
    profile = replace(profile, voice=replace(profile.voice, name="xx"))
    notices = []
    sink = CoachSink(profile, build_outputs([f"wav:{tmp_path / 'c.wav'}"], profile), console=None,
                     notice=notices.append)
    drive(sink, run_steps(0.5, 30), 10.0)
    assert len(notices) == 1 and "'xx'" in notices[0]
    assert [c.cue for c in sink.cues] == ["start"]


def test_an_output_failing_mid_run_is_dropped_with_one_notice(tmp_path):
    profile = RunnerProfile(cadence=Cadence(target_spm=165.0))
    notices = []
    sink = CoachSink(profile, build_outputs(["wav:/dev/full"], profile), tmp_path / "cues.csv", console=None,
                     notice=notices.append)
    drive(sink, faulty_session(), 135.0)
    assert len(notices) == 1 and "WavOutput failed" in notices[0] and "No space left" in notices[0]
    assert sink.outputs == [] and len(read_cues_csv(tmp_path / "cues.csv")) == 5
