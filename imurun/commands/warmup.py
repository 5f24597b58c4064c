"""`imurun warmup`: compile the numba kernels for this machine now, once after installing or updating.

The first command after an install otherwise spends 20-40 s compiling the gait engine before its
first sample (benchmarks/RESULTS.md, "Cold start"); with the cache built, a run loads it in under a
second. `make demo` and `make test` run this as part of the set-up.
numba keeps the cache next to the package, or in ~/.cache/numba where that is read-only.
"""

from __future__ import annotations

import argparse
import time


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def main(args: argparse.Namespace) -> int:
    from pathlib import Path

    from imurun.commands.demo import DEFAULT_RECORDING
    from imurun.core import jitcache
    from imurun.core.kernel import process_block
    from imurun.session.reader import iter_blocks

    cache = Path(process_block.stats.cache_path)
    cold = jitcache.is_cold(cache)
    t0 = time.perf_counter()
    jitcache.compile_engine()
    next(iter_blocks(DEFAULT_RECORDING))  # the session reader's parser (replay, analyze, demo)
    what = "compiled" if cold else "already compiled; loaded"
    print(f"warmup: gait engine and session reader {what} in {time.perf_counter() - t0:.1f} s "
          f"(cache: {cache})")
    return 0
