"""Decoders against byte vectors taken from the vendors' public documentation, round trips through
the encoders the virtual sensor uses, and fuzzing: any bytes in, no exception out, and every sample
out finite and physically possible (the rest counted as malformed)."""

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imurun.ble.decoders import DECODERS, polar_pmd
from imurun.ble.decoders.base import ACC_LIMIT, DEG, G0, GYR_LIMIT
from imurun.ble.profiles import load_profiles

PROFILES = load_profiles()


def params(profile_id):
    p = PROFILES[profile_id]
    return p.decode_params(p.default_rate_hz)


def test_witmotion_documented_frame():
    # 0x55 0x61 frame quoted with its field breakdown in public WitMotion BLE 5.0 client code;
    # layout and scales: WT901BLECL datasheet 6.1.1 (raw / 32768 * 16 g, raw / 32768 * 2000 deg/s).
    frame = bytes.fromhex("55 61 5A 00 BE FF 37 F8 00 00 00 00 00 00 72 82 03 FD 19 B8")
    d = DECODERS["witmotion"].decode([frame], params("witmotion-wt901ble"))
    np.testing.assert_allclose(d.acc[0], np.array([90, -66, -1993]) / 32768 * 16 * G0)
    np.testing.assert_array_equal(d.gyr[0], [0, 0, 0])
    assert np.isnan(d.device_t).all() and len(d.malformed) == 0


def test_witmotion_gyro_scale_and_register_reply():
    frame = bytes.fromhex("55 61 00 00 00 00 00 00 00 40 00 C0 FF 7F 00 00 00 00 00 00")
    reply = bytes.fromhex("55 71 3A 00") + bytes(16)  # register read reply: skipped, not malformed
    d = DECODERS["witmotion"].decode([reply, frame, b"\x55\x61\x00"], params("witmotion-wt901ble"))
    np.testing.assert_allclose(d.gyr[0], np.array([1000, -1000, 32767 / 32768 * 2000]) * DEG)
    assert d.packet.tolist() == [1]
    assert d.malformed.tolist() == [2]


def test_movella_dot_rate_quantities():
    # Table 15/17: uint32 us timestamp, acceleration m/s^2 float32, angular velocity deg/s float32.
    payload = struct.pack("<I3f3f", 1_000_000, 0.5, -1.25, 9.75, 90.0, 0.0, -45.0) + bytes(12)
    d = DECODERS["movella-dot"].decode([payload, payload[:20]], params("movella-dot"))
    assert d.device_t.tolist() == [1.0]
    np.testing.assert_allclose(d.acc[0], [0.5, -1.25, 9.75])
    np.testing.assert_allclose(d.gyr[0], np.array([90.0, 0.0, -45.0]) * DEG)
    assert d.malformed.tolist() == [1]


def test_movella_dot_non_finite_is_malformed():
    payload = struct.pack("<I3f3f", 5, float("nan"), 0, 0, 0, 0, 0)
    d = DECODERS["movella-dot"].decode([payload], params("movella-dot"))
    assert len(d) == 0 and d.malformed.tolist() == [0]


# Polar BLE SDK, AccDataTest.kt "process acc raw data frame type 1": timestamp 2000000000 ns,
# samples (-9, -1, 999) and (-8, -2, 997) milli-g.
POLAR_RAW = bytes.fromhex("02 00 94 35 77 00 00 00 00 01 F7 FF FF FF E7 03 F8 FF FE FF E5 03")
# Same file, "process acc compressed data type 0": reference (1905, 27376, -29282), then a block of
# 10-bit deltas whose first sample is (+190, -105, -85) (we keep that first delta only).
POLAR_DELTA_BODY = bytes.fromhex("71 07 F0 6A 9E 8D 0A 01 BE 5C BE BA")


def test_polar_raw_acc_frame():
    d = DECODERS["polar-pmd"].decode([POLAR_RAW], params("polar-h10"))
    np.testing.assert_allclose(d.acc, np.array([[-9, -1, 999], [-8, -2, 997]]) * 1e-3 * G0)
    assert np.isnan(d.gyr).all()
    # The timestamp belongs to the last sample; earlier ones are one period (1/200 s) earlier.
    np.testing.assert_allclose(d.device_t, [2.0 - 0.005, 2.0])


def test_polar_delta_gyro_frame_with_factor():
    frame = bytes([polar_pmd.GYRO]) + (2_000_000_000).to_bytes(8, "little") + b"\x80" + POLAR_DELTA_BODY
    # (the SDK's vector is accelerometer data: a factor of 0.05 deg/s keeps it a possible rotation)
    p = {**params("polar-verity-sense"), "gyr_factor": 0.05}
    d = DECODERS["polar-pmd"].decode([frame], p)
    expected = np.array([[1905, 27376, -29282], [1905 + 190, 27376 - 105, -29282 - 85]]) * 0.05 * DEG
    np.testing.assert_allclose(d.gyr, expected)
    assert np.isnan(d.acc).all()


def test_polar_truncated_and_unknown_frames_are_malformed():
    bad = [POLAR_RAW[:9], POLAR_RAW[:-1], b"\x00" + POLAR_RAW[1:], POLAR_RAW[:10] + POLAR_DELTA_BODY[:-1]]
    d = DECODERS["polar-pmd"].decode(bad + [POLAR_RAW], params("polar-h10"))
    assert d.malformed.tolist() == [0, 1, 2, 3]
    assert d.packet.tolist() == [4, 4]


def test_polar_start_response_factor():
    assert polar_pmd.response_params(polar_pmd.start_response(polar_pmd.GYRO, 0.25)) == {"gyr_factor": 0.25}
    assert polar_pmd.response_params(bytes([0xF0, 0x02, 2, 5, 0])) == {}  # error status


def test_nus_packet_layout():
    # The example packet of docs/firmware-protocol.md, byte for byte.
    packet = bytes.fromhex(
        "01 02 07 00 D8 FE FF FF 88 13 08 03 00 10 00 00 00 F0 FF 7F 00 00 00 00"
        " 00 00 00 00 00 00 00 00 00 00 00 C0"
    )
    d = DECODERS["imurun-nus"].decode([packet, packet[:12]], {})
    np.testing.assert_allclose(d.acc[0], [G0, 0, -G0])
    np.testing.assert_allclose(d.gyr[0], [32767 / 32768 * 1000 * DEG, 0, 0])
    np.testing.assert_allclose(d.gyr[1], [0, 0, -500 * DEG])
    # second sample is one period later, wrapping the uint32 microsecond clock
    np.testing.assert_allclose(d.device_t * 1e6, [4_294_967_000, (4_294_967_000 + 5000) % 2**32])
    assert d.malformed.tolist() == [1]


@pytest.mark.parametrize("profile_id", sorted(PROFILES))
def test_round_trip_through_encoder(profile_id):
    rng = np.random.default_rng(1)
    p = params(profile_id)
    n = 100
    t = 12.5 + np.arange(n) / p["rate_hz"]
    acc = rng.normal(0, 20, (n, 3))
    gyr = rng.normal(0, 5, (n, 3))
    dec = DECODERS[PROFILES[profile_id].decoder]
    d = dec.decode(dec.encode(t, acc, gyr, p), p)
    has_acc = ~np.isnan(d.acc).any(axis=1)
    # half the coarsest quantum: Polar counts 1 milli-g, WitMotion 16 g / 32768
    np.testing.assert_allclose(d.acc[has_acc], acc, atol=0.5e-3 * G0 + 1e-9)
    if "gyr" in PROFILES[profile_id].channels:
        has_gyr = ~np.isnan(d.gyr).any(axis=1)
        np.testing.assert_allclose(d.gyr[has_gyr], gyr, atol=0.5 * 2000 / 32768 * DEG + 1e-9)
    if PROFILES[profile_id].clock == "device":
        np.testing.assert_allclose(d.device_t[has_acc], t, atol=1e-6)
    assert len(d.malformed) == 0


def assert_sane(d, packets):
    """Every packet is either decoded or counted as malformed (never both), and every decoded
    value is finite and possible: a channel absent as a whole is NaN, nothing else is."""
    n = len(d)
    assert d.acc.shape == (n, 3) and d.gyr.shape == (n, 3) and d.device_t.shape == (n,)
    assert set(d.packet.tolist()).isdisjoint(d.malformed.tolist())
    assert all(0 <= i < len(packets) for i in d.packet.tolist() + d.malformed.tolist())
    for x, limit in ((d.acc, ACC_LIMIT), (d.gyr, GYR_LIMIT)):
        present = ~np.isnan(x).all(axis=1)
        assert (np.abs(x[present]) <= limit).all()
    assert (~np.isnan(d.acc).all(axis=1) | ~np.isnan(d.gyr).all(axis=1)).all()
    assert not np.isinf(d.device_t).any()


# Bounded in time: a few hundred examples per decoder, no per-example deadline (a loaded 2-core
# machine stalls now and then); the whole module runs in seconds.
@pytest.mark.parametrize("decoder", sorted(DECODERS))
@settings(max_examples=300, deadline=None)
@given(packets=st.lists(st.binary(max_size=80), max_size=12))
def test_fuzz_any_bytes(decoder, packets):
    profile = next(p for p in PROFILES.values() if p.decoder == decoder)
    d = DECODERS[decoder].decode(packets, profile.decode_params(profile.default_rate_hz))
    assert_sane(d, packets)


@pytest.mark.parametrize("profile_id", sorted(PROFILES))
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_fuzz_mutated_valid_packets(profile_id, data):
    p = params(profile_id)
    dec = DECODERS[PROFILES[profile_id].decoder]
    packets = dec.encode(np.arange(40) / p["rate_hz"], np.ones((40, 3)), np.ones((40, 3)), p)
    k = data.draw(st.integers(0, len(packets) - 1))
    raw = bytearray(packets[k])
    pos = data.draw(st.integers(0, len(raw) - 1))
    raw[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    packets[k] = bytes(raw[:cut])
    d = dec.decode(packets, p)
    assert len(d.malformed) <= 1
    assert_sane(d, packets)


@settings(max_examples=300, deadline=None)
@given(packets=st.lists(st.binary(min_size=28, max_size=40), min_size=1, max_size=12))
def test_fuzz_movella_dot_packets_of_a_valid_length(packets):
    """Random 28-40-byte notifications have the length of a Movella DOT sample; read as float32
    they used to pass as samples of up to 2.9e38 m/s^2."""
    d = DECODERS["movella-dot"].decode(packets, params("movella-dot"))
    assert_sane(d, packets)


def test_impossible_values_are_malformed_for_every_decoder():
    """One sample at 100 g in a notification: the whole notification is malformed; its
    neighbours, at 20 g, are samples."""
    for profile_id, profile in PROFILES.items():
        p = params(profile_id)
        dec = DECODERS[profile.decoder]
        n = 72  # whole packets for every profile (8 per NUS packet, 36 per Polar frame)
        acc = np.full((n, 3), 20 * G0)
        acc[40, 0] = 100 * G0 if profile.decoder in ("movella-dot", "polar-pmd") else 16 * G0
        if profile.decoder == "polar-pmd":
            p = {**p, "acc_factor": 4.0}  # 4 milli-g per count: int16 reaches 131 g
        packets = dec.encode(np.arange(n) / p["rate_hz"], acc, np.zeros((n, 3)), p)
        d = dec.decode(packets, p)
        assert_sane(d, packets)
        if profile.decoder in ("movella-dot", "polar-pmd"):  # int16 formats cannot carry 100 g
            assert len(d.malformed) == 1 and d.malformed[0] not in d.packet, profile_id
        else:
            assert len(d.malformed) == 0, profile_id
