"""Opening the dashboard window: on a replay (with its controls) or on a live run's feed.

Qt owns the main thread; the engine runs elsewhere (the Player thread for replays, the BLE thread
for live runs) and hands its output over through a DashboardFeed. docs/dashboard.md explains why.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from imurun.coach.sink import CoachSink
from imurun.errors import ImurunError
from imurun.sinks import Sink
from imurun.ui.coach_link import CoachLink
from imurun.ui.feed import DashboardFeed
from imurun.ui.qt import has_display, qt_app

WINDOW_SIZE = (1600, 900)


def require_display() -> None:
    """The window needs a screen; headless callers fall back to the console (imurun demo)."""
    import os

    if not has_display() and not os.environ.get("QT_QPA_PLATFORM"):
        raise ImurunError("no display for the dashboard (DISPLAY / WAYLAND_DISPLAY unset); run without it")


def open_replay_window(
    path: str | Path,
    speed: float = 1.0,
    theme: str = "dark",
    sinks: Sequence[Sink] = (),
    coach: CoachSink | None = None,
    info: dict[str, object] | None = None,
):
    """(window, player) for a replay of `path`, both started. The caller runs the Qt loop.

    `info`: SessionInfo fields for the status bar (sensor=, profile=, battery_pct=, ...)."""
    from imurun.ui import recording
    from imurun.ui.controls import ReplayControls
    from imurun.ui.dashboard import Dashboard
    from imurun.ui.player import Player

    recording.engine_with_signals(path)  # a bad header is an error now, not in the thread
    feed = DashboardFeed()
    feed.set_info(**({"recording": Path(path).name} | (info or {})))
    all_sinks = list(sinks)
    if coach is not None:
        all_sinks += [coach, CoachLink(coach, feed)]
    player = Player(lambda: recording.blocks(path), lambda: recording.engine_with_signals(path), feed,
                    all_sinks, speed=speed)
    controls = ReplayControls(player, recording.duration_s(path))
    window = Dashboard(feed, theme=theme, controls=controls)
    window.resize(*WINDOW_SIZE)
    window.show()
    window.start()
    player.set_speed(speed)  # shows the speed in the status bar
    player.start()
    return window, player


def exec_until_closed(app) -> None:
    """Run the Qt loop; Ctrl-C closes the window like the close button (Qt alone would ignore it)."""
    import signal

    from PySide6.QtCore import QTimer

    previous = signal.signal(signal.SIGINT, lambda *_: app.quit())
    wake = QTimer()
    wake.timeout.connect(lambda: None)  # lets the interpreter run its signal handlers
    wake.start(200)
    try:
        app.exec()
    finally:
        wake.stop()
        signal.signal(signal.SIGINT, previous)


def run_replay_dashboard(
    path: str | Path,
    speed: float = 1.0,
    theme: str = "dark",
    sinks: Sequence[Sink] = (),
    coach: CoachSink | None = None,
    info: dict[str, object] | None = None,
) -> int:
    """Replay `path` in the dashboard until the window is closed; the sinks see every block once.

    `coach` (optional) is driven like the other sinks and its cues and targets are shown. Errors
    from the session (bad line, ...) are raised after the window closes, for the CLI's one line.
    """
    require_display()
    app = qt_app()
    window, player = open_replay_window(path, speed, theme, sinks, coach, info)
    try:
        exec_until_closed(app)
    finally:
        window.stop()
        player.stop()
        player.join()
    if player.error is not None:
        raise player.error
    return 0


def run_live_dashboard(
    feed: DashboardFeed,
    theme: str = "dark",
    on_close: Callable[[], None] | None = None,
    done: Callable[[], bool] | None = None,
    on_recalibrate: Callable[[], None] | None = None,
) -> int:
    """Show `feed` (filled by a live run's engine thread) until the window is closed.

    Call from the main thread; start the BLE/engine thread first and make `on_close` stop it.
    `done` is polled 5 times a second; when it returns True (the run ended by itself) the window
    closes, since only the Qt thread may close it. `on_recalibrate` (thread-safe) backs the
    window's Recalibrate button.
    """
    require_display()
    app = qt_app()
    from PySide6.QtCore import QTimer

    from imurun.ui.dashboard import Dashboard

    window = Dashboard(feed, theme=theme, on_recalibrate=on_recalibrate)
    window.resize(*WINDOW_SIZE)
    window.show()
    window.start()
    watch = QTimer()
    if done is not None:
        watch.timeout.connect(lambda: done() and window.close())
        watch.start(200)
    try:
        exec_until_closed(app)
    finally:
        watch.stop()
        window.stop()
        if on_close is not None:
            on_close()
    return 0
