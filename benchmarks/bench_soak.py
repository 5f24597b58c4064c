"""Soak: a long 200 Hz live run through the fake BlueZ at accelerated pace, the link dropped every
10 minutes. Shows the memory of the run (RSS samples), the samples lost outside the outages (must
be 0), every outage noted in the recording, and no false device clock restart.

`imurun run`'s pipeline runs in this process (LiveRun with the real bleak client, decoding, clock,
engine, recorder, coach with its cue log) against a virtual imurun-nus sensor that plays a
simulated run `--pace` times faster than real time; the run's host clock is paced alike
(tests/bluez/soak.py says how). Writes the "Soak" section of benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/bench_soak.py [--minutes 120] [--pace 10] [--drop-every-min 10]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(Path(__file__).resolve().parent)]

from bluez.harness import available  # noqa: E402
from bluez.session_check import warm_engine_cache  # noqa: E402
from bluez.soak import RATE, soak  # noqa: E402
from common import machine, table, write_section  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=120.0, help="session minutes to run")
    parser.add_argument("--pace", type=float, default=10.0, help="session seconds per wall second")
    parser.add_argument("--drop-every-min", type=float, default=10.0)
    parser.add_argument("--workdir", type=Path, help="keep the recording and logs here (default: a temp dir)")
    args = parser.parse_args()
    why = available()
    if why:
        raise SystemExit(f"bench_soak: {why}")
    print(f"machine: {machine()}", flush=True)
    warm_engine_cache()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        r = soak(workdir, args.minutes * 60.0, args.pace, args.drop_every_min * 60.0, rss_every=60.0)
    rss = np.array(r.rss)
    after_warmup = rss[rss[:, 0] >= min(600.0, rss[-1, 0] / 3)]
    fit = len(after_warmup) > 2
    slope = np.polyfit(after_warmup[:, 0] / 3600.0, after_warmup[:, 1], 1)[0] if fit else np.nan
    outage_lost = r.lost - r.lost_outside_outages
    per_outage = outage_lost / max(r.outages, 1)
    ran = f"{r.seconds / 60:.1f} min at {RATE} Hz ({r.wall_s / 60:.1f} min wall, pace {args.pace:g}x)"
    mib = f"{after_warmup[0, 1]:.1f} / {rss[-1, 1]:.1f} / {rss[:, 1].max():.1f} MiB"
    rows = [
        ["session time run", ran + (f"; ended early: {r.ended}" if r.ended else "")],
        ["samples recorded", r.samples],
        ["link drops made by the sensor", r.outages],
        ["outages noted in the recording (link lost / restored pairs)", r.noted_outages],
        ["gaps without a note", r.unnoted_gaps],
        ["samples lost outside the outages", r.lost_outside_outages],
        ["samples lost inside the outages (counted)", f"{outage_lost} ({per_outage:.0f} per outage)"],
        ["device clock restarts seen (the sensor never restarts)", r.resets],
        ["RSS after 10 min / at the end / max", mib],
        ["RSS trend after 10 min", f"{slope:+.2f} MiB per hour"],
    ]
    for name, value in rows:
        print(f"{name}: {value}", flush=True)
    samples = ", ".join(f"{t / 60:.0f} min {m:.1f}" for t, m in rss[:: max(1, len(rss) // 12)])
    body = "\n".join([
        f"Machine: {machine()}",
        "",
        f"`imurun run`'s live pipeline in-process (real bleak, fake BlueZ, imurun-nus at {RATE} Hz, "
        "8 samples per notification; decoding, clock, engine, recorder, coach with cue log) against "
        f"a virtual sensor playing a simulated run at {args.pace:g}x real time, the host clock paced "
        f"alike; the sensor drops the link every {args.drop_every_min:g} min.",
        "",
        table(["", "value"], rows),
        "",
        f"RSS samples (session min, MiB): {samples}.",
    ])
    write_section("Soak", body)


if __name__ == "__main__":
    main()
