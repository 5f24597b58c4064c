"""`imurun history DIR`: the HTML page of a batch's metrics over time (imurun.report.history)."""

from __future__ import annotations

import argparse
from pathlib import Path

from imurun.report.history import write_history


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", type=Path, metavar="DIR", help="output folder of `imurun batch`")
    parser.add_argument("--out", type=Path, default=None, help="HTML file (default: DIR/history.html)")
    parser.add_argument("--profile", type=Path, default=None,
                        help="runner profile TOML for the target lines (default: the runner's)")


def main(args: argparse.Namespace) -> int:
    from imurun.coach.profile import load_profile

    profile = load_profile(args.profile) if args.profile is not None else None
    print(f"history: {write_history(args.folder, args.out, profile)}")
    return 0
