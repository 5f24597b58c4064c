"""`imurun import FILE [--out SESSION.csv]`: another app's export written as an imurun session."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="the export: CSV/TXT file or zip of CSVs (docs/import.md)")
    parser.add_argument("--out", type=Path, help="session CSV to write (default: FILE's stem + .imurun.csv)")
    generic = parser.add_argument_group("generic CSV (time + 3 or 6 columns): its units")
    generic.add_argument("--acc-unit", help="g or m/s^2 (giving it reads FILE as a generic CSV)")
    generic.add_argument("--gyr-unit", default="rad/s", help="deg/s or rad/s (default rad/s)")
    generic.add_argument("--time-unit", default="s", help="s, ms, us, ns or samples (needs --rate)")
    generic.add_argument("--rate", type=float, help="sample rate in Hz, for --time-unit samples")


def is_session(path: Path) -> bool:
    """Whether `path` starts as an imurun session file does (then there is nothing to import)."""
    from imurun.session.format import MAGIC

    try:
        with open(path, "rb") as f:
            return f.read(len(MAGIC)) == MAGIC.encode()
    except OSError:
        return False  # the importer names the problem


def main(args: argparse.Namespace) -> int:
    import os

    from imurun.errors import InputError
    from imurun.session.paths import imported_path_for
    from imurun.session.writer import SessionWriter
    from imurun.sources.imports import import_session
    from imurun.sources.imports.generic import Units

    units = None if args.acc_unit is None else Units(args.acc_unit, args.gyr_unit, args.time_unit, args.rate)
    if units is None and is_session(args.file):
        raise InputError(args.file, "is already an imurun session file: nothing to import")
    session = import_session(args.file, units)
    out = args.out or imported_path_for(args.file)
    if out.resolve() == args.file.resolve():
        raise InputError(out, "would overwrite the export it is read from; give another --out")
    tmp = out.with_name(out.name + ".part")
    b = session.block
    try:
        with SessionWriter(tmp, session.header) as w:
            w.write(b.t, b.acc, b.gyr)
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(out, f"cannot write: {exc.strerror or exc}") from None
    h = session.header
    what = "accelerometer only" if not h.has_gyro else "accelerometer + gyroscope"
    print(f"{args.file}: recognised {session.format}")
    print(f"wrote {out}: {len(b)} samples, {b.t[-1]:.2f} s at {h.sample_rate_hz:g} Hz, {what}")
    if "source_resampled" in h.extra:
        print(f"resampled: {h.extra['source_resampled']}")
    return 0
