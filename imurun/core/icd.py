"""Initial-contact (IC) detection and left/right from one sacral IMU, causal, sample by sample.

Both detectors read the vertical specific force sf (acceleration along the AHRS up direction, in g;
1 at rest, 0 in free fall), which needs no forward axis, so steps are found from the first strides.

Running: after a flight phase (sf below C_FLIGHT_SF for >= 20 ms) the landing shows as a steep rise of
sf. IC is where the tangent of that rise, taken at its crossing of C_CROSS_SF, meets the flight level
(sf = 0); the tangent's slope is the steeper of the secant across the crossing and the next one, so
a coarse first secant (50 Hz) does not move the IC early. A threshold-and-extrapolate variant of
the sacral vertical-acceleration methods compared by Kiernan et al. 2023 (Sensors 23:5022; Auvinet
et al. 2002, Lee et al. 2010). The toe-off is the mirror image on the falling edge (Patoz et al.
2022, Sensors 22:784, contact/flight from a sacral vertical-acceleration threshold). Emitted
~15-25 ms after the IC at 200 Hz. When packets are lost from flight into stance, the landing is
unseen: a flight sample before the gap arms the detector, and the IC is placed by the step rhythm
(last IC + smoothed step time) within the gap, where the tangent would
be guessed from two samples up to 130 ms apart.

Walking: no flight. The sacral vertical acceleration rises steeply into a peak in the loading
response just after heel strike (Zijlstra & Hof 2003; McCamley et al. 2012, Gait Posture 36:316).
A smoothed sf maximum above C_WALK_PEAK_SF is a step once sf has fallen back by 45 % of the peak's
height above 1 g, at least 30 ms after it. The loading peak follows the IC by ~70 ms (below) and
falls steeply, so the IC is known a median 85 ms (p95 88) after it on simulated walking at 200 Hz
and 120 ms (p95 188) on the real recordings; it was 181 and 220 ms when every peak waited 150 ms.
At 50 % the simulator's p95 was 105 ms (its impact ringing crests again), with the same real-data
scores; at 40 % the real recordings lose a step. A peak above
1.6 g (3 of the 131 walking peaks in the real recordings; running stance peaks are 2-3 g) or one
within a second of a flight still waits 150 ms: a flight in that time makes it a push-off into
running, not a step. Its IC is the time of
the steepest slope on the rise to that peak minus C_WALK_IC_OFFSET (20 ms). The slope of two samples
belongs to the instant between them, and its maximum is placed between samples by a parabola through
the three slopes around it, so the IC time does not depend on the sample rate (100 Hz walking:
bias 2 ms, cadence MAE 0.7 spm on the simulator; it was 7 ms and 0.8-1.3 spm on the sample grid).
On the reference recordings the steepest rise follows the IC by a median ~25 ms (MAD 19 ms), the
peak by ~70 ms (MAD 20 ms, but a long tail in slow, turning steps), hence the slope, not the peak.

Side (McCamley et al. 2012, as in mobgap's LrcMcCamley): the band-passed angular velocity about the
vertical axis is negative at a left IC and positive at a right IC. Where it is too weak to trust,
sides alternate.
"""

from __future__ import annotations

import math

from numba import njit

from imurun.core.state import (
    ARMED,
    AV_LP,
    AV_PREV,
    C_CROSS_SF,
    C_FLIGHT_SF,
    C_MIN_STEP,
    C_WALK_IC_OFFSET,
    C_WALK_PEAK_SF,
    CAD_EMA,
    DSF_PREV,
    FASTMATH,
    FLIGHT_TIME,
    LAND_SLOPE,
    LAND_T,
    LAST_FLIGHT_T,
    LAST_IC_T,
    PEAK_RISE_T,
    PEAK_T,
    PEAK_V,
    RISE_PREV,
    RISE_SLOPE,
    RISE_T,
    RISE_WAIT,
    TO_T,
    WALK_PEAK,
)

KIND_WALK = 0.0
KIND_RUN = 1.0
RUN_MODE_S = 1.0  # a flight phase within this time = running mode
WALK_CONFIRM_S = 0.15  # long enough to see whether a flight follows the peak
WALK_FALL = 0.45  # a walking peak is confirmed when sf fell back by this share of its height over 1 g,
WALK_FALL_MIN_S = 0.03  # no sooner than this after it (impact ringing),
WALK_FAST_MAX_SF = 1.6  # and only if it is a walking-sized peak (g), else after WALK_CONFIRM_S


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def detect_ic(f, c, t, dt, sf, dsf, gap):
    """Update detector state with one sample (sf and the slope of its smoothed value, g and g/s);
    `gap`: samples were lost just before this one (dt is then the time since the last sample).

    Returns (found, t_ic, kind).
    """
    found = False
    t_ic = math.nan
    kind = KIND_WALK
    prev = f[AV_PREV]
    f[AV_PREV] = sf
    # flight phases arm the running detector
    if sf < c[C_FLIGHT_SF]:
        f[FLIGHT_TIME] += dt
        if f[FLIGHT_TIME] >= 0.02:
            f[ARMED] = 1.0
            f[LAST_FLIGHT_T] = t
    else:
        f[FLIGHT_TIME] = 0.0
    lvl = c[C_CROSS_SF]
    slope = (sf - prev) / dt
    if math.isfinite(f[LAND_SLOPE]):
        # the landing crossed lvl one sample ago: its tangent is the steeper of the secant across
        # the crossing and the next one (at 50 Hz the first often straddles the foot of the rise)
        s = f[LAND_SLOPE] if gap else max(f[LAND_SLOPE], slope)
        f[LAND_SLOPE] = math.nan
        return True, f[LAND_T] - max(0.0, min(lvl / s, 0.05)), KIND_RUN
    # a gap that starts in flight and ends in stance hid the landing (and maybe most of the flight)
    armed = f[ARMED] == 1.0 or (gap and prev < c[C_FLIGHT_SF])
    if armed and prev < lvl <= sf and slope > 0.0:
        f[ARMED] = 0.0
        f[PEAK_V] = 0.0
        if gap and f[CAD_EMA] > 0.0 and math.isfinite(f[LAST_IC_T]):
            # the rise is not seen, so its tangent is unknown: the step rhythm (running step times
            # vary by a few %) places the landing better, within the gap's bounds
            return True, min(t, max(t - dt, f[LAST_IC_T] + 60.0 / f[CAD_EMA])), KIND_RUN
        f[LAND_T] = t - (sf - lvl) / slope
        f[LAND_SLOPE] = slope
        return found, t_ic, kind
    if t - f[LAST_FLIGHT_T] < RUN_MODE_S and prev >= lvl > sf and slope < 0.0:
        if math.isfinite(f[LAST_IC_T]):
            # the last falling crossing before the flight is the toe-off (impact ringing can
            # cross earlier), so later crossings overwrite earlier ones
            t_cross = t - (sf - lvl) / slope
            f[TO_T] = t_cross + min(lvl / -slope, 0.05)
    # walking: a confirmed maximum of the smoothed vertical specific force, not followed by a
    # flight (that would be a push-off into a running stride, whose landing is the IC)
    x = f[AV_LP]
    if f[RISE_WAIT] == 1.0:
        f[RISE_WAIT] = 0.0
        ym, y0 = f[RISE_PREV], f[RISE_SLOPE]
        curv = ym - 2.0 * y0 + dsf
        if dsf <= y0 and curv < 0.0:  # parabola through the three slopes: sub-sample maximum
            f[RISE_T] += dt * min(0.5, max(-0.5, 0.5 * (ym - dsf) / curv))
    if dsf <= 0.0:
        f[RISE_SLOPE] = 0.0  # the current rise ended
    elif dsf > f[RISE_SLOPE]:
        f[RISE_SLOPE] = dsf
        f[RISE_T] = t - 0.5 * dt  # a difference of two samples is the slope between them
        f[RISE_PREV] = f[DSF_PREV]
        f[RISE_WAIT] = 1.0
    f[DSF_PREV] = dsf
    if f[FLIGHT_TIME] > 0.0:
        f[PEAK_V] = 0.0
        return found, t_ic, kind
    since = t - f[LAST_IC_T] if math.isfinite(f[LAST_IC_T]) else 1e9
    if since < 0.8 * c[C_MIN_STEP]:
        return found, t_ic, kind
    if x > f[PEAK_V]:
        f[PEAK_V] = x
        f[PEAK_T] = t
        f[PEAK_RISE_T] = f[RISE_T]
    elif f[PEAK_V] >= c[C_WALK_PEAK_SF] and _walk_peak_confirmed(f, t, x):
        t_ic = f[PEAK_RISE_T] - c[C_WALK_IC_OFFSET]
        found = True
        f[WALK_PEAK] = f[PEAK_V]
        f[PEAK_V] = 0.0
    elif t - f[PEAK_T] > 0.5:
        f[PEAK_V] = x  # forget stale sub-threshold maxima
        f[PEAK_T] = t
        f[PEAK_RISE_T] = t
    return found, t_ic, kind


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _walk_peak_confirmed(f, t, x):
    """The candidate walking peak is the step's loading peak: no higher one and no flight follows."""
    after = t - f[PEAK_T]
    if after >= WALK_CONFIRM_S:
        return True
    fell = x <= f[PEAK_V] - WALK_FALL * (f[PEAK_V] - 1.0)
    running = t - f[LAST_FLIGHT_T] < RUN_MODE_S
    return fell and after >= WALK_FALL_MIN_S and f[PEAK_V] <= WALK_FAST_MAX_SF and not running
