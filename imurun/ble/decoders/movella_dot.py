"""Movella DOT, payload mode "Rate quantities" (21) or "Rate quantities (with mag)" (20).

Layout (Movella DOT BLE Services Specifications, rev. C July 2023: section 1.3 little-endian;
Table 13 control 0x2001 = [type 1, action 1 start / 0 stop, payload mode]; Table 15 medium payload
0x2003; Table 17 data types): uint32 timestamp in microseconds, acceleration x,y,z float32 m/s^2
(calibrated, sensor frame), angular velocity x,y,z float32 deg/s; mode 20 adds 6 bytes of
magnetic field. The medium payload characteristic is 40 bytes long; trailing bytes are zero.
One sample per notification.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from imurun.ble.decoders.base import DEG, Decoded, Decoder, empty

SAMPLE = np.dtype([("t_us", "<u4"), ("acc", "<f4", 3), ("gyr", "<f4", 3)])  # 28 bytes
PAYLOAD_LEN = {21: 28, 20: 34}  # payload mode -> bytes used (Table 15)
MAX_LEN = 40  # medium payload characteristic length (Table 12)
WRAP_S = 2.0**32 * 1e-6  # uint32 microseconds


def decode(packets: Sequence[bytes], params: Mapping[str, Any]) -> Decoded:
    need = PAYLOAD_LEN.get(int(params["payload_mode"]), SAMPLE.itemsize)
    good = [i for i, p in enumerate(packets) if need <= len(p) <= MAX_LEN]
    if not good:
        return empty(WRAP_S, range(len(packets)))
    rec = np.frombuffer(b"".join(packets[i][: SAMPLE.itemsize] for i in good), dtype=SAMPLE)
    idx = np.asarray(good, np.int64)
    bad = np.setdiff1d(np.arange(len(packets)), idx)
    with np.errstate(invalid="ignore"):  # signalling NaNs in random bytes
        acc = rec["acc"].astype(np.float64)
        gyr = rec["gyr"].astype(np.float64) * DEG
    # NaN or impossible values (random bytes read as float32) are dropped by Decoder.decode.
    return Decoded(idx, acc, gyr, rec["t_us"] * 1e-6, WRAP_S, bad)


def encode(device_t: np.ndarray, acc: np.ndarray, gyr: np.ndarray, params: Mapping[str, Any]) -> list[bytes]:
    rec = np.zeros(len(acc), dtype=SAMPLE)
    rec["t_us"] = (np.rint(np.asarray(device_t) * 1e6).astype(np.int64) % 2**32).astype(np.uint32)
    rec["acc"] = acc
    rec["gyr"] = gyr / DEG
    pad = bytes(PAYLOAD_LEN[int(params["payload_mode"])] - SAMPLE.itemsize)
    return [r.tobytes() + pad for r in rec]


DECODER = Decoder(decode, encode, {"payload_mode": int})
