"""Packet decoders, one module per sensor family, named by the profiles' `decoder` key.

Each decoder is a pure function over a batch of notifications that never raises on any byte
string: a notification that does not parse, or that holds a value no sensor can report
(base.plausible), is counted in `Decoded.malformed` and skipped.
"""

from __future__ import annotations

from imurun.ble.decoders import imurun_nus, movella_dot, polar_pmd, witmotion
from imurun.ble.decoders.base import Decoded, Decoder

DECODERS: dict[str, Decoder] = {
    "witmotion": witmotion.DECODER,
    "movella-dot": movella_dot.DECODER,
    "polar-pmd": polar_pmd.DECODER,
    "imurun-nus": imurun_nus.DECODER,
}

__all__ = ["DECODERS", "Decoded", "Decoder"]
