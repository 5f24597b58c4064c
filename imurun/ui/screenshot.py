"""Dashboard screenshots without a display: run a session through the engine up to a time, save a PNG.

The session goes through the same Engine, coach and DashboardFeed as a live run, synchronously
(no pacing, no thread), so a screenshot shows exactly what the window showed at that moment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from imurun.blocks import SampleBlock
from imurun.coach.profile import RunnerProfile
from imurun.coach.sink import CoachSink
from imurun.ui.coach_link import CoachLink
from imurun.ui.feed import DashboardFeed


def feed_until(
    open_streams: Callable[[], tuple[Iterable[SampleBlock], Iterable[SampleBlock] | None]],
    engine,
    at_s: float,
    feed: DashboardFeed,
    profile: RunnerProfile | None = None,
) -> DashboardFeed:
    """Process the samples with t <= at_s into `feed`, with a (silent) coach giving its cues."""
    coach = CoachSink(profile or RunnerProfile(), outputs=(), console=None)
    sinks = [feed, coach, CoachLink(coach, feed)]
    blocks, trunks = open_streams()
    pairs = ((b, None) for b in blocks) if trunks is None else zip(blocks, trunks, strict=True)
    for block, trunk in pairs:
        if not len(block) or block.t[0] > at_s:
            break
        keep = int(np.searchsorted(block.t, at_s, side="right"))
        block = _head(block, keep)
        if trunk is None:
            out = engine.process(block.t, block.acc, block.gyr)
        else:
            trunk = _head(trunk, keep)
            out = engine.process(block.t, block.acc, block.gyr, trunk_acc=trunk.acc, trunk_gyr=trunk.gyr)
        for sink in sinks:
            sink.consume(block, out)
    for sink in sinks:
        sink.close()
    return feed


def _head(block: SampleBlock, n: int) -> SampleBlock:
    return block if n >= len(block) else SampleBlock(block.t[:n], block.acc[:n], block.gyr[:n])


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
    feed_until(lambda: recording.streams(path), recording.engine_with_signals(path), at_s, feed)
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
