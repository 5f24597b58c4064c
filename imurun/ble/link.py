"""One sensor's BLE link: find it, connect, subscribe, start the stream, keep it alive.

A link counts as lost when BlueZ reports the disconnection or when no notification arrived for
SILENCE_S. It is then re-established with exponential backoff (re-scanning first, so a sensor
that disappeared is not "connected" to a stale BlueZ object) until RECONNECT_TIMEOUT_S passes.
"""

from __future__ import annotations

import asyncio
import fnmatch
import itertools
import time
from collections.abc import Callable
from typing import Any

from imurun.ble.bluez import bleak_kwargs, bluetooth_errors
from imurun.errors import ImurunError
from imurun.profiles import BY_PROPERTY, Profile

SILENCE_S = 2.0  # a stream silent this long counts as lost
BACKOFF_S = (0.5, 1.0, 2.0, 4.0)  # waits between reconnection attempts (the last one repeats)
RECONNECT_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 10.0


class LinkLost(Exception):
    pass


class SensorGone(ImurunError):
    """The sensor did not come back within the reconnection timeout."""


def describe(target: str | None, profile: Profile | None) -> str:
    what = profile.name if profile else "sensor matching a firmware profile"
    return f"{what} {target!r}" if target else what


def wanted(target: str | None, name: str, address: str) -> bool:
    """--device matches an address (any case) or a name (exact or fnmatch pattern)."""
    if target is None:
        return True
    return target.lower() == address.lower() or fnmatch.fnmatch(name.lower(), target.lower())


async def find_sensor(
    profiles: dict[str, Profile], target: str | None, adapter: str | None, timeout: float
) -> tuple[Any, Profile] | None:
    """The first advertising device that matches --device and a profile (any of `profiles`).

    With --device given and a single profile forced, the device need not advertise the
    profile's name or services: the GATT check at connection decides (wrong profile = error).
    """
    from bleak import BleakScanner

    found: asyncio.Future = asyncio.get_running_loop().create_future()

    def seen(device: Any, adv: Any) -> None:
        name = adv.local_name or device.name or ""
        if found.done() or not wanted(target, name, device.address):
            return
        for p in profiles.values():
            if p.matches(name, adv.service_uuids) or (target and len(profiles) == 1):
                found.set_result((device, p))
                return

    with bluetooth_errors():
        async with BleakScanner(detection_callback=seen, **bleak_kwargs(adapter)):
            try:
                return await asyncio.wait_for(found, timeout)
            except TimeoutError:
                return None


class Link:
    """Keeps one sensor streaming; calls on_data(host_time, bytes) for every notification."""

    def __init__(
        self,
        device: Any,
        profile: Profile,
        rate_hz: int,
        adapter: str | None,
        on_data: Callable[[float, bytes], None],
        on_response: Callable[[bytes], None],
        on_event: Callable[[str, str], None],
        reconnect_timeout: float = RECONNECT_TIMEOUT_S,
    ):
        self.device = device
        self.name = device.name or device.address
        self.profile = profile
        self.rate_hz = rate_hz
        self.adapter = adapter
        self.on_data = on_data
        self.on_response = on_response
        self.on_event = on_event
        self.reconnect_timeout = reconnect_timeout
        self.last_packet = time.monotonic()
        self.reconnects = 0

    def _notified(self, _char: Any, data: bytearray) -> None:
        self.last_packet = now = time.monotonic()
        self.on_data(now, bytes(data))

    async def run(self, stop: asyncio.Event) -> None:
        """Stream until `stop` is set. Raises ImurunError if the sensor cannot be used."""
        first = True
        while not stop.is_set():
            try:
                await self._session(stop, first)
                return
            except LinkLost as lost:
                self.on_event("lost", str(lost))
            first = False
            await self._reconnect(stop)

    async def _reconnect(self, stop: asyncio.Event) -> None:
        deadline = time.monotonic() + self.reconnect_timeout
        for attempt in itertools.count():
            if stop.is_set():
                return
            wait = BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)]
            if time.monotonic() + wait > deadline:
                break
            try:
                await asyncio.wait_for(stop.wait(), wait)
                return
            except TimeoutError:
                pass
            remaining = deadline - time.monotonic()
            hit = await find_sensor(
                {self.profile.id: self.profile}, self.device.address, self.adapter, min(3.0, remaining)
            )
            if hit is not None:
                self.device = hit[0]
                self.reconnects += 1
                return
        raise SensorGone(
            f"{self.name} ({self.device.address}) lost and not back within {self.reconnect_timeout:g} s"
        )

    async def _session(self, stop: asyncio.Event, first: bool) -> None:
        from bleak import BleakClient
        from bleak.exc import BleakError

        lost = asyncio.Event()
        client = BleakClient(
            self.device,
            disconnected_callback=lambda _c: lost.set(),
            timeout=CONNECT_TIMEOUT_S,
            **bleak_kwargs(self.adapter),
        )
        try:
            with bluetooth_errors():
                await client.connect()
                notify, write = self._resolve(client, first)
                if self.profile.responses:
                    await client.start_notify(
                        self.profile.responses, lambda _c, d: self.on_response(bytes(d))
                    )
                for char in notify:
                    await client.start_notify(char, self._notified)
                for uuid, data in self.profile.commands("start", self.rate_hz):
                    char = write if uuid == self.profile.write else client.services.get_characteristic(uuid)
                    await client.write_gatt_char(char, data, response="write" in char.properties)
            self.last_packet = time.monotonic()
            self.on_event("connected", f"{self.name} ({self.device.address})")
            while not stop.is_set():
                if lost.is_set():
                    raise LinkLost("disconnected")
                if time.monotonic() - self.last_packet > SILENCE_S:
                    raise LinkLost(f"no data for {SILENCE_S:g} s")
                try:
                    await asyncio.wait_for(stop.wait(), 0.1)
                except TimeoutError:
                    pass
            await self._stop_stream(client, write)
        except (BleakError, TimeoutError, OSError) as exc:
            if first:
                raise ImurunError(
                    f"cannot use {self.name} ({self.device.address}): {exc or type(exc).__name__}"
                ) from None
            raise LinkLost(f"reconnection failed: {exc or type(exc).__name__}") from None
        finally:
            if client.is_connected:
                try:
                    await client.disconnect()
                except (BleakError, TimeoutError, OSError):
                    pass

    async def _stop_stream(self, client: Any, write: Any) -> None:
        from bleak.exc import BleakError

        try:
            for uuid, data in self.profile.commands("stop", self.rate_hz):
                char = write if uuid == self.profile.write else client.services.get_characteristic(uuid)
                await client.write_gatt_char(char, data, response="write" in char.properties)
        except (BleakError, TimeoutError, OSError):
            pass  # stopping is a courtesy: the link goes down next anyway

    def _resolve(self, client: Any, first: bool) -> tuple[list[Any], Any]:
        """The notify and write characteristics; by UUID, or by property (Nordic UART style)."""
        p = self.profile
        service = client.services.get_service(p.service)
        problem = None
        if service is None:
            problem = f"has no service {p.service}"
        else:
            chars = service.characteristics
            if p.notify == (BY_PROPERTY,):
                notify = [c for c in chars if "notify" in c.properties][:1]
            else:
                notify = [c for c in chars if c.uuid in p.notify]
            writable = [c for c in chars if {"write", "write-without-response"} & set(c.properties)]
            write = next((c for c in writable if p.write in (BY_PROPERTY, c.uuid)), None)
            if not notify or write is None:
                problem = f"lacks the characteristics of service {p.service}"
        if problem:
            message = f"{self.name} ({self.device.address}) {problem}: not a {p.name} (wrong --profile?)"
            if first:
                raise ImurunError(message)
            raise LinkLost(message)
        return notify, write
