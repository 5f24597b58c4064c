"""`imurun run --calibrate`: a guided standing calibration at the start of a live run.

The engine takes the standing baseline (the zero of pelvic tilt and obliquity, so of pelvic drop)
by itself, from the first still period of `EngineConfig.standing_s`. A live run streams at once,
so the runner does not know to stand still, nor whether it worked: this sink tells them. It only
reads the engine's status and says what happened; the engine and the recording carry on either
way.

- First block: "Stand tall and still for calibration."
- `status.calibration == "standing"`: "Calibrated. Off you go."
- The engine falls back to the gait baseline first (`calibration == "gait"`, after ~3 s of gait,
  or any step delivered without a standing baseline): "Calibration missed ...", once. A few
  steps into position and then standing still is not missed. A standing period later in the run
  still calibrates (the engine's rule), and is then said.
- Recalibrate mid-run (the dashboard's button: the engine flags `calibration` until it has a new
  baseline): the prompt again, then "Calibrated" once it is taken; never "missed", since the old
  baseline stays in use meanwhile.

No cue can come first: the engine holds steps back until a baseline exists (one emitted earlier
counts as a miss), the coach only coaches steps (and waits `quiet_start_s` of running), and this
sink comes before the coach in the pipeline (its `before`). Phrases go through the coach's outputs, one voice
with its cues (CoachSink.speak).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from imurun.blocks import SampleBlock
from imurun.coach.profile import Wording
from imurun.coach.sink import console_line
from imurun.core.output import EngineOutput

if TYPE_CHECKING:
    from imurun.coach.sink import CoachSink
    from imurun.ui.feed import DashboardFeed

WAITING = "calibrating: stand still"  # the dashboard status bar's state while waiting


def _print(line: str) -> None:
    print(line, flush=True)


class CalibrationGuide:
    """A sink (imurun/sinks.py): prompts, then says whether the standing baseline was taken.

    `stage`: "start" -> "waiting" -> "calibrated", or "missed" (-> "calibrated" when the runner
    stands still later). `said` holds (session time, text) of everything it said.
    """

    def __init__(
        self,
        wording: Wording,
        coach: CoachSink | None = None,
        feed: DashboardFeed | None = None,
        console: Callable[[str], None] = _print,
    ):
        self.wording = wording
        self.coach = coach
        # calibration is said before any cue of the same block (imurun.pipeline checks the order)
        self.before = (coach,) if coach is not None else ()
        self.feed = feed
        self.console = console
        self.stage = "start"
        self.recalibrating = False
        self.said: list[tuple[float, str]] = []
        if coach is not None:
            coach.prepare([wording.calibrate, wording.calibrated, wording.calibration_missed])

    def consume(self, block: SampleBlock, out: EngineOutput) -> None:
        t = float(block.t[-1]) if len(block) else out.status.t
        status, w = out.status, self.wording
        asked = "calibration" in status.flags  # Engine.recalibrate(): waiting for a new baseline
        moved = status.calibration == "gait" or len(out.steps) > 0
        if self.stage == "start" or (asked and not self.recalibrating):
            self.stage = "waiting"
            self.recalibrating = asked
            self._say(t, w.calibrate, "waiting for the runner to stand still", WAITING)
        if status.calibration == "standing" and not asked and self.stage in ("waiting", "missed"):
            why = "standing baseline taken" + (", replacing the gait's" if self.stage == "missed" else "")
            self.stage = "calibrated"
            self.recalibrating = False
            self._say(t, w.calibrated, why, "")
        elif self.stage == "waiting" and not self.recalibrating and moved:
            self.stage = "missed"
            low = status.flags.get("pelvic_drop_deg", "no standing calibration")
            self._say(t, w.calibration_missed, f"moved off before standing still; {low}; "
                      "standing still later calibrates", "")

    def _say(self, t: float, text: str, why: str, state: str) -> None:
        self.said.append((t, text))
        self.console(console_line(t, text, f"calibration: {why}"))
        if self.coach is not None:
            self.coach.speak(t, text)
        if self.feed is not None:
            self.feed.add_cue(t, text, reason=f"calibration: {why}")
            self.feed.set_info(state=state)

    def close(self) -> None:
        """Nothing held: the coach closes its outputs itself."""
