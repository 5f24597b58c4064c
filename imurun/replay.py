"""`imurun replay`: stream a recorded session through the engine as the live path would.

Blocks of 50 ms of session time arrive paced by the wall clock (`--speed`), go through the same
Engine and sinks as a live run: each step (or each second) is printed as one line, the coach gives
its cues (text, and sound with `--audio`), `--dashboard` shows the replay window, and
`--screenshot PNG --at S` saves the dashboard at one session time without a display.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import TextIO

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


def _fmt(value: float, spec: str, scale: float = 1.0) -> str:
    """A number for the console; '-' where the engine has no value (NaN)."""
    width = int(spec.split(".")[0])
    return format(value * scale, spec) if math.isfinite(value) else "-".rjust(width)


def step_line(step) -> str:
    return (
        f"{step['t']:9.3f} {step['side']} {step['activity']:<4} "
        f"{_fmt(step['cadence_spm'], '5.1f')} spm  contact {_fmt(step['contact_time_s'], '4.0f', 1000)} ms  "
        f"drop {_fmt(step['pelvic_drop_deg'], '5.1f')}°  tilt {_fmt(step['tilt_deg'], '5.1f')}°  "
        f"braking {_fmt(step['braking_mps'], '5.2f')} m/s"
    )


def second_line(second: int, status, steps_in_second: int) -> str:
    return (
        f"{second:6d} s  {status.activity:<5} {_fmt(status.cadence_spm, '5.1f')} spm  "
        f"{steps_in_second:2d} steps  total {status.steps}"
    )


class ConsolePrinter:
    """Sink: one line per step, or one per second of session time (status and step count)."""

    def __init__(self, per_second: bool = False, stream: TextIO | None = None):
        self.per_second = per_second
        self.stream = stream if stream is not None else sys.stdout
        self._second: int | None = None  # the second being counted (per_second mode)
        self._steps_in_second = 0
        self._status = None

    def consume(self, block, out) -> None:
        if not self.per_second:
            for step in out.steps:
                print(step_line(step), file=self.stream)
            return
        if len(block):  # an empty block brings the steps owed at the end: the last second's
            second = int(block.t[-1] // 1.0)
            if self._second is not None and second != self._second:
                print(second_line(self._second, self._status, self._steps_in_second), file=self.stream)
                self._steps_in_second = 0
            self._second = second
        self._status = out.status
        self._steps_in_second += len(out.steps)

    def close(self) -> None:
        if self.per_second and self._second is not None:
            print(second_line(self._second, self._status, self._steps_in_second), file=self.stream)
        self.stream.flush()


def summary_line(status) -> str:
    return (
        f"replay: {status.t:.1f} s, {status.steps} steps, cadence {status.cadence_spm:.1f} spm at the end, "
        f"calibration {status.calibration}, {status.gaps} gaps, packet loss {100 * status.packet_loss:.2f} %"
    )


def main(args: argparse.Namespace) -> int:
    from imurun.analyze import engine_for
    from imurun.outputs import Outputs
    from imurun.pipeline import run_pipeline
    from imurun.session.plausibility import check_session
    from imurun.sources.replay import replay_streams

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
        blocks, trunk = replay_streams(args.file, speed=args.speed)
        sinks = [printer] if coach is None else [printer, coach]
        status = run_pipeline(blocks, engine_for(args.file), sinks, trunk_blocks=trunk)
    print(summary_line(status))
    return 0


def _screenshot(args: argparse.Namespace) -> int:
    from imurun.ui.screenshot import render_screenshot

    if args.at is None:
        raise ImurunError("--screenshot needs --at S, the session time to show")
    render_screenshot(args.file, args.at, args.screenshot, theme=args.theme, view=args.view)
    print(f"screenshot: {args.screenshot} at {args.at:g} s")
    return 0
