"""The dashboard in a real offscreen Qt window, fed by the real engine on a real recording."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from imurun.blocks import SampleBlock
from imurun.core.engine import Engine
from imurun.ui.feed import DashboardFeed, SlidingBuffer, Targets
from imurun.ui.qt import qt_app
from imurun.ui.screenshot import feed_until
from imurun.ui.theme import DARK, LIGHT

RECORDING = "/work/shared/data/real/HA_001_Test11_Trial1.csv"  # 137 s of walking, 100 Hz
RATE = 100.0
BLOCK = 10


@pytest.fixture(scope="module")
def app():
    return qt_app(offscreen=True)


@pytest.fixture(scope="module")
def samples():
    data = np.loadtxt(RECORDING, delimiter=",", comments="#", skiprows=9)
    return data[:, 0], data[:, 1:4], np.deg2rad(data[:, 4:7])


def blocks_of(samples):
    t, acc, gyr = samples
    cuts = range(0, len(t), BLOCK)
    return [SampleBlock(t[i : i + BLOCK], acc[i : i + BLOCK], gyr[i : i + BLOCK]) for i in cuts]


def engine_until(samples, at_s):
    """The engine's own steps and status over the samples up to at_s (reference for the window)."""
    t, acc, gyr = samples
    keep = t <= at_s
    out = Engine(sample_rate_hz=RATE).process(t[keep], acc[keep], gyr[keep])
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
    from PySide6.QtGui import QImage

    path = tmp_path / name
    window.save_png(path)
    img = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())
    return rows[:, : img.width() * 3].reshape(img.height(), img.width(), 3)


def colour_pixels(pixels, hex_colour, tol=12):
    rgb = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)])
    return int(np.all(np.abs(pixels.astype(int) - rgb) <= tol, axis=2).sum())


def test_window_shows_the_engines_steps_cadence_and_cues(app, samples, tmp_path):
    at_s = 48.0  # inside a walking bout of the reference
    feed = feed_until(blocks_of(samples), RATE, at_s, DashboardFeed())
    cues = [(21.5, "Right hip dropping. Level your hips.", "R", "pelvic drop 8.1 deg on 7 of 8 steps"),
            (41.0, "Quicker, shorter steps.", "", "cadence 150 below 160")]
    for cue in cues:
        feed.add_cue(*cue)
    feed.set_targets(Targets(cadence_spm=116.0, pelvic_drop_deg=7.0))
    steps, status = engine_until(samples, at_s)
    assert len(steps) > 20 and status.cadence_spm > 0  # the recording really is walking

    window = open_window(app, feed)
    try:
        now = status.t
        shown = steps[steps["t"] >= now - 10.0]
        assert len(shown) >= 8
        for side in ("L", "R"):
            x, _ = window.markers[side].getData()
            np.testing.assert_array_equal(np.sort(x), shown["t"][shown["side"] == side])
        assert window.tiles["cadence"].value.text() == f"{status.cadence_spm:.0f}"
        assert window.tiles["time"].value.text() == f"{int(now) // 60}:{int(now) % 60:02d}"
        texts = window.cue_texts()
        assert len(texts) == 2
        assert texts[0].startswith("0:41  Quicker, shorter steps.")  # newest first
        assert "Right hip dropping. Level your hips." in texts[1] and "7 of 8 steps" in texts[1]
        assert "rate seen: 100 Hz" in window.status_label.text()
        assert "calibration: gait" in window.status_label.text()
        assert "= tilt proxy" in window.tilt_plot.titleLabel.text

        pixels = png_pixels(window, tmp_path, "dash.png")
        assert pixels.shape == (900, 1600, 3)
        assert pixels.std() > 20  # not a blank frame
        # step markers and drop bars in both side colours
        assert colour_pixels(pixels, DARK.left) > 500 and colour_pixels(pixels, DARK.right) > 500
        assert colour_pixels(pixels, DARK.background) > 0.3 * pixels.shape[0] * pixels.shape[1]
    finally:
        close_window(app, window)


def test_coach_view_in_light_theme_has_big_numbers_and_cues(app, samples, tmp_path):
    feed = feed_until(blocks_of(samples)[:300], RATE, 1e9, DashboardFeed())
    feed.add_cue(20.0, "Ease the arch. Tuck your pelvis.", "", "lumbar extension 9 deg")
    window = open_window(app, feed, theme="light", view="coach")
    try:
        assert not window.plots.isVisible()
        assert window.tiles["cadence"].value.font().pixelSize() > 90 or \
            window.tiles["cadence"].value.height() > 90
        assert window.cue_texts() == ["0:20  Ease the arch. Tuck your pelvis.\nlumbar extension 9 deg"]
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
        self.starts.append(float(block.t[0]))

    def close(self):
        self.closed += 1


def test_player_pauses_jumps_and_feeds_other_sinks_each_block_once(samples):
    from imurun.ui.player import Player

    blocks = blocks_of(samples)
    feed, sink = DashboardFeed(), Recorder()
    player = Player(lambda: blocks, lambda: Engine(sample_rate_hz=RATE, emit_signals=True), feed, [sink],
                    speed=float("inf"))
    player.pause()
    player.start()
    try:
        time.sleep(0.3)
        assert feed.version == 1 and sink.starts == []  # only the "paused" notice arrived
        player.resume()
        assert player.finished.wait(20)
        assert feed.snapshot(10, 60).status.t == pytest.approx(samples[0][-1])
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
        steps, _ = engine_until(samples, snap.status.t)
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


def test_feed_never_blocks_the_engine_thread_while_drawing_reads(samples):
    feed = DashboardFeed()
    engine = Engine(sample_rate_hz=RATE, emit_signals=True)
    blocks = blocks_of(samples)
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
    assert snap.signals["t"][-1] == samples[0][-1] and snap.signals["t"][0] >= samples[0][-1] - 10
