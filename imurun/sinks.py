"""The sink interface: everything downstream of the engine (docs/architecture.md, the data path).

Sources never see sinks and sinks never see sources: the pipeline (imurun/pipeline.py) hands each
sink the block it fed the engine and what the engine returned for it.
"""

from __future__ import annotations

from typing import Protocol

from imurun.blocks import SampleBlock
from imurun.core.output import EngineOutput


class Sink(Protocol):
    def consume(self, block: SampleBlock, out: EngineOutput) -> None:
        """Called once per processed block, in order; at the end of a stream once more with an
        empty block and the steps the engine still owed. Must not block for long (live path)."""

    def close(self) -> None:
        """End of session: flush files, stop audio, finish drawing."""
