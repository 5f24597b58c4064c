"""phyphox (RWTH Aachen's phone app): a CSV export, or its zip of CSVs.

Layout as the app writes it (phyphox source, ExperimentExport: one `<set name>.csv` per export set,
`meta/device.csv` with "property","value" rows and `meta/time.csv` with event, experiment time,
system time; its sensor experiments name their columns "Time (s)", "Acceleration x (m/s^2)"
(with g), "Linear Acceleration x (m/s^2)" (without g), "Gyroscope x (rad/s)"; cited in
docs/import.md). The separator (comma, tab or semicolon) and the decimal point (point or comma)
are the user's choice at export. A set may hold several sensors, each after its own time column.
"""

from __future__ import annotations

import numpy as np

from imurun.errors import InputError
from imurun.sources.imports.common import (
    Export,
    Imported,
    Stream,
    csv_rows,
    read_table,
    sniff_delimiter,
    split_header,
)

NAME = "phyphox (CSV, or zip of CSVs)"
TIME = "Time (s)"
ACC = "Acceleration {} (m/s^2)"
LINEAR = "Linear Acceleration {} (m/s^2)"
GYR = "Gyroscope {} (rad/s)"


def _columns(export: Export, name: str) -> list[str]:
    head = export.head(name, 1)
    if not head:
        return []
    return [c.replace("²", "^2") for c in split_header(head[0], sniff_delimiter(head[0]))]


def _data_files(export: Export) -> list[str]:
    return [n for n in export.files if n.lower().endswith((".csv", ".txt")) and not n.startswith("meta/")]


def recognise(export: Export) -> bool:
    for name in _data_files(export):
        cols = _columns(export, name)
        if TIME in cols and any(p.format("x") in cols for p in (ACC, LINEAR, GYR)):
            return True
    return False


def _find(export: Export, pattern: str) -> Stream | None:
    """The first set holding `pattern`'s x, y, z columns, with the time column before them."""
    for name in _data_files(export):
        cols = _columns(export, name)
        if pattern.format("x") not in cols:
            continue
        table, _ = read_table(export, name)
        k = cols.index(pattern.format("x"))
        times = [i for i, c in enumerate(cols[:k]) if c == TIME]
        if not times:
            raise InputError(table.where, f"no {TIME!r} column before {pattern.format('x')!r}")
        idx = [cols.index(pattern.format(a)) for a in "xyz"]
        t = table.values[:, times[-1]]
        xyz = table.values[:, idx]
        ok = np.isfinite(t)  # a set's shorter sensor leaves empty cells below its last sample
        return Stream(t[ok], xyz[ok])
    return None


def read(export: Export) -> Imported:
    acc, gyr = _find(export, ACC), _find(export, GYR)
    if acc is None:
        raise InputError(export.path, "phyphox export without acceleration including gravity (only 'Linear "
                         "Acceleration', or only the gyroscope): record with 'Acceleration with g'")
    meta = {}
    if (dev := export.find("device.csv")) is not None:
        meta = {r[0]: r[1] for r in csv_rows(export.text(dev))[1:] if len(r) >= 2}
    epoch = None
    if (tm := export.find("time.csv")) is not None:
        rows = csv_rows(export.text(tm))
        start = next((r for r in rows[1:] if r[0].upper() == "START" and len(r) >= 3), None)
        if start is not None:
            try:
                epoch = float(start[2].replace(",", ".")) - float(start[1].replace(",", "."))
            except ValueError:
                epoch = None
    device = " ".join(meta.get(k, "") for k in ("deviceBrand", "deviceModel")).strip()
    version = " build ".join(meta[k] for k in ("version", "build") if meta.get(k))
    kind = "zip of CSVs" if export.is_zip else "CSV"
    return Imported(
        format=f"phyphox ({kind})" + ("" if gyr else ", accelerometer only"),
        acc=acc,
        gyr=gyr,
        device=device,
        provenance={"source_app": f"phyphox {version}".strip(), "source_acc": "Acceleration (with g), m/s^2"},
        clock="Time (s), seconds since the experiment started",
        epoch_offset_s=epoch,
    )
