"""Live console sink: one line per detected step."""

from __future__ import annotations

import sys
from typing import TextIO

from imurun.blocks import SampleBlock
from imurun.core.output import EngineOutput


class StepPrinter:
    """Prints every step the engine emits (Sink protocol)."""

    def __init__(self, out: TextIO | None = None):
        self.out = out if out is not None else sys.stdout  # looked up now: stdout may be redirected

    def consume(self, block: SampleBlock, out: EngineOutput) -> None:
        for s in out.steps:
            self.out.write(
                f"step t={s['t']:8.2f} s {s['side']} {s['activity']:<4} cadence {s['cadence_spm']:5.1f} spm"
                f"  contact {1000 * s['contact_time_s']:4.0f} ms  drop {s['pelvic_drop_deg']:+5.1f} deg"
                f"  tilt {s['tilt_deg']:+5.1f} deg  bounce {s['vertical_osc_cm']:4.1f} cm\n"
            )
        self.out.flush()

    def close(self) -> None:
        self.out.flush()
