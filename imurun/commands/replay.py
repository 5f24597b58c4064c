"""`imurun replay`: stream a recorded session through the engine as the live path would.

Blocks of 50 ms of session time arrive paced by the wall clock (`--speed`), go through the same
Engine and sinks as a live run: each step (or each second) is printed as one line, the coach gives
its cues (text, and sound with `--audio`), `--dashboard` shows the replay window, and
`--screenshot PNG --at S` saves the dashboard at one session time without a display.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from imurun.coach.options import add_coach_arguments, coach_sink_from_args
from imurun.errors import ImurunError


def parse_speed(text: str) -> float:
    """`max` (as fast as possible) or a positive factor of real time."""
    if text == "max":
        return math.inf
    try:
        speed = float(text)
    except ValueError:
        speed = math.nan
    if not speed > 0:
        raise argparse.ArgumentTypeError(f"speed must be a positive number or 'max', got {text!r}")
    return speed


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="session CSV (a NAME.trunk.csv next to it is used too)")
    parser.add_argument(
        "--speed", type=parse_speed, default=1.0, metavar="X|max",
        help="playback speed: 1 = real time (default), 10 = ten times faster, max = no waiting",
    )
    parser.add_argument("--per-second", action="store_true", help="one line per second instead of per step")
    parser.add_argument("--out", type=Path, metavar="DIR", help="folder for the coach's cue log cues.csv")
    ui = parser.add_argument_group("dashboard", "the replay window (docs/dashboard.md)")
    ui.add_argument("--dashboard", action="store_true", help="show the dashboard with replay controls")
    ui.add_argument("--theme", choices=("dark", "light"), default="dark")
    ui.add_argument("--screenshot", type=Path, metavar="PNG",
                    help="save the dashboard at --at seconds as PNG (no display needed) and exit")
    ui.add_argument("--at", type=float, default=None, metavar="S", help="session time of the screenshot")
    ui.add_argument("--view", choices=("full", "coach"), default="full",
                    help="screenshot of the full dashboard or of the coach view (big numbers and cues)")
    add_coach_arguments(parser, audio_default="none")


def summary_line(status) -> str:
    return (
        f"replay: {status.t:.1f} s, {status.steps} steps, cadence {status.cadence_spm:.1f} spm at the end, "
        f"calibration {status.calibration}, {status.gaps} gaps, packet loss {100 * status.packet_loss:.2f} %"
    )


def main(args: argparse.Namespace) -> int:
    from imurun.console import ConsolePrinter
    from imurun.outputs import Outputs
    from imurun.pipeline import Pipeline, engine_for
    from imurun.session.plausibility import check_session
    from imurun.sources.replay import replay_blocks

    if args.screenshot is not None:
        return _screenshot(args)
    if args.at is not None:
        raise ImurunError("--at goes with --screenshot")
    check_session(args.file)
    # The cue log and WAV files replace earlier ones only once the whole input has been replayed.
    with Outputs() as outputs:
        coach = coach_sink_from_args(args, args.out, outputs=outputs)
        printer = ConsolePrinter(per_second=args.per_second)
        if args.dashboard:
            from imurun.ui.launch import run_replay_dashboard

            return run_replay_dashboard(args.file, args.speed, args.theme, sinks=[printer], coach=coach)
        sinks = [printer] if coach is None else [printer, coach]
        status = Pipeline(engine_for(args.file), sinks).run(replay_blocks(args.file, speed=args.speed))
    print(summary_line(status))
    return 0


def _screenshot(args: argparse.Namespace) -> int:
    from imurun.ui.screenshot import render_screenshot

    if args.at is None:
        raise ImurunError("--screenshot needs --at S, the session time to show")
    render_screenshot(args.file, args.at, args.screenshot, theme=args.theme, view=args.view)
    print(f"screenshot: {args.screenshot} at {args.at:g} s")
    return 0
