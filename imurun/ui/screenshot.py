"""Dashboard screenshots without a display: run a session through the engine up to a time, save a PNG.

The session goes through the same Engine, coach and DashboardFeed as a live run, synchronously
(no pacing, no thread), so a screenshot shows exactly what the window showed at that moment.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from imurun.blocks import SampleBlock
from imurun.coach.profile import RunnerProfile
from imurun.coach.sink import CoachSink
from imurun.pipeline import Pipeline
from imurun.ui.coach_link import CoachLink
from imurun.ui.feed import DashboardFeed


def feed_until(
    blocks: Iterable[SampleBlock],
    engine,
    at_s: float,
    feed: DashboardFeed,
    profile: RunnerProfile | None = None,
) -> DashboardFeed:
    """Process the samples with t <= at_s into `feed`, with a (silent) coach giving its cues."""
    coach = CoachSink(profile or RunnerProfile(), outputs=(), console=None)
    pipeline = Pipeline(engine, [feed, coach, CoachLink(coach, feed)])
    for block in blocks:
        if not len(block) or block.t[0] > at_s:
            break
        pipeline.feed(block.rows(0, int(np.searchsorted(block.t, at_s, side="right"))))
    pipeline.close(finish=False)  # the window at at_s has not seen the end of the stream
    return feed


def render_screenshot(
    path: str | Path,
    at_s: float,
    out_png: str | Path,
    theme: str = "dark",
    size: tuple[int, int] = (1600, 900),
    view: str = "full",
) -> None:
    """Run the session at `path` through the engine and coach up to `at_s` and save the dashboard."""
    from imurun.ui import recording

    feed = DashboardFeed()
    feed.set_info(recording=Path(path).name, state=f"screenshot at {at_s:g} s")
    feed_until(recording.blocks(path), recording.engine_with_signals(path), at_s, feed)
    save_dashboard_png(feed, out_png, theme=theme, size=size, view=view)


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
