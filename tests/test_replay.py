"""The pipeline and `imurun replay`: same steps as the engine on the whole file, sinks always closed."""

import re
from pathlib import Path

import numpy as np
import pytest
from realdata import REAL

from imurun.blocks import SampleBlock
from imurun.core.engine import Engine
from imurun.pipeline import Pipeline

STEP_LINE = re.compile(r"^step t=\s*(-?[0-9.]+) s ([LR]) ")  # the one console format, live and replayed


class Collect:
    """A sink that keeps every step row and records when it was closed."""

    def __init__(self, log=None, name=""):
        self.rows, self.closed, self.log, self.name = [], False, log, name

    def consume(self, block, out):
        self.rows.append(out.steps)

    def close(self):
        self.closed = True
        if self.log is not None:
            self.log.append(self.name)

    @property
    def steps(self):
        return np.concatenate(self.rows)


@pytest.fixture(scope="module")
def real():
    d = np.genfromtxt(REAL / "HA_001_Test5_Trial1.csv", delimiter=",", comments="#", skip_header=9)
    return d[:, 0], d[:, 1:4], np.deg2rad(d[:, 4:7])


def _blocks(t, acc, gyr, n):
    return (SampleBlock(t[i : i + n], acc[i : i + n], gyr[i : i + n]) for i in range(0, len(t), n))


def test_pipeline_gives_the_engine_steps_and_final_status(real):
    t, acc, gyr = real
    eng = Engine(100.0)
    whole = eng.process(t, acc, gyr)
    last = eng.finish()  # the stream's end: the last bout's closing step
    sink = Collect()
    status = Pipeline(Engine(100.0), [sink]).run(_blocks(t, acc, gyr, 37))
    assert len(whole.steps) >= 5
    assert sink.steps.tobytes() == np.concatenate([whole.steps, last.steps]).tobytes()
    assert status == last.status
    assert sink.closed


def test_pipeline_skips_empty_blocks_and_returns_status_without_blocks(real):
    t, acc, gyr = real
    sink = Collect()
    pipe = Pipeline(Engine(100.0), [sink])
    assert pipe.feed(SampleBlock.empty()) is None and sink.rows == []  # no sink sees it
    pipe.feed(SampleBlock(t, acc, gyr))
    assert len(sink.rows) == 1 and pipe.close().samples == len(t)
    assert Pipeline(Engine(100.0), [Collect()]).run([]).samples == 0


def test_pipeline_trunk_samples_in_the_block_reach_the_engine(real):
    t, acc, gyr = real
    blocks = (SampleBlock(b.t, b.acc, b.gyr, b.acc, b.gyr) for b in _blocks(t, acc, gyr, 50))
    assert Pipeline(Engine(100.0), [Collect()]).run(blocks).trunk
    assert not Pipeline(Engine(100.0), [Collect()]).run(_blocks(t, acc, gyr, 50)).trunk


def test_sink_order_is_declared_and_checked_not_implied():
    from imurun.pipeline import check_order

    first, reader, speaker = Collect(), Collect(), Collect()
    reader.after = (first,)  # reads what `first` did with the same block
    speaker.before = (first,)  # must be heard before `first`
    check_order([speaker, first, reader])
    pipeline = Pipeline(Engine(100.0), [first])
    with pytest.raises(ValueError, match="must come before"):
        pipeline.add(speaker)
    with pytest.raises(ValueError, match="must come after"):
        Pipeline(Engine(100.0), [reader, first])
    assert pipeline.add(reader) is reader and pipeline.sinks == [first, reader]


@pytest.mark.parametrize("error", [RuntimeError("source broke"), KeyboardInterrupt()])
def test_sinks_are_closed_in_order_when_the_source_fails(real, error):
    t, acc, gyr = real

    def failing():
        yield from list(_blocks(t, acc, gyr, 100))[:3]
        raise error

    log = []
    sinks = [Collect(log, "first"), Collect(log, "second")]
    with pytest.raises(type(error)):
        Pipeline(Engine(100.0), sinks).run(failing())
    assert log == ["first", "second"]
    assert len(sinks[0].rows) == 3


def test_a_failing_close_does_not_leave_other_sinks_open(real):
    t, acc, gyr = real

    class BadClose(Collect):
        def close(self):
            super().close()
            raise OSError("disk full")

    after = Collect()
    with pytest.raises(OSError, match="disk full"):
        Pipeline(Engine(100.0), [BadClose(), after]).run(_blocks(t, acc, gyr, 100))
    assert after.closed


# --- the replay source and `imurun replay` on session files ------------------------------------


@pytest.fixture(scope="module")
def run_file(tmp_path_factory):
    from imurun.sources.simulate import simulate, write_files

    path = tmp_path_factory.mktemp("sim") / "run.csv"  # with run.trunk.csv: the trunk path is replayed too
    write_files(simulate("trunk", seed=5, rate_hz=200.0, duration_s=20.0), path)
    return path


def test_replay_gives_exactly_the_analyze_steps(run_file):
    from imurun.analyze import analyze
    from imurun.pipeline import run_session

    expected, _ = analyze(run_file)
    sink = Collect()
    assert run_session(run_file, [sink], block_s=0.05).trunk
    assert len(expected) >= 20
    # one consume per 50 ms block of the 20 s session, and one for the last bout's last step
    assert len(sink.rows) == 401 and len(sink.rows[-1]) == 1
    assert sink.steps.tobytes() == expected.tobytes()


def test_replay_blocks_are_50ms_and_paced_by_the_wall_clock(run_file):
    import time

    from imurun.sources.replay import replay_blocks

    start = time.monotonic()
    blocks = []
    for block in replay_blocks(run_file, block_s=0.05, speed=8.0):
        blocks.append(block)
        if block.t[-1] >= 2.0:
            break
    elapsed = time.monotonic() - start
    assert {len(b) for b in blocks} == {10}  # 50 ms at 200 Hz
    assert elapsed >= (blocks[-1].t[-1] - blocks[0].t[0]) / 8.0
    assert elapsed < 2.0  # 2 s of session at 8x: about 0.25 s, nowhere near real time


def _trunk_file(path, t, values):
    from imurun.session.format import SessionHeader
    from imurun.session.writer import SessionWriter

    with SessionWriter(path, SessionHeader(sample_rate_hz=100.0)) as w:
        w.write(t, values, values)
    return path


def test_trunk_is_put_on_the_pelvis_clock(tmp_path):
    from imurun.sources.replay import with_trunk

    t = np.arange(0, 2, 0.01)
    ramp = np.column_stack([t, 2 * t, -t])
    path = _trunk_file(tmp_path / "x.trunk.csv", t + 0.004, ramp)  # the trunk's own clock, 4 ms late
    pelvis_t = t[10:150]
    parts = [SampleBlock(p, 0 * ramp[: len(p)], 0 * ramp[: len(p)]) for p in np.array_split(pelvis_t, 9)]
    got = list(with_trunk(parts, path, rows=7))  # chunks smaller than the blocks asked for
    assert [len(g) for g in got] == [len(p) for p in parts]
    acc = np.concatenate([g.trunk_acc for g in got])
    expected = np.column_stack([pelvis_t, 2 * pelvis_t, -pelvis_t]) - np.array([0.004, 0.008, -0.004])
    assert np.allclose(acc, expected, atol=1e-5)


def test_trunk_rule_start_gap_and_end(tmp_path):
    """Before the trunk's first sample the pelvis goes on alone (a block of its own); across a trunk
    gap longer than TRUNK_GAP_S and after its end, its last sample is held; a shorter gap (a lost
    packet or two) is interpolated."""
    from imurun.sources.replay import with_trunk
    from imurun.sources.trunk import TRUNK_GAP_S

    t = np.round(np.arange(0.5, 3.0, 0.01), 6)  # as the file holds them
    t = t[(t < 1.0) | (t > 1.04)]  # 0.99 -> 1.05: interpolated
    t = t[(t < 2.0) | (t > 2.5)]  # 1.99 -> 2.51: held
    assert np.diff(t).max() > TRUNK_GAP_S > 0.06
    ramp = np.column_stack([t, t, t])
    path = _trunk_file(tmp_path / "x.trunk.csv", t, ramp)
    pelvis = np.arange(0.0, 4.0, 0.005)
    got = list(with_trunk([SampleBlock(pelvis, np.zeros((800, 3)), np.zeros((800, 3)))], path))
    assert [g.has_trunk for g in got] == [False, True] and got[1].t[0] == pytest.approx(0.5)
    tt, v = got[1].t, got[1].trunk_acc[:, 0]
    held = ((tt > 1.99) & (tt < 2.51)) | (tt > t[-1])
    assert np.all(v[(tt > 1.99) & (tt < 2.51)] == 1.99) and np.all(v[tt > t[-1]] == t[-1])
    assert np.allclose(v[~held], tt[~held]) and np.any((tt > 1.0) & (tt < 1.04))


def test_replay_cli_prints_one_line_per_step_and_a_summary(run_file, capsys):
    from imurun.analyze import analyze
    from imurun.cli import main

    expected, _ = analyze(run_file)
    assert main(["replay", str(run_file), "--speed", "max", "--no-coach"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(expected) + 1
    printed = [STEP_LINE.match(line) for line in lines[:-1]]
    assert [float(m[1]) for m in printed] == pytest.approx(expected["t"], abs=5e-4)
    assert [m[2] for m in printed] == list(expected["side"])
    assert lines[-1].startswith(f"replay: 20.0 s, {len(expected)} steps")

    assert main(["replay", str(run_file), "--speed", "max", "--per-second", "--no-coach"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 20 + 1  # seconds 0..19 (the last sample is at 19.995 s) and the summary
    assert sum(int(line.split()[5]) for line in lines[:-1]) == len(expected)


@pytest.mark.parametrize("speed", ["0", "-2", "fast"])
def test_bad_speed_is_a_usage_error(run_file, speed):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "imurun", "replay", str(run_file), "--speed", speed],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "speed must be a positive number or 'max'" in proc.stderr


def test_replay_coaches_with_audio_requested_and_no_sound_device(tmp_path):
    """The coach runs in replays; no sound device: one notice, cues as text, the WAV still written."""
    import subprocess
    import sys
    import wave

    from imurun.coach.cues import read_cues_csv

    fatigue = Path(__file__).resolve().parents[1] / "imurun" / "recordings" / "fatigue.csv"
    wav = tmp_path / "cues.wav"
    proc = subprocess.run(
        [sys.executable, "-m", "imurun", "replay", str(fatigue), "--speed", "max", "--per-second",
         "--audio", "live", "--audio", f"wav:{wav}", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    notices = proc.stderr.splitlines()
    assert len(notices) == 1 and "no sound device" in notices[0]
    cues = read_cues_csv(tmp_path / "cues.csv")
    assert {c.cue for c in cues} >= {"start", "level_hips", "quicker_steps", "ease_arch"}
    printed = [line for line in proc.stdout.splitlines() if line.startswith("[")]
    assert len(printed) == len(cues)
    with wave.open(str(wav)) as w:  # the session's 420 s, and a cue near its end runs on
        assert 419.0 <= w.getnframes() / w.getframerate() <= max(420.0, cues[-1].t + 4.0) + 1.0


def test_replay_screenshot_at_a_time(tmp_path, capsys):
    from PySide6.QtGui import QImage

    from imurun.cli import main

    fatigue = Path(__file__).resolve().parents[1] / "imurun" / "recordings" / "fatigue.csv"
    png = tmp_path / "at90.png"
    assert main(["replay", str(fatigue), "--screenshot", str(png), "--at", "90", "--theme", "light"]) == 0
    image = QImage(str(png))
    assert (image.width(), image.height()) == (1600, 900)
    assert "at 90 s" in capsys.readouterr().out
    assert main(["replay", str(fatigue), "--screenshot", str(png)]) == 2
    assert "--screenshot needs --at" in capsys.readouterr().err
    assert main(["replay", str(fatigue), "--at", "5"]) == 2
