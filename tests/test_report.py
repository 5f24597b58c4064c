"""The HTML report of the bundled recordings and simulated sessions: its numbers are summary.json's,
its reading matches the simulated truth, and it renders in a real headless Chromium with no console
error and visible plots."""

import json
import math
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from imurun.analyze import analyze
from imurun.cli import main as cli_main
from imurun.coach.cues import read_cues_csv
from imurun.coach.profile import RunnerProfile
from imurun.coach.sink import CoachSink
from imurun.core.output import Flag, FlagKind
from imurun.pipeline import run_session
from imurun.report import write_report
from imurun.report.plots import LEFT, RIGHT
from imurun.session.truth import read_steps_csv

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


RECORDINGS = Path(__file__).resolve().parent.parent / "imurun" / "recordings"
# Session files only: not the truth (NAME.steps.csv) or second-sensor (NAME.trunk.csv) files.
SESSIONS = sorted(p for p in RECORDINGS.glob("*.csv") if len(p.suffixes) == 1)


def _coach(session: Path, cue_log: Path) -> None:
    """Replay the session through the engine and the coach in 0.2 s blocks, as a live run would;
    the coach writes its cue log."""
    coach = CoachSink(RunnerProfile(), cue_log=cue_log, console=None)
    run_session(session, [coach], block_s=0.2)


def _report(session: Path, out: Path, coach: bool = False) -> tuple[Path, dict]:
    """`imurun analyze` writes out/summary.json; write_report, given only the session path, analyses
    on its own and finds the coach's out/cues.csv next to the report. Returns (html, summary.json)."""
    analyze(session, out)
    if coach:
        _coach(session, out / "cues.csv")
    html = write_report(session, out / "report.html", profile=RunnerProfile())
    return html, json.loads((out / "summary.json").read_text())


@pytest.fixture(scope="module")
def fatigue(tmp_path_factory):
    return _report(RECORDINGS / "fatigue.csv", tmp_path_factory.mktemp("fatigue"), coach=True)


def test_bundled_recordings_are_there():
    assert {"fatigue.csv", "easy-run.csv"} <= {p.name for p in SESSIONS}


def _assert_page_shows_summary(path: Path, summary: dict) -> None:
    numbers = _parse(path).numbers
    for key, shown in numbers.items():
        assert shown == _lookup(summary, key), key
    # ... and the page shows every figure the summary has for the metrics the run produced.
    expected = {"duration_s", "steps", "cadence_mean_spm", "time_running_s", "time_walking_s", "quality.gaps",
                "quality.calibration", "quality.packet_loss_pct", "quality.sample_rate_hz"}
    expected |= {f"quality.flags.{k}" for k in summary["quality"]["flags"]}
    for col, m in summary["metrics"].items():
        if m["all"]["n"]:
            expected |= {f"metrics.{col}.{side}.{stat}" for side in ("L", "R", "all")
                         for stat in ("mean", "sd") if stat == "mean" or m[side]["mean"] is not None}
            expected.add(f"metrics.{col}.asymmetry_pct")
    for i in range(len(summary["splits"])):
        expected |= {f"splits.{i}.{k}" for k in ("steps", "cadence_spm", "tilt_deg", "contact_time_s",
                                                  "braking_mps", "pelvic_drop_deg.L", "pelvic_drop_deg.R")}
    assert expected <= set(numbers), sorted(expected - set(numbers))[:5]


def test_fatigue_page_numbers_are_summary_json(fatigue):
    path, summary = fatigue
    _assert_page_shows_summary(path, summary)
    assert summary["metrics"]["pelvic_drop_deg"]["L"]["n"] > 100  # the check compared real numbers


@pytest.mark.parametrize("session", [p for p in SESSIONS if p.name != "fatigue.csv"], ids=lambda p: p.stem)
def test_recording_page_numbers_are_summary_json(session, tmp_path):
    path, summary = _report(session, tmp_path)
    _assert_page_shows_summary(path, summary)
    numbers = _parse(path).numbers
    if summary["quality"]["trunk_sensor"]:  # measured lumbar extension is shown and not labelled a proxy
        assert "metrics.lumbar_ext_deg.L.mean" in numbers and "metrics.trunk_lean_deg.all.mean" in numbers
        assert "quality.flags.lumbar_ext_deg" not in numbers
    if session.stem == "easy-run":
        sentences = _parse(path).sentences
        assert not any(" rose " in s or " fell " in s for s in sentences), sentences
        assert any(s.startswith("No metric changed beyond its threshold") for s in sentences), sentences


@pytest.mark.parametrize("scenario,duration", [("intervals", 160.0), ("loose-mount", 60.0), ("walk", 60.0),
                                               ("no-standing", 60.0), ("slip", 100.0)])
def test_simulated_scenario_page_numbers_are_summary_json(scenario, duration, tmp_path):
    """The simulator's other scenarios (walk/run mixes, loss, no calibration, a slipped sensor)."""
    from imurun.sources.simulate import simulate, write_files

    session = tmp_path / f"{scenario}.csv"
    write_files(simulate(scenario, seed=3, rate_hz=100.0, duration_s=duration), session)
    path, summary = _report(session, tmp_path / "out")
    _assert_page_shows_summary(path, summary)
    numbers = _parse(path).numbers
    if scenario == "intervals":
        assert numbers["time_walking_s"] > 30 and numbers["time_running_s"] > 30
    if scenario == "no-standing":
        assert numbers["quality.calibration"] == "gait" and "quality.flags.tilt_deg" in numbers
    if scenario == "slip":
        assert summary["quality"]["mount_changes"] >= 1 and "quality.flags.mount" in numbers


def test_fatigue_reading_says_what_the_scenario_did(fatigue):
    sentences = _parse(fatigue[0]).sentences
    # Truth (docs/simulator.md): right-stance drop 5 -> 9 deg (the left hip drops), cadence -6 %,
    # tilt 4 -> 7 deg, linearly over the run.
    drop = [s for s in sentences if s.startswith("Pelvic drop of the left hip rose")]
    cadence = [s for s in sentences if s.startswith("Cadence fell")]
    tilt = [s for s in sentences if s.startswith("Anterior pelvic tilt rose")]
    assert drop and cadence and tilt, sentences
    assert all("gradually over the run" in s for s in drop + cadence + tilt)
    assert not any(s.startswith("Pelvic drop of the right hip") and "rose" in s for s in sentences)
    early, late = (float(x.rstrip("°")) for x in drop[0].split("from ")[1].split(" ")[0:3:2])
    assert 5.0 <= early <= 6.5 and 7.5 <= late <= 9.0  # quarter medians of a 5 -> 9 ramp: 5.5, 8.5
    pct = float(cadence[0].split("(")[1].split(" %")[0])
    assert 3.0 <= pct <= 6.0  # 3/4 of the 6 % fall lies between the quarters' middles
    # The cadence band is the coach's: its baseline (about 168 spm, measured after the quiet start)
    # +- 3 %.
    lo, hi = (int(x) for x in re.search(r"target (\d+)–(\d+) spm", fatigue[0].read_text()).groups())
    assert lo < 168 < hi and (hi - lo) == pytest.approx(0.06 * (hi + lo) / 2, abs=1.5)
    # The coach heard the same run and asked to level the left hip; the page counts its cues.
    cue_line = [s for s in sentences if s.startswith("The coach gave")]
    assert cue_line and "level hips (left)" in cue_line[0], sentences
    logged = (fatigue[0].parent / "cues.csv").read_text().count("\n") - 1
    assert cue_line[0].startswith(f"The coach gave {logged} cues")


def _section(html: str, ident: str) -> str:
    start = html.index(f'<section id="{ident}">')
    return html[start : html.index("</section>", start)]


def test_fatigue_page_says_whether_the_cues_worked(fatigue):
    """Per cue type: how often, before / after medians from the cue log, how many improved; a plot."""
    part = _section(fatigue[0].read_text(), "response")
    assert "<h2>Did the cues work?</h2>" in part and part.count("<svg") == 1
    logged = read_cues_csv(fatigue[0].parent / "cues.csv")
    hips = [c for c in logged if c.cue == "level_hips" and c.side == "L"]
    assert len(hips) >= 3 and all(np.isfinite(c.before) for c in hips)
    done = [c for c in hips if np.isfinite(c.after)]
    better = [c.before - c.after for c in done]
    row = re.search(r"<tr><td>level hips \(left hip\)</td><td>pelvic drop \(deg\)</td>(.*?)</tr>", part)
    assert row, part[:2000]
    cells = re.findall(r"<td>(.*?)</td>", row.group(1))
    assert cells[:2] == [str(len(hips)), str(len(done))]
    medians = [np.median([c.before for c in done]), np.median([c.after for c in done])]
    assert cells[2:5] == [f"{medians[0]:.1f}", f"{medians[1]:.1f}", f"{np.median(better):+.1f}"]
    assert cells[5] == f"{sum(b > 0 for b in better)} of {len(done)}"
    assert "regression to the mean" in part


def test_a_cue_log_without_response_columns_is_said_so(tmp_path):
    session = RECORDINGS / "easy-run.csv"
    (tmp_path / "cues.csv").write_text('t,cue,side,priority,reason\n11.5,start,,5,first running steps\n'
                                       '60.0,ease_arch,,2,"anterior tilt median 6.3 deg, 8 of 10 steps"\n')
    html = write_report(session, tmp_path / "r.html", cues_csv=tmp_path / "cues.csv", profile=RunnerProfile())
    part = _section(html.read_text(), "response")
    assert "the cue log has no response columns (written by an earlier version)" in part


def test_standing_only_session_through_the_command_line(tmp_path, capsys):
    session, html = tmp_path / "standing.csv", tmp_path / "standing.html"
    simulate = ["simulate", "--scenario", "standing", "--seed", "1", "--rate", "100", "--duration", "30",
                "--out", str(session)]
    assert cli_main(simulate) == 0
    assert cli_main(["report", str(session), "--out", str(html)]) == 0
    assert capsys.readouterr().out.endswith(f"report: {html}\n")
    page = _parse(html)
    assert page.numbers["steps"] == 0 and page.numbers["quality.calibration"] == "standing"
    assert page.sentences == ["No steps were detected in these 0.5 minutes: nothing to say about running "
                              "form."]
    assert html.read_text().count("no steps with this metric") == 4  # every time plot says so
    assert "no target band: the coach never set a cadence target" in html.read_text()


def test_report_of_given_steps_summarises_them_on_the_sessions_data_quality(tmp_path):
    # The simulator's truth steps, reported against their session: the numbers are the truth's, the
    # data quality is what the engine saw in the samples.
    session = RECORDINGS / "easy-run.csv"
    truth = read_steps_csv(session.with_suffix(".steps.csv"))
    path = write_report(session, tmp_path / "truth.html", steps=truth, profile=RunnerProfile())
    numbers = _parse(path).numbers
    _, analysed = analyze(session)
    assert numbers["steps"] == len(truth) and numbers["quality.samples"] == analysed["quality"]["samples"]
    drop_l = truth["pelvic_drop_deg"][truth["side"] == "L"]
    assert numbers["metrics.pelvic_drop_deg.L.mean"] == pytest.approx(np.nanmean(drop_l), rel=1e-12)
    assert numbers["duration_s"] == analysed["duration_s"]


def test_low_confidence_angles_are_said_in_the_reading(tmp_path):
    # No standing still at the start: the engine calibrates on gait and flags drop and tilt.
    session = tmp_path / "no-standing.csv"
    assert cli_main(["simulate", "--scenario", "no-standing", "--seed", "1", "--rate", "100",
                     "--duration", "60", "--out", str(session)]) == 0
    path, summary = _report(session, tmp_path)
    assert summary["quality"]["calibration"] == "gait"
    flag = Flag.parse(summary["quality"]["flags"]["pelvic_drop_deg"])
    assert flag.kind is FlagKind.LOW_CONFIDENCE
    sentences = _parse(path).sentences
    assert f"Anterior pelvic tilt and pelvic drop are of low confidence: {flag.text}." in sentences
    # no standing baseline: tilt is shown, and was coached, as its change from the early-run posture
    assert any(s.startswith("No standing calibration: anterior tilt is relative to the running posture, so "
                            "the coach judged its change from the early-run posture") for s in sentences)
    charts = _section(path.read_text(), "charts")
    assert "tilt per step as its CHANGE FROM THE EARLY-RUN POSTURE" in charts
    assert "change from early run (°)" in charts and "threshold 2" in charts


def test_session_with_a_gap_reports_it_and_leaves_the_gap_empty(tmp_path):
    # Cut 80 s of samples out of the easy run: a hole in the recording.
    lines = (RECORDINGS / "easy-run.csv").read_text().splitlines(keepends=True)
    body = lines.index("t,ax,ay,az,gx,gy,gz\n") + 1
    kept = [ln for ln in lines[body:] if not 110.0 <= float(ln.split(",", 1)[0]) < 190.0]
    at = next(i for i, ln in enumerate(kept) if float(ln.split(",", 1)[0]) >= 190.0)
    kept.insert(at, "# note: 190.0 link lost: no packets for 80 s\n")  # as a live recorder notes it
    session = tmp_path / "gap.csv"
    session.write_text("".join(lines[:body] + kept))
    path, summary = _report(session, tmp_path)
    page = _parse(path)
    assert page.numbers["quality.gaps"] >= 1 and page.numbers["quality.gap_time_s"] >= 80.0
    gaps = [s for s in page.sentences if s.startswith("The data has")]
    assert gaps and float(gaps[0].split("(")[1].split(" s in total")[0]) >= 80.0, page.sentences
    assert page.numbers["splits.2.steps"] == 0  # minute 2 lies inside the gap
    assert page.numbers["splits.2.cadence_spm"] is None
    assert page.numbers["splits.3.steps"] > 100  # and running resumed after it
    assert "<td>3:10.0</td><td>link lost: no packets for 80 s</td>" in path.read_text()


def test_page_is_self_contained(fatigue):
    assert_self_contained(fatigue[0])


def assert_self_contained(path: Path) -> None:
    """No script, no external reference: the page opens offline."""
    text = path.read_text()
    page = _parse(path)
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


def render(html: Path, png: Path, profile_dir: Path, height: int = 2400) -> list[str]:
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


def test_cli_rejects_a_missing_session_in_one_line(tmp_path, capsys):
    assert cli_main(["report", str(tmp_path / "nope.csv")]) == 2
    err = capsys.readouterr().err
    assert err == f"imurun report: error: {tmp_path / 'nope.csv'}: no such session file\n"


def test_numbers_render_missing_values_as_a_dash():
    from imurun.report.html import keyed

    assert keyed("a.b", None).endswith(">—</span>") and 'data-value="null"' in keyed("a.b", None)
    assert 'data-value="NaN"' not in keyed("a", math.nan)
