"""The pipeline loop and `imurun replay`: same steps as the engine on the whole file, sinks always closed."""

from pathlib import Path

import numpy as np
import pytest

from imurun.blocks import SampleBlock
from imurun.core.engine import Engine
from imurun.pipeline import run_pipeline

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"


class Collect:
    """A sink that keeps every step row and records when it was closed."""

    def __init__(self, log=None, name=""):
        self.rows, self.closed, self.log, self.name = [], False, log, name

    def consume(self, block, out):
        self.rows.append(out.steps)

    def close(self):
        self.closed = True
        if self.log is not None:
            self.log.append(self.name)

    @property
    def steps(self):
        return np.concatenate(self.rows)


@pytest.fixture(scope="module")
def real():
    d = np.genfromtxt(REAL / "HA_001_Test5_Trial1.csv", delimiter=",", comments="#", skip_header=9)
    return d[:, 0], d[:, 1:4], np.deg2rad(d[:, 4:7])


def _blocks(t, acc, gyr, n):
    return (SampleBlock(t[i : i + n], acc[i : i + n], gyr[i : i + n]) for i in range(0, len(t), n))


def test_pipeline_gives_the_engine_steps_and_final_status(real):
    t, acc, gyr = real
    whole = Engine(100.0).process(t, acc, gyr)
    sink = Collect()
    status = run_pipeline(_blocks(t, acc, gyr, 37), Engine(100.0), [sink])
    assert len(whole.steps) >= 5
    assert sink.steps.tobytes() == whole.steps.tobytes()
    assert status == whole.status
    assert sink.closed


def test_pipeline_skips_empty_blocks_and_returns_status_without_blocks(real):
    t, acc, gyr = real
    sink = Collect()
    status = run_pipeline([SampleBlock.empty(), SampleBlock(t, acc, gyr)], Engine(100.0), [sink])
    assert len(sink.rows) == 1 and status.samples == len(t)
    assert run_pipeline([], Engine(100.0), [Collect()]).samples == 0


def test_pipeline_trunk_blocks_reach_the_engine(real):
    t, acc, gyr = real
    sink = Collect()
    trunk = _blocks(t, acc, gyr, 50)
    status = run_pipeline(_blocks(t, acc, gyr, 50), Engine(100.0), [sink], trunk_blocks=trunk)
    assert status.trunk


@pytest.mark.parametrize("error", [RuntimeError("source broke"), KeyboardInterrupt()])
def test_sinks_are_closed_in_order_when_the_source_fails(real, error):
    t, acc, gyr = real

    def failing():
        yield from list(_blocks(t, acc, gyr, 100))[:3]
        raise error

    log = []
    sinks = [Collect(log, "first"), Collect(log, "second")]
    with pytest.raises(type(error)):
        run_pipeline(failing(), Engine(100.0), sinks)
    assert log == ["first", "second"]
    assert len(sinks[0].rows) == 3


def test_a_failing_close_does_not_leave_other_sinks_open(real):
    t, acc, gyr = real

    class BadClose(Collect):
        def close(self):
            super().close()
            raise OSError("disk full")

    after = Collect()
    with pytest.raises(OSError, match="disk full"):
        run_pipeline(_blocks(t, acc, gyr, 100), Engine(100.0), [BadClose(), after])
    assert after.closed
