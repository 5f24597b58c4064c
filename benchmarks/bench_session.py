"""Session file speed: reader and writer rows/s, and `imurun analyze` wall time, on a 1-hour session.

    .venv/bin/python benchmarks/bench_session.py [--minutes 60]

The simulator's `easy-run` (seed 1, 200 Hz) is written once into a temporary folder, then:
- writer: the whole session in one write() call, and in 50 ms blocks as a live run records it
  (a flush per block, an fsync a second);
- reader: a constant-memory pass (iter_blocks) and read_session, best of 3, numba kernel warm;
- the progress bar's row count (a byte pass, paid only when the bar is shown);
- `python -m imurun analyze FILE --out DIR` twice in fresh processes: cold (first run) and warm.
Targets: reader >= 1 M rows/s (issue 2), analyze of 1 hour <= 3 s warm (issue 3).
Writes the "Session I/O" section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, table, write_section  # noqa: E402

from imurun.analyze import count_rows  # noqa: E402
from imurun.session.format import SessionHeader  # noqa: E402
from imurun.session.reader import iter_blocks, read_session  # noqa: E402
from imurun.session.writer import SessionWriter  # noqa: E402
from imurun.sources.simulate import simulate  # noqa: E402

RATE_HZ = 200.0
LIVE_BLOCK = 10  # rows: 50 ms at 200 Hz


def _best_of(n: int, fn) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def _write(path: Path, sim, block: int | None) -> float:
    header = SessionHeader(device=sim.device, sample_rate_hz=RATE_HZ)
    t0 = time.perf_counter()
    with SessionWriter(path, header) as w:
        step = block or len(sim.t)
        for i in range(0, len(sim.t), step):
            w.write(sim.t[i : i + step], sim.acc[i : i + step], sim.gyr[i : i + step])
    return time.perf_counter() - t0


def _analyze_wall(path: Path, out: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "imurun", "analyze", str(path), "--out", str(out)],
                   check=True, capture_output=True)
    return time.perf_counter() - t0


def _rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds / 1e6:.2f} M rows/s"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=60.0)
    args = ap.parse_args()
    print(machine())
    sim = simulate("easy-run", seed=1, rate_hz=RATE_HZ, duration_s=args.minutes * 60.0)
    n = len(sim.t)
    with tempfile.TemporaryDirectory() as tmp:
        path, live = Path(tmp) / "session.csv", Path(tmp) / "live.csv"
        dt_live = _write(live, sim, LIVE_BLOCK)
        dt_write = _write(path, sim, None)
        size = path.stat().st_size
        print(f"{n} rows, {size / 1e6:.1f} MB ({size / n:.0f} bytes/row)")

        read_session(live)  # loads (or compiles) the numba kernel before the timings
        dt_iter = _best_of(3, lambda: sum(len(b) for b in iter_blocks(path)))
        dt_read = _best_of(3, lambda: read_session(path))
        dt_count = _best_of(3, lambda: count_rows(path))
        assert len(read_session(path).t) == count_rows(path) == n

        cold = _analyze_wall(path, Path(tmp) / "out1")
        warm = _analyze_wall(path, Path(tmp) / "out2")

    minutes = f"{args.minutes:.0f} min"
    rows = [
        ["reader: iter_blocks, constant memory", _rate(n, dt_iter), f"{dt_iter:.2f} s", ">= 1 M rows/s"],
        ["reader: read_session, whole file", _rate(n, dt_read), f"{dt_read:.2f} s", ">= 1 M rows/s"],
        ["writer: one write() call", _rate(n, dt_write), f"{dt_write:.2f} s", ""],
        ["writer: 50 ms blocks (live)", _rate(n, dt_live), f"{dt_live:.2f} s", ""],
        ["analyze progress bar: row count", _rate(n, dt_count), f"{dt_count:.3f} s", ""],
        [f"`imurun analyze` {minutes}, cold (1st process)", "", f"{cold:.2f} s", ""],
        [f"`imurun analyze` {minutes}, warm (2nd process)", "", f"{warm:.2f} s", "<= 3 s"],
    ]
    text = "\n".join([
        f"Machine: {machine()}",
        "",
        f"Data: simulator `easy-run`, seed 1, {minutes} at 200 Hz: {n} rows, {size / 1e6:.1f} MB "
        f"({size / n:.0f} bytes/row), page cache warm. Reader timings best of 3; analyze wall time "
        "of `python -m imurun analyze FILE --out DIR` including interpreter start and numba cache load.",
        "",
        table(["what", "speed", "time", "target"], rows),
    ])
    print(text)
    write_section("Session I/O", text)


if __name__ == "__main__":
    main()
