"""Movella DOT (formerly Xsens DOT) app: its CSV export of a recording or a real-time stream.

Layout as the DOT SDK's logger writes it (cited in docs/import.md): a preamble of `Key:,value`
lines ("sep=,", DeviceTag, FirmwareVersion, AppVersion, SyncStatus, OutputRate, FilterProfile,
Measurement Mode, StartTime, a copyright line), an empty line, then the column row, e.g.
`PacketCounter,SampleTimeFine,Acc_X,Acc_Y,Acc_Z,Gyr_X,Gyr_Y,Gyr_Z` ("rate quantities").
SampleTimeFine is the sensor's clock in microseconds, an unsigned 32-bit counter that wraps after
about 71.6 min; Acc_* is m/s^2 (with gravity), Gyr_* deg/s (Movella DOT BLE specification, data
types; the same units as imurun/firmware_profiles/movella-dot.toml). FreeAcc_* (gravity removed) alone
cannot be analysed.
"""

from __future__ import annotations

import math

from imurun.errors import InputError
from imurun.sources.imports.common import Export, Imported, Stream, read_table, unwrap_ticks

NAME = "Movella DOT app (CSV export)"
TICK_S = 1e-6
WRAP = 2.0**32


def _column_row(export: Export, name: str) -> int | None:
    for i, line in enumerate(export.head(name, 40)):
        if line.startswith("PacketCounter,SampleTimeFine"):
            return i
    return None


def recognise(export: Export) -> bool:
    return any(_column_row(export, n) is not None for n in export.files)


def read(export: Export) -> Imported:
    name = next(n for n in export.files if _column_row(export, n) is not None)
    row = _column_row(export, name)
    meta = {}
    for line in export.head(name, row):
        key, _, rest = line.partition(":,")
        if rest:
            meta[key.strip()] = rest.split(",")[0].strip()
    table, _ = read_table(export, name, header_line=row, delimiter=",")
    if "Acc_X" not in table.columns:
        found = "free acceleration (gravity removed)" if "FreeAcc_X" in table.columns else "no acceleration"
        why = (f"this DOT export holds {found}, not Acc_X/Y/Z: record in a measurement mode with "
               "acceleration and angular velocity (e.g. 'Rate quantities')")
        raise InputError(table.where, why, row + 1)
    t = unwrap_ticks(table.col("SampleTimeFine")[:, 0], WRAP) * TICK_S
    acc = Stream(t, table.col("Acc_X", "Acc_Y", "Acc_Z"))
    gyr = None
    if "Gyr_X" in table.columns:
        gyr = Stream(t, table.col("Gyr_X", "Gyr_Y", "Gyr_Z") * (math.pi / 180.0))
    device = " ".join(x for x in ("Movella DOT", meta.get("DeviceTag", "")) if x)
    provenance = {
        "source_app": f"Movella DOT app {meta.get('AppVersion', '')}".strip(),
        "source_firmware": meta.get("FirmwareVersion", ""),
        "source_mode": meta.get("Measurement Mode", ""),
        "source_acc": "Acc_X/Y/Z, m/s^2; Gyr_X/Y/Z deg/s",
    }
    return Imported(
        format=NAME + ("" if gyr else ", accelerometer only"),
        acc=acc,
        gyr=gyr,
        device=device,
        provenance={k: v for k, v in provenance.items() if v},
        clock="SampleTimeFine, sensor microseconds (32-bit, unwrapped)",
    )
