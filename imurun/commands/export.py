"""`imurun export SESSION --fit OUT.fit`: a session as a FIT activity file (imurun.export)."""

from __future__ import annotations

import argparse
from pathlib import Path

from imurun.export import write_fit


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("session", type=Path, metavar="SESSION", help="session CSV")
    parser.add_argument("--fit", required=True, type=Path, metavar="OUT.fit", help="FIT activity file")


def main(args: argparse.Namespace) -> int:
    written = write_fit(args.session, args.fit)
    print(f"export: {written['records']} records ({written['steps']} steps) from "
          f"{written['start']:%Y-%m-%d %H:%M:%S} UTC -> {args.fit}")
    return 0
