"""The virtual sensor's stream loop (imurun/ble/emulate.py), without D-Bus: what it notifies."""

import asyncio

import numpy as np
import pytest

from imurun.ble.decoders import DECODERS
from imurun.ble.emulate import VirtualSensor
from imurun.ble.profiles import load_profiles

PROFILES = load_profiles()


class Listener:
    """A subscribed characteristic: keeps what is notified."""

    notifying = True

    def __init__(self):
        self.values: list[bytes] = []

    def notify(self, value: bytes) -> None:
        self.values.append(value)


def stream(profile_id: str, seconds: float, **kw) -> tuple[VirtualSensor, list[bytes]]:
    rate = PROFILES[profile_id].default_rate_hz
    t = np.arange(int(seconds * rate)) / rate
    acc = np.column_stack([t, -t, 9.81 + 0 * t])  # every sample distinct
    sensor = VirtualSensor(PROFILES[profile_id], t, acc, acc / 10, pace=20.0, **kw)
    sensor.notify_chars = [Listener()]
    asyncio.run(sensor._stream(rate))
    return sensor, sensor.notify_chars[0].values


@pytest.mark.parametrize("profile_id", sorted(PROFILES))
def test_emulator_sends_every_sample_from_sample_0(profile_id):
    """Without --epoch sample 0 is taken when the stream starts: it must be sent (WitMotion's and
    Movella's first packet, due at exactly 0, used to count as already in the past)."""
    sensor, sent = stream(profile_id, 2.0)
    p = PROFILES[profile_id]
    whole, _ = sensor.packets(p.default_rate_hz)
    assert sent == whole
    d = DECODERS[p.decoder].decode(sent, p.decode_params(p.default_rate_hz))
    np.testing.assert_allclose(d.acc[~np.isnan(d.acc).any(axis=1)][0], [0, 0, 9.81], atol=0.01)


def test_emulator_repeats_packets_on_request():
    sensor, sent = stream("imurun-nus", 2.0, repeat=0.2, seed=3)
    assert sensor.repeated > 0 and len(sent) == sensor.sent + sensor.repeated
    assert len(set(sent)) == sensor.sent


def test_packets_after_the_device_clock_wraps_are_due_in_time():
    """imurun-nus carries uint32 microseconds: the emulator's device clock (recording time + 1000 s)
    wraps 3295 s into a recording. Every packet must still be due one packet period after the
    previous one; after the wrap they were all due at once (a flood that stalled the fake BlueZ)."""
    rate, n = 200, 3400 * 200
    t = np.arange(n) / rate
    sensor = VirtualSensor(PROFILES["imurun-nus"], t, np.zeros((n, 3)), np.zeros((n, 3)))
    _, due = sensor.packets(rate)
    np.testing.assert_allclose(np.diff(due), 8 / rate, atol=1e-5)
