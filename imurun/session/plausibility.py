"""Does a session's data agree with what its header says? Unit mistakes that parse fine but mean
nonsense (acceleration in g labelled m/s^2, deg/s labelled rad/s, t in milliseconds) are refused
with the likely fix; doubtful cases are returned as warnings for the caller to print and record.

The checks look at the first PROBE_ROWS rows (minutes of data at any real rate), read like any
other chunk, so they cost one chunk's parse whatever the file size:
- gravity: over a recording, the median magnitude of the specific force is about 1 g (standing
  exactly 1 g; running swings about it), so a median near 1 in m/s^2 means g, near 96 in g means
  m/s^2;
- gyroscope: no body-worn IMU measures beyond +-2000 deg/s (35 rad/s); values beyond that in
  rad/s are deg/s. The other way round (rad/s labelled deg/s) only shows as a gyroscope that barely
  moves while the accelerometer does: a warning;
- rate: the sample spacing seen against the header's nominal rate; 1000x apart is milliseconds.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from imurun.blocks import SampleBlock
from imurun.errors import InputError
from imurun.session.format import ACC_UNITS, STANDARD_GRAVITY, SessionHeader
from imurun.session.paths import trunk_path_for
from imurun.session.reader import iter_blocks, read_header

PROBE_ROWS = 65536
MIN_ROWS = 50  # fewer rows say nothing about units
MAX_GYR_RAD_S = np.deg2rad(2000.0)  # the largest full scale of body-worn IMUs
MIN_TRUNK_S = 10.0  # a trunk file must cover at least this much time to give trunk metrics


def check_session(path: str | Path) -> list[str]:
    """Check a session and its trunk file (if any). Raises InputError when the data contradicts
    the header; returns the doubts, each already printed as a warning on stderr."""
    header, block = _probe(path)
    doubts = [f"{path}: {d}" for d in check_units(path, header, block)]
    trunk_path = trunk_path_for(path)
    if Path(trunk_path).is_file():
        trunk_header, trunk = _probe(trunk_path)
        check_trunk_cover(trunk_path, trunk, block)
        doubts += [f"{trunk_path}: {d}" for d in check_units(trunk_path, trunk_header, trunk)]
    for doubt in doubts:
        print(f"imurun: warning: {doubt}", file=sys.stderr)
    return doubts


def _probe(path: str | Path) -> tuple[SessionHeader, SampleBlock]:
    """The header and the first PROBE_ROWS rows (fewer if the file is shorter)."""
    return read_header(path), next(iter_blocks(path, PROBE_ROWS), SampleBlock.empty())


def check_trunk_cover(path: str | Path, trunk: SampleBlock, pelvis: SampleBlock) -> None:
    """A trunk file's samples are held at its ends (as in a live run), so one that is very short or
    lies beside the session would give the same trunk angle for every step: refused."""
    span = float(trunk.t[-1] - trunk.t[0]) if len(trunk) else 0.0
    if len(trunk) < PROBE_ROWS and span < MIN_TRUNK_S:
        raise InputError(path, f"only {len(trunk)} samples over {span:.2f} s (a trunk file needs at least "
                               f"{MIN_TRUNK_S:g} s); record the trunk sensor for the run, or remove the file")
    if len(pelvis) and (trunk.t[0] > pelvis.t[-1] or trunk.t[-1] < pelvis.t[0]):
        raise InputError(path, f"its samples ({trunk.t[0]:.1f} .. {trunk.t[-1]:.1f} s) miss the session's "
                               f"start ({pelvis.t[0]:.1f} .. {pelvis.t[-1]:.1f} s): "
                               "not this run's trunk sensor")


def check_units(path: str | Path, header: SessionHeader, block: SampleBlock) -> list[str]:
    """The doubts about one file's units from its first rows `block` (see the module doc);
    InputError for clear contradictions."""
    if len(block) < MIN_ROWS:
        return []
    doubts = []
    acc = block.acc[np.isfinite(block.acc).all(axis=1)]
    g_median = float(np.median(np.linalg.norm(acc, axis=1)) / STANDARD_GRAVITY) if len(acc) else np.nan
    written = g_median * STANDARD_GRAVITY / ACC_UNITS[header.acc_unit]  # in the file's unit
    if header.acc_unit == "m/s^2" and 0.5 < written < 2.0:
        raise InputError(path, f"acceleration looks like g, not m/s^2 (median |a| = {written:.2f}); "
                               "likely fix: '# acc_unit: g'")
    if header.acc_unit == "g" and 0.5 * STANDARD_GRAVITY < written < 2.0 * STANDARD_GRAVITY:
        raise InputError(path, f"acceleration looks like m/s^2, not g (median |a| = {written:.2f}); "
                               "likely fix: '# acc_unit: m/s^2'")
    if not 0.5 < g_median < 2.0:
        doubts.append(f"median |acceleration| is {g_median:.2f} g where gravity alone gives 1 g: "
                      f"check acc_unit ({header.acc_unit}) and the scale")

    gyr = block.gyr[np.isfinite(block.gyr).all(axis=1)]
    if len(gyr) >= MIN_ROWS:
        w99 = float(np.percentile(np.abs(gyr), 99))
        if header.gyr_unit == "rad/s" and w99 > MAX_GYR_RAD_S:
            raise InputError(path, f"angular rate looks like deg/s, not rad/s (99th percentile {w99:.0f}, "
                                   "beyond any gyroscope's range in rad/s); likely fix: '# gyr_unit: deg/s'")
        moving = len(acc) and float(np.std(np.linalg.norm(acc, axis=1))) > 0.2 * STANDARD_GRAVITY
        if header.gyr_unit == "deg/s" and moving and w99 < np.deg2rad(5.0):
            doubts.append(f"the body moves but the gyroscope barely does ({np.rad2deg(w99):.2f} deg/s, "
                          "99th percentile): is gyr_unit rad/s rather than deg/s?")

    dt = np.diff(block.t)
    ratio = header.sample_rate_hz * float(np.median(dt))  # nominal / seen rate
    if 500.0 < ratio < 2000.0:
        nominal = header.sample_rate_hz
        raise InputError(path, f"time looks like milliseconds: samples {np.median(dt):g} apart where "
                               f"sample_rate_hz {nominal:g} means {1 / nominal:g} s; "
                               "likely fix: divide t by 1000")
    if not 0.5 < ratio < 2.0:
        doubts.append(f"samples arrive at {1 / np.median(dt):.4g} Hz where sample_rate_hz says "
                      f"{header.sample_rate_hz:g}: check the header's rate and the time unit (seconds)")
    return doubts
