"""The kernels' numba cache is dropped when any engine source changes, not only the kernel's file."""

import pytest

from imurun.core.jitcache import STAMP, drop_if_stale


def test_cache_is_dropped_when_any_source_changes_and_kept_otherwise(tmp_path):
    src, cache = tmp_path / "core", tmp_path / "core" / "__pycache__"
    cache.mkdir(parents=True)
    (src / "kernel.py").write_text("@njit\ndef x(): pass\n")
    (src / "icd.py").write_text("@njit\ndef y(): pass\n")
    (src / "engine.py").write_text("z = 1\n")
    compiled = [cache / "kernel.process_block-107.py311.nbi", cache / "kernel.process_block-107.py311.1.nbc"]
    for p in compiled:
        p.write_bytes(b"old code")
    (cache / "kernel.cpython-311.pyc").write_bytes(b"not numba's")

    assert drop_if_stale(cache, src)  # no stamp: whatever is there may be stale
    assert not any(p.exists() for p in compiled) and (cache / "kernel.cpython-311.pyc").exists()
    for p in compiled:  # numba compiles again and caches
        p.write_bytes(b"new code")
    assert not drop_if_stale(cache, src) and all(p.exists() for p in compiled)

    (src / "engine.py").write_text("z = 2\n")  # no compiled code in it
    assert not drop_if_stale(cache, src) and all(p.exists() for p in compiled)
    (src / "icd.py").write_text("@njit\ndef y(): return 2\n")  # inlined into the kernel
    assert drop_if_stale(cache, src) and not any(p.exists() for p in compiled)
    assert (cache / STAMP).is_file() and not drop_if_stale(cache, src)


def test_the_engine_keeps_its_stamp_next_to_the_kernels_cache():
    from pathlib import Path

    from imurun.core import engine
    from imurun.core.kernel import process_block

    assert (Path(process_block.stats.cache_path) / STAMP).is_file()
    assert not drop_if_stale(Path(process_block.stats.cache_path), Path(engine.__file__).parent)


def test_a_person_at_a_terminal_is_told_when_the_engine_compiles(tmp_path):
    """With an empty cache and stderr a terminal, one line says why the first run is slow; with a
    pipe (logs, tests, CI) nothing is added to stderr."""
    import os
    import pty
    import subprocess
    import sys

    code = "from imurun.core import engine; print(engine.note_if_compiling(), engine.note_if_compiling())"
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cold"))
    try:
        leader, follower = pty.openpty()
    except OSError as exc:  # a container without /dev/pts
        pytest.skip(f"no pseudo-terminal: {exc}")
    proc = subprocess.run([sys.executable, "-c", code], env=env, stderr=follower, stdout=subprocess.PIPE,
                          text=True, timeout=60)
    os.close(follower)
    told = os.read(leader, 4096).decode()
    os.close(leader)
    assert proc.returncode == 0 and proc.stdout.split() == ["True", "False"]  # once per process
    assert told.startswith("imurun: compiling the gait engine") and told.count("\n") == 1
    piped = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert piped.stdout.split() == ["False", "False"] and piped.stderr == ""
