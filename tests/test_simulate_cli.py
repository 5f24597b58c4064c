"""`imurun simulate`: writes the session (and trunk) file and the truth, byte-reproducibly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from imurun.cli import main
from imurun.session.reader import read_session
from imurun.session.truth import read_steps_csv
from imurun.sources.simulate import simulate


def run(tmp_path, name, *args):
    out = tmp_path / f"{name}.csv"
    assert main(["simulate", "--out", str(out), *args]) == 0
    return out


def test_cli_writes_session_truth_and_trunk_files_that_read_back(tmp_path):
    out = run(tmp_path, "a", "--scenario", "trunk", "--seed", "7", "--rate", "100", "--duration", "20")
    sim = simulate("trunk", seed=7, rate_hz=100.0, duration_s=20.0)
    pelvis, trunk = read_session(out), read_session(tmp_path / "a.trunk.csv")
    assert "synthetic" in pelvis.header.device and "scenario=trunk seed=7" in pelvis.header.device
    assert pelvis.header.sample_rate_hz == 100.0
    assert np.array_equal(pelvis.t, trunk.t)
    assert np.allclose(pelvis.t, sim.t, atol=5e-7)
    assert np.allclose(pelvis.acc, sim.acc, atol=1e-5) and np.allclose(pelvis.gyr, sim.gyr, atol=1e-6)
    assert np.allclose(trunk.acc, sim.trunk_acc, atol=1e-5)
    steps = read_steps_csv(tmp_path / "a.steps.csv")
    assert len(steps) == len(sim.steps) > 10
    assert np.array_equal(steps["side"], sim.steps["side"])
    assert np.allclose(steps["t"], sim.steps["t"], atol=1e-6)
    assert np.allclose(steps["trunk_lean_deg"], sim.steps["trunk_lean_deg"], atol=0.01)


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    args = ["--scenario", "loose-mount", "--rate", "50", "--duration", "20"]
    a = run(tmp_path, "a", *args, "--seed", "3")
    b = run(tmp_path, "b", *args, "--seed", "3")
    c = run(tmp_path, "c", *args, "--seed", "4")
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    steps = [(tmp_path / f"{x}.steps.csv").read_bytes() for x in "abc"]
    assert steps[0] == steps[1] != steps[2]
    assert not (tmp_path / "a.trunk.csv").exists()


def test_upright_mount_reads_gravity_on_z(tmp_path):
    out = run(tmp_path, "u", "--scenario", "standing", "--duration", "3", "--mount", "upright")
    acc = read_session(out).acc
    assert np.allclose(acc.mean(axis=0), [0.0, 0.0, 9.80665], atol=0.2)


def imurun(*args):
    return subprocess.run([sys.executable, "-m", "imurun", *args], capture_output=True, text=True)


def test_bad_arguments_are_one_line_errors(tmp_path):
    proc = imurun("simulate", "--scenario", "easy-run", "--out", str(tmp_path / "x.txt"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and ".csv" in proc.stderr
    proc = imurun("simulate", "--scenario", "nope", "--out", str(tmp_path / "x.csv"))
    assert proc.returncode == 2 and "invalid choice" in proc.stderr
    assert not (tmp_path / "x.csv").exists()


def test_bundled_recording_is_what_the_documented_command_writes(tmp_path):
    """The reproduction command in docs/simulator.md still gives the demo input byte for byte."""
    bundled = Path(__file__).resolve().parents[1] / "imurun" / "recordings"
    out = run(tmp_path, "easy-run", "--scenario", "easy-run", "--seed", "1", "--rate", "200")
    assert out.read_bytes() == (bundled / "easy-run.csv").read_bytes()
    assert (tmp_path / "easy-run.steps.csv").read_bytes() == (bundled / "easy-run.steps.csv").read_bytes()
