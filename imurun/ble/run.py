"""`imurun run`: live run with one sensor (plus an optional trunk sensor) over BLE.

Finds the sensor (by --device name/address and/or --profile, else the first sensor matching a
firmware profile), connects, starts its stream at --rate, decodes, feeds the engine, prints a
line per step and a status line every 5 s, and records the samples (SI units, after profile
scaling, on the session clock) with SessionWriter. Ctrl-C stops cleanly and closes the file.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", help="sensor name (or fnmatch pattern) or address; default: first match")
    parser.add_argument("--profile", help="firmware profile id; default: recognised from the advertisement")
    parser.add_argument("--trunk-device", help="second sensor at the upper lumbar spine (same code path)")
    parser.add_argument("--trunk-profile", help="firmware profile of the trunk sensor (default: --profile)")
    parser.add_argument("--rate", type=int, help="sample rate in Hz (default: the profile's default)")
    parser.add_argument(
        "--out", type=Path, help="session CSV (default: ~/imurun/sessions/YYYY-MM-DD_HHMMSS.csv)"
    )
    parser.add_argument("--no-ui", action="store_true", help="no dashboard window")
    parser.add_argument("--no-audio", action="store_true", help="no spoken cues")
    parser.add_argument("--adapter", help="BlueZ adapter, e.g. hci0 (default: the first powered one)")
    parser.add_argument("--profiles", type=Path, help="firmware profile directory (default: bundled)")
    parser.add_argument("--scan-timeout", type=float, default=10.0, help="seconds to look for the sensor")
    parser.add_argument(
        "--reconnect-timeout", type=float, default=30.0, help="give up when a lost sensor is not back by then"
    )
    parser.add_argument("--duration", type=float, help="stop after this many seconds of session time")


def build_sinks(args: argparse.Namespace) -> list[Any]:
    """Everything downstream of the engine in a live run. The coach (unless --no-audio) and the
    dashboard (unless --no-ui) attach here."""
    from imurun.ble.console import StepPrinter

    return [StepPrinter()]


def main(args: argparse.Namespace) -> int:
    import asyncio

    from imurun.ble.live import LiveRun
    from imurun.ble.recording import default_session_path, trunk_path
    from imurun.errors import ImurunError
    from imurun.profiles import load_profiles

    profiles = load_profiles(args.profiles)
    for flag in ("profile", "trunk_profile"):
        pid = getattr(args, flag)
        if pid is not None and pid not in profiles:
            raise ImurunError(f"unknown profile {pid!r} (known: {', '.join(sorted(profiles))})")

    def candidates(pid: str | None) -> dict:
        return {pid: profiles[pid]} if pid else profiles

    out = args.out or default_session_path()
    run = LiveRun(
        {"pelvis": candidates(args.profile), "trunk": candidates(args.trunk_profile or args.profile)},
        args.rate,
        args.device,
        args.trunk_device,
        out,
        trunk_path(out) if args.trunk_device else None,
        build_sinks(args),
        adapter=args.adapter,
        scan_timeout=args.scan_timeout,
        reconnect_timeout=args.reconnect_timeout,
        duration=args.duration,
    )
    return asyncio.run(run.run())
