"""`imurun analyze`: run a whole session through the engine; write DIR/steps.csv and DIR/summary.json.

Same Engine, same source and same pipeline as `imurun replay`, only in large blocks and without
waiting for the wall clock; the engine is block-size invariant, so the steps are the same.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from imurun.errors import InputError

BLOCK_S = 60.0  # session time per block: large enough that Python overhead does not matter
PROGRESS_EVERY_S = 0.1  # wall time between progress updates


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="session CSV (a NAME.trunk.csv next to it is used too)")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for steps.csv and summary.json")
    parser.add_argument(
        "--progress", action="store_true", help="show progress on stderr (default: only on a TTY)"
    )


class StepCollector:
    """Sink that keeps every step row the engine emits."""

    def __init__(self):
        self._parts = []

    def consume(self, block, out) -> None:
        if len(out.steps):
            self._parts.append(out.steps)

    def close(self) -> None:
        pass

    @property
    def steps(self):
        import numpy as np

        from imurun.core.output import empty_steps

        return np.concatenate(self._parts) if self._parts else empty_steps()


class ProgressLine:
    """Sink that rewrites one stderr line: session time done, steps, speed; at most 10 times a second."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream if stream is not None else sys.stderr
        self._start = time.monotonic()
        self._shown = -float("inf")
        self._status = None

    def consume(self, block, out) -> None:
        self._status = out.status
        now = time.monotonic()
        if now - self._shown >= PROGRESS_EVERY_S:
            self._shown = now
            self._show(now)

    def _show(self, now: float) -> None:
        st = self._status
        speed = st.t / max(now - self._start, 1e-9)
        self.stream.write(f"\ranalyze: {st.t:8.1f} s of session, {st.steps} steps, {speed:.0f}x real time")
        self.stream.flush()

    def close(self) -> None:
        if self._status is not None:
            self._show(time.monotonic())  # the final numbers, whatever the throttle skipped
            self.stream.write("\n")
            self.stream.flush()


def engine_for(path: str | Path):
    """An Engine at the session's nominal sample rate."""
    from imurun.core.engine import Engine
    from imurun.session.reader import read_header

    rate = read_header(path).sample_rate_hz
    try:
        return Engine(sample_rate_hz=rate)
    except ValueError as exc:
        raise InputError(path, f"sample_rate_hz {rate:g}: {exc}") from None


def analyze(path: str | Path, out_dir: str | Path | None = None, progress: bool = False) -> tuple[Any, dict]:
    """(steps, summary) of a session; with `out_dir`, also written as steps.csv and summary.json."""
    import math

    from imurun.pipeline import run_pipeline
    from imurun.session.reader import read_header
    from imurun.sources.replay import replay_streams
    from imurun.summary import summarize

    header = read_header(path)
    engine = engine_for(path)
    collector = StepCollector()
    sinks = [collector, ProgressLine()] if progress else [collector]
    blocks, trunk = replay_streams(path, block_s=BLOCK_S, speed=math.inf)
    status = run_pipeline(blocks, engine, sinks, trunk_blocks=trunk)
    steps = collector.steps
    summary = summarize(steps, status, status.t, header)
    if out_dir is not None:  # only now: bad input must not leave an empty folder behind
        make_folder(Path(out_dir))
        write_outputs(Path(out_dir), steps, summary)
    return steps, summary


def make_folder(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InputError(out_dir, "exists and is not a folder") from None
    except OSError as exc:
        raise InputError(out_dir, f"cannot create: {exc.strerror or exc}") from None


def write_outputs(out_dir: Path, steps, summary: dict) -> None:
    """Each file appears complete or not at all (temporary file renamed into place)."""
    import json

    from imurun.session.truth import _write_atomically, write_steps_csv

    text = json.dumps(summary, indent=2, allow_nan=False) + "\n"  # a bad summary fails before any write
    try:
        write_steps_csv(out_dir / "steps.csv", steps)
        _write_atomically(out_dir / "summary.json", text)
    except OSError as exc:
        raise InputError(out_dir, f"cannot write: {exc.strerror or exc}") from None


def main(args: argparse.Namespace) -> int:
    steps, summary = analyze(args.file, args.out, progress=args.progress or sys.stderr.isatty())
    out = Path(args.out)
    print(
        f"analyze: {summary['duration_s']:.1f} s, {summary['steps']} steps -> "
        f"{out / 'steps.csv'}, {out / 'summary.json'}"
    )
    return 0
