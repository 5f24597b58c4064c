"""Keep numba's on-disk cache of the kernels in step with their sources.

numba re-validates a cached function only against the file that defines it, but `process_block`
inlines functions from every module of this package: after an edit to `icd.py` alone, the cached
kernel would still run the old detector. So the cache is dropped whenever any source here changes
(a digest of them is kept next to the cache). It costs one read of ~60 kB at import.

`compile_engine` fills the cache ahead of a run: `imurun warmup` after an install, and the tests
before they start `imurun run` processes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

STAMP = "imurun-core-sources.sha1"


def drop_if_stale(cache_dir: Path, sources: Path) -> bool:
    """Delete the numba cache files in `cache_dir` unless they were made from the numba modules
    in `sources` (the `*.py` with decorated kernels) as they are now; returns True when it
    deleted. A cache it cannot touch is left to numba (a read-only install is never edited)."""
    digest = hashlib.sha1()
    for path in sorted(sources.glob("*.py")):
        text = path.read_bytes()
        if b"@njit" in text:  # only compiled code matters: editing engine.py needs no recompile
            digest.update(path.name.encode() + b"\0" + text)
    stamp = cache_dir / STAMP
    try:
        if stamp.read_text() == digest.hexdigest():
            return False
    except OSError:
        pass  # no stamp yet: the cache may predate this check
    try:
        stale = list(cache_dir.glob("*.nb[ic]"))
        for p in stale:
            p.unlink(missing_ok=True)
        cache_dir.mkdir(parents=True, exist_ok=True)
        stamp.write_text(digest.hexdigest())
    except OSError:
        return False
    return bool(stale)


def is_cold(cache_dir: Path) -> bool:
    """No compiled `process_block` is cached: the first engine call compiles every kernel."""
    return not any(cache_dir.glob("kernel.process_block-*.nbi"))


def compile_engine() -> None:
    """Compile, or load from the cache, every kernel an Engine runs (its state views, `process_block`
    and `finish`), with the argument types the Engine always passes (C-contiguous float64): one
    specialisation each, the one every run, replay and analysis uses."""
    import numpy as np

    from imurun.core.engine import Engine

    engine = Engine()
    engine.process(np.zeros(1), np.zeros((1, 3)), np.zeros((1, 3)))
    engine.finish()
