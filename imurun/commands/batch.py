"""`imurun batch DIR_OR_GLOB --out DIR`: many sessions analysed on a process pool or a Dask cluster, the
cohort table (imurun.batch, imurun.cohort)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from imurun.batch import rate_text, run_batch
from imurun.errors import ImurunError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="DIR_OR_GLOB",
                        help="folder searched for session CSVs (recursively), a quoted glob, or one file")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR",
                        help="output folder: one sub-folder per session, manifest.json, cohort.csv/.parquet")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="run on this Dask distributed scheduler (tcp://host:8786); needs imurun[cluster]")
    where.add_argument("--dask", action="store_true",
                       help="run on a Dask LocalCluster on this machine (needs imurun[cluster])")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="local pool processes or LocalCluster workers (default: the CPUs this "
                             "process may use); a --scheduler cluster has its own")
    parser.add_argument("--force", action="store_true", help="analyse every session, current or not")


def main(args: argparse.Namespace) -> int:
    if args.workers is not None and args.workers < 1:
        raise ImurunError(f"--workers must be at least 1, not {args.workers}")
    result = run_batch(args.source, args.out, args.scheduler, args.dask, args.workers, args.force)
    rate = f", {rate_text(result.samples / result.seconds)} samples/s" if result.analysed else ""
    where = f" on {result.where}" if result.where else ""
    print(f"batch: {len(result.analysed)} analysed{where} in {result.seconds:.1f} s{rate}; "
          f"{len(result.current)} current (skipped); {len(result.failed)} failed -> {args.out}")
    print(f"batch: cohort table -> {', '.join(map(str, result.cohort))}")
    if len(result.cohort) < 2:
        print("batch: cohort.parquet not written: pyarrow is not installed (pip install 'imurun[cluster]')",
              file=sys.stderr)
    problems = [*result.failed.values(), *result.cohort_problems]
    if problems:
        print(f"batch: {len(result.failed)} failed, {len(result.cohort_problems)} cohort problem(s):",
              file=sys.stderr)
        for message in problems:
            print(f"  {message}", file=sys.stderr)
        return ImurunError.exit_code
    return 0
