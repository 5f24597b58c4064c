"""One rule names every file that belongs to a session (imurun/session/paths.py)."""

import pytest

from imurun.batch import is_session_name
from imurun.session.paths import (
    bouts_path_for,
    cues_path_for,
    imported_path_for,
    is_companion,
    report_path_for,
    sibling_path,
    steps_path_for,
    trunk_path_for,
)


@pytest.mark.parametrize("name", ["run.csv", "run.pelvis.csv", "run.trunk.csv"])
def test_companions_share_the_stem_without_the_sensor_suffix(tmp_path, name):
    path = tmp_path / name
    assert trunk_path_for(path) == tmp_path / "run.trunk.csv"
    assert steps_path_for(path) == tmp_path / "run.steps.csv"
    assert bouts_path_for(path) == tmp_path / "run.bouts.csv"
    assert cues_path_for(path) == tmp_path / "run.cues.csv"


def test_reports_and_imports_keep_the_whole_file_name(tmp_path):
    assert report_path_for(tmp_path / "run.csv") == tmp_path / "run.report.html"
    assert report_path_for(tmp_path / "run.pelvis.csv") == tmp_path / "run.pelvis.report.html"
    assert imported_path_for(tmp_path / "run.zip") == tmp_path / "run.imurun.csv"
    assert imported_path_for(tmp_path / "Accelerometer.csv") == tmp_path / "Accelerometer.imurun.csv"


def test_companions_are_not_sessions(tmp_path):
    for kind in ("trunk", "steps", "bouts", "cues"):
        assert is_companion(f"a.b.{kind}.csv") and not is_session_name(tmp_path / f"run.{kind}.csv")
    for name in ("run.csv", "run.pelvis.csv", "2026-12-01_183012.csv", "run.imurun.csv"):
        assert not is_companion(name) and is_session_name(tmp_path / name)
    assert not is_session_name(tmp_path / "steps.csv")  # an analysis output folder's file
    with pytest.raises(ValueError, match="not a session companion"):
        sibling_path(tmp_path / "run.csv", "report")
