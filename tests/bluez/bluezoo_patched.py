# SPDX-License-Identifier: GPL-2.0-only
#
# Test-only launcher for bluezoo 1.0.2 (GPL-2.0-only, https://github.com/arkq/bluez-zoo) with two
# small fixes applied at run time. It runs in its own process as the fake BlueZ of the BLE tests;
# imurun never imports it or bluezoo.
#
# Copyright (C) 2026 imurun developers. This program is free software; you can redistribute it
# and/or modify it under the terms of the GNU General Public License version 2 as published by
# the Free Software Foundation. It is distributed WITHOUT ANY WARRANTY; see the GNU General
# Public License version 2 for details.
#
# Fixes:
# 1. Re-scan of a device already known to the adapter: stock bluezoo only emits
#    PropertiesChanged when an advertised property changed, so a second scan (bleak's
#    find_device_* after a disconnect, or a reconnect after the sensor restarted) never sees the
#    device. Real BlueZ reports every advertising event as an RSSI update; so do we.
# 2. Second connect: stock bluezoo exports the GATT link objects on every connect and never
#    removes them on disconnect, so the next connect fails on already-exported paths and the
#    central keeps stale services; notification subscriptions also survive, so the next session
#    gets every notification twice. On disconnect we stop notifications on the peripheral (as the
#    link loss does in BlueZ), drop the subscriptions, remove the links and clear ServicesResolved.
# 3. Disconnect from the peripheral's side: stock bluezoo only marks a private copy of the other
#    side as disconnected, so the central never hears of it. We disconnect the exported
#    counterpart too, as a real link loss is seen by both ends.
# 4. Several centrals scanning on one adapter: stock bluezoo starts one scan task per
#    StartDiscovery and stops scanning for everybody at the first StopDiscovery. We keep one scan
#    task per adapter and stop it only when the last client stopped (as BlueZ does).
"""Run bluezoo with the re-scan and reconnect fixes (see header)."""

from __future__ import annotations

import asyncio
import sys

from bluezoo import bluezoo
from bluezoo.adapter import Adapter
from bluezoo.device import Device
from bluezoo.gatt import GattCharacteristicClientLink

_stock_properties_sync = Device.properties_sync
_stock_disconnect = Device.disconnect


async def _properties_sync(self: Device, device: Device) -> None:
    await _stock_properties_sync(self, device)
    # A fresh advertising report: alternate the RSSI so that a PropertiesChanged goes out.
    self.rssi = -50 if self.rssi != -50 else -51
    self.properties_changed.emit(("org.bluez.Device1", {"RSSI": ("n", self.rssi)}, []))


async def _disconnect(self: Device, uuid: str | None = None) -> None:
    await _stock_disconnect(self, uuid)
    mock = self.peer_adapter.mock
    # Remove deepest objects first: descriptors, characteristics, then services.
    for path in sorted(self.services, key=len, reverse=True):
        link = self.services.pop(path)
        if isinstance(link, GattCharacteristicClientLink):
            link.client_props_changed_subscription.unsubscribe()
            if link.client.Notifying.get(False):
                try:
                    await link.client.StopNotify()
                except Exception:  # the peripheral may already be gone
                    pass
        mock.remove_object(link)
    for dev in (self.peer, self):
        if dev is not None and dev.services_resolved:
            await dev.ServicesResolved.set_async(False)
    other = self.peer_adapter.devices.get(
        f"{self.peer_adapter.get_object_path()}/dev_{self.adapter.address.replace(':', '_')}"
    )
    if other is not None and other is not self and other.connected:
        await other.disconnect()


_stock_create_discovering_task = bluezoo.BluezMockService.create_discovering_task
_stock_stop_discovering = Adapter._Adapter__stop_discovering


def _create_discovering_task(self: bluezoo.BluezMockService, id: int) -> asyncio.Task:
    running = self.adapters[id].discovering_task
    if isinstance(running, asyncio.Task) and not running.done():
        return running
    return _stock_create_discovering_task(self, id)


async def _stop_discovering(self: Adapter) -> None:
    if not self.scan_subscribers:
        await _stock_stop_discovering(self)


Device.properties_sync = _properties_sync
Device.disconnect = _disconnect
bluezoo.BluezMockService.create_discovering_task = _create_discovering_task
Adapter._Adapter__stop_discovering = _stop_discovering

if __name__ == "__main__":
    sys.argv[0] = "bluezoo"
    bluezoo.main()
