"""The live dashboard window: traces, per-step views, big numbers, cue log and status bar.

It reads only DashboardFeed snapshots, on a QTimer in the Qt thread, so the engine and BLE never
wait for drawing (docs/dashboard.md explains the threading). Left and right always have the same
two colours: left-foot step markers and the left hip's drop share one colour.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from pyqtgraph.graphicsItems.ScatterPlotItem import renderSymbol
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsItem,
    QGraphicsLineItem,
    QGraphicsPathItem,
    QGraphicsPixmapItem,
    QGraphicsView,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMainWindow,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from imurun.core.output import METRIC, FlagKind, Metric, Status
from imurun.ui.feed import CueRecord, DashboardFeed, SessionInfo, Snapshot
from imurun.ui.theme import Theme, get_theme

SIGNAL_WINDOW_S = 10.0  # scrolling traces
STEP_WINDOW_S = 60.0  # cadence and trunk-lean histories
DROP_BARS = 24  # most recent steps shown as pelvic-drop bars
FRAME_RATE_HZ = 33.0  # a little above the 30 fps target; a late tick keeps the phase, none queue up
RAD_TO_DEG = 180.0 / math.pi
DROP = METRIC["pelvic_drop_deg"]  # of the swing hip: a step landing on the right foot, the left hip's
VIEWS = ("full", "coach")


class NumberTile(QFrame):
    """A caption, a big value and its unit: readable at a glance from a treadmill."""

    def __init__(self, caption: str, unit: str):
        super().__init__()
        self.setObjectName("tile")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 6, 12, 6)
        layout.setSpacing(0)
        self.caption = QLabel(caption)
        self.caption.setObjectName("caption")
        self.value = QLabel("–")
        self.value.setObjectName("value")
        self.value.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.unit = QLabel(unit)
        self.unit.setObjectName("caption")
        layout.addWidget(self.caption)
        layout.addWidget(self.value)
        layout.addWidget(self.unit)
        self._alert = False

    def set(self, text: str, alert: bool = False) -> None:
        self.value.setText(text)
        if alert != self._alert:
            self._alert = alert
            self.value.setProperty("alert", alert)
            self.value.style().unpolish(self.value)
            self.value.style().polish(self.value)


class StepMarks:
    """Pixel-sized symbols at data points (steps on a scrolling trace), drawn by Qt alone.

    Each mark is a pixmap item that ignores the view's scaling, so it keeps its size in pixels;
    all hang from one parent that scrolls them, so a frame without a new step costs one setPos.
    (pyqtgraph's ScatterPlotItem bounds, culls and paints itself in Python on every frame.)
    """

    def __init__(self, plot: pg.PlotItem):
        self.layer = QGraphicsPathItem()  # empty path: only the parent that scrolls
        plot.addItem(self.layer, ignoreBounds=True)
        self._items: list[QGraphicsPixmapItem] = []  # reused; never more than one window of steps

    def set(self, x: np.ndarray, y: np.ndarray, symbols: list[QPixmap]) -> None:
        for i, (xi, yi, symbol) in enumerate(zip(x, y, symbols, strict=True)):
            if i == len(self._items):
                item = QGraphicsPixmapItem(self.layer)
                item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
                self._items.append(item)
            item = self._items[i]
            item.setPixmap(symbol)
            item.setOffset(-symbol.width() / 2, -symbol.height() / 2)
            item.setPos(float(xi), float(yi))
            item.setVisible(True)
        for item in self._items[len(x) :]:
            item.setVisible(False)

    def scroll(self, dx: float) -> None:
        self.layer.setPos(dx, 0.0)


class Dashboard(QMainWindow):
    """Draws the latest DashboardFeed snapshot; `controls` (replay buttons) go above the numbers.
    `on_recalibrate` (a live run's): a Recalibrate button and key B take the standing baseline again."""

    def __init__(
        self,
        feed: DashboardFeed,
        theme: str | Theme = "dark",
        controls: QWidget | None = None,
        view: str = "full",
        on_recalibrate: Callable[[], None] | None = None,
    ):
        super().__init__()
        self.feed = feed
        self.theme = get_theme(theme) if isinstance(theme, str) else theme
        self.setWindowTitle("imurun")
        self._drawn_version = -1
        self._cues_shown: tuple[int, int] = (-1, -1)
        self._trunk_shown = False
        self._steps_key: tuple = ()
        self._tiles_key: tuple = ()
        self._status_shown = ("", "")
        self.frames = 0  # redraws done, for the benchmark

        central = QWidget()
        root = QVBoxLayout(central)
        root.setContentsMargins(8, 8, 8, 4)
        if controls is not None:
            root.addWidget(controls)
        root.addLayout(self._build_tiles())
        body = QHBoxLayout()
        self.plots = self._build_plots()
        body.addWidget(self.plots, stretch=4)
        body.addWidget(self._build_cue_log(), stretch=1)
        root.addLayout(body, stretch=1)
        self.setCentralWidget(central)
        self.status_label = QLabel()
        self.statusBar().addWidget(self.status_label, 1)
        self.on_recalibrate = on_recalibrate
        if on_recalibrate is not None:
            button = QPushButton("Recalibrate (B)")
            button.setToolTip("the runner stands tall and still: the standing baseline is taken again")
            button.clicked.connect(on_recalibrate)
            self.statusBar().addPermanentWidget(button)
        self.set_view(view)

        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self.refresh)

    # -- construction -------------------------------------------------------------------------
    def _build_tiles(self) -> QGridLayout:
        self._tile_grid = QGridLayout()
        self.tiles = {
            "time": NumberTile("Time", "min:s"),
            "cadence": NumberTile("Cadence", "steps/min"),
            "drop_L": NumberTile("Left hip drop", _last_step("pelvic_drop_deg")),
            "drop_R": NumberTile("Right hip drop", _last_step("pelvic_drop_deg")),
            "lumbar": NumberTile(METRIC["lumbar_ext_deg"].label, _last_step("lumbar_ext_deg")),
            "contact": NumberTile("Contact", _last_step("contact_time_s")),
            "lean": NumberTile("Trunk lean", _last_step("trunk_lean_deg")),
        }
        return self._tile_grid

    def _place_tiles(self, per_row: int) -> None:
        for tile in self.tiles.values():
            self._tile_grid.removeWidget(tile)
        shown = [tile for name, tile in self.tiles.items() if name != "lean" or self._trunk_shown]
        self.tiles["lean"].setVisible(self._trunk_shown)
        for i, tile in enumerate(shown):
            self._tile_grid.addWidget(tile, i // per_row, i % per_row)

    def _build_plots(self) -> pg.GraphicsLayoutWidget:
        th = self.theme
        glw = pg.GraphicsLayoutWidget()
        glw.setBackground(th.background)
        # The view paints its whole background itself; saying so spares Qt repainting the window
        # and its frames underneath the plots on every frame. The background is one colour:
        # filling it is cheaper than copying a cached picture of it, a copy Qt's raster engine
        # hands to worker threads (waking them cost more than the copy).
        glw.viewport().setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        glw.setCacheMode(QGraphicsView.CacheModeFlag.CacheNone)
        self._layout = glw.ci
        sym = {"L": th.left, "R": th.right}

        # Keys live in the titles, not in legends: a legend sits inside the scrolling view and
        # would be repainted with every frame.
        self.acc_plot = glw.addPlot(0, 0)
        self.acc_plot.setTitle(_title("Acceleration, m/s² (gravity removed)", th, ("━ vertical", th.trace[0]),
                                      ("━ forward", th.trace[1]), ("▲ left step", th.left),
                                      ("▲ right step", th.right)))
        self.acc_v = _trace(self.acc_plot, th.trace[0])
        self.acc_ap = _trace(self.acc_plot, th.trace[1])
        self.ic_symbols = {side: _symbol("t1", 11, sym[side]) for side in ("L", "R")}
        self.markers = StepMarks(self.acc_plot)

        self.gyr_plot = glw.addPlot(1, 0)
        self.gyr_plot.setTitle(_title("Gyro, deg/s (pelvis frame)", th, *(
            (f"━ {name}", colour) for name, colour in zip(("roll", "pitch", "yaw"), th.trace, strict=True))))
        self.gyr = [_trace(self.gyr_plot, colour) for colour in th.trace]
        self.gyr_plot.setXLink(self.acc_plot)

        self.tilt_plot = glw.addPlot(2, 0)
        self.tilt_plot.setTitle(self._tilt_title(proxy=False))
        self.tilt_curve = _trace(self.tilt_plot, th.trace[0])
        self.lumbar_symbol = _symbol("o", 7, th.trace[2])
        self.lumbar_points = StepMarks(self.tilt_plot)
        # A plain Qt line across the still time axis: an InfiniteLine repaints itself in Python.
        baseline = QGraphicsLineItem(-SIGNAL_WINDOW_S, 0.0, 0.0, 0.0)
        baseline.setPen(pg.mkPen(th.threshold, width=0, style=Qt.PenStyle.DashLine))
        self.tilt_plot.addItem(baseline, ignoreBounds=True)
        self.tilt_plot.setXLink(self.acc_plot)

        self.cad_plot = glw.addPlot(0, 1, title=_title("Cadence, steps/min", th))
        self.cad_band = pg.LinearRegionItem(orientation="horizontal", movable=False,
                                            brush=pg.mkBrush(th.band), pen=pg.mkPen(None))
        self.cad_plot.addItem(self.cad_band)
        self.cad_points = {
            side: pg.ScatterPlotItem(size=7, pen=None, brush=pg.mkBrush(sym[side])) for side in ("L", "R")
        }
        for item in self.cad_points.values():
            self.cad_plot.addItem(item)

        self.drop_plot = glw.addPlot(1, 1, rowspan=2)
        self.drop_bars = {
            hip: pg.BarGraphItem(x=[], height=[], width=0.8, brush=pg.mkBrush(sym[hip]), pen=pg.mkPen(None))
            for hip in ("L", "R")
        }
        for item in self.drop_bars.values():
            self.drop_plot.addItem(item)
        self.drop_line = pg.InfiniteLine(angle=0, pen=pg.mkPen(th.threshold, width=2))
        self.drop_plot.addItem(self.drop_line)
        self._set_drop_title(math.nan)
        self.drop_plot.setXRange(-DROP_BARS + 0.5, 0.5, padding=0)
        self.drop_plot.getAxis("bottom").setLabel("steps ago")

        self.lean_plot = pg.PlotItem(title=_title("Trunk lean per step, deg", th, ("━ min.", th.threshold)))
        self.lean_points = pg.ScatterPlotItem(size=7, pen=None, brush=pg.mkBrush(th.trace[1]))
        self.lean_plot.addItem(self.lean_points)
        self.lean_line = pg.InfiniteLine(angle=0, pen=pg.mkPen(th.threshold, width=2))
        self.lean_plot.addItem(self.lean_line)

        for plot in (self.acc_plot, self.gyr_plot, self.tilt_plot, self.cad_plot, self.drop_plot,
                     self.lean_plot):
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            for axis in ("left", "bottom"):
                plot.getAxis(axis).setPen(pg.mkPen(th.muted))
                plot.getAxis(axis).setTextPen(pg.mkPen(th.text))
                # A cached picture: a trace touching an axis' edge otherwise replays all its text.
                plot.getAxis(axis).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        # Scrolling traces: no grid, one shared time axis, and a y range that changes only when
        # the data leaves it. Each of these is a redrawn axis picture per frame otherwise, which
        # was most of the drawing cost (benchmarks/bench_dashboard.py).
        for plot in (self.acc_plot, self.gyr_plot, self.tilt_plot):
            plot.disableAutoRange()
        self.acc_plot.setXRange(-SIGNAL_WINDOW_S, 0.0, padding=0)
        self.acc_plot.hideAxis("bottom")
        self.gyr_plot.hideAxis("bottom")
        for plot in (self.cad_plot, self.drop_plot, self.lean_plot):
            plot.showGrid(x=False, y=True, alpha=0.15)
        self.cad_plot.enableAutoRange(axis="x", enable=False)
        self.lean_plot.enableAutoRange(axis="x", enable=False)
        self.tilt_plot.getAxis("bottom").setLabel("seconds before now")
        self._layout.layout.setColumnStretchFactor(0, 3)
        self._layout.layout.setColumnStretchFactor(1, 2)
        return glw

    def _tilt_title(self, proxy: bool, standing: bool = True) -> str:
        """Without a standing calibration there is no standing baseline: the angles are relative to
        the running posture, and the coach cues their change from the early-run posture."""
        th = self.theme
        lumbar = "lumbar ext. per step = tilt proxy" if proxy else "lumbar ext. per step"
        name, baseline = "Anterior pelvic tilt, deg", "┅ standing baseline"
        if not standing:
            name += " — no standing calibration: change from the running posture"
            baseline = "┅ running posture"
        return _title(name, th, ("━ tilt", th.trace[0]), (f"● {lumbar}", th.trace[2]),
                      (baseline, th.threshold))

    def _build_cue_log(self) -> QWidget:
        box = QFrame()
        box.setObjectName("tile")
        layout = QVBoxLayout(box)
        layout.setContentsMargins(8, 6, 8, 6)
        title = QLabel("Coach cues")
        title.setObjectName("caption")
        self.cue_list = QListWidget()
        self.cue_list.setWordWrap(True)
        self.cue_list.setObjectName("cues")
        layout.addWidget(title)
        layout.addWidget(self.cue_list)
        return box

    def _apply_theme(self, value_px: int, cue_px: int) -> None:
        th = self.theme
        self.setStyleSheet(f"""
            QMainWindow, QWidget {{ background: {th.background}; color: {th.text}; }}
            QFrame#tile {{ background: {th.panel}; border-radius: 6px; }}
            QFrame#tile QLabel {{ background: {th.panel}; }}
            QLabel#caption {{ color: {th.muted}; font-size: 13px; }}
            QLabel#value {{ font-size: {value_px}px; font-weight: 600; }}
            QLabel#value[alert="true"] {{ color: {th.alert}; }}
            QListWidget#cues {{ background: {th.panel}; border: none; font-size: {cue_px}px; }}
            QListWidget#cues::item {{ padding: 4px 0px; border-bottom: 1px solid {th.background}; }}
            QStatusBar, QStatusBar QLabel {{ color: {th.muted}; font-size: 13px; }}
            QPushButton, QComboBox, QDoubleSpinBox {{ background: {th.panel}; color: {th.text};
                border: 1px solid {th.muted}; border-radius: 4px; padding: 3px 10px; }}
        """)

    # -- view -------------------------------------------------------------------------------
    def set_view(self, view: str) -> None:
        """`full`: everything; `coach`: big numbers and cues only, for a glance while running."""
        if view not in VIEWS:
            raise ValueError(f"view must be one of {VIEWS}")
        self.view = view
        self._drawn_version = -1  # draw everything on the next refresh
        self._steps_key = self._tiles_key = ()
        self.plots.setVisible(view == "full")
        self._place_tiles(per_row=len(self.tiles) if view == "full" else 3)
        self._apply_theme(value_px=44 if view == "full" else 110, cue_px=15 if view == "full" else 30)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.key() == Qt.Key.Key_C:
            self.set_view("coach" if self.view == "full" else "full")
        elif event.key() == Qt.Key.Key_B and self.on_recalibrate is not None:
            self.on_recalibrate()
        else:
            super().keyPressEvent(event)

    # -- drawing ----------------------------------------------------------------------------
    def start(self, frame_rate_hz: float = FRAME_RATE_HZ) -> None:
        self._timer.start(max(1, round(1000.0 / frame_rate_hz)))

    def stop(self) -> None:
        self._timer.stop()

    def refresh(self, force: bool = False) -> bool:
        """Redraw from the feed if anything changed; True when a frame was drawn."""
        if not force and self.feed.version == self._drawn_version:
            return False
        snap = self.feed.snapshot(SIGNAL_WINDOW_S, STEP_WINDOW_S)
        self._draw(snap)
        self._drawn_version = snap.version
        self.frames += 1
        return True

    def _draw(self, snap: Snapshot) -> None:
        now = snap.status.t
        # Only the traces move every frame: the numbers change with a new second, step or status,
        # and the per-step items only when a step arrives (redrawing them every frame would
        # double the painting cost for nothing).
        steps_key = (len(snap.steps), snap.steps["t"][-1] if len(snap.steps) else 0.0, snap.targets)
        tiles_key = (int(now), snap.status.cadence_spm, snap.status.flags.get("lumbar_ext_deg"), steps_key)
        if tiles_key != self._tiles_key:
            self._tiles_key = tiles_key
            self._draw_tiles(snap)
        self._draw_status(snap.status, snap.info)
        self._draw_cues(snap.cues, now)
        if snap.status.trunk and not self._trunk_shown:
            self._show_trunk()
        if self.view != "full":
            return
        self._draw_signals(snap, now)
        # The step marks on the traces sit at session time and scroll by their position alone.
        if steps_key != self._steps_key:
            self._steps_key = steps_key
            self._draw_step_marks(snap, now)
            self._draw_cadence(snap, now)
            self._draw_drop(snap)
            if self._trunk_shown:
                self._draw_lean(snap, now)
        for marks in (self.markers, self.lumbar_points):
            marks.scroll(-now)

    def _draw_signals(self, snap: Snapshot, now: float) -> None:
        """Traces against seconds before now: the time axis stays still and is never redrawn."""
        sig = snap.signals
        ago = sig["t"] - now
        gyr_deg = [sig[col] * RAD_TO_DEG for col in ("gyr_x", "gyr_y", "gyr_z")]
        for plot, curves, series, extra in (
            (self.acc_plot, (self.acc_v, self.acc_ap), (sig["acc_v"], sig["acc_ap"]), ()),
            (self.gyr_plot, self.gyr, gyr_deg, ()),
            (self.tilt_plot, (self.tilt_curve,), (sig["tilt_deg"],), (0.0,)),  # keep the baseline in view
        ):
            ranges = [_set_trace(curve, ago, values) for curve, values in zip(curves, series, strict=True)]
            _fit_y(plot, ranges, *extra)
        standing = snap.status.calibration == "standing"
        _set_title(self.tilt_plot, self._tilt_title(_is_proxy(snap.status, "lumbar_ext_deg"), standing))

    def _draw_step_marks(self, snap: Snapshot, now: float) -> None:
        """Initial contacts on the acceleration trace and lumbar extension on the tilt trace."""
        sig = snap.signals
        steps = snap.steps[snap.steps["t"] >= now - SIGNAL_WINDOW_S]
        ic = steps["t"]
        y = np.interp(ic, sig["t"], sig["acc_v"]) if len(sig) else np.zeros(len(ic))
        self.markers.set(ic, y, [self.ic_symbols[side] for side in steps["side"]])
        self.lumbar_points.set(steps["t"], steps["lumbar_ext_deg"], [self.lumbar_symbol] * len(steps))

    def _draw_cadence(self, snap: Snapshot, now: float) -> None:
        steps = snap.steps
        for side, item in self.cad_points.items():
            mine = steps[steps["side"] == side]
            item.setData(mine["t"], mine["cadence_spm"])
        self.cad_plot.setXRange(now - STEP_WINDOW_S, now, padding=0)
        target, tol = snap.targets.cadence_spm, snap.targets.cadence_tolerance_pct / 100
        self.cad_band.setVisible(math.isfinite(target))
        if math.isfinite(target):
            self.cad_band.setRegion((target * (1 - tol), target * (1 + tol)))
            _set_title(self.cad_plot, _title(f"Cadence, steps/min: target {target:.0f} ± {tol * 100:.0f} %",
                                          self.theme, ("▇ target band", self.theme.band[:7])))

    def _draw_drop(self, snap: Snapshot) -> None:
        steps = snap.steps[-DROP_BARS:]
        ago = np.arange(-len(steps) + 1, 1, dtype=float)
        for hip, item in self.drop_bars.items():
            mine = steps["side"] == DROP.landing_side(hip)
            item.setOpts(x=ago[mine], height=steps["pelvic_drop_deg"][mine])
        limit = snap.targets.pelvic_drop_deg
        self.drop_line.setVisible(math.isfinite(limit))
        if math.isfinite(limit):
            self.drop_line.setValue(limit)
        self._set_drop_title(limit)

    def _set_drop_title(self, limit: float) -> None:
        th = self.theme
        keys = [("▇ left hip", th.left), ("▇ right hip", th.right)]
        if math.isfinite(limit):
            keys.append((f"━ threshold {limit:g}°", th.threshold))
        _set_title(self.drop_plot, _title("Pelvic drop per step, deg", th, *keys))

    def _draw_lean(self, snap: Snapshot, now: float) -> None:
        steps = snap.steps
        self.lean_points.setData(steps["t"], steps["trunk_lean_deg"])
        self.lean_plot.setXRange(now - STEP_WINDOW_S, now, padding=0)
        limit = snap.targets.trunk_lean_min_deg
        self.lean_line.setVisible(math.isfinite(limit))
        if math.isfinite(limit):
            self.lean_line.setValue(limit)

    def _show_trunk(self) -> None:
        """A trunk sensor appeared: give trunk lean its own plot and tile."""
        self._layout.removeItem(self.drop_plot)
        self._layout.addItem(self.drop_plot, 1, 1)
        self._layout.addItem(self.lean_plot, 2, 1)
        self._trunk_shown = True
        self.set_view(self.view)

    def _draw_tiles(self, snap: Snapshot) -> None:
        st, steps, targets = snap.status, snap.steps, snap.targets
        minutes, seconds = divmod(int(st.t), 60)
        self.tiles["time"].set(f"{minutes}:{seconds:02d}")
        cad = st.cadence_spm
        low = targets.cadence_spm * (1 - targets.cadence_tolerance_pct / 100)
        self.tiles["cadence"].set(f"{cad:.0f}" if cad > 0 else "–", alert=cad > 0 and cad < low)
        for hip in ("L", "R"):
            drop = _last(steps, "pelvic_drop_deg", hip)
            self.tiles[f"drop_{hip}"].set(_fmt(drop, DROP), alert=drop > targets.pelvic_drop_deg)
        proxy = _is_proxy(st, "lumbar_ext_deg")
        lumbar = METRIC["lumbar_ext_deg"]
        self.tiles["lumbar"].caption.setText("Lumbar ext. (tilt proxy)" if proxy else lumbar.label)
        self.tiles["lumbar"].set(_fmt(_last(steps, "lumbar_ext_deg"), lumbar))
        self.tiles["contact"].set(_fmt(_last(steps, "contact_time_s"), METRIC["contact_time_s"]))
        lean = _last(steps, "trunk_lean_deg")
        self.tiles["lean"].set(_fmt(lean, METRIC["trunk_lean_deg"]), alert=lean < targets.trunk_lean_min_deg)

    def _draw_status(self, st: Status, info: SessionInfo) -> None:
        battery = f"{info.battery_pct:.0f} %" if info.battery_pct is not None else "unknown"
        parts = [
            f"sensor: {info.sensor or 'unknown'}",
            f"profile: {info.profile or 'default'}",
            f"rate seen: {st.sample_rate_hz:.0f} Hz",
            f"packet loss: {st.packet_loss * 100:.1f} %",
            f"gaps: {st.gaps}",
            f"battery: {battery}",
            f"calibration: {st.flags.get('calibration', st.calibration)}",  # e.g. waiting to stand
            f"activity: {st.activity}",
            f"recording: {info.recording or 'none'}",
        ]
        if st.flags:
            parts.append(f"notes: {len(st.flags)} (hover)")
        if info.state:
            parts.append(info.state)
        shown = ("   ·   ".join(parts), "\n".join(f"{k}: {v}" for k, v in st.flags.items()))
        if shown != self._status_shown:  # the same text every frame: spare Qt the calls
            self._status_shown = shown
            self.status_label.setText(shown[0])
            self.status_label.setToolTip(shown[1])

    def _draw_cues(self, cues: list[CueRecord], now: float) -> None:
        """Newest first, each with the runner's response once measured; after a replay jumps back,
        cues later than the shown time are hidden."""
        shown = [c for c in cues if c.t <= now]
        key = (len(cues), len(shown), sum(bool(c.response) for c in shown))
        if key == self._cues_shown:
            return
        self._cues_shown = key
        self.cue_list.clear()
        for cue in reversed(shown):
            minutes, seconds = divmod(int(cue.t), 60)
            response = f"\nresponse: {cue.response}" if cue.response else ""
            self.cue_list.addItem(f"{minutes}:{seconds:02d}  {cue.text}\n{cue.reason}{response}")

    # -- output -----------------------------------------------------------------------------
    def cue_texts(self) -> list[str]:
        """What the cue log shows, newest first (for tests and accessibility)."""
        return [self.cue_list.item(i).text() for i in range(self.cue_list.count())]

    def save_png(self, path: str) -> None:
        """Saved like every output (imurun.outputs): complete or not at all, never through a link."""
        from imurun.errors import InputError
        from imurun.outputs import Outputs

        with Outputs() as out:
            if not self.grab().save(str(out.path(path)), "PNG"):
                raise InputError(path, "cannot write the screenshot")


def _title(text: str, theme: Theme, *keys: tuple[str, str]) -> str:
    """A plot title with a colour key: (label, colour) pairs after the text."""
    spans = "".join(f"&nbsp;&nbsp;<span style='color:{colour}'>{label}</span>" for label, colour in keys)
    return f"<span style='color:{theme.text}'>{text}</span>{spans}"


def _symbol(name: str, size: int, colour: str) -> QPixmap:
    """A scatter symbol as pyqtgraph draws it (antialiased, centred), once."""
    return QPixmap.fromImage(renderSymbol(name, size, pg.mkPen(None), pg.mkBrush(colour)))


def _set_title(plot: pg.PlotItem, title: str) -> None:
    """Only a changed title: setting one re-lays out the plot grid, which repaints every plot."""
    if plot.titleLabel.text != title:
        plot.setTitle(title)


def _trace(plot: pg.PlotItem, colour: str) -> QGraphicsPathItem:
    """A scrolling trace as a plain Qt path item: drawn and bounded in C++, with none of a
    pyqtgraph curve's Python calls per frame (its bounds, paint and view bookkeeping were most of
    the drawing cost). Pen width 0 is Qt's 1-pixel cosmetic pen and keeps the bounds a cheap
    control-point rectangle (a width-1 pen would have Qt stroke the whole path to bound it)."""
    item = QGraphicsPathItem()
    item.setPen(pg.mkPen(colour, width=0))
    plot.addItem(item, ignoreBounds=True)
    return item


def _set_trace(item: QGraphicsPathItem, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Draw y against x, leaving out non-finite samples (gaps); return y's range (NaN if empty)."""
    finite = np.isfinite(y)
    if not finite.all():
        x, y = x[finite], y[finite]
    item.setPath(pg.arrayToQPath(x, y, finiteCheck=False))
    return (float(y.min()), float(y.max())) if len(y) else (math.nan, math.nan)


def _fit_y(plot: pg.PlotItem, ranges: list[tuple[float, float]], *keep: float) -> None:
    """Keep the y range while the traces' (lo, hi) ranges (and `keep`) fit it and fill at least
    half of it; else refit. Traces with no finite sample (NaN ranges) are left out."""
    ranges = [(lo, hi) for lo, hi in ranges if math.isfinite(lo)]
    if not ranges:
        return
    lo = min(*(lo for lo, _ in ranges), *keep, math.inf)
    hi = max(*(hi for _, hi in ranges), *keep, -math.inf)
    (y0, y1) = plot.viewRange()[1]
    if lo < y0 or hi > y1 or (hi - lo) < 0.5 * (y1 - y0):
        margin = 0.1 * max(hi - lo, 1e-3)
        plot.setYRange(lo - margin, hi + margin, padding=0)


def _is_proxy(status: Status, column: str) -> bool:
    flag = status.flags.get(column)
    return flag is not None and flag.kind is FlagKind.PROXY


def _last(steps: np.ndarray, column: str, hip: str = "") -> float:
    """The last step's value of a metric in its shown unit (output.METRICS); of `hip`'s steps if given."""
    metric = METRIC[column]
    if hip:
        steps = steps[steps["side"] == metric.landing_side(hip)]
    return float(steps[column][-1]) * metric.scale if len(steps) else math.nan


def _last_step(column: str) -> str:
    return f"{METRIC[column].unit}, last step"


def _fmt(value: float, metric: Metric) -> str:
    return f"{value:.{metric.digits}f}" if math.isfinite(value) else "–"
