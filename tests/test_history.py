"""`imurun history`: trends with honest uncertainty, numbers that are the cohort table's, and a page that
renders offline in headless Chromium like the run report."""

import datetime as dt
import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from test_report import CHROMIUM, _colour_pixels, _parse, assert_self_contained, render

from imurun.batch import run_batch
from imurun.cli import main as cli_main
from imurun.coach.profile import Cadence, RunnerProfile
from imurun.cohort import cohort_rows
from imurun.report.history import fit_trend, write_history
from imurun.report.plots import LEFT, RIGHT
from imurun.sources.simulate import simulate, write_files


def test_trend_is_the_least_squares_line_with_its_t_interval():
    rng = np.random.default_rng(1)
    x = np.array([0.0, 2, 3, 7, 9, 14, 15, 21])
    y = 170 - 0.3 * x + rng.normal(0, 1.0, x.size)
    trend = fit_trend(x, y)
    slope, intercept = np.polyfit(x, y, 1)
    assert trend.slope == pytest.approx(slope) and trend.intercept == pytest.approx(intercept)
    t = stats.t.ppf(0.975, x.size - 2)
    stderr = stats.linregress(x, y).stderr
    assert (trend.slope_lo, trend.slope_hi) == pytest.approx((slope - t * stderr, slope + t * stderr))
    # At the mean date the band's half width is t * s / sqrt(n); it widens away from it.
    fit, lo, hi = trend.band(np.array([x.mean(), x.max()]))
    s = np.sqrt(np.sum((y - (intercept + slope * x)) ** 2) / (x.size - 2))
    assert (hi - lo)[0] / 2 == pytest.approx(t * s / np.sqrt(x.size))
    assert (hi - lo)[1] > (hi - lo)[0]


def test_trend_intervals_cover_the_true_values_95_percent_of_the_time():
    rng = np.random.default_rng(7)
    x = np.array([0.0, 1, 4, 6, 11, 13])
    slope_hits = band_hits = 0
    trials = 2000
    for _ in range(trials):
        trend = fit_trend(x, 5.0 + 0.1 * x + rng.normal(0, 0.8, x.size))
        slope_hits += trend.slope_lo <= 0.1 <= trend.slope_hi
        _, lo, hi = trend.band(np.array([12.0]))
        band_hits += lo[0] <= 5.0 + 0.1 * 12 <= hi[0]
    assert 0.93 <= slope_hits / trials <= 0.97 and 0.93 <= band_hits / trials <= 0.97


def test_no_trend_from_too_few_sessions_or_one_day():
    assert fit_trend(np.array([0.0, 1.0]), np.array([1.0, 2.0])) is None
    assert fit_trend(np.array([0.0, 1.0, 2.0]), np.array([1.0, np.nan, 2.0])) is None
    assert fit_trend(np.array([3.0, 3.0, 3.0]), np.array([1.0, 2.0, 3.0])) is None
    assert fit_trend(np.array([0.0, 1.0, 2.0]), np.array([1.0, 2.0, 2.5])) is not None


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """Five runs over three weeks (the last a fatigue run, whose left hip drops more), batched."""
    src = tmp_path_factory.mktemp("runs")
    for day, scenario, seed in ((1, "easy-run", 1), (5, "easy-run", 2), (9, "overstride", 3),
                                (15, "easy-run", 4), (22, "fatigue", 5)):
        sim = simulate(scenario, seed=seed, rate_hz=100.0, duration_s=60.0)
        write_files(sim, src / f"2026-09-{day:02d}_070000.csv")
    out = tmp_path_factory.mktemp("batch")
    assert not run_batch(src, out, workers=2, stream=io.StringIO()).failed
    return out


@pytest.fixture(scope="module")
def page(batch):
    return write_history(batch, batch / "history.html", RunnerProfile(cadence=Cadence(target_spm=172.0)))


def test_page_numbers_are_the_cohort_rows_and_their_trends(batch, page):
    from imurun.batch import read_manifest

    rows = cohort_rows(batch, read_manifest(batch))
    numbers = _parse(page).numbers
    assert len(rows) == 5
    for i, row in enumerate(rows):
        for column in ("cadence_spm", "drop_left_hip_deg", "drop_right_hip_deg", "tilt_deg",
                       "contact_time_ms"):
            assert numbers[f"sessions.{i}.{column}"] == pytest.approx(row[column], rel=1e-12)
    days = np.array([(r["date"] - rows[0]["date"]) / dt.timedelta(days=1) for r in rows])
    for column in ("cadence_spm", "drop_left_hip_deg", "tilt_deg", "contact_time_ms"):
        trend = fit_trend(days, np.array([r[column] for r in rows]))
        assert numbers[f"trend.{column}.slope_per_week"] == pytest.approx(7 * trend.slope)
        assert numbers[f"trend.{column}.ci_low_per_week"] == pytest.approx(7 * trend.slope_lo)
        assert numbers[f"trend.{column}.p"] == pytest.approx(trend.p)
    # No cue log: the cue counts are unknown, so there is no trend of them.
    assert numbers["sessions.0.cues"] is None and "trend.cues.slope_per_week" not in numbers
    # The last run's left hip drops most: the left hip's trend points up.
    assert numbers["trend.drop_left_hip_deg.slope_per_week"] > 0


def test_page_shows_the_runners_targets(page, batch):
    text = page.read_text()
    assert "target 172 spm ± 3 %" in text and "cue threshold 7°" in text and "cue threshold 6°" in text
    relative = write_history(batch, batch / "relative.html", RunnerProfile())
    assert "relative target: each run&#x27;s own baseline +0 % (no fixed line)" in relative.read_text()


def test_history_page_is_self_contained(page):
    assert_self_contained(page)


def test_history_renders_in_chromium_with_plots_and_no_console_error(page, tmp_path):
    assert shutil.which(CHROMIUM), "the history test needs the Debian chromium package (make system-packages)"
    png = tmp_path / "history.png"
    assert render(page, png, tmp_path / "profile", height=2600) == []
    # Both hips' dots and trends are drawn.
    assert _colour_pixels(png, LEFT) > 1000 and _colour_pixels(png, RIGHT) > 1000


def test_history_still_dates_sessions_moved_away_after_the_batch(batch, tmp_path):
    import json

    manifest = json.loads((batch / "manifest.json").read_text())
    for record in manifest["sessions"].values():
        record["path"] = str(tmp_path / "gone" / Path(record["path"]).name)
    copy = tmp_path / "copy"
    shutil.copytree(batch, copy)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    from imurun.batch import read_manifest

    rows = cohort_rows(copy, read_manifest(copy))
    assert [r["date"].day for r in rows] == [1, 5, 9, 15, 22]
    assert {r["date_source"] for r in rows} == {"file name"}
    assert write_history(copy).is_file()


def test_cli_writes_the_page_and_rejects_a_folder_that_is_no_batch(batch, tmp_path, capsys):
    assert cli_main(["history", str(batch), "--out", str(tmp_path / "h.html")]) == 0
    assert capsys.readouterr().out == f"history: {tmp_path / 'h.html'}\n"
    assert cli_main(["history", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == (f"imurun history: error: {tmp_path}: not an output folder of `imurun batch` "
                   "(no manifest.json)\n")
