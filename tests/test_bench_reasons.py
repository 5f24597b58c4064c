"""The benchmark's reasons for unmatched detections (benchmarks/real_sets.extras), on a made-up
trial: RESULTS.md says why HA_001's extra steps are likely the reference's, so the rule is tested."""

import dataclasses
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import real_sets as rs  # noqa: E402

from imurun.core.output import empty_steps  # noqa: E402
from imurun.session.truth import BOUT_DTYPE  # noqa: E402


def _steps(times, sides):
    s = empty_steps(len(times))
    s["t"], s["side"] = times, sides
    return s


def test_unmatched_detections_get_the_likely_reason():
    # a walk of 0.5 s steps from 10 s whose reference lacks the right IC at 13 s (two lefts around
    # it) and has a 1.5 s gap from 15 to 16.5 s (a right, then a left: three steps' time)
    ref_t = np.r_[np.arange(10.0, 13.0, 0.5), np.arange(13.5, 15.5, 0.5), np.arange(16.5, 18.0, 0.5)]
    ref_side = np.where(np.round(ref_t * 2) % 2 == 0, "R", "L")
    bouts = np.array([(9.8, 17.7, 120.0)], dtype=BOUT_DTYPE)
    trial = rs.Trial("x", "x_1", "p", 100.0, np.empty(0), np.empty((0, 3)), np.empty((0, 3)),
                     _steps(ref_t, ref_side), bouts, None)
    det = _steps(np.sort(np.r_[ref_t, 9.85, 13.0, 15.75, 11.2, 14.35]), "L")
    why = {round(float(t), 2): w for _, t, _, _, w in rs.extras([(trial, det)])}
    skips, beside = "reference skips a step", "beside a reference IC"
    assert why == {9.85: "before the first or after the last step", 13.0: skips, 15.75: skips,
                   11.2: beside, 14.35: beside}
    turning = dataclasses.replace(trial, uturn=(12.9, 13.1))
    assert {w for _, t, _, _, w in rs.extras([(turning, det)]) if round(float(t), 2) == 13.0} == {"U-turn"}
