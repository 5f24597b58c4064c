"""imurun-nus: imurun's own reference protocol over the Nordic UART Service.

Specified in docs/firmware-protocol.md (the single source of truth; keep them in step). Each TX
notification: 12-byte header [type 0x01][n][seq u16][t0_us u32][period_us u16][acc_fs_g u8]
[gyr_fs_code u8] then n samples of six int16 LE (ax ay az gx gy gz). Self-describing: the scales
travel in every packet, so the decoder needs no parameters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from imurun.ble.decoders.base import DEG, G0, Decoded, Decoder, empty

HEADER = np.dtype(
    [
        ("type", "u1"),
        ("n", "u1"),
        ("seq", "<u2"),
        ("t0_us", "<u4"),
        ("period_us", "<u2"),
        ("acc_fs_g", "u1"),
        ("gyr_fs_code", "u1"),
    ]
)
SAMPLE_BYTES = 12
TYPE_SAMPLES = 0x01
ACC_FULL_SCALES_G = (2, 4, 8, 16)
GYR_FULL_SCALE_DPS = (125, 250, 500, 1000, 2000)  # index = gyr_fs_code
WRAP_S = 2.0**32 * 1e-6
CMD_START, CMD_STOP = 0x01, 0x02


def decode(packets: Sequence[bytes], params: Mapping[str, Any]) -> Decoded:
    good, bad = [], []
    for i, p in enumerate(packets):
        if len(p) < HEADER.itemsize + SAMPLE_BYTES:
            bad.append(i)
            continue
        h = np.frombuffer(p, HEADER, 1)[0]
        if (
            h["type"] != TYPE_SAMPLES
            or h["n"] == 0
            or len(p) != HEADER.itemsize + SAMPLE_BYTES * int(h["n"])
            or h["period_us"] == 0
            or h["acc_fs_g"] not in ACC_FULL_SCALES_G
            or h["gyr_fs_code"] >= len(GYR_FULL_SCALE_DPS)
        ):
            bad.append(i)
            continue
        good.append(i)
    if not good:
        return empty(WRAP_S, bad)
    heads = np.concatenate([np.frombuffer(packets[i], HEADER, 1) for i in good])
    counts = heads["n"].astype(np.int64)
    raw = np.frombuffer(b"".join(packets[i][HEADER.itemsize :] for i in good), "<i2").reshape(-1, 6)
    owner = np.repeat(np.asarray(good, np.int64), counts)
    k = np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)  # index within packet
    t_us = np.repeat(heads["t0_us"].astype(np.float64), counts) + k * np.repeat(heads["period_us"], counts)
    acc_scale = np.repeat(heads["acc_fs_g"].astype(np.float64), counts) * (G0 / 32768.0)
    gyr_fs = np.asarray(GYR_FULL_SCALE_DPS, np.float64)[heads["gyr_fs_code"]]
    gyr_scale = np.repeat(gyr_fs, counts) * (DEG / 32768.0)
    acc = raw[:, 0:3] * acc_scale[:, None]
    gyr = raw[:, 3:6] * gyr_scale[:, None]
    return Decoded(owner, acc, gyr, (t_us % 2**32) * 1e-6, WRAP_S, np.asarray(bad, np.int64))


def encode(device_t: np.ndarray, acc: np.ndarray, gyr: np.ndarray, params: Mapping[str, Any]) -> list[bytes]:
    per = int(params.get("samples_per_packet", 8))
    acc_fs = int(params.get("acc_full_scale_g", 16))
    code = int(params.get("gyr_full_scale_code", 4))
    period_us = round(1e6 / float(params["rate_hz"]))
    raw = np.zeros((len(acc), 6))
    raw[:, 0:3] = np.nan_to_num(acc) / (acc_fs * G0) * 32768.0
    raw[:, 3:6] = np.nan_to_num(gyr) / (GYR_FULL_SCALE_DPS[code] * DEG) * 32768.0
    raw = np.clip(np.rint(raw), -32768, 32767).astype("<i2")
    t_us = np.rint(np.asarray(device_t) * 1e6).astype(np.int64)
    out = []
    for seq, a in enumerate(range(0, len(acc), per)):
        b = min(a + per, len(acc))
        head = np.zeros(1, HEADER)
        head[0] = (TYPE_SAMPLES, b - a, seq % 65536, t_us[a] % 2**32, period_us, acc_fs, code)
        out.append(head.tobytes() + raw[a:b].tobytes())
    return out


DECODER = Decoder(decode, encode, {})
