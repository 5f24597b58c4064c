"""The one loop every mode runs: blocks from a source through the Engine into the sinks."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence

from imurun.blocks import SampleBlock
from imurun.core.output import Status
from imurun.sinks import Sink


def run_pipeline(
    blocks: Iterable[SampleBlock],
    engine,
    sinks: Sequence[Sink],
    trunk_blocks: Iterable[SampleBlock] | None = None,
) -> Status:
    """Feed `blocks` to `engine` in order and hand each sink (block, output); return the last status.

    `trunk_blocks`, when given, must be on the pelvis blocks' timestamps, block for block. Every
    sink is closed at the end, also when a source, the engine or a sink raises or on Ctrl-C, so
    that files are flushed and audio stops.
    """
    with contextlib.ExitStack() as closing:
        for sink in reversed(sinks):  # ExitStack closes last-in first: this closes in given order
            closing.callback(sink.close)
        status = engine.status()
        if trunk_blocks is None:
            pairs = ((b, None) for b in blocks)
        else:
            pairs = zip(blocks, trunk_blocks, strict=True)
        for block, trunk in pairs:
            if len(block) == 0:  # the engine takes n >= 1; a source may deliver an empty read
                continue
            if trunk is None:
                out = engine.process(block.t, block.acc, block.gyr)
            else:
                out = engine.process(block.t, block.acc, block.gyr, trunk_acc=trunk.acc, trunk_gyr=trunk.gyr)
            for sink in sinks:
                sink.consume(block, out)
            status = out.status
        out = engine.finish()  # the last step of the last bout, and any held for the alignment
        if len(out.steps):
            for sink in sinks:
                sink.consume(SampleBlock.empty(), out)
        status = out.status
    return status
