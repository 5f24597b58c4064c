"""The wheel is all a runner gets from `pip install imurun`: built from the files an sdist holds, installed
into a fresh venv (its dependencies from pip's cache), it must carry the firmware profiles and the demo's
recording, and `imurun warmup`, `imurun demo` and `imurun scan` must work from there, far from this
checkout."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from imurun.analyze import analyze

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "imurun"


def run(*argv: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)
    output = proc.stdout[-1500:] + proc.stderr[-1500:]
    assert proc.returncode == 0, f"{argv[:4]}: exit {proc.returncode}\n{output}"
    return proc


def test_the_wheel_carries_its_data_and_runs_the_demo_from_a_fresh_venv(tmp_path):
    # Build from a copy: an in-tree build leaves build/lib behind, whose stale files end up in later wheels.
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src)
    shutil.copytree(PACKAGE, src / "imurun", ignore=shutil.ignore_patterns("__pycache__", "*.nb[ic]"))
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp_path / "dist", src, cwd=tmp_path)
    [wheel] = (tmp_path / "dist").glob("imurun-*.whl")

    names = set(zipfile.ZipFile(wheel).namelist())
    profiles = sorted(p.name for p in (PACKAGE / "firmware_profiles").glob("*.toml"))
    assert len(profiles) >= 5 and {f"imurun/firmware_profiles/{p}" for p in profiles} <= names
    assert "imurun/recordings/fatigue.csv" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    modules = {p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts}
    assert modules <= names  # every module, none left behind by the package discovery

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    bin_ = venv / "bin"
    run(bin_ / "python", "-m", "pip", "install", "-q", wheel, cwd=tmp_path)

    # Nothing may come from this checkout: no PYTHONPATH, another working folder. numba caches where
    # it would for a runner: next to the installed package.
    drop = ("PYTHONPATH", "DISPLAY", "WAYLAND_DISPLAY", "NUMBA_CACHE_DIR")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    where = run(bin_ / "python", "-c", "import imurun.ble.profiles as p; print(p.__file__); "
                "print(' '.join(sorted(p.load_profiles())))", cwd=tmp_path, env=env).stdout.splitlines()
    assert Path(where[0]).is_relative_to(venv)
    assert where[1].split() == [p.removesuffix(".toml") for p in profiles]

    # The set-up step compiles the engine once; the next process finds it compiled.
    assert " compiled in " in run(bin_ / "imurun", "warmup", cwd=tmp_path, env=env).stdout
    assert "already compiled" in run(bin_ / "imurun", "warmup", cwd=tmp_path, env=env).stdout
    scan = run(bin_ / "imurun", "scan", "--help", cwd=tmp_path, env=env)
    assert scan.stdout.startswith("usage: imurun scan")
    demo = run(bin_ / "imurun", "demo", "--headless", "--out", "demo", cwd=tmp_path, env=env)
    assert "running headless" in demo.stdout
    summary = json.loads((tmp_path / "demo" / "summary.json").read_text())
    _, expected = analyze(PACKAGE / "recordings" / "fatigue.csv")  # this checkout's engine, in process
    assert summary["steps"] == expected["steps"] > 1000
    assert summary["cadence_mean_spm"] == expected["cadence_mean_spm"]
    for name in ("steps.csv", "cues.csv", "cues.wav", "report.html"):
        assert (tmp_path / "demo" / name).stat().st_size > 0
