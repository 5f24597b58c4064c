"""Polar Sensor Logger (phone app for Polar H10 / Verity Sense): its ACC file, accelerometer only.

Layout as the app writes it (cited in docs/import.md): semicolon-separated,
`Phone timestamp;sensor timestamp [ns];X [mg];Y [mg];Z [mg]`. The sensor timestamp is the
sensor's clock in nanoseconds (Polar SDK: epoch 2000-01-01); acceleration is in milli-g and
includes gravity (Polar SDK PolarAccelerometerData). An H10 has no gyroscope: the session is
t,ax,ay,az and the engine's accelerometer-only mode gives steps, cadence, contact, flight and
bounce, with the angles that need a gyroscope absent and flagged.
"""

from __future__ import annotations

from imurun.sources.imports.common import Export, Imported, Stream, read_table

NAME = "Polar Sensor Logger (ACC file, accelerometer only)"
HEADER = "Phone timestamp;sensor timestamp [ns];X [mg];Y [mg];Z [mg]"
MILLI_G = 9.80665e-3
POLAR_EPOCH_UNIX_S = 946684800.0  # 2000-01-01T00:00:00Z


def recognise(export: Export) -> bool:
    return not export.is_zip and any(
        export.head(n, 1) and export.head(n, 1)[0].strip() == HEADER for n in export.files
    )


def read(export: Export) -> Imported:
    name = next(iter(export.files))
    table, _ = read_table(export, name, delimiter=";", text_columns=("Phone timestamp",))
    ns = table.col("sensor timestamp [ns]")[:, 0]
    return Imported(
        format=NAME,
        acc=Stream((ns - ns[0]) * 1e-9, table.col("X [mg]", "Y [mg]", "Z [mg]") * MILLI_G),
        gyr=None,
        device="Polar sensor via Polar Sensor Logger",
        provenance={"source_app": "Polar Sensor Logger", "source_acc": "mg (milli standard gravity)"},
        clock="sensor timestamp [ns] (sensor clock)",
        epoch_offset_s=POLAR_EPOCH_UNIX_S + ns[0] * 1e-9,
    )
