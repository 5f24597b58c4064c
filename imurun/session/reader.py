"""Read session CSV files (docs/session-format.md) in constant memory, fast, and strictly.

The data section is read in large byte chunks cut at the last newline. A numba kernel parses each
chunk in one pass (plain decimals, exactly rounded); the few lines it cannot settle (nan/inf, more
than 15 significant digits, bad numbers, wrong column counts, empty lines) go through a strict
Python parser, which also finds the first offending line. Time must increase strictly within and
across chunks. A last line without a newline is a write cut short by a crash: skipped, with a
warning on stderr.

A file that is not a session (no `# imurun-session:` first line) goes to the importers
(imurun.sources.imports, docs/import.md): a supported export of another app reads as a session,
through the same `read_header` / `iter_chunks`, so every command takes it.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, NamedTuple

import numpy as np

from imurun.blocks import SampleBlock
from imurun.errors import InputError
from imurun.session.format import (
    FORMAT_VERSION,
    KEY_PATTERN,
    KNOWN_KEYS,
    MAGIC,
    NOTE_KEY,
    NUMBER_PATTERN,
    REQUIRED_KEYS,
    SessionHeader,
    column_scale,
)

if TYPE_CHECKING:
    from imurun.sources.imports import ImportedSession

CHUNK_BYTES = 1 << 22
MAX_LINE_BYTES = 1 << 16  # a longer line is not a session line (binary data, a missing newline)
# A longer jump between two rows is not a pause in one recording: refused, as the commands that
# lay a session out in time (splits, plots) would otherwise work on the empty span.
MAX_TIME_JUMP_S = 86400.0
NOTE_PREFIX = b"# " + NOTE_KEY.encode() + b": "



@dataclass(frozen=True, slots=True)
class Note:
    """An event line (`# note: T TEXT`) between data rows, e.g. a BLE outage."""

    t: float
    text: str
    line: int


@dataclass(frozen=True, slots=True)
class Chunk:
    """Consecutive rows: the SI block, the extra columns by name, and the notes read with them."""

    block: SampleBlock
    extra: dict[str, np.ndarray]
    notes: tuple[Note, ...]
    first_line: int  # 1-based file line of the first row


class Session(NamedTuple):
    """`header, block = read_session(path)`; `.t`, `.acc`, `.gyr` reach into the block."""

    header: SessionHeader
    block: SampleBlock

    @property
    def t(self) -> np.ndarray:
        return self.block.t

    @property
    def acc(self) -> np.ndarray:
        return self.block.acc

    @property
    def gyr(self) -> np.ndarray:
        return self.block.gyr


@dataclass(frozen=True, slots=True)
class SessionData:
    """Everything in a session file: header, SI samples, extra columns by name, notes."""

    header: SessionHeader
    block: SampleBlock
    extra: dict[str, np.ndarray]
    notes: tuple[Note, ...]


def read_header(path: str | Path) -> SessionHeader:
    imported = imported_export(path)
    if imported is not None:
        return imported.header
    with _open(path) as f:
        return _read_header(f, path)[0]


def iter_chunks(path: str | Path, rows: int = 65536, *, chunk_bytes: int = CHUNK_BYTES) -> Iterator[Chunk]:
    """Chunks of `rows` rows (the last one shorter; a final chunk with no rows carries trailing notes).

    Memory stays bounded by `rows` and `chunk_bytes` whatever the file size. Raises InputError at the
    first bad line; the chunks before it have been yielded.
    """
    if rows < 1 or chunk_bytes < 1:
        raise ValueError("rows and chunk_bytes must be >= 1")
    imported = imported_export(path)
    if imported is not None:
        for start in range(0, max(len(imported.block), 1), rows):
            cut = slice(start, start + rows)
            b = imported.block
            yield Chunk(SampleBlock(b.t[cut], b.acc[cut], b.gyr[cut]), {}, (), 0)
        return
    with _open(path) as f:
        header, line = _read_header(f, path)
        parser = _ChunkParser(path, header)
        pending: list[tuple[np.ndarray, np.ndarray]] = []  # (values, line numbers) not yet yielded
        pending_rows = 0
        notes: list[Note] = []
        carry = b""
        while data := _read(f, path, chunk_bytes):
            buf = carry + data
            cut = buf.rfind(b"\n") + 1
            carry = buf[cut:]
            if len(carry) > MAX_LINE_BYTES:
                where = line + buf.count(b"\n", 0, cut)
                raise InputError(path, f"line longer than {MAX_LINE_BYTES} bytes", where)
            if cut == 0:
                continue
            values, lines, chunk_notes = parser.parse(buf[:cut], line)
            line += buf.count(b"\n", 0, cut)
            notes += chunk_notes
            if len(values):
                pending.append((values, lines))
                pending_rows += len(values)
            while pending_rows >= rows:
                values, lines = _take(pending, rows, len(header.columns))
                pending_rows -= rows
                done = [n for n in notes if n.line < lines[-1]]
                notes = notes[len(done) :]
                yield parser.chunk(values, lines, done)
        if carry:
            why = "skipped a truncated last line (no newline at end of file)"
            print(f"imurun: warning: {path}:{line}: {why}", file=sys.stderr)
        if pending_rows or notes:
            values, lines = _take(pending, pending_rows, len(header.columns))
            yield parser.chunk(values, lines, notes)


def iter_blocks(path: str | Path, rows: int = 65536) -> Iterator[SampleBlock]:
    """SI sample blocks of `rows` rows, in constant memory."""
    for chunk in iter_chunks(path, rows):
        if len(chunk.block):
            yield chunk.block


def read_session_data(path: str | Path) -> SessionData:
    header = read_header(path)
    chunks = list(iter_chunks(path))
    block = SampleBlock(
        np.concatenate([c.block.t for c in chunks]) if chunks else np.empty(0),
        np.concatenate([c.block.acc for c in chunks]) if chunks else np.empty((0, 3)),
        np.concatenate([c.block.gyr for c in chunks]) if chunks else np.empty((0, 3)),
    )
    extra = {
        name: np.concatenate([c.extra[name] for c in chunks]) if chunks else np.empty(0)
        for name in header.extra_columns
    }
    return SessionData(header, block, extra, tuple(n for c in chunks for n in c.notes))


def read_session(path: str | Path) -> Session:
    data = read_session_data(path)
    return Session(data.header, data.block)


def read_notes(path: str | Path) -> list[Note]:
    return [n for chunk in iter_chunks(path) for n in chunk.notes]


# --- opening and the header -------------------------------------------------------------------


def imported_export(path: str | Path) -> ImportedSession | None:
    """Another app's export (docs/import.md) read as a session (`.header`, `.block`); None for an
    imurun session file.

    The one place where every command (analyze, replay, report, info, ...) meets the importers.
    Empty and unreadable files go on to the session reader, which names their problem.
    """
    with _open(path) as f:
        head = _read(f, path, len(MAGIC))
    if not head or MAGIC.encode().startswith(head) or head.startswith(MAGIC.encode()):
        return None
    from imurun.sources.imports import import_session

    return import_session(path, announce=True)



def _open(path: str | Path) -> BinaryIO:
    try:
        return open(path, "rb")  # noqa: SIM115 - the callers close it
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except IsADirectoryError:
        raise InputError(path, "is a directory, not a session file") from None
    except OSError as exc:
        raise InputError(path, f"cannot open: {exc.strerror or exc}") from None


def _read(f: BinaryIO, path: str | Path, size: int) -> bytes:
    try:
        return f.read(size)
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None


def _header_line(f: BinaryIO, path: str | Path, line: int) -> str | None:
    raw = f.readline(MAX_LINE_BYTES)
    if not raw:
        return None
    if not raw.endswith(b"\n"):
        why = "header line too long" if len(raw) >= MAX_LINE_BYTES else "header cut short (no newline)"
        raise InputError(path, why, line)
    try:
        return raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        raise InputError(path, "header is not UTF-8 text", line) from None


def _read_header(f: BinaryIO, path: str | Path) -> tuple[SessionHeader, int]:
    """Parse the header; returns it and the 1-based line number of the first data line."""
    first = f.readline(MAX_LINE_BYTES)
    if not first:
        raise InputError(path, "empty file")
    magic = MAGIC.encode()
    if not first.startswith(magic):
        why = f"not an imurun session file (first line must be '{MAGIC}{FORMAT_VERSION}')"
        raise InputError(path, why, 1)
    version = first[len(magic) :].strip()
    if version != str(FORMAT_VERSION).encode():
        shown = version.decode("utf-8", "replace")[:20]
        why = f"unsupported session format version {shown!r} (this imurun reads {FORMAT_VERSION})"
        raise InputError(path, why, 1)

    values: dict[str, str] = {}
    key_lines: dict[str, int] = {}
    extra: dict[str, str] = {}
    line = 1
    while True:
        line += 1
        text = _header_line(f, path, line)
        if text is None:
            raise InputError(path, "no column row after the header", line)
        if not text.startswith("#"):
            break
        key, sep, value = text[1:].strip().partition(":")
        key, value = key.strip(), value.strip()
        if not sep or not KEY_PATTERN.fullmatch(key):
            raise InputError(path, "expected a '# key: value' header line", line)
        if key == NOTE_KEY:
            raise InputError(path, "a note line before the column row", line)
        if key in key_lines:
            raise InputError(path, f"duplicate header key {key!r}", line)
        key_lines[key] = line
        (values if key in KNOWN_KEYS else extra)[key] = value

    key_lines["columns"] = line
    columns = tuple(c.strip() for c in text.split(","))
    if "gyr_unit" not in values and not {"gx", "gy", "gz"} & set(columns):
        values["gyr_unit"] = SessionHeader.gyr_unit  # an accelerometer-only file: it would describe no column
    for key in REQUIRED_KEYS:
        if key not in values:
            raise InputError(path, f"missing header key {key!r}", line)
    try:
        rate = float(values["sample_rate_hz"])
    except ValueError:
        raise InputError(path, "sample_rate_hz is not a number", key_lines["sample_rate_hz"]) from None
    header = SessionHeader(
        device=values.get("device", ""),
        placement=values.get("placement", SessionHeader.placement),
        sample_rate_hz=rate,
        acc_unit=values["acc_unit"],
        gyr_unit=values["gyr_unit"],
        columns=columns,
        extra=extra,
    )
    problem = header.problem()
    if problem:
        raise InputError(path, problem[1], key_lines[problem[0]])
    return header, line + 1


# --- the data section -------------------------------------------------------------------------

_POW10 = 10.0 ** np.arange(23)  # exact in float64 up to 1e22


def _scan(buf, ncols, out, row_line, slow, comments):
    """Parse newline-terminated lines of `buf` into `out` rows.

    Values with at most 15 significant digits and a decimal exponent within +-22 are exact as one
    correctly rounded multiply/divide of exact doubles (Clinger 1990, "How to read floating point
    numbers accurately", the fast path). Everything else marks its row slow: (row, line, offset).
    Comment lines ('#') are listed as (line, offset). Returns (rows, slow rows, comments).
    """
    n = buf.size
    pos = 0
    line = 0
    nrows = 0
    nslow = 0
    ncom = 0
    while pos < n:
        start = pos
        if buf[pos] == 35:  # '#'
            comments[ncom, 0] = line
            comments[ncom, 1] = start
            ncom += 1
            while buf[pos] != 10:
                pos += 1
            pos += 1
            line += 1
            continue
        row = nrows
        nrows += 1
        row_line[row] = line
        col = 0
        bad = False
        while True:
            neg = False
            c = buf[pos]
            if c == 45 or c == 43:  # '-' '+'
                neg = c == 45
                pos += 1
            mant = 0
            sig = 0
            scale = 0
            digits = 0
            frac = False
            while True:
                c = buf[pos]
                if 48 <= c <= 57:
                    if mant > 0 or c > 48:
                        sig += 1
                    if sig <= 15:  # beyond that the row goes slow anyway
                        mant = mant * 10 + (int(c) - 48)  # (int: in plain Python a uint8 would wrap)
                        if frac:
                            scale -= 1
                    digits += 1
                    pos += 1
                elif c == 46 and not frac:  # '.'
                    frac = True
                    pos += 1
                else:
                    break
            value = 0.0
            if digits == 0:
                if pos + 3 < n and (buf[pos] | 32) == 110 and (buf[pos + 1] | 32) == 97 \
                        and (buf[pos + 2] | 32) == 110:  # "nan", any case
                    value = np.nan
                    pos += 3
                else:
                    bad = True
            else:
                if c == 101 or c == 69:  # 'e' 'E'
                    pos += 1
                    eneg = False
                    if buf[pos] == 45 or buf[pos] == 43:
                        eneg = buf[pos] == 45
                        pos += 1
                    e = 0
                    edigits = 0
                    while 48 <= buf[pos] <= 57:
                        if e < 10000:
                            e = e * 10 + (int(buf[pos]) - 48)
                        edigits += 1
                        pos += 1
                    if edigits == 0:
                        bad = True
                    scale += -e if eneg else e
                if sig > 15 or scale > 22 or scale < -22:
                    bad = True
                elif scale >= 0:
                    value = mant * _POW10[scale]
                else:
                    value = mant / _POW10[-scale]
                if neg:
                    value = -value
            c = buf[pos]
            if c != 44 and c != 10:  # junk after the number: skip to the next separator
                bad = True
                while buf[pos] != 44 and buf[pos] != 10:
                    pos += 1
                c = buf[pos]
            if col < ncols:
                out[row, col] = value
            col += 1
            pos += 1
            if c == 10:
                break
        if bad or col != ncols:
            slow[nslow, 0] = row
            slow[nslow, 1] = line
            slow[nslow, 2] = start
            nslow += 1
        line += 1
    return nrows, nslow, ncom


_compiled_scan = None


def _scan_kernel():
    """_scan compiled by numba, imported on first use so header errors and --help stay instant."""
    global _compiled_scan
    if _compiled_scan is None:
        from numba import njit

        _compiled_scan = njit(cache=True, nogil=True)(_scan)
    return _compiled_scan


class _LineError(Exception):
    def __init__(self, index: int, message: str):
        self.index = index
        self.message = message


class _ChunkParser:
    """Parses chunks of one file, carrying the last timestamp across chunk boundaries."""

    def __init__(self, path: str | Path, header: SessionHeader):
        self.path = path
        self.header = header
        self.columns = header.columns
        self.scale = np.array(column_scale(header))
        self.last_t = -math.inf

    def parse(self, buf: bytes, first_line: int) -> tuple[np.ndarray, np.ndarray, list[Note]]:
        """Rows (in file units), their 1-based line numbers and the notes of newline-ended `buf`."""
        if b"\r" in buf:
            buf = buf.replace(b"\r\n", b"\n")
        nlines = buf.count(b"\n")
        ncols = len(self.columns)
        out = np.empty((nlines, ncols))
        row_line = np.empty(nlines, np.int64)
        slow = np.empty((nlines, 3), np.int64)
        comments = np.empty((nlines, 2), np.int64)
        data = np.frombuffer(buf, np.uint8)
        nrows, nslow, ncom = _scan_kernel()(data, ncols, out, row_line, slow, comments)
        out, row_line = out[:nrows], row_line[:nrows]

        errors: list[_LineError] = []
        for row, index, start in slow[:nslow]:
            try:
                out[row] = self._parse_line(buf[start : buf.index(b"\n", start)], int(index))
            except _LineError as exc:
                errors.append(exc)
                break  # slow rows come in file order: this is the first bad number
        notes = []
        for index, start in comments[:ncom]:
            if errors and index > errors[0].index:
                break
            text = buf[start : buf.index(b"\n", start)]
            if text.startswith(NOTE_PREFIX):
                try:
                    notes.append(self._parse_note(text, int(index), first_line))
                except _LineError as exc:
                    errors.append(exc)
                    break
        time_error = self._check_time(out[:, 0], row_line)
        if time_error:
            errors.append(time_error)
        if errors:
            first = min(errors, key=lambda e: e.index)
            raise InputError(self.path, first.message, first_line + first.index)
        if nrows:
            self.last_t = float(out[-1, 0])
        return out, row_line + first_line, notes

    def _parse_line(self, text: bytes, index: int) -> np.ndarray:
        if not text.strip():
            raise _LineError(index, "empty line")
        tokens = text.split(b",")
        if len(tokens) != len(self.columns):
            raise _LineError(index, f"expected {len(self.columns)} values, found {len(tokens)}")
        values = np.empty(len(tokens))
        for i, token in enumerate(tokens):
            token = token.strip()
            if not NUMBER_PATTERN.fullmatch(token):
                shown = token.decode("utf-8", "replace")[:40]
                raise _LineError(index, f"column {self.columns[i]}: not a number: {shown!r}")
            values[i] = float(token)
        return values

    @staticmethod
    def _parse_note(text: bytes, index: int, first_line: int) -> Note:
        t_text, _, note = text[len(NOTE_PREFIX) :].partition(b" ")
        if not NUMBER_PATTERN.fullmatch(t_text) or not math.isfinite(float(t_text)):
            raise _LineError(index, "note line must be '# note: T TEXT' with T a time in seconds")
        return Note(float(t_text), note.decode("utf-8", "replace").strip(), first_line + index)

    def _check_time(self, t: np.ndarray, row_line: np.ndarray) -> _LineError | None:
        if not len(t):
            return None
        prev = np.empty_like(t)
        prev[0] = self.last_t
        prev[1:] = t[:-1]
        jump = np.isfinite(prev) & (t - prev > MAX_TIME_JUMP_S)
        bad = np.flatnonzero(~(t > prev) | ~np.isfinite(t) | jump)
        if not len(bad):
            return None
        i = bad[0]
        if not math.isfinite(t[i]):
            why = f"time is not a finite number ({t[i]})"
        elif t[i] - prev[i] > MAX_TIME_JUMP_S:
            why = (f"time jumps {t[i] - prev[i]:.6g} s ({prev[i]:.6f} -> {t[i]:.6f} s), more than a day: "
                   "not one recording")
        elif t[i] == prev[i]:
            why = f"duplicate timestamp {t[i]:.6f} s"
        else:
            why = f"time goes backwards ({t[i]:.6f} s after {prev[i]:.6f} s)"
        return _LineError(int(row_line[i]), why)

    def chunk(self, values: np.ndarray, lines: np.ndarray, notes: list[Note]) -> Chunk:
        si = values * self.scale
        gyr = si[:, 4:7].copy() if self.header.has_gyro else np.full((len(si), 3), np.nan)
        block = SampleBlock(si[:, 0].copy(), si[:, 1:4].copy(), gyr)
        first_extra = len(self.header.base_columns)
        extra = {name: si[:, first_extra + i].copy() for i, name in enumerate(self.header.extra_columns)}
        first = int(lines[0]) if len(lines) else (notes[0].line if notes else 0)
        return Chunk(block, extra, tuple(notes), first)


def _take(pending: list[tuple[np.ndarray, np.ndarray]], rows: int, ncols: int) -> tuple[np.ndarray, ...]:
    """Remove the first `rows` rows from `pending` (a FIFO of parsed pieces) and return them joined."""
    values, lines, got = [], [], 0
    while got < rows:
        v, ln = pending[0]
        need = rows - got
        if len(v) <= need:
            pending.pop(0)
        else:
            pending[0] = (v[need:], ln[need:])
            v, ln = v[:need], ln[:need]
        values.append(v)
        lines.append(ln)
        got += len(v)
    if not values:
        return np.empty((0, ncols)), np.empty(0, np.int64)
    if len(values) == 1:
        return values[0], lines[0]
    return np.concatenate(values), np.concatenate(lines)
