"""`imurun analyze FILE --out DIR`: a session through the engine, written as DIR/steps.csv and
DIR/summary.json (imurun.analyze)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from imurun.analyze import analyze


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="session CSV (a NAME.trunk.csv next to it is used too)")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for steps.csv and summary.json")
    parser.add_argument(
        "--progress", action="store_true",
        help="show a progress bar with ETA on stderr (default: only when stderr is a terminal)",
    )


def main(args: argparse.Namespace) -> int:
    steps, summary = analyze(args.file, args.out, progress=args.progress or sys.stderr.isatty())
    out = Path(args.out)
    print(
        f"analyze: {summary['duration_s']:.1f} s, {summary['steps']} steps -> "
        f"{out / 'steps.csv'}, {out / 'summary.json'}"
    )
    return 0
