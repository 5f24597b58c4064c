"""A generic CSV: a time column and 3 (accelerometer) or 6 (accelerometer, gyroscope) columns.

Nothing in such a file says its units, so the user gives them (`imurun import FILE --acc-unit g
--gyr-unit deg/s --time-unit ms`); without them it is recognised but refused with that hint.
The time column may be seconds, ms, us, ns (any origin, e.g. epoch), or `samples`: a sample
counter, turned into time with `--rate`. An optional first row of column names is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

from imurun.errors import InputError
from imurun.session.format import ACC_UNITS, GYR_UNITS
from imurun.sources.imports.common import TIME_UNITS_S, Export, Imported, Stream, read_table, sniff_delimiter

NAME = "generic CSV (time + 3 or 6 columns; units given with --acc-unit/--gyr-unit/--time-unit)"
TIME_UNITS = (*TIME_UNITS_S, "samples")


@dataclass(frozen=True)
class Units:
    acc: str
    gyr: str = "rad/s"
    time: str = "s"
    rate_hz: float | None = None

    def problem(self) -> str | None:
        if self.acc not in ACC_UNITS:
            return f"unknown acc unit {self.acc!r} (expected {' or '.join(ACC_UNITS)})"
        if self.gyr not in GYR_UNITS:
            return f"unknown gyr unit {self.gyr!r} (expected {' or '.join(GYR_UNITS)})"
        if self.time not in TIME_UNITS:
            return f"unknown time unit {self.time!r} (expected {', '.join(TIME_UNITS)})"
        if self.time == "samples" and not (self.rate_hz and self.rate_hz > 0):
            return "--time-unit samples needs --rate HZ"
        return None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _layout(export: Export) -> tuple[int, str] | None:
    """(line of the column row or -1 for none, delimiter) when the file is time + 3 or 6 numbers."""
    if export.is_zip:
        return None
    lines = [ln for ln in export.head(next(iter(export.files)), 6) if ln.strip()]
    if len(lines) < 2:
        return None
    delimiter = sniff_delimiter(lines[1])
    rows = [ln.split(delimiter) for ln in lines]
    if any(len(r) not in (4, 7) or len(r) != len(rows[1]) for r in rows):
        return None
    if not all(_is_number(f) for r in rows[1:] for f in r):
        return None
    return (-1 if all(_is_number(f) for f in rows[0]) else 0), delimiter


def recognise(export: Export) -> bool:
    return _layout(export) is not None


def read(export: Export, units: Units) -> Imported:
    if (why := units.problem()) is not None:
        raise InputError(export.path, why)
    layout = _layout(export)
    if layout is None:
        raise InputError(export.path, "not a generic CSV: expected a time column and 3 or 6 numeric columns, "
                         "separated by commas, semicolons or tabs, with at most one row of names")
    row, delimiter = layout
    name = next(iter(export.files))
    names = None if row == 0 else ["t", "ax", "ay", "az", "gx", "gy", "gz"]
    table, _ = read_table(export, name, header_line=0, delimiter=delimiter, names=names)
    ticks = table.values[:, 0] - table.values[0, 0]
    t = ticks / units.rate_hz if units.time == "samples" else ticks * TIME_UNITS_S[units.time]
    acc = Stream(t, table.values[:, 1:4] * ACC_UNITS[units.acc])
    gyr = Stream(t, table.values[:, 4:7] * GYR_UNITS[units.gyr]) if table.values.shape[1] == 7 else None
    return Imported(
        format="generic CSV" + ("" if gyr else ", accelerometer only"),
        acc=acc,
        gyr=gyr,
        provenance={"source_units": f"acc {units.acc}, gyr {units.gyr}, time {units.time} (command line)"},
        clock=f"first column, {units.time}" + (f" at {units.rate_hz:g} Hz" if units.rate_hz else ""),
    )
