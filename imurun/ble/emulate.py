"""`imurun emulate FILE --profile ID`: a virtual BLE sensor that replays a session over BlueZ.

It registers a GATT application and an LE advertisement with BlueZ over D-Bus (dbus-fast, as
bleak uses) on one adapter, waits for a central to subscribe and send the profile's start
command, then notifies real packets of that profile in real time, encoded by the profile's own
encoder. Against the fake BlueZ of the tests (bluezoo) this is the sensor the live path is
tested with; against a real BlueZ with a peripheral-capable adapter it is a demo sensor.

Sample i of the recording is "taken" at epoch + t_i (wall clock); the device clock in the packets
is t_i plus a fixed offset. A restarted emulator given the same --epoch continues the same
timeline, like a sensor that kept sampling while nobody listened. Fault injection for tests:
--loss (drop packets), --repeat (notify some packets twice, as a retransmitting BLE stack does),
--burst-ms (hold packets and release them in bursts), --drop-at or SIGUSR1 (drop the link from the
sensor side), --pace (run the recording's clock faster than real time, for soak tests). Every
write it receives is printed, so a test can see whether a central wrote to it.
"""

from __future__ import annotations

from typing import Any

DEVICE_CLOCK_OFFSET_S = 1000.0  # device time of sample 0: sensors do not start their clock at 0
APP_PATH = "/org/imurun/sensor"  # + "_" + adapter: one application per adapter and process


class VirtualSensor:
    """Serves one recording as one sensor of the given profile."""

    def __init__(
        self,
        profile: Any,
        t: Any,
        acc: Any,
        gyr: Any,
        name: str | None = None,
        rate_hz: int | None = None,
        epoch: float | None = None,
        loss: float = 0.0,
        repeat: float = 0.0,
        seed: int = 0,
        burst_s: float = 0.0,
        drop_at: list[float] | None = None,
        loop: bool = False,
        pace: float = 1.0,
    ):
        import numpy as np

        self.profile = profile
        self.t = np.asarray(t, np.float64) - float(t[0])
        self.acc = np.asarray(acc, np.float64)
        self.gyr = np.asarray(gyr, np.float64)
        self.name = name or profile.match_names[0].replace("*", "") + " imurun"
        self.rate_hz = rate_hz or profile.default_rate_hz
        self.epoch = epoch
        self.loss = loss
        self.repeat = repeat
        self.pace = pace
        self.rng = np.random.default_rng(seed)
        self.burst_s = burst_s
        self.drop_at = list(drop_at or [])
        self.loop = loop
        self.sent = 0
        self.dropped = 0
        self.repeated = 0
        self._stream_task: Any = None
        self._writes: list[tuple[str, bytes]] = []
        self._packets: dict[int, tuple[list[bytes], Any]] = {}

    # -- packets ----------------------------------------------------------------------------------

    def packets(self, rate_hz: int) -> tuple[list[bytes], Any]:
        """All packets of the recording at rate_hz, and the session time each one completes
        (made once per rate: a reconnection must not wait for a long recording to be encoded)."""
        if rate_hz not in self._packets:
            self._packets[rate_hz] = self._encode(rate_hz)
        return self._packets[rate_hz]

    def _encode(self, rate_hz: int) -> tuple[list[bytes], Any]:
        import numpy as np

        from imurun.ble.decoders import DECODERS

        n = int(np.floor(self.t[-1] * rate_hz)) + 1
        ts = np.arange(n) / rate_hz
        acc = np.column_stack([np.interp(ts, self.t, self.acc[:, k]) for k in range(3)])
        gyr = np.column_stack([np.interp(ts, self.t, self.gyr[:, k]) for k in range(3)])
        params = self.profile.decode_params(rate_hz)
        decoder = DECODERS[self.profile.decoder]
        packets = decoder.encode(ts + DEVICE_CLOCK_OFFSET_S, acc, gyr, params)
        # Each packet is due when its last sample is taken: decode it back to find out, unwrapping
        # the device clock (imurun-nus and Movella's uint32 us wrap 55 min into a recording; the
        # packets after the wrap were all due at once).
        decoded = [decoder.decode([p], params) for p in packets]
        due = np.array([_last(d.device_t) for d in decoded])
        wrap = max((d.wrap_s for d in decoded), default=0.0)
        if np.isnan(due).all():  # no device clock in the packets (WitMotion): one sample each
            due = ts[: len(packets)]
        else:
            if wrap:
                due += wrap * np.cumsum(np.r_[0, np.diff(np.nan_to_num(due)) < -wrap / 2])
            due -= DEVICE_CLOCK_OFFSET_S
            due = np.fmax.accumulate(np.nan_to_num(due, nan=-np.inf))
        return packets, due

    # -- D-Bus ------------------------------------------------------------------------------------

    async def serve(self, adapter: str) -> None:
        """Advertise and serve until killed. SIGUSR1 drops the link (fault injection)."""
        import asyncio
        import signal

        from dbus_fast import BusType
        from dbus_fast.aio import MessageBus

        from imurun.ble.bluez import bluetooth_errors
        from imurun.ble.gatt_server import Advertisement

        self.packets(self.rate_hz)  # before advertising: a long recording takes seconds to encode
        with bluetooth_errors():
            self.bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
        self.adapter_path = f"/org/bluez/{adapter}"
        self.app_path = f"{APP_PATH}_{adapter}"
        adv_path = f"{self.app_path}/advertisement"
        self.chars = self._export_gatt()
        self.bus.export(adv_path, Advertisement(self.name, [self.profile.service]))
        intro = await self.bus.introspect("org.bluez", self.adapter_path)
        obj = self.bus.get_proxy_object("org.bluez", self.adapter_path, intro)
        await obj.get_interface("org.bluez.GattManager1").call_register_application(self.app_path, {})
        await obj.get_interface("org.bluez.LEAdvertisingManager1").call_register_advertisement(adv_path, {})
        print(f"virtual {self.profile.id} sensor {self.name!r} advertising on {adapter}", flush=True)
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGUSR1, lambda: loop.create_task(self._drop_link()))
        await asyncio.Event().wait()

    def _export_gatt(self) -> dict[str, Any]:
        from imurun.ble.gatt_server import Characteristic, Service
        from imurun.ble.profiles import BY_PROPERTY

        service_path = f"{self.app_path}/service0"
        self.bus.export(service_path, Service(self.profile.service))
        p = self.profile
        notify = ["6e400003-b5a3-f393-e0a9-e50e24dcca9e"] if p.notify == (BY_PROPERTY,) else list(p.notify)
        write = "6e400002-b5a3-f393-e0a9-e50e24dcca9e" if p.write == BY_PROPERTY else p.write
        flags: dict[str, list[str]] = {u: ["notify"] for u in notify}
        flags.setdefault(write, []).extend(["write", "write-without-response"])
        if p.responses:
            flags.setdefault(p.responses, []).append("notify")
        for w in p.start + p.stop:
            if w.char:
                flags.setdefault(w.char, []).append("write")
        chars = {}
        for k, (uuid, fl) in enumerate(flags.items()):
            ch = Characteristic(uuid, sorted(set(fl)), service_path, self._on_write)
            self.bus.export(f"{service_path}/char{k}", ch)
            chars[uuid] = ch
        self.notify_chars = [chars[u] for u in notify]
        self.write_uuid = write
        self.response_char = chars.get(p.responses) if p.responses else None
        return chars

    # -- protocol ---------------------------------------------------------------------------------

    def _commands(self, which: str, rate: int) -> list[tuple[str, bytes]]:
        return [
            (self.write_uuid if c == self.profile.write else c, b)
            for c, b in self.profile.commands(which, rate)
        ]

    def _on_write(self, uuid: str, value: bytes) -> None:
        """A start sequence (all of a rate's start writes, in order) starts the stream at that
        rate; the stop sequence stops it; any other write is ignored, as sensors do."""
        p = self.profile
        print(f"write {uuid} {value.hex(' ')}", flush=True)
        self._writes = (self._writes + [(uuid, value)])[-8:]
        if p.decoder == "polar-pmd" and self.response_char is not None and value[:1] == b"\x02":
            from imurun.ble.decoders import polar_pmd

            key = "acc_factor" if value[1:2] == bytes([polar_pmd.ACC]) else "gyr_factor"
            self.response_char.notify(polar_pmd.start_response(value[1], float(p.decode[key])))
        for rate in p.rates_hz:
            start = self._commands("start", rate)
            if self._writes[-len(start) :] == start:
                self._restart_stream(rate)
                return
        stop = self._commands("stop", self.rate_hz)
        if stop and self._writes[-len(stop) :] == stop and self._stream_task:
            self._stream_task.cancel()
            self._stream_task = None

    def _restart_stream(self, rate: int) -> None:
        import asyncio

        if self._stream_task:
            self._stream_task.cancel()
        self.rate_hz = rate
        self._stream_task = asyncio.get_running_loop().create_task(self._stream(rate))

    async def _stream(self, rate: int) -> None:
        import asyncio
        import time

        import numpy as np

        packets, due = self.packets(rate)
        if self.epoch is None:  # sample 0 is taken now: nothing is in the past yet
            self.epoch = time.time()
            i = 0
        else:  # a given epoch: packets already in the past are never sent
            i = int(np.searchsorted(due, self._now()))
        while True:
            while i < len(packets):
                now = self._now()
                if self.drop_at and now >= self.drop_at[0]:
                    self.drop_at.pop(0)
                    await self._drop_link()
                    return
                release = due[i] if not self.burst_s else (due[i] // self.burst_s + 1) * self.burst_s
                if release > now:
                    await asyncio.sleep((release - now) / self.pace)
                    continue
                if not self.loss or self.rng.random() >= self.loss:
                    copies = 2 if self.repeat and self.rng.random() < self.repeat else 1
                    for ch in self.notify_chars:
                        if ch.notifying:
                            for _ in range(copies):
                                ch.notify(packets[i])
                    self.sent += 1
                    self.repeated += copies - 1
                else:
                    self.dropped += 1
                i += 1
            if not self.loop:
                return
            self.epoch += (float(due[-1]) + 1.0 / rate) / self.pace
            i = 0

    def _now(self) -> float:
        """Recording seconds since sample 0 (--pace of them per wall-clock second)."""
        import time

        return (time.time() - self.epoch) * self.pace

    async def _drop_link(self) -> None:
        """Disconnect every central connected through our adapter (a link loss)."""
        from dbus_fast import Message

        def call(path: str, interface: str, member: str) -> Message:
            return Message(destination="org.bluez", path=path, interface=interface, member=member)

        reply = await self.bus.call(call("/", "org.freedesktop.DBus.ObjectManager", "GetManagedObjects"))
        for path, ifaces in reply.body[0].items():
            dev = ifaces.get("org.bluez.Device1")
            if path.startswith(self.adapter_path + "/") and dev and dev["Connected"].value:
                await self.bus.call(call(path, "org.bluez.Device1", "Disconnect"))
        print("link dropped", flush=True)


def _last(x: Any) -> float:
    return float(x[-1]) if len(x) else float("nan")
