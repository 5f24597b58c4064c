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
from dataclasses import dataclass, field
from typing import Any

from imurun.ble.bluez import bleak_kwargs, bluetooth_errors
from imurun.ble.profiles import BY_PROPERTY, Profile
from imurun.errors import ImurunError

SILENCE_S = 2.0  # a stream silent this long counts as lost
BACKOFF_S = (0.5, 1.0, 2.0, 4.0)  # waits between reconnection attempts (the last one repeats)
RECONNECT_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 10.0
SETTLE_S = 2.0  # after the first candidate, scan this long for others (ambiguity check)
# Services that many unrelated devices advertise: the Nordic UART Service is a generic serial
# link (nRF Connect SDK), so it identifies no sensor family by itself.
GENERIC_SERVICES = frozenset({"6e400001-b5a3-f393-e0a9-e50e24dcca9e"})


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


@dataclass
class Candidate:
    """An advertising device that --device selects, and the profiles it may speak."""

    device: Any
    name: str
    identified: list[Profile] = field(default_factory=list)  # positively: name or own service
    generic: list[Profile] = field(default_factory=list)  # only by a generic service (NUS)

    def label(self, with_profile: bool = False) -> str:
        what = f", {self.identified[0].id}" if with_profile and len(self.identified) == 1 else ""
        return f"{self.name!r} ({self.device.address}{what})"


def identifies(profile: Profile, name: str, service_uuids: list[str]) -> bool:
    """Is the advertisement enough to take the device for this family and write to it: a name
    pattern of the profile, or a service UUID of the profile that is not a generic one?"""
    return profile.matches(name, [u for u in service_uuids if u.lower() not in GENERIC_SERVICES])


async def find_sensor(
    profiles: dict[str, Profile],
    target: str | None,
    adapter: str | None,
    timeout: float,
    settle: float = SETTLE_S,
) -> tuple[Any, Profile] | None:
    """The one advertising device that matches --device and is identified by one of `profiles`;
    None if none was seen within `timeout`.

    Nothing is written to a device that was not positively identified: by a name pattern or a
    family's own service UUID, or by the user naming the device (--device) and the profile
    (--profile) both. Once one is seen, scanning goes on for `settle` s; several candidates (or
    one that several profiles claim) are an error that lists them. So is a device that advertises
    only a generic service (the Nordic UART Service) and nothing that identifies it. An exact
    --device address (a reconnection) needs no settling: it names one device.
    """
    from bleak import BleakScanner

    seen_by: dict[str, Candidate] = {}
    first: asyncio.Future = asyncio.get_running_loop().create_future()
    forced = target is not None and len(profiles) == 1
    exact = target is not None and ":" in target

    def seen(device: Any, adv: Any) -> None:
        name = adv.local_name or device.name or ""
        if not wanted(target, name, device.address):
            return
        c = seen_by.setdefault(device.address, Candidate(device, name))
        c.device, c.name = device, name
        for p in profiles.values():
            if forced or identifies(p, name, adv.service_uuids):
                if p not in c.identified:
                    c.identified.append(p)
            elif p.matches(name, adv.service_uuids) and p not in c.generic:
                c.generic.append(p)
        if c.identified and not first.done():
            first.set_result(None)

    with bluetooth_errors():
        async with BleakScanner(detection_callback=seen, **bleak_kwargs(adapter)):
            try:
                await asyncio.wait_for(first, timeout)
            except TimeoutError:
                pass
            else:
                if not exact:
                    await asyncio.sleep(settle)
    hits = [c for c in seen_by.values() if c.identified]
    if len(hits) > 1:
        listed = ", ".join(c.label(with_profile=True) for c in hits)
        raise ImurunError(f"several sensors found: {listed}: choose one with --device NAME or ADDRESS")
    if hits:
        (hit,) = hits
        if len(hit.identified) > 1:
            ids = ", ".join(p.id for p in hit.identified)
            raise ImurunError(f"{hit.label()} matches several profiles ({ids}): choose one with --profile")
        return hit.device, hit.identified[0]
    unknown = [c for c in seen_by.values() if c.generic]
    if unknown:
        c = unknown[0]
        raise ImurunError(
            f"{c.label()} advertises only a generic service (Nordic UART), which does not identify a "
            f"sensor: nothing was written to it; if it is one, run with --device {c.device.address} "
            f"--profile {c.generic[0].id}"
        )
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
                notify, chars = self._resolve(client, first)
                if self.profile.responses:
                    await client.start_notify(
                        chars[self.profile.responses], lambda _c, d: self.on_response(bytes(d))
                    )
                for char in notify:
                    await client.start_notify(char, self._notified)
                await self._write(client, chars, "start")
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
            await self._stop_stream(client, chars)
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

    async def _write(self, client: Any, chars: dict[str, Any], which: str) -> None:
        for uuid, data in self.profile.commands(which, self.rate_hz):
            char = chars[uuid]
            await client.write_gatt_char(char, data, response="write" in char.properties)

    async def _stop_stream(self, client: Any, chars: dict[str, Any]) -> None:
        from bleak.exc import BleakError

        try:
            await self._write(client, chars, "stop")
        except (BleakError, TimeoutError, OSError):
            pass  # stopping is a courtesy: the link goes down next anyway

    def _resolve(self, client: Any, first: bool) -> tuple[list[Any], dict[str, Any]]:
        """The characteristics to subscribe to, and every one the profile writes to or reads
        responses from, by UUID (the write one also under the profile's `gatt.write`, which may be
        by property, Nordic UART style). A missing one is one line: not this profile's sensor."""
        p = self.profile
        service = client.services.get_service(p.service)
        problem = None
        if service is None:
            problem = f"has no service {p.service}"
        else:
            own = service.characteristics
            if p.notify == (BY_PROPERTY,):
                notify = [c for c in own if "notify" in c.properties][:1]
            else:
                notify = [c for c in own if c.uuid in p.notify]
            writable = [c for c in own if {"write", "write-without-response"} & set(c.properties)]
            write = next((c for c in writable if p.write in (BY_PROPERTY, c.uuid)), None)
            chars = {p.write: write}
            used = [u for u, _ in p.commands("start", self.rate_hz) + p.commands("stop", self.rate_hz)]
            for uuid in {*used, *([p.responses] if p.responses else [])} - {p.write}:
                chars[uuid] = client.services.get_characteristic(uuid)
            absent = sorted(u for u, c in chars.items() if c is None and u != p.write)
            if not notify or write is None:
                problem = f"lacks the characteristics of service {p.service}"
            elif absent:
                problem = f"lacks characteristic {absent[0]}"
        if problem:
            message = f"{self.name} ({self.device.address}) {problem}: not a {p.name} (wrong --profile?)"
            if first:
                raise ImurunError(message)
            raise LinkLost(message)
        return notify, chars
