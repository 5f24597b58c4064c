"""Coach / audio command-line flags, shared by `imurun run`, `replay` and `demo` (light imports only)."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from imurun.coach.sink import CoachSink
    from imurun.outputs import Outputs


def add_coach_arguments(parser: argparse.ArgumentParser, audio_default: str = "live") -> None:
    g = parser.add_argument_group("coach", "spoken cues, tones and metronome (docs/coaching.md)")
    g.add_argument("--no-coach", action="store_true", help="no cues at all")
    g.add_argument(
        "--runner", type=Path, metavar="TOML",
        help="runner profile (default: ~/.config/imurun/runner.toml if it exists)",
    )
    g.add_argument(
        "--audio", action="append", metavar="SPEC",
        help=f"live | wav:PATH | none; repeatable (default: {audio_default}); cues are always printed",
    )
    g.add_argument("--target-cadence", type=float, metavar="SPM", help="absolute target cadence")
    g.add_argument(
        "--cadence-increase", type=float, metavar="PCT",
        help="target = cadence measured after the quiet start + PCT %% (5-10 for retraining)",
    )
    g.add_argument("--metronome", action=argparse.BooleanOptionalAction, help="click at the target cadence")
    g.add_argument("--metronome-volume", type=float, metavar="0..1")
    g.add_argument("--voice", metavar="NAME", help="espeak-ng voice, e.g. en-gb")
    g.add_argument("--quiet-start", type=float, metavar="S", help="seconds of running before form cues")
    parser.set_defaults(audio_default=audio_default)


def coach_sink_from_args(
    args: argparse.Namespace,
    out_dir: Path | None = None,
    cue_log: Path | None = None,
    outputs: Outputs | None = None,
) -> CoachSink | None:
    """The sink the flags ask for (None with --no-coach); the cue log goes to `cue_log`, else to
    out_dir/cues.csv when out_dir is given (a live run names it after its recording). With
    `outputs`, the cue log and WAV files are written to its temporary files, renamed into place
    when the caller's `with outputs` ends cleanly (a replay: after its input was read in full)."""
    if args.no_coach:
        return None
    from imurun.coach.profile import load_profile, validate_profile
    from imurun.coach.sink import CoachSink, build_outputs

    profile = load_profile(args.runner)
    c, m, v, timing = profile.cadence, profile.metronome, profile.voice, profile.timing
    if args.target_cadence is not None:
        c = replace(c, target_spm=args.target_cadence)
    if args.cadence_increase is not None:
        c = replace(c, target_spm=0.0, increase_pct=args.cadence_increase)
    if args.metronome is not None:
        m = replace(m, enabled=args.metronome)
    if args.metronome_volume is not None:
        m = replace(m, volume=args.metronome_volume)
    if args.voice is not None:
        v = replace(v, name=args.voice)
    if args.quiet_start is not None:
        timing = replace(timing, quiet_start_s=args.quiet_start)
    profile = replace(profile, cadence=c, metronome=m, voice=v, timing=timing)
    validate_profile(profile, "command line")
    stage = outputs.path if outputs is not None else Path
    audio = build_outputs(args.audio or [args.audio_default], profile, stage=stage)
    if cue_log is None and out_dir is not None:
        cue_log = Path(out_dir) / "cues.csv"
    return CoachSink(profile, audio, cue_log=None if cue_log is None else stage(cue_log))
