"""WitMotion PC software and phone app: the recorded data file (CSV or tab-separated .txt).

Column names as WitMotion's software writes them (cited in docs/import.md): `Time`, `Device name`,
`Chip Time()`, `Acceleration X(g)` ..., `Angular velocity X(°/s)` ..., `Angle X(°)` ..., and more
(magnetic field, temperature, quaternions); an older layout names them `ax(g)`, `wx(deg/s)`.
A "StartTime" line may come before the column row. Acceleration is in g (standard gravity),
angular velocity in deg/s. The times are wall-clock strings with millisecond resolution taken
on the receiving computer or phone (chip time when the sensor gives one): they jitter and repeat,
so the samples are put on an even clock fitted to them between gaps (`regular_clock`).
"""

from __future__ import annotations

import math

import numpy as np

from imurun.errors import InputError
from imurun.sources.imports.common import Export, Imported, Stream, clock_seconds, read_table, regular_clock

NAME = "WitMotion software/app (CSV or .txt data file)"
G = 9.80665
ACC_NAMES = (("Acceleration X(g)", "Acceleration Y(g)", "Acceleration Z(g)"), ("ax(g)", "ay(g)", "az(g)"))
GYR_NAMES = (
    ("Angular velocity X(°/s)", "Angular velocity Y(°/s)", "Angular velocity Z(°/s)"),
    ("wx(deg/s)", "wy(deg/s)", "wz(deg/s)"),
)
TIME_NAMES = ("Chip Time()", "ChipTime", "Time", "time")


def _column_row(export: Export, name: str) -> int | None:
    for i, line in enumerate(export.head(name, 5)):
        if any(names[0] in line for names in ACC_NAMES):
            return i
    return None


def recognise(export: Export) -> bool:
    return not export.is_zip and _column_row(export, next(iter(export.files))) is not None


def read(export: Export) -> Imported:
    name = next(iter(export.files))
    row = _column_row(export, name)
    head = export.head(name, row + 1)[row]
    present = [c for c in TIME_NAMES + ("Device name",) if c in head]
    table, texts = read_table(export, name, header_line=row, text_columns=tuple(present))
    acc_cols = next((c for c in ACC_NAMES if c[0] in table.columns), None)
    gyr_cols = next((c for c in GYR_NAMES if c[0] in table.columns), None)
    keep = np.ones(len(table.values), bool)
    device = ""
    notes = {}
    if "Device name" in texts:
        names = texts["Device name"]
        device = names[0]
        keep = np.array([n == device for n in names])
        others = sorted(set(names) - {device})
        if others:
            notes["source_note"] = f"file holds {len(others) + 1} sensors; imported {device} only"
    clock_col = next((c for c in TIME_NAMES if c in texts and _parses(texts[c])), None)
    if clock_col is None:
        why = f"no readable time column (looked for {', '.join(TIME_NAMES)})"
        raise InputError(table.where, why, row + 1)
    stamps = [s for s, k in zip(texts[clock_col], keep, strict=True) if k]
    t = regular_clock(clock_seconds(stamps, table.where, table.first_line))
    acc = Stream(t, table.col(*acc_cols)[keep] * G)
    gyr = Stream(t, table.col(*gyr_cols)[keep] * (math.pi / 180.0)) if gyr_cols else None
    return Imported(
        format="WitMotion data file" + ("" if gyr else ", accelerometer only"),
        acc=acc,
        gyr=gyr,
        device=" ".join(x for x in ("WitMotion", device) if x),
        provenance={"source_app": "WitMotion software/app", "source_acc": "g; gyro deg/s", **notes},
        clock=f"{clock_col} column (wall clock, ms), evened out between gaps",
    )


def _parses(texts: list[str]) -> bool:
    try:
        clock_seconds(texts[:3], "", 0)
    except InputError:
        return False
    return bool(texts)
