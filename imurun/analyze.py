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
        "--progress", action="store_true",
        help="show a progress bar with ETA on stderr (default: only when stderr is a terminal)",
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


class ProgressBar:
    """Sink that redraws one stderr line: bar, percent of the file's rows, session time, steps, ETA.

    Rows, not bytes: the reader does not tell how far into the file it is, so the total is counted
    beforehand (count_rows). Redrawn at most 10 times a second, and once more at close.
    """

    WIDTH = 30  # characters of the bar itself

    def __init__(self, total_rows: int, stream: TextIO | None = None, label: str = "analyze"):
        self.total_rows = total_rows
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self._start = time.monotonic()
        self._shown = -float("inf")
        self._rows = 0
        self._status = None
        self._length = 0  # of the last line drawn: a shorter one is padded to cover it

    def consume(self, block, out) -> None:
        self._rows += len(block)
        self._status = out.status
        now = time.monotonic()
        if now - self._shown >= PROGRESS_EVERY_S:
            self._shown = now
            self._show(now)

    def _show(self, now: float) -> None:
        done = min(self._rows / self.total_rows, 1.0) if self.total_rows > 0 else 1.0
        elapsed = now - self._start
        filled = round(done * self.WIDTH)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        if done >= 1.0:
            timing = f"took {_clock(elapsed)}"
        elif done > 0:
            timing = f"ETA {_clock(elapsed * (1.0 - done) / done)}"
        else:
            timing = "ETA --:--"
        st = self._status
        text = f"{self.label} [{bar}] {int(done * 100):3d} %  {st.t:.0f} s of session, {st.steps} steps, "
        text += timing
        self.stream.write("\r" + text.ljust(self._length))
        self.stream.flush()
        self._length = len(text)

    def close(self) -> None:
        if self._status is not None:
            self._show(time.monotonic())  # the final numbers, whatever the throttle skipped
            self.stream.write("\n")
            self.stream.flush()


def _clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}:{secs:02d}"


def count_rows(path: str | Path) -> int:
    """Data rows of a valid session file: its lines minus the '#' lines and the column row.

    One pass over the bytes at memory speed (no parsing); a truncated last line is not counted.
    Another app's export (docs/import.md) counts the samples it imports as.
    """
    from imurun.session.reader import imported_export

    imported = imported_export(path)
    if imported is not None:
        return len(imported.block)
    lines = comments = 0
    before = b"\n"  # the byte before each read: a '#' after a newline starts a comment line
    try:
        with open(path, "rb") as f:
            while data := f.read(1 << 20):
                lines += data.count(b"\n")
                comments += (before + data).count(b"\n#")
                before = data[-1:]
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    return max(lines - comments - 1, 0)


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
    from imurun.session.plausibility import check_session
    from imurun.session.reader import read_header
    from imurun.sources.replay import replay_streams
    from imurun.summary import SessionSpan, summarize

    header = read_header(path)
    warnings = check_session(path)
    engine = engine_for(path)
    collector, span = StepCollector(), SessionSpan()
    sinks = [collector, span, ProgressBar(count_rows(path))] if progress else [collector, span]
    blocks, trunk = replay_streams(path, block_s=BLOCK_S, speed=math.inf)
    status = run_pipeline(blocks, engine, sinks, trunk_blocks=trunk)
    steps = collector.steps
    summary = summarize(steps, status, span.duration_s, header, start_s=span.start_s or 0.0,
                        minutes=span.minutes, warnings=warnings)
    if out_dir is not None:  # only now: bad input must not leave an empty folder behind
        from imurun.outputs import make_folder

        make_folder(Path(out_dir))
        write_outputs(Path(out_dir), steps, summary)
    return steps, summary


def write_outputs(out_dir: Path, steps, summary: dict) -> None:
    """steps.csv and summary.json, replaced as a pair once both are written (imurun.outputs)."""
    import json

    from imurun.outputs import Outputs
    from imurun.session.truth import steps_csv_text

    text = json.dumps(summary, indent=2, allow_nan=False) + "\n"  # a bad summary fails before any write
    with Outputs() as out:
        out.write(out_dir / "steps.csv", steps_csv_text(steps))
        out.write(out_dir / "summary.json", text)


def main(args: argparse.Namespace) -> int:
    steps, summary = analyze(args.file, args.out, progress=args.progress or sys.stderr.isatty())
    out = Path(args.out)
    print(
        f"analyze: {summary['duration_s']:.1f} s, {summary['steps']} steps -> "
        f"{out / 'steps.csv'}, {out / 'summary.json'}"
    )
    return 0
