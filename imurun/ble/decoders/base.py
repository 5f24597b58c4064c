"""What every decoder returns, and the unit constants they share."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

G0 = 9.80665  # standard gravity, m/s^2 (CGPM 1901): "g" units in vendor docs are converted with it
DEG = np.pi / 180.0
# What no sensor of a runner can report: beyond twice the widest range of the bundled sensors
# (+-32.8 g: Polar's int16 milli-g; the others +-16 g) and of MEMS gyroscopes (+-2000 deg/s).
# A value past these is a corrupt packet, counted as malformed, never a sample.
ACC_LIMIT = 64.0 * G0  # m/s^2
GYR_LIMIT = 4000.0 * DEG  # rad/s


@dataclass(frozen=True, slots=True)
class Decoded:
    """Samples decoded from a batch of notifications, in arrival order.

    packet: int64 (n,) index (within the batch) of the notification each sample came from.
    acc: float64 (n, 3) m/s^2; gyr: float64 (n, 3) rad/s; a NaN row means "not in this packet"
      (e.g. Polar sends accelerometer and gyroscope in separate frames).
    device_t: float64 (n,) seconds on the device clock, NaN when the protocol has no timestamps.
    wrap_s: period after which device_t wraps (0 = never).
    malformed: int64 indices of notifications that were skipped as malformed.
    """

    packet: np.ndarray
    acc: np.ndarray
    gyr: np.ndarray
    device_t: np.ndarray
    wrap_s: float
    malformed: np.ndarray

    def __len__(self) -> int:
        return int(self.packet.shape[0])


def empty(wrap_s: float, malformed: Sequence[int] = ()) -> Decoded:
    return Decoded(
        np.empty(0, np.int64),
        np.empty((0, 3)),
        np.empty((0, 3)),
        np.empty(0),
        wrap_s,
        np.asarray(malformed, np.int64),
    )


def plausible(d: Decoded) -> Decoded:
    """`d` without the notifications holding a value no sensor can report (they join the
    malformed ones): non-finite or beyond ACC_LIMIT / GYR_LIMIT, a half-missing vector, an
    infinite device time. A channel missing as a whole (all NaN) is allowed, both missing is not."""
    acc_gone, gyr_gone = np.isnan(d.acc).all(axis=1), np.isnan(d.gyr).all(axis=1)
    ok = (
        ((np.abs(d.acc) <= ACC_LIMIT).all(axis=1) | acc_gone)
        & ((np.abs(d.gyr) <= GYR_LIMIT).all(axis=1) | gyr_gone)
        & ~(acc_gone & gyr_gone)
        & ~np.isinf(d.device_t)  # NaN: the protocol has no timestamps
    )
    if ok.all():
        return d
    bad = np.unique(d.packet[~ok])
    keep = ~np.isin(d.packet, bad)
    return Decoded(
        d.packet[keep], d.acc[keep], d.gyr[keep], d.device_t[keep], d.wrap_s, np.union1d(d.malformed, bad)
    )


@dataclass(frozen=True, slots=True)
class Decoder:
    """A pure parse function, its inverse (used by the virtual sensor and the tests) and the
    `[decode]` parameters a profile must give it. `decode` is what everyone calls: the parse
    followed by the plausibility bound that every decoder shares."""

    parse: Callable[[Sequence[bytes], Mapping[str, Any]], Decoded]
    encode: Callable[..., list[bytes]]
    params: Mapping[str, type]
    # Parameter updates the sensor announces on the profile's `gatt.responses` characteristic.
    response_params: Callable[[bytes], dict[str, Any]] | None = None

    def decode(self, packets: Sequence[bytes], params: Mapping[str, Any]) -> Decoded:
        return plausible(self.parse(packets, params))

    def check_params(self, params: Mapping[str, Any]) -> str:
        """'' if params has every required key with the right type, else what is wrong."""
        for key, kind in self.params.items():
            value = params.get(key)
            if value is None:
                return f"missing parameter {key!r}"
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                continue
            if not isinstance(value, kind) or isinstance(value, bool):
                return f"parameter {key!r} must be {kind.__name__}"
        return ""
