"""Import speed: a 1-hour 100 Hz phone export (Sensor Logger zip) read into a session.

    .venv/bin/python benchmarks/bench_import.py [--minutes 60]

The simulator's `easy-run` (seed 1, 100 Hz) is written as Sensor Logger's documented zip export
(docs/import.md): TotalAcceleration.csv and Gyroscope.csv with epoch-nanosecond times, the
gyroscope sampled 3 ms after the accelerometer (separate clocks, so the import resamples), plus
Metadata.csv. Then, best of 3 in this process: `import_session` (unzip, parse, resample, session
clock); and `python -m imurun import FILE --out S.csv` once in a fresh process (start-up, import
and writing the session CSV). Target: <= 5 s for the hour (issue 17).
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


def write_export(path: Path, minutes: float) -> int:
    sim = simulate("easy-run", seed=1, rate_hz=RATE_HZ, duration_s=minutes * 60.0)
    tg = sim.t + 0.003
    gyr = np.column_stack([np.interp(tg, sim.t, sim.gyr[:, k]) for k in range(3)])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("run/TotalAcceleration.csv", sensor_logger_csv(sim.t, sim.acc))
        z.writestr("run/Gyroscope.csv", sensor_logger_csv(tg, gyr))
        z.writestr("run/Metadata.csv", "version,device name,platform,appVersion\n3,bench,android,1.64\n")
    return len(sim.t)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "run.zip"
        n = write_export(export, args.minutes)
        size_mb = export.stat().st_size / 1e6
        times = []
        for _ in range(3):
            imports._cache.clear()
            t0 = time.perf_counter()
            session = imports.import_session(export)
            times.append(time.perf_counter() - t0)
        best = min(times)
        t0 = time.perf_counter()
        command = [sys.executable, "-m", "imurun", "import", str(export), "--out", str(Path(tmp) / "s.csv")]
        subprocess.run(command, check=True, capture_output=True)
        cli = time.perf_counter() - t0
    rows = [
        ["import_session (unzip, parse 2 CSVs, resample gyro, session clock), best of 3",
         f"{best:.2f} s", f"{n / best / 1e6:.2f} M samples/s"],
        ["`imurun import FILE --out S.csv`, fresh process (incl. writing the session)", f"{cli:.2f} s", ""],
    ]
    verdict = "met" if max(best, cli) <= TARGET_S else "NOT met"
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
