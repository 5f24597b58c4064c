"""`imurun scan`: list nearby sensors that match a firmware profile."""

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


async def scan(profiles: dict, timeout: float, adapter: str | None) -> list[tuple[str, str, int, str]]:
    """(name, address, RSSI, profile id) of every advertising device that matches a profile; the
    id ends in "?" when only a generic service matched (imurun.ble.link.identifies)."""
    from bleak import BleakScanner

    from imurun.ble.bluez import bleak_kwargs, bluetooth_errors
    from imurun.ble.link import identifies

    with bluetooth_errors():
        seen = await BleakScanner.discover(timeout=timeout, return_adv=True, **bleak_kwargs(adapter))
    rows = []
    for device, adv in seen.values():
        name = adv.local_name or device.name or ""
        matching = [p for p in profiles.values() if p.matches(name, adv.service_uuids)]
        known = [p for p in matching if identifies(p, name, adv.service_uuids)]
        if known or matching:
            rows.append((name, device.address, adv.rssi, known[0].id if known else matching[0].id + "?"))
    return sorted(rows, key=lambda r: -r[2])
