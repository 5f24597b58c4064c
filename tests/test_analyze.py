"""`imurun analyze` and `imurun validate` end to end on simulated and real sessions."""

import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from realdata import REAL

from imurun.analyze import analyze, count_rows
from imurun.cli import main
from imurun.console import ProgressBar
from imurun.core.engine import Engine
from imurun.session.format import SessionHeader
from imurun.session.reader import read_session
from imurun.session.truth import read_bouts_csv, read_steps_csv
from imurun.session.writer import SessionWriter
from imurun.sources.simulate import simulate, write_files
from imurun.validate import score


@pytest.fixture(scope="module")
def trunk_run(tmp_path_factory):
    """A 30 s simulated run with a trunk sensor: NAME.csv, NAME.trunk.csv, NAME.steps.csv."""
    path = tmp_path_factory.mktemp("sim") / "trunk.csv"
    write_files(simulate("trunk", seed=3, rate_hz=100.0, duration_s=30.0), path)
    return path


@pytest.fixture(scope="module")
def analysed(trunk_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    steps, summary = analyze(trunk_run, out)
    return out, steps, summary


def test_steps_are_the_engine_steps_on_the_whole_file(trunk_run, analysed):
    _, steps, summary = analysed
    pelvis, trunk = read_session(trunk_run), read_session(trunk_run.with_name("trunk.trunk.csv"))
    eng = Engine(100.0)
    direct = eng.process(pelvis.t, pelvis.acc, pelvis.gyr, trunk_acc=trunk.acc, trunk_gyr=trunk.gyr).steps
    direct = np.concatenate([direct, eng.finish().steps])  # the last step, owed at the end
    assert len(steps) > 40
    assert steps.tobytes() == direct.tobytes()
    assert summary["quality"]["trunk_sensor"] is True
    assert summary["metrics"]["trunk_lean_deg"]["all"]["n"] > 0
    assert summary["duration_s"] == pytest.approx(pelvis.t[-1])


def test_written_files_hold_what_analyze_returned(analysed):
    out, steps, summary = analysed
    assert json.loads((out / "summary.json").read_text()) == json.loads(json.dumps(summary))
    written = read_steps_csv(out / "steps.csv")
    assert len(written) == len(steps)
    assert np.array_equal(written["side"], steps["side"])
    assert np.allclose(written["t"], steps["t"], atol=1e-6, rtol=0)
    drop = written["pelvic_drop_deg"], steps["pelvic_drop_deg"]
    assert np.allclose(*drop, atol=0.005, rtol=0, equal_nan=True)


def test_validate_scores_a_session_and_its_steps_csv_alike(trunk_run, analysed, capsys):
    out, steps, _ = analysed
    truth_path = trunk_run.with_name("trunk.steps.csv")
    assert main(["validate", str(trunk_run), "--truth", str(truth_path), "--json"]) == 0
    from_session = json.loads(capsys.readouterr().out)
    assert from_session == json.loads(json.dumps(score(steps, read_steps_csv(truth_path))))
    assert main(["validate", str(out / "steps.csv"), "--truth", str(truth_path), "--json"]) == 0
    from_csv = json.loads(capsys.readouterr().out)
    assert from_csv["detection"] == from_session["detection"]
    assert from_csv["side"] == from_session["side"]
    assert from_csv["timing"]["mae_ms"] == pytest.approx(from_session["timing"]["mae_ms"], abs=1e-3)
    # table form: one row per tolerance and every metric the truth has
    assert main(["validate", str(out / "steps.csv"), "--truth", str(truth_path)]) == 0
    table = capsys.readouterr().out
    assert "    50 ms" in table and "   100 ms" in table and "trunk_lean_deg" in table


def test_validate_on_a_real_recording_with_bouts(capsys):
    name = REAL / "HA_001_Test11_Trial1"
    truth = ["--truth", f"{name}.steps.csv", "--bouts", f"{name}.bouts.csv"]
    assert main(["validate", f"{name}.csv", *truth, "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["bouts"]["count"] == len(read_bouts_csv(f"{name}.bouts.csv"))
    assert r["detection"][1]["truth"] == len(read_steps_csv(f"{name}.steps.csv"))
    assert r["bouts"]["compared"] >= 1


def test_progress_bar_shows_percent_eta_and_the_final_numbers():
    from imurun.blocks import SampleBlock
    from imurun.core.output import EngineOutput, Status, empty_steps

    stream = io.StringIO()
    bar = ProgressBar(total_rows=50, stream=stream)
    one = SampleBlock(np.zeros(1), np.zeros((1, 3)), np.zeros((1, 3)))
    for k in range(50):  # far more than 10 updates within 0.1 s: only the first is drawn, then the last
        bar.consume(one, EngineOutput(empty_steps(), Status(t=float(k), steps=k)))
    bar.close()
    text = stream.getvalue()
    assert text.count("\r") == 2
    first, last = text.split("\r")[1:]
    assert "[#" + "-" * 29 + "]   2 %  0 s of session, 0 steps, ETA 0:00" in first
    assert "[" + "#" * 30 + "] 100 %  49 s of session, 49 steps, took 0:00" in last
    assert last.endswith("\n")


def test_count_rows_is_what_the_reader_reads(tmp_path):
    path = tmp_path / "s.csv"
    header = SessionHeader(sample_rate_hz=100.0, extra={"comment": "#hash"})
    with SessionWriter(path, header) as w:
        for k in range(3):
            t = np.arange(k * 700, (k + 1) * 700) / 100.0
            w.write(t, np.zeros((700, 3)), np.zeros((700, 3)))
            w.note(t[-1], "# an outage")
    crlf = tmp_path / "crlf.csv"
    crlf.write_bytes(path.read_bytes().replace(b"\n", b"\r\n") + b"21.0,0,0")  # + a truncated line
    for p in (path, crlf):
        assert count_rows(p) == len(read_session(p).t) == 2100


def test_progress_flag_ends_with_a_full_bar_on_stderr(trunk_run, tmp_path):
    argv = [sys.executable, "-m", "imurun", "analyze", str(trunk_run), "--out", str(tmp_path / "out")]
    proc = subprocess.run([*argv, "--progress"], capture_output=True)  # bytes: keep the \r as they are
    err = proc.stderr.decode()
    assert proc.returncode == 0, err
    assert err.startswith("\ranalyze [") and err.endswith("\n") and err.count("\n") == 1
    final = err.split("\r")[-1]
    assert "[" + "#" * 30 + "] 100 %" in final and "took" in final
    quiet = subprocess.run(argv, capture_output=True)  # stderr is a pipe, not a TTY: no bar
    assert quiet.returncode == 0 and quiet.stderr == b""


def test_bad_input_leaves_no_output_folder(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("# imurun-session: 1\n# sample_rate_hz: 100\n# acc_unit: g\n# gyr_unit: rad/s\n"
                   "t,ax,ay,az,gx,gy,gz\n0.00,0,0,1,0,0,0\n0.01,0,0,1,0,0,0\n0.005,0,0,1,0,0,0\n")
    out = tmp_path / "new" / "out"
    assert main(["analyze", str(bad), "--out", str(out)]) == 2
    assert f"{bad}:8: time goes backwards" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


def test_outputs_are_replaced_by_rename_never_rewritten_in_place(trunk_run, tmp_path):
    """A reader holding the old files (here: hard links to them) never sees a half-written one."""
    out = tmp_path / "out"
    analyze(trunk_run, out)
    for name in ("steps.csv", "summary.json"):
        os.link(out / name, tmp_path / f"old-{name}")
    analyze(trunk_run, out)
    for name in ("steps.csv", "summary.json"):
        assert not os.path.samefile(out / name, tmp_path / f"old-{name}"), name
    assert sorted(p.name for p in out.iterdir()) == ["steps.csv", "summary.json"]  # no temporary left


def _cli(*argv):
    return subprocess.run([sys.executable, "-m", "imurun", *argv], capture_output=True, text=True)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["analyze", "no-such.csv", "--out", "x"], "no-such.csv: no such file"),
        (["validate", "no-such.csv", "--truth", "t.csv"], "no such file"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, argv, message):
    proc = subprocess.run([sys.executable, "-m", "imurun", *argv], capture_output=True, text=True,
                          cwd=tmp_path)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_output_folder_that_is_a_file(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    proc = _cli("analyze", str(REAL / "HA_001_Test5_Trial1.csv"), "--out", str(blocker))
    assert proc.returncode == 2 and "not a folder" in proc.stderr and "Traceback" not in proc.stderr


def test_outputs_are_readable_like_any_new_file(tmp_path):
    """steps.csv and summary.json get the umask's permissions, not the temporary file's 0600."""
    import os

    from imurun.analyze import write_outputs
    from imurun.core.output import empty_steps

    old = os.umask(0o022)
    try:
        write_outputs(tmp_path, empty_steps(), {"steps": 0})
    finally:
        os.umask(old)
    for name in ("steps.csv", "summary.json"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644
