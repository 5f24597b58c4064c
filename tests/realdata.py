"""Real lower-back recordings with reference steps.

- `REAL`: three walking trials of one adult (mobgap HA_001, Apache-2.0), bundled in tests/data/real
  so that the suite runs on any checkout (provenance in its README).
- `SHARED`: the development sets beside the repository, in ../shared/data/real (not bundled: the
  AGPL walking set must stay out of the repository): voisard2023 (10 adults walking, Xsens at L5),
  mobgap (HA_001) and alcantara2022 (treadmill running, sacral accelerometer). Tests that need
  them skip with `skip_without_shared`.
"""

import re
from pathlib import Path

import numpy as np
from numba import njit
from scipy.ndimage import uniform_filter1d

REAL = Path(__file__).resolve().parent / "data" / "real"
REAL_TRIALS = ("HA_001_Test5_Trial1", "HA_001_Test5_Trial2", "HA_001_Test11_Trial1")
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
# dataset -> activity, and whether its reference knows the side of each step
DATASETS = {"voisard2023": ("walk", True), "mobgap": ("walk", True), "alcantara2022": ("run", False)}


def shared_trials(dataset: str) -> list[Path]:
    """The session files of one development set, sorted (empty when the folder is absent)."""
    folder = SHARED / dataset
    return sorted(p for p in folder.glob("*.csv") if not p.name.endswith((".steps.csv", ".bouts.csv")))


def person(path: Path) -> str:
    """Who walked or ran a trial: voisard2023 s01..s10, HA_001, alcantara2022 sub02."""
    m = re.search(r"_s(\d+)_t\d+$|^(HA_\d+)_|_(sub\d+)_", path.stem)
    if not m:
        raise ValueError(f"no person in {path.name}")
    return next(g for g in m.groups() if g) if not m.group(1) else f"s{m.group(1)}"


def skip_without_shared(dataset: str) -> list[Path]:
    """The trials of `dataset`, or skip the calling test with the reason."""
    import pytest

    trials = shared_trials(dataset)
    if not trials:
        pytest.skip(f"{SHARED / dataset} is absent: the real development sets live beside the repository")
    return trials


# The same recordings as other sensors and conditions would give them (tests and benchmarks/real_sets)


def with_dynamic(acc: np.ndarray, rate: float, gain: float, gravity_hz: float,
                 gyr: np.ndarray | None = None) -> np.ndarray:
    """The acceleration with its dynamic part times `gain`, gravity kept. Gravity is followed by
    the gyroscope when there is one (`gravity_from_attitude`), else it is a low-pass at gravity_hz:
    a low-pass leaves the quick part of a posture change (standing up, bending) and of the
    pelvis' sway in the dynamic part, whose scaling then tilts gravity against the gyroscope
    (a synthetic 60 deg stand-up: 3.3 m/s^2 off, against 0.25 followed)."""
    if gyr is not None and np.isfinite(gyr).all() and gyr.any():
        gravity = gravity_from_attitude(acc, gyr, rate)
    else:
        from scipy.signal import butter, sosfiltfilt

        gravity = sosfiltfilt(butter(2, gravity_hz, fs=rate, output="sos"), acc, axis=0)
    return gravity + gain * (acc - gravity)


def gravity_from_attitude(acc: np.ndarray, gyr: np.ndarray, rate: float, tau: float = 2.0) -> np.ndarray:
    """Gravity in the sensor frame (as `acc` reads it) of a recording with a gyroscope: the reading
    rotated by the gyroscope from sample to sample (dg/dt = -w x g, a world vector seen from the
    turning sensor) and pulled toward the accelerometer with time constant `tau`; run forward and
    backward and averaged, so that neither pass's lag remains (a complementary filter)."""
    return 0.5 * (_follow_gravity(acc, gyr, 1.0 / rate, tau)
                  + _follow_gravity(acc[::-1], -gyr[::-1], 1.0 / rate, tau)[::-1])


@njit(cache=True)
def _follow_gravity(acc, gyr, dt, tau):
    g = np.empty_like(acc)
    g[0] = acc[0]
    a = dt / (tau + dt)
    for i in range(1, acc.shape[0]):
        w, p = gyr[i], g[i - 1]
        for j in range(3):
            cross = w[(j + 1) % 3] * p[(j + 2) % 3] - w[(j + 2) % 3] * p[(j + 1) % 3]
            g[i, j] = p[j] - cross * dt
        for j in range(3):
            g[i, j] += a * (acc[i, j] - g[i, j])
    return g


def slowed_down(t: np.ndarray, acc: np.ndarray, gyr: np.ndarray, rate: float, k: float,
                gravity_hz: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(t, acc, gyr, rate) of a walk k times slower, to a first approximation (dynamic similarity):
    time x k, the dynamic acceleration / k^2 and the gyroscope / k, gravity kept (and followed by
    the gyroscope: `with_dynamic`)."""
    return t * k, with_dynamic(acc, rate, 1 / k**2, gravity_hz, gyr), gyr / k, rate / k


def slowed_reference(truth: np.ndarray, bouts: np.ndarray, k: float) -> tuple[np.ndarray, np.ndarray]:
    """Copies of a reference's steps and bouts for its walk k times slower: times and durations x k,
    cadences / k."""
    truth, bouts = truth.copy(), bouts.copy()
    for name in ("t", "step_time_s", "contact_time_s", "flight_time_s"):
        truth[name] *= k
    truth["cadence_spm"] /= k
    bouts["t_start"] *= k
    bouts["t_end"] *= k
    bouts["cadence_spm"] /= k
    return truth, bouts


def kept_after_loss(n: int, share: float, burst: int, rng: np.random.Generator) -> np.ndarray:
    """Which of n samples remain when `share` of them are lost in bursts of `burst` at random times."""
    keep = np.ones(n, bool)
    for i in rng.integers(0, n - burst, int(share * n / burst)):
        keep[i : i + burst] = False
    return keep


def at_rate(t: np.ndarray, acc: np.ndarray, gyr: np.ndarray, rate: float, new_rate: float
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(t, acc, gyr) as a sensor at `new_rate` would give them: a polyphase anti-alias filter (not
    the IIR some tests use) that sees the first and last readings held beyond the recording's ends.
    Padded with zeros (scipy's default), its first half second ramped up from 0 g, which a sensor
    never does: HA_001's daily-life trial then found no standing calibration in its 3.4 s of
    standing, and its axes 20-60 deg off."""
    from fractions import Fraction

    from scipy.signal import resample_poly

    up, down = Fraction(new_rate / rate).limit_denominator(100).as_integer_ratio()
    acc, gyr = (resample_poly(x, up, down, axis=0, padtype="edge") for x in (acc, gyr))
    return t[0] + np.arange(len(acc)) / new_rate, acc, gyr


def jittered_times(t: np.ndarray, rate: float, share: float, rng: np.random.Generator) -> np.ndarray:
    """The times a host clock would stamp on regular samples: each moved by up to +-`share` of the
    sample interval (uniform), kept increasing; the samples themselves are unchanged."""
    return np.maximum.accumulate(t + rng.uniform(-share, share, t.size) / rate)


def with_gyro_offset(gyr: np.ndarray, sign: float = 1.0) -> np.ndarray:
    """The rates as a gyroscope without a factory calibration gives them: 5, -3.75, 2.5 deg/s off,
    times `sign` (consumer MEMS parts are specified to +-0.5-20 deg/s, either way)."""
    return gyr + sign * np.deg2rad([5.0, -3.75, 2.5])


def with_shorter_flights(
    t: np.ndarray, rate: float, truth: np.ndarray, cut: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(samples kept, their new times, the new reference ICs) of a running recording whose every
    flight (reference toe-off, IC + contact_time_s, to the next IC) is `cut` s shorter: that much
    of its middle removed, the rest moved up, 20 ms left at least. Slower and uphill running have
    shorter flights (the sacrum in free fall reads ~0 g however long the flight)."""
    ic = truth["t"]
    to = ic + truth["contact_time_s"]
    keep = np.ones(t.size, bool)
    shift = np.zeros(t.size)
    new_ic = ic.copy()
    for k in range(ic.size - 1):
        if not ic[k + 1] - to[k] >= cut + 0.02:
            continue
        mid = 0.5 * (to[k] + ic[k + 1])
        gone = (t >= mid - cut / 2) & (t < mid + cut / 2)
        keep &= ~gone
        removed = gone.sum() / rate
        shift[t >= mid + cut / 2] += removed
        new_ic[k + 1 :] -= removed
    return keep, (t - shift)[keep], new_ic


def mid_walk_start(truth: np.ndarray, after_s: float = 2.0) -> float:
    """Where a recording begun mid-walk (no standing before it) starts: halfway between the
    reference ICs around `after_s` past the first."""
    ic = truth["t"]
    k = int(np.searchsorted(ic, ic[0] + after_s))
    return 0.5 * (ic[k - 1] + ic[k])


def bouts_from(bouts: np.ndarray, t0: float) -> np.ndarray:
    """The reference bouts of a recording that starts at t0: only what it covers is scored."""
    bouts = bouts[bouts["t_end"] > t0].copy()
    bouts["t_start"] = np.maximum(bouts["t_start"], t0)
    return bouts


def with_one_leg_softer(
    t: np.ndarray, acc: np.ndarray, gyr: np.ndarray, rate: float, truth: np.ndarray, gain: float
) -> np.ndarray:
    """The acceleration of a walk whose right leg loads softer (a limp, a sore leg): the dynamic
    acceleration times a gain that follows the stride, `gain` in the right leg's loading (10 % of
    the stride after its IC), 1 in the left leg's half a stride later, a cosine between, gravity
    kept (followed as `with_dynamic` follows it). Smooth, so that no edge of its own makes a rise
    before an IC (a step gain switched 50 ms before each IC put the soft ICs 120-150 ms early).
    Over the stride the pelvis still carries body weight. Strides are from one right reference IC
    to the next, up to 3 s. (Not for running: a stance with less force but the same length would
    not carry the runner's weight; a real softer leg loads longer.)"""
    ic = truth["t"][truth["side"] == "R"]
    scale = np.ones(t.size)
    for t0, t1 in zip(ic[:-1], ic[1:], strict=True):
        if t1 - t0 < 3.0:
            on = (t >= t0) & (t < t1)
            phase = (t[on] - t0) / (t1 - t0) - 0.1
            scale[on] = 1.0 - (1.0 - gain) * 0.5 * (1.0 + np.cos(2.0 * np.pi * phase))
    scale = uniform_filter1d(scale, max(1, round(0.03 * rate)), mode="nearest")
    gravity = with_dynamic(acc, rate, 0.0, 0.5, gyr)
    return gravity + scale[:, None] * (acc - gravity)
