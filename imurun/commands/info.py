"""`imurun info FILE`: what a session file holds (imurun.session.info)."""

from __future__ import annotations

import argparse
from pathlib import Path

from imurun.session.info import describe


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="session CSV file")


def main(args: argparse.Namespace) -> int:
    print("\n".join(describe(args.file)))
    return 0
