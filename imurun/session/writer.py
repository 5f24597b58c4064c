"""Write session CSV files (docs/session-format.md), durable enough for a live recording.

Every write() and note() hands its complete lines to the OS at once (flush), so a process killed
with SIGKILL leaves a readable file; os.fsync runs at the first write at least `fsync_interval_s`
after the previous one, and on close, so a power cut loses at most about that much.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from types import TracebackType

import numpy as np

from imurun.outputs import open_fresh
from imurun.session.format import (
    FORMAT_VERSION,
    KEY_PATTERN,
    KNOWN_KEYS,
    MAGIC,
    NOTE_KEY,
    SessionHeader,
    column_decimals,
    column_scale,
    format_rate,
)

_ROWS_PER_FORMAT = 8192  # rows formatted per % operation: bounds the temporary strings


class SessionWriter:
    """`with SessionWriter(path, header) as w: w.write(t, acc, gyr); w.note(t, "BLE outage")`.

    Values are SI (s, m/s^2, rad/s) and written in the header's units; time must increase strictly
    across all writes. The file is created (or truncated) and only ever appended to.
    """

    def __init__(self, path: str | Path, header: SessionHeader, *, fsync_interval_s: float = 1.0):
        problem = header.problem()
        if problem:
            raise ValueError(problem[1])
        self._check_header_text(header)
        self.path = Path(path)
        self.header = header
        self.rows_written = 0
        self._fsync_interval_s = fsync_interval_s
        self._row_format = ",".join("%d" if d is None else f"%.{d}f" for d in column_decimals(header)) + "\n"
        self._divisor = np.array(column_scale(header))
        self._last_t = -math.inf
        self._file = open_fresh(self.path, "wb")  # closed by close()
        self._file.write(self._header_text(header).encode("utf-8"))
        self._sync()

    @staticmethod
    def _check_header_text(header: SessionHeader) -> None:
        for key, value in [("device", header.device), *header.extra.items()]:
            if "\n" in value or "\r" in value:
                raise ValueError(f"header value of {key!r} must be one line")
        for key in header.extra:
            if not KEY_PATTERN.fullmatch(key) or key in KNOWN_KEYS or key == NOTE_KEY:
                raise ValueError(f"header key {key!r} is not allowed as an extra key")

    @staticmethod
    def _header_text(header: SessionHeader) -> str:
        lines = [
            f"{MAGIC}{FORMAT_VERSION}",
            f"# device: {header.device}",
            f"# placement: {header.placement}",
            f"# sample_rate_hz: {format_rate(header.sample_rate_hz)}",
            f"# acc_unit: {header.acc_unit}",
            f"# gyr_unit: {header.gyr_unit}",
            *(f"# {k}: {v}" for k, v in header.extra.items()),
            ",".join(header.columns),
        ]
        return "\n".join(lines) + "\n"

    def write(
        self,
        t: np.ndarray,
        acc: np.ndarray,
        gyr: np.ndarray,
        extra: dict[str, np.ndarray] | None = None,
    ) -> None:
        """Append rows: t (n,), acc (n, 3), gyr (n, 3), and one (n,) array per extra column."""
        t = np.asarray(t, dtype=np.float64)
        n = t.shape[0] if t.ndim == 1 else -1
        acc = np.asarray(acc, dtype=np.float64)
        gyr = np.asarray(gyr, dtype=np.float64)
        if n < 0 or acc.shape != (n, 3) or gyr.shape != (n, 3):
            shapes = f"{t.shape}, {acc.shape}, {gyr.shape}"
            raise ValueError(f"expected t (n,), acc (n, 3), gyr (n, 3); got {shapes}")
        extra = extra or {}
        names = self.header.extra_columns
        if set(extra) != set(names):
            raise ValueError(f"extra columns must be exactly {list(names)}, got {sorted(extra)}")
        if n == 0:
            return
        if not np.all(np.isfinite(t)):
            raise ValueError("t must be finite")
        if not (t[0] > self._last_t and np.all(np.diff(t) > 0)):
            raise ValueError("t must increase strictly across all writes")
        table = np.empty((n, len(self.header.columns)))
        table[:, 0] = t
        table[:, 1:4] = acc
        if self.header.has_gyro:  # an accelerometer-only header has no gyro columns: gyr is not written
            table[:, 4:7] = gyr
        for i, name in enumerate(names):
            column = np.asarray(extra[name], dtype=np.float64)
            if column.shape != (n,):
                raise ValueError(f"extra column {name!r} must have shape ({n},), got {column.shape}")
            if name == "seq" and not np.all(np.isfinite(column) & (column == np.round(column))):
                raise ValueError("seq must hold whole numbers")
            table[:, len(self.header.base_columns) + i] = column
        table /= self._divisor
        text = "".join(
            (self._row_format * len(part)) % tuple(part.ravel().tolist())
            for part in np.split(table, range(_ROWS_PER_FORMAT, n, _ROWS_PER_FORMAT))
        )
        self._append(text)
        self._last_t = float(t[-1])
        self.rows_written += n

    def note(self, t: float, text: str) -> None:
        """Append an event line `# note: T TEXT` (line breaks in text become spaces)."""
        if not math.isfinite(t):
            raise ValueError("note time must be finite")
        one_line = " ".join(text.splitlines())
        self._append(f"# {NOTE_KEY}: {t:.6f} {one_line}\n")

    def _append(self, text: str) -> None:
        self._file.write(text.encode("utf-8"))
        self._file.flush()
        if time.monotonic() - self._last_sync >= self._fsync_interval_s:
            self._sync()

    def _sync(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._last_sync = time.monotonic()

    def close(self) -> None:
        if not self._file.closed:
            self._sync()
            self._file.close()

    def __enter__(self) -> SessionWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
