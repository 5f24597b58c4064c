"""One sensor's notifications -> samples on the session clock, with the counts a runner sees.

decode (pure, per batch) -> pair accelerometer and gyroscope rows that came in separate frames ->
StreamClock -> Samples. Malformed notifications are counted and skipped; lost samples show up as
time jumps (the engine sees gaps) and in the counters. A notification delivered twice (BLE stacks
repeat one on retransmission) is dropped and counted before decoding: with device timestamps
every notification's bytes are unique, so a byte-identical one among the last REPEAT_MEMORY is a
repeat; without them (WitMotion) only an immediate byte-identical repeat is recognised.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from imurun.ble.clock import StreamClock
from imurun.ble.decoders import DECODERS, Decoded
from imurun.ble.profiles import Profile

REPEAT_MEMORY = 64  # notifications remembered to recognise a repeat (device-clock profiles)


@dataclass(frozen=True, slots=True)
class Samples:
    t: np.ndarray  # session seconds
    acc: np.ndarray  # m/s^2, sensor frame
    gyr: np.ndarray  # rad/s; NaN for sensors without a gyroscope
    device_t: np.ndarray  # unwrapped device seconds (NaN without device timestamps)
    host_t: np.ndarray  # arrival of the notification that completed each sample (latency only)

    def __len__(self) -> int:
        return int(self.t.shape[0])


@dataclass
class Counters:
    packets: int = 0
    malformed: int = 0
    samples: int = 0
    unpaired: int = 0  # samples whose accelerometer or gyroscope half never arrived
    repeated: int = 0  # notifications delivered twice, dropped
    extra: dict[str, int] = field(default_factory=dict)


class SensorStream:
    def __init__(self, profile: Profile, rate_hz: int):
        self.profile = profile
        self.decoder = DECODERS[profile.decoder]
        self.params: dict[str, Any] = profile.decode_params(rate_hz)
        self.clock = StreamClock(rate_hz, profile.clock == "device")
        self.counters = Counters()
        self._pairing = "gyr" in profile.channels
        self._pending: Decoded | None = None
        self._pending_host = np.empty(0)
        self._wrap_known = False
        self._recent: deque[bytes] = deque(maxlen=REPEAT_MEMORY if profile.clock == "device" else 1)

    def response(self, data: bytes) -> None:
        """A command response from the sensor (e.g. Polar's scale factor)."""
        if self.decoder.response_params is not None:
            self.params.update(self.decoder.response_params(bytes(data)))

    def feed(self, packets: Sequence[bytes], host_t: np.ndarray) -> Samples:
        """Decode a batch of notifications (with their arrival times) into session samples."""
        self.counters.packets += len(packets)
        packets, host_t = self._drop_repeats(packets, host_t)
        d = self.decoder.decode(packets, self.params)
        self.counters.malformed += len(d.malformed)
        if not self._wrap_known:
            self.clock.wrap_s = d.wrap_s
            self._wrap_known = len(d) > 0
        host = np.asarray(host_t, np.float64)[d.packet] if len(d) else np.empty(0)
        acc, gyr, dev, host = d.acc, d.gyr, d.device_t, host
        if self._pairing:
            acc, gyr, dev, host = self._pair(d, host)
        t = self.clock.map(dev, host)
        self.counters.samples += len(t)
        return Samples(t, acc, gyr, self.clock.device_time(t), host)

    def _drop_repeats(self, packets: Sequence[bytes], host_t: np.ndarray) -> tuple[list[bytes], np.ndarray]:
        keep = []
        for i, p in enumerate(packets):
            if p in self._recent:
                self.counters.repeated += 1
            else:
                self._recent.append(bytes(p))
                keep.append(i)
        return [packets[i] for i in keep], np.asarray(host_t, np.float64)[keep]

    def _pair(self, d: Decoded, host: np.ndarray) -> tuple[np.ndarray, ...]:
        """Join rows holding only acc or only gyr that fall on the same sample (device time on the
        period grid). Rows are emitted in time order; an incomplete sample waits until both
        channels have moved 1 s past it, then goes out with NaN for the missing half (counted)."""
        if self._pending is not None:
            d = _concat(self._pending, d)
            host = np.concatenate([self._pending_host, host])
        has_a = ~np.isnan(d.acc).any(axis=1)
        has_g = ~np.isnan(d.gyr).any(axis=1)
        if (has_a & has_g).all():
            self._pending = None
            return d.acc, d.gyr, d.device_t, host
        keys = np.rint(d.device_t * self.params["rate_hz"]).astype(np.int64)
        slots: dict[int, list[int]] = {}  # sample key -> [acc row, gyr row] (-1 = missing)
        for row, key in enumerate(keys.tolist()):
            slot = slots.setdefault(key, [-1, -1])
            if has_a[row]:
                slot[0] = row
            if has_g[row]:
                slot[1] = row
        horizon = min(keys[has_a].max(initial=-(2**62)), keys[has_g].max(initial=-(2**62)))
        horizon -= int(self.params["rate_hz"])  # 1 s of samples
        out_a, out_g, waiting = [], [], []
        for key in sorted(slots):
            a, g = slots[key]
            if waiting or (min(a, g) < 0 and key > horizon):
                waiting.extend(r for r in (a, g) if r >= 0)
                continue
            self.counters.unpaired += min(a, g) < 0
            out_a.append(a)
            out_g.append(g)
        keep = np.asarray(sorted(set(waiting)), np.int64)
        self._pending = _take(d, keep) if len(keep) else None
        self._pending_host = host[keep]
        ra, rg = np.asarray(out_a, np.int64), np.asarray(out_g, np.int64)
        acc = np.where((ra >= 0)[:, None], d.acc[ra], np.nan)
        gyr = np.where((rg >= 0)[:, None], d.gyr[rg], np.nan)
        ref = np.where(ra >= 0, ra, rg)
        h = np.maximum(host[ref], np.where(rg >= 0, host[rg], -np.inf))
        return acc, gyr, d.device_t[ref], h


def _take(d: Decoded, rows: np.ndarray) -> Decoded:
    return Decoded(d.packet[rows], d.acc[rows], d.gyr[rows], d.device_t[rows], d.wrap_s, d.malformed[:0])


def _concat(a: Decoded, b: Decoded) -> Decoded:
    return Decoded(
        np.concatenate([a.packet, b.packet]),
        np.concatenate([a.acc, b.acc]),
        np.concatenate([a.gyr, b.gyr]),
        np.concatenate([a.device_t, b.device_t]),
        b.wrap_s,
        b.malformed,
    )
