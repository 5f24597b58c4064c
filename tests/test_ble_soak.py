"""A short soak: 3 minutes of session time at 200 Hz through the fake BlueZ at 6x pace, with the
link dropped once (tests/bluez/soak.py; benchmarks/bench_soak.py runs 2 hours of it)."""

from __future__ import annotations

import numpy as np
import pytest
from bluez.harness import available
from bluez.session_check import warm_engine_cache
from bluez.soak import RATE, soak


@pytest.fixture(scope="module", autouse=True)
def _fake_bluez_available():
    why = available()
    assert not why, why
    warm_engine_cache()


def test_short_soak_loses_nothing_outside_the_outage(tmp_path):
    r = soak(tmp_path, seconds=180.0, pace=6.0, drop_every=90.0, rss_every=10.0)
    assert r.ended == "" and r.seconds >= 180.0
    assert r.outages == 1 and r.noted_outages == 1 and r.unnoted_gaps == 0
    assert r.lost_outside_outages == 0
    assert r.lost + r.samples == round(r.seconds * RATE) + 1  # every sample recorded or counted lost
    assert r.resets == 0  # the sensor's clock never restarted
    mib = np.array([m for _, m in r.rss])
    assert len(mib) >= 10 and mib[-1] - mib[len(mib) // 3] < 20.0, r.rss  # no growth worth a figure
