"""WitMotion WT901BLE / BWT901BLE5.0: 20-byte 0x55 0x61 notifications, no timestamps.

Layout (WT901BLECL datasheet v20-0707 section 6.1.1; WitMotion BLE 5.0 protocol,
https://wit-motion.gitbook.io/witmotion-sdk/ble-5.0-protocol/bluetooth-5.0-communication-protocol):
byte 0 = 0x55 header, byte 1 = 0x61 flag, then nine int16 little-endian: ax ay az, wx wy wz,
roll pitch yaw. acc = raw / 32768 * 16 g; gyro = raw / 32768 * 2000 deg/s; angle = raw / 32768 *
180 deg (unused: the engine estimates orientation itself). Flag 0x71 notifications are register
read replies: neither samples nor errors. A notification may carry several frames back to back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from imurun.ble.decoders.base import DEG, G0, Decoded, Decoder, empty

FRAME = 20
HEADER = 0x55
FLAG_SAMPLES = 0x61
FLAG_REGISTER = 0x71


def decode(packets: Sequence[bytes], params: Mapping[str, Any]) -> Decoded:
    frames: list[bytes] = []
    owner: list[int] = []
    bad: list[int] = []
    for i, p in enumerate(packets):
        n = len(p) // FRAME
        if n == 0 or len(p) % FRAME:
            bad.append(i)
            continue
        heads = [(p[k * FRAME], p[k * FRAME + 1]) for k in range(n)]
        if any(h != HEADER or f not in (FLAG_SAMPLES, FLAG_REGISTER) for h, f in heads):
            bad.append(i)
            continue
        for k, (_, f) in enumerate(heads):
            if f == FLAG_SAMPLES:
                frames.append(p[k * FRAME : (k + 1) * FRAME])
                owner.append(i)
    if not frames:
        return empty(0.0, bad)
    raw = np.frombuffer(b"".join(frames), dtype="<i2").reshape(-1, FRAME // 2)[:, 1:7].astype(np.float64)
    acc = raw[:, 0:3] * (float(params["acc_full_scale_g"]) * G0 / 32768.0)
    gyr = raw[:, 3:6] * (float(params["gyr_full_scale_dps"]) * DEG / 32768.0)
    return Decoded(
        np.asarray(owner, np.int64), acc, gyr, np.full(len(owner), np.nan), 0.0, np.asarray(bad, np.int64)
    )


def encode(device_t: np.ndarray, acc: np.ndarray, gyr: np.ndarray, params: Mapping[str, Any]) -> list[bytes]:
    """One 20-byte frame per sample (angles sent as zero: the decoder ignores them)."""
    n = len(acc)
    raw = np.zeros((n, FRAME // 2), dtype="<i2")
    raw[:, 0] = HEADER | (FLAG_SAMPLES << 8)
    raw[:, 1:4] = _quantise(acc / (float(params["acc_full_scale_g"]) * G0) * 32768.0)
    raw[:, 4:7] = _quantise(gyr / (float(params["gyr_full_scale_dps"]) * DEG) * 32768.0)
    return [row.tobytes() for row in raw]


def _quantise(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(np.nan_to_num(x)), -32768, 32767).astype("<i2")


DECODER = Decoder(decode, encode, {"acc_full_scale_g": float, "gyr_full_scale_dps": float})
