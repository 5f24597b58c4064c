"""Batch speed: `imurun batch` on one process, the local pool and a Dask LocalCluster.

    .venv/bin/python benchmarks/bench_batch.py [--sessions 200] [--minutes 60] [--distinct 4] [--rounds 3]

Issue 18's targets: 200 one-hour 200 Hz sessions analysed at >= 1.8x the one-process rate on 2
cores; the Dask LocalCluster within 15 % of the local pool; identical outputs; memory per worker
flat; a re-run after one new session analyses only that session. (A quick look:
`--sessions 40 --rounds 1`; the section written says what was run.)

`--distinct` sessions are simulated (`easy-run`, 200 Hz, seeds 1..distinct); the others are copies
of them under other names (the work per session is the same; simulating 200 hours would take longer
than analysing them). Every run starts from an empty output folder, with the page cache warm:
- one process, analyze: `imurun.analyze.analyze` in a loop in this process (numba kernel loaded
  beforehand): the engine alone;
- one process, batch work: `imurun.batch.analyze_session` in a loop in this process: what each pool
  or Dask worker does per session, i.e. analyze plus the SHA-256 of the file for the manifest. The
  speed-up targets are taken against this run (the same work on one core), and shown against the
  first too;
- local pool: `run_batch` on its default pool (one spawned process per CPU), pool start included;
- Dask: `run_batch(dask=True)`: a LocalCluster of as many worker processes, its start included.
The four runs are repeated `--rounds` times, in turn forwards and backwards, so that a change in
the machine's load does not favour one of them; ratios are taken within a round.

The machine may be shared: each run's CPU time (this process and its children) is measured beside
its wall time. CPU time over wall time is the number of cores the run had; the CPU time of the
batch work in one process over the pool's is the pool's efficiency, and with both cores free the
pool's speed-up could be at most twice that, whatever the load did to the wall times.

Outputs are compared by SHA-256: steps.csv and summary.json of every session in all four runs,
and every file but the manifest (cohort.csv, cohort.parquet too) between pool and Dask. Memory is
each worker's peak RSS after each of its sessions (analyze_session records it). Writes the "Batch"
section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, table, write_section  # noqa: E402

from imurun.analyze import analyze  # noqa: E402
from imurun.batch import MANIFEST, analyze_session, default_workers, run_batch  # noqa: E402
from imurun.session.paths import steps_path_for  # noqa: E402
from imurun.sources.simulate import simulate, write_files  # noqa: E402

RATE_HZ = 200.0
ONE, WORK, POOL, DASK = "one process, analyze", "one process, batch work", "local pool", "Dask LocalCluster"
RUNS = (ONE, WORK, POOL, DASK)


def _make_sessions(folder: Path, n: int, distinct: int, minutes: float) -> tuple[int, float]:
    """n session files in `folder`; returns (samples in all, seconds spent simulating)."""
    t0 = time.perf_counter()
    originals = []
    for seed in range(1, distinct + 1):
        path = folder.parent / f"original-{seed}.csv"
        sim = simulate("easy-run", seed=seed, rate_hz=RATE_HZ, duration_s=minutes * 60.0)
        write_files(sim, path)
        steps_path_for(path).unlink()  # the truth is not needed here
        originals.append((path, len(sim.t)))
    samples = 0
    for i in range(n):
        source, rows = originals[i % distinct]
        shutil.copyfile(source, folder / f"session-{i:04d}.csv")
        samples += rows
    return samples, time.perf_counter() - t0


def _cpu() -> float:
    """CPU seconds of this process and of its children (and theirs) that have been waited for."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def _digests(out: Path) -> dict[str, str]:
    return {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*")) if p.is_file() and p.name != MANIFEST}


def _memory(out: Path) -> tuple[float, float, int]:
    """(smallest, largest, count) of the workers' peak RSS recorded after each session, MB."""
    peaks = [r["worker_peak_rss_mb"] for r in json.loads((out / MANIFEST).read_text())["sessions"].values()]
    return min(peaks), max(peaks), len(peaks)


def _run(name: str, src: Path, sessions: list[Path], out: Path, workers: int) -> dict:
    """One timed run into the empty folder `out`."""
    load = os.getloadavg()[0]
    t0, cpu0 = time.perf_counter(), _cpu()
    if name == ONE:
        for path in sessions:
            analyze(path, out / path.stem)
    elif name == WORK:
        for path in sessions:
            assert "error" not in analyze_session(str(path), str(out / path.stem))
    else:
        result = run_batch(src, out, workers=workers, stream=io.StringIO(), dask=name == DASK)
        assert len(result.analysed) == len(sessions) and not result.failed, result.failed
    run = {"seconds": time.perf_counter() - t0, "cpu": _cpu() - cpu0, "load": load, "outputs": _digests(out)}
    if name in (POOL, DASK):
        run["memory"] = _memory(out)
    print(f"{name}: {run['seconds']:.1f} s, CPU {run['cpu']:.1f} s, load {load:.1f}", flush=True)
    return run


def _rerun_after_one_new(src: Path, out: Path, workers: int) -> tuple[list[str], int, float]:
    """Add one session to a batch that is done and run it again: (analysed, current, seconds)."""
    new = src / "session-new.csv"
    shutil.copyfile(next(src.iterdir()), new)
    t0 = time.perf_counter()
    result = run_batch(src, out, workers=workers, stream=io.StringIO())
    seconds = time.perf_counter() - t0
    new.unlink()
    return result.analysed, len(result.current), seconds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=200)
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--distinct", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    workers = default_workers()
    distinct = min(args.distinct, args.sessions)
    print(machine())
    rounds: list[dict[str, dict]] = []
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "sessions"
        src.mkdir()
        samples, dt_sim = _make_sessions(src, args.sessions, distinct, args.minutes)
        size = sum(p.stat().st_size for p in src.iterdir())
        print(f"{args.sessions} sessions of {args.minutes:g} min, {samples} samples, {size / 1e9:.2f} GB "
              f"(simulated in {dt_sim:.0f} s)", flush=True)
        sessions = sorted(src.iterdir())
        for path in sessions:  # page cache warm for every run alike
            path.read_bytes()
        analyze(sessions[0])  # numba kernel loaded in this process

        for i in range(args.rounds):
            order = RUNS if i % 2 == 0 else RUNS[::-1]
            runs = {}
            for name in order:
                out = Path(tmp) / f"round{i}-{RUNS.index(name)}"
                runs[name] = _run(name, src, sessions, out, workers)
                if name == POOL and i == 0:
                    rerun = _rerun_after_one_new(src, out, workers)
                shutil.rmtree(out)
            rounds.append(runs)

    first = rounds[0]
    same_as_one = all({k: v for k, v in r[POOL]["outputs"].items() if "/" in k}  # per session
                      == r[ONE]["outputs"] == r[WORK]["outputs"] for r in rounds)
    same_backends = all(r[POOL]["outputs"] == r[DASK]["outputs"] for r in rounds)
    same_rounds = all(r[name]["outputs"] == first[name]["outputs"] for r in rounds for name in RUNS)

    def rate(seconds: float) -> str:
        return f"{samples / seconds / 1e6:.2f} M samples/s"

    rows = []
    speedups, strict, dask_vs_pool, efficiency, hashing = [], [], [], [], []
    for i, runs in enumerate(rounds, 1):
        one, work, pool, dask = (runs[name] for name in RUNS)
        speedups.append(work["seconds"] / pool["seconds"])
        strict.append(one["seconds"] / pool["seconds"])
        dask_vs_pool.append(dask["seconds"] / pool["seconds"] - 1)
        efficiency.append(work["cpu"] / pool["cpu"])
        hashing.append(work["cpu"] / one["cpu"] - 1)
        for name in RUNS:
            run = runs[name]
            memory = "{:.0f} -> {:.0f} MB".format(*run["memory"][:2]) if "memory" in run else ""
            against = f" ({100 * dask_vs_pool[-1]:+.1f} % against the pool)" if name == DASK else ""
            rows.append([str(i), name, f"{run['seconds']:.1f} s", rate(run["seconds"]),
                         f"{work['seconds'] / run['seconds']:.2f}x{against}",
                         f"{one['seconds'] / run['seconds']:.2f}x", f"{run['cpu']:.1f} s",
                         f"{run['cpu'] / run['seconds']:.2f}", f"{work['cpu'] / run['cpu']:.2f}",
                         f"{run['load']:.1f}", memory])

    def spread(values: list[float], fmt: str) -> str:
        text = fmt.format(statistics.median(values))
        return text if len(values) == 1 else f"{text} (median of {', '.join(fmt.format(v) for v in values)})"

    analysed, current, dt_rerun = rerun
    text = "\n".join([
        f"Machine: {machine()}",
        "",
        f"Data: {args.sessions} sessions of {args.minutes:g} min at 200 Hz ({samples} samples, "
        f"{size / 1e9:.2f} GB): {distinct} simulated `easy-run` sessions and copies of them under other "
        f"names; page cache warm; every run into an empty output folder; {args.rounds} round(s) of the "
        "four runs, in turn forwards and backwards. Pool and cluster times include starting and "
        f"stopping their {workers} worker processes. The machine is shared with other users: the load "
        "average at the start of each run (theirs included) is in the table, and the CPU time our "
        "processes got (this one and its children). CPU over wall time is the cores a run had; "
        "efficiency is the CPU time of the batch work in one process over the run's: the share of the "
        "run's CPU time that is the same work, so with both cores free a run's speed-up is at most "
        "twice that. Speed-ups are against the batch work in one process (the same work on one core), "
        "and in the next column against analyze alone.",
        "",
        table(["round", "run", "time", "rate", "speed-up", "speed-up against analyze alone", "CPU time",
               "cores had", "efficiency", "load avg at start", "worker peak RSS, smallest -> largest"], rows),
        "",
        f"- Local pool against the batch work in one process: {spread(speedups, '{:.2f}x')}; target "
        f">= 1.8x. Efficiency {spread(efficiency, '{:.2f}')}: with both cores free at most "
        f"{2 * statistics.median(efficiency):.2f}x. Against analyze alone: {spread(strict, '{:.2f}x')}; "
        f"the batch work took {spread([100 * h for h in hashing], '{:.0f} %')} more CPU time than "
        "analyze alone (each worker hashes every file for the manifest).",
        "- Dask LocalCluster against the local pool: "
        f"{spread([100 * d for d in dask_vs_pool], '{:+.1f} %')}; target within 15 %.",
        f"- Outputs byte-identical (SHA-256): both one-process runs and pool (steps.csv, summary.json): "
        f"{'yes' if same_as_one else 'NO'}; pool and Dask (every file but the manifest): "
        f"{'yes' if same_backends else 'NO'}; every round alike: {'yes' if same_rounds else 'NO'}.",
        f"- Memory: worker peak RSS recorded after every session ({first[POOL]['memory'][2]} "
        "records per run); flat when the largest stays near the smallest, however many sessions a "
        "worker analysed.",
        f"- Re-run of the finished pool batch after one new session: {len(analysed)} analysed "
        f"({', '.join(analysed)}), {current} current, in {dt_rerun:.1f} s.",
    ])
    print(text)
    write_section("Batch", text)


if __name__ == "__main__":
    main()
