"""Initial-contact (IC) detection and left/right from one sacral IMU, causal, sample by sample.

Both detectors read the vertical specific force sf (acceleration along the AHRS up direction, in g;
1 at rest, 0 in free fall), which needs no forward axis, so steps are found from the first strides.

Running: after a flight phase (sf below C_FLIGHT_SF for >= 20 ms, counted from RING_S after the last
sample at or above 1 g: a mount's ringing is no free fall; once running, any dip below it after the
stance, as slower and uphill running's short flights give) the landing shows as a steep rise of sf.
IC is where the tangent of that rise, taken at its crossing of C_CROSS_SF, meets the flight
level (sf = 0); the tangent's slope is the steeper of the secant across the crossing and the next
one, so a coarse first secant (50 Hz) does not move the IC early. When the climb steepens further
before sf first stops rising and while it is below body weight, the tangent at its steepest point
there gives the IC (the later foot; no later than the crossing): a sacrum that rises slowly out of
the flight is not read early. The rise is watched up to
LAND_WIN_S (until it is past its steepest, >= 1 g): if it steepens LAND_BUMP times, the crossing was
a slow bump out of the flight and the tangent at the steepest point gives the IC (real running F1@50
0.979 -> 0.994, IC MAE 9.3 -> 5.8 ms; simulated running unchanged; ~4 ms more latency). A rise that
has not reached 1 g is watched up to LAND_BACK_WIN_S: if it falls back under C_CROSS_SF short of
1 g, it was the swinging leg's bump in late flight (~0.6 g for ~45 ms, the landing ~0.1 s later on
the real runner downhill with its dynamic acceleration x 0.8), and a later rise LAND_BUMP times
steeper is the landing, its tangent the IC, no longer clamped to the bump's crossing (when a gap
hides that landing after the bump's flight, the gap rule below places it). So is a bump that
hovers above C_CROSS_SF, short of 1 g, until the landing, when the landing's tangent meets the
flight level more than LAND_SEP_S after the bump's crossing (the real runner with its dynamic
acceleration x 0.8: F1@50 0.985 -> 0.994, x 0.7: 0.928 -> 0.950; ICs had been placed at the bump,
~60 ms early). A rise that never reaches body weight in that watch is no landing at all: the
sacrum's wobble after a toe-off, whose flight ends more than LAND_BACK_WIN_S later (the real runner
at time x 1.4: F1@50 0.992 -> 0.998), or a turn or bend in daily life without a gyroscope. A gap
ends the watch only once the rise has reached body weight (the real runner with 1 % of its samples
lost: per-step cadence MAE 2.11 -> 1.83 spm).
A running stance whose landing no flight armed (the sacrum stayed just above the flight level) is
still found by the walking detector: its peak, waiting to see whether a flight follows, is a step
when one does, if the last IC was a running one, none was found for that stance and no sample was
lost since (_pending_walk_ic). A stance the walking detector finds at a running rhythm (>= RUN_MIN_SPM,
or before any step time is known: a clip that starts mid-run) that rose out of sf below C_CROSS_SF
is a running one too, its IC on the rise into the impact peak: a softer runner's sacrum may never
reach the flight level (the simulated runs with their dynamic acceleration x 0.6: F1@50 0.06 ->
0.99, their steps taken ~90 ms late as walking ones; the real runner x 0.7, whose 5 s clips opened
with such walking steps: 0.950 -> 0.956, bout cadence 2.33 -> 1.86 spm). So is one at
RUN_STANCE_SPM or faster whose peak passes WALK_FAST_MAX_SF, whatever its dip (the real runner x 0.6,
dipping to 0.45-0.6 g: F1@50 0.889 -> 0.975, its row left on that rise). Before any step time
that rule cannot apply, so the stance is decided again once its step closes, into a landing, at
that rhythm (first_stance_at_rhythm: the real runner x 0.7, F1@50 0.992 -> 0.995). A threshold-
and-extrapolate variant of the sacral vertical-acceleration methods compared by Kiernan et al. 2023
(Sensors 23:5022; Auvinet et al. 2002, Lee et al. 2010); the toe-off is kernel._toe_off's. Emitted
~25-30 ms after the IC at 200 Hz. When packets are lost from flight into stance, the landing is
unseen: a flight sample before the gap arms the detector, and the IC is placed by the step rhythm
(last IC + smoothed step time) within the gap, where the tangent would be guessed from two samples
up to 130 ms apart.
The step-to-step scatter of such ICs is the tangent's: on the real runner's smooth, filtered
landings its foot scatters by 3.5 ms (SD about each clip's mean, against the force plate), while
the norm of the specific force passes 1 g at a steadier point of the same rise (1.9 ms; the norm
needs no up direction). So a landing's IC is the tangent's foot moved to that crossing less the
crossing's mean lead over the foot (LAND_LEAD, an EMA over landings): the tangent keeps the mean
timing, the crossing gives the step to step, when it is one clean rise out of a flight within
LEAD_MAX_S of its usual lead (_on_norm_clock). Real running per-step cadence MAE 2.50 -> 1.63 spm.
A simulated landing rises from its contact as a straight ramp, whose tangent's foot is exact, and
the crossing adds its sampling scatter there (per-step 0.14 -> 0.28 spm at 400 Hz, 0.55 -> 0.71 at
100 Hz, 2.17 -> 2.13 at 50 Hz).

Walking: no flight. The sacral vertical acceleration rises steeply into a peak in the loading
response just after heel strike (Zijlstra & Hof 2003; McCamley et al. 2012, Gait Posture 36:316).
Steps are the maxima of sf low-passed at walk_lp_hz (4 Hz, 2nd-order Butterworth, causal; the
offline lower-back methods smooth the same way before they look for ICs, e.g. McCamley's Gaussian
wavelet): one maximum per step up to ~240 spm, where the raw signal of other people has a
pre-loading bump or a bump between steps as high as a faint step (the ten voisard2023 walkers:
F1@100 0.84 on raw peaks, 0.91 low-passed). A maximum above C_WALK_PEAK_SF times the sensor's
own reading of 1 g (ONE_G, learned while still: the real walks' sensors read 0.98-1.03 g at rest,
so an absolute 1.03 g took standing sway for steps on some and missed faint steps on others) is
a step once the
low-passed sf has fallen from it by C_WALK_FALL (30 %) of the walk's typical step peak (an EMA over
the ICs found), at least 30 ms after it, so a small bump needs the same fall as a step. The IC
is found in the raw signal from C_WALK_IC_WIN (0.25 s) before that maximum up to now: the loading
peak is the first raw peak at least PEAK_SHARE as high as the highest that sf clearly dips after
(impact ringing can crest higher a moment later), and the IC the steepest slope of lightly
smoothed sf (15 ms) in the RISE_MAX_S rise into it, minus C_WALK_IC_OFFSET (20 ms), placed between
samples by a parabola through the three slopes (IC times do not move with the sample rate). The
low-pass costs latency: a walking IC is known 135 / 141 ms (p50 / p95) after it on simulated
walking at 200 Hz, 160 / 254 ms on the real walks of HA_001 (85 / 88 and 120 / 188 ms on raw
peaks). A peak above 1.6 g, or one within a
second of a flight, still waits 150 ms: a flight in that time makes it a push-off into running.
On the reference recordings the steepest rise follows the IC by a median ~25 ms (MAD 19 ms), the
peak by ~70 ms (a long tail in slow, turning steps), hence the slope, not the peak.

Side (McCamley et al. 2012, as in mobgap's LrcMcCamley): the band-passed angular velocity about the
vertical axis is negative at a left IC and positive at a right IC. Where it is too weak to trust,
sides alternate.
"""

from __future__ import annotations

import math

from numba import njit

from imurun.core.state import (
    AN2_PREV,
    AN_DOWN_T,
    AN_UP_T,
    ARMED,
    AV_PREV,
    C_CROSS_SF,
    C_FLIGHT_SF,
    C_MIN_FLIGHT,
    C_MIN_RUN_STEP,
    C_MIN_STEP,
    C_RUN_MODE_S,
    C_TO_MIN_S,
    C_WALK_CONFIRM_S,
    C_WALK_FALL,
    C_WALK_IC_OFFSET,
    C_WALK_IC_WIN,
    C_WALK_PEAK_SF,
    CAND_WIN_T0,
    FASTMATH,
    FLIGHT_TIME,
    GAP_T,
    LAND_BACK,
    LAND_FELL,
    LAND_IC,
    LAND_LEAD,
    LAND_LOW,
    LAND_N,
    LAND_RISE_IC,
    LAND_RISING,
    LAND_S0,
    LAND_SLOPE,
    LAND_T,
    LAST_FLIGHT_T,
    LAST_IC_RUN,
    LAST_IC_T,
    LAST_IC_WIN_IDX,
    LAST_IC_WIN_T0,
    LOADED_T,
    ONE_G,
    ONE_G_N,
    PEAK_T,
    PEAK_V,
    R_DSF,
    R_SF,
    R_T,
    RHYTHM,
    WALK_PEAK,
    WALK_SCALE,
    WLP_Y,
    WPEAK_REF,
)

KIND_WALK = 0.0
KIND_RUN = 1.0
PEAK_SHARE = 0.8  # walking: a raw peak this close to the highest one (above 1 g) is the loading peak
# A walking-detector stance that rose out of sf below C_CROSS_SF at a running rhythm (the real walks
# here: <= 125 spm, the real runner >= 165) or before the first step time is a running one: a softer
# runner's sacrum need not reach the flight level, and no walk dips that low (voisard2023's lowest
# 1 % before a contact: 0.52 g). Its loading peak is the first raw peak this close to the highest
RUN_MIN_SPM = 140.0
IMPACT_SHARE = 0.3
PEAK_DIP = 0.2  # ... and sf dips by this share of the highest one's height before rising again
# ... or, on a landing's rise (out of sf below C_CROSS_SF), by this share: its first crest is the
# impact, where a softer runner's sacrum dips but little before the active peak (the real runner
# x 0.7 had ICs 50-80 ms late at the second crest; 0.05-0.15 find the same steps)
LANDING_DIP = 0.1
RISE_MAX_S = 0.1  # walking: the steepest loading rise is sought this far before the loading peak
WPEAK_ALPHA = 0.25  # EMA weight of each IC's low-passed peak in WPEAK_REF
LAND_WIN_S = 0.04  # s after a landing's crossing of C_CROSS_SF in which its steepest rise is sought
RING_S = 0.015  # see LOADED_T
LAND_BUMP = 3.0  # ... a rise this many times steeper than at the crossing: the crossing was a bump
LAND_BACK_WIN_S = 0.15  # ... and this long while it is short of 1 g (a bump falls back, then lands)
# A landing's own rise takes < 10 ms from the flight level to C_CROSS_SF: a steepest rise whose
# tangent meets the flight level this long after the crossing (1.5 samples at 50 Hz) is a later
# landing than the crossing's
LAND_SEP_S = 0.03
# A landing's IC is timed by the norm's 1 g crossing (_on_norm_clock) when the norm was under 1 g
# this long before it (a flight, not a mount's ringing) and crossed no sooner than this before sf's
# C_CROSS_SF crossing (the tangent's own reach back)
NORM_QUIET_S = 0.05
LEAD_ALPHA = 0.2  # EMA weight of each landing's lead in LAND_LEAD (~5 landings)
# ... and only when its lead over the tangent's foot is this close to the mean: a crossing further
# off is not on the same part of the rise (the simulated impact spike's two crossings: 25 ms apart).
# Real runner per-step cadence MAE at 3 / 5 / 10 / 15 ms: 2.25 / 2.01 / 1.77 / 1.63 spm
LEAD_MAX_S = 0.015
WALK_FALL_MIN_S = 0.03  # a walking peak is confirmed no sooner than this after it (impact ringing),
WALK_FAST_MAX_SF = 1.6  # and only if it is a walking-sized peak (g), else after walk_confirm_s
# A walking-detector stance at this rhythm or faster whose peak passes WALK_FAST_MAX_SF is a running
# one too, whatever its dip: a still softer runner (the real runner x 0.6 dips to 0.45-0.6 g) had its
# ICs taken from the active peak's rise, ~15 ms late (F1@50 0.889 -> 0.969). A walk reads 160 spm
# only when counted twice; the peak's size keeps out a slow walk's (voisard2023 1.4x slower: the same
# steps; without it F1@100 0.916 -> 0.914). It cannot tell a runner before the rhythm is known: the
# real walks' stances peak at a median 1.66 g (99 % 2.15), the real runner x 0.5's from 1.76 g (1 %)
RUN_STANCE_SPM = 160.0
# ... and a first stance decided again by that rule moves by no more than this: the impact's rise
# leads the active peak's by ~50 ms (the real runner x 0.6-0.7: 49-53 ms); an IC further back is
# another stance's (a brisk walk begun mid-stride, voisard2023 s04: 0.2 s)
IMPACT_LEAD_MAX_S = 0.1
END_STEP_TOL = 0.25  # a running stance at the stream's end is a step this close to the step time
# A landing may follow the last IC by RUN_STEP_RATIO of the run's step time (RHYTHM), between
# min_run_step_s (0.2 s, 300 spm; also before the rhythm is known) and RUN_BOUNCE_S (273 spm): the
# real runner's fastest clip played at time x 0.85 (269 spm) steps down to 0.21 s and lost 6 of its
# 19 steps at a fixed 0.22 s; at a 0.35 s step, the rise of a simulated runner who stops dead into
# standing came 0.21 s after the last landing, and a harder landing's swing bump 0.18 s
RUN_BOUNCE_S = 0.22
RUN_STEP_RATIO = 0.8


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _running(f, c, t):
    """Running mode: a flight phase within run_mode_s."""
    return t - f[LAST_FLIGHT_T] < c[C_RUN_MODE_S]


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def shortest_run_step(f, c):
    """The shortest step that may end in a landing, s (see RUN_BOUNCE_S)."""
    by_rhythm = RUN_STEP_RATIO * 60.0 / f[RHYTHM] if f[RHYTHM] > 0.0 else 0.0
    return max(c[C_MIN_RUN_STEP], min(RUN_BOUNCE_S, by_rhythm))


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _on_norm_clock(f, t_tangent):
    """A landing's IC: `t_tangent` (its tangent's foot) moved to the norm's 1 g crossing less that
    crossing's mean lead over the foot (LAND_LEAD), when the crossing is one clean rise out of a
    flight (NORM_QUIET_S under 1 g, no fall on the way) within LEAD_MAX_S of its usual lead. Not
    clamped to the C_CROSS_SF crossing as the foot is: that crossing scatters too (real runner
    per-step cadence 1.77 -> 1.83 spm with the clamp)."""
    t1 = f[AN_UP_T]
    if not (t1 >= f[LAND_T] - NORM_QUIET_S and f[AN_DOWN_T] < t1 - NORM_QUIET_S) or f[LAND_FELL] == 1.0:
        return t_tangent
    lead = t1 - t_tangent
    mean = f[LAND_LEAD]
    f[LAND_LEAD] = lead if math.isnan(mean) else mean + LEAD_ALPHA * (lead - mean)
    if not abs(lead - mean) <= LEAD_MAX_S:
        return t_tangent
    return t_tangent + lead - f[LAND_LEAD]


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def detect_ic(f, c, ring, idx, t, dt, sf, an2, gap):
    """Update detector state with one sample (sf, g, already in the ring at `idx`); `gap`: samples
    were lost just before this one (dt is then the time since the last sample).

    Returns (found, t_ic, kind).
    """
    found = False
    t_ic = math.nan
    kind = KIND_WALK
    if gap:
        f[GAP_T] = t
    prev = f[AV_PREV]
    f[AV_PREV] = sf
    an2_prev = f[AN2_PREV]
    f[AN2_PREV] = an2
    if an2_prev < 1.0 <= an2 and not gap:
        a_prev, a = math.sqrt(an2_prev), math.sqrt(an2)
        f[AN_UP_T] = t - dt * (a - 1.0) / (a - a_prev)
    elif an2 < 1.0 <= an2_prev:
        f[AN_DOWN_T] = t
    low = not f[LOADED_T] >= f[LAND_T]  # a watched landing's rise has not reached 1 g before now
    # flight phases arm the running detector
    if sf >= 1.0:
        f[LOADED_T] = t
    if sf < c[C_FLIGHT_SF]:
        # the sacrum takes 40-60 ms from body weight into a flight: a dip sooner than RING_S after
        # a sample above 1 g is a mount ringing, not a free fall
        if t - f[LOADED_T] >= RING_S:
            f[FLIGHT_TIME] += dt
        if f[FLIGHT_TIME] >= c[C_MIN_FLIGHT]:
            f[ARMED] = 1.0
            f[LAST_FLIGHT_T] = t
        elif _running(f, c, t) and math.isnan(f[LAND_SLOPE]) and t - f[LAST_IC_T] >= c[C_TO_MIN_S]:
            f[ARMED] = 1.0  # running: a shorter dip after the stance is a flight too
            f[LAST_FLIGHT_T] = t
    else:
        f[FLIGHT_TIME] = 0.0
    lvl = c[C_CROSS_SF]
    slope = (sf - prev) / dt
    if math.isfinite(f[LAND_SLOPE]):
        # the landing crossed lvl: its IC is where the tangent across the crossing (the steeper of
        # the secant across it and the next: at 50 Hz the first often straddles the foot of the
        # rise) meets the flight level (sf = 0), at most 50 ms before the crossing, or the later
        # foot of a steeper tangent of the same climb below 1 g (LAND_RISE_IC). The rise is
        # watched for LAND_WIN_S: when it steepens LAND_BUMP times beyond the crossing's slope,
        # the crossing was a slow bump out of the flight before the impact (a filtered recording,
        # alcantara2022: 5 of 327 ICs 60-70 ms early), and the tangent at the steepest point of
        # the whole watch gives the IC
        loaded = f[LOADED_T] >= f[LAND_T]  # the rise reached body weight
        if not gap:
            if an2 < an2_prev and an2 < 1.0:
                f[LAND_FELL] = 1.0
            if f[LAND_N] == 0.0:
                f[LAND_S0] = max(f[LAND_S0], slope)
            if sf < lvl and not loaded:
                f[LAND_BACK] = 1.0
            if slope <= 0.0:
                f[LAND_RISING] = 0.0
            if slope > f[LAND_SLOPE]:
                f[LAND_SLOPE] = slope
                f[LAND_IC] = t - sf / slope
                f[LAND_LOW] = 1.0 if low else 0.0
                if f[LAND_RISING] == 1.0 and f[LAND_N] >= 1.0 and sf < 1.0:
                    f[LAND_RISE_IC] = f[LAND_IC]
            f[LAND_N] += 1.0
        # the watch ends early once the impact's rise is past its steepest (>= 1 g and at half
        # its slope), which costs a landing 10-20 ms instead of LAND_WIN_S
        past = sf >= 1.0 and slope < 0.5 * f[LAND_SLOPE]
        # a rise short of body weight is watched longer, through a gap too: it may fall back (a
        # bump, not the landing)
        if not ((gap and loaded) or past or t - f[LAND_T] >= (LAND_WIN_S if loaded else LAND_BACK_WIN_S)):
            return found, t_ic, kind
        steepest = f[LAND_SLOPE]
        f[LAND_SLOPE] = math.nan
        if not (loaded or gap):
            return found, t_ic, kind  # no landing: a rise that never reached body weight
        if steepest >= LAND_BUMP * f[LAND_S0]:
            # the steepest tangent is the IC, but no later than the crossing, unless the crossing
            # was a bump of its own: it fell back under lvl, or it hovered short of 1 g until a
            # landing whose tangent meets the flight level LAND_SEP_S after it (a rise that reached
            # 1 g first was the landing: the simulated heel strike at 100 Hz, its ringing re-rise)
            if f[LAND_BACK] == 1.0 or (f[LAND_LOW] == 1.0 and f[LAND_IC] - f[LAND_T] > LAND_SEP_S):
                return True, _on_norm_clock(f, f[LAND_IC]), KIND_RUN
            return True, _on_norm_clock(f, min(f[LAND_T], f[LAND_IC])), KIND_RUN
        if not (gap and f[LAND_BACK] == 1.0 and f[ARMED] == 1.0):
            t_cross = f[LAND_T] - max(0.0, min(lvl / f[LAND_S0], 0.05))
            return True, _on_norm_clock(f, min(f[LAND_T], max(t_cross, f[LAND_RISE_IC]))), KIND_RUN
        # else a bump fell back into a flight and a gap hid the landing: placed below as any
    # a gap that starts in flight and ends in stance hid the landing (and maybe most of the flight)
    armed = f[ARMED] == 1.0 or (gap and prev < c[C_FLIGHT_SF])
    if armed and prev < lvl <= sf and slope > 0.0:
        f[ARMED] = 0.0
        t_walk = _pending_walk_ic(f, c, ring, idx, t, f[WLP_Y])
        if gap and f[RHYTHM] > 0.0 and math.isfinite(f[LAST_IC_T]):
            # the rise is not seen, so its tangent is unknown: the step rhythm (running step times
            # vary by a few %) places the landing better, within the gap's bounds
            return True, min(t, max(t - dt, f[LAST_IC_T] + 60.0 / f[RHYTHM])), KIND_RUN
        f[LAND_T] = t - (sf - lvl) / slope
        f[LAND_SLOPE] = f[LAND_S0] = slope
        f[LAND_IC] = t - sf / slope
        f[LAND_RISE_IC] = -math.inf
        f[LAND_N] = f[LAND_BACK] = f[LAND_FELL] = 0.0
        f[LAND_LOW] = f[LAND_RISING] = 1.0
        if math.isfinite(t_walk):
            return True, t_walk, KIND_RUN
        return found, t_ic, kind
    # walking: a confirmed maximum of the low-passed vertical specific force, not followed by a
    # flight (that would be a push-off into a running stride, whose landing is the IC)
    x = f[WLP_Y]
    if f[FLIGHT_TIME] >= c[C_MIN_FLIGHT]:
        if f[PEAK_V] > 0.0:
            t_walk = _pending_walk_ic(f, c, ring, idx, t, x)
            if math.isfinite(t_walk):
                return True, t_walk, KIND_RUN
        return found, t_ic, kind
    if f[FLIGHT_TIME] > 0.0:
        # a dip below the flight level: the peak waits to see whether it becomes a flight (as the
        # running detector does). Discarded at once, a runner whose sacrum dips below flight_sf_g
        # for less than min_flight_s lost the step to both detectors (the real runner with its
        # dynamic acceleration x 0.8: F1@50 0.727, bout cadence 55 spm off)
        return found, t_ic, kind
    since = t - f[LAST_IC_T] if math.isfinite(f[LAST_IC_T]) else 1e9
    if since < 0.8 * c[C_MIN_STEP]:
        return found, t_ic, kind
    if x > f[PEAK_V]:
        f[PEAK_V] = x
        f[PEAK_T] = t
    elif _walk_peak_fallen(f, c, x) and _walk_peak_confirmed(f, c, t):
        t_ic, kind = _walk_peak_ic(f, c, ring, idx)
        if math.isnan(t_ic):
            f[PEAK_V] = 0.0
            return found, t_ic, kind
        found = True
        h = f[PEAK_V] - 1.0
        f[WPEAK_REF] = h if f[WPEAK_REF] == 0.0 else f[WPEAK_REF] + WPEAK_ALPHA * (h - f[WPEAK_REF])
        f[WALK_PEAK] = f[PEAK_V]
        f[PEAK_V] = 0.0
    elif t - f[PEAK_T] > 0.5:
        f[PEAK_V] = x  # forget stale sub-threshold maxima
        f[PEAK_T] = t
    return found, t_ic, kind


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def last_walk_ic(f, c, ring, idx, t):
    """At the end of the stream (last sample at t): the IC of a walking peak that has fallen like a
    step's and was waiting to see whether a flight follows (none can now), else NaN. A 5 s running
    clip whose sacrum never dipped to the flight level lost its last step to that wait. In running
    (after a landing, or at RUN_MIN_SPM or faster), a stance that rose one step time (+-25 %) after
    the last IC into an impact (above WALK_FAST_MAX_SF) is a step before its low-passed peak has
    fallen: a clip that ends 0.05-0.2 s after a landing (a runner who stops rises into standing
    instead). After a landing it must have risen out of sf below C_CROSS_SF; at a running rhythm
    alone its stance may be a walking one: a slow soft runner's (the real runner x 0.6 at time x
    1.2, ~150 spm: 6 of 21 clips lost their last step, F1@50 0.938 -> 0.946)."""
    if f[PEAK_V] > 0.0 and f[FLIGHT_TIME] == 0.0 and t - f[PEAK_T] >= WALK_FALL_MIN_S \
            and _walk_peak_fallen(f, c, f[WLP_Y]):
        return _walk_peak_ic(f, c, ring, idx)
    at_run_rhythm = f[RHYTHM] >= RUN_MIN_SPM
    if f[PEAK_V] > 0.0 and (f[LAST_IC_RUN] == 1.0 or at_run_rhythm) and f[RHYTHM] > 0.0 \
            and t - f[LAST_IC_T] < c[C_RUN_MODE_S]:
        # its rise is sought no sooner than the step's tolerance allows: the window before a peak
        # still rising at the end reaches back into the last stance, whose peak may be the higher
        step = 60.0 / f[RHYTHM]
        t_ic, kind = _walk_peak_ic(f, c, ring, idx, f[LAST_IC_T] + (1.0 - END_STEP_TOL) * step)
        if (kind == KIND_RUN or at_run_rhythm) and abs((t_ic - f[LAST_IC_T]) / step - 1.0) <= END_STEP_TOL \
                and _highest_since(ring, idx, t_ic) >= WALK_FAST_MAX_SF * f[ONE_G]:
            return t_ic, kind
    return math.nan, KIND_WALK


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _highest_since(ring, idx, t0):
    """The highest sf in the ring from t0 to the sample at idx."""
    mask = ring.shape[0] - 1
    top = -math.inf
    k = idx
    while idx - k < mask and ring[k & mask, R_T] >= t0:
        top = max(top, ring[k & mask, R_SF])
        k -= 1
    return top


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _pending_walk_ic(f, c, ring, idx, t, x):
    """When a flight (or a landing) ends the wait of a walking peak that has fallen like a step's:
    after a running IC (within run_mode_s) and no lost sample since, its IC if none was found for
    that stance (the running detector saw no landing before it: a runner whose sacrum stayed just
    above the flight level), else NaN (a stance whose landing was found, a push-off into running,
    a first stride from standing). In a recording that began mid-run (never still), so is a stance
    that rose out of sf below C_CROSS_SF after any IC or none: a landing, not a push-off. Forgets
    the peak either way."""
    t_ic = math.nan
    # samples lost since the last IC may have hidden its landing: the gap rule's business, and a
    # walking IC placed across a gap came 90 ms late (a simulated loose mount at 50 Hz)
    clean = f[GAP_T] < f[LAST_IC_T]
    after_run = f[LAST_IC_RUN] == 1.0 and clean and t - f[LAST_IC_T] < c[C_RUN_MODE_S]
    never_still = f[ONE_G_N] == 0.0  # a recording that began mid-run
    if (after_run or never_still) and _walk_peak_fallen(f, c, x):
        t_rise, kind = _walk_peak_ic(f, c, ring, idx)
        # else a push-off from standing or walking, unless it rose out of an unloaded sacrum
        landing = after_run or kind == KIND_RUN
        if landing and not t_rise - f[LAST_IC_T] < shortest_run_step(f, c):  # (True for the first IC)
            t_ic = t_rise
    f[PEAK_V] = 0.0
    return t_ic


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _steepest_rise(ring, idx, t0, unloaded_sf, impact_sf):
    """Time of the steepest slope of smoothed sf (ring R_DSF) on the rise into the loading peak
    found in [t0, now], placed between samples by a parabola through the three slopes around it
    (so it does not move with the rate). A slope of two samples belongs to the instant between
    them. The window ends now, not at the low-passed maximum, which can precede the raw peak.
    Also whether it is a landing: sf was below `unloaded_sf` before the highest peak (a near-flight)
    or that peak reached `impact_sf`."""
    mask = ring.shape[0] - 1
    # the loading peak (the low-passed maximum lags it): the first raw peak in the window nearly
    # as high as the highest, since impact ringing can crest higher a moment later
    top = -math.inf
    k_top = idx
    k = idx
    while k > 0 and idx - k < mask - 1 and ring[k & mask, R_T] >= t0:
        if ring[k & mask, R_SF] > top:
            top = ring[k & mask, R_SF]
            k_top = k
        k -= 1
    low = math.inf
    for kk in range(k + 1, k_top):
        low = min(low, ring[kk & mask, R_SF])
    landing = low < unloaded_sf or top >= impact_sf  # its impact peak is the loading peak
    share = IMPACT_SHARE if landing else PEAK_SHARE
    for kk in range(k + 2, k_top):
        y = ring[kk & mask, R_SF]
        if (y - 1.0 < share * (top - 1.0) or y < ring[(kk - 1) & mask, R_SF]
                or y < ring[(kk + 1) & mask, R_SF]):
            continue
        dip = y  # a peak of its own only if sf dips clearly before rising above it again
        kn = kk + 1
        while kn <= k_top and ring[kn & mask, R_SF] <= y:
            dip = min(dip, ring[kn & mask, R_SF])
            kn += 1
        if y - dip >= (LANDING_DIP if landing else PEAK_DIP) * (top - 1.0):
            k_top = kk
            break
    # the steepest slope on the rise into it (a loading rise lasts well under RISE_MAX_S)
    best = -math.inf
    k_best = k_top
    k = k_top
    t_rise = max(t0, ring[k_top & mask, R_T] - RISE_MAX_S)
    while k > 0 and k_top - k < mask - 1 and ring[k & mask, R_T] >= t_rise:
        if ring[k & mask, R_DSF] > best:
            best = ring[k & mask, R_DSF]
            k_best = k
        elif ring[k & mask, R_DSF] <= 0.0 and best > 0.0:
            break
        k -= 1
    j = k_best & mask
    t_best = ring[j, R_T] - 0.5 * (ring[j, R_T] - ring[(k_best - 1) & mask, R_T])
    if k_best < idx and k_best > k + 1:
        ym, yp = ring[(k_best - 1) & mask, R_DSF], ring[(k_best + 1) & mask, R_DSF]
        curv = ym - 2.0 * best + yp
        if curv < 0.0:
            h = ring[(k_best + 1) & mask, R_T] - ring[j, R_T]
            t_best += h * min(0.5, max(-0.5, 0.5 * (ym - yp) / curv))
    return t_best, landing


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _walk_peak_fallen(f, c, x):
    """The candidate walking peak is a step's size and the low-passed sf `x` has fallen from it by a
    share of this walk's step peaks (a bump needs the same fall)."""
    threshold = (1.0 + (c[C_WALK_PEAK_SF] - 1.0) / f[WALK_SCALE] ** 2) * f[ONE_G]
    fall = c[C_WALK_FALL] * max(f[WPEAK_REF], c[C_WALK_PEAK_SF] - 1.0)
    return f[PEAK_V] >= threshold and x <= f[PEAK_V] - fall


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _walk_peak_confirmed(f, c, t):
    """The fallen candidate is the step's loading peak: no higher one and no flight follows."""
    after = t - f[PEAK_T]
    if f[PEAK_V] > WALK_FAST_MAX_SF or _running(f, c, t):
        return after >= c[C_WALK_CONFIRM_S]
    return after >= WALK_FALL_MIN_S


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _unloaded_since_start(ring, idx, level, duration, t_end):
    """From the recording's first sample to t_end (the ring not yet wrapped: row k is sample k), sf
    stayed below `level` for `duration`: a flight, whose landing's rise is seen whole (an impact's
    ringing dips for less, and so does a rise the recording began on)."""
    t_low = math.nan
    for k in range(idx + 1):
        if ring[k, R_T] >= t_end:
            break
        if ring[k, R_SF] >= level:
            t_low = math.nan
        elif math.isnan(t_low):
            t_low = ring[k, R_T]
        elif ring[k, R_T] - t_low >= duration:
            return True
    return False


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _ic_of_rise(f, c, t_rise):
    """A stance's IC from the time of its steepest loading rise (C_WALK_IC_OFFSET before it, in the
    walk's own time scale)."""
    return t_rise - c[C_WALK_IC_OFFSET] * f[WALK_SCALE]


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def first_stance_at_rhythm(f, c, ring, t_next):
    """The last IC anew, as a landing's, when the walking rules placed it before any step time was
    known (no impact rule then: LAST_IC_WIN_T0) and the step it opens closes at `t_next` at
    RUN_STANCE_SPM or faster: its stance is read as it would have been with that rhythm. A 5 s
    running clip that opens on a stance the sacrum reached from above the contact level had its
    first IC at the active peak's rise, 50-70 ms late (the real runner with its dynamic
    acceleration x 0.6-0.7). NaN when that changes nothing or would move it more than
    IMPACT_LEAD_MAX_S; the last IC's window is used up."""
    t0 = f[LAST_IC_WIN_T0]
    f[LAST_IC_WIN_T0] = math.nan
    if not (t0 == t0 and t_next - f[LAST_IC_T] <= 60.0 / RUN_STANCE_SPM):
        return math.nan
    t_rise, landing = _steepest_rise(ring, int(f[LAST_IC_WIN_IDX]), t0, c[C_CROSS_SF],
                                     WALK_FAST_MAX_SF * f[ONE_G])
    t_ic = _ic_of_rise(f, c, t_rise)
    return t_ic if landing and 0.0 < f[LAST_IC_T] - t_ic <= IMPACT_LEAD_MAX_S else math.nan


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _walk_peak_ic(f, c, ring, idx, t_min=-math.inf):
    """(IC, kind) of the walking peak at PEAK_T: the steepest loading rise before it. NaN when that
    rise may lie before the first sample (a recording that starts mid-stride, where the low-pass also
    settles), unless the recording opened with a flight whose landing rose into this peak. A
    running IC when the stance rose out of sf below C_CROSS_SF at a running rhythm or before the
    first step time (RHYTHM 0), or into an impact at RUN_STANCE_SPM or faster. The rise is sought
    no sooner than t_min."""
    t0 = max(f[PEAK_T] - c[C_WALK_IC_WIN] * f[WALK_SCALE], t_min)
    early = idx < ring.shape[0] and t0 < ring[0, R_T]
    running = f[RHYTHM] >= RUN_MIN_SPM or f[RHYTHM] == 0.0
    impact = WALK_FAST_MAX_SF * f[ONE_G] if f[RHYTHM] >= RUN_STANCE_SPM else math.inf
    t_from = ring[0, R_T] if early else t0
    t_rise, landing = _steepest_rise(ring, idx, t_from, c[C_CROSS_SF] if running else -math.inf, impact)
    f[CAND_WIN_T0] = t_from if f[RHYTHM] == 0.0 and not landing else math.nan
    if early and not (landing and _unloaded_since_start(ring, idx, c[C_CROSS_SF], c[C_MIN_FLIGHT],
                                                        f[PEAK_T])):
        return math.nan, KIND_WALK
    return _ic_of_rise(f, c, t_rise), KIND_RUN if landing else KIND_WALK
