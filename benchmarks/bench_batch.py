"""Batch speed: `imurun batch` on one process, the local pool and a Dask LocalCluster.

    .venv/bin/python benchmarks/bench_batch.py [--sessions 200] [--minutes 60] [--distinct 4]

Issue 18's targets: 200 one-hour 200 Hz sessions analysed at >= 1.8x the one-process rate on 2
cores; the Dask LocalCluster within 15 % of the local pool; identical outputs; memory per worker flat.

`--distinct` sessions are simulated (`easy-run`, 200 Hz, seeds 1..distinct); the others are copies
of them under other names (the work per session is the same; simulating 200 hours would take longer
than analysing them). Every run starts from an empty output folder, with the page cache warm:
- one process: `imurun.analyze.analyze` in a loop in this process (numba kernel loaded beforehand);
- local pool: `run_batch` on its default pool (one spawned process per CPU), pool start included;
- Dask: `run_batch(dask=True)`: a LocalCluster of as many worker processes, its start included.
Outputs (steps.csv, summary.json, cohort.csv, cohort.parquet) are compared byte for byte; memory is
each worker's peak RSS after its first and after its last session (analyze_session records it).
Writes the "Batch" section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, table, write_section  # noqa: E402

from imurun.analyze import analyze  # noqa: E402
from imurun.batch import MANIFEST, default_workers, run_batch  # noqa: E402
from imurun.session.paths import steps_path_for  # noqa: E402
from imurun.sources.simulate import simulate, write_files  # noqa: E402

RATE_HZ = 200.0


def _make_sessions(folder: Path, n: int, distinct: int, minutes: float) -> tuple[int, float]:
    """n session files in `folder`; returns (samples in all, seconds spent simulating)."""
    t0 = time.perf_counter()
    originals = []
    for seed in range(1, distinct + 1):
        path = folder / f"original-{seed}.csv"
        sim = simulate("easy-run", seed=seed, rate_hz=RATE_HZ, duration_s=minutes * 60.0)
        write_files(sim, path)
        steps_path_for(path).unlink()  # the truth is not needed here
        originals.append((path, len(sim.t)))
    samples = 0
    for i in range(n):
        source, rows = originals[i % distinct]
        shutil.copyfile(source, folder / f"session-{i:04d}.csv")
        samples += rows
    for path, _ in originals:
        path.unlink()
    return samples, time.perf_counter() - t0


def _cpu() -> float:
    """CPU seconds of this process and of its children (and theirs) that have been waited for."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def _outputs(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and p.name != MANIFEST}


def _memory(out: Path) -> tuple[float, float, int]:
    """(smallest, largest, count) of the workers' peak RSS recorded after each session, MB."""
    peaks = [r["worker_peak_rss_mb"] for r in json.loads((out / MANIFEST).read_text())["sessions"].values()]
    return min(peaks), max(peaks), len(peaks)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=200)
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--distinct", type=int, default=4)
    args = ap.parse_args()
    workers = default_workers()
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "sessions"
        src.mkdir()
        samples, dt_sim = _make_sessions(src, args.sessions, min(args.distinct, args.sessions), args.minutes)
        size = sum(p.stat().st_size for p in src.iterdir())
        print(f"{args.sessions} sessions of {args.minutes:g} min, {samples} samples, {size / 1e9:.2f} GB "
              f"(simulated in {dt_sim:.0f} s)", flush=True)
        sessions = sorted(src.iterdir())
        for path in sessions:  # page cache warm for every run alike
            path.read_bytes()
        analyze(sessions[0])  # numba kernel loaded in this process

        one = Path(tmp) / "one"
        load = {"one": os.getloadavg()[0]}
        t0, cpu0 = time.perf_counter(), _cpu()
        for path in sessions:
            analyze(path, one / path.stem)
        dt_one = time.perf_counter() - t0
        cpu = {"one": _cpu() - cpu0}
        print(f"one process: {dt_one:.1f} s", flush=True)

        runs = {}
        for name, kwargs in (("local pool", {}), ("Dask LocalCluster", {"dask": True})):
            out = Path(tmp) / name.split()[0]
            load[name] = os.getloadavg()[0]
            t0, cpu0 = time.perf_counter(), _cpu()
            result = run_batch(src, out, workers=workers, stream=io.StringIO(), **kwargs)
            runs[name] = (time.perf_counter() - t0, out, result)
            cpu[name] = _cpu() - cpu0
            assert len(result.analysed) == args.sessions and not result.failed, result.failed
            print(f"{name}: {runs[name][0]:.1f} s", flush=True)

        pool_out, dask_out = runs["local pool"][1], runs["Dask LocalCluster"][1]
        pool_files, dask_files = _outputs(pool_out), _outputs(dask_out)
        same_backends = pool_files == dask_files
        same_as_one = all((one / key).read_bytes() == data for key, data in pool_files.items() if "/" in key)
        memory = {name: _memory(out) for name, (_, out, _) in runs.items()}

    def rate(seconds: float) -> str:
        return f"{samples / seconds / 1e6:.1f} M samples/s"

    dt_pool, dt_dask = runs["local pool"][0], runs["Dask LocalCluster"][0]
    rows = [
        ["one process (analyze in a loop)", f"{dt_one:.1f} s", rate(dt_one), "1.00x", "", "",
         f"{cpu['one']:.1f} s", f"{load['one']:.1f}"],
        [f"local pool, {workers} processes", f"{dt_pool:.1f} s", rate(dt_pool), f"{dt_one / dt_pool:.2f}x",
         ">= 1.8x", "{:.0f} -> {:.0f} MB".format(*memory["local pool"][:2]), f"{cpu['local pool']:.1f} s",
         f"{load['local pool']:.1f}"],
        [f"Dask LocalCluster, {workers} workers", f"{dt_dask:.1f} s", rate(dt_dask),
         f"{dt_one / dt_dask:.2f}x", f"within 15 % of the pool: {100 * (dt_dask / dt_pool - 1):+.1f} %",
         "{:.0f} -> {:.0f} MB".format(*memory["Dask LocalCluster"][:2]), f"{cpu['Dask LocalCluster']:.1f} s",
         f"{load['Dask LocalCluster']:.1f}"],
    ]
    text = "\n".join([
        f"Machine: {machine()}",
        "",
        f"Data: {args.sessions} sessions of {args.minutes:g} min at 200 Hz ({samples} samples, "
        f"{size / 1e9:.2f} GB): {min(args.distinct, args.sessions)} simulated `easy-run` sessions and "
        "copies of them under other names; page cache warm; every run into an empty output folder. "
        "Pool and cluster times include starting their processes. The machine is shared: the load "
        "average at the start of each run (other users' processes included) is in the last column, and "
        "the CPU time our processes got (this one and its children) beside it: a pool whose CPU time "
        "stays near the one process's but whose wall time does not halve was short of free cores, not "
        "of parallel work.",
        "",
        table(["run", "time", "rate", "speed-up", "target", "worker peak RSS, smallest -> largest",
               "CPU time, all processes", "load avg at start"], rows),
        "",
        f"Outputs: local pool and Dask byte-identical: {'yes' if same_backends else 'NO'}; "
        f"pool and the one-process loop byte-identical (steps.csv, summary.json): "
        f"{'yes' if same_as_one else 'NO'}. Worker peak RSS is recorded after every session "
        f"({memory['local pool'][2]} records per run): flat memory means the largest stays near the "
        "smallest, whatever the number of sessions a worker analysed.",
    ])
    print(text)
    write_section("Batch", text)


if __name__ == "__main__":
    main()
