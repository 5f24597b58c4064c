"""`imurun run`: live run with one sensor (plus an optional trunk sensor) over BLE.

Finds the sensor (by --device name/address and/or --profile, else the first sensor matching a
firmware profile), connects, starts its stream at --rate, decodes, feeds the engine and records
the samples (SI units, after profile scaling, on the session clock) with SessionWriter. The
engine's output goes to a line per step, the coach (cues printed and spoken, logged to
RECORDING.cues.csv) and the dashboard; with --calibrate a guided standing calibration comes first
(imurun/ble/calibrate.py). Qt owns the main thread, so with the dashboard the asyncio
BLE run goes to a worker thread. At the end (--duration, Ctrl-C, closing the window, a sensor
that does not come back) the file is closed and RECORDING.report.html is written next to it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imurun.coach.options import add_coach_arguments

if TYPE_CHECKING:
    from imurun.ble.calibrate import CalibrationGuide
    from imurun.ble.live import LiveRun
    from imurun.coach.profile import RunnerProfile
    from imurun.coach.sink import CoachSink
    from imurun.sinks import Sink
    from imurun.ui.feed import DashboardFeed


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", help="sensor name (or fnmatch pattern) or address; default: first match")
    parser.add_argument("--profile", help="firmware profile id; default: recognised from the advertisement")
    parser.add_argument("--trunk-device", help="second sensor at the upper lumbar spine (same code path)")
    parser.add_argument("--trunk-profile", help="firmware profile of the trunk sensor (default: --profile)")
    parser.add_argument("--rate", type=int, help="sample rate in Hz (default: the profile's default)")
    parser.add_argument(
        "--out", type=Path,
        help="session CSV (default: ~/imurun/sessions/YYYY-MM-DD_HHMMSS.csv); its cue log and report "
        "go next to it as NAME.cues.csv and NAME.report.html",
    )
    parser.add_argument("--adapter", help="BlueZ adapter, e.g. hci0 (default: the first powered one)")
    parser.add_argument("--profiles", type=Path, help="firmware profile directory (default: bundled)")
    parser.add_argument("--scan-timeout", type=float, default=10.0, help="seconds to look for the sensor")
    parser.add_argument(
        "--reconnect-timeout", type=float, default=30.0, help="give up when a lost sensor is not back by then"
    )
    parser.add_argument("--duration", type=float, help="stop after this many seconds of session time")
    parser.add_argument(
        "--calibrate", action="store_true",
        help="guided standing calibration at the start: stand tall and still until told "
        "\"Calibrated\" (the zero of pelvic drop and tilt); moving off first is said once, and the "
        "baseline then comes from the gait (low confidence) until a standing still period",
    )
    ui = parser.add_argument_group("dashboard", "the live window (docs/dashboard.md)")
    ui.add_argument("--no-ui", action="store_true", help="no dashboard window")
    ui.add_argument("--theme", choices=("dark", "light"), default="dark")
    add_coach_arguments(parser, audio_default="live")
    parser.add_argument("--no-audio", action="store_true", help="no sound: the same as --audio none")


def build_sinks(
    coach: CoachSink | None, feed: DashboardFeed | None, guide: CalibrationGuide | None = None
) -> list[Sink]:
    """Everything downstream of the engine in a live run, in the order each block reaches them."""
    from imurun.ble.console import StepPrinter

    sinks: list[Any] = [StepPrinter()]
    if feed is not None:
        sinks.append(feed)
    if guide is not None:
        sinks.append(guide)  # before the coach: calibration is said before any cue of that block
    if coach is not None:
        sinks.append(coach)
        if feed is not None:
            from imurun.ui.coach_link import CoachLink

            sinks.append(CoachLink(coach, feed))  # after the coach: shows the cues it just gave
    return sinks


def main(args: argparse.Namespace) -> int:
    import asyncio

    from imurun.ble.live import LiveRun
    from imurun.ble.recording import default_session_path
    from imurun.coach.options import coach_sink_from_args
    from imurun.errors import ImurunError
    from imurun.profiles import load_profiles
    from imurun.session.paths import cues_path_for, trunk_path_for
    from imurun.ui.qt import has_display

    profiles = load_profiles(args.profiles)
    for flag in ("profile", "trunk_profile"):
        pid = getattr(args, flag)
        if pid is not None and pid not in profiles:
            raise ImurunError(f"unknown profile {pid!r} (known: {', '.join(sorted(profiles))})")
    if args.no_audio:
        if args.audio:
            raise ImurunError("--no-audio and --audio exclude each other")
        args.audio = ["none"]

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
            from imurun.ble.calibrate import CalibrationGuide
            from imurun.coach.profile import load_profile

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
        recorded = run is not None and bool(run.sensors) and run.sensors[0].writer is not None
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
    import signal
    import threading

    from imurun.ui.launch import run_live_dashboard

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
