"""`imurun simulate --scenario NAME --out FILE.csv`: a synthetic session with its ground truth
(imurun.sources.simulate)."""

from __future__ import annotations

import argparse
from pathlib import Path

from imurun.errors import ImurunError
from imurun.sources.sim_scenarios import SCENARIOS
from imurun.sources.simulate import MOUNTS, simulate, write_files


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scenario", required=True, choices=list(SCENARIOS), help="what the runner does")
    parser.add_argument("--seed", type=int, default=0, help="random seed: same seed, same bytes (default 0)")
    parser.add_argument("--rate", type=float, default=200.0, help="sample rate, Hz (default 200)")
    parser.add_argument("--out", type=Path, required=True, help="session CSV to write (+ .steps.csv truth)")
    parser.add_argument("--duration", type=float, default=None, help="seconds (default: the scenario's)")
    parser.add_argument(
        "--mount", choices=MOUNTS, default="random",
        help="sensor orientation on the pelvis: random (any, fixed by the seed) or upright (axes = pelvis)",
    )


def main(args: argparse.Namespace) -> int:
    if args.out.suffix != ".csv":
        raise ImurunError(f"{args.out}: the session file must end in .csv")
    sim = simulate(
        args.scenario, seed=args.seed, rate_hz=args.rate, duration_s=args.duration, mount=args.mount
    )
    for path in write_files(sim, args.out):
        print(path)
    print(f"{len(sim.t)} samples, {len(sim.steps)} truth steps, {sim.lost_samples} samples lost")
    return 0
