"""Hostile-but-fair input (issue 14): a clear one-line error (exit 2) or a correct result, never a
traceback, a hang, silent nonsense or a lost file. docs/bad-input.md lists the cases."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imurun.cli import main as cli_main
from imurun.errors import InputError
from imurun.session.format import STANDARD_GRAVITY, SessionHeader
from imurun.session.writer import SessionWriter

ROOT = Path(__file__).resolve().parent.parent
FATIGUE = ROOT / "imurun" / "recordings" / "fatigue.csv"


@pytest.fixture(scope="module")
def sim():
    from imurun.sources.simulate import simulate

    return simulate("easy-run", seed=3, duration_s=40.0)


def write_session(path: Path, t, acc, gyr, *, rate=200.0, acc_unit="m/s^2", gyr_unit="rad/s") -> Path:
    """A session whose file holds exactly `acc`/`gyr` in the given units (no conversion)."""
    header = SessionHeader(device="test", sample_rate_hz=rate, acc_unit=acc_unit, gyr_unit=gyr_unit)
    from imurun.session.format import ACC_UNITS, GYR_UNITS

    with SessionWriter(path, header) as w:
        w.write(np.asarray(t, float), np.asarray(acc) * ACC_UNITS[acc_unit],
                np.asarray(gyr) * GYR_UNITS[gyr_unit])
    return path


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli_main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code: int, err: str, *words: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert len(lines) == 1 and "Traceback" not in err, err
    for word in words:
        assert word in lines[0], lines[0]


# --- hangs and silent wrong results -----------------------------------------------------------


@pytest.mark.parametrize("start", [1.0e7, 1.7e9])
def test_a_clock_starting_anywhere_gives_the_same_run(tmp_path, capsys, sim, start):
    """Epoch-valued t: no per-minute rows since t = 0, duration = last - first, same steps."""
    from imurun.analyze import analyze

    plain = write_session(tmp_path / "plain.csv", sim.t, sim.acc, sim.gyr)
    shifted = write_session(tmp_path / "epoch.csv", sim.t + start, sim.acc, sim.gyr)
    steps0, s0 = analyze(plain)
    steps1, s1 = analyze(shifted)
    assert s1["duration_s"] == pytest.approx(sim.t[-1] - sim.t[0], abs=1e-3)
    assert s1["start_s"] == pytest.approx(start + sim.t[0])
    assert len(s1["splits"]) == len(s0["splits"]) == 1
    assert abs(len(steps1) - len(steps0)) <= 1 and len(steps0) > 40


def test_the_report_of_an_epoch_clock_counts_from_the_first_sample(tmp_path, capsys, sim):
    path = write_session(tmp_path / "epoch.csv", sim.t + 1.7e9, sim.acc, sim.gyr)
    code, _, err = cli(capsys, "report", path)
    assert code == 0, err
    page = path.with_suffix(".report.html").read_text()
    assert 'data-key="splits.1.steps"' not in page  # one 40 s split, not 28 million
    steps = int(page.split('data-key="splits.0.steps" data-value="')[1].split('"')[0])
    assert steps > 40


def test_duration_is_last_minus_first_sample(tmp_path, sim):
    from imurun.analyze import analyze

    path = write_session(tmp_path / "neg.csv", sim.t - 100.0, sim.acc, sim.gyr)
    _, summary = analyze(path)
    assert summary["duration_s"] == pytest.approx(sim.t[-1] - sim.t[0], abs=1e-3)


def test_a_huge_time_jump_is_refused_not_laid_out(tmp_path, capsys, sim):
    t = sim.t.copy()
    t[len(t) // 2:] += 1.0e6  # 11.6 days: a second recording appended, not a pause
    path = write_session(tmp_path / "gap.csv", t, sim.acc, sim.gyr)
    code, _, err = cli(capsys, "analyze", path, "--out", tmp_path / "out")
    one_line_error(code, err, str(path), "more than a day")
    assert not (tmp_path / "out").exists()


def test_a_long_pause_is_one_split_row(tmp_path, sim):
    """Twenty hours without samples: one row for the whole stretch, not 1200."""
    from imurun.analyze import analyze

    t = sim.t.copy()
    t[len(t) // 2:] += 20 * 3600.0
    _, summary = analyze(write_session(tmp_path / "pause.csv", t, sim.acc, sim.gyr))
    rows = [(s["t0_s"], s["t1_s"]) for s in summary["splits"]]
    assert len(rows) == 3 and rows[1] == (60.0, 1200 * 60.0), rows
    assert summary["duration_s"] == pytest.approx(t[-1] - t[0])


def test_all_nan_data_reports_its_honest_duration(tmp_path):
    from imurun.analyze import analyze

    n = 1000
    t = np.arange(n) / 200.0
    nan = np.full((n, 3), np.nan)
    _, summary = analyze(write_session(tmp_path / "nan.csv", t, nan, nan))
    assert summary["duration_s"] == pytest.approx(t[-1])
    assert summary["quality"]["nan_samples"] == n and summary["steps"] == 0


def test_a_one_row_trunk_file_is_refused(tmp_path, capsys, sim):
    path = write_session(tmp_path / "run.csv", sim.t, sim.acc, sim.gyr)
    write_session(tmp_path / "run.trunk.csv", sim.t[:1], sim.acc[:1], sim.gyr[:1])
    code, _, err = cli(capsys, "analyze", path, "--out", tmp_path / "out")
    one_line_error(code, err, "run.trunk.csv", "only 1 samples")


def test_a_trunk_file_beside_the_session_is_refused(tmp_path, capsys, sim):
    path = write_session(tmp_path / "run.csv", sim.t, sim.acc, sim.gyr)
    write_session(tmp_path / "run.trunk.csv", sim.t + 3600.0, sim.acc, sim.gyr)
    code, _, err = cli(capsys, "analyze", path, "--out", tmp_path / "out")
    one_line_error(code, err, "run.trunk.csv", "not this run's trunk sensor")


# --- unit labels the data contradicts --------------------------------------------------------

G = STANDARD_GRAVITY
UNIT_MISTAKES = {
    # name -> (t, acc, gyr numbers in the file / SI numbers, header units, words of the fix)
    "acc in g labelled m/s^2": (1.0, 1 / G, 1.0, ("m/s^2", "rad/s"), "acc_unit: g"),
    "acc in m/s^2 labelled g": (1.0, 1.0, 1.0, ("g", "rad/s"), "acc_unit: m/s^2"),
    "gyr in deg/s labelled rad/s": (1.0, 1.0, 180 / math.pi, ("m/s^2", "rad/s"), "gyr_unit: deg/s"),
    "t in ms": (1000.0, 1.0, 1.0, ("m/s^2", "rad/s"), "divide t by 1000"),
}


@pytest.mark.parametrize("case", UNIT_MISTAKES)
def test_unit_labels_that_contradict_the_data_are_refused_with_the_fix(tmp_path, capsys, sim, case):
    kt, ka, kg, (acc_unit, gyr_unit), fix = UNIT_MISTAKES[case]
    path = tmp_path / "run.csv"
    header = SessionHeader(device="t", sample_rate_hz=200.0, acc_unit=acc_unit, gyr_unit=gyr_unit)
    from imurun.session.format import ACC_UNITS, GYR_UNITS

    with SessionWriter(path, header) as w:  # the writer divides by the unit: multiply it back in
        w.write(sim.t * kt, sim.acc * ka * ACC_UNITS[acc_unit], sim.gyr * kg * GYR_UNITS[gyr_unit])
    for command in (["analyze", path, "--out", tmp_path / "out"], ["replay", path, "--speed", "max"]):
        code, _, err = cli(capsys, *command)
        one_line_error(code, err, str(path), fix)


def test_a_doubtful_unit_is_warned_and_flagged_in_the_summary(tmp_path, capsys, sim):
    """rad/s labelled deg/s reads as a gyroscope that barely moves: warned, not refused."""
    path = tmp_path / "run.csv"
    header = SessionHeader(device="t", sample_rate_hz=200.0, gyr_unit="deg/s")
    with SessionWriter(path, header) as w:
        w.write(sim.t, sim.acc, sim.gyr * (math.pi / 180))  # file holds rad/s values under deg/s
    code, _, err = cli(capsys, "analyze", path, "--out", tmp_path / "out")
    assert code == 0 and "warning" in err and "gyr_unit" in err
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert any("gyr_unit" in w for w in summary["quality"]["input_warnings"])


# --- one corrupted sample costs at most its step -----------------------------------------------


@pytest.fixture(scope="module")
def fatigue():
    from imurun.session.reader import read_session

    return read_session(FATIGUE)


def _run(t, acc, gyr):
    from imurun.core.engine import Engine

    out = Engine(sample_rate_hz=200.0).process(t, acc, gyr)
    return out.steps, out.status


@pytest.mark.parametrize("value", [1e308, 1e5, np.inf])
@pytest.mark.parametrize("where", ["acc", "gyr"])
def test_one_corrupted_sample_costs_at_most_its_step(fatigue, value, where):
    clean_steps, clean = _run(fatigue.t, fatigue.acc, fatigue.gyr)
    acc, gyr = fatigue.acc.copy(), fatigue.gyr.copy()
    (acc if where == "acc" else gyr)[len(acc) // 2, 1] = value
    steps, status = _run(fatigue.t, acc, gyr)
    assert len(clean_steps) > 600
    assert abs(len(steps) - len(clean_steps)) <= 2, (len(steps), len(clean_steps))
    assert status.mount_changes == clean.mount_changes  # no false "sensor moved"
    assert status.nan_samples == clean.nan_samples + 1


# --- tracebacks -> one line, exit 2 ------------------------------------------------------------


@pytest.fixture(scope="module")
def session_dir(tmp_path_factory, sim):
    folder = tmp_path_factory.mktemp("session")
    write_session(folder / "run.csv", sim.t, sim.acc, sim.gyr)
    return folder


HEADER_ROW = "t,cue,side,priority,reason\n"
BAD_CUE_LOGS = {
    "t = nan": ((HEADER_ROW + "nan,level_hips,L,2,drop\n").encode(), "finite"),
    "not UTF-8": ((HEADER_ROW + "1.0,level_hips,L,2,dr\xff\xfeop\n").encode("latin-1"), "UTF-8"),
    "200 KB field": ((HEADER_ROW + "1.0,level_hips,L,2," + "x" * 200_000 + "\n").encode(), "field"),
}


@pytest.mark.parametrize("case", BAD_CUE_LOGS)
@pytest.mark.parametrize("found", [False, True], ids=["--cues", "found next to the session"])
def test_report_with_a_bad_cue_log_is_one_line(tmp_path, capsys, session_dir, case, found):
    data, word = BAD_CUE_LOGS[case]
    session = tmp_path / "run.csv"
    os.symlink(session_dir / "run.csv", session)
    cues = tmp_path / ("run.cues.csv" if found else "given.csv")
    cues.write_bytes(data)
    extra = [] if found else ["--cues", cues]
    code, _, err = cli(capsys, "report", session, "--out", tmp_path / "r.html", *extra)
    one_line_error(code, err, str(cues), word)
    assert not (tmp_path / "r.html").exists()


def test_simulate_into_a_missing_folder_creates_it(tmp_path, capsys):
    out = tmp_path / "new" / "deeper" / "run.csv"
    code, _, err = cli(capsys, "simulate", "--scenario", "easy-run", "--duration", "5", "--out", out)
    assert code == 0, err
    assert out.is_file() and out.with_name("run.steps.csv").is_file()


def test_simulate_where_no_folder_can_be_is_one_line(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    code, _, err = cli(capsys, "simulate", "--scenario", "easy-run", "--duration", "5",
                       "--out", tmp_path / "file" / "run.csv")
    one_line_error(code, err, "file")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_simulate_into_a_read_only_folder_is_one_line(tmp_path, capsys):
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o555)
    code, _, err = cli(capsys, "simulate", "--scenario", "easy-run", "--duration", "5",
                       "--out", folder / "run.csv")
    one_line_error(code, err, str(folder / "run.csv"), "cannot write")


PROFILE = (ROOT / "imurun" / "firmware_profiles" / "polar-verity-sense.toml").read_text()
BAD_PROFILES = {
    "non-UTF-8": (PROFILE.encode() + b"\n# caf\xe9\n", "not UTF-8"),
    "rates_hz 70000": (PROFILE.replace("rates_hz = [52]", "rates_hz = [52, 70000]").encode(),
                       "stream.rates_hz"),
    "frame_samples = 0": (PROFILE.replace("frame_samples = 36", "frame_samples = 0").encode(),
                          "decode.frame_samples"),
    "acc_factor = 0": (PROFILE.replace("acc_factor = 1.0", "acc_factor = 0.0").encode(), "decode.acc_factor"),
    "gyr_factor = nan": (PROFILE.replace("gyr_factor = 0.06103515625", "gyr_factor = nan").encode(),
                         "decode.gyr_factor"),
}


@pytest.mark.parametrize("case", BAD_PROFILES)
def test_a_bad_firmware_profile_is_refused_at_load(tmp_path, case):
    from imurun.ble.profiles import load_profile

    data, key = BAD_PROFILES[case]
    assert data != PROFILE.encode()
    path = tmp_path / "polar-verity-sense.toml"
    path.write_bytes(data)
    with pytest.raises(InputError) as info:
        load_profile(path)
    assert str(path) in str(info.value) and key in str(info.value)


@pytest.mark.parametrize("data, words", [
    (b'[cadence]\ntarget_spm = 170 # caf\xe9\n', "not UTF-8"),
    (b"[cadence]\ntarget_spm = nan\n", "cadence.target_spm must be a finite number"),
])
def test_a_bad_runner_profile_is_one_line(tmp_path, capsys, session_dir, data, words):
    runner = tmp_path / "runner.toml"
    runner.write_bytes(data)
    code, _, err = cli(capsys, "replay", session_dir / "run.csv", "--speed", "max", "--runner", runner)
    one_line_error(code, err, str(runner), words)


def test_a_profile_without_a_gyroscope_may_say_gyr_factor_0():
    from imurun.ble.profiles import load_profile

    assert load_profile(ROOT / "imurun" / "firmware_profiles" / "polar-h10.toml").decode["gyr_factor"] == 0.0


# --- lost or overwritten files ------------------------------------------------------------------


def test_replay_out_keeps_the_old_cue_log_when_the_input_fails_late(tmp_path, capsys, sim):
    n = 70_000  # past the first chunk of rows, which the unit checks read before the replay starts
    reps = -(-n // len(sim.t))
    t = np.arange(n) / 200.0
    acc, gyr = np.tile(sim.acc, (reps, 1))[:n], np.tile(sim.gyr, (reps, 1))[:n]
    path = write_session(tmp_path / "run.csv", t, acc, gyr)
    with open(path, "a") as f:
        f.write("not,a,row\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "cues.csv").write_text("the earlier run's cue log\n")
    code, _, err = cli(capsys, "replay", path, "--speed", "max", "--out", out,
                       "--audio", f"wav:{out / 'c.wav'}")
    assert code == 2 and "Traceback" not in err and f"{path}:" in err
    assert (out / "cues.csv").read_text() == "the earlier run's cue log\n"
    assert sorted(p.name for p in out.iterdir()) == ["cues.csv"]  # no WAV, no temporary files


def _symlinks(folder: Path, names: list[str], target: Path) -> None:
    for name in names:
        (folder / name).symlink_to(target)


def _victim(tmp_path: Path) -> Path:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    return victim


def _replaced(path: Path, victim: Path) -> None:
    assert victim.read_text() == "precious\n"
    assert path.is_file() and not path.is_symlink()


def test_report_never_writes_through_a_symlink(tmp_path, capsys, session_dir):
    victim = _victim(tmp_path)
    folder = tmp_path / "received"
    folder.mkdir()
    (folder / "run.csv").write_bytes((session_dir / "run.csv").read_bytes())
    _symlinks(folder, ["run.report.html", "other.html"], victim)
    assert cli(capsys, "report", folder / "run.csv")[0] == 0
    assert cli(capsys, "report", folder / "run.csv", "--out", folder / "other.html")[0] == 0
    for name in ("run.report.html", "other.html"):
        _replaced(folder / name, victim)


def test_replay_cue_log_and_wav_never_write_through_a_symlink(tmp_path, capsys, session_dir):
    victim = _victim(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    _symlinks(out, ["cues.csv", "cues.wav"], victim)
    code, _, err = cli(capsys, "replay", session_dir / "run.csv", "--speed", "max", "--out", out,
                       "--audio", f"wav:{out / 'cues.wav'}")
    assert code == 0, err
    _replaced(out / "cues.csv", victim)
    _replaced(out / "cues.wav", victim)
    assert (out / "cues.wav").read_bytes()[:4] == b"RIFF"


def test_replay_screenshot_never_writes_through_a_symlink(tmp_path, capsys, session_dir):
    victim = _victim(tmp_path)
    _symlinks(tmp_path, ["shot.png"], victim)
    code, _, err = cli(capsys, "replay", session_dir / "run.csv", "--screenshot", tmp_path / "shot.png",
                       "--at", "20")
    assert code == 0, err
    _replaced(tmp_path / "shot.png", victim)
    assert (tmp_path / "shot.png").read_bytes()[:4] == b"\x89PNG"


def test_simulate_never_writes_through_a_symlink(tmp_path, capsys):
    victim = _victim(tmp_path)
    _symlinks(tmp_path, ["run.csv", "run.steps.csv"], victim)
    code, _, err = cli(capsys, "simulate", "--scenario", "easy-run", "--duration", "5",
                       "--out", tmp_path / "run.csv")
    assert code == 0, err
    _replaced(tmp_path / "run.csv", victim)
    _replaced(tmp_path / "run.steps.csv", victim)


def test_demo_outputs_never_write_through_a_symlink(tmp_path, capsys, session_dir):
    victim = _victim(tmp_path)
    out = tmp_path / "demo"
    out.mkdir()
    names = ["steps.csv", "summary.json", "cues.csv", "cues.wav", "report.html"]
    _symlinks(out, names, victim)
    code, _, err = cli(capsys, "demo", "--headless", "--file", session_dir / "run.csv", "--out", out)
    assert code == 0, err
    for name in names:
        _replaced(out / name, victim)
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_appending_writers_never_write_through_a_symlink(tmp_path):
    """A live recording, its cue log and a WAV are appended to as they go (a crash keeps what was
    written), so they cannot use a temporary file; they too replace a link instead of following it."""
    from imurun.coach.cues import Cue, CueLog
    from imurun.coach.wav import WavOutput

    victim = _victim(tmp_path)
    _symlinks(tmp_path, ["rec.csv", "rec.cues.csv", "rec.wav"], victim)
    with SessionWriter(tmp_path / "rec.csv", SessionHeader()) as w:
        w.write(np.zeros(1), np.zeros((1, 3)), np.zeros((1, 3)))
    log = CueLog(tmp_path / "rec.cues.csv")
    log.write(Cue(1.0, "start", "", 5, "first running steps", ""))
    log.close()
    wav = WavOutput(tmp_path / "rec.wav", 0.5)
    wav.advance(0.1)
    wav.close()
    for name in ("rec.csv", "rec.cues.csv", "rec.wav"):
        _replaced(tmp_path / name, victim)


def test_analyze_outputs_are_replaced_as_a_pair(tmp_path, capsys, session_dir, monkeypatch):
    """A failure while writing the pair leaves the old steps.csv and summary.json, both."""
    from imurun import outputs

    out = tmp_path / "out"
    assert cli(capsys, "analyze", session_dir / "run.csv", "--out", out)[0] == 0
    before = {n: (out / n).read_bytes() for n in ("steps.csv", "summary.json")}
    real_write = outputs.Outputs.write

    def failing_write(self, final, data):
        if Path(final).name == "summary.json":
            raise InputError(final, "cannot write: No space left on device")
        real_write(self, final, data)

    monkeypatch.setattr(outputs.Outputs, "write", failing_write)
    code, _, err = cli(capsys, "analyze", session_dir / "run.csv", "--out", out)
    one_line_error(code, err, "No space left")
    assert {n: (out / n).read_bytes() for n in before} == before
    assert sorted(p.name for p in out.iterdir()) == sorted(before)


# --- the session reader survives any bytes ------------------------------------------------------

VALID_HEADER = (b"# imurun-session: 1\n# sample_rate_hz: 100\n# acc_unit: m/s^2\n# gyr_unit: rad/s\n"
                b"t,ax,ay,az,gx,gy,gz\n")
ROW_PIECES = [b"0.01", b",", b"\n", b"nan", b"-", b"1e308", b"9.8", b"#", b"# note: 1 x", b"\r", b"\xff",
              b"e", b" ", b"inf", b"0"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    head=st.sampled_from([b"", VALID_HEADER]),
    body=st.one_of(st.binary(max_size=400), st.lists(st.sampled_from(ROW_PIECES), max_size=60).map(b"".join)),
)
def test_any_bytes_give_a_session_or_an_input_error(tmp_path, head, body):
    from imurun.session.reader import read_session_data

    path = tmp_path / "fuzz.csv"
    path.write_bytes(head + body)
    try:
        data = read_session_data(path)
    except InputError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc)
    else:
        assert len(data.block.t) == len(data.block.acc) == len(data.block.gyr)
        assert np.all(np.diff(data.block.t) > 0)
