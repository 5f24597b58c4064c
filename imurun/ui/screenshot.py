"""Dashboard screenshots without a display: run a session through the engine up to a time, save a PNG.

The session goes through the same Engine, coach and DashboardFeed as a live run, synchronously
(no pacing, no thread), so a screenshot shows exactly what the window showed at that moment.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from imurun.blocks import SampleBlock
from imurun.ui.feed import DashboardFeed


def feed_until(
    blocks: Iterable[SampleBlock], sample_rate_hz: float, at_s: float, feed: DashboardFeed,
    coach: bool = True, profile=None,
) -> DashboardFeed:
    """Process samples with t <= at_s into `feed` (with the coach's cues and targets unless coach=False)."""
    from imurun.coach.profile import RunnerProfile
    from imurun.coach.sink import CoachSink
    from imurun.core.engine import Engine
    from imurun.ui.coach_link import CoachLink

    engine = Engine(sample_rate_hz=sample_rate_hz, emit_signals=True)
    sinks: list = [feed]
    if coach:
        coach_sink = CoachSink(profile or RunnerProfile(), outputs=(), console=None)
        sinks += [coach_sink, CoachLink(coach_sink, feed)]
    for block in blocks:
        if block.t[0] > at_s:
            break
        if block.t[-1] > at_s:
            keep = int(np.searchsorted(block.t, at_s, side="right"))
            block = SampleBlock(block.t[:keep], block.acc[:keep], block.gyr[:keep])
        out = engine.process(block.t, block.acc, block.gyr)
        for sink in sinks:
            sink.consume(block, out)
    for sink in sinks:
        sink.close()
    return feed


def save_dashboard_png(
    feed: DashboardFeed, out_png: str | Path, theme: str = "dark", size: tuple[int, int] = (1600, 900),
    view: str = "full",
) -> None:
    """Draw `feed` in an offscreen window of `size` pixels and save it as PNG."""
    from imurun.ui.qt import qt_app

    app = qt_app(offscreen=True)
    from imurun.ui.dashboard import Dashboard

    window = Dashboard(feed, theme=theme, view=view)
    try:
        window.resize(*size)
        window.show()
        app.processEvents()
        window.refresh(force=True)
        app.processEvents()
        window.save_png(str(out_png))
    finally:
        window.close()
        window.deleteLater()
        app.processEvents()
