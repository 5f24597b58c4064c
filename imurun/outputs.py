"""Output files that appear complete or not at all, and never write through a link at their path.

Every command that writes a result (analyze, report, replay's cue log and WAV, demo, simulate) goes
through `Outputs`: each file is written to a fresh temporary file in its target's folder, and only
when all of them are complete are they fsynced and renamed over their targets (os.replace). A
failure or an interrupt before that removes the temporary files and leaves the old outputs as they
were. os.replace swaps the directory entry itself: a symlink at a target path is replaced by the new
file and whatever it pointed to is untouched, so a session folder received from someone else cannot
make a command overwrite another file.

Appending writers (a live recording, its cue log, a WAV rendered as a replay goes) open their file
with `open_fresh`, which also never writes through a link.

Files written together (steps.csv with summary.json, a session with its truth file) are renamed
one right after the other once all are written, so they are replaced as a pair: a failure while
writing leaves the old pair, never a new file next to an old one.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from imurun.errors import InputError


class Outputs:
    """`with Outputs() as out: write(out.path(final), ...)`: all renamed into place at a clean exit.

    `path(final)` creates and returns the temporary file that stands in for `final` (created with
    O_EXCL, so it is a new regular file, never a link; mode 0666 for the umask to apply, as for any
    new file). Writers open that path and write it as they would the final one.
    """

    def __init__(self) -> None:
        self._pending: list[tuple[Path, Path]] = []  # (temporary, final), in commit order

    def path(self, final: str | Path) -> Path:
        final = Path(final)
        if final.is_dir() and not final.is_symlink():
            raise InputError(final, "is a folder; expected a file name")
        tmp = final.with_name(f".{final.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileNotFoundError:
            raise InputError(final, "cannot write: its folder does not exist") from None
        except OSError as exc:
            raise InputError(final, f"cannot write: {exc.strerror or exc}") from None
        self._pending.append((tmp, final))
        return tmp

    def write(self, final: str | Path, data: str | bytes) -> None:
        """The whole content of `final` at once (text as UTF-8)."""
        payload = data.encode("utf-8") if isinstance(data, str) else data
        try:
            self.path(final).write_bytes(payload)
        except OSError as exc:
            raise InputError(final, f"cannot write: {exc.strerror or exc}") from None

    def commit(self) -> None:
        """fsync every file, then rename each over its target (in the order they were asked for)."""
        where: Path | None = None
        try:
            for tmp, final in self._pending:  # all data on disk before any rename exposes it
                where = final
                fd = os.open(tmp, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            for tmp, where in self._pending:
                os.replace(tmp, where)
        except OSError as exc:
            self.abort()
            raise InputError(where, f"cannot write: {exc.strerror or exc}") from None
        self._pending.clear()

    def abort(self) -> None:
        """Remove the temporary files; the targets stay as they were."""
        for tmp, _ in self._pending:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
        self._pending.clear()

    def __enter__(self) -> Outputs:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


def open_fresh(path: str | Path, mode: str = "wb") -> IO[Any]:
    """Open `path` to write it from scratch, for the writers that must append as they go (a live
    recording and its cue log survive a crash) and so cannot use Outputs: a symlink at `path` is
    removed first, its target untouched; O_NOFOLLOW refuses one put there in between (OSError)."""
    path = Path(path)
    if path.is_symlink():
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o666)
    if "b" in mode:
        return os.fdopen(fd, mode)
    return os.fdopen(fd, mode, encoding="utf-8", newline="")


def make_folder(folder: str | Path) -> None:
    """Create `folder` (and its parents) unless it exists; a clean error if that cannot be."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InputError(folder, "exists and is not a folder") from None
    except OSError as exc:
        raise InputError(folder, f"cannot create: {exc.strerror or exc}") from None


def write_atomically(path: str | Path, data: str | bytes) -> None:
    """Write one file (text as UTF-8) so that readers see the old file or the whole new one."""
    with Outputs() as out:
        out.write(path, data)
