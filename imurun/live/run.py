"""`imurun run`'s app: a live run with one sensor (plus an optional trunk sensor) over BLE.

The BLE source (imurun/ble/source.py) finds the sensor (by --device name/address and/or
--profile, else the first sensor matching a firmware profile), connects, starts its stream at
--rate and decodes; the recorder stage (imurun/live/recorder.py) writes the samples (SI units,
after profile scaling, on the session clock) with SessionWriter; one Pipeline (imurun/live/app.py)
feeds them to the engine. Its output goes to a line per step, the coach (cues printed and spoken,
logged to RECORDING.cues.csv) and the dashboard; with --calibrate a guided standing calibration
comes first (imurun/live/calibrate.py). Qt owns the main thread, so with the dashboard the asyncio
BLE run goes to a worker thread. At the end (--duration, Ctrl-C, closing the window, a sensor
that does not come back) the file is closed and RECORDING.report.html is written next to it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from imurun.ble.profiles import Profile
    from imurun.coach.profile import RunnerProfile
    from imurun.coach.sink import CoachSink
    from imurun.live.app import LiveRun
    from imurun.live.calibrate import CalibrationGuide
    from imurun.sinks import Sink
    from imurun.ui.feed import DashboardFeed


def build_sinks(
    coach: CoachSink | None, feed: DashboardFeed | None, guide: CalibrationGuide | None = None
) -> list[Sink]:
    """Everything downstream of the engine in a live run, in the order each block reaches them
    (the guide before the coach, the coach's link to the window after it: each declares it)."""
    from imurun.console import ConsolePrinter

    sinks: list[Any] = [ConsolePrinter()]
    if feed is not None:
        sinks.append(feed)
    if guide is not None:
        sinks.append(guide)
    if coach is not None:
        sinks.append(coach)
        if feed is not None:
            from imurun.ui.coach_link import CoachLink

            sinks.append(CoachLink(coach, feed))
    return sinks


def run_live(args: argparse.Namespace, profiles: dict[str, Profile]) -> int:
    """The whole live run for `imurun run`'s options (imurun/commands/run.py), `profiles` by id."""
    import asyncio

    from imurun.coach.options import coach_sink_from_args
    from imurun.live.app import LiveRun
    from imurun.live.recorder import default_session_path
    from imurun.session.paths import cues_path_for, trunk_path_for
    from imurun.ui.qt import has_display

    def candidates(pid: str | None) -> dict:
        return {pid: profiles[pid]} if pid else profiles

    out = args.out or default_session_path()
    feed = None
    if not args.no_ui:
        if has_display():
            from imurun.ui.feed import DashboardFeed
            from imurun.ui.qt import qt_app

            qt_app()  # a Qt that cannot start is one line now, not after connecting
            feed = DashboardFeed()
            feed.set_info(recording=out.name)
        else:
            print("run: no display (DISPLAY / WAYLAND_DISPLAY unset): continuing without the dashboard",
                  flush=True)
    made = [d for d in (out.parent, *out.parent.parents) if not d.exists()]  # deepest first
    out.parent.mkdir(parents=True, exist_ok=True)  # the cue log opens before the recording does
    cue_log = cues_path_for(out)
    coach = run = None
    try:
        coach = coach_sink_from_args(args, cue_log=cue_log)
        guide = None
        if args.calibrate:
            from imurun.coach.profile import load_profile
            from imurun.live.calibrate import CalibrationGuide

            wording = coach.profile.wording if coach is not None else load_profile(args.runner).wording
            guide = CalibrationGuide(wording, coach, feed)
        run = LiveRun(
            {"pelvis": candidates(args.profile), "trunk": candidates(args.trunk_profile or args.profile)},
            args.rate,
            args.device,
            args.trunk_device,
            out,
            trunk_path_for(out) if args.trunk_device else None,
            build_sinks(coach, feed, guide),
            adapter=args.adapter,
            scan_timeout=args.scan_timeout,
            reconnect_timeout=args.reconnect_timeout,
            duration=args.duration,
            emit_signals=feed is not None,
            on_info=feed.set_info if feed is not None else None,
        )
        if feed is not None:
            return _with_dashboard(run, feed, args.theme)
        return asyncio.run(run.run())
    finally:
        recorded = run is not None and "pelvis" in run.recorder.writers
        if recorded:
            _write_report(out, cue_log if coach is not None else None, coach.profile if coach else None)
        else:
            if coach is not None:
                cue_log.unlink(missing_ok=True)  # nothing was recorded: no log of a run that never was
            _remove_empty(made)  # nor the folders made for it


def _remove_empty(dirs: list[Path]) -> None:
    for d in dirs:
        try:
            d.rmdir()
        except OSError:  # not empty (something else wrote there) or already gone
            return


def _with_dashboard(run: LiveRun, feed: DashboardFeed, theme: str) -> int:
    """The window in this (main) thread, the BLE run in a worker. Closing the window, Ctrl-C and
    SIGTERM stop the run; the run ending by itself (--duration, a lost sensor) closes the window.
    Its error, if any, is raised here once both are done."""
    import asyncio
    import importlib
    import signal
    import threading

    from imurun.ui.launch import run_live_dashboard

    # Python 3.11 can fail an import that two threads make at once (KeyError in importlib): the
    # worker's first engine import (numba, which imports colorama) beside this thread's pyqtgraph
    # (which imports colorama too) ended a run at its start. Both are imported before the worker
    # starts, as a replay does (ui.launch.open_replay_window).
    for module in ("imurun.ui.dashboard", "imurun.core.engine"):
        importlib.import_module(module)
    result: dict[str, Any] = {}

    def work() -> None:
        try:
            result["code"] = asyncio.run(run.run())
        except Exception as exc:  # noqa: BLE001 - handed to the main thread
            result["error"] = exc

    worker = threading.Thread(target=work, name="imurun-ble")
    previous = signal.signal(signal.SIGTERM, lambda *_: run.stop())
    worker.start()
    try:
        run_live_dashboard(feed, theme, on_close=run.stop, done=lambda: not worker.is_alive(),
                           on_recalibrate=run.recalibrate)
    finally:
        run.stop()
        worker.join()
        signal.signal(signal.SIGTERM, previous)
    if "error" in result:
        raise result["error"]
    return result["code"]


def _write_report(session: Path, cue_log: Path | None, profile: RunnerProfile | None) -> None:
    """NAME.report.html next to the recording. A failure is one notice: the recording is what
    counts, and the report can be made later with `imurun report`."""
    from imurun.coach.sink import print_notice
    from imurun.report.build import write_report
    from imurun.session.paths import report_path_for

    try:
        path = write_report(session, report_path_for(session), cues_csv=cue_log, profile=profile)
    except Exception as exc:  # noqa: BLE001 - any failure here must not hide the recording
        print_notice(f"report not written ({exc}); `imurun report {session}` can retry")
        return
    print(f"report: {path}", flush=True)
