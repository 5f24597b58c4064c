"""Dashboard cost: redraw rate and drawing CPU at 200 Hz live input; memory over a 2-hour replay.

    .venv/bin/python benchmarks/bench_dashboard.py [--live-s 20] [--repeat 3] [--hours 2]

1. Live: a simulated easy run at 200 Hz is replayed at 1x in the player thread (4 samples per block,
   like BLE notifications) while the window redraws on its own frame timer, inside the Qt event
   loop as in the app. Reported per repetition: redraws/s, paint events/s of the plot view, and
   the drawing CPU per wall second: every thread of the process but the player's (the Qt thread,
   plus the worker threads Qt's raster engine hands large fills to). The engine runs in the player
   thread; its CPU is shown apart.
2. Memory: the same run tiled to 2 hours, replayed at max speed with the window redrawing; the
   process RSS is read every 10 minutes of session time. Bounded buffers mean a flat line.

Targets (issue 6): >= 30 redraws/s, <= 25 % of one core for drawing, no memory growth.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import machine, table, write_section  # noqa: E402

from imurun.blocks import SampleBlock  # noqa: E402

RATE = 200.0
BLOCK = 4


def rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def thread_cpu_s() -> dict[int, float]:
    """CPU seconds (user + system) of each thread of this process, by native thread id."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            stat = Path(f"/proc/self/task/{tid}/stat").read_text()
        except OSError:  # the thread ended meanwhile
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        out[int(tid)] = (int(fields[11]) + int(fields[12])) / tick
    return out


def spin(seconds: float | None = None, until=None) -> None:
    """Run the Qt event loop, as the app does, for `seconds` or until `until()` (checked at 20 Hz)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    if seconds is not None:
        QTimer.singleShot(round(seconds * 1000), loop.quit)
    check = QTimer()
    if until is not None:
        check.timeout.connect(lambda: until() and loop.quit())
        check.start(50)
    loop.exec()
    check.stop()


def run_samples(seconds: float):
    from imurun.sources.simulate import simulate

    sim = simulate("easy-run", seed=1, rate_hz=RATE, duration_s=seconds)
    return sim.t, sim.acc, sim.gyr


def tiled_blocks(t, acc, gyr, total_s: float):
    """The run repeated end to end on one continuous clock, produced lazily (fixed memory)."""
    period = t[-1] + 1.0 / RATE
    offset = 0.0
    while offset < total_s:
        for i in range(0, len(t), BLOCK):
            yield SampleBlock(t[i : i + BLOCK] + offset, acc[i : i + BLOCK], gyr[i : i + BLOCK])
        offset += period


class PaintCounter:
    """Counts paint events reaching the plot view (frames Qt actually rendered)."""

    def __init__(self, widget):
        from PySide6.QtCore import QEvent, QObject

        counter = self

        class Filter(QObject):
            def eventFilter(self, obj, event):  # noqa: N802 - Qt override
                if event.type() == QEvent.Type.Paint:
                    counter.count += 1
                return False

        self.count = 0
        self._filter = Filter()
        widget.viewport().installEventFilter(self._filter)


def open_dashboard(player_args, speed):
    from imurun.core.engine import Engine
    from imurun.ui.dashboard import Dashboard
    from imurun.ui.feed import DashboardFeed
    from imurun.ui.player import Player

    feed = DashboardFeed()
    player = Player(player_args, lambda: Engine(sample_rate_hz=RATE, emit_signals=True), feed, speed=speed)
    window = Dashboard(feed)
    window.resize(1600, 900)
    window.show()
    window.start()
    return player, window


def live(seconds: float, warmup_s: float = 12.0) -> dict[str, float]:
    t, acc, gyr = run_samples(warmup_s + seconds + 5.0)
    player, window = open_dashboard(lambda: tiled_blocks(t, acc, gyr, t[-1]), speed=1.0)
    paints = PaintCounter(window.plots)
    player.start()
    spin(warmup_s)  # fill the 10 s trace window first
    frames0, paints0, cpu0, wall0 = window.frames, paints.count, thread_cpu_s(), time.monotonic()
    spin(seconds)
    wall = time.monotonic() - wall0
    cpu = {tid: s - cpu0.get(tid, 0.0) for tid, s in thread_cpu_s().items()}
    engine_s = cpu.pop(player.native_id, 0.0)
    frames, painted = window.frames - frames0, paints.count - paints0
    player.stop()
    player.join()
    window.close()
    drawing_s = sum(cpu.values())
    return {
        "redraws/s": frames / wall,
        "paints/s": painted / wall,
        "drawing %": 100 * drawing_s / wall,
        "ms/redraw": 1000 * drawing_s / max(frames, 1),
        "engine %": 100 * engine_s / wall,
    }


def live_rows(runs: list[dict[str, float]]) -> list[list[object]]:
    def cell(key: str, fmt: str) -> str:
        values = [r[key] for r in runs]
        each = " / ".join(format(v, fmt) for v in values)
        return each if len(values) == 1 else f"{each} (median {statistics.median(values):{fmt}})"

    return [
        ["input", f"{RATE:.0f} Hz, {BLOCK} samples/block, 1x; {len(runs)} runs", ""],
        ["redraws/s", cell("redraws/s", ".1f"), ">= 30"],
        ["plot paint events/s", cell("paints/s", ".1f"), ""],
        ["drawing CPU, % of one core", cell("drawing %", ".1f"), "<= 25 %"],
        ["drawing CPU per redraw, ms", cell("ms/redraw", ".2f"), ""],
        ["engine thread CPU, % of one core (not drawing)", cell("engine %", ".1f"), ""],
    ]


def memory(hours: float) -> tuple[list[list[object]], float]:
    t, acc, gyr = run_samples(600.0)
    total_s = hours * 3600.0
    player, window = open_dashboard(lambda: tiled_blocks(t, acc, gyr, total_s), speed=float("inf"))
    rows: list[list[object]] = []
    next_mark = 600.0
    start = time.monotonic()

    def mark() -> bool:
        nonlocal next_mark
        while player.t >= next_mark:
            rows.append([f"{next_mark / 60:.0f} min", f"{rss_mb():.1f} MB",
                         f"{time.monotonic() - start:.0f} s", window.frames])
            next_mark += 600.0
        return player.finished.is_set()

    player.start()
    spin(until=mark)
    player.stop()
    player.join()
    window.close()
    rows.append(["end", f"{rss_mb():.1f} MB", f"{time.monotonic() - start:.0f} s", window.frames])
    first = float(rows[1][1].split()[0]) if len(rows) > 2 else float("nan")
    growth = float(rows[-1][1].split()[0]) - first
    return rows, growth


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--live-s", type=float, default=20.0, help="measured live seconds (default 20)")
    parser.add_argument("--repeat", type=int, default=3, help="live runs, for the spread (default 3)")
    parser.add_argument("--hours", type=float, default=2.0, help="replayed session length (default 2)")
    args = parser.parse_args()

    from imurun.ui.qt import qt_app

    app = qt_app()
    import pyqtgraph
    import PySide6

    info = (f"{machine()}; PySide6 {PySide6.__version__}; pyqtgraph {pyqtgraph.__version__}; "
            f"Qt platform {app.platformName()}")
    print(info)
    runs = []
    for _ in range(args.repeat):
        runs.append(live(args.live_s))
        print(runs[-1], flush=True)
    live_table = table(["live dashboard", "measured", "target"], live_rows(runs))
    print(live_table)
    mem_rows, growth = memory(args.hours)
    mem_table = table(["session time", "RSS", "wall", "redraws"], mem_rows)
    print(mem_table)
    print(f"RSS growth from 20 min to the end of {args.hours:g} h: {growth:+.1f} MB")
    write_section(
        "Dashboard",
        f"{info}\n\n{live_table}\n\nReplay of {args.hours:g} h at max speed with the window redrawing:\n\n"
        f"{mem_table}\n\nRSS growth from 20 min to the end: {growth:+.1f} MB\n",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
