"""Sensor Logger (Kelvin Choi's phone app, iOS and Android): its zip of CSVs, or one of its CSVs.

Layout and units as the app documents them (github.com/tszheichoi/awesome-sensor-logger,
README "Understanding Timestamps", UNITS.md, COORDINATES.md; cited in docs/import.md):
- one CSV per sensor, columns `time,seconds_elapsed,z,y,x`; `time` is UTC epoch nanoseconds;
- Accelerometer.csv is m/s^2 *without* gravity; TotalAcceleration.csv (Android) includes it;
  Gravity.csv (m/s^2) adds it back; Gyroscope.csv is rad/s;
- on iOS the acceleration and gravity axes carry the opposite sign to Android's (unless
  "Standardise Units & Frames" is on); the gyroscope agrees on both;
- Metadata.csv: version, device name, ..., platform, appVersion, ..., standardisation, ...
"""

from __future__ import annotations

import numpy as np

from imurun.errors import InputError
from imurun.sources.imports.common import Export, Imported, Stream, csv_rows, onto_clock, read_table

NAME = "Sensor Logger (zip of CSVs, or its TotalAcceleration.csv)"
HEADER = "time,seconds_elapsed,z,y,x"
G = 9.80665


def _is_sensor_csv(export: Export, name: str | None) -> bool:
    first = export.head(name, 1) if name is not None else []
    return bool(first) and first[0].replace(" ", "") == HEADER


def recognise(export: Export) -> bool:
    if export.is_zip:
        names = ("TotalAcceleration.csv", "Accelerometer.csv")
        return any(_is_sensor_csv(export, export.find(n)) for n in names)
    return _is_sensor_csv(export, next(iter(export.files)))


def _stream(export: Export, name: str, origin: float | None) -> tuple[Stream, float]:
    table, _ = read_table(export, name)
    ns = table.col("time")[:, 0]
    origin = ns[0] if origin is None else origin
    return Stream((ns - origin) * 1e-9, table.col("x", "y", "z")), origin


def read(export: Export) -> Imported:
    if not export.is_zip:
        return _read_single(export)
    meta_name = export.find("Metadata.csv")
    rows = csv_rows(export.text(meta_name)) if meta_name else []
    meta = {}
    if len(rows) > 1:
        meta = dict(zip(rows[0], rows[1], strict=False))
    platform = meta.get("platform", "").lower()
    negate = platform == "ios" and meta.get("standardisation", "").lower() != "true"
    total, acc_name, grav = map(export.find, ("TotalAcceleration.csv", "Accelerometer.csv", "Gravity.csv"))
    if total is not None:
        acc, origin = _stream(export, total, None)
        used = "TotalAcceleration.csv"
    elif acc_name is not None and grav is not None:
        user, origin = _stream(export, acc_name, None)
        gravity, _ = _stream(export, grav, origin)
        acc = Stream(user.t, user.xyz + onto_clock(user.t, gravity))
        used = "Accelerometer.csv + Gravity.csv (interpolated onto its time stamps)"
    else:
        why = ("Sensor Logger export without gravity: it needs TotalAcceleration.csv, or Accelerometer.csv "
               "with Gravity.csv (turn the Gravity sensor on in Sensor Logger)")
        raise InputError(export.path, why)
    if negate:
        acc = Stream(acc.t, -acc.xyz)
    gyr_name = export.find("Gyroscope.csv")
    gyr = _stream(export, gyr_name, origin)[0] if gyr_name else None
    parts = ("Sensor Logger", meta.get("appVersion", ""), f"({platform})" if platform else "")
    app = " ".join(x for x in parts if x)
    provenance = {"source_app": app, "source_acc": f"{used}, m/s^2"}
    if meta.get("version"):
        provenance["source_schema"] = meta["version"]
    if negate:
        provenance["source_axes"] = "iOS acceleration negated to Android's sign (specific force, +z up flat)"
    return Imported(
        format="Sensor Logger (zip of CSVs)" + ("" if gyr else ", accelerometer only"),
        acc=acc,
        gyr=gyr,
        device=meta.get("device name", ""),
        provenance=provenance,
        clock="time column, UTC epoch ns",
        epoch_offset_s=origin * 1e-9,
    )


def _read_single(export: Export) -> Imported:
    """One CSV: only TotalAcceleration.csv carries gravity; the content (|a| ~ 1 g) says which it is."""
    name = next(iter(export.files))
    acc, origin = _stream(export, name, None)
    norm = float(np.nanmedian(np.linalg.norm(acc.xyz, axis=1)))
    if not 0.7 * G <= norm <= 1.3 * G:
        why = (f"a Sensor Logger CSV of median magnitude {norm:.2f} (not ~9.81 m/s^2) is not "
               "TotalAcceleration.csv; give the zip export (acceleration with gravity + gyroscope)")
        raise InputError(export.path, why)
    return Imported(
        format="Sensor Logger TotalAcceleration.csv, accelerometer only",
        acc=acc,
        gyr=None,
        provenance={"source_app": "Sensor Logger", "source_acc": "TotalAcceleration.csv, m/s^2"},
        clock="time column, UTC epoch ns",
        epoch_offset_s=origin * 1e-9,
    )
