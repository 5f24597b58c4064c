"""The one pipeline every mode runs: blocks from a source through one Engine into the sinks.

`analyze`, `replay`, the demo, the replay window, screenshots and live runs all build a `Pipeline`
and feed it SampleBlocks (the trunk sensor's samples ride in the block, imurun.sources.trunk);
`close()` ends the stream. The engine is made here, by `make_engine`, for every mode.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from imurun.blocks import SampleBlock
from imurun.core.output import EngineOutput, Status
from imurun.errors import InputError
from imurun.sinks import Sink

if TYPE_CHECKING:
    from imurun.core.engine import Engine


def make_engine(rate_hz: float, signals: bool = False, source: str | Path | None = None) -> Engine:
    """An Engine at `rate_hz`; `signals`: it also emits the per-sample traces (the dashboard).
    A rate the engine refuses is an InputError naming `source` (the session file) when given."""
    from imurun.core.engine import Engine

    try:
        return Engine(sample_rate_hz=rate_hz, emit_signals=signals)
    except ValueError as exc:
        if source is None:
            raise
        raise InputError(source, f"sample_rate_hz {rate_hz:g}: {exc}") from None


def engine_for(path: str | Path, signals: bool = False) -> Engine:
    """An Engine at the session file's nominal sample rate."""
    from imurun.session.reader import read_header

    return make_engine(read_header(path).sample_rate_hz, signals, source=path)


def run_session(
    path: str | Path, sinks: Iterable[Sink], block_s: float = 0.05, speed: float = math.inf
) -> Status:
    """Replay a session file (its trunk file too) through a Pipeline into `sinks`; the last status."""
    from imurun.sources.replay import replay_blocks

    return Pipeline(engine_for(path), sinks).run(replay_blocks(path, block_s, speed))


def check_order(sinks: Sequence[Sink]) -> None:
    """Refuse an order that breaks what a sink declares: `after` (the sinks whose work on a block it
    reads, e.g. the cues the coach just gave) must be in place before it, `before` (the sinks that
    must see its work first) may only follow it."""
    place = {id(s): k for k, s in enumerate(sinks)}
    for k, sink in enumerate(sinks):
        for other in getattr(sink, "after", ()):
            if place.get(id(other), k) >= k:
                raise ValueError(f"{type(sink).__name__} must come after the {type(other).__name__}")
        for other in getattr(sink, "before", ()):
            if place.get(id(other), len(sinks)) <= k:
                raise ValueError(f"{type(sink).__name__} must come before the {type(other).__name__}")


def close_sinks(sinks: Sequence[Sink]) -> None:
    """Close every sink in order, each one even when one before it raised (raised once all are closed)."""
    with contextlib.ExitStack() as closing:
        for sink in reversed(sinks):  # ExitStack closes last-in first: this closes in order
            closing.callback(sink.close)


class Pipeline:
    """Owns one Engine and the sinks; `feed` each block in time order, then `close` once.

    Each block's output reaches the sinks in the order they were added, checked against the order
    the sinks declare (`check_order`).
    """

    def __init__(self, engine: Engine, sinks: Iterable[Sink] = ()):
        self.engine = engine
        self.sinks: list[Sink] = []
        for sink in sinks:
            self.add(sink)
        self.status: Status = engine.status()
        self._closed = False

    def add(self, sink: Sink) -> Sink:
        """Append `sink` (ValueError where that breaks a declared order)."""
        check_order([*self.sinks, sink])
        self.sinks.append(sink)
        return sink

    def feed(self, block: SampleBlock) -> EngineOutput | None:
        """Process one block and hand (block, output) to every sink; None for an empty block."""
        if len(block) == 0:  # the engine takes n >= 1; a source may deliver an empty read
            return None
        out = self.engine.process(block.t, block.acc, block.gyr, trunk_acc=block.trunk_acc,
                                  trunk_gyr=block.trunk_gyr)
        for sink in self.sinks:
            sink.consume(block, out)
        self.status = out.status
        return out

    def close(self, finish: bool = True) -> Status:
        """End of the stream: with `finish`, the steps the engine still owes (the last step of the
        last bout, any held for the alignment) go to the sinks; then every sink is closed, in
        order, even when one of them raises, so that files are flushed and audio stops."""
        if self._closed:
            return self.status
        self._closed = True
        with contextlib.ExitStack() as closing:
            closing.callback(close_sinks, self.sinks)
            if finish:
                out = self.engine.finish()
                if len(out.steps):
                    for sink in self.sinks:
                        sink.consume(SampleBlock.empty(), out)
                self.status = out.status
        return self.status

    def run(self, blocks: Iterable[SampleBlock]) -> Status:
        """Feed every block, then close; on an error or Ctrl-C the sinks are closed all the same."""
        try:
            for block in blocks:
                self.feed(block)
        except BaseException:
            self.close(finish=False)
            raise
        return self.close()
