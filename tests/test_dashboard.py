"""The dashboard in a real offscreen Qt window, fed by the real engine on a real recording."""

from __future__ import annotations

import functools
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from realdata import REAL

from imurun.blocks import SampleBlock
from imurun.core.engine import Engine
from imurun.core.output import Flag, FlagKind
from imurun.session.reader import read_session
from imurun.sources.simulate import simulate
from imurun.ui import recording
from imurun.ui.feed import DashboardFeed, SlidingBuffer
from imurun.ui.qt import qt_app
from imurun.ui.screenshot import feed_until
from imurun.ui.theme import DARK, LIGHT

REPO = Path(__file__).resolve().parents[1]
FATIGUE = REPO / "imurun" / "recordings" / "fatigue.csv"  # simulated, 200 Hz, form fades: the coach speaks
TRUNK = REPO / "imurun" / "recordings" / "trunk.csv"  # with a second sensor at the trunk
WALK = REAL / "HA_001_Test11_Trial1.csv"  # real walking, 100 Hz, 137 s


@pytest.fixture(scope="module")
def app():
    return qt_app(offscreen=True)


@functools.cache
def blocks_of(path):
    """The session's replay blocks, read once per test run."""
    return tuple(recording.blocks(path))


def played(path, at_s):
    """The dashboard feed after the session ran through engine and coach up to at_s."""
    feed = DashboardFeed()
    return feed_until(blocks_of(path), recording.engine_with_signals(path), at_s, feed)


def engine_until(path, at_s):
    """The engine's own steps and status over the samples up to at_s, in one block (reference)."""
    session = read_session(path)
    keep = session.t <= at_s
    engine = Engine(sample_rate_hz=session.header.sample_rate_hz)
    out = engine.process(session.t[keep], session.acc[keep], session.gyr[keep])
    return out.steps, out.status


def open_window(app, feed, theme="dark", view="full"):
    from imurun.ui.dashboard import Dashboard

    window = Dashboard(feed, theme=theme, view=view)
    window.resize(1600, 900)
    window.show()
    app.processEvents()
    assert window.refresh()
    app.processEvents()
    return window


def close_window(app, window):
    window.close()
    window.deleteLater()
    app.processEvents()


def png_pixels(window, tmp_path, name):
    path = tmp_path / name
    window.save_png(path)
    return read_png(path)


def read_png(path):
    from PySide6.QtGui import QImage

    img = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())
    return rows[:, : img.width() * 3].reshape(img.height(), img.width(), 3).copy()  # img owns the bytes


def markers_in_view(window, theme):
    """Seconds before now of the step triangles inside the acceleration view, by their colour."""
    x0, x1 = window.acc_plot.viewRange()[0]
    layer = window.markers.layer
    marked = {"L": [], "R": []}
    for item in layer.childItems():
        x = layer.pos().x() + item.pos().x()
        if item.isVisible() and x0 <= x <= x1:
            image = item.pixmap().toImage()
            colour = image.pixelColor(image.width() // 2, image.height() // 2).name()
            side = {theme.left: "L", theme.right: "R"}[colour]
            marked[side].append(x)
    return {side: np.sort(x) for side, x in marked.items()}


def colour_pixels(pixels, hex_colour, tol=12):
    rgb = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)])
    return int(np.all(np.abs(pixels.astype(int) - rgb) <= tol, axis=2).sum())


def test_window_shows_the_engines_steps_cadence_and_cues(app, tmp_path):
    at_s = 280.0
    feed = played(FATIGUE, at_s)
    given = feed.snapshot(10, 60).cues
    assert len(given) >= 3  # the coach spoke: start reminder, cadence (228 s), hips (244 s), arch (259 s)
    steps, status = engine_until(FATIGUE, at_s)

    window = open_window(app, feed)
    try:
        now = status.t
        shown = steps[steps["t"] >= now - 10.0]
        assert len(shown) >= 20
        marked = markers_in_view(window, DARK)
        for side in ("L", "R"):
            np.testing.assert_allclose(marked[side], shown["t"][shown["side"] == side] - now, atol=1e-9)
        assert window.tiles["cadence"].value.text() == f"{status.cadence_spm:.0f}"
        assert window.tiles["time"].value.text() == f"{int(now) // 60}:{int(now) % 60:02d}"
        left_hip = steps[steps["side"] == "R"]["pelvic_drop_deg"][-1]  # landing right drops the left hip
        assert window.tiles["drop_L"].value.text() == f"{left_hip:.1f}"
        texts = window.cue_texts()
        assert len(texts) == len(given)
        for text, cue in zip(texts, reversed(given), strict=True):  # newest first
            response = f"\nresponse: {cue.response}" if cue.response else ""
            assert text == f"{int(cue.t) // 60}:{int(cue.t) % 60:02d}  {cue.text}\n{cue.reason}{response}"
        # a cue over 31 s before now shows how the runner responded (10-30 s after it); newer ones not yet
        answered = [c for c in given if c.t + 31.0 <= now and c.reason != "first running steps"]
        assert answered
        assert all(" → " in c.response for c in answered)
        assert any(c.response.startswith("pelvic drop ") for c in answered)
        assert all(not c.response for c in given if c.t + 30.0 > now)
        assert "Level your hips." in "".join(texts) and "Quicker, shorter steps." in "".join(texts)
        assert "rate seen: 200 Hz" in window.status_label.text()
        assert "= tilt proxy" in window.tilt_plot.titleLabel.text
        assert "standing baseline" in window.tilt_plot.titleLabel.text  # calibrated standing
        assert "threshold 7°" in window.drop_plot.titleLabel.text

        pixels = png_pixels(window, tmp_path, "dash.png")
        assert pixels.shape == (900, 1600, 3)
        assert pixels.std() > 20  # not a blank frame
        # step markers and drop bars in both side colours
        assert colour_pixels(pixels, DARK.left) > 500 and colour_pixels(pixels, DARK.right) > 500
        assert colour_pixels(pixels, DARK.background) > 0.3 * pixels.shape[0] * pixels.shape[1]
    finally:
        close_window(app, window)


def test_without_standing_calibration_the_tilt_plot_says_so(app):
    sim = simulate("no-standing", seed=1, rate_hz=100.0, duration_s=40.0)
    blocks = [SampleBlock(sim.t[i : i + 5], sim.acc[i : i + 5], sim.gyr[i : i + 5])
              for i in range(0, len(sim.t), 5)]
    feed = feed_until(blocks, Engine(100.0, emit_signals=True), 40.0, DashboardFeed())
    assert feed.snapshot(10, 60).status.calibration == "gait"
    window = open_window(app, feed)
    try:
        title = window.tilt_plot.titleLabel.text
        assert "no standing calibration: change from the running posture" in title
        assert "running posture" in title and "standing baseline" not in title
    finally:
        close_window(app, window)


def test_trunk_sensor_brings_the_trunk_lean_view(app):
    feed = feed_until(recording.blocks(TRUNK), recording.engine_with_signals(TRUNK), 60.0,
                      DashboardFeed())
    snap = feed.snapshot(10, 60)
    steps, status = snap.steps, snap.status
    assert status.trunk and np.isfinite(steps["trunk_lean_deg"]).all()
    window = open_window(app, feed)
    try:
        assert window.lean_plot.isVisible() and window.tiles["lean"].isVisible()
        assert window.tiles["lean"].value.text() == f"{steps['trunk_lean_deg'][-1]:.1f}"
        x, y = window.lean_points.getData()
        np.testing.assert_array_equal(y, steps["trunk_lean_deg"][steps["t"] >= status.t - 60.0])
    finally:
        close_window(app, window)


def test_coach_view_in_light_theme_has_big_numbers_and_cues(app, tmp_path):
    feed = played(WALK, 30.0)
    feed.add_cue(20.0, "Ease the arch. Tuck your pelvis.", "", "lumbar extension 9 deg")
    window = open_window(app, feed, theme="light", view="coach")
    try:
        assert not window.plots.isVisible()
        assert window.tiles["cadence"].value.font().pixelSize() > 90 or \
            window.tiles["cadence"].value.height() > 90
        assert window.cue_texts() == ["0:20  Ease the arch. Tuck your pelvis.\nlumbar extension 9 deg"]
        feed.add_response(20.0, "lumbar extension 9.0 → 5.5 deg: better by 3.5")
        assert window.refresh()
        assert window.cue_texts() == ["0:20  Ease the arch. Tuck your pelvis.\nlumbar extension 9 deg\n"
                                      "response: lumbar extension 9.0 → 5.5 deg: better by 3.5"]
        pixels = png_pixels(window, tmp_path, "coach.png")
        assert pixels.std() > 10
        assert colour_pixels(pixels, LIGHT.panel) > 0.3 * pixels.shape[0] * pixels.shape[1]
    finally:
        close_window(app, window)


class Recorder:
    """A sink that remembers the blocks it saw."""

    def __init__(self):
        self.starts: list[float] = []
        self.closed = 0

    def consume(self, block, out):
        if len(block):  # not the end of the stream (the steps the engine still owed)
            self.starts.append(float(block.t[0]))

    def close(self):
        self.closed += 1


def test_player_pauses_jumps_and_feeds_other_sinks_each_block_once():
    from imurun.ui.player import Player

    blocks = blocks_of(WALK)
    end_t = blocks[-1].t[-1]
    feed, sink = DashboardFeed(), Recorder()
    player = Player(lambda: blocks, lambda: recording.engine_with_signals(WALK), feed, [sink],
                    speed=float("inf"))
    player.pause()
    player.start()
    try:
        time.sleep(0.3)
        assert feed.version == 1 and sink.starts == []  # only the "paused" notice arrived
        player.resume()
        assert player.finished.wait(20)
        assert feed.snapshot(10, 60).status.t == end_t
        assert sink.starts == [b.t[0] for b in blocks] and sink.closed == 1

        player.set_speed(1.0)
        player.seek(30.0)  # back: the engine re-runs from the start, unpaced, up to 30 s
        deadline = time.monotonic() + 10
        while not 30.0 <= feed.snapshot(10, 60).status.t < 32.0 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.5)
        player.pause()
        time.sleep(0.1)
        snap = feed.snapshot(1e9, 1e9)
        assert 30.0 <= snap.status.t < 32.0, snap.status.t  # then on at 1x
        steps, _ = engine_until(WALK, snap.status.t)
        assert len(steps) >= 8
        for column in steps.dtype.names:  # the re-run gives the same steps
            np.testing.assert_array_equal(snap.steps[column], steps[column])
        assert len(sink.starts) == len(blocks) and sink.closed == 1  # never fed twice
    finally:
        player.stop()
        player.join(5)
    assert not player.is_alive() and player.error is None


def test_sliding_buffer_keeps_the_newest_rows_in_order():
    rng = np.random.default_rng(1)
    buf = SlidingBuffer(np.dtype([("t", "f8")]), capacity=50)
    written = []
    for _ in range(300):
        n = int(rng.integers(0, 70))
        rows = np.zeros(n, buf._buf.dtype)
        rows["t"] = len(written) + np.arange(n)
        written.extend(rows["t"])
        buf.extend(rows)
        got = buf.since(-1.0)["t"]
        assert len(got) >= min(len(written), 50)
        np.testing.assert_array_equal(got, written[len(written) - len(got) :])
    assert buf._buf.size == 100  # never grew


def test_feed_keeps_order_while_another_thread_reads():
    feed = DashboardFeed()
    engine = recording.engine_with_signals(WALK)
    blocks = blocks_of(WALK)
    stop = threading.Event()

    def draw():
        while not stop.is_set():
            snap = feed.snapshot(10, 60)
            assert np.all(np.diff(snap.signals["t"]) > 0)

    reader = threading.Thread(target=draw)
    reader.start()
    try:
        for block in blocks:
            feed.consume(block, engine.process(block.t, block.acc, block.gyr))
    finally:
        stop.set()
        reader.join()
    snap = feed.snapshot(10, 60)
    end_t = blocks[-1].t[-1]
    assert snap.signals["t"][-1] == end_t and end_t - 10 <= snap.signals["t"][0] < end_t - 9.9


def test_replay_window_controls_drive_the_player(app):
    from imurun.coach.profile import RunnerProfile
    from imurun.coach.sink import CoachSink
    from imurun.ui.launch import open_replay_window

    coach = CoachSink(RunnerProfile(), outputs=(), console=None)
    sink = Recorder()
    window, player = open_replay_window(FATIGUE, speed=float("inf"), sinks=[sink], coach=coach,
                                        info={"sensor": "simulator", "battery_pct": 87.0})
    controls = window.centralWidget().layout().itemAt(0).widget()
    try:
        deadline = time.monotonic() + 90
        while not player.finished.is_set() and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)
        assert player.finished.is_set() and sink.closed == 1, (player.t, player.error)
        app.processEvents()
        window.refresh()
        assert window.tiles["time"].value.text() == "6:59"  # the whole 420 s run
        assert len(window.cue_texts()) == len(coach.cues) >= 10  # every cue the coach gave, shown
        status_bar = window.status_label.text()
        assert "end of recording" in status_bar and "recording: fatigue.csv" in status_bar
        assert "sensor: simulator" in status_bar and "battery: 87 %" in status_bar

        controls.speed_box.setCurrentIndex(0)  # 1x
        assert player.speed == 1.0
        controls.jump_box.setValue(100.0)
        controls.jump_button.click()
        deadline = time.monotonic() + 10
        while not 100.0 <= player.t < 101.0 and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)
        controls.pause_button.click()
        assert player.paused and controls.pause_button.text() == "Resume"
        time.sleep(0.2)
        paused_at = player.t
        assert 100.0 <= paused_at < 101.5
        time.sleep(0.3)
        assert player.t == paused_at
        app.processEvents()
        window.refresh()
        assert window.tiles["time"].value.text() == "1:40"
        # after the jump back, cues later than the shown time are hidden
        assert all(int(text.split()[0].split(":")[0]) * 60 + int(text.split()[0].split(":")[1]) <= 100
                   for text in window.cue_texts())
        assert len(sink.starts) == len(set(sink.starts))  # the coach/recorder never saw a block twice
    finally:
        player.stop()
        player.join(5)
        close_window(app, window)


def test_render_screenshot_of_a_session_without_a_display(app, tmp_path):
    from imurun.ui.screenshot import render_screenshot

    out = tmp_path / "shot.png"
    render_screenshot(FATIGUE, 45.0, out, theme="light", size=(1280, 720))
    pixels = read_png(out)
    assert pixels.shape == (720, 1280, 3)
    assert pixels.std() > 20
    assert colour_pixels(pixels, LIGHT.background) > 0.2 * 1280 * 720
    assert colour_pixels(pixels, LIGHT.left) > 200 and colour_pixels(pixels, LIGHT.right) > 200


def test_live_dashboard_draws_a_feed_filled_by_another_thread(app):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from imurun.ui.dashboard import Dashboard
    from imurun.ui.launch import run_live_dashboard

    feed = DashboardFeed()
    feed.set_info(sensor="virtual sensor", recording="live.csv")
    stop = threading.Event()

    engine = recording.engine_with_signals(FATIGUE)
    blocks = blocks_of(FATIGUE)
    done = [b for b in blocks if b.t[-1] < 30.0]  # the run is 30 s in when the window opens
    for block in done:
        feed.consume(block, engine.process(block.t, block.acc, block.gyr))

    def engine_thread():  # stands in for the BLE loop: blocks at the live pace
        wall0, t0 = time.monotonic(), done[-1].t[-1]
        for block in blocks[len(done) :]:
            if stop.is_set():
                return
            time.sleep(max(0.0, wall0 + (block.t[-1] - t0) - time.monotonic()))
            feed.consume(block, engine.process(block.t, block.acc, block.gyr))

    seen: list[tuple[str, int]] = []

    def look_and_close():
        window = next(w for w in QApplication.topLevelWidgets() if isinstance(w, Dashboard) and w.isVisible())
        seen.append((window.tiles["cadence"].value.text(), window.frames))
        window.close()

    worker = threading.Thread(target=engine_thread)
    worker.start()
    QTimer.singleShot(2500, look_and_close)
    assert run_live_dashboard(feed, theme="light", on_close=stop.set) == 0
    worker.join(5)
    assert stop.is_set() and not worker.is_alive()
    cadence, frames = seen[0]
    assert frames >= 10  # the timer kept drawing while the engine thread fed it (rate: the benchmark)
    assert cadence.isdigit() and 31.0 < feed.snapshot(10, 60).status.t < 40.0  # live pace, running


def test_recalibrate_mid_run_from_the_live_window(app):
    """The coach beside the treadmill presses B (or the Recalibrate button) after re-clipping the
    sensor: the live run's engine waits for the runner to stand still, the status bar says so, and
    standing still takes the new baseline."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QPushButton

    from imurun.blocks import SampleBlock
    from imurun.live.app import LiveRun
    from imurun.pipeline import Pipeline
    from imurun.ui.dashboard import Dashboard

    said: list[str] = []
    feed = DashboardFeed()
    run = LiveRun({"pelvis": {}}, 200, None, None, Path("unused.csv"), None, [feed], say=said.append)
    run.pipeline = Pipeline(recording.engine_with_signals(FATIGUE), run.sinks)  # as run() makes it
    blocks = blocks_of(FATIGUE)
    running = [b for b in blocks if b.t[-1] < 30.0]
    for block in running:
        run.pipeline.feed(block)
    window = Dashboard(feed, on_recalibrate=run.recalibrate)
    window.refresh(force=True)
    assert "calibration: standing" in window.status_label.text()
    buttons = [b for b in window.findChildren(QPushButton) if b.text() == "Recalibrate (B)"]
    assert len(buttons) == 1 and not [b for b in Dashboard(feed).findChildren(QPushButton)
                                      if b.text().startswith("Recalibrate")]

    QTest.keyClick(window, Qt.Key.Key_B)
    run._recalibrate_if_asked()  # the engine thread takes the request before its next block
    for block in blocks[len(running) : len(running) + 20]:  # still running
        run.pipeline.feed(block)
    window.refresh(force=True)
    assert "calibration: waiting for 2 s of standing still" in window.status_label.text()
    assert any("stand tall and still" in line for line in said)

    t0 = float(blocks[len(running) + 19].t[-1])  # then the runner stands still for 3 s
    t = t0 + np.arange(1, 601) / 200.0
    up = np.mean(blocks[0].acc, axis=0)  # the recording starts standing: gravity in the sensor frame
    still = SampleBlock(t, np.tile(up, (600, 1)), np.zeros((600, 3)))
    run.pipeline.feed(still)
    window.refresh(force=True)
    assert "calibration: standing" in window.status_label.text()
    buttons[0].click()
    run._recalibrate_if_asked()
    waiting = Flag(FlagKind.NOTE, "waiting for 2 s of standing still")
    assert run.pipeline.engine.status().flags.get("calibration") == waiting
    window.close()
