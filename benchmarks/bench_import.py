"""Import speed: a 1-hour 100 Hz phone export (Sensor Logger zip) read into a session.

    .venv/bin/python benchmarks/bench_import.py [--minutes 60]

The simulator's `easy-run` (seed 1, 100 Hz) is written as Sensor Logger's documented zip export
(docs/import.md): TotalAcceleration.csv and Gyroscope.csv with epoch-nanosecond times, the
gyroscope sampled 3 ms after the accelerometer (separate clocks, so the import resamples), plus
Metadata.csv. Then, best of 3 in this process: `import_session` (unzip, parse, resample, session
clock), also for the same export with every stamp jittered by up to 3 ms (then both sensors are
resampled onto an even clock); and `python -m imurun import FILE --out S.csv` once in a fresh
process (start-up, import and writing the session CSV). Target: <= 5 s for the hour (issue 17).
Writes the "Import" section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, table, write_section  # noqa: E402

from imurun.sources import imports  # noqa: E402
from imurun.sources.simulate import simulate  # noqa: E402

RATE_HZ = 100.0
EPOCH_NS = 1_717_000_000_000_000_000
TARGET_S = 5.0


def sensor_logger_csv(t: np.ndarray, xyz: np.ndarray) -> str:
    """One sensor's CSV: time (ns), seconds_elapsed, z, y, x (the app's column order)."""
    table_ = np.column_stack([EPOCH_NS + np.rint(t * 1e9), t, xyz[:, 2], xyz[:, 1], xyz[:, 0]])
    rows = ("%d,%.6f,%.9f,%.9f,%.9f\n" * len(t)) % tuple(table_.ravel().tolist())
    return "time,seconds_elapsed,z,y,x\n" + rows


def write_export(path: Path, sim, jitter_s: float) -> None:
    """The zip; with `jitter_s`, every time stamp moved by up to that much (a phone's uneven delivery;
    only the time stamps matter for speed), which makes the import resample onto an even clock."""
    t = sim.t + np.random.default_rng(0).uniform(-jitter_s, jitter_s, len(sim.t)) if jitter_s else sim.t
    tg = t + 0.003
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("run/TotalAcceleration.csv", sensor_logger_csv(t, sim.acc))
        z.writestr("run/Gyroscope.csv", sensor_logger_csv(tg, sim.gyr))
        z.writestr("run/Metadata.csv", "version,device name,platform,appVersion\n3,bench,android,1.64\n")


def best_import(path: Path) -> tuple[float, object]:
    times = []
    for _ in range(3):
        imports._cache.clear()
        t0 = time.perf_counter()
        session = imports.import_session(path)
        times.append(time.perf_counter() - t0)
    return min(times), session


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    args = parser.parse_args()
    sim = simulate("easy-run", seed=1, rate_hz=RATE_HZ, duration_s=args.minutes * 60.0)
    n = len(sim.t)
    with tempfile.TemporaryDirectory() as tmp:
        export, jittery = Path(tmp) / "run.zip", Path(tmp) / "jittery.zip"
        write_export(export, sim, 0.0)
        write_export(jittery, sim, 0.003)
        size_mb = export.stat().st_size / 1e6
        best, session = best_import(export)
        best_j, session_j = best_import(jittery)
        assert "even 100 Hz clock" in session_j.header.extra["source_resampled"]
        t0 = time.perf_counter()
        command = [sys.executable, "-m", "imurun", "import", str(export), "--out", str(Path(tmp) / "s.csv")]
        subprocess.run(command, check=True, capture_output=True)
        cli = time.perf_counter() - t0
    rows = [
        ["import_session (unzip, parse 2 CSVs, gyro onto the acc clock, session clock), best of 3",
         f"{best:.2f} s", f"{n / best / 1e6:.2f} M samples/s"],
        ["the same with +-3 ms jitter on every stamp (both resampled onto an even clock), best of 3",
         f"{best_j:.2f} s", f"{n / best_j / 1e6:.2f} M samples/s"],
        ["`imurun import FILE --out S.csv`, fresh process (incl. writing the session)", f"{cli:.2f} s", ""],
    ]
    verdict = "met" if max(best, best_j, cli) <= TARGET_S else "NOT met"
    body = (
        f"{args.minutes:g} min of 100 Hz Sensor Logger zip export ({n} samples per sensor, {size_mb:.1f} MB "
        f"zipped, gyroscope on its own clock), {len(session.block)} session samples.\n\n"
        + table(["step", "time", "rate"], rows)
        + f"\n\nTarget <= {TARGET_S:g} s for one hour: {verdict}.\n\nMachine: {machine()}\n"
    )
    write_section("Import", body)
    print(body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
