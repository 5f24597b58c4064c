"""What every importer shares: the export's files, table parsing, time bases, one clock.

An importer turns another app's export into an `Imported`: the accelerometer stream (with gravity,
m/s^2), the gyroscope stream (rad/s) or None, each on its own time stamps in seconds, and what is
known of where the data came from. `to_session` puts both on one clock and makes a session.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from imurun.errors import InputError

MAX_EXPORT_BYTES = 2 << 30  # an unpacked export larger than this is refused, not read into memory
MIN_RATE_HZ, MAX_RATE_HZ = 10.0, 2000.0  # the engine's range
GAP_PERIODS = 3.0  # a sensor interval longer than this many median intervals is a gap: never bridged
JITTER_PERIODS = 0.05  # clock_jitter above this: resample onto an even clock (docs/import.md, jitter)
TIME_UNITS_S: dict[str, float] = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


@dataclass(frozen=True)
class Export:
    """The text files of an export: one plain file, or the members of a zip archive."""

    path: Path
    files: dict[str, bytes]  # file name (zip member name) -> bytes
    is_zip: bool

    def where(self, name: str) -> str:
        """How an error names a file: the path, or path[member] inside a zip."""
        return f"{self.path}[{name}]" if self.is_zip else str(self.path)

    def text(self, name: str) -> str:
        data = self.files[name]
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return data.decode("latin-1")  # a Windows app's export: the numbers read the same

    def head(self, name: str, lines: int = 16) -> list[str]:
        """The first lines of a file, for recognising its format."""
        data = self.files[name][: 1 << 14]
        return data.decode("utf-8-sig", "replace").splitlines()[:lines]

    def find(self, basename: str) -> str | None:
        """The member whose base name is `basename` (any case, any folder), if there is one."""
        want = basename.lower()
        return next((n for n in self.files if n.rsplit("/", 1)[-1].lower() == want), None)


def open_export(path: Path) -> Export:
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
            if magic != b"PK\x03\x04":
                f.seek(0)
                return Export(path, {path.name: f.read()}, False)
        with zipfile.ZipFile(path) as z:
            infos = [i for i in z.infolist() if not i.is_dir() and not i.filename.startswith("__MACOSX/")]
            if sum(i.file_size for i in infos) > MAX_EXPORT_BYTES:
                why = "zip export larger than 2 GiB unpacked; unpack it and import its CSV files"
                raise InputError(path, why)
            return Export(path, {i.filename: z.read(i) for i in infos}, True)
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile, zlib.error) as exc:
        raise InputError(path, f"not a readable zip archive (truncated or damaged: {exc})") from None
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None


@dataclass(frozen=True)
class Stream:
    """One sensor's samples as the export gives them: time (s, any origin), xyz in SI."""

    t: np.ndarray
    xyz: np.ndarray


@dataclass
class Imported:
    """What an importer read: streams in SI on their own clocks, and where they came from."""

    format: str  # the recognised format, as shown to the user
    acc: Stream  # specific force including gravity, m/s^2
    gyr: Stream | None  # rad/s; None for an accelerometer-only export
    device: str = ""
    provenance: dict[str, str] = field(default_factory=dict)  # extra `# source_...` header lines
    clock: str = ""  # the time base the stamps came from, for the header
    epoch_offset_s: float | None = None  # stream time + this = Unix time, when the export says


@dataclass(frozen=True)
class Table:
    """A parsed CSV: column names, numeric values (NaN for empty cells), 1-based data line numbers."""

    columns: list[str]
    values: np.ndarray
    first_line: int
    where: str

    def col(self, *names: str) -> np.ndarray:
        """The columns named (exactly, after stripping) as one (n, len(names)) array."""
        idx = [self.index(n) for n in names]
        return self.values[:, idx]

    def index(self, name: str) -> int:
        try:
            return self.columns.index(name)
        except ValueError:
            raise InputError(self.where, f"no column {name!r} (columns: {', '.join(self.columns)})") from None


def split_header(line: str, delimiter: str) -> list[str]:
    return [c.strip().strip('"').strip() for c in line.split(delimiter)]


def sniff_delimiter(line: str) -> str:
    return max(("\t", ";", ","), key=line.count)


def read_table(
    export: Export,
    name: str,
    header_line: int = 0,
    delimiter: str | None = None,
    text_columns: tuple[str, ...] = (),
    names: list[str] | None = None,
) -> tuple[Table, dict[str, list[str]]]:
    """The table whose column row is line `header_line` (0-based) of file `name`.

    Numbers may use a decimal comma when the delimiter is not a comma (phyphox offers both). Empty
    cells read as NaN (a missing value); anything else that is not a number is an error naming the
    line. `text_columns` are returned as strings (clock times, device names), not parsed. With
    `names`, the file has no column row: data start at `header_line`, named by `names`.
    """
    where = export.where(name)
    lines = export.text(name).splitlines()
    if len(lines) <= header_line:
        raise InputError(where, "no column row (empty or cut-short file)")
    delimiter = delimiter or sniff_delimiter(lines[header_line])
    columns = split_header(lines[header_line], delimiter)
    while columns and columns[-1] == "":  # a trailing delimiter (Movella DOT rows end in ",")
        columns.pop()
    skip = 1
    if names is not None:
        columns, skip = names[: len(columns)], 0
    body = lines[header_line + skip :]
    while body and not body[-1].strip():
        body.pop()
    first_line = header_line + skip + 1
    if not body:
        raise InputError(where, "no data rows after the column row", header_line + 1)
    texts = {c: [] for c in text_columns}
    text_idx = [columns.index(c) for c in text_columns]
    numeric = [i for i in range(len(columns)) if i not in text_idx]
    if delimiter != "," and any("," in ln for ln in body[:50]):
        body = [ln.replace(",", ".") for ln in body]
    try:
        values = np.loadtxt(body, delimiter=delimiter, usecols=numeric, ndmin=2, dtype=np.float64,
                            comments=None, quotechar='"')
        bad = _short_row(body, delimiter, len(columns))
        if bad is not None:
            raise ValueError
    except ValueError:
        values = _slow_parse(body, delimiter, columns, numeric, where, first_line)
    if text_idx:
        rows = [ln.split(delimiter) for ln in body]
        for c, i in zip(text_columns, text_idx, strict=True):
            texts[c] = [r[i].strip().strip('"') if i < len(r) else "" for r in rows]
    full = np.full((len(values), len(columns)), np.nan)
    full[:, numeric] = values
    return Table(columns, full, first_line, where), texts


def _short_row(body: list[str], delimiter: str, ncols: int) -> int | None:
    """Index of the first row with fewer fields than columns (loadtxt reads the ones it is asked for)."""
    need = ncols - 1
    for i, ln in enumerate(body):
        if ln.count(delimiter) < need:
            return i
    return None


def _slow_parse(body, delimiter, columns, numeric, where, first_line) -> np.ndarray:
    """Row by row, to read empty cells as NaN and name the first line that is not numbers."""
    out = np.empty((len(body), len(numeric)))
    last = len(body) - 1
    for i, ln in enumerate(body):
        fields = ln.split(delimiter)
        if len(fields) < len(columns):
            cut = " (the export was cut short)" if i == last else ""
            why = f"expected {len(columns)} values, found {len(fields)}{cut}"
            raise InputError(where, why, first_line + i)
        for j, k in enumerate(numeric):
            token = fields[k].strip().strip('"') if k < len(fields) else ""
            if token == "":
                out[i, j] = math.nan
                continue
            try:
                out[i, j] = float(token)
            except ValueError:
                why = f"column {columns[k]!r}: not a number: {token[:40]!r}"
                raise InputError(where, why, first_line + i) from None
    return out


_CLOCK = re.compile(
    r"\s*(?:(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})[ T_]+)?(\d{1,2}):(\d{1,2}):(\d{1,2}(?:[.,]\d+)?)"
)


def clock_seconds(texts: list[str], where: str, first_line: int) -> np.ndarray:
    """Seconds from wall-clock strings ("2024-05-16 15:30:12.345" or "15:30:12.345").

    Time of day alone wraps at midnight: a jump back of more than 12 h is taken as the next day.
    """
    out = np.empty(len(texts))
    day0 = None
    for i, s in enumerate(texts):
        m = _CLOCK.match(s)
        if m is None:
            raise InputError(where, f"not a clock time: {s[:40]!r}", first_line + i)
        y, mo, d, h, mi, sec = m.groups()
        days = 0.0
        if y is not None:
            day = np.datetime64(f"{int(y):04d}-{int(mo):02d}-{int(d):02d}", "D").astype(np.int64)
            day0 = day if day0 is None else day0
            days = float(day - day0)
        out[i] = days * 86400.0 + int(h) * 3600.0 + int(mi) * 60.0 + float(sec.replace(",", "."))
    wraps = np.cumsum(np.diff(out, prepend=out[0]) < -43200.0)
    return out + wraps * 86400.0


def unwrap_ticks(ticks: np.ndarray, modulus: float) -> np.ndarray:
    """A device counter that wraps at `modulus` (Movella DOT's 32-bit microsecond clock), unwrapped."""
    jumps = np.diff(ticks, prepend=ticks[:1]) < -modulus / 2
    return ticks + np.cumsum(jumps) * modulus


def regular_clock(t: np.ndarray) -> np.ndarray:
    """Evenly spaced times for stamps taken on the receiving host (jitter, repeated values).

    Each sample gets a slot number: the previous one + the interval in median periods, rounded,
    at least 1 (so lost samples keep their slots and repeated stamps are distinct samples). Between
    gaps (over GAP_PERIODS periods) the times are a least-squares line over the slots: the rate and
    start the host saw, without its jitter.
    """
    if len(t) < 3:
        return t
    dt = np.diff(t)
    step = float(np.median(dt[dt > 0])) if np.any(dt > 0) else 0.0
    if step <= 0:
        return t
    slot = np.concatenate([[0], np.cumsum(np.maximum(1, np.rint(dt / step)))])
    cuts = np.flatnonzero(dt > GAP_PERIODS * step) + 1
    out = np.empty_like(t)
    for seg in np.split(np.arange(len(t)), cuts):
        if len(seg) < 3:
            out[seg] = t[seg]
            continue
        k = slot[seg] - slot[seg[0]]
        slope, intercept = np.polyfit(k, t[seg], 1)
        out[seg] = intercept + slope * k
    return out


def clean(stream: Stream) -> tuple[Stream, int]:
    """Rows with a usable, strictly increasing time, in time order; and how many were dropped."""
    ok = np.isfinite(stream.t)
    t, xyz = stream.t[ok], stream.xyz[ok]
    if np.any(np.diff(t) < 0):
        order = np.argsort(t, kind="stable")
        t, xyz = t[order], xyz[order]
    keep = np.ones(len(t), bool)
    keep[1:] = np.diff(t) > 0  # a repeated time stamp: the first sample stands
    return Stream(t[keep], xyz[keep]), int(len(stream.t) - keep.sum())


def onto_clock(t: np.ndarray, src: Stream) -> np.ndarray:
    """`src` at times `t` by cubic spline (scipy, not-a-knot), stretch by stretch between its gaps.

    NaN outside its span and inside its gaps (over GAP_PERIODS median intervals): never bridged.
    Rows with a missing value are left out, so a short hole is interpolated like any interval.
    """
    from scipy.interpolate import make_interp_spline

    out = np.full((len(t), 3), np.nan)
    ok = np.all(np.isfinite(src.xyz), axis=1)
    st, sx = src.t[ok], src.xyz[ok]
    if len(st) < 2:
        return out
    limit = GAP_PERIODS * float(np.median(np.diff(src.t)))
    for seg in np.split(np.arange(len(st)), np.flatnonzero(np.diff(st) > limit) + 1):
        if len(seg) < 2:
            continue
        at = slice(np.searchsorted(t, st[seg[0]], "left"), np.searchsorted(t, st[seg[-1]], "right"))
        spline = make_interp_spline(st[seg], sx[seg], k=min(3, len(seg) - 1), axis=0)
        out[at] = spline(t[at])
    return out


def clock_jitter(t: np.ndarray) -> float:
    """How irregular the sample intervals are: the 90th percentile of each interval's distance to a
    whole number of median intervals (lost samples are whole numbers; jitter is not), in periods."""
    dt = np.diff(t)
    r = dt / float(np.median(dt))
    return float(np.quantile(np.abs(r - np.maximum(1.0, np.rint(r))), 0.9))


def even_clock(t: np.ndarray, rate_hz: float) -> np.ndarray:
    """Times 1/rate apart from the first sample of each stretch between gaps (gaps stay gaps)."""
    step = 1.0 / rate_hz
    limit = GAP_PERIODS * float(np.median(np.diff(t)))
    stretches = np.split(t, np.flatnonzero(np.diff(t) > limit) + 1)
    return np.concatenate([s[0] + step * np.arange(int((s[-1] - s[0]) / step + 1e-9) + 1) for s in stretches])


def nominal_rate(t: np.ndarray, where: str) -> float:
    """The median sample rate, rounded to a whole number of Hz when within 1 % of one."""
    if len(t) < 2:
        raise InputError(where, f"too few samples ({len(t)}) to import")
    rate = 1.0 / float(np.median(np.diff(t)))
    if abs(rate - round(rate)) <= 0.01 * rate:
        rate = float(round(rate))
    if not MIN_RATE_HZ <= rate <= MAX_RATE_HZ:
        why = f"sample rate {rate:.4g} Hz is outside the {MIN_RATE_HZ:g}-{MAX_RATE_HZ:g} Hz imurun analyses"
        raise InputError(where, f"{why} (are the time stamps in the unit the format says?)")
    return round(rate, 1)


def csv_rows(text: str) -> list[list[str]]:
    """A small metadata CSV (quoted fields, comma, tab or semicolon) as rows of stripped strings."""
    import csv

    first = text.split("\n", 1)[0]
    rows = csv.reader(io.StringIO(text), delimiter=sniff_delimiter(first))
    return [[f.strip() for f in row] for row in rows if row]

