"""CoachLink: shows a CoachSink's cues and targets on the dashboard (a Sink placed after the coach)."""

from __future__ import annotations

from imurun.blocks import SampleBlock
from imurun.coach.response import response_text
from imurun.coach.rules import cadence_target
from imurun.coach.sink import CoachSink
from imurun.core.output import EngineOutput
from imurun.ui.feed import DashboardFeed, Targets


class CoachLink:
    def __init__(self, coach: CoachSink, feed: DashboardFeed):
        self.after = (coach,)  # shows the cues the coach gave for the same block (imurun.pipeline)
        self._coach = coach
        self._feed = feed
        self._given = 0  # cues of coach.cues already forwarded
        self._responded = 0  # responses of coach.responded already forwarded

    def consume(self, block: SampleBlock, out: EngineOutput) -> None:
        cues = self._coach.cues
        for cue in cues[self._given :]:
            self._feed.add_cue(cue.t, cue.text, cue.side, cue.reason)
        self._given = len(cues)
        profile = self._coach.profile
        for index in self._coach.responded[self._responded :]:
            text = response_text(cues[index], profile)
            if text:
                self._feed.add_response(cues[index].t, text)
        self._responded = len(self._coach.responded)
        self._feed.set_targets(
            Targets(
                cadence_spm=cadence_target(self._coach.state, profile),
                cadence_tolerance_pct=profile.cadence.tolerance_pct,
                pelvic_drop_deg=profile.thresholds.pelvic_drop_deg,
                trunk_lean_min_deg=profile.thresholds.trunk_lean_min_deg,
            )
        )

    def close(self) -> None:
        """The coach closes itself; nothing is held here."""
