"""`imurun run`: a live run from a BLE sensor, coached, recorded, then reported (imurun.live.run)."""

from __future__ import annotations

import argparse
from pathlib import Path

from imurun.coach.options import add_coach_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", help="sensor name (or fnmatch pattern) or address; default: first match")
    parser.add_argument("--profile", help="firmware profile id; default: recognised from the advertisement")
    parser.add_argument("--trunk-device", help="second sensor at the upper lumbar spine (same code path)")
    parser.add_argument("--trunk-profile", help="firmware profile of the trunk sensor (default: --profile)")
    parser.add_argument("--rate", type=int, help="sample rate in Hz (default: the profile's default)")
    parser.add_argument(
        "--out", type=Path,
        help="session CSV (default: ~/imurun/sessions/YYYY-MM-DD_HHMMSS.csv); its cue log and report "
        "go next to it as NAME.cues.csv and NAME.report.html",
    )
    parser.add_argument("--adapter", help="BlueZ adapter, e.g. hci0 (default: the first powered one)")
    parser.add_argument("--profiles", type=Path, help="firmware profile directory (default: bundled)")
    parser.add_argument("--scan-timeout", type=float, default=10.0, help="seconds to look for the sensor")
    parser.add_argument(
        "--reconnect-timeout", type=float, default=30.0, help="give up when a lost sensor is not back by then"
    )
    parser.add_argument("--duration", type=float, help="stop after this many seconds of session time")
    parser.add_argument(
        "--calibrate", action="store_true",
        help="guided standing calibration at the start: stand tall and still until told "
        "\"Calibrated\" (the zero of pelvic drop and tilt); moving off first is said once, and the "
        "baseline then comes from the gait (low confidence) until a standing still period",
    )
    ui = parser.add_argument_group("dashboard", "the live window (docs/dashboard.md)")
    ui.add_argument("--no-ui", action="store_true", help="no dashboard window")
    ui.add_argument("--theme", choices=("dark", "light"), default="dark")
    add_coach_arguments(parser, audio_default="live")
    parser.add_argument("--no-audio", action="store_true", help="no sound: the same as --audio none")


def main(args: argparse.Namespace) -> int:
    from imurun.ble.profiles import load_profiles
    from imurun.errors import ImurunError
    from imurun.live.run import run_live

    profiles = load_profiles(args.profiles)
    for flag in ("profile", "trunk_profile"):
        pid = getattr(args, flag)
        if pid is not None and pid not in profiles:
            raise ImurunError(f"unknown profile {pid!r} (known: {', '.join(sorted(profiles))})")
    if args.no_audio:
        if args.audio:
            raise ImurunError("--no-audio and --audio exclude each other")
        args.audio = ["none"]
    return run_live(args, profiles)
