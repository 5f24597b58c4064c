"""A whole session through the engine: its steps and summary, written as DIR/steps.csv and
DIR/summary.json (`imurun analyze`; batch, export, validate and the report build on it).

Same Engine, same source and same pipeline as `imurun replay`, only in large blocks and without
waiting for the wall clock; the engine is block-size invariant, so the steps are the same.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from imurun.errors import InputError

BLOCK_S = 60.0  # session time per block: large enough that Python overhead does not matter


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


def analyze(path: str | Path, out_dir: str | Path | None = None, progress: bool = False) -> tuple[Any, dict]:
    """(steps, summary) of a session; with `out_dir`, also written as steps.csv and summary.json."""
    import math

    from imurun.console import ProgressBar
    from imurun.pipeline import Pipeline, engine_for
    from imurun.session.plausibility import check_session
    from imurun.session.reader import read_header
    from imurun.sources.replay import replay_blocks
    from imurun.summary import SessionSpan, summarize

    header = read_header(path)
    warnings = check_session(path)
    collector, span = StepCollector(), SessionSpan()
    pipeline = Pipeline(engine_for(path), [collector, span])
    if progress:
        pipeline.add(ProgressBar(count_rows(path)))
    status = pipeline.run(replay_blocks(path, block_s=BLOCK_S, speed=math.inf))
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
