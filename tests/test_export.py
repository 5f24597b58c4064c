"""`imurun export --fit`: the FIT file decodes with Garmin's own FIT SDK, and its values are the
engine's steps, averaged per second."""

import datetime as dt

import numpy as np
import pytest

from imurun.analyze import analyze
from imurun.cli import main as cli_main
from imurun.sources.simulate import simulate, write_files

fit_sdk = pytest.importorskip("garmin_fit_sdk", reason="needs garmin-fit-sdk (in the test extra)")
pytest.importorskip("fit_tool", reason="needs imurun[fit] (the test extra has it)")


def _decode(path):
    assert fit_sdk.Decoder(fit_sdk.Stream.from_file(str(path))).check_integrity()  # header, sizes, CRC
    messages, errors = fit_sdk.Decoder(fit_sdk.Stream.from_file(str(path))).read()
    assert errors == []
    return messages


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fit")
    session = folder / "2026-10-05_063000.csv"
    write_files(simulate("fatigue", seed=2, rate_hz=100.0, duration_s=90.0), session)
    out = folder / "run.fit"
    assert cli_main(["export", str(session), "--fit", str(out)]) == 0
    return session, out, _decode(out)


def test_activity_file_has_the_messages_an_activity_needs(exported):
    _, _, m = exported
    assert m["file_id_mesgs"][0]["type"] == "activity"
    events = [(e["event"], e["event_type"]) for e in m["event_mesgs"]]
    assert events == [("timer", "start"), ("timer", "stop_all")]
    assert len(m["lap_mesgs"]) == 1 and len(m["session_mesgs"]) == 1
    assert m["activity_mesgs"][0]["num_sessions"] == 1
    assert m["session_mesgs"][0]["sport"] == "running"


def _mean(x: np.ndarray) -> float:
    return float(np.mean(x[np.isfinite(x)])) if np.isfinite(x).any() else np.nan


def test_records_are_the_steps_per_second(exported):
    session, _, m = exported
    steps, summary = analyze(session)
    start = dt.datetime(2026, 10, 5, 6, 30).astimezone(dt.UTC)  # the file name's local time
    names = {d["field_definition_number"]: d["field_name"] for d in m["field_description_mesgs"]}
    records = m["record_mesgs"]
    seconds = sorted({int(t) for t in steps["t"]})
    assert [r["timestamp"] for r in records] == [start + dt.timedelta(seconds=s) for s in seconds]
    for record, second in zip(records, seconds, strict=True):
        here = steps[np.floor(steps["t"]) == second]
        # a field absent where its steps hold no value (a bout's last step: interval unknown)
        spm = _mean(here["cadence_spm"])
        if np.isfinite(spm):
            assert 2 * (record["cadence"] + record["fractional_cadence"]) == pytest.approx(spm, abs=2 / 128)
        else:
            assert "cadence" not in record
        stance_ms = 1000 * _mean(here["contact_time_s"])
        if np.isfinite(stance_ms):
            assert record["stance_time"] == pytest.approx(stance_ms, abs=0.051)
        else:
            assert "stance_time" not in record
        bounce_mm = 10 * np.nanmean(here["vertical_osc_cm"])
        assert record["vertical_oscillation"] == pytest.approx(bounce_mm, abs=0.051)
        dev = {names[k]: v for k, v in record["developer_fields"].items()}
        assert dev["pelvic_tilt"] == pytest.approx(np.nanmean(here["tilt_deg"]), rel=1e-6)
        left_hip = here["pelvic_drop_deg"][here["side"] == "R"]  # right foot down: the left hip drops
        if left_hip.size:
            assert dev["pelvic_drop_left_hip"] == pytest.approx(np.nanmean(left_hip), rel=1e-6)
        else:
            assert "pelvic_drop_left_hip" not in dev
    session_mesg = m["session_mesgs"][0]
    assert 2 * (session_mesg["avg_cadence"] + session_mesg["avg_fractional_cadence"]) == pytest.approx(
        summary["cadence_mean_spm"], abs=2 / 128)
    assert session_mesg["total_elapsed_time"] == pytest.approx(summary["duration_s"], abs=0.001)
    assert {d["units"] for d in m["field_description_mesgs"]} == {"deg", "m/s"}


def test_start_time_from_the_header(tmp_path):
    session = tmp_path / "morning.csv"
    write_files(simulate("easy-run", seed=1, rate_hz=100.0, duration_s=30.0), session)
    start = "# start: 2026-04-01T08:15:00+02:00\n"
    session.write_text(session.read_text().replace("# sample_rate_hz", start + "# sample_rate_hz", 1))
    assert cli_main(["export", str(session), "--fit", str(tmp_path / "m.fit")]) == 0
    m = _decode(tmp_path / "m.fit")
    assert m["session_mesgs"][0]["start_time"] == dt.datetime(2026, 4, 1, 6, 15, tzinfo=dt.UTC)


def test_a_session_without_steps_is_one_line(tmp_path, capsys):
    session = tmp_path / "standing.csv"
    write_files(simulate("standing", seed=1, rate_hz=100.0, duration_s=20.0), session)
    assert cli_main(["export", str(session), "--fit", str(tmp_path / "s.fit")]) == 2
    err = capsys.readouterr().err
    assert err == f"imurun export: error: {session}: no steps detected: nothing to export\n"
    assert not (tmp_path / "s.fit").exists()
