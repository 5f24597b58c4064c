"""Does a refactor of the engine change what it writes? Analyse the same sessions with this tree and
with a git ref (default: main) and compare steps.csv and summary.json byte for byte.

    python benchmarks/same_output.py [--ref main]

Sessions: the bundled recordings, the real-data sets of tests/data/real, and short simulated
scenarios that reach the paths the recordings do not (walking, no standing start, a slipping mount,
a loose mount, 100 Hz). Exits 1 and names each file that differs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# (scenario, seed, rate Hz, duration s)
SIMULATED = [("walk", 1, 200, 60), ("no-standing", 2, 100, 60), ("slip", 3, 200, 90),
             ("loose-mount", 4, 100, 60)]


def _sessions(tmp: Path) -> list[Path]:
    found = sorted([*ROOT.glob("recordings/*.csv"), *ROOT.glob("imurun/recordings/*.csv")])
    found += sorted((ROOT / "tests/data/real").glob("*.csv"))
    out = [p for p in found if p.name.count(".") == 1]  # not NAME.steps.csv / .bouts.csv / .trunk.csv
    for scenario, seed, rate, dur in SIMULATED:
        path = tmp / f"sim-{scenario}-{rate}.csv"
        _imurun(ROOT, "simulate", "--scenario", scenario, "--seed", str(seed), "--rate", str(rate),
                "--duration", str(dur), "--out", str(path))
        out.append(path)
    return out


def _imurun(tree: Path, *args: str) -> None:
    env = dict(os.environ, PYTHONPATH=str(tree))
    subprocess.run([sys.executable, "-m", "imurun", *args], env=env, check=True, cwd=tree,
                   stdout=subprocess.DEVNULL)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref", default="main", help="git ref to compare with (default: main)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        base = tmp / "base"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(base), args.ref],
                       check=True)
        try:
            differ = []
            sessions = _sessions(tmp)
            for session in sessions:
                outs = []
                for tree, tag in ((ROOT, "this"), (base, "ref")):
                    out = tmp / tag / session.stem
                    _imurun(tree, "analyze", str(session), "--out", str(out))
                    outs.append(out)
                for name in ("steps.csv", "summary.json"):
                    if (outs[0] / name).read_bytes() != (outs[1] / name).read_bytes():
                        differ.append(f"{session.name}: {name}")
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], check=True)
    for d in differ:
        print(f"differs from {args.ref}: {d}")
    print(f"{len(sessions) - len({d.split(':')[0] for d in differ})} of {len(sessions)} sessions identical")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
