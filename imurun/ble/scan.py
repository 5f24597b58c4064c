"""Scanning for sensors: the advertising devices that match a firmware profile (`imurun scan`)."""

from __future__ import annotations


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
