"""`imurun demo`: the bundled fatigue run replayed through the engine, the coach and the dashboard.

With a display: the replay window (pause, speed, jump) and the coach speaking through the sound
device (text only where there is none). Without a display it says so and runs headless: the same
engine and coach as fast as they go, cues printed and rendered into a WAV. Either way it ends by
writing steps.csv, summary.json, cues.csv and report.html into the output folder.
"""

from __future__ import annotations

import argparse
import math
import sys
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from imurun.analyze import StepCollector
from imurun.coach.options import add_coach_arguments, coach_sink_from_args
from imurun.commands.replay import parse_speed
from imurun.errors import ImurunError

if TYPE_CHECKING:
    from imurun.coach.sink import CoachSink

# Shipped inside the package (pyproject.toml package-data); pip unpacks wheels, so this is a real file.
DEFAULT_RECORDING = Path(resources.files("imurun") / "recordings" / "fatigue.csv")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--file", type=Path, default=DEFAULT_RECORDING, metavar="CSV",
        help="session to replay (default: the bundled imurun/recordings/fatigue.csv)",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("imurun-demo"), metavar="DIR",
        help="folder for steps.csv, summary.json, cues.csv, cues.wav, report.html (default: ./imurun-demo)",
    )
    parser.add_argument("--headless", action="store_true", help="no window even where there is a display")
    parser.add_argument(
        "--speed", type=parse_speed, default=None, metavar="X|max",
        help="playback speed (default: 1 in the window, max headless)",
    )
    parser.add_argument("--theme", choices=("dark", "light"), default="dark")
    add_coach_arguments(parser, audio_default="live")


def main(args: argparse.Namespace) -> int:
    from imurun.outputs import Outputs, make_folder
    from imurun.session.plausibility import check_session
    from imurun.ui.qt import has_display

    path = args.file
    if not path.is_file():
        where = "the bundled recording" if path == DEFAULT_RECORDING else "the session"
        raise ImurunError(f"{path}: {where} is missing; pass a session with --file")
    warnings = check_session(path)
    make_folder(args.out)
    replayed = _Replayed()
    with Outputs() as staged:  # the coach's cue log and WAV replace earlier ones once the replay ends
        if has_display() and not args.headless:
            speed = 1.0 if args.speed is None else args.speed
            _in_window(args, speed, replayed, coach_sink_from_args(args, args.out, outputs=staged))
        else:
            reason = "--headless" if args.headless else "no display (DISPLAY / WAYLAND_DISPLAY unset)"
            print(f"demo: {reason}: running headless (console cues, {args.out / 'cues.wav'}, report)")
            if args.audio is None:
                args.audio = [f"wav:{args.out / 'cues.wav'}"]
            speed = math.inf if args.speed is None else args.speed
            _headless(args, speed, replayed, coach_sink_from_args(args, args.out, outputs=staged))
    return _finish(args, replayed, warnings)


def _in_window(args: argparse.Namespace, speed: float, replayed: _Replayed, coach: CoachSink | None) -> None:
    """Replay in the dashboard until the window closes (or the session ends)."""
    from imurun.ui.launch import run_replay_dashboard

    run_replay_dashboard(args.file, speed, args.theme, sinks=[replayed], coach=coach)


def _headless(args: argparse.Namespace, speed: float, replayed: _Replayed, coach: CoachSink | None) -> None:
    from imurun.analyze import count_rows
    from imurun.console import ProgressBar
    from imurun.pipeline import Pipeline, engine_for
    from imurun.sources.replay import replay_blocks

    pipeline = Pipeline(engine_for(args.file), [replayed])
    if coach is not None:
        pipeline.add(coach)
    if sys.stderr.isatty():
        pipeline.add(ProgressBar(count_rows(args.file), label="demo"))
    pipeline.run(replay_blocks(args.file, speed=speed))


class _Replayed(StepCollector):
    """The steps, the last status and the time span of what was replayed (all of it, or up to a
    closed window)."""

    status = None

    def __init__(self):
        from imurun.summary import SessionSpan

        super().__init__()
        self.span = SessionSpan()

    def consume(self, block, out) -> None:
        super().consume(block, out)
        self.span.consume(block, out)
        self.status = out.status


def _finish(args: argparse.Namespace, replayed: _Replayed, warnings: list[str]) -> int:
    """Write the analysis and the report of what was replayed (cues.csv is the coach's own log)."""
    from imurun.analyze import write_outputs
    from imurun.report.build import write_report
    from imurun.session.reader import read_header
    from imurun.summary import summarize

    st = replayed.status
    if st is None:
        print("demo: closed before the replay started; nothing written")
        return 0
    steps = replayed.steps
    span = replayed.span
    summary = summarize(steps, st, span.duration_s, read_header(args.file), start_s=span.start_s or 0.0,
                        minutes=span.minutes, warnings=warnings)
    write_outputs(args.out, steps, summary)
    cues = args.out / "cues.csv"
    report = write_report(args.file, args.out / "report.html", steps, summary,
                          cues_csv=cues if cues.is_file() else None)
    cadence = summary["cadence_mean_spm"]
    print(f"demo: {span.duration_s:.0f} s replayed, {summary['steps']} steps, "
          f"mean cadence {'-' if cadence is None else f'{cadence:.1f}'} spm")
    for name in ("steps.csv", "summary.json", "cues.csv", "cues.wav", "report.html"):
        if (args.out / name).is_file():
            print(f"demo: wrote {args.out / name}")
    print(f"demo: open {report} in a browser for the run report")
    return 0
