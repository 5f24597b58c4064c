"""`imurun validate FILE --truth T.steps.csv`: detected steps scored against a reference (imurun.validate)."""

from __future__ import annotations

import argparse

from imurun.validate import detected_steps, format_table, score


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file", metavar="FILE", help="a session CSV (run through the engine) or a steps.csv from analyze"
    )
    parser.add_argument("--truth", required=True, metavar="TRUTH.steps.csv", help="truth / reference steps")
    parser.add_argument("--bouts", metavar="B.bouts.csv", help="score only inside these reference bouts")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")


def main(args: argparse.Namespace) -> int:
    import json

    from imurun.session.truth import read_bouts_csv, read_steps_csv

    truth = read_steps_csv(args.truth)
    bouts = read_bouts_csv(args.bouts) if args.bouts else None
    result = score(detected_steps(args.file), truth, bouts)
    print(json.dumps(result, indent=2) if args.json else format_table(result))
    return 0
