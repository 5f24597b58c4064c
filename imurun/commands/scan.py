"""`imurun scan`: nearby sensors that match a firmware profile (imurun.ble.scan)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds to listen (default 5)")
    parser.add_argument("--adapter", help="BlueZ adapter to use, e.g. hci0 (default: the first powered one)")
    parser.add_argument("--profiles", type=Path, help="firmware profile directory (default: bundled)")


def main(args: argparse.Namespace) -> int:
    import asyncio

    from imurun.ble.profiles import load_profiles
    from imurun.ble.scan import scan

    profiles = load_profiles(args.profiles)
    found = asyncio.run(scan(profiles, args.timeout, args.adapter))
    if not found:
        print(f"no sensor matching a firmware profile found in {args.timeout:g} s")
        return 1
    print(f"{'name':<24} {'address':<18} {'rssi':>5}  profile")
    for name, address, rssi, profile_id in found:
        print(f"{name:<24} {address:<18} {rssi:>5}  {profile_id}")
    if any(r[3].endswith("?") for r in found):
        print("?: only a generic service (Nordic UART) matches, which does not identify a sensor: "
              "`imurun run` uses it only with --device ADDRESS --profile ID")
    return 0
