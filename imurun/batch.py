"""`imurun batch DIR_OR_GLOB --out DIR`: analyse many sessions on a local process pool or a Dask cluster.

Every session goes through `imurun.analyze.analyze` (the same engine and files as `imurun analyze`)
into OUT/<its path below DIR, without .csv>/steps.csv and summary.json. OUT/manifest.json records,
per session, the SHA-256 of its bytes (and of its trunk file), the engine version that analysed it and
its size and mtime; a session whose record matches is current and is not analysed again. Then the
cohort table (imurun/cohort.py) is written from every current summary. Docs: docs/batch.md.

A bad file never stops the batch: its one-line error goes into the failures table at the end, the
exit code is 2, and every other session is still written.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from imurun import __version__
from imurun.errors import ImurunError, InputError

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
OUTPUTS = ("steps.csv", "summary.json")
# NAME.KIND.csv files that sit next to sessions and are not sessions themselves (session-format.md),
# and the file names `imurun analyze` / `demo` write into an output folder.
OUTPUT_NAMES = ("steps.csv", "cues.csv", "cohort.csv")
# The modules whose code decides what analyze writes: a change to any of them re-analyses everything.
ENGINE_SOURCES = ("core/*.py", "session/*.py", "sources/replay.py", "sources/trunk.py", "analyze.py",
                  "pipeline.py", "blocks.py", "summary.py")
PROGRESS_EVERY_S = 0.2  # wall time between redraws of the terminal progress line
# Wall time between saves of the manifest while a batch runs (and once at its end, or when it is
# interrupted). Not after every session: each save rewrites and fsyncs the whole manifest, which
# took 60-140 ms at 200 sessions and grows with their number, while sessions finish every 0.2 s.
MANIFEST_EVERY_S = 5.0


# --- what a session is, and when its outputs are current ----------------------------------------

def engine_version() -> str:
    """imurun's version and a digest of the analysis path's source code."""
    package = Path(__file__).parent
    digest = hashlib.sha256()
    for pattern in ENGINE_SOURCES:
        for path in sorted(package.glob(pattern)):
            digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return f"{__version__}+{digest.hexdigest()[:12]}"


def is_session_name(path: Path) -> bool:
    from imurun.session.paths import is_companion

    return path.suffix == ".csv" and path.name not in OUTPUT_NAMES and not is_companion(path)


def find_sessions(source: str, out_dir: Path) -> tuple[Path, list[Path]]:
    """(root, session files): the root is the folder the sessions' keys are relative to: the folder
    given, or the part of a glob before its first wildcard. Files inside `out_dir` are never sessions."""
    if glob.has_magic(source):
        parts = Path(source).parts
        first = next(i for i, part in enumerate(parts) if glob.has_magic(part))
        root = Path(*parts[:first]) if first else Path(".")
        found: Iterable[Path] = (Path(p) for p in glob.glob(source, recursive=True))
    else:
        root = Path(source)
        if root.is_file():
            root, found = root.parent, [root]
        elif root.is_dir():
            found = root.rglob("*.csv")
        else:
            raise InputError(source, "no such file or folder")
    out = out_dir.resolve()
    sessions = [p.resolve() for p in found if p.is_file() and is_session_name(p)]
    return root.resolve(), sorted(p for p in sessions if out not in p.parents)


def input_files(session: Path) -> list[Path]:
    """The files an analysis reads: the session and, when there is one, its trunk sensor's file."""
    from imurun.session.paths import trunk_path_for

    trunk = trunk_path_for(session)
    return [session, trunk] if trunk.is_file() else [session]


def content_digest(session: Path) -> str:
    digest = hashlib.sha256()
    for path in input_files(session):
        with open(path, "rb") as f:
            digest.update(hashlib.file_digest(f, "sha256").digest())
    return digest.hexdigest()


def file_stamp(session: Path) -> list[list[int]]:
    """Size and mtime of each input file: when they are unchanged, the content is not hashed again."""
    return [[st.st_size, st.st_mtime_ns] for st in (p.stat() for p in input_files(session))]


def read_manifest(out_dir: Path) -> dict[str, Any]:
    path = out_dir / MANIFEST
    if not path.is_file():
        return {"manifest_version": MANIFEST_VERSION, "sessions": {}}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(path, f"unreadable manifest ({exc}); delete it to re-analyse all") from None
    if not isinstance(manifest, dict) or manifest.get("manifest_version") != MANIFEST_VERSION:
        raise InputError(path, f"not an imurun batch manifest version {MANIFEST_VERSION}")
    return manifest


def write_manifest(out_dir: Path, manifest: dict[str, Any], failed: dict[str, str]) -> None:
    """The manifest, with the failures of this run so far."""
    from imurun.session.truth import write_atomically

    manifest["failed"] = failed
    write_atomically(out_dir / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True) + "\n")


def output_dir(out_dir: Path, key: str) -> Path:
    return out_dir / key.removesuffix(".csv")


def is_current(entry: dict[str, Any] | None, session: Path, outputs: Path, engine: str) -> bool:
    """Outputs present, made by this engine version from these bytes. Updates the entry's stamp when
    the files were touched but their content is the same."""
    if not entry or entry.get("engine") != engine or not all((outputs / n).is_file() for n in OUTPUTS):
        return False
    stamp = file_stamp(session)
    if stamp == entry.get("stamp"):
        return True
    if content_digest(session) != entry.get("sha256"):
        return False
    entry["stamp"] = stamp
    return True


# --- the work: one session, in a worker process -------------------------------------------------

def analyze_session(session: str, outputs: str) -> dict[str, Any]:
    """Analyse one session into `outputs` (run by a pool or Dask worker): its manifest record, or
    {"error": one line}. Never raises for a bad file, nor for a bug (the batch must go on)."""
    from imurun.analyze import analyze
    from imurun.cohort import session_date

    path = Path(session)
    start = time.perf_counter()
    try:
        stamp, digest = file_stamp(path), content_digest(path)
        _, summary = analyze(path, outputs)
        date, date_source = session_date(path, summary.get("session"))
    except ImurunError as exc:
        return {"error": str(exc)}
    except OSError as exc:
        return {"error": f"{session}: cannot read: {exc.strerror or exc}"}
    except Exception as exc:  # noqa: BLE001 - one line in the failures table, not a dead batch
        first = str(exc).splitlines()[0] if str(exc) else ""
        return {"error": f"{session}: internal error: {type(exc).__name__}: {first}"}
    return {
        "sha256": digest,
        "stamp": stamp,
        "samples": int(summary["quality"]["samples"]),
        "duration_s": summary["duration_s"],
        "steps": summary["steps"],
        "date": date.isoformat(timespec="seconds"),
        "date_source": date_source,
        "seconds": time.perf_counter() - start,
        "worker_peak_rss_mb": peak_rss_mb(),
    }


def peak_rss_mb() -> float | None:
    """This process's peak resident memory so far (the worker's, in analyze_session), MB.

    On Linux the high-water mark of this process's own memory (VmHWM in /proc/self/status, proc(5)),
    not getrusage's ru_maxrss: that one carries the parent's peak over the fork and exec that start
    a worker (a worker of an 820 MB parent said 820 MB; its VmHWM 165 MB)."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmHWM:"))  # kB
    except (OSError, StopIteration):
        pass
    try:
        import resource
    except ImportError:  # Windows has no resource module
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB elsewhere


# --- where the work runs -------------------------------------------------------------------------

def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


# One thread per worker process: the workers already fill the cores, so a BLAS or numba thread pool
# in each (sized to every core by default) could only oversubscribe them. Dask's nanny sets the same.
ONE_THREAD = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def start_worker() -> None:
    """Run in each worker of the local pool or the LocalCluster before its first session. A thread
    count set by the user is kept."""
    import gc

    for name in ONE_THREAD:
        os.environ.setdefault(name, "1")  # before numpy and numba load: they read it once
    import imurun.core.engine  # noqa: F401 - numpy, scipy, numba: loaded by the first session anyway

    # The ~150k objects of those modules live as long as the worker. Frozen, they are ignored in all
    # later collections (Python docs, gc.freeze), so the collections at the worker's exit no longer
    # walk them: 0.3 s of CPU less per worker (measured).
    gc.freeze()


class LocalPool:
    """A process pool of fresh interpreters (spawn: no forked numba or thread state), like Dask's workers."""

    def __init__(self, workers: int):
        import concurrent.futures
        import multiprocessing

        self._futures = concurrent.futures
        spawn = multiprocessing.get_context("spawn")
        self._pool = concurrent.futures.ProcessPoolExecutor(workers, mp_context=spawn,
                                                            initializer=start_worker)
        self.description = f"local pool of {workers} process{'es' if workers != 1 else ''}"

    def submit(self, session: str, outputs: str) -> Any:
        return self._pool.submit(analyze_session, session, outputs)

    def as_completed(self, futures: list[Any]) -> Iterable[Any]:
        return self._futures.as_completed(futures)

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)


# Dask settings for the LocalCluster that --dask starts (a --scheduler cluster keeps its own;
# docs/batch.md says how to start its workers alike). Measured on 2 cores, 20 one-hour sessions:
LOCAL_CLUSTER_CONFIG = {
    # Dask starts its workers with MALLOC_TRIM_THRESHOLD_=65536, and setting it turns glibc's dynamic
    # mmap threshold off (mallopt(3), M_MMAP_THRESHOLD): every large array of an analysis is then
    # mapped and zero-filled afresh, +40 % CPU per session (0.56 s against 0.39 s). Unset, the
    # workers allocate like the local pool.
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    # No dashboard, so no use for the workers' statistical profiler: it samples every thread's
    # stack every 10 ms, CPU that the analyses need on a small machine.
    "distributed.worker.profile.enabled": False,
    # The event-loop health check every 20 ms in the scheduler, client, nannies and workers
    # (at 1 s the CPU Dask spends in this process about halved; the check only times how long a
    # loop was blocked).
    "distributed.admin.tick.interval": "1s",
}


class DaskPool:
    """The same work on a Dask distributed scheduler (an address, or a LocalCluster made here).

    The workers write the outputs themselves, so they must see the session and output paths as this
    machine does (a shared file system), and have the same imurun installed (docs/batch.md)."""

    def __init__(self, scheduler: str | None, workers: int):
        try:
            import dask
            import distributed
        except ImportError:
            raise ImurunError("Dask is not installed: pip install 'imurun[cluster]'") from None
        self._distributed = distributed
        self._cluster = None
        try:
            if scheduler is None:
                with dask.config.set(LOCAL_CLUSTER_CONFIG):
                    self._cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1,
                                                             dashboard_address=None)
                self.client = distributed.Client(self._cluster)
                self.client.run(start_worker)  # as the local pool's workers start
                self.description = f"Dask LocalCluster of {workers} worker{'s' if workers != 1 else ''}"
            else:
                self.client = distributed.Client(scheduler, timeout="20s")
                self.description = f"Dask scheduler {scheduler}"
        except OSError as exc:  # unreachable scheduler: distributed raises OSError after its timeout
            self.close()
            raise ImurunError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None

    def submit(self, session: str, outputs: str) -> Any:
        return self.client.submit(analyze_session, session, outputs, pure=False)

    def as_completed(self, futures: list[Any]) -> Iterable[Any]:
        return self._distributed.as_completed(futures)

    def close(self) -> None:
        if getattr(self, "client", None) is not None:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()


# --- progress on stderr --------------------------------------------------------------------------

def _clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}:{secs:02d}"


def rate_text(per_s: float) -> str:
    return f"{per_s / 1e6:.2f} M" if per_s >= 1e6 else f"{per_s / 1e3:.1f} k"


class Progress:
    """Sessions done of those to analyse, samples/s and ETA (from the bytes still to read).

    On a terminal one line is redrawn; otherwise one plain line per finished session."""

    def __init__(self, total: int, total_bytes: int, stream: TextIO, tty: bool):
        self.total, self.total_bytes = total, total_bytes
        self.stream, self.tty = stream, tty
        self.done = self.failed = self.samples = self.bytes = 0
        self._start = time.monotonic()
        self._shown = -float("inf")
        self._length = 0

    def update(self, key: str, size: int, record: dict[str, Any]) -> None:
        self.done += 1
        self.bytes += size
        self.failed += "error" in record
        self.samples += record.get("samples", 0)
        elapsed = time.monotonic() - self._start
        rate = f"{rate_text(self.samples / elapsed)} samples/s" if elapsed > 0 else "-- samples/s"
        left = self.total_bytes - self.bytes
        eta = "ETA --:--" if not self.bytes else f"ETA {_clock(elapsed * left / self.bytes)}"
        counts = f"[{self.done}/{self.total}]" + (f" {self.failed} failed" if self.failed else "")
        if not self.tty:
            what = "FAILED" if "error" in record else f"{record['samples']} samples, {record['seconds']:.1f}s"
            self.stream.write(f"batch {counts} {key}: {what}; {rate}, {eta}\n")
            self.stream.flush()
            return
        now = time.monotonic()
        if now - self._shown >= PROGRESS_EVERY_S or self.done == self.total:
            self._shown = now
            timing = eta if self.done < self.total else f"took {_clock(elapsed)}"
            text = f"batch {counts} sessions, {rate}, {timing}"
            self.stream.write("\r" + text.ljust(self._length))
            self.stream.flush()
            self._length = len(text)

    def close(self) -> None:
        if self.tty and self.done:
            self.stream.write("\n")
            self.stream.flush()


# --- the batch -----------------------------------------------------------------------------------

@dataclass
class BatchResult:
    analysed: list[str] = field(default_factory=list)
    current: list[str] = field(default_factory=list)  # skipped: outputs made from these bytes by this engine
    failed: dict[str, str] = field(default_factory=dict)  # key -> one-line error
    samples: int = 0
    seconds: float = 0.0
    where: str = ""
    cohort: list[Path] = field(default_factory=list)  # the cohort table files written
    cohort_problems: list[str] = field(default_factory=list)  # e.g. an unreadable cue log


def run_batch(
    source: str | Path,
    out_dir: Path,
    scheduler: str | None = None,
    dask: bool = False,
    workers: int | None = None,
    force: bool = False,
    stream: TextIO | None = None,
    tty: bool | None = None,
) -> BatchResult:
    """Analyse every session under `source` that is not current in `out_dir`, on a local process
    pool (default), a Dask LocalCluster (`dask`) or the Dask scheduler at `scheduler`; then write the
    manifest and the cohort table. Progress goes to `stream` (stderr)."""
    from imurun.cohort import write_cohort
    from imurun.outputs import make_folder

    out_dir = Path(out_dir)
    stream = sys.stderr if stream is None else stream
    tty = stream.isatty() if tty is None else tty
    root, sessions = find_sessions(str(source), out_dir)
    if not sessions:
        raise InputError(source, "no session files (*.csv) found")
    make_folder(out_dir)
    manifest = read_manifest(out_dir)
    records: dict[str, Any] = manifest["sessions"]
    engine = engine_version()
    result = BatchResult()
    jobs = []
    for path in sessions:
        key = path.relative_to(root).as_posix()
        if not force and is_current(records.get(key), path, output_dir(out_dir, key), engine):
            result.current.append(key)
        else:
            records.pop(key, None)  # until it is analysed again, its old outputs are not current
            jobs.append((key, path))
    start = time.perf_counter()
    if jobs:
        workers = workers or default_workers()
        pool = DaskPool(scheduler, workers) if scheduler or dask else LocalPool(workers)
        result.where = pool.description
        # Largest first: the last sessions to finish are then the short ones, and workers end together.
        jobs.sort(key=lambda job: job[1].stat().st_size, reverse=True)
        sizes = {key: path.stat().st_size for key, path in jobs}
        progress = Progress(len(jobs), sum(sizes.values()), stream, tty)
        saved = time.monotonic()
        try:
            futures = {pool.submit(str(p), str(output_dir(out_dir, key))): (key, p) for key, p in jobs}
            for future in pool.as_completed(list(futures)):
                key, path = futures[future]
                try:
                    record = future.result()
                except Exception as exc:  # noqa: BLE001 - a worker died (killed, out of memory)
                    record = {"error": f"{path}: worker failed: {type(exc).__name__}: {exc}"}
                if "error" in record:
                    result.failed[key] = record["error"]
                else:
                    records[key] = {**record, "engine": engine, "path": str(path)}
                    result.analysed.append(key)
                    result.samples += record["samples"]
                progress.update(key, sizes[key], record)
                if time.monotonic() - saved >= MANIFEST_EVERY_S:
                    write_manifest(out_dir, manifest, result.failed)
                    saved = time.monotonic()
        finally:
            write_manifest(out_dir, manifest, result.failed)  # also when interrupted: keeps what finished
            progress.close()
            pool.close()
    else:
        write_manifest(out_dir, manifest, result.failed)  # stamps of touched files may have changed
    result.seconds = time.perf_counter() - start
    result.cohort = write_cohort(out_dir, manifest, result.cohort_problems)
    return result
