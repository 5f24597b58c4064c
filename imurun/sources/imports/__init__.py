"""Importers: other apps' exports as imurun sessions, a source of sample blocks (docs/import.md).

One module per format, each with a NAME, `recognise(export)` (from the content: column names,
metadata lines, zip members; never the file name) and `read(export)` (the streams in SI). This
registry tries them in turn, puts the streams on one clock and hands back an `ImportedSession`, so
that every command that reads a session reads an export too (the hook is `imported_export` in
imurun.session.reader).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imurun.blocks import SampleBlock
from imurun.errors import InputError
from imurun.session.format import ACC_ONLY_COLUMNS, BASE_COLUMNS, SessionHeader
from imurun.sources.imports import generic, movella_dot, phyphox, polar_logger, sensor_logger, witmotion
from imurun.sources.imports.common import (
    JITTER_PERIODS,
    Export,
    Imported,
    clean,
    clock_jitter,
    even_clock,
    nominal_rate,
    onto_clock,
    open_export,
)


@dataclass(frozen=True)
class Format:
    name: str
    recognise: Callable[[Export], bool]  # from the content only, never the file name
    read: Callable[[Export], Imported]


FORMATS: tuple[Format, ...] = (
    Format(sensor_logger.NAME, sensor_logger.recognise, sensor_logger.read),
    Format(phyphox.NAME, phyphox.recognise, phyphox.read),
    Format(movella_dot.NAME, movella_dot.recognise, movella_dot.read),
    Format(witmotion.NAME, witmotion.recognise, witmotion.read),
    Format(polar_logger.NAME, polar_logger.recognise, polar_logger.read),
)


def supported() -> str:
    return "; ".join([f.name for f in FORMATS] + [generic.NAME])


def detect(export: Export) -> Format | None:
    return next((f for f in FORMATS if f.recognise(export)), None)


def read_export(path: str | Path, units: generic.Units | None = None) -> Imported:
    """The streams of an export; `units` reads it as a generic CSV (time + 3 or 6 columns)."""
    export = open_export(Path(path))
    if units is not None:
        return generic.read(export, units)
    fmt = detect(export)
    if fmt is not None:
        return fmt.read(export)
    if generic.recognise(export):
        raise InputError(path, "not an imurun session file nor a known app's export; it looks like a generic "
                         "CSV (time + 3 or 6 columns): convert it with `imurun import FILE --acc-unit U "
                         "[--gyr-unit U] [--time-unit U]` (docs/import.md)", 1)
    raise InputError(path, f"not an imurun session file nor a supported export (supported: {supported()})", 1)


@dataclass(frozen=True)
class ImportedSession:
    """An export as a session: what `read_header` and `iter_chunks` hand to every command."""

    header: SessionHeader
    block: SampleBlock
    format: str


def to_session(imported: Imported, path: Path) -> ImportedSession:
    """Both streams on the accelerometer's clock, 0 = first sample, with the provenance header."""
    where = str(path)
    acc, dropped = clean(imported.acc)
    gyr, dropped_g = clean(imported.gyr) if imported.gyr is not None else (None, 0)
    dropped += dropped_g
    if len(acc.t) < 2 or (gyr is not None and len(gyr.t) < 2):
        raise InputError(where, "too few samples with a usable time to import")
    rate = nominal_rate(acc.t, where)
    jitter = clock_jitter(acc.t)
    even = jitter > JITTER_PERIODS  # a phone's irregular intervals: the engine wants an even clock
    t = even_clock(acc.t, rate) if even else acc.t
    separate = gyr is not None and not (len(gyr.t) == len(acc.t) and np.array_equal(gyr.t, acc.t))
    how = []
    if even:
        how.append(f"irregular sample intervals (10 % off a whole period by over {jitter:.2f}): resampled "
                   f"onto an even {rate:g} Hz clock by cubic spline, gaps kept")
    span = slice(None)
    if separate:
        span = (t >= max(acc.t[0], gyr.t[0])) & (t <= min(acc.t[-1], gyr.t[-1]))
        if not span.any():
            raise InputError(where, "the accelerometer and gyroscope recordings do not overlap in time")
        outside = np.count_nonzero(~span)
        how.append("gyroscope on its own clock, interpolated onto the accelerometer's by cubic spline; "
                   f"{outside} accelerometer samples outside the span both sensors cover dropped")
        t = t[span]
    a = onto_clock(t, acc) if even else acc.xyz[span]
    if gyr is None:
        g = np.full((len(t), 3), np.nan)
    else:
        g = onto_clock(t, gyr) if even or separate else gyr.xyz
    notes = {"source_resampled": "; ".join(how)} if how else {}
    t0 = t[0]
    t = np.round(t - t0, 6)  # the session clock, at the session format's 1 us
    keep = np.ones(len(t), bool)
    keep[1:] = np.diff(t) > 0  # samples closer than 1 us: the first stands
    t, a, g = t[keep], a[keep], g[keep]
    dropped += int(np.count_nonzero(~keep))
    if dropped:
        notes["source_dropped_rows"] = f"{dropped} (no time, or a time stamp repeated)"
    extra = {"source_format": imported.format, "source_file": path.name, **imported.provenance}
    if imported.clock:
        extra["source_clock"] = imported.clock
    if imported.epoch_offset_s is not None:
        start = np.datetime64(int(round((imported.epoch_offset_s + t0) * 1000)), "ms")
        extra["source_start_utc"] = f"{start}Z"
    extra |= notes
    header = SessionHeader(
        device=" ".join((imported.device or imported.format).split()),
        sample_rate_hz=rate,
        columns=BASE_COLUMNS if imported.gyr is not None else ACC_ONLY_COLUMNS,
        extra={k: " ".join(str(v).split()) for k, v in extra.items()},
    )
    return ImportedSession(header, SampleBlock(t, a, g), imported.format)


_cache: dict[tuple, ImportedSession] = {}
_announced: set[tuple] = set()


def import_session(
    path: str | Path, units: generic.Units | None = None, announce: bool = False
) -> ImportedSession:
    """`path` read as a session, once per file version (every command reads its input twice or more).

    With `announce`, says on stderr (once) which format was recognised: the commands that read an
    export through the session reader tell the user what they are analysing.
    """
    path = Path(path)
    try:
        st = path.stat()
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size, units)
    if key not in _cache:
        session = to_session(read_export(path, units), path)
        _cache.clear()  # one export at a time: bounded memory
        _cache[key] = session
    session = _cache[key]
    if announce and key not in _announced:
        _announced.add(key)
        h = session.header
        print(f"imurun: {path}: recognised {session.format}: {len(session.block)} samples at "
              f"{h.sample_rate_hz:g} Hz{'' if h.has_gyro else ', accelerometer only'}", file=sys.stderr)
    return session
