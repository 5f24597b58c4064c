"""Is the walk's step rhythm the signal's own? A check of the detected step time against the
autocorrelation of the vertical specific force, causal, run when a walking step closes.

The detectors' step time follows their own detections, so a rhythm that is wrong confirms itself:
a slow walk (~75 spm) whose loading and mid-stance bumps are both taken for steps reads twice its
cadence, and the walking low-pass and windows, scaled to that cadence, pass both bumps on. The
signal itself does not follow the detections: over a few strides, the autocorrelation of trunk
acceleration peaks at the step and the stride time (Moe-Nilssen & Helbostad 2004, J Biomech 37:121,
step and stride regularity). At half a step it is negative: the loading of one step lies over the
mid-stance of the last. So a detected step time T at which sf is anti-correlated (AC(T) <
DOUBLED_AC_MAX) while it repeats near 2 T (the highest AC between 1.5 T and 2.5 T exceeds AC(T) by
DOUBLED_AC_GAIN) is too short, and the lag of that highest AC is the signal's own step time
(extra ICs at a bout's start need not double the rhythm: HA_001 x 1.2 read 136 spm at a ~95 spm
start). Near, not at: doubled detections are irregular, so their
median step time is rarely exactly half the true one (s04 1.4x slower: at exactly 2 T the check
let a doubled walk run on for 10 s). Here AC(lag) is the correlation of the window with itself
`lag` later, over their overlap. Checked offline on the real walks (the acceleration's norm for
sf, 3 s windows ending at each reference IC, every cadence): the pair of conditions holds at the
true step time on 0.5 % of the windows (voisard2023, 985 ICs), 1.4 % (HA_001, 69) and, with the
walks stretched to ~75 spm, 0.7 % / 3 %; at half the true step on 95 % / 75 % (94 % / 80 %
stretched); read at 1.7x the true cadence on 94 % / 73 % (at exactly 2 T: 75 % / 32 %). It is asked
only of a walk read at DOUBLED_MIN_SPM or more, and the rhythm is taken from the signal after two
in a row. A rhythm read less than 1.5x too fast is taken at the search's start, 1.5 T (up to 10 %
long).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from imurun.core.state import FASTMATH, R_SF, R_T

BIN_S = 0.05  # sf is averaged into bins this long (20 Hz: well above walking's step frequencies)
WIN_S = 3.0  # the autocorrelation's window: two strides and more of a 75 spm walk
DOUBLED_AC_MAX = 0.0
DOUBLED_AC_GAIN = 0.5
# a walk read faster than this may be a slow walk counted twice: any walk under 60 spm reads more
# then; the real walks here reach 125 spm
DOUBLED_MIN_SPM = 120.0
N_BINS = int(round(WIN_S / BIN_S))


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _bins(ring, idx):
    """The last WIN_S of sf (ring rows up to idx, newest first) as BIN_S means; a bin without a
    sample (a lost packet, a rate under 20 Hz) takes its newer neighbour's. n < N_BINS when the
    ring holds less."""
    mask = ring.shape[0] - 1
    s = np.zeros(N_BINS)
    m = np.zeros(N_BINS)
    t_now = ring[idx & mask, R_T]
    k = idx
    while k >= 0 and idx - k < mask:
        b = int((t_now - ring[k & mask, R_T]) / BIN_S)
        if b >= N_BINS:
            break
        s[b] += ring[k & mask, R_SF]
        m[b] += 1.0
        k -= 1
    n = N_BINS if k >= 0 and idx - k < mask else int((t_now - ring[(k + 1) & mask, R_T]) / BIN_S) + 1
    for b in range(n):
        s[b] = s[b] / m[b] if m[b] > 0.0 else (s[b - 1] if b > 0 else 1.0)
    return s, n


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _corr(x, n, m):
    """Correlation of x[:n - m] with x[m:n], each one's mean removed."""
    cnt = n - m
    ma = 0.0
    mb = 0.0
    for i in range(cnt):
        ma += x[i]
        mb += x[i + m]
    ma /= cnt
    mb /= cnt
    sab = 0.0
    saa = 0.0
    sbb = 0.0
    for i in range(cnt):
        a = x[i] - ma
        b = x[i + m] - mb
        sab += a * b
        saa += a * a
        sbb += b * b
    return sab / math.sqrt(saa * sbb) if saa * sbb > 0.0 else 0.0


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _autocorr(x, n, lag):
    """Correlation of x[:n] with itself `lag` bins later (fractional lags interpolated between the
    two whole ones); NaN if the overlap is shorter than the lag."""
    lo = int(lag)
    if n - lo - 1 < lag:
        return math.nan
    w = lag - lo
    return (1.0 - w) * _corr(x, n, lo) + w * _corr(x, n, lo + 1)


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def doubled_step_s(ring, idx: int, cadence_spm: float) -> float:
    """When the sf of the last WIN_S (ring rows up to idx) says the walk's detected cadence is too
    fast (module docstring), the signal's own step time, s: the lag of the highest autocorrelation
    between 1.5 and 2.5 detected steps, placed between bins by a parabola. NaN when it cannot tell
    or the walk is slower than DOUBLED_MIN_SPM."""
    if not cadence_spm >= DOUBLED_MIN_SPM:
        return math.nan
    x, n = _bins(ring, idx)
    lag = 60.0 / cadence_spm / BIN_S
    ac1 = _autocorr(x, n, lag)
    if not ac1 < DOUBLED_AC_MAX:
        return math.nan
    # the repeat nearest twice the detected step: doubled detections are irregular
    m0, m1 = int(math.ceil(1.5 * lag)), int(2.5 * lag)
    ac = np.full(m1 - m0 + 1, -1.0)
    for m in range(m0, m1 + 1):
        a = _autocorr(x, n, float(m))
        if a == a:  # (NaN past the window's reach: skipped)
            ac[m - m0] = a
    best = int(np.argmax(ac))
    if not ac[best] - ac1 > DOUBLED_AC_GAIN:
        return math.nan
    top = float(m0 + best)
    if 0 < best < ac.size - 1:
        curv = ac[best - 1] - 2.0 * ac[best] + ac[best + 1]
        if curv < 0.0:
            top += 0.5 * (ac[best - 1] - ac[best + 1]) / curv
    return top * BIN_S
