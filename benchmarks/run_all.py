"""Run every benchmarks/bench_*.py in turn (`make bench`); stop at the first one that fails.

Each script runs in its own process with this interpreter, so one benchmark's imports, JIT caches
and threads cannot skew the next one's numbers. Each writes its own section of RESULTS.md.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    for script in scripts:
        print(f"== {script.name}", flush=True)
        t0 = time.perf_counter()
        rc = subprocess.run([sys.executable, str(script)]).returncode
        if rc != 0:
            print(f"run_all: {script.name} failed (exit {rc}); the benchmarks after it did not run",
                  file=sys.stderr)
            return 1
        print(f"== {script.name} done in {time.perf_counter() - t0:.0f} s", flush=True)
    print(f"run_all: {len(scripts)} benchmarks done; results in {HERE / 'RESULTS.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
