"""The one exception type that the CLI turns into a one-line message and exit code 2."""

from __future__ import annotations


class ImurunError(Exception):
    """Bad input or an unusable environment: a clear one-line message, never a traceback."""

    exit_code = 2


def line_of(data: bytes, offset: int) -> int:
    """1-based line number of byte `offset` in `data` (where a UnicodeDecodeError points)."""
    return data.count(b"\n", 0, offset) + 1


class InputError(ImurunError):
    """A problem in a file, located by path and (when known) 1-based line number."""

    def __init__(self, path: object, message: str, line: int | None = None):
        self.path = str(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")
