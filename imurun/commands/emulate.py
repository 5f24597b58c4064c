"""`imurun emulate FILE --profile ID`: a recorded session served as a virtual BLE sensor
(imurun.ble.emulate)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="session CSV to replay")
    parser.add_argument("--profile", required=True, help="firmware profile id to speak")
    parser.add_argument("--rate", type=int, help="sample rate if the central does not choose one")
    parser.add_argument("--name", help="advertised name (default: derived from the profile)")
    parser.add_argument("--adapter", default="hci0", help="BlueZ adapter to advertise on (default hci0)")
    parser.add_argument("--profiles", type=Path, help="firmware profile directory (default: bundled)")
    parser.add_argument("--epoch", type=float, help="wall-clock time (s since 1970) of sample 0")
    parser.add_argument("--loss", type=float, default=0.0, help="fraction of packets to drop (tests)")
    parser.add_argument("--repeat", type=float, default=0.0, help="fraction of packets sent twice (tests)")
    parser.add_argument("--seed", type=int, default=0, help="random seed for --loss and --repeat")
    parser.add_argument("--burst-ms", type=float, default=0.0, help="release packets in bursts (tests)")
    parser.add_argument(
        "--drop-at", type=float, action="append", default=[], help="drop the link at this session time"
    )
    parser.add_argument("--loop", action="store_true", help="start over at the end of the recording")
    parser.add_argument(
        "--pace", type=float, default=1.0, help="recording seconds per wall-clock second (soak tests)"
    )


def main(args: argparse.Namespace) -> int:
    import asyncio

    from imurun.ble.emulate import VirtualSensor
    from imurun.ble.profiles import load_profiles
    from imurun.errors import ImurunError
    from imurun.session.reader import read_session

    profiles = load_profiles(args.profiles)
    if args.profile not in profiles:
        raise ImurunError(f"unknown profile {args.profile!r} (known: {', '.join(sorted(profiles))})")
    block = read_session(args.file).block
    sensor = VirtualSensor(
        profiles[args.profile],
        block.t,
        block.acc,
        block.gyr,
        name=args.name,
        rate_hz=args.rate,
        epoch=args.epoch,
        loss=args.loss,
        repeat=args.repeat,
        seed=args.seed,
        burst_s=args.burst_ms / 1000.0,
        drop_at=sorted(args.drop_at),
        loop=args.loop,
        pace=args.pace,
    )
    asyncio.run(sensor.serve(args.adapter))
    return 0
