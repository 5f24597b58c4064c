"""The HTML report: its numbers are summary.json's, its reading matches the simulated truth, and it
renders in a real headless Chromium with no console error and visible plots."""

import functools
import json
import math
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from imurun.blocks import SampleBlock
from imurun.coach.profile import RunnerProfile
from imurun.coach.sink import CoachSink
from imurun.core.engine import Engine
from imurun.pipeline import run_pipeline
from imurun.report import write_report
from imurun.report.plots import LEFT, RIGHT
from imurun.sources.simulate import simulate
from imurun.summary import summarize

CHROMIUM = "/usr/bin/chromium"


class _Page(HTMLParser):
    """Collects every data-key / data-value pair and the reading's sentences."""

    def __init__(self):
        super().__init__()
        self.numbers: dict[str, object] = {}
        self.sentences: list[str] = []
        self._in_reading = self._in_li = False
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if "data-key" in a:
            assert a["data-key"] not in self.numbers, f"{a['data-key']} shown twice"
            self.numbers[a["data-key"]] = json.loads(a["data-value"])
        if tag == "ul" and a.get("class") == "reading":
            self._in_reading = True
        if tag == "li" and self._in_reading:
            self._in_li = True
            self.sentences.append("")

    def handle_endtag(self, tag):
        if tag == "ul":
            self._in_reading = False
        if tag == "li":
            self._in_li = False

    def handle_data(self, data):
        if self._in_li:
            self.sentences[-1] += data


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def _lookup(summary: dict, dotted: str) -> object:
    node: object = summary
    for part in dotted.split("."):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


@functools.lru_cache(maxsize=4)
def _simulate(scenario: str):
    return simulate(scenario, seed=1, rate_hz=100.0)


class _Steps:
    """Sink keeping every step row the engine emits."""

    def __init__(self):
        self.rows = []

    def consume(self, block, out):
        self.rows.append(out.steps)

    def close(self):
        pass


def _report(tmp_path: Path, scenario: str, cut=None):
    """Report of a simulated session run through the engine and the coach in 0.2 s blocks, as a
    live run would (the coach writes cues.csv next to the session); returns (html, summary.json)."""
    sim = _simulate(scenario)
    t, acc, gyr = sim.t, sim.acc, sim.gyr
    if cut is not None:  # a hole in the recording: its samples are gone
        keep = (t < cut[0]) | (t >= cut[1])
        t, acc, gyr = t[keep], acc[keep], gyr[keep]
    blocks = [SampleBlock(t[i : i + 20], acc[i : i + 20], gyr[i : i + 20]) for i in range(0, len(t), 20)]
    collected = _Steps()
    coach = CoachSink(RunnerProfile(), cue_log=tmp_path / "cues.csv", console=None)
    status = run_pipeline(blocks, Engine(sample_rate_hz=100.0), [collected, coach])
    steps = np.concatenate(collected.rows)
    summary = json.loads(json.dumps(summarize(steps, status, float(t[-1]), {"device": sim.device})))
    report = write_report(tmp_path / f"{scenario}.csv", tmp_path / f"{scenario}.html", steps=steps,
                          summary=summary, profile=RunnerProfile())
    return report, summary


@pytest.fixture(scope="module")
def fatigue(tmp_path_factory):
    return _report(tmp_path_factory.mktemp("fatigue"), "fatigue")


@pytest.fixture(scope="module")
def easy(tmp_path_factory):
    return _report(tmp_path_factory.mktemp("easy"), "easy-run")


def test_every_number_on_the_page_is_the_summary_json_value(fatigue):
    path, summary = fatigue
    numbers = _parse(path).numbers
    for key, shown in numbers.items():
        assert shown == _lookup(summary, key), key
    # ... and the page shows every figure the summary has for the metrics the run produced.
    expected = {"duration_s", "steps", "cadence_mean_spm", "time_running_s", "time_walking_s", "quality.gaps",
                "quality.calibration", "quality.packet_loss_pct", "quality.flags.lumbar_ext_deg"}
    for col, m in summary["metrics"].items():
        if m["all"]["n"]:
            expected |= {f"metrics.{col}.{side}.{stat}" for side in ("L", "R", "all")
                         for stat in ("mean", "sd")}
            expected.add(f"metrics.{col}.asymmetry_pct")
    for i in range(len(summary["splits"])):
        expected |= {f"splits.{i}.{k}" for k in ("steps", "cadence_spm", "tilt_deg", "contact_time_s",
                                                  "braking_mps", "pelvic_drop_deg.L", "pelvic_drop_deg.R")}
    assert expected <= set(numbers), sorted(expected - set(numbers))[:5]
    assert summary["metrics"]["pelvic_drop_deg"]["L"]["n"] > 100  # the check above compared real numbers


def test_fatigue_reading_says_what_the_scenario_did(fatigue):
    sentences = _parse(fatigue[0]).sentences
    # Truth: right-stance drop 5 -> 9 deg (the left hip drops), cadence -6 %, tilt 4 -> 7 deg.
    drop = [s for s in sentences if s.startswith("Pelvic drop of the left hip rose")]
    cadence = [s for s in sentences if s.startswith("Cadence fell")]
    tilt = [s for s in sentences if s.startswith("Anterior pelvic tilt rose")]
    assert drop and cadence and tilt, sentences
    assert not any(s.startswith("Pelvic drop of the right hip") and "rose" in s for s in sentences)
    early, late = (float(x.rstrip("°")) for x in drop[0].split("from ")[1].split(" ")[0:3:2])
    assert 5.0 <= early <= 6.5 and 7.5 <= late <= 9.0  # quarter medians of a 5 -> 9 ramp: 5.5, 8.5
    pct = float(cadence[0].split("(")[1].split(" %")[0])
    assert 3.0 <= pct <= 6.0  # 3/4 of the 6 % fall lies between the quarters' middles
    # The coach heard the same run: it asked to level the left hip.
    cue_line = [s for s in sentences if s.startswith("The coach gave")]
    assert cue_line and "level hips (left)" in cue_line[0], sentences


def test_easy_run_reading_claims_no_change(easy):
    sentences = _parse(easy[0]).sentences
    assert not any(" rose " in s or " fell " in s for s in sentences), sentences
    assert any(s.startswith("No metric changed beyond its threshold") for s in sentences)


def test_standing_only_session_gives_a_sensible_report(tmp_path):
    path, summary = _report(tmp_path, "standing")
    page = _parse(path)
    assert summary["steps"] == 0
    assert page.numbers["steps"] == 0
    assert page.sentences[0].startswith("No steps were detected in these 1.0 minutes")
    assert "no steps with this metric" in path.read_text()


def test_session_with_a_gap_reports_it_and_leaves_the_gap_empty(tmp_path):
    path, summary = _report(tmp_path, "easy-run", cut=(110.0, 190.0))
    page = _parse(path)
    assert page.numbers["quality.gaps"] >= 1 and page.numbers["quality.gap_time_s"] >= 80.0
    gaps = [s for s in page.sentences if s.startswith("The data has")]
    assert gaps and float(gaps[0].split("(")[1].split(" s in total")[0]) >= 80.0, page.sentences
    assert page.numbers["splits.2.steps"] == 0  # minute 2 lies inside the gap
    assert page.numbers["splits.2.cadence_spm"] is None
    assert page.numbers["splits.3.steps"] > 100  # and running resumed after it


def test_page_is_self_contained(fatigue):
    text = fatigue[0].read_text()
    page = _parse(fatigue[0])
    assert not any(tag in ("script", "link", "iframe", "img", "object", "embed") for tag, _ in page.tags)
    for _, attrs in page.tags:  # only in-page references: SVG ids and embedded raster data
        for name, value in attrs.items():
            if name in ("src", "href", "xlink:href"):
                assert value.startswith(("#", "data:image/png;base64,")), (name, value[:60])
    assert "@import" not in text and "@font-face" not in text
    assert re.findall(r"url\((?!#)", text) == []


def _colour_pixels(png: Path, hex_colour: str, tol: int = 40) -> int:
    import matplotlib.image

    rgb = (matplotlib.image.imread(png)[..., :3] * 255).astype(int)
    want = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)])
    return int(np.sum(np.all(np.abs(rgb - want) <= tol, axis=-1)))


def render(html: Path, png: Path, profile_dir: Path, height: int = 5200) -> list[str]:
    """Screenshot `html` with headless Chromium; return the console messages it logged."""
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile_dir}", "--enable-logging=stderr", "--v=0", "--hide-scrollbars",
         f"--window-size=1200,{height}", f"--screenshot={png}", html.resolve().as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]


def test_report_renders_in_chromium_with_plots_and_no_console_error(fatigue, tmp_path):
    assert shutil.which(CHROMIUM), "the report test needs the Debian chromium package (make system-packages)"
    png = tmp_path / "page.png"
    assert render(fatigue[0], png, tmp_path / "profile") == []
    # The plots are drawn: both side colours cover many pixels (median lines, dots, histograms);
    # without the plots only two short headings carry them.
    assert _colour_pixels(png, LEFT) > 2000 and _colour_pixels(png, RIGHT) > 2000
    import matplotlib.image

    img = matplotlib.image.imread(png)
    assert img.std() > 0.05  # not a blank page


def test_cli_writes_the_report_and_rejects_a_missing_session(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "imurun", "report", str(tmp_path / "nope.csv")],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "nope.csv" in proc.stderr and "Traceback" not in proc.stderr


def test_numbers_render_missing_values_as_a_dash():
    from imurun.report.html import keyed

    assert keyed("a.b", None).endswith(">—</span>") and 'data-value="null"' in keyed("a.b", None)
    assert 'data-value="NaN"' not in keyed("a", math.nan)
