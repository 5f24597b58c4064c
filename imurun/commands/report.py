"""`imurun report SESSION.csv [--out report.html]`: one self-contained HTML page about a session."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("session", type=Path, help="session CSV (as written by a live run or the simulator)")
    parser.add_argument(
        "--out", type=Path, default=None, help="HTML file to write (default: SESSION with .report.html)"
    )
    parser.add_argument(
        "--cues", type=Path, default=None,
        help="cue log of the run (default: NAME.cues.csv of the session, else a cues.csv next to it)",
    )


def main(args: argparse.Namespace) -> int:
    from imurun.report.build import write_report
    from imurun.session.paths import report_path_for

    out = args.out if args.out is not None else report_path_for(args.session)
    written = write_report(args.session, out, cues_csv=args.cues)
    print(f"report: {written}")
    return 0
