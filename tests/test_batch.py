"""`imurun batch` end to end: every session analysed as `imurun analyze` does, bad files reported in
one line without stopping the batch, current sessions skipped, the same bytes on a Dask cluster, and
the cohort table in CSV and Parquet."""

import csv
import datetime as dt
import io
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from imurun.analyze import analyze
from imurun.batch import MANIFEST, ONE_THREAD, DaskPool, LocalPool, Progress, find_sessions, run_batch
from imurun.cli import main as cli_main
from imurun.coach.cues import CUE_COLUMNS, Cue
from imurun.coach.profile import RunnerProfile
from imurun.coach.sink import CoachSink
from imurun.cohort import COLUMNS, cue_response_pct, session_date
from imurun.pipeline import run_session
from imurun.sources.simulate import simulate, write_files

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # distributed's own, on import


def _coach(session: Path) -> None:
    """The coach's cue log NAME.cues.csv, as a live run writes it next to its session."""
    coach = CoachSink(RunnerProfile(), cue_log=session.with_suffix(".cues.csv"), console=None)
    run_session(session, [coach], block_s=0.2)


@pytest.fixture(scope="module")
def sessions(tmp_path_factory):
    """Three runs of one runner in a sub-folder (named as a live run names them, one with a trunk
    sensor), a fatigue run with its cue log, and a file that is not a session."""
    root = tmp_path_factory.mktemp("sessions")
    (root / "ann").mkdir()
    for scenario, seed, duration, name in (("easy-run", 1, 40.0, "01"), ("trunk", 2, 40.0, "03"),
                                           ("easy-run", 3, 30.0, "06")):
        sim = simulate(scenario, seed=seed, rate_hz=100.0, duration_s=duration)
        write_files(sim, root / f"ann/2026-10-{name}_070000.csv")
    fatigue = root / "2026-10-08_180000.csv"
    write_files(simulate("fatigue", seed=1, rate_hz=100.0, duration_s=150.0), fatigue)
    _coach(fatigue)
    (root / "broken.csv").write_text("# imurun-session: 1\n# sample_rate_hz: 100\n# acc_unit: furlongs\n"
                                     "# gyr_unit: rad/s\nt,ax,ay,az,gx,gy,gz\n0,0,0,9.8,0,0,0\n")
    return root


GOOD = ["2026-10-08_180000.csv", "ann/2026-10-01_070000.csv", "ann/2026-10-03_070000.csv",
        "ann/2026-10-06_070000.csv"]


@pytest.fixture(scope="module")
def local_run(sessions, tmp_path_factory):
    out = tmp_path_factory.mktemp("batch")
    stderr = io.StringIO()
    result = run_batch(sessions, out, workers=2, stream=stderr, tty=False)
    return out, result, stderr.getvalue()


def test_finds_sessions_but_not_their_sibling_files(sessions, tmp_path):
    root, found = find_sessions(str(sessions), tmp_path)
    assert root == sessions.resolve()
    assert sorted(p.relative_to(root).as_posix() for p in found) == sorted([*GOOD, "broken.csv"])
    assert find_sessions(str(sessions), sessions / "ann")[1] == [p for p in found if "ann" not in p.parts]
    root, found = find_sessions(f"{sessions}/ann/*-0[13]_*.csv", tmp_path)
    assert root == sessions.resolve() / "ann" and [p.name for p in found] == [GOOD[1][4:], GOOD[2][4:]]


def test_every_session_is_written_as_analyze_writes_it(local_run, sessions, tmp_path):
    out, result, _ = local_run
    assert sorted(result.analysed) == GOOD and result.current == []
    for key in GOOD:
        analyze(sessions / key, tmp_path / key)
        for name in ("steps.csv", "summary.json"):
            written = (out / key.removesuffix(".csv") / name).read_bytes()
            assert written == (tmp_path / key / name).read_bytes()
    summary = json.loads((out / "ann/2026-10-03_070000/summary.json").read_text())
    assert summary["quality"]["trunk_sensor"] is True  # the trunk file was read with its session


def test_a_bad_file_is_one_line_in_the_failures_and_the_rest_is_written(local_run, sessions):
    out, result, stderr = local_run
    message = f"{sessions / 'broken.csv'}:3: unknown acc_unit 'furlongs' (expected m/s^2 or g)"
    assert result.failed == {"broken.csv": message}
    assert json.loads((out / MANIFEST).read_text())["failed"] == {"broken.csv": message}
    assert not (out / "broken").exists()
    # Not a terminal: one plain line per session, with counts, rate and ETA.
    lines = stderr.splitlines()
    assert len(lines) == 5 and all(line.startswith("batch [") and "samples/s, ETA" in line for line in lines)
    assert lines[-1].startswith("batch [5/5] 1 failed ")
    assert "broken.csv: FAILED;" in stderr


def test_command_line_prints_the_failures_table_and_exits_2(sessions, tmp_path, capsys):
    (tmp_path / "in").mkdir()
    for name in ("broken.csv", "ann/2026-10-06_070000.csv"):
        shutil.copy(sessions / name, tmp_path / "in" / Path(name).name)
    (tmp_path / "in/empty.csv").write_text("")
    assert cli_main(["batch", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--workers", "1"]) == 2
    captured = capsys.readouterr()
    assert captured.out.startswith("batch: 1 analysed on local pool of 1 process in ")
    assert "0 current (skipped); 2 failed" in captured.out
    table = captured.err[captured.err.index("batch: 2 failed, 0 cohort problem(s):\n"):].splitlines()[1:]
    assert table == [f"  {tmp_path / 'in/broken.csv'}:3: unknown acc_unit 'furlongs' (expected m/s^2 or g)",
                     f"  {tmp_path / 'in/empty.csv'}: empty file"]
    assert (tmp_path / "out/2026-10-06_070000/summary.json").is_file()


def test_an_unreadable_cue_log_leaves_its_cue_columns_empty_and_is_said(sessions, tmp_path, capsys):
    (tmp_path / "in").mkdir()
    session = tmp_path / "in/2026-10-06_070000.csv"
    shutil.copy(sessions / "ann/2026-10-06_070000.csv", session)
    session.with_suffix(".cues.csv").write_text("t,cue\n")
    assert cli_main(["batch", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert (f"batch: 0 failed, 1 cohort problem(s):\n  {session.with_suffix('.cues.csv')}:1: header must be "
            f"{','.join(CUE_COLUMNS)} (cue columns of 2026-10-06_070000.csv left empty)\n") in err
    (row,) = _read_csv(tmp_path / "out/cohort.csv")
    assert row["steps"] != "" and row["cues"] == ""


def test_rerun_analyses_only_what_is_new_or_changed(sessions, tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    shutil.copytree(sessions / "ann", src)
    quiet = {"stream": io.StringIO(), "workers": 2}
    first = run_batch(src, out, **quiet)
    assert len(first.analysed) == 3 and not first.failed
    again = run_batch(src, out, **quiet)
    assert again.analysed == [] and sorted(again.current) == sorted(first.analysed)
    # One new session: only it is analysed.
    write_files(simulate("easy-run", seed=9, rate_hz=100.0, duration_s=30.0), src / "2026-10-09_070000.csv")
    new = run_batch(src, out, **quiet)
    assert new.analysed == ["2026-10-09_070000.csv"] and len(new.current) == 3
    # Touched (same bytes, new mtime): still current. Changed bytes: analysed again.
    touched = src / "2026-10-01_070000.csv"
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 10**9))
    assert run_batch(src, out, **quiet).analysed == []
    with open(touched, "a") as f:
        f.write("# note: 40.0 an appended note changes the content\n")
    assert run_batch(src, out, **quiet).analysed == ["2026-10-01_070000.csv"]
    # A trunk file added to a session changes what its analysis reads.
    shutil.copy(sessions / "ann/2026-10-03_070000.trunk.csv", src / "2026-10-06_070000.trunk.csv")
    assert run_batch(src, out, **quiet).analysed == ["2026-10-06_070000.csv"]
    # Another engine version: everything again. Outputs deleted: that session again.
    manifest = json.loads((out / MANIFEST).read_text())
    manifest["sessions"]["2026-10-03_070000.csv"]["engine"] = "0.0.0+old"
    (out / MANIFEST).write_text(json.dumps(manifest))
    (out / "2026-10-09_070000/steps.csv").unlink()
    assert sorted(run_batch(src, out, **quiet).analysed) == ["2026-10-03_070000.csv", "2026-10-09_070000.csv"]


def test_an_interrupted_batch_keeps_the_sessions_it_finished(sessions, tmp_path):
    class InterruptedAtSecondLine(io.StringIO):
        """Ctrl-C while the progress line of the second finished session is written."""

        def write(self, text):
            if self.getvalue().count("\n") == 1:
                raise KeyboardInterrupt
            return super().write(text)

    src, out = tmp_path / "in", tmp_path / "out"
    shutil.copytree(sessions / "ann", src)
    with pytest.raises(KeyboardInterrupt):
        run_batch(src, out, workers=1, stream=InterruptedAtSecondLine(), tty=False)
    kept = json.loads((out / MANIFEST).read_text())["sessions"]
    assert len(kept) == 2
    again = run_batch(src, out, workers=1, stream=io.StringIO())
    assert sorted(again.current) == sorted(kept) and len(again.analysed) == 1


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads VmHWM in /proc")
def test_worker_memory_is_the_workers_own(sessions, tmp_path):
    """A worker started by a parent holding much memory records its own peak, not the parent's
    (getrusage's ru_maxrss keeps the parent's over the worker's fork and exec)."""
    ballast_mb = 600
    ballast = b"\1" * (ballast_mb << 20)  # written, so resident in this process
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(sessions / "ann/2026-10-06_070000.csv", src)
    run_batch(src, tmp_path / "out", workers=1, stream=io.StringIO())
    (record,) = json.loads((tmp_path / "out" / MANIFEST).read_text())["sessions"].values()
    assert 50 < record["worker_peak_rss_mb"] < ballast_mb
    del ballast


def _threads_after_a_session(session: str) -> int:
    analyze(session)
    return len(os.listdir("/proc/self/task"))


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts a process's threads in /proc")
def test_pool_workers_run_one_thread_each(sessions):
    """Two workers on two cores must not start a BLAS thread pool each (numpy's and scipy's
    OpenBLAS size theirs to every core unless told otherwise)."""
    pool = LocalPool(1)
    try:
        threads = pool._pool.submit(_threads_after_a_session, str(sessions / GOOD[1])).result()
    finally:
        pool.close()
    assert threads == 1


def test_dask_scheduler_writes_the_same_bytes_as_the_local_pool(local_run, sessions, tmp_path):
    distributed = pytest.importorskip("distributed", reason="needs imurun[cluster] (the test extra has it)")
    out_local, local, _ = local_run
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        result = run_batch(sessions, tmp_path, scheduler=cluster.scheduler_address, stream=io.StringIO())
    assert result.where == f"Dask scheduler {cluster.scheduler_address}"
    assert sorted(result.analysed) == GOOD and result.failed == local.failed
    written = sorted(p.relative_to(out_local) for p in out_local.rglob("*") if p.is_file())
    assert written == sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    for rel in written:
        if rel.name != MANIFEST:  # timings differ; everything else is byte-identical
            assert (out_local / rel).read_bytes() == (tmp_path / rel).read_bytes(), rel


def test_dask_flag_runs_a_local_cluster_of_worker_processes(local_run, sessions, tmp_path, capsys):
    pytest.importorskip("distributed", reason="needs imurun[cluster] (the test extra has it)")
    out_local, _, _ = local_run
    source = tmp_path / "in"
    source.mkdir()
    shutil.copy(sessions / "ann/2026-10-06_070000.csv", source)
    assert cli_main(["batch", str(source), "--out", str(tmp_path / "out"), "--dask", "--workers", "1"]) == 0
    assert "1 analysed on Dask LocalCluster of 1 worker in " in capsys.readouterr().out
    for name in ("steps.csv", "summary.json"):
        written = (tmp_path / "out/2026-10-06_070000" / name).read_bytes()
        assert written == (out_local / "ann/2026-10-06_070000" / name).read_bytes()


def test_local_cluster_workers_allocate_and_thread_like_the_pool():
    pytest.importorskip("distributed", reason="needs imurun[cluster] (the test extra has it)")
    names = ("MALLOC_TRIM_THRESHOLD_", *ONE_THREAD)
    ours = os.environ.get("MALLOC_TRIM_THRESHOLD_")  # before Dask's nanny sets its own in this process
    pool = DaskPool(None, 1)
    try:
        (env,) = pool.client.run(lambda: {name: os.environ.get(name) for name in names}).values()
    finally:
        pool.close()
    # Dask's own MALLOC_TRIM_THRESHOLD_ made every session 40 % slower (imurun.batch): not set
    # unless the user's environment sets it.
    assert env == {"MALLOC_TRIM_THRESHOLD_": ours, **dict.fromkeys(ONE_THREAD, "1")}


def test_an_unreachable_scheduler_is_one_line(sessions, tmp_path, capsys):
    pytest.importorskip("distributed", reason="needs imurun[cluster] (the test extra has it)")
    rc = cli_main(["batch", str(sessions / "ann"), "--out", str(tmp_path), "--scheduler", "tcp://127.0.0.1:9"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert err[0].startswith("imurun batch: error: cannot reach the Dask scheduler tcp://127.0.0.1:9")


def test_progress_on_a_terminal_redraws_one_line():
    stream = io.StringIO()
    progress = Progress(2, 300, stream, tty=True)
    progress.update("a.csv", 100, {"samples": 1000, "seconds": 0.1})
    progress.update("b.csv", 200, {"samples": 2000, "seconds": 0.2})
    progress.close()
    text = stream.getvalue()
    assert text.startswith("\rbatch [1/2] sessions, ") and "ETA " in text
    assert "\rbatch [2/2] sessions, " in text and " took 0:00" in text and text.endswith("\n")
    assert text.count("\n") == 1


# --- the cohort table ---------------------------------------------------------------------------

def _read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_cohort_table_has_one_row_per_session_from_its_summary(local_run):
    out, _, _ = local_run
    rows = _read_csv(out / "cohort.csv")
    assert [r["session"] for r in rows] == [*GOOD[1:], GOOD[0]]  # in date order
    assert list(rows[0]) == [name for name, _ in COLUMNS]
    assert rows[0]["date"] == "2026-10-01T07:00:00" and rows[0]["date_source"] == "file name"
    for row in rows:
        summary = json.loads((out / row["session"].removesuffix(".csv") / "summary.json").read_text())
        m = summary["metrics"]
        assert float(row["duration_min"]) == pytest.approx(summary["duration_s"] / 60, rel=1e-5)
        assert int(row["steps"]) == summary["steps"]
        assert float(row["cadence_spm"]) == pytest.approx(summary["cadence_mean_spm"], rel=1e-5)
        contact = 1000 * m["contact_time_s"]["all"]["mean"]
        assert float(row["contact_time_ms"]) == pytest.approx(contact, rel=1e-5)
        # Landing on the right foot, the left hip drops.
        assert float(row["drop_left_hip_deg"]) == pytest.approx(m["pelvic_drop_deg"]["R"]["mean"], rel=1e-5)
        assert float(row["drop_right_hip_deg"]) == pytest.approx(m["pelvic_drop_deg"]["L"]["mean"], rel=1e-5)
        assert row["calibration"] == "standing"
    fatigue = rows[-1]
    # The simulated fatigue run drops the left hip (docs/simulator.md); the coach asked to level it.
    assert float(fatigue["drop_left_hip_deg"]) > float(fatigue["drop_right_hip_deg"]) + 1.0
    session = Path(json.loads((out / MANIFEST).read_text())["sessions"][GOOD[0]]["path"])
    cues = _read_csv(session.with_suffix(".cues.csv"))
    form = [c for c in cues if c["cue"] not in ("start", "praise")]
    assert int(fatigue["cues"]) == len(form) > 0
    assert int(fatigue["cues_level_hips"]) == sum(c["cue"] == "level_hips" for c in cues) > 0
    assert fatigue["cue_response_pct"] != ""
    assert all(r["cues"] == "" and r["cue_response_pct"] == "" for r in rows[:-1])  # no cue log: unknown


def test_cohort_parquet_holds_the_csv_rows(local_run):
    pq = pytest.importorskip("pyarrow.parquet", reason="needs imurun[cluster] (the test extra has it)")
    out, _, _ = local_run
    table = pq.read_table(out / "cohort.parquet")
    rows = _read_csv(out / "cohort.csv")
    assert table.column_names == [name for name, _ in COLUMNS] and table.num_rows == len(rows)
    assert str(table.schema.field("date").type).startswith("timestamp[")  # Parquet keeps ms, not s
    data = table.to_pylist()
    for got, want in zip(data, rows, strict=True):
        assert got["session"] == want["session"] and got["date"].isoformat() == want["date"]
        assert got["steps"] == int(want["steps"])
        assert got["tilt_deg"] == pytest.approx(float(want["tilt_deg"]), rel=1e-5)
        assert (got["cues"] is None) == (want["cues"] == "")


def test_cue_response_is_the_share_of_measured_cues_after_which_the_metric_was_better():
    def cue(t, name, side="", metric="", before=math.nan, after=math.nan):
        return Cue(t, name, side, 0, "", "", metric, before, after)

    assert cue_response_pct([cue(0, "start")]) is None
    assert cue_response_pct([cue(40, "level_hips", "L", "pelvic_drop_deg", 8.0)]) is None  # not measured
    cues = [cue(0, "start"),
            cue(40, "level_hips", "L", "pelvic_drop_deg", 8.0, 6.5),  # drop fell: better
            cue(60, "quicker_steps", "", "cadence_spm", 160.0, 158.0),  # cadence fell: worse
            cue(90, "praise"),
            cue(130, "quicker_steps", "", "cadence_spm", 160.0, 166.0),  # cadence rose: better
            cue(150, "ease_arch", "", "tilt_deg", 9.0, math.nan)]  # stopped running: not measured
    assert cue_response_pct(cues) == pytest.approx(100 * 2 / 3)


def test_session_date_from_header_then_file_name_then_file_time(tmp_path):
    path = tmp_path / "2026-03-04_061500.csv"
    path.write_text("")
    assert session_date(path, {"start": "2026-05-06T07:08:09"})[0].isoformat() == "2026-05-06T07:08:09"
    aware = dt.datetime(2026, 5, 6, 7, 8, 9, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert session_date(path, {"start": aware.isoformat()})[0] == aware.astimezone().replace(tzinfo=None)
    assert session_date(path, None) == (session_date(path, {"start": "bad"})[0], "file name")
    assert session_date(path, None)[0].isoformat() == "2026-03-04T06:15:00"
    other = tmp_path / "morning.csv"
    other.write_text("")
    os.utime(other, (0, 86400 * 365))
    assert session_date(other, {})[0] == dt.datetime.fromtimestamp(86400 * 365)
    assert session_date(other, {})[1] == "file time"


def test_the_new_commands_import_nothing_heavy_until_they_run():
    """Dask, pyarrow and fit-tool are optional extras: importing the commands (as `imurun --help`
    and a live run's imports do) must not need them, nor load numpy."""
    code = ("import sys, imurun.cli, imurun.batch, imurun.report.history, imurun.export; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'numpy', 'dask', 'distributed', 'pyarrow', 'fit_tool'}))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout == "[]\n"
