"""Polar Measurement Data (PMD): H10 accelerometer, Verity Sense accelerometer + gyroscope.

Sources: Polar BLE SDK, polarofficial/polar-ble-sdk (technical_documentation/
Polar_Measurement_Data_Specification.pdf, TimeSystemExplained.md, and the Android reference
parser PmdDataFrame.kt, BlePMDClient.kt, AccData.kt, GyrData.kt, PmdSetting.kt):

- service FB005C80-02E7-F387-1CAD-8ACD2D8DF0C8, control point ...C81, data ...C82.
- Start: [0x02, measurement type, settings...]; each setting is [type, count=1, value LE]
  with type 0 sample rate (u16), 1 resolution (u16), 2 range (u16), 4 channels (u8). The control
  point answers [0xF0, op code, measurement type, status, more, settings...]; a successful start
  response may carry setting 5 "factor" (float32) that scales the samples.
- Data frame: [measurement type (2 = ACC, 5 = GYRO)][uint64 timestamp, ns since 2000-01-01, of
  the LAST sample in the frame][frame type: bit 7 = delta compressed, bits 0-6 = type][samples].
- Raw ACC types 0/1/2: x,y,z signed 1/2/3-byte LE integers, milli-g.
- Delta compressed (ACC type 1, GYRO type 0): one reference sample (channels x 16-bit signed LE),
  then blocks [delta bit width u8][sample count u8][count x channels deltas, packed LSB first,
  two's complement, each added to the previous sample]. ACC x factor = milli-g; GYRO x factor =
  deg/s.
Earlier samples in a frame are spaced at the configured rate back from the frame timestamp (the
SDK uses the previous frame's timestamp when it has one; a pure per-batch decoder cannot).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from imurun.ble.decoders.base import DEG, G0, Decoded, Decoder, empty

ACC, GYRO = 2, 5
DELTA = 0x80
HEADER = 10
FACTOR_SETTING = 5


class _Malformed(Exception):
    pass


def decode(packets: Sequence[bytes], params: Mapping[str, Any]) -> Decoded:
    period = 1.0 / float(params["rate_hz"])
    acc_scale = float(params["acc_factor"]) * 1e-3 * G0
    gyr_scale = float(params["gyr_factor"]) * DEG
    owner, accs, gyrs, times, bad = [], [], [], [], []
    for i, p in enumerate(packets):
        try:
            kind, ts, values = _frame(bytes(p))
        except _Malformed:
            bad.append(i)
            continue
        n = len(values)
        nan = np.full((n, 3), np.nan)
        vals = values.astype(np.float64)
        accs.append(vals * acc_scale if kind == ACC else nan)
        gyrs.append(vals * gyr_scale if kind == GYRO else nan)
        times.append(ts * 1e-9 - period * np.arange(n - 1, -1, -1))
        owner.append(np.full(n, i, np.int64))
    if not owner:
        return empty(0.0, bad)
    return Decoded(
        np.concatenate(owner),
        np.concatenate(accs),
        np.concatenate(gyrs),
        np.concatenate(times),
        0.0,
        np.asarray(bad, np.int64),
    )


def _frame(p: bytes) -> tuple[int, int, np.ndarray]:
    if len(p) <= HEADER:
        raise _Malformed
    kind, ts, ftype = p[0], int.from_bytes(p[1:9], "little"), p[9]
    body = p[HEADER:]
    compressed, ft = bool(ftype & DELTA), ftype & 0x7F
    if kind == ACC and not compressed and ft in (0, 1, 2):
        values = _raw(body, ft + 1)
    elif (kind, compressed, ft) in ((ACC, True, 1), (GYRO, True, 0)):
        values = _delta(body)
    else:
        raise _Malformed
    if len(values) == 0:
        raise _Malformed
    return kind, ts, values


def _raw(body: bytes, width: int) -> np.ndarray:
    if len(body) % (3 * width):
        raise _Malformed
    b = np.frombuffer(body, np.uint8).reshape(-1, 3, width).astype(np.int64)
    v = (b << (8 * np.arange(width))).sum(axis=2)
    return np.where(v >= 1 << (8 * width - 1), v - (1 << (8 * width)), v)


def _delta(body: bytes, channels: int = 3) -> np.ndarray:
    ref_len = 2 * channels
    if len(body) < ref_len:
        raise _Malformed
    current = np.frombuffer(body, "<i2", channels).astype(np.int64)
    out = [current[None, :]]
    off = ref_len
    while off < len(body):
        if off + 2 > len(body):
            raise _Malformed
        width, count = body[off], body[off + 1]
        off += 2
        nbits = width * count * channels
        nbytes = (nbits + 7) // 8
        if width > 32 or off + nbytes > len(body):
            raise _Malformed
        if nbits:
            bits = np.unpackbits(np.frombuffer(body, np.uint8, nbytes, off), bitorder="little")[:nbits]
            v = bits.reshape(-1, width).astype(np.int64) @ (np.int64(1) << np.arange(width, dtype=np.int64))
            v = np.where(v >= 1 << (width - 1), v - (1 << width), v)
            samples = current + np.cumsum(v.reshape(count, channels), axis=0)
            out.append(samples)
            current = samples[-1]
        off += nbytes
    return np.concatenate(out)


def response_params(data: bytes) -> dict[str, float]:
    """Decoder parameter updates from a control point response (the factor of a started stream)."""
    if len(data) < 5 or data[0] != 0xF0 or data[1] != 0x02 or data[3] != 0:
        return {}
    kind, off, found = data[2], 5, {}
    sizes = {0: 2, 1: 2, 2: 2, 3: 4, 4: 1, FACTOR_SETTING: 4}
    while off + 2 <= len(data):
        stype, count = data[off], data[off + 1]
        size = sizes.get(stype)
        if size is None or off + 2 + size * count > len(data):
            break
        if stype == FACTOR_SETTING and count >= 1:
            (factor,) = struct.unpack_from("<f", data, off + 2)
            if np.isfinite(factor) and factor > 0:
                found["acc_factor" if kind == ACC else "gyr_factor"] = float(factor)
        off += 2 + size * count
    return found


def start_response(kind: int, factor: float) -> bytes:
    """What a sensor answers to a successful start (used by the virtual sensor)."""
    return bytes([0xF0, 0x02, kind, 0, 0, FACTOR_SETTING, 1]) + struct.pack("<f", factor)


def encode(device_t: np.ndarray, acc: np.ndarray, gyr: np.ndarray, params: Mapping[str, Any]) -> list[bytes]:
    """ACC (raw or delta, per `acc_frame`) and, if gyr_factor > 0, GYRO delta frames of
    `frame_samples` samples each, in time order."""
    per = int(params["frame_samples"])
    acc_raw = np.rint(np.nan_to_num(acc) / (G0 * 1e-3 * float(params["acc_factor"])))
    gyr_factor = float(params["gyr_factor"])
    gyr_raw = np.rint(np.nan_to_num(gyr) / (DEG * gyr_factor)) if gyr_factor > 0 else None
    ns = np.rint(np.asarray(device_t) * 1e9).astype(np.int64)
    out = []
    for a in range(0, len(acc), per):
        b = min(a + per, len(acc))
        stamp = int(ns[b - 1]).to_bytes(8, "little")
        block = np.clip(acc_raw[a:b], -32768, 32767).astype(np.int64)
        if params["acc_frame"] == "raw":
            out.append(bytes([ACC]) + stamp + b"\x01" + block.astype("<i2").tobytes())
        else:
            out.append(bytes([ACC]) + stamp + bytes([DELTA | 1]) + _pack_delta(block))
        if gyr_raw is not None:
            g = np.clip(gyr_raw[a:b], -32768, 32767).astype(np.int64)
            out.append(bytes([GYRO]) + stamp + bytes([DELTA]) + _pack_delta(g))
    return out


def _pack_delta(block: np.ndarray) -> bytes:
    ref = block[0].astype("<i2").tobytes()
    if len(block) == 1:
        return ref
    d = np.diff(block, axis=0)
    width = int(max(int(np.abs(d).max()).bit_length() + 1, 2))
    flat = (d.reshape(-1) & ((1 << width) - 1)).astype(np.int64)
    bits = ((flat[:, None] >> np.arange(width)) & 1).astype(np.uint8).reshape(-1)
    return ref + bytes([width, len(d)]) + np.packbits(bits, bitorder="little").tobytes()


DECODER = Decoder(
    decode,
    encode,
    {"acc_factor": float, "gyr_factor": float, "acc_frame": str, "frame_samples": int},
    response_params,
)
