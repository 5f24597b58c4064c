"""The session CSV format: header keys, units, columns and their written precision.

Spec: docs/session-format.md. This module holds the vocabulary shared by the reader and the writer,
so that neither decides a unit, a column or a number of decimals on its own.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

FORMAT_VERSION = 1
MAGIC = "# imurun-session: "  # the first line is MAGIC + version

# Standard acceleration of gravity, exact by definition (3rd CGPM, 1901; ISO 80000-3).
STANDARD_GRAVITY = 9.80665

# unit -> factor that turns a value in that unit into SI (m/s^2, rad/s)
ACC_UNITS: dict[str, float] = {"m/s^2": 1.0, "g": STANDARD_GRAVITY}
GYR_UNITS: dict[str, float] = {"rad/s": 1.0, "deg/s": math.pi / 180.0}
PLACEMENTS: tuple[str, ...] = ("sacrum", "lower-back", "upper-back")

BASE_COLUMNS: tuple[str, ...] = ("t", "ax", "ay", "az", "gx", "gy", "gz")
ACC_ONLY_COLUMNS: tuple[str, ...] = BASE_COLUMNS[:4]  # a sensor without a gyroscope (DESIGN "Files")
EXTRA_COLUMNS: tuple[str, ...] = ("seq", "device_t", "mx", "my", "mz")

# Header keys the format defines; any other "# key: value" line is kept in SessionHeader.extra.
KNOWN_KEYS: tuple[str, ...] = ("device", "placement", "sample_rate_hz", "acc_unit", "gyr_unit")
REQUIRED_KEYS: tuple[str, ...] = ("sample_rate_hz", "acc_unit", "gyr_unit")
NOTE_KEY = "note"  # "# note: T TEXT" lines are events between data rows, never header keys
KEY_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
# A value: a decimal number, nan or inf. Python's float() also takes "1_0" and inner spaces: refused.
NUMBER_PATTERN = re.compile(
    rb"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:nan|inf|infinity)", re.IGNORECASE
)

# Decimals written per column and unit. A 16-bit accelerometer at +-2 g resolves ~6e-4 m/s^2 and a
# gyroscope at +-250 deg/s ~8e-3 deg/s, so these keep every real sensor bit while staying short.
TIME_DECIMALS = 6  # t and device_t, s
ACC_DECIMALS: dict[str, int] = {"m/s^2": 5, "g": 6}
GYR_DECIMALS: dict[str, int] = {"rad/s": 6, "deg/s": 4}
MAG_DECIMALS = 3  # mx, my, mz, microtesla


@dataclass
class SessionHeader:
    """What the `# key: value` lines and the column row of a session file say."""

    version: int = FORMAT_VERSION
    device: str = ""
    placement: str = "sacrum"
    sample_rate_hz: float = 200.0  # nominal; the rate seen comes from the timestamps
    acc_unit: str = "m/s^2"
    gyr_unit: str = "rad/s"
    columns: tuple[str, ...] = BASE_COLUMNS
    extra: dict[str, str] = field(default_factory=dict)  # unknown header keys, in file order

    @property
    def has_gyro(self) -> bool:
        return tuple(self.columns[: len(BASE_COLUMNS)]) == BASE_COLUMNS

    @property
    def base_columns(self) -> tuple[str, ...]:
        """t,ax,ay,az,gx,gy,gz, or t,ax,ay,az for an accelerometer-only session."""
        return BASE_COLUMNS if self.has_gyro else ACC_ONLY_COLUMNS

    @property
    def extra_columns(self) -> tuple[str, ...]:
        return tuple(self.columns[len(self.base_columns) :])

    def problem(self) -> tuple[str, str] | None:
        """(key at fault, why) when this header cannot describe a session file, else None."""
        if self.version != FORMAT_VERSION:
            return "version", f"unsupported format version {self.version} (this imurun reads 1)"
        if self.acc_unit not in ACC_UNITS:
            return "acc_unit", f"unknown acc_unit {self.acc_unit!r} (expected {' or '.join(ACC_UNITS)})"
        if self.gyr_unit not in GYR_UNITS:
            return "gyr_unit", f"unknown gyr_unit {self.gyr_unit!r} (expected {' or '.join(GYR_UNITS)})"
        if self.placement not in PLACEMENTS:
            return "placement", f"unknown placement {self.placement!r} (expected {', '.join(PLACEMENTS)})"
        if not (math.isfinite(self.sample_rate_hz) and self.sample_rate_hz > 0):
            return "sample_rate_hz", f"sample_rate_hz must be a positive number, not {self.sample_rate_hz!r}"
        columns = tuple(self.columns)
        if columns[: len(ACC_ONLY_COLUMNS)] != ACC_ONLY_COLUMNS:
            found = ",".join(columns)
            why = f"column row must start with {','.join(BASE_COLUMNS)} (or {','.join(ACC_ONLY_COLUMNS)}"
            return "columns", f"{why} without a gyroscope); found {found}"
        extra = self.extra_columns
        for name in extra:
            if name not in EXTRA_COLUMNS:
                return "columns", f"unknown column {name!r} (optional columns: {', '.join(EXTRA_COLUMNS)})"
        if len(set(extra)) != len(extra):
            return "columns", f"duplicate column in {','.join(columns)}"
        return None


def column_decimals(header: SessionHeader) -> list[int | None]:
    """Decimals written for each column of `header` (None = integer column)."""
    per: dict[str, int | None] = {"t": TIME_DECIMALS, "device_t": TIME_DECIMALS, "seq": None}
    per |= dict.fromkeys(("ax", "ay", "az"), ACC_DECIMALS[header.acc_unit])
    per |= dict.fromkeys(("gx", "gy", "gz"), GYR_DECIMALS[header.gyr_unit])
    per |= dict.fromkeys(("mx", "my", "mz"), MAG_DECIMALS)
    return [per[c] for c in header.columns]


def column_scale(header: SessionHeader) -> list[float]:
    """Per column, the factor from the written unit to SI (1 for columns that are not acc/gyr)."""
    acc, gyr = ACC_UNITS[header.acc_unit], GYR_UNITS[header.gyr_unit]
    per = dict.fromkeys(("ax", "ay", "az"), acc) | dict.fromkeys(("gx", "gy", "gz"), gyr)
    return [per.get(c, 1.0) for c in header.columns]


def format_rate(rate_hz: float) -> str:
    return f"{rate_hz:.10g}"
