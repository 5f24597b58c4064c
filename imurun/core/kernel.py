"""The per-sample loop: data checks, attitude, calibration, alignment, IC detection, step closing.

`process_block` is a pure function of (state, settings, samples): it updates the state buffer in
place and writes completed steps (and optionally per-sample signals) into caller-provided arrays.
Everything is per sample, so the result does not depend on how a session is cut into blocks.

An njit function counts a reference to every array it receives (an atomic add, and its release on
return), and every view of the state shares the buffer's one counter: the entry points borrow the
buffer and the settings (`state.borrow`, views without a count) for the call, and helpers called at
every step take the arrays they read rather than the 21-array tuple `st` (docs/engine.md, "What
the speed-ups found").
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from imurun.core import state as S
from imurun.core.ahrs import G, init_from_acc, mahony_step, up_in_sensor
from imurun.core.alignment import (
    MAX_TURN,
    accumulate,
    file_vote,
    rotation_sensor_to_pelvis,
    solve_forward,
)
from imurun.core.icd import KIND_RUN, detect_ic, first_stance_at_rhythm, last_walk_ic, shortest_run_step
from imurun.core.metrics import N_M, compute_step
from imurun.core.rhythm import doubled_step_s
from imurun.core.state import FASTMATH

STILL_TAU = 0.2  # s, smoothing of the stillness statistics
# A still sensor's gyro reads its bias: stillness is the gyro's deviation from its mean over
# W_SLOW_TAU, a mean within STILL_MAX_BIAS of the bias learned so far (a cheap or warm MEMS gyro's
# bias is a few deg/s; a steadier, faster reading is a slow turn)
W_SLOW_TAU = 1.0  # s
STILL_MAX_BIAS = math.radians(10.0)
# ... and so is the accelerometer's |a|, which reads g times its scale plus its bias: within this of
# g (the voisard2023 sensors read 10.1 m/s^2 at rest, 0.3 from g where the stillness limit is 0.4)
STILL_MAX_G_OFF = 1.0  # m/s^2
# Once a standing calibration has given the gyro bias, a later still period may move it by this
# much at most: a turn slow and steady enough to pass for rest reads on the gyro as a bias (HA_001's
# daily-life walk stretched 1.1x took a 6.4 deg/s "bias" from one, and its next 8 s of gyro-only
# gait drifted 40 deg and lost a bout). A gyro's bias drifts far slower; the real walks' closing
# still periods read 0.3-2.0 deg/s (median 0.7) off their standing calibration's, motion mostly
BIAS_MAX_STEP = math.radians(1.0)
BIAS_SNAP_S = 0.25  # s between delayed bias snapshots
TAU_CORR_STILL = 0.02  # s
AXIS_TAU = 4.0  # s, forward-axis statistics
# An established forward axis stays put while the walk turns and for AXIS_TAU after (the statistics'
# memory): a turn is a 1 s mean yaw rate above this. The pelvis' own rotation leaks through that
# mean: simulated runs up to 0.15 rad/s, the real straight walks (HA_001 Test5) up to 0.43; the
# voisard2023 U-turns reach 1.6-1.8, HA_001's daily-life turns 1.1 (99th percentile)
TURN_RATE = 0.5  # rad/s
# forward has reached the axis its statistics give when a solve turns it by less than half the most
# it may turn (alignment.MAX_TURN): the slip check's forward reference waits for that
COS_SETTLED = math.cos(0.5 * MAX_TURN)
REF_FWD_FOLLOW_S = 2.0 * AXIS_TAU  # s of gait: by then the gait before weighs e^-2 in its statistics
# forward's sign is taken on this many steps' votes at least: a recording that opens with shuffles
# taken for a step had its 3 s of gait, and its sign from that one vote, at the first real step
MIN_SIGN_VOTES = 3
GAIT_UP_TAU = 10.0  # s
FAST_UP_TAU = 1.5  # s: the gait posture over a few strides, for the slip check
SF_TAU = 0.015  # s, smoothing of sf for walking peaks and the sign evidence
ROT_TAU = 3.0  # s, heading trend removed from the rotation signal
WARMUP_S = 3.0  # s after start without calibration: faster attitude convergence
# walking: a forward-acceleration peak's fall at the heel strike is measured over this long after
# it (leave-one-walker-out over 0.05 / 0.08 / 0.12 s: each walker's best is 0.08)
FWD_FALL_S = 0.08
# A gap is re-levelled from the gait before it (kernel._relevel_from_last_stride) only when its
# interval is longer than RELEVEL_MIN_S: one lost sample at >= 100 Hz is integrated (simulated runs,
# 10 ms gaps, steps 1-10 s after against the gap-free run: drop 0.14 -> 0.01 deg RMS on a firm
# mount, 0.08 -> 0.04 on the ringing loose mount; from 20 ms on the loose mount needs the re-level).
RELEVEL_MIN_S = 0.025
# ... and only when the gait before it repeats: the up direction one stride before the gap within
# this of the up at the gap. Over a stride simulated runs and walks repeat within 0.8-2.9 deg (p99),
# real walks do not (p50 voisard2023 1.7 deg, HA_001's daily life 6.2): there a posture from a
# stride ago, 10-20 deg off, re-levelled HA_001 at 1 % single-sample loss and lost 31 of 110 steps.
COS_RELEVEL_PERIODIC = math.cos(math.radians(3.0))
# a levelling in WARMUP_S larger than this restarts the forward statistics (kernel._provisional_posture)
COS_LEVEL_RESET = math.cos(math.radians(3.0))
STILL_TRIM_S = 0.5  # s at the end of a still period that may already contain the push-off
STEP_COLS = 3 + N_M  # t, side, kind, metrics
N_SIG = 10
SIDE_MEMORY = 0.6  # weight of the previous ICs' (sign-flipped) side evidence
HELD_READ_S = 0.15  # a held IC's side evidence is read this long after it (its windows' end)
# Walking sides: the pelvic roll rate over this long after an IC against this long before it. After
# the IC the pelvis drops toward the swing side (loading response: Perry & Burnfield 2010); before
# it, the rate mostly has the other sign (the 0.1 s before the reference ICs: 7 of the 10 voisard2023
# walkers and HA_001, 0.72-0.98 of their ICs; no sign on the other three), so the change is the
# larger mark, free of the stride mean and of a lag between the sensor's roll and the IC. Each IC's
# roll right: 0.89 -> 0.93 of the real walks' live ICs, HA_001's 0.48 (chance) -> 0.75. A walk's
# first two ICs follow a weight shift and a swing from standing: their roll is the rate after them
# alone (with the change, s07's and s08's first steps were flipped)
ROLL_WIN_S = 0.15
# A sideways window mean below this (m/s^2, 10 ug) is no sway: a sensor without that axis (the
# two-axis alcantara2022 recordings write it as 0) left rounding noise of ~1e-16, whose sign, scaled
# by its own amplitude, decided 13 of 16 sides "R" in a 5 s clip. Real sway is ~0.1-1 m/s^2.
SWAY_FLOOR = 1e-4
ONE_G_MAX_N = 1e5  # still samples the sensor's 1 g is averaged over at most (a scale may drift)
SIDE_AGREE_ALPHA = 0.1  # EMA weight of each walking IC in the side agreement (~10 steps)
NO_GYRO_KP = 0.5  # 1/s: accelerometer gain of a trunk sensor without gyroscope (simulated lean RMSE
#                  4.1 deg frozen by the gyro-only phase, 2.4 at 0.3-1; the pelvis keeps its own gains)
NO_GYRO_TAU = 2.0  # s: averaging of the acceleration that is gravity, without a gyroscope
# weight of each step's kind in the status activity: two steps of the other kind switch it, so
# "run" comes with the first whole running step (0.2 took four: the start reminder came ~1.8 s
# after the first running contact)
RUN_EVID_ALPHA = 0.5
# Beyond any body motion (running peaks ~10 g, ~20 rad/s) and any IMU's range: a corrupted sample,
# dropped like a NaN row so that it cannot poison the attitude and lose every later step.
MAX_ACC2 = (100.0 * G) ** 2  # (m/s^2)^2
CONT_MAX_DEG = 5.0  # a stride-mean posture change across a gap beyond this is real (a stop, a slip)
# The walking step-ratio rule (walk_min_step_ratio) reaches no further than this after the last IC:
# a contact's second loading bump comes 0.25-0.29 s after its IC in the real walks (~0.4 s slowed
# to ~75 spm). Further, a rhythm seeded by weight shifts ~1.1 s apart before a walk drops every
# other real step, and the drops keep the rhythm slow: HA_001's 0.57-0.62 s steps passed half of
# it by 0.01-0.05 s; at 0.6 of it, 4 of a 9-step walk's steps were lost (F1@100 0.927 -> 0.900,
# bout cadence MAE 2.7 -> 9.1 spm)
WALK_BUMP_MAX_S = 0.4
WALK_SCALE_MIN, WALK_SCALE_MAX = 0.75, 1.6  # walking's time scale: 140 .. 66 spm at 105
LEVEL_MIN_G = 0.5  # the first attitude is levelled on the first reading this large (a flight's is ~0)
MAX_GYR2 = 100.0**2  # (rad/s)^2
TO_MAX_GAP_S = 0.03  # a running stance that lost more samples than this has no toe-off
LANDING_SEEN_S = 0.05  # ... nor one whose landing was not seen: a gap this close before its IC
TO_FALL_SF = 1.25  # g: the running toe-off is where the stance's main fall passes this level,
TO_FALL_SHARE = 0.79  # this share through the contact (_toe_off)


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def window_mean(ring, idx, col, from_s, to_s, stride_s, dt, out):
    """The ring's 3-vector at `col` (angular velocity S.R_WX, linear acceleration S.R_AX or S.R_TAX)
    averaged over [now - from_s, now - to_s] minus its mean over the last stride (which removes
    turning and drift): out[0:3] in the sensor frame, out[3] its component along the up direction
    stored with each sample (for S.R_WX: the yaw rate)."""
    k0 = max(0, int(to_s / dt))
    k1 = max(k0 + 1, int(from_s / dt))
    n_stride = min(max(k1 + 1, int(stride_s / dt)), idx + 1, ring.shape[0] - 1)
    # the stride in three runs (newer than the window, the window, older), each without a branch
    k_a, k_b = min(k0, n_stride), min(k1, n_stride)
    b0, b1, b2, bu = _ring_sum(ring, idx, col, 0, k_a)
    w0, w1, w2, wu = _ring_sum(ring, idx, col, k_a, k_b)
    a0, a1, a2, au = _ring_sum(ring, idx, col, k_b, n_stride)
    n_win = k1 - k0
    out[0] = w0 / n_win - (b0 + w0 + a0) / n_stride
    out[1] = w1 / n_win - (b1 + w1 + a1) / n_stride
    out[2] = w2 / n_win - (b2 + w2 + a2) / n_stride
    out[3] = wu / n_win - (bu + wu + au) / n_stride


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _ring_sum(ring, idx, col, k_from, k_to):
    """Sums of the ring's 3-vector at `col` and of its component along the stored up direction,
    over the samples k_from <= k < k_to before index idx."""
    mask = ring.shape[0] - 1
    s0 = s1 = s2 = su = 0.0
    for k in range(k_from, k_to):
        j = (idx - k) & mask
        w0, w1, w2 = ring[j, col], ring[j, col + 1], ring[j, col + 2]
        s0 += w0
        s1 += w1
        s2 += w2
        su += w0 * ring[j, S.R_UX] + w1 * ring[j, S.R_UY] + w2 * ring[j, S.R_UZ]
    return s0, s1, s2, su


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _dot3(v, a):
    return v[0] * a[0] + v[1] * a[1] + v[2] * a[2]


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _leftward(f, ring, fwd, up_stand, idx, from_s, to_s, stride, dt, amp, provisional):
    """The pelvis' leftward linear acceleration over [now - from_s, now - to_s] (now: ring index
    idx) minus its mean over the stride, in units of its running amplitude kept at f[amp]. Zero
    until the left axis is known (the provisional one only when `provisional`), and for a sensor
    without the sideways axis (under SWAY_FLOOR)."""
    if f[S.FWD_READY] != 1.0 and not (provisional and f[S.FWD_PROV] == 1.0):
        return 0.0
    rot = np.empty((3, 3))
    rotation_sensor_to_pelvis(fwd, up_stand, rot)  # row 1: pelvis y, left
    win = np.empty(4)
    window_mean(ring, idx, S.R_AX, from_s, to_s, stride, dt, win)
    sway = _dot3(win, rot[1])
    if abs(sway) < SWAY_FLOOR:
        return 0.0
    return _per_amplitude(f, amp, sway)


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _sway_evidence(f, ring, fwd, up_stand, idx, since, stride, dt, provisional=False):
    """Side evidence (> 0: right) of the IC `since` s ago from the sway before it. From 150 to 30 ms
    before an IC (clear of the impact) the pelvis accelerates sideways toward the foot about to land
    (the simulator's walking has the opposite phase, against the real recordings). Without the gyro
    the attitude is smoothed gravity, so pelvic roll leaks into this: sides of the real walks 9/9,
    5/9 and 0.77 (Test5 Trials 1, 2, Test11), simulated running 1.00."""
    return -_leftward(f, ring, fwd, up_stand, idx, since + 0.15, since + 0.03, stride, dt, S.SWAY_AMP,
                      provisional)


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _step_sway(f, ring, fwd, up_stand, idx, t_now, t0, t1, dt, provisional=False):
    """Side evidence (> 0: right) of the walking IC at t0 from the step it opened, closed by the IC
    at t1, read at ring index idx (time t_now): the pelvis' mean sideways acceleration over the
    step, minus its mean over the stride, is away from the stance foot. Over its own step the body
    falls sideways like an inverted pendulum over that foot's centre of pressure (MacKinnon &
    Winter 1993, J Biomech 26:633) and its sideways velocity turns from toward that foot to away
    from it; the whole step's mean is that turn, which no single phase of the step shows as well
    (docs/engine.md: per-step agreement 0.965 -> 0.980 against the middle 30-70 %)."""
    return _leftward(f, ring, fwd, up_stand, idx, t_now - t0, t_now - t1, 2.0 * (t1 - t0), dt,
                     S.STEP_SWAY_AMP, provisional)


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _side_evidence(f, ring, fwd, up_stand, c, idx, since, stride, dt, run, setting_off, learn_yaw=True):
    """Side evidence of the IC `since` s ago (> 0: right), in units of its typical size, as (the yaw
    rate's, the pelvis-frame cues'); `setting_off`: one of a walk's first two ICs; `learn_yaw`: its
    yaw rate feeds the yaw amplitude (not when an IC is read again).

    The yaw rate around the IC (McCamley et al. 2012): running IC +-0.1 s; walking from well before
    it, where the ten voisard2023 walkers agree (0.93; IC +-0.1 s: 0.80). Once the forward axis is
    known, walking adds the turn of the pelvic roll rate at the IC (ROLL_WIN_S) and the sideways
    sway before the IC (_sway_evidence): on one walker (s08) the yaw rate points the other way on
    most steps, roll and sway do not; weights in EngineConfig, chosen leave-one-person-out
    (docs/engine.md).
    """
    win = np.empty(4)
    before, after = (0.1, 0.1) if run else (c[S.C_SIDE_FROM], c[S.C_SIDE_TO])
    window_mean(ring, idx, S.R_WX, since + before, max(0.0, since - after), stride, dt, win)
    ev = _per_amplitude(f, S.YAW_AMP, win[3], learn_yaw)
    if run or f[S.FWD_READY] != 1.0:
        return ev, 0.0
    window_mean(ring, idx, S.R_WX, since, max(0.0, since - ROLL_WIN_S), stride, dt, win)
    turn = _dot3(win, fwd)
    if not setting_off:  # (before a walk's first two ICs: a weight shift, a swing from standing)
        window_mean(ring, idx, S.R_WX, since + ROLL_WIN_S, since, stride, dt, win)
        turn -= _dot3(win, fwd)
    roll = _per_amplitude(f, S.ROLL_AMP, turn)
    sway = _sway_evidence(f, ring, fwd, up_stand, idx, since, stride, dt)
    return ev, c[S.C_SIDE_SWAY] * sway - c[S.C_SIDE_ROLL] * roll


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _file_sign_votes(ring, ev, ev_step, tev_step, up_stand, tup_stand, idx, since, stride, dt, step_s, run_ic,
                     step_run, has_trunk):
    """Vote on the sign of forward with the step that this IC (`since` s ago) closes; returns 1.0 if
    it voted (a running step only when it held a flight), else 0.0.

    Walking: in the 0.1 s before the heel strikes, the pelvis accelerates forward (the forward
    acceleration peaks at initial contact: Zijlstra & Hof 2003); on 35 real walks 73-97 % of the
    steps per walk agree, where the phase of the whole step against vertical loading (running's
    rule, kept for running) reversed forward on 3 of them. Running: the step's E[a_fwd d(sf)/dt]."""
    win = np.empty(4)
    if not run_ic:
        window_mean(ring, idx, S.R_AX, since + 0.1, since, stride, dt, win)
        _file_horizontal(ev[0], win, up_stand, step_s)
        if has_trunk:
            window_mean(ring, idx, S.R_TAX, since + 0.1, since, stride, dt, win)
            _file_horizontal(ev[2], win, tup_stand, step_s)
        return 1.0
    if step_run:
        file_vote(ev[1], ev_step[0], ev_step[1], ev_step[2], step_s, AXIS_TAU)
        if has_trunk:
            file_vote(ev[3], tev_step[0], tev_step[1], tev_step[2], step_s, AXIS_TAU)
        return 1.0
    return 0.0


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _file_horizontal(ev, v, up, step_s):
    d = _dot3(v, up)
    file_vote(ev, v[0] - d * up[0], v[1] - d * up[1], v[2] - d * up[2], step_s, AXIS_TAU)


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _held_ic_evidence(st, c, i_ic, t_ic, t_last, stride, run, provisional, setting_off):
    """Side evidence of a held IC (ring index i_ic, at t_ic) once the forward axis is known, read
    from HELD_READ_S after it (the windows reach ROLL_WIN_S past the IC). With a gyroscope: the yaw
    rate, roll and sway as at a live IC; the yaw amplitude, which the IC already fed when it was
    found, is left as it was. Accelerometer only: a running IC's sway. Walking: the sway of the
    step from the IC at t_last (NaN: none) that this one closes, as at a live IC."""
    f = st.f
    ring = st.ring
    dtn = f[S.DT_EMA]
    i = min(i_ic + int(round(HELD_READ_S / dtn)), int(f[S.N_SAMPLES]) - 1)
    if f[S.ACC_ONLY] != 1.0:
        yaw, other = _side_evidence(f, ring, st.fwd, st.up_stand, c, i, (i - i_ic) * dtn, stride, dtn, run,
                                    setting_off, False)
        ev = yaw + other
    elif run:
        ev = _sway_evidence(f, ring, st.fwd, st.up_stand, i_ic, 0.0, stride, dtn, provisional)
    else:
        ev = 0.0
    if not run and math.isfinite(t_last):
        t_read = ring[i & (ring.shape[0] - 1), S.R_T]
        ev -= c[S.C_SIDE_STEP] * _step_sway(f, ring, st.fwd, st.up_stand, i, t_read, t_last, t_ic, dtn,
                                            provisional)
    return ev


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _sides_of_held_steps(st, c, provisional=False):
    """The moment the forward (hence left) axis is found, the steps held for it had their sides
    from less evidence: accelerometer only none (they only alternated from a guess), with a
    gyroscope the yaw rate alone (one real walker's points the other way). Decide them now from
    all of it, in order and parity-filtered as at live ICs. Accelerometer only: simulated running
    left/right 0.97 -> 1.00, the real walks 0.757 -> 0.771 (on Test5 Trial2 the sway is biased to
    one side: 5 of 9). With a gyroscope, the ten voisard2023 walkers' 247 held steps: 9 wrong -> 0."""
    f = st.f
    pend = st.pend
    n = int(f[S.N_PENDING])
    e = 0.0
    side = 0.0
    t_prev = np.nan
    k_first = 0
    for k in range(n):
        run = pend[k, S.P_KIND] == KIND_RUN
        first = k == 0 or pend[k, S.P_I0] != pend[k - 1, S.P_I1]  # a chain of steps starts here
        if first:
            k_first = k
            e = _held_ic_evidence(st, c, int(pend[k, S.P_I0]), pend[k, S.P_T], np.nan, 2.0 * c[S.C_MAX_STEP],
                                  run, provisional, True)
            t_prev = pend[k, S.P_T]
            side = pend[k, S.P_SIDE]  # its first IC's, as decided so far (no evidence: it stays)
        t1 = pend[k, S.P_T1]
        if not math.isfinite(t1):
            continue  # a bout's last step: its side was decided at its IC
        # the chain's first step closes at its second IC, setting off too
        ev = _held_ic_evidence(st, c, int(pend[k, S.P_I1]), t1, t_prev, 2.0 * (t1 - t_prev), run, provisional,
                               first)
        e = ev - SIDE_MEMORY * e
        side = _side_of(e, side)
        pend[k, S.P_SIDE] = 1.0 - side
        if k == k_first + 1 and not run:  # a walk's first step: the other foot than its second's
            pend[k_first, S.P_SIDE] = side
        t_prev = t1
    if n > 0 and pend[n - 1, S.P_I1] == f[S.LAST_IC_IDX]:  # the IC just found closed the last one
        f[S.SIDE_E] = e
        f[S.LAST_IC_SIDE] = side


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _side_of(e, last):
    """The side (1 right, 0 left) of an IC whose combined evidence is `e`, after an IC of side
    `last` in the same bout (-1: none); no evidence at all alternates (from left)."""
    if e != 0.0:
        return 1.0 if e > 0.0 else 0.0
    return 1.0 - last if last >= 0.0 else 0.0


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _per_amplitude(f, k, x, learn=True):
    """x in units of the running mean of |x| kept at f[k] (EMA over ICs, seeded by the first),
    the mean taken with x; `learn`: it is kept (False: x is read again, the mean stays)."""
    amp = _lp(0.1, f[k], abs(x)) if f[k] > 0 else abs(x)
    if learn:
        f[k] = amp
    return x / max(amp, 1e-6)


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _file_step_time(f, interval, kind_changed):
    """The bout's cadence is 60 / the median of its last STEP_HIST_N step times, so one missed or
    doubled IC moves it by a step's share, not by tens of spm (an EMA of 60 / interval moved 10 %
    per missed step). A change between walking and running starts the history anew: the first
    running steps never carry walking step times."""
    if kind_changed:
        f[S.STEP_HIST_K] = 0.0
    k = int(f[S.STEP_HIST_K])
    f[S.STEP_HIST + k % S.STEP_HIST_N] = interval
    f[S.STEP_HIST_K] = k + 1.0
    n = min(k + 1, S.STEP_HIST_N)
    f[S.CADENCE] = 60.0 / _median_of_few(f, S.STEP_HIST, n)
    cad = 60.0 / interval
    f[S.RHYTHM] = cad if f[S.RHYTHM] == 0.0 else _lp(0.2, f[S.RHYTHM], cad)


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _median_of_few(x, i0, n):
    """np.median of x[i0:i0 + n] for a few values, to the bit, without its copy and partition (a
    heap array per step: 1.5 % of the whole loop's time). Each value's rank is counted, so the
    middle one or two are found in place."""
    lo = hi = math.nan
    k_lo, k_hi = (n - 1) // 2, n // 2
    for i in range(i0, i0 + n):
        less = equal = 0
        for j in range(i0, i0 + n):
            if x[j] < x[i]:
                less += 1
            elif x[j] == x[i]:
                equal += 1
        if less <= k_lo < less + equal:  # x[i] holds ranks less .. less + equal - 1
            lo = x[i]
        if less <= k_hi < less + equal:
            hi = x[i]
    return 0.5 * (lo + hi)


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _take_signal_step(f, step_s):
    """The walk's step rhythm was read too fast (rhythm.doubled_step_s, at two steps in a row): its
    step times, cadence and rhythm become the signal's step time, so the rhythm guard and the
    walking scale stop passing the second bump of each step on. Two, because a slowed rhythm taken
    for a true one would confirm itself too (the guard would drop every other step); at once,
    voisard2023 1.4x slower read 3.00 spm bout cadence MAE instead of 3.43, and no faster walk
    changed either way. The signal's, not twice the detected: extra steps at a bout's start need
    not double it (HA_001 x 1.2 read 136 spm at a ~95 spm start, halved to 65)."""
    k = int(min(f[S.STEP_HIST_K], S.STEP_HIST_N))
    for j in range(k):
        f[S.STEP_HIST + j] = step_s
    f[S.CADENCE] = f[S.RHYTHM] = 60.0 / step_s


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _walk_scale(f, c):
    """Walking's times (the IC's search window and offset, the forward-peak window and weight),
    its low-pass and its step threshold's excess over 1 g (by the inverse square) scale with the
    step time: walk_ref_spm / the walk's cadence (median of its last steps), within
    WALK_SCALE_MIN..MAX. They were chosen on walks of ~110 spm; slowed down 1.5x (real walks
    stretched in time, their dynamic acceleration / 2.25), the fixed ones found a second loading
    bump as a step and missed faint ones (voisard2023 recall / precision 0.933 / 0.896 -> 0.949 /
    0.899). The side windows stay in seconds (scaled, two walkers' sides got worse). The low-pass
    is designed anew when the scale moves by > 2 %."""
    scale = min(WALK_SCALE_MAX, max(WALK_SCALE_MIN, c[S.C_WALK_REF_SPM] / f[S.CADENCE]))
    if abs(scale - f[S.WALK_SCALE]) > 0.02 * f[S.WALK_SCALE]:
        f[S.WALK_SCALE] = scale
        _design_walk_lp(f, c)


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _design_walk_lp(f, c):
    """WLP_B: 2nd-order Butterworth low-pass at walk_lp_hz / WALK_SCALE (at most 0.4 x the rate),
    by the bilinear transform with its cut-off prewarped (as scipy.signal.butter)."""
    rate = c[S.C_RATE]
    k = math.tan(math.pi * min(c[S.C_WALK_LP_HZ] / f[S.WALK_SCALE], 0.4 * rate) / rate)
    norm = 1.0 / (1.0 + math.sqrt(2.0) * k + k * k)
    f[S.WLP_B] = k * k * norm
    f[S.WLP_B + 1] = 2.0 * f[S.WLP_B]
    f[S.WLP_B + 2] = f[S.WLP_B]
    f[S.WLP_B + 3] = 2.0 * (k * k - 1.0) * norm
    f[S.WLP_B + 4] = (1.0 - math.sqrt(2.0) * k + k * k) * norm


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _lp(alpha, state, x):
    return state + alpha * (x - state)


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _toe_off(f, ring, c, t_ic, i_ic, i_end):
    """Running toe-off of the step from its IC at t_ic (ring index i_ic) up to the sample i_end:
    where the stance's main fall, from its active peak, passes TO_FALL_SF, the contact is
    TO_FALL_SHARE through. The active peak is the highest reading between C_TO_MIN_S after the IC
    (the impact's is earlier) and the stance's first fall through C_CROSS_SF after it. NaN without
    such a fall, or when the landing or the stance was not seen whole: more than TO_MAX_GAP_S of
    samples lost from LANDING_SEEN_S before the IC on (the contact is counted from the IC).

    Why not the stance's edges: at the toe-off the sacrum does not follow the ground force. On the
    real runner sf still reads 0.3-1.1 g there, on a shoulder (the swinging leg, soft tissue, the
    clip) that grows uphill, where the force the treadmill measures, normal to its belt, has
    gone; its main fall is the same at every slope. A ground force that is a half sine peaking at
    2.3-2.5 body weights (Morin et al. 2005, J Appl Biomech 21:167) falls through 1.25 of them at
    0.82-0.83 of the contact; the real runner's sacrum (alcantara2022, force treadmill, 0.1 body
    weight) at 0.79 (least squares over its 327 steps; 1.25 g fit best of 1-1.75 g, 1.1 g as well;
    1 g meets the uphill shoulder). Left out one slope at a time, level and share chosen on the
    other four: contact RMSE 11 ms (bias -0.4) where the sacrum's last fall through 1 g (the effective
    contact, Cavagna 2006, J Exp Biol 209:4051, in a half-sine model) read 29 ms (+18; +43 at +10
    deg)."""
    mask = ring.shape[0] - 1
    oldest = i_end - mask + 1
    if i_ic <= oldest:
        return np.nan
    t_min = t_ic + c[S.C_TO_MIN_S]
    lvl = c[S.C_CROSS_SF]
    max_dt = max(1.5 * f[S.DT_EMA], TO_MAX_GAP_S)
    k0 = i_ic
    while k0 - 1 > oldest and ring[(k0 - 1) & mask, S.R_T] >= t_ic - LANDING_SEEN_S:
        k0 -= 1
    i_c = i_ic
    for k in range(k0, i_end + 1):
        if ring[k & mask, S.R_T] - ring[(k - 1) & mask, S.R_T] > max_dt:
            return np.nan
        if k > i_ic and ring[(k - 1) & mask, S.R_SF] >= lvl > ring[k & mask, S.R_SF] \
                and ring[k & mask, S.R_T] >= t_min:
            i_c = k
            break
    if i_c == i_ic:
        return np.nan
    i_m = i_c
    for k in range(i_c - 1, i_ic, -1):
        if ring[k & mask, S.R_T] < t_min:
            break
        if ring[k & mask, S.R_SF] >= ring[i_m & mask, S.R_SF]:
            i_m = k
    for k in range(i_m + 1, i_c + 1):
        r, q = ring[(k - 1) & mask], ring[k & mask]
        if r[S.R_SF] >= TO_FALL_SF > q[S.R_SF]:
            t_f = r[S.R_T] + (r[S.R_SF] - TO_FALL_SF) * (q[S.R_T] - r[S.R_T]) / (r[S.R_SF] - q[S.R_SF])
            return t_ic + (t_f - t_ic) / TO_FALL_SHARE
    return np.nan


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _end_bout(st, c, idx_last):
    """The last IC of a bout (no next IC within max_step_s, a gap longer than max_gap_s, or the end
    of the stream) is a step too: pend it with an unknown interval (NaN step time and cadence,
    counted in the status), its other metrics over one typical step after the IC. Only an IC that
    closed a step counts: a lone peak is no bout. Dropping these rows lost one step per bout (the
    real walks: F1@100 0.906 -> 0.912 with them; every 5 s running clip lost its last step)."""
    f = st.f
    if f[S.LAST_IC_OPEN] == 0.0:
        return
    run = f[S.LAST_IC_RUN] == 1.0
    f[S.LAST_IC_OPEN] = 0.0
    i0 = int(f[S.LAST_IC_IDX])
    typical = int(round(60.0 / f[S.RHYTHM] / f[S.DT_EMA])) if f[S.RHYTHM] > 0.0 else 1
    k = int(f[S.N_PENDING])
    p = st.pend[k]
    p[S.P_T] = f[S.LAST_IC_T]
    p[S.P_SIDE] = f[S.LAST_IC_SIDE]
    p[S.P_KIND] = KIND_RUN if run else 0.0
    p[S.P_T1] = np.nan
    p[S.P_TO] = _toe_off(f, st.ring, c, f[S.LAST_IC_T], i0, idx_last) if run else np.nan
    p[S.P_I0] = i0
    p[S.P_I1] = max(i0 + 1, min(i0 + typical, idx_last))
    p[S.P_MOVE] = 0.0 if run else 1.0
    p[S.P_HOLD] = 0.0
    f[S.N_PENDING] = k + 1.0
    f[S.N_OPEN_END] += 1.0
    f[S.LAST_IC_IDX] = -1.0  # the next IC starts a new bout


@njit(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH)
def finish(buf, c, steps_out):
    """End of the stream: emit the last IC's step (interval unknown) and every step still waiting
    for the alignment. Returns the number of rows written to steps_out."""
    st = S.views(S.borrow(buf))
    f = st.f
    idx_last = int(f[S.N_SAMPLES]) - 1
    if idx_last >= 0:
        t_ic, kind = last_walk_ic(f, c, st.ring, idx_last, f[S.T_PREV])
        if math.isfinite(t_ic):
            _new_ic(st, c, idx_last, f[S.T_PREV], t_ic, kind, f[S.AV_PREV], f[S.TRUNK] == 1.0)
        _end_bout(st, c, idx_last)
    return _flush(st, c, f[S.TRUNK] == 1.0, idx_last, True, steps_out, 0)


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _flush(st, c, has_trunk, idx_now, force, steps_out, n_out):
    """Emit pending steps whose metrics can be computed now. Returns the new n_out."""
    f = st.f
    cap = st.ring.shape[0]
    npend = int(f[S.N_PENDING])
    if npend == 0:
        return n_out
    established = f[S.FWD_READY] == 1.0
    # running steps wait for the forward axis max_hold_s at most (the coach's first strides; the
    # running sign votes agree from the first steps): then they and the steps before are measured
    # on the provisional axis. Walking steps wait for the established one: on the real walks a
    # provisional axis cost sides without a gyroscope (HA_001 0.84 -> 0.78), for rows that are
    # not due as soon.
    held = st.ring[idx_now & (cap - 1), S.R_T] - st.pend[0, S.P_T]
    early = f[S.FWD_PROV] == 1.0 and st.pend[npend - 1, S.P_KIND] == KIND_RUN and held >= c[S.C_MAX_HOLD_S]
    ready = f[S.CAL_STATE] > 0.0 and (established or early)
    # data of the oldest pending step about to leave the ring: emit with what we have. A held
    # step's side evidence and row time read up to a stride (2 max_step) before its IC; 64 samples
    # of slack
    oldest = st.pend[0, S.P_I0]
    if not (ready or force or npend == S.MAX_PENDING
            or idx_now - oldest > cap - 2.0 * c[S.C_MAX_STEP] / f[S.DT_EMA] - 64.0):
        return n_out
    # a walk's first step waits for the next one (P_HOLD), unless everything must go now
    hold = 1 if (established and not force and npend < S.MAX_PENDING
                 and st.pend[npend - 1, S.P_HOLD] == 1.0) else 0
    if npend == hold:
        return n_out
    if not established and f[S.ACC_ONLY] == 1.0 and f[S.FWD_PROV] == 1.0:
        _sides_of_held_steps(st, c, True)  # on the provisional axis: their sides only alternated
    rot = np.empty((3, 3))
    rotation_sensor_to_pelvis(st.fwd, st.up_stand, rot)
    trot = np.empty((3, 3))
    rotation_sensor_to_pelvis(st.tfwd, st.tup_stand, trot)
    angle_lp = c[S.C_ALP : S.C_ALP + 6]
    for k in range(npend - hold):
        row = steps_out[n_out]
        row[0] = _row_time(f, st.ring, st.fwd, c, st.pend[k]) if established else st.pend[k, S.P_T]
        row[1] = st.pend[k, S.P_SIDE]
        row[2] = st.pend[k, S.P_KIND]
        compute_step(st.ring, st.scratch, st.pend[k], rot, trot, has_trunk, f, angle_lp, row[3:])
        n_out += 1
        if not established:
            f[S.N_FORCED] += 1.0
    if hold:
        st.pend[0, :] = st.pend[npend - 1, :]
    f[S.N_PENDING] = float(hold)
    f[S.N_STEPS] += npend - hold
    return n_out


@njit(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH)
def process_block(buf, c, t, acc, gyr, tacc, tgyr, steps_out, sig_out):
    """Process samples; returns the number of step rows written to steps_out (STEP_COLS wide).
    Releases the GIL (a replay's engine thread must not starve the dashboard's Qt thread).

    `buf` is the flat state (state.new_state), `c` the packed settings. Trunk samples `tacc`,
    `tgyr` and per-sample signals `sig_out` are used when they have rows (else pass (0, k) arrays):
    every argument costs time on each call."""
    st = S.views(S.borrow(buf))
    c = S.borrow(c)
    ring = st.ring
    n = t.shape[0]
    has_trunk = n > 0 and tacc.shape[0] == n
    emit_signals = n > 0 and sig_out.shape[0] == n
    f = st.f
    cap = st.ring.shape[0]
    mask = cap - 1
    up = np.empty(3)
    tup = np.zeros(3)
    alin = np.empty(3)
    talin = np.empty(3)
    rot = np.empty((3, 3))
    rot_of = np.full(6, np.nan)  # the (fwd, up_stand) that rot was computed from
    fwd, up_stand = st.fwd, st.up_stand
    n_out = 0
    for i in range(n):
        ti = t[i]
        a0, a1, a2 = acc[i, 0], acc[i, 1], acc[i, 2]
        w0, w1, w2 = gyr[i, 0], gyr[i, 1], gyr[i, 2]
        acc2 = a0 * a0 + a1 * a1 + a2 * a2
        ok = math.isfinite(ti) and acc2 < MAX_ACC2  # False for NaN, inf
        zero = w0 == 0.0 and w1 == 0.0 and w2 == 0.0
        if ok and w0 * w0 + w1 * w1 + w2 * w2 >= MAX_GYR2:
            ok = False  # an impossible rate (a NaN gyroscope is handled below: a sensor without one)
        elif ok and (zero or not math.isfinite(w0 + w1 + w2)):
            # no gyroscope: a lost half-sample is a NaN row, but a sensor without one (Polar H10)
            # still gives steps, cadence, contact and bounce (flagged). A stream that starts
            # without one is such a sensor from its first sample; so is one whose gyro reads
            # exactly zero on all axes for acc_only_s (a real gyro is never that quiet: files that
            # write zeros for a gyro that was not recorded)
            f[S.NO_GYRO_N] += 1.0
            long = f[S.NO_GYRO_N] >= c[S.C_ACC_ONLY_S] * c[S.C_RATE]
            f[S.ACC_ONLY] = 1.0 if long or f[S.N_SAMPLES] == f[S.NO_GYRO_N] - 1.0 else 0.0
            ok = zero or f[S.ACC_ONLY] == 1.0
            w0 = w1 = w2 = 0.0
        elif ok:
            f[S.NO_GYRO_N] = 0.0
            f[S.ACC_ONLY] = 0.0
        tw0 = tw1 = tw2 = 0.0
        if has_trunk:
            ok = ok and tacc[i, 0] ** 2 + tacc[i, 1] ** 2 + tacc[i, 2] ** 2 < MAX_ACC2
            tw0, tw1, tw2 = tgyr[i, 0], tgyr[i, 1], tgyr[i, 2]
            # a trunk sensor without a gyroscope (a Polar H10 chest strap): its attitude is smoothed
            # gravity, which is all the step means of trunk lean need (flagged)
            f[S.TRUNK_NO_GYRO] = 0.0 if math.isfinite(tw0 + tw1 + tw2) else 1.0
            if f[S.TRUNK_NO_GYRO] == 1.0:
                tw0 = tw1 = tw2 = 0.0
        first = math.isnan(f[S.T_PREV])
        if ok and not first and ti <= f[S.T_PREV]:
            ok = False  # time not increasing: unusable sample
        if emit_signals:
            sig_out[i, 0] = ti
            for k in range(1, N_SIG):
                sig_out[i, k] = np.nan
        if not ok:
            f[S.N_NAN] += 1.0
            f[S.GAP_PENDING] = 1.0
            continue

        # --- clock: gaps, rate ---------------------------------------------------------------
        nominal = f[S.DT_EMA]
        dt = 1.0 / c[S.C_RATE] if first else ti - f[S.T_PREV]
        if f[S.LEVELLED] == 0.0 and acc2 >= (LEVEL_MIN_G * G) ** 2:
            # a recording can start in a running flight, where the reading is near zero and its
            # direction noise: levelled on it, a 5 s clip lost its first three steps while the
            # filter converged
            init_from_acc(st.q, a0, a1, a2)
            if has_trunk:
                init_from_acc(st.qt, tacc[i, 0], tacc[i, 1], tacc[i, 2])
            f[S.LEVELLED] = 1.0
        gap = dt > 1.5 * nominal
        # in gait up to the gap: the attitude is re-levelled from the same gait phase before it
        relevel = gap and dt > RELEVEL_MIN_S and f[S.RHYTHM] > 0.0 and \
            f[S.T_PREV] - f[S.LAST_IC_T] < c[S.C_MAX_STEP]
        if gap:
            lost = max(0.0, round(dt / nominal) - 1.0)
            f[S.N_GAPS] += 1.0
            f[S.GAP_TIME] += dt - nominal
            f[S.N_LOST] += lost
            _rate_drop(f, dt, lost, nominal)
            if dt > c[S.C_MAX_GAP]:  # the step in progress cannot be measured across this gap
                _break_sequence(st, c)
            # integrate the attitude across the gap (mean rate of its two sides, below); beyond
            # C_MAX_GAP the accelerometer has to re-level it
            dt = min(dt, c[S.C_MAX_GAP])
        dt_read = nominal if gap else dt  # the interval one reading stands for
        if not gap and not first:
            f[S.DT_EMA] += 0.01 * (dt - f[S.DT_EMA])
            f[S.GAP_RUN_N] = 0.0
        off = abs(f[S.DT_EMA] * c[S.C_RATE] - 1.0)
        if off > 0.1 and f[S.RATE_OFF] == 0.0:
            f[S.RATE_OFF] = 1.0
            f[S.N_RATE_CHANGES] += 1.0
        elif off < 0.05:
            f[S.RATE_OFF] = 0.0
        f[S.GAP_PENDING] = 0.0
        if (
            max(abs(a0), abs(a1), abs(a2)) >= c[S.C_SAT_ACC]
            or max(abs(w0), abs(w1), abs(w2)) >= c[S.C_SAT_GYR]
        ):
            f[S.N_SAT] += 1.0

        # --- stillness -----------------------------------------------------------------------
        al = dt / (STILL_TAU + dt)
        aw = dt / (W_SLOW_TAU + dt) if not first else 1.0
        f[S.W_SLOW_X] = _lp(aw, f[S.W_SLOW_X], w0)
        f[S.W_SLOW_Y] = _lp(aw, f[S.W_SLOW_Y], w1)
        f[S.W_SLOW_Z] = _lp(aw, f[S.W_SLOW_Z], w2)
        wn = math.sqrt((w0 - f[S.W_SLOW_X]) ** 2 + (w1 - f[S.W_SLOW_Y]) ** 2 + (w2 - f[S.W_SLOW_Z]) ** 2)
        a_norm = math.sqrt(acc2)
        f[S.A_SLOW] = _lp(aw, f[S.A_SLOW], a_norm)
        an = abs(a_norm - f[S.A_SLOW])
        f[S.STILL_W] = _lp(al, f[S.STILL_W], wn) if not first else wn
        f[S.STILL_A] = _lp(al, f[S.STILL_A], an) if not first else an
        if f[S.STILL_W] < c[S.C_STILL_GYR] and f[S.STILL_A] < c[S.C_STILL_ACC] and _at_rest(f, st.bias):
            f[S.STILL_TIME] += dt
        else:
            f[S.STILL_TIME] = 0.0
        still = f[S.STILL_TIME] >= c[S.C_STILL_MIN_S]
        if still:
            f[S.STILL_LEN] = f[S.STILL_TIME]
            n_g = min(f[S.ONE_G_N], ONE_G_MAX_N)
            f[S.ONE_G] = (f[S.ONE_G] * n_g + a_norm / G) / (n_g + 1.0)
            f[S.ONE_G_N] += 1.0

        # --- attitude ------------------------------------------------------------------------
        in_gait = (
            not still
            and math.isfinite(f[S.LAST_IC_T])
            and ti - f[S.LAST_IC_T] < c[S.C_MAX_STEP]
        )
        kr = 0.0  # the roll axis' extra gain: in gait only
        if still:
            _learn_bias(f, st.bias_run, st.bias_snap, st.bias, st.bias_t, ti, w0, w1, w2, tw0, tw1, tw2)
            kp, ki, tau = c[S.C_KP_STILL], 0.0, TAU_CORR_STILL
        elif f[S.CAL_STATE] != 1.0 and (f[S.N_SAMPLES] * f[S.DT_EMA] < WARMUP_S or (
                not in_gait and ti - f[S.MOVE_T] >= c[S.C_GYRO_ONLY_S])):
            # no standing calibration: warming up, or out of gait and not still (standing,
            # shifting): the accelerometer reads gravity, and with gait's gain a gyro bias never
            # learned tilts the attitude by bias / kp_gait (HA_001's lab walks with their
            # gyroscope -5, 3.75, -2.5 deg/s off: ~20 deg by the walk, sides 0.868 -> 0.961)
            kp, ki, tau = 1.0, 0.0, 0.3
        elif ti - f[S.MOVE_T] < c[S.C_GYRO_ONLY_S]:
            # setting off: seconds of forward acceleration would read as tilt; the bias was just
            # learned, so the gyro alone is better here
            kp, ki, tau = 0.0, 0.0, c[S.C_TAU_CORR_GAIT]
        else:
            # without a standing calibration the bias is unknown, several deg/s on a cheap gyro:
            # learned within a walk's first seconds (HA_001's lab walks 1.4x slower with their
            # gyroscope 5, -3.75, 2.5 deg/s off, either way: left/right 0.909 / 0.896 -> 0.970,
            # as without the offset)
            ki = c[S.C_KI] if f[S.CAL_STATE] == 1.0 else c[S.C_KI_UNCAL]
            kp, tau = c[S.C_KP_GAIT], c[S.C_TAU_CORR_GAIT]
            kr = c[S.C_KP_ROLL] - kp if f[S.FWD_READY] == 1.0 else 0.0
        g0, g1, g2 = _interval_rate(f, S.W_PREV, first, w0, w1, w2)
        if f[S.ACC_ONLY] == 1.0:
            _gravity_step(st, a0, a1, a2, dt, up)
        else:
            mahony_step(st.q, st.bias, st.eh, a0, a1, a2, g0, g1, g2, dt, dt_read, kp, ki, tau, up, kr, fwd)
        if relevel and _relevel_from_last_stride(st, ti, f[S.T_PREV], up):
            _open_continuity(st, ti)
        k_still = -1  # leaving stillness: the last sample of the still period kept
        if not still:
            if f[S.WAS_STILL] == 1.0:
                k_still = _leave_still(st, ti, dt, w0, w1, w2, up)
            f[S.SNAP_N] = 0.0
        f[S.WAS_STILL] = 1.0 if still else 0.0
        if has_trunk:
            if k_still >= 0:
                _replay_trunk(st, k_still, tup)
            tg0, tg1, tg2 = _interval_rate(f, S.TW_PREV, first, tw0, tw1, tw2)
            mahony_step(
                st.qt, st.bias_t, st.teh, tacc[i, 0], tacc[i, 1], tacc[i, 2], tg0, tg1, tg2, dt, dt_read,
                NO_GYRO_KP if f[S.TRUNK_NO_GYRO] == 1.0 and not still else kp,
                0.0 if f[S.TRUNK_NO_GYRO] == 1.0 else ki, tau, tup, 0.0, fwd,
            )  # fmt: skip
            f[S.TRUNK] = 1.0

        # --- standing calibration: mean up over the first still period >= C_STAND_S -----------
        if still and f[S.STILL_TIME] >= c[S.C_STAND_S] and f[S.STILL_CAL_DONE] == 0.0:
            n = f[S.CAL_STAND_N]
            for k in range(3):
                st.up_stand[k] = (st.up_stand[k] * n + up[k]) / (n + 1.0)
                st.tup_stand[k] = (st.tup_stand[k] * n + tup[k]) / (n + 1.0)
            f[S.CAL_STAND_N] = n + 1.0
            f[S.RECAL] = 0.0
            f[S.CAL_STATE] = 1.0
        elif not still and f[S.CAL_STAND_N] > 0.0 and f[S.STILL_CAL_DONE] == 0.0:
            f[S.STILL_CAL_DONE] = 1.0  # _leave_still re-took up_stand without the last moments
            if has_trunk:
                st.tup_stand[:] = st.tup_stand / math.sqrt(st.tup_stand @ st.tup_stand)

        # --- derived signals -----------------------------------------------------------------
        sf = (a0 * up[0] + a1 * up[1] + a2 * up[2]) / G
        alin[0], alin[1], alin[2] = a0 - G * up[0], a1 - G * up[1], a2 - G * up[2]
        d_sf = 1.0 / (SF_TAU + dt)  # the smoothing gain over dt, and the rate of the smoothed sf:
        sf_lp = _lp(dt * d_sf, f[S.AV_LP], sf) if not first else sf
        dsf = (sf - f[S.AV_LP]) * d_sf if not first else 0.0  # (sf_lp - its last value) / dt
        f[S.AV_LP] = sf_lp
        if first:  # the walking low-pass starts in its steady state at this sample's sf
            _design_walk_lp(f, c)
            f[S.WLP_Y] = f[S.WLP_Y1] = f[S.WLP_X1] = f[S.WLP_X2] = sf
        y = (f[S.WLP_B] * sf + f[S.WLP_B + 1] * f[S.WLP_X1] + f[S.WLP_B + 2] * f[S.WLP_X2]
             - f[S.WLP_B + 3] * f[S.WLP_Y] - f[S.WLP_B + 4] * f[S.WLP_Y1])
        f[S.WLP_X2], f[S.WLP_X1] = f[S.WLP_X1], sf
        f[S.WLP_Y1], f[S.WLP_Y] = f[S.WLP_Y], y
        wc0, wc1, wc2 = w0 - st.bias[0], w1 - st.bias[1], w2 - st.bias[2]

        idx = int(f[S.N_SAMPLES])
        j = idx & mask  # (element indexing: a row view would cost reference counting per sample)
        ring[j, S.R_T] = ti
        ring[j, S.R_SF] = sf
        for k in range(3):
            ring[j, S.R_AX + k] = alin[k]
            ring[j, S.R_UX + k] = up[k]
            ring[j, S.R_TUX + k] = tup[k]
        ring[j, S.R_WX], ring[j, S.R_WY], ring[j, S.R_WZ] = wc0, wc1, wc2
        ring[j, S.R_DSF] = dsf
        ring[j, S.R_EHX], ring[j, S.R_EHY] = st.eh[0], st.eh[1]
        if f[S.CONT_T1] == f[S.CONT_T1]:  # (not NaN: a posture check is due)
            _close_continuity(st, idx, still, up)
        # (written with or without a trunk sensor in this block: a live block without its samples
        # and a replayed file with them missing must leave the same ring)
        ring[j, S.R_TWX] = tw0 - st.bias_t[0]
        ring[j, S.R_TWY] = tw1 - st.bias_t[1]
        ring[j, S.R_TWZ] = tw2 - st.bias_t[2]
        if has_trunk:
            for k in range(3):
                talin[k] = tacc[i, k] - G * tup[k]
                ring[j, S.R_TAX + k] = talin[k]

        # --- alignment statistics during gait ------------------------------------------------
        if in_gait and f[S.RHYTHM] > 0.0:
            ax_a = dt / (AXIS_TAU + dt)
            ja = (idx - int(round(60.0 / (f[S.RHYTHM] * f[S.DT_EMA])))) & mask  # one step ago
            b0, b1, b2 = ring[ja, S.R_AX], ring[ja, S.R_AY], ring[ja, S.R_AZ]
            accumulate(st.cov, st.ev_step, alin, b0, b1, b2, up, dsf, ax_a, dt)
            if has_trunk:
                b0, b1, b2 = ring[ja, S.R_TAX], ring[ja, S.R_TAY], ring[ja, S.R_TAZ]
                accumulate(st.tcov, st.tev_step, talin, b0, b1, b2, tup, dsf, ax_a, dt)
            f[S.FWD_TIME] += dt
        if in_gait and (f[S.CAL_STATE] == 1.0 or f[S.N_SAMPLES] * f[S.DT_EMA] >= WARMUP_S):
            # mean with the start-up bias removed: plain average until GAIT_UP_TAU has passed
            ag = max(dt / (GAIT_UP_TAU + dt), 1.0 / (f[S.GAIT_UP_N] + 1.0))
            f[S.GAIT_UP_X] = _lp(ag, f[S.GAIT_UP_X], up[0])
            f[S.GAIT_UP_Y] = _lp(ag, f[S.GAIT_UP_Y], up[1])
            f[S.GAIT_UP_Z] = _lp(ag, f[S.GAIT_UP_Z], up[2])
            f[S.GAIT_UP_N] += 1.0
            af = dt / (FAST_UP_TAU + dt) if f[S.GAIT_UP_N] > 1.0 else 1.0  # seeded by the first
            for k in range(3):
                f[S.FAST_UP + k] = _lp(af, f[S.FAST_UP + k], up[k])
            if has_trunk:
                f[S.TGAIT_UP_X] = _lp(ag, f[S.TGAIT_UP_X], tup[0])
                f[S.TGAIT_UP_Y] = _lp(ag, f[S.TGAIT_UP_Y], tup[1])
                f[S.TGAIT_UP_Z] = _lp(ag, f[S.TGAIT_UP_Z], tup[2])

        # --- initial contacts ----------------------------------------------------------------
        if f[S.LAST_IC_OPEN] != 0.0 and ti - f[S.LAST_IC_T] > c[S.C_MAX_STEP] + c[S.C_BOUT_END_WAIT_S]:
            _end_bout(st, c, idx)
        if sf < f[S.MIN_SF]:
            f[S.MIN_SF] = sf
        found, t_ic, kind = detect_ic(f, c, ring, idx, ti, dt, sf, acc2 / (G * G), gap)
        if found:  # (a call: the loop body stays small; ~3 ICs a second)
            _new_ic(st, c, idx, ti, t_ic, kind, sf, has_trunk)

        if f[S.N_PENDING] > 0.0:
            n_out = _flush(st, c, has_trunk, idx, False, steps_out, n_out)

        # --- per-sample pelvis-frame signals (dashboard) ------------------------------------
        if emit_signals:
            if rot_of[0] != fwd[0] or rot_of[1] != fwd[1] or rot_of[2] != fwd[2] or \
                    rot_of[3] != up_stand[0] or rot_of[4] != up_stand[1] or rot_of[5] != up_stand[2]:
                rotation_sensor_to_pelvis(fwd, up_stand, rot)  # only when the alignment moved
                rot_of[0], rot_of[1], rot_of[2] = fwd[0], fwd[1], fwd[2]
                rot_of[3], rot_of[4], rot_of[5] = up_stand[0], up_stand[1], up_stand[2]
            _signals(rot, alin, up, wc0, wc1, wc2, sf, dt, f, sig_out[i])
        f[S.T_PREV] = ti
        f[S.N_SAMPLES] = idx + 1.0
    return n_out


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _at_rest(f, bias):
    """The slow means of a sensor at rest are its gyro bias and its reading of g: a steadier turn,
    or a steady reading far from g, is no rest (checked only once the sensor looks steady)."""
    turn2 = (f[S.W_SLOW_X] - bias[0]) ** 2 + (f[S.W_SLOW_Y] - bias[1]) ** 2 + (f[S.W_SLOW_Z] - bias[2]) ** 2
    return turn2 <= STILL_MAX_BIAS ** 2 and abs(f[S.A_SLOW] - G) < STILL_MAX_G_OFF


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _interval_rate(f, k, first, w0, w1, w2):
    """The rate over the interval ending at this sample (and across a gap): the mean of the gyro
    samples at its two ends (f[k:k+3] keeps the last). The end's alone ran the attitude dt/2 ahead
    of the accelerometer, and the pelvis pitching with each loading turned that into a tilt that
    read 0.18 / 0.09 / 0.05 deg high at 50 / 100 / 200 Hz (simulated, ideal sensor)."""
    if first:
        f[k], f[k + 1], f[k + 2] = w0, w1, w2
    g0, g1, g2 = 0.5 * (w0 + f[k]), 0.5 * (w1 + f[k + 1]), 0.5 * (w2 + f[k + 2])
    f[k], f[k + 1], f[k + 2] = w0, w1, w2
    return g0, g1, g2


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _break_sequence(st, c):
    """A gap longer than max_gap_s: the last IC's bout ends and no IC waits any more."""
    f = st.f
    _end_bout(st, c, int(f[S.N_SAMPLES]) - 1)
    f[S.LAST_IC_T] = np.nan
    f[S.LAST_IC_SIDE] = -1.0
    f[S.LAST_IC_IDX] = -1.0
    f[S.ARMED] = 0.0
    f[S.PEAK_V] = 0.0
    f[S.LAND_SLOPE] = np.nan  # nor can a landing still waiting for its tangent close it


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _row_time(f, ring, fwd, c, p):
    """The time the row of the pending step `p` reports for its IC, once forward is established.

    A walking IC found from the loading moves to the forward acceleration's peak within 0.1 s of
    it whose fall just after is largest: the forward acceleration peaks at initial contact and
    falls at once as the heel strikes (Zijlstra & Hof 2003, Gait Posture 18:1), a sharper mark than
    the loading's rise, whose shape differs between people. The fall (peak minus the least value in
    the FWD_FALL_S after it) tells that peak from the forward swings of a double-bump loading,
    where the loading's rise can lead the heel strike by 0.1-0.2 s (voisard2023 s02, s04, s08).
    A candidate further from the loading IC must fall further: each C_WALK_FWD_TAU before it costs
    one standard deviation of the forward signal over the stride before the step's close, and each
    after it C_WALK_FWD_LATE times as much, as the heel strike precedes the loading it causes
    (voisard2023 F1@100 0.959 -> 0.961, HA_001 F1@50 0.800 -> 0.848; docs/engine.md). Decided when
    the row is written, from the step's own samples, so that the fall is seen whole whatever the
    detection's latency, also for the steps held until forward was established, but for a bout's
    first IC: after standing the forward acceleration is the body setting off, not the heel
    strike (the first ICs of the real walks' runs of steps: 25 / 9 ms MAE on the loading, 35 / 40
    moved; voisard2023 s04's held ICs 80-120 ms early on the loading, 10-30 moved; docs/engine.md).
    Real walks F1@100 / F1@50 at the highest peak 0.936 / 0.876, at the peak that falls most 0.951 /
    0.889 (voisard2023); HA_001 0.907 / 0.845 -> 0.907 / 0.762, whose reference sits a median 18 ms
    before this mark (docs/engine.md). A running IC (a landing) stays on its rise, even in a step
    that never dipped below the contact level and is filed as a walking one: moved, a softer
    runner's landings came ~50 ms late (the simulated runs with their dynamic acceleration x 0.45)."""
    t_ic = p[S.P_T]
    if p[S.P_MOVE] != 1.0 or c[S.C_WALK_FWD_TAU] <= 0.0:
        return t_ic
    mask = ring.shape[0] - 1
    dt = f[S.DT_EMA]
    i_ic, i_end = int(p[S.P_I0]), int(p[S.P_I1])  # the step's own samples bound the search
    scale = f[S.WALK_SCALE]
    w = int(round(0.1 * scale / dt))
    n_fall = int(round(FWD_FALL_S * scale / dt))
    n = min(2 * (i_end - i_ic), i_end, mask - 1)
    s1 = s2 = 0.0
    for k in range(i_end - n, i_end + 1):
        a = _forward_specific_force(ring[k & mask], fwd)
        s1 += a
        s2 += a * a
    sd = math.sqrt(max(0.0, s2 / (n + 1) - (s1 / (n + 1)) ** 2))
    if sd <= 0.0:
        return t_ic
    best, t_best = -np.inf, t_ic
    for k in range(max(i_ic - w, i_end - mask + 1), min(i_ic + w, i_end) + 1):
        r = ring[k & mask]
        a = _forward_specific_force(r, fwd)
        low = a
        for kk in range(k + 1, min(k + n_fall, i_end) + 1):
            low = min(low, _forward_specific_force(ring[kk & mask], fwd))
        late = r[S.R_T] - t_ic
        away = late * c[S.C_WALK_FWD_LATE] if late > 0.0 else -late
        score = (a - low) / sd - away / (c[S.C_WALK_FWD_TAU] * scale)
        if score > best:
            best, t_best = score, r[S.R_T]
    return t_best


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _specific_force(r, j):
    """Axis j of the accelerometer's reading (gravity included) of ring row r: the ring keeps it as
    linear acceleration plus the up direction."""
    return r[S.R_AX + j] + G * r[S.R_UX + j]


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _forward_specific_force(r, fwd):
    """The accelerometer's reading along forward (gravity included, as the sensor tilts with the
    pelvis) of the ring row r."""
    return _specific_force(r, 0) * fwd[0] + _specific_force(r, 1) * fwd[1] + _specific_force(r, 2) * fwd[2]


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _new_ic(st, c, idx, ti, t_ic, kind, sf, has_trunk):
    """An initial contact was found at t_ic (known at ti): unless it is too close to the last one,
    decide the last IC's side, close its step (into `pend`, to be measured) and update the
    alignment."""
    f = st.f
    last_t = f[S.LAST_IC_T]
    interval = t_ic - last_t if math.isfinite(last_t) else np.inf
    shifted = False
    if kind != KIND_RUN and f[S.WALK_PEAK] - 1.0 > (
            c[S.C_SHIFT_RATIO] if interval >= c[S.C_MIN_STEP] else 1.0) * (f[S.LAST_IC_PEAK] - 1.0):
        # setting off: the first candidate was a weight shift, this higher loading peak the IC
        shifted = c[S.C_MIN_STEP] <= interval <= c[S.C_MAX_STEP]
        interval = np.inf
    shortest = shortest_run_step(f, c) if kind == KIND_RUN else c[S.C_MIN_STEP]
    if kind != KIND_RUN and f[S.LAST_STEP_KIND] != KIND_RUN and f[S.LAST_IC_RUN] != 1.0 and f[S.RHYTHM] > 0.0:
        # walking: nor is a step shorter than this share of the walk's step time (a second
        # loading bump in a turn or a shuffle read as a double cadence). A share above half of a
        # step time that one missed step doubles would drop the next true step, and the next: so
        # it is taken of the median of the bout's last step times once there are three (one
        # missed step does not move it), before that at most half of the rhythm's. Not after a
        # landing, whose rhythm may have counted a missed step (a soft runner's clip that opened
        # with one read 125 spm, and its next step came 0.57 of that step time later)
        if f[S.STEP_HIST_K] >= 3.0:
            ratio, step_s = c[S.C_WALK_MIN_RATIO], 60.0 / f[S.CADENCE]
        else:
            ratio, step_s = min(0.5, c[S.C_WALK_MIN_RATIO]), 60.0 / f[S.RHYTHM]
        shortest = max(shortest, min(WALK_BUMP_MAX_S, ratio * step_s))
    if interval < shortest:
        return  # too close to the previous IC: a second peak of the same contact
    in_bout = interval <= c[S.C_MAX_STEP] and f[S.LAST_IC_IDX] >= 0.0
    # a first stance read before any step time, whose step closes here into a landing at a running
    # rhythm, is a landing too (a soft runner's clip that opened above the contact level)
    t_first = first_stance_at_rhythm(f, c, st.ring, t_ic) if in_bout and kind == KIND_RUN else np.nan
    if t_first == t_first:
        k_win = int(f[S.LAST_IC_WIN_IDX])
        t_win = st.ring[k_win & (st.ring.shape[0] - 1), S.R_T]
        f[S.LAST_IC_IDX] = k_win - int(round((t_win - t_first) / f[S.DT_EMA]))
        f[S.LAST_IC_T] = last_t = t_first
        f[S.LAST_IC_RUN] = 1.0
        interval = t_ic - last_t
    stride = 2.0 * interval if in_bout else 2.0 * c[S.C_MAX_STEP]
    since = ti - t_ic
    dtn = f[S.DT_EMA]
    yaw = other = 0.0  # the yaw rate's evidence, the pelvis-frame cues'
    if f[S.ACC_ONLY] != 1.0:
        setting_off = not in_bout or f[S.STEP_HIST_K] == 0.0  # (no step time yet: the second IC)
        yaw, other = _side_evidence(f, st.ring, st.fwd, st.up_stand, c, idx, since, stride, dtn,
                                    kind == KIND_RUN, setting_off)
    elif kind == KIND_RUN:
        other = _sway_evidence(f, st.ring, st.fwd, st.up_stand, idx, since, stride, dtn)
    if in_bout and kind != KIND_RUN and f[S.LAST_IC_RUN] != 1.0:
        # that step was the last IC's leg's, the other one (without a gyroscope the walk's only cue)
        other -= c[S.C_SIDE_STEP] * _step_sway(f, st.ring, st.fwd, st.up_stand, idx, ti, last_t, t_ic, dtn)
        if f[S.ACC_ONLY] != 1.0 and f[S.FWD_READY] == 1.0:
            # the status' side confidence: whether the yaw rate and the pelvis-frame cues agree
            agree = 1.0 if (yaw > 0.0) == (other > 0.0) else 0.0
            f[S.SIDE_AGREE] += SIDE_AGREE_ALPHA * (agree - f[S.SIDE_AGREE])
    ev = yaw + other
    # sides alternate: carry the previous evidence over with its sign flipped
    f[S.SIDE_E] = ev - SIDE_MEMORY * f[S.SIDE_E] if in_bout else ev
    side = _side_of(f[S.SIDE_E], f[S.LAST_IC_SIDE] if in_bout else -1.0)
    i_ic = idx - int(round((ti - t_ic) / f[S.DT_EMA]))
    if in_bout:
        k = int(f[S.N_PENDING])
        p = st.pend[k]
        p[S.P_T] = last_t
        p[S.P_SIDE] = 1.0 - side  # revised with this IC's evidence
        # a running step opens at a landing and holds a flight: the step from the
        # last walking IC into the first landing is still a walking one (its length)
        step_run = f[S.MIN_SF] < c[S.C_CROSS_SF] and f[S.LAST_IC_RUN] == 1.0
        p[S.P_KIND] = KIND_RUN if step_run else 0.0
        p[S.P_T1] = t_ic
        i_last = int(f[S.LAST_IC_IDX])
        p[S.P_TO] = _toe_off(f, st.ring, c, last_t, i_last, i_ic) if step_run else np.nan
        p[S.P_I0] = f[S.LAST_IC_IDX]
        p[S.P_I1] = i_ic
        p[S.P_MOVE] = 0.0 if f[S.LAST_IC_RUN] == 1.0 or f[S.STEP_HIST_K] == 0.0 else 1.0
        # a walk's first step had only its own side evidence (setting off, often turning): once
        # forward is known it waits for the next step, and is the other foot than that one's
        p[S.P_HOLD] = 1.0 if (f[S.STEP_HIST_K] == 0.0 and f[S.LAST_IC_RUN] != 1.0 and kind != KIND_RUN
                              and f[S.FWD_READY] == 1.0) else 0.0
        if k > 0 and st.pend[k - 1, S.P_HOLD] == 1.0 and st.pend[k - 1, S.P_T1] == last_t:
            st.pend[k - 1, S.P_SIDE] = side
            st.pend[k - 1, S.P_HOLD] = 0.0
        f[S.N_PENDING] = k + 1.0
        f[S.RUN_EVID] = _lp(RUN_EVID_ALPHA, f[S.RUN_EVID], 1.0 if step_run else 0.0)
        f[S.SIGN_VOTES] += _file_sign_votes(st.ring, st.ev, st.ev_step, st.tev_step, st.up_stand,
                                            st.tup_stand, idx, since, stride, dtn, interval,
                                            kind == KIND_RUN, step_run, has_trunk)
        _file_step_time(f, interval, p[S.P_KIND] != f[S.LAST_STEP_KIND])
        f[S.LAST_STEP_KIND] = p[S.P_KIND]
        if p[S.P_KIND] != KIND_RUN and f[S.STEP_HIST_K] >= 3.0:
            step_s = doubled_step_s(st.ring, idx, f[S.CADENCE])
            f[S.DOUBLED_N] = f[S.DOUBLED_N] + 1.0 if step_s == step_s else 0.0
            if f[S.DOUBLED_N] >= 2.0:
                f[S.DOUBLED_N] = 0.0
                _take_signal_step(f, step_s)
            if c[S.C_WALK_REF_SPM] > 0.0:
                _walk_scale(f, c)
    else:
        f[S.STEP_HIST_K] = f[S.DOUBLED_N] = 0.0  # a new bout keeps no step times of the last one
    st.ev_step[:] = 0.0  # the next step's sign evidence starts here (filed or not)
    st.tev_step[:] = 0.0
    f[S.LAST_IC_T] = t_ic
    f[S.LAST_IC_SIDE] = side
    f[S.LAST_IC_IDX] = i_ic
    # (a walking-kind IC is _walk_peak_ic's, decided at this very sample)
    f[S.LAST_IC_WIN_T0] = f[S.CAND_WIN_T0] if kind != KIND_RUN else np.nan
    f[S.LAST_IC_WIN_IDX] = idx
    if f[S.CONT_T0] == f[S.CONT_T0]:  # (not NaN: a posture check waits for its stride)
        _continuity_ic(f, t_ic)
    f[S.LAST_IC_OPEN] = 1.0 if in_bout else 0.0
    f[S.LAST_IC_RUN] = 1.0 if kind == KIND_RUN else 0.0
    # a walk sets off with one weight shift: the IC that replaced it is not replaced in turn
    f[S.LAST_IC_PEAK] = f[S.WALK_PEAK] if kind != KIND_RUN and not in_bout and not shifted else np.inf
    f[S.MIN_SF] = sf
    was_ready = f[S.FWD_READY] == 1.0
    _update_alignment(st, c, ti, has_trunk)
    if not was_ready and f[S.FWD_READY] == 1.0:
        _sides_of_held_steps(st, c)


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _relevel_from_last_stride(st, t, t_before, up):
    """After a gap in gait (its last sample at t_before), take the up direction from the same gait
    phase whole strides earlier, before the gap.

    Gait is periodic, and so is the pelvis' gravity direction in the sensor frame, so this beats
    integrating an unknown rate across the gap (impacts ring at >10 Hz: on the simulated loose
    mount, integrating 20-80 ms gaps read tilt 1.2 deg RMSE, re-levelling 0.5). Yaw is left as it
    is. For a gap shorter than a stride, the phase is the time since the last IC, taken in the
    stride that ended there (the last two step times), not in the bout's mean stride: a mount that
    rings after each IC varies fastest just there, and step times vary by a few % (simulated loose
    mount at 400 Hz: drop / tilt RMSE 1.05 / 0.92 -> 0.74 / 0.48 deg), unless those two steps are
    not a stride (25 % off the bout's median one: a step missed in an earlier gap made them 1.5
    strides, and the simulated loose mount at 50 Hz, seed 4, read tilt 3.4 deg high for 15 s after
    the next gap, 1.1 now). Across longer gaps the median stride carries the phase (one stride's
    time, repeated, drifts; the step rhythm's EMA until three step times are known). Between ring
    samples the up direction is interpolated. Gaps longer than max_gap_s end the bout but are re-levelled too:
    left to the accelerometer, a 0.4 s gap at 52 Hz read tilt 5 deg low for 6 s. Only when the gait
    repeated up to the gap (COS_RELEVEL_PERIODIC); returns whether it re-levelled.
    """
    f = st.f
    ring = st.ring
    mask = ring.shape[0] - 1
    k_hist = int(f[S.STEP_HIST_K])
    stride_s = 120.0 / (f[S.CADENCE] if k_hist >= 3 else f[S.RHYTHM])
    if k_hist >= 2:
        last = f[S.STEP_HIST + (k_hist - 1) % S.STEP_HIST_N] + f[S.STEP_HIST + (k_hist - 2) % S.STEP_HIST_N]
        # within one stride; across more, the median stride extrapolates better
        if t - t_before < last and abs(last / stride_s - 1.0) < 0.25:
            stride_s = last
    idx = int(f[S.N_SAMPLES])  # this sample's index (not yet written)
    j = (idx - 1) & mask  # the last sample before the gap
    kp, xp = _ring_find(ring, idx, t_before - stride_s)
    if kp < 0:
        return False
    repeat = (ring[j, S.R_UX] * _ring_at(ring, kp, xp, S.R_UX)
              + ring[j, S.R_UY] * _ring_at(ring, kp, xp, S.R_UY)
              + ring[j, S.R_UZ] * _ring_at(ring, kp, xp, S.R_UZ))
    if repeat < COS_RELEVEL_PERIODIC:
        return False
    target = t - stride_s
    while target > t_before:
        target -= stride_s
    k, x = _ring_find(ring, idx, target)
    if k < 0:
        return False
    u0 = _ring_at(ring, k, x, S.R_UX)
    u1 = _ring_at(ring, k, x, S.R_UY)
    u2 = _ring_at(ring, k, x, S.R_UZ)
    norm = math.sqrt(u0 * u0 + u1 * u1 + u2 * u2)
    _set_up(st.q, u0 / norm, u1 / norm, u2 / norm, up)
    # the error filter missed the gap's readings, which in running swing it by ~1.5 deg in 0.1 s
    # (horizontal accelerations of +/-0.5 g): carried by its change over the same phase a stride
    # earlier. Left at its value before the gap, the deficit turned the attitude by ~0.3 deg.
    k0, x0 = _ring_find(ring, idx, target - (t - t_before))
    if k0 >= 0:
        st.eh[0] = ring[j, S.R_EHX] + _ring_at(ring, k, x, S.R_EHX) - _ring_at(ring, k0, x0, S.R_EHX)
        st.eh[1] = ring[j, S.R_EHY] + _ring_at(ring, k, x, S.R_EHY) - _ring_at(ring, k0, x0, S.R_EHY)
    return True


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _ring_find(ring, idx, t):
    """The ring row k before sample idx with t in [t_k, t_k+1), and the fraction x of the way
    from row k to row k+1 (k = -1: t is older than the ring)."""
    mask = ring.shape[0] - 1
    k = idx - 1
    n = 0
    while n < mask - 1 and k >= 0 and ring[k & mask][S.R_T] > t:
        k -= 1
        n += 1
    if k < 0 or n >= mask - 1:
        return -1, 0.0
    h = ring[(k + 1) & mask][S.R_T] - ring[k & mask][S.R_T]
    x = min(1.0, max(0.0, (t - ring[k & mask][S.R_T]) / h)) if h > 0.0 and k + 1 < idx else 0.0
    return k, x


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _ring_at(ring, k, x, ch):
    """Channel ch interpolated between ring rows k and k+1 (_ring_find)."""
    mask = ring.shape[0] - 1
    a = ring[k & mask][ch]
    return a + x * (ring[(k + 1) & mask][ch] - a)


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _mean_up(ring, idx, t0, t1, out):
    """Mean up direction (unit) of the ring's samples in [t0, t1], those before sample idx."""
    mask = ring.shape[0] - 1
    out[:] = 0.0
    k = idx - 1
    while k >= 0 and idx - k < mask and ring[k & mask, S.R_T] >= t0:
        r = ring[k & mask]
        if r[S.R_T] <= t1:
            out[0] += r[S.R_UX]
            out[1] += r[S.R_UY]
            out[2] += r[S.R_UZ]
        k -= 1
    norm = math.sqrt(out[0] * out[0] + out[1] * out[1] + out[2] * out[2])
    if norm > 0.0:
        out /= norm


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _open_continuity(st, t):
    """After a re-levelled gap (its first sample at t): keep the mean up over the last whole stride
    before it, IC to IC, for _close_continuity. A second gap before that check keeps the first
    one's reference."""
    f = st.f
    k_hist = int(f[S.STEP_HIST_K])
    if math.isfinite(f[S.CONT_T0]) and t - f[S.CONT_T0] < 3.0 * f[S.CONT_S]:
        f[S.CONT_T0], f[S.CONT_IC0], f[S.CONT_N] = t, np.nan, 0.0
        return
    if k_hist < 2 or not math.isfinite(f[S.LAST_IC_T]):
        f[S.CONT_T0] = np.nan
        return
    stride_s = f[S.STEP_HIST + (k_hist - 1) % S.STEP_HIST_N] + f[S.STEP_HIST + (k_hist - 2) % S.STEP_HIST_N]
    t_ic = f[S.LAST_IC_T]
    _mean_up(st.ring, int(f[S.N_SAMPLES]), t_ic - stride_s, t_ic, f[S.CONT_UP : S.CONT_UP + 3])
    f[S.CONT_T0], f[S.CONT_S], f[S.CONT_IC0], f[S.CONT_N] = t, stride_s, np.nan, 0.0


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _continuity_ic(f, t_ic):
    """An IC after a re-levelled gap: the second after the first one ends a whole stride, and the
    posture check is due (at the next sample). One that comes too late (a stop) cancels it."""
    if t_ic <= f[S.CONT_T0]:
        return
    if t_ic - f[S.CONT_T0] > 3.0 * f[S.CONT_S]:
        f[S.CONT_T0] = np.nan
    elif not math.isfinite(f[S.CONT_IC0]):
        f[S.CONT_IC0] = t_ic
    else:
        f[S.CONT_N] += 1.0
        if f[S.CONT_N] == 2.0:
            f[S.CONT_T1] = t_ic


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _close_continuity(st, idx, still, up):
    """The first whole stride after a re-levelled gap has passed: turn the attitude so that its
    mean up matches the last whole stride's before the gap.

    The re-levelling takes the up direction from the same time after the last IC one stride
    earlier, but step times vary by a few %, and the pelvis pitches fastest around the IC: the
    phase error left tilt offsets of up to ~1 deg (simulated runs, 90 ms gaps at 100 Hz), which
    the accelerometer's gain takes ~5 s to undo. The posture averaged over a whole stride (IC to
    IC: a window of the mean stride's length missed the pelvis' 5 deg swing by the step times'
    few % and read drop ~0.3 deg off) changes slowly (a form fault drifts by < 0.1 deg a stride),
    so a jump in it across the gap is the re-levelling's error. A stride of another length (an
    activity change) or a larger jump (CONT_MAX_DEG: a stop, a slip) is left alone."""
    f = st.f
    t0, t1 = f[S.CONT_IC0], f[S.CONT_T1]
    f[S.CONT_T0], f[S.CONT_T1] = np.nan, np.nan
    if still or abs(t1 - t0 - f[S.CONT_S]) > 0.2 * f[S.CONT_S]:
        return
    b = f[S.CONT_UP : S.CONT_UP + 3]
    a = np.empty(3)
    _mean_up(st.ring, idx, t0, t1, a)
    if a[0] * b[0] + a[1] * b[1] + a[2] * b[2] < math.cos(math.radians(CONT_MAX_DEG)):
        return
    u = up.copy()
    _rotate_like(a[0], a[1], a[2], b[0], b[1], b[2], u)
    _set_up(st.q, u[0], u[1], u[2], up)


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _leave_still(st, t, dt, w0, w1, w2, up):
    """The sensor started moving. Stillness is recognised with a lag, during which the
    accelerometer (heavily trusted while still) already saw the push-off: restore the attitude
    from STILL_TRIM_S ago and replay the gyro since; take the standing up vector and the gyro bias
    from the still period without its last STILL_TRIM_S."""
    f = st.f
    ring = st.ring
    mask = ring.shape[0] - 1
    idx = int(f[S.N_SAMPLES])  # this sample, not yet in the ring
    n_trim = int(STILL_TRIM_S / f[S.DT_EMA])
    n_still = min(int(f[S.STILL_LEN] / f[S.DT_EMA]), idx, mask - 1)
    k0 = idx - 1 - n_trim
    if k0 < 0 or n_still <= n_trim:
        return -1
    if f[S.SNAP_N] > S.BIAS_SNAPS:
        f[S.MOVE_T] = t
    if f[S.CAL_STAND_N] > 0.0 and f[S.STILL_CAL_DONE] == 0.0:  # this still period calibrated
        s0, s1, s2 = 0.0, 0.0, 0.0
        for k in range(idx - n_still, k0 + 1):
            r = ring[k & mask]
            s0 += r[S.R_UX]
            s1 += r[S.R_UY]
            s2 += r[S.R_UZ]
        n = math.sqrt(s0 * s0 + s1 * s1 + s2 * s2)
        st.up_stand[0], st.up_stand[1], st.up_stand[2] = s0 / n, s1 / n, s2 / n
    u0, u1, u2 = _replay_up(ring, k0, idx, S.R_UX, S.R_WX)
    u0, u1, u2 = _turn_up(u0, u1, u2, w0 - st.bias[0], w1 - st.bias[1], w2 - st.bias[2], dt)
    _set_up(st.q, u0, u1, u2, up)
    return k0


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _replay_up(ring, k0, k_end, cu, cw):
    """The up direction of ring row k0 (channels cu..cu+2) turned by the ring's bias-corrected
    rates (cw..cw+2) of rows k0+1 .. k_end-1: where it is at row k_end-1."""
    mask = ring.shape[0] - 1
    r = ring[k0 & mask]
    u0, u1, u2 = r[cu], r[cu + 1], r[cu + 2]
    for k in range(k0 + 1, k_end):
        r = ring[k & mask]
        h = r[S.R_T] - ring[(k - 1) & mask][S.R_T]
        u0, u1, u2 = _turn_up(u0, u1, u2, r[cw], r[cw + 1], r[cw + 2], h)
    return u0, u1, u2


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _replay_trunk(st, k0, tup):
    """_leave_still for the trunk sensor, whose accelerometer saw the same push-off: its up from
    sample k0 turned by its gyro up to the last sample (this one's rate is integrated next). Left
    alone, the push-off read as 4-6 deg of trunk lean that the first seconds of gait (gyro only)
    kept: simulated trunk lean 2-6 deg low for the first 20 s of a run."""
    idx = int(st.f[S.N_SAMPLES])  # this sample, not yet in the ring
    u0, u1, u2 = _replay_up(st.ring, k0, idx, S.R_TUX, S.R_TWX)
    up_in_sensor(st.qt, tup)  # _set_up turns qt from its current up (tup is zeros at a block's start)
    _set_up(st.qt, u0, u1, u2, tup)


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _turn_up(u0, u1, u2, g0, g1, g2, h):
    """The up direction u after h seconds at body rate g (h < 0: before), normalised: a
    world-fixed vector seen from the body turns as du/dt = -w x u."""
    u0, u1, u2 = u0 - (g1 * u2 - g2 * u1) * h, u1 - (g2 * u0 - g0 * u2) * h, u2 - (g0 * u1 - g1 * u0) * h
    n = math.sqrt(u0 * u0 + u1 * u1 + u2 * u2)
    return u0 / n, u1 / n, u2 / n


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _gravity_step(st, a0, a1, a2, dt, up):
    """Accelerometer only: up is the mean acceleration (gravity; the dynamic part averages out over
    strides), a plain mean until NO_GYRO_TAU has passed, then an EMA. The Mahony filter on a zero
    rate started from the first sample, which mid-run can point 60 deg off, and took seconds to
    converge (a 5 s running clip lost its first steps)."""
    f = st.f
    n = f[S.GRAV_N]
    a = max(dt / (NO_GYRO_TAU + dt), 1.0 / (n + 1.0))
    f[S.GRAV_N] = n + 1.0
    f[S.GRAV_X] += a * (a0 - f[S.GRAV_X])
    f[S.GRAV_Y] += a * (a1 - f[S.GRAV_Y])
    f[S.GRAV_Z] += a * (a2 - f[S.GRAV_Z])
    g = math.sqrt(f[S.GRAV_X] ** 2 + f[S.GRAV_Y] ** 2 + f[S.GRAV_Z] ** 2)
    up_in_sensor(st.q, up)  # _set_up turns q from its current up, which `up` must hold
    if g > 0.0:
        _set_up(st.q, f[S.GRAV_X] / g, f[S.GRAV_Y] / g, f[S.GRAV_Z] / g, up)


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _set_up(q, u0, u1, u2, up):
    """Tilt q (body-frame shortest arc) so that its up direction becomes u; yaw is kept."""
    cx = u1 * up[2] - u2 * up[1]
    cy = u2 * up[0] - u0 * up[2]
    cz = u0 * up[1] - u1 * up[0]
    dw = 1.0 + u0 * up[0] + u1 * up[1] + u2 * up[2]
    m = math.sqrt(dw * dw + cx * cx + cy * cy + cz * cz)
    if m < 1e-9:
        return
    dw, cx, cy, cz = dw / m, cx / m, cy / m, cz / m
    w, x, y, z = q[0], q[1], q[2], q[3]
    q[0] = w * dw - x * cx - y * cy - z * cz
    q[1] = w * cx + x * dw + y * cz - z * cy
    q[2] = w * cy - x * cz + y * dw + z * cx
    q[3] = w * cz + x * cy - y * cx + z * dw
    up_in_sensor(q, up)


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _learn_bias(f, run, snap, bias, bias_t, t, w0, w1, w2, tw0, tw1, tw2):
    """Gyro bias = mean gyro while still (`run`, pelvis and trunk rows), applied from delayed
    snapshots (`snap`) >= 0.5 s old, so that the start of a movement (slow enough to pass as still
    for a moment) never leaks into it. Takes the arrays, not the state tuple: passing the tuple
    costs a reference count on each of its arrays per call (~0.4 us), which matters per sample."""
    first = f[S.SNAP_N] == 0.0
    # the mean over the whole still period: postural sway averages out, an EMA would keep some
    n = 0.0 if first else f[S.BIAS_N]
    f[S.BIAS_N] = n + 1.0
    a = 1.0 / (n + 1.0)
    run[0, 0] += a * (w0 - run[0, 0])
    run[0, 1] += a * (w1 - run[0, 1])
    run[0, 2] += a * (w2 - run[0, 2])
    run[1, 0] += a * (tw0 - run[1, 0])  # zeros without a trunk sensor
    run[1, 1] += a * (tw1 - run[1, 1])
    run[1, 2] += a * (tw2 - run[1, 2])
    if first or t - f[S.SNAP_T] >= BIAS_SNAP_S:
        for s in range(2):
            for j in range(S.BIAS_SNAPS - 1, 0, -1):
                for k in range(3):
                    snap[s, j, k] = snap[s, j - 1, k]
            for k in range(3):
                snap[s, 0, k] = run[s, k]
        f[S.SNAP_T] = t
        f[S.SNAP_N] += 1.0
        if f[S.SNAP_N] > S.BIAS_SNAPS and f[S.STILL_TIME] >= 1.0:
            j = S.BIAS_SNAPS - 1  # the snapshot >= 0.5 s old
            step2 = 0.0
            for k in range(3):
                step2 += (snap[0, j, k] - bias[k]) ** 2
            # (a first standing calibration has no bias to keep to)
            if f[S.STILL_CAL_DONE] == 0.0 or step2 <= BIAS_MAX_STEP ** 2:
                for k in range(3):
                    bias[k] = snap[0, j, k]
                    bias_t[k] = snap[1, j, k]


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _rate_drop(f, dt, lost, nominal):
    """Ten gap-sized intervals in a row, all alike, are a lower sample rate: undo their gap counts."""
    if f[S.GAP_RUN_N] > 0.0 and abs(dt - f[S.GAP_RUN_DT]) > 0.1 * f[S.GAP_RUN_DT]:
        f[S.GAP_RUN_N] = 0.0
    if f[S.GAP_RUN_N] == 0.0:
        f[S.GAP_RUN_DT] = dt
        f[S.GAP_RUN_LOST] = 0.0
        f[S.GAP_RUN_TIME] = 0.0
    f[S.GAP_RUN_N] += 1.0
    f[S.GAP_RUN_LOST] += lost
    f[S.GAP_RUN_TIME] += dt - nominal
    if f[S.GAP_RUN_N] >= 10.0:
        f[S.N_GAPS] -= f[S.GAP_RUN_N]
        f[S.N_LOST] -= f[S.GAP_RUN_LOST]
        f[S.GAP_TIME] -= f[S.GAP_RUN_TIME]
        f[S.DT_EMA] = f[S.GAP_RUN_DT]
        f[S.GAP_RUN_N] = 0.0


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _update_alignment(st, c, t, has_trunk):
    """At each IC in gait: calibrate up without standing, detect a moved sensor, solve forward."""
    f = st.f
    if f[S.CAL_STATE] == 0.0 and f[S.LAST_IC_OPEN] == 1.0:
        # gait began without a standing calibration: known now, said now (the coach's start
        # reminder waits for the calibration's outcome); the baseline is taken below
        f[S.CAL_STATE] = 2.0
    if f[S.FWD_READY] != 1.0 and f[S.LAST_IC_OPEN] == 1.0 and f[S.STEP_HIST_K] >= 2.0:
        _provisional_posture(st, c, has_trunk)
        f[S.FWD_PROV] = 1.0  # from a stride on: the steps waiting for forward may be measured
    if f[S.GAIT_UP_N] > 0.0:
        _follow_posture(f, st.fwd, st.up_stand, st.tup_stand, c, t, has_trunk)
    if f[S.FWD_TIME] <= 0.0 or (f[S.FWD_PROV] != 1.0 and f[S.FWD_TIME] < c[S.C_FWD_MIN_S]):
        return
    keep = f[S.FWD_READY] == 1.0
    if _reverses(f, S.FLIP_SINCE, keep and _against(st.ev[0], st.ev[1], st.fwd, c[S.C_FLIP_VOTE]), c):
        # the steps since have voted the sign down: the start (a weight shift, a stumble) misled it
        st.fwd[:] = -st.fwd
        f[S.N_FWD_FLIPS] += 1.0
    yaw_rate = ((f[S.W_SLOW_X] - st.bias[0]) * st.up_stand[0] + (f[S.W_SLOW_Y] - st.bias[1]) * st.up_stand[1]
                + (f[S.W_SLOW_Z] - st.bias[2]) * st.up_stand[2])
    if abs(yaw_rate) > TURN_RATE:
        f[S.TURN_T] = t
    if keep and t - f[S.TURN_T] < AXIS_TAU:
        # a turn's steps (pivots, side steps, the pull toward its centre) fill the statistics with
        # other axes: followed, forward strayed 10-35 deg for a minute after HA_001's daily-life
        # turns, at some sample rates and not others, and pelvic drop with it
        f[S.FWD_SETTLED] = 0.0
        return
    f0, f1, f2 = st.fwd[0], st.fwd[1], st.fwd[2]
    ratio = solve_forward(st.cov, st.ev[0], st.ev[1], st.up_stand, st.fwd, keep, c[S.C_FWD_RATIO])
    f[S.FWD_SETTLED] = 1.0 if f0 * st.fwd[0] + f1 * st.fwd[1] + f2 * st.fwd[2] > COS_SETTLED else 0.0
    if has_trunk and f[S.TRUNK] == 1.0:
        if _reverses(f, S.TFLIP_SINCE, keep and _against(st.ev[2], st.ev[3], st.tfwd, c[S.C_FLIP_VOTE]), c):
            st.tfwd[:] = -st.tfwd
        solve_forward(st.tcov, st.ev[2], st.ev[3], st.tup_stand, st.tfwd, keep, c[S.C_FWD_RATIO])
    if ratio > c[S.C_FWD_RATIO] and f[S.FWD_TIME] >= c[S.C_FWD_MIN_S] and f[S.SIGN_VOTES] >= MIN_SIGN_VOTES:
        f[S.FWD_READY] = 1.0


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _provisional_posture(st, c, has_trunk):
    """Before the forward axis is established, at an IC that closed a stride.

    While the attitude of a start without standing still converges (WARMUP_S; a mid-run start read
    tilt 60 deg off for the first second), level it on the stride: over a whole stride the linear
    acceleration averages out, so the mean specific force is gravity. The ring's up directions
    back to the oldest step still to be measured are replayed backwards from the attitude now with
    the gyro (their converging estimates erred by a changing amount), then all turned by the
    rotation from the stride's mean up to its mean specific force. Without a standing calibration
    and before the mean gait posture exists, the stride's mean posture is the provisional baseline.
    """
    f = st.f
    ring = st.ring
    mask = ring.shape[0] - 1
    i_end = int(f[S.N_SAMPLES])  # this sample, already in the ring
    n = min(int(round(120.0 / f[S.RHYTHM] / f[S.DT_EMA])), i_end, mask - 1)
    i0 = i_end - n
    level = f[S.CAL_STATE] != 1.0 and f[S.N_SAMPLES] * f[S.DT_EMA] < WARMUP_S and f[S.ACC_ONLY] != 1.0
    if level:
        if f[S.N_PENDING] > 0.0:
            i0 = max(min(i0, int(st.pend[0, S.P_I0])), i_end - mask + 64)
        up = np.empty(3)
        up_in_sensor(st.q, up)
        _replay_up_backward(ring, i0, i_end, up)
    mu = np.zeros(3)
    ma = np.zeros(3)
    for k in range(i_end - n, i_end):
        r = ring[k & mask]
        for j in range(3):
            mu[j] += r[S.R_UX + j]
            ma[j] += _specific_force(r, j)
    mu /= math.sqrt(_dot3(mu, mu))
    ma /= math.sqrt(_dot3(ma, ma))
    if level:
        reset = _dot3(mu, ma) < COS_LEVEL_RESET
        v = np.empty(3)
        up_in_sensor(st.q, v)
        _rotate_like(mu[0], mu[1], mu[2], ma[0], ma[1], ma[2], v)
        _set_up(st.q, v[0], v[1], v[2], up)
        for k in range(i0, i_end + 1):
            for j in range(3):
                v[j] = ring[k & mask, S.R_UX + j]
            _rotate_like(mu[0], mu[1], mu[2], ma[0], ma[1], ma[2], v)
            _set_ring_up(ring[k & mask], v)
        mu[:] = ma
        if reset:
            # gravity had leaked into the horizontal acceleration that the forward statistics
            # hold (on a simulated mid-run start, forward came out 90 deg off for 8 s): take
            # them again from the levelled ring
            _refill_forward_stats(st, i0, i_end, n // 2)
    if f[S.CAL_STATE] == 2.0 and f[S.GAIT_UP_N] == 0.0:
        st.up_stand[:] = mu
        if has_trunk:
            mt = np.zeros(3)
            for k in range(i_end - n, i_end):
                for j in range(3):
                    mt[j] += ring[k & mask, S.R_TUX + j]
            st.tup_stand[:] = mt / math.sqrt(_dot3(mt, mt))


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _refill_forward_stats(st, i0, i_end, step_n):
    """The forward axis' covariance as the plain mean over the ring's samples i0 + step_n .. i_end."""
    ring = st.ring
    mask = ring.shape[0] - 1
    st.cov[:] = 0.0
    unused = np.zeros(3)  # the sign votes are kept: over a step a constant leak cancels in them
    m = 0.0
    for k in range(i0 + step_n, i_end + 1):
        r = ring[k & mask]
        b = ring[(k - step_n) & mask]
        m += 1.0
        accumulate(st.cov, unused, r[S.R_AX : S.R_AX + 3], b[S.R_AX], b[S.R_AY], b[S.R_AZ],
                   r[S.R_UX : S.R_UX + 3], 0.0, 1.0 / m, 0.0)


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _replay_up_backward(ring, i0, i_end, up):
    """The ring's up directions from i_end back to i0, integrated backwards with the gyro from `up`
    at i_end."""
    mask = ring.shape[0] - 1
    u = up.copy()
    _set_ring_up(ring[i_end & mask], u)
    for k in range(i_end, i0, -1):
        r = ring[k & mask]
        h = r[S.R_T] - ring[(k - 1) & mask, S.R_T]
        u[0], u[1], u[2] = _turn_up(u[0], u[1], u[2], r[S.R_WX], r[S.R_WY], r[S.R_WZ], -h)
        _set_ring_up(ring[(k - 1) & mask], u)


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _set_ring_up(r, u):
    """A ring row's up direction becomes u; its linear acceleration and vertical force follow."""
    a0, a1, a2 = _specific_force(r, 0), _specific_force(r, 1), _specific_force(r, 2)
    r[S.R_UX], r[S.R_UY], r[S.R_UZ] = u[0], u[1], u[2]
    r[S.R_AX], r[S.R_AY], r[S.R_AZ] = a0 - G * u[0], a1 - G * u[1], a2 - G * u[2]
    r[S.R_SF] = (a0 * u[0] + a1 * u[1] + a2 * u[2]) / G


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _follow_posture(f, fwd, up_stand, tup_stand, c, t, has_trunk):
    """The baseline without a standing calibration (the early gait posture) and the slip check."""
    gn = math.sqrt(f[S.GAIT_UP_X] ** 2 + f[S.GAIT_UP_Y] ** 2 + f[S.GAIT_UP_Z] ** 2)
    gu0, gu1, gu2 = f[S.GAIT_UP_X] / gn, f[S.GAIT_UP_Y] / gn, f[S.GAIT_UP_Z] / gn
    if f[S.CAL_STATE] != 1.0 and f[S.FWD_TIME] < max(c[S.C_POSTURE_S], c[S.C_FWD_MIN_S]):
        # no standing calibration (flagged): the baseline is the mean posture of the early gait,
        # frozen after C_POSTURE_S so that a slow change of posture shows (kept current, it was
        # absorbed within ~10 s: a fatigue drift never reached the coach)
        up_stand[0], up_stand[1], up_stand[2] = gu0, gu1, gu2
        tn = math.sqrt(f[S.TGAIT_UP_X] ** 2 + f[S.TGAIT_UP_Y] ** 2 + f[S.TGAIT_UP_Z] ** 2)
        if has_trunk and tn > 0.0:
            tup_stand[0] = f[S.TGAIT_UP_X] / tn
            tup_stand[1] = f[S.TGAIT_UP_Y] / tn
            tup_stand[2] = f[S.TGAIT_UP_Z] / tn
        f[S.CAL_STATE] = 2.0  # a later standing period (>= C_STAND_S) still calibrates
    elif f[S.CAL_STATE] > 0.0 and f[S.FWD_TIME] >= c[S.C_SLIP_REF_S]:
        r0, r1, r2 = f[S.REF_UP], f[S.REF_UP + 1], f[S.REF_UP + 2]
        ref_fwd = f[S.REF_FWD : S.REF_FWD + 3]
        if r0 == 0.0 and r1 == 0.0 and r2 == 0.0:
            f[S.REF_UP], f[S.REF_UP + 1], f[S.REF_UP + 2] = gu0, gu1, gu2  # posture reference
            ref_fwd[:] = 0.0
        else:
            taken = _dot3(ref_fwd, ref_fwd) > 0.0  # (0, 0, 0) until forward is established
            tracking = f[S.REF_FWD_T] == f[S.REF_FWD_T]  # (not NaN) it still follows forward
            if f[S.FWD_READY] == 1.0 and (tracking or not taken):
                # the reference follows forward until a solve finds it at its axis (COS_SETTLED),
                # for REF_FWD_FOLLOW_S of gait at most. Taken while forward still turned toward
                # that axis, it read a walk's forward 14 deg off 3 s later: a slip (voisard2023 s05
                # trial 1, after its U-turn)
                if not taken:
                    f[S.REF_FWD_T] = f[S.FWD_TIME]
                ref_fwd[:] = fwd
                if f[S.FWD_SETTLED] == 1.0 or f[S.FWD_TIME] - f[S.REF_FWD_T] >= REF_FWD_FOLLOW_S:
                    f[S.REF_FWD_T] = np.nan
            fu = f[S.FAST_UP : S.FAST_UP + 3].copy()
            fu /= math.sqrt(_dot3(fu, fu))
            fu0, fu1, fu2 = fu[0], fu[1], fu[2]
            cosang = min(1.0, max(-1.0, fu0 * r0 + fu1 * r1 + fu2 * r2))
            following = t < f[S.MOUNT_FOLLOW_T]
            # a sensor turned about the vertical moves forward, not up (a 20 deg slip about an
            # axis 15 deg off vertical moved up 5 deg: unseen, it left 5 deg in drop for good)
            if max(math.degrees(math.acos(cosang)), _axis_angle(fwd, ref_fwd, fu)) <= c[S.C_MOUNT_DEG]:
                f[S.SLIP_T] = np.nan
            elif not math.isfinite(f[S.SLIP_T]):
                f[S.SLIP_T] = t
            # a slip stays; a turn, a slope or getting up from a chair do not (on the real daily
            # life of HA_001, 1.5 s of posture beyond the threshold alone counted 8 slips)
            if following or t - f[S.SLIP_T] >= c[S.C_SLIP_PERSIST_S]:
                # the gait posture jumped in the sensor frame and stayed: the sensor slipped on the
                # pelvis. The standing baseline keeps its place relative to the gait posture and
                # forward, which is re-learned from the gait; until the posture settles it follows
                # (one shortest-arc turn at the threshold left 4-6 deg of a 20 deg slip in drop and
                # tilt for good, and the slip's twist about up 1.5 deg in drop)
                if not following:
                    ref = ref_fwd if _dot3(ref_fwd, ref_fwd) > 0.0 else fwd
                    _pelvis_offsets(up_stand, f[S.REF_UP : S.REF_UP + 3], ref, f, S.SLIP_OFF)
                    _rotate_like(r0, r1, r2, fu0, fu1, fu2, fwd)
                    f[S.N_MOUNT] += 1.0
                    f[S.MOUNT_FOLLOW_T] = t + c[S.C_SLIP_FOLLOW_S]
                _from_offsets(up_stand, fu, fwd, f[S.SLIP_OFF], f[S.SLIP_OFF + 1])
                f[S.REF_UP], f[S.REF_UP + 1], f[S.REF_UP + 2] = fu0, fu1, fu2
                ref_fwd[:] = fwd * f[S.FWD_READY]  # (0, 0, 0) while not established
                f[S.REF_FWD_T] = f[S.FWD_TIME]
                f[S.SLIP_T] = np.nan


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _axis_angle(a, b, up):
    """Angle (deg) between the axes a and b (either sign) seen along up: both projected off it."""
    da, db = _dot3(a, up), _dot3(b, up)
    a0, a1, a2 = a[0] - da * up[0], a[1] - da * up[1], a[2] - da * up[2]
    b0, b1, b2 = b[0] - db * up[0], b[1] - db * up[1], b[2] - db * up[2]
    n = math.sqrt((a0 * a0 + a1 * a1 + a2 * a2) * (b0 * b0 + b1 * b1 + b2 * b2))
    return math.degrees(math.acos(min(1.0, abs(a0 * b0 + a1 * b1 + a2 * b2) / n))) if n > 0.0 else 0.0


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _pelvis_offsets(v, up, fwd, f, k):
    """f[k], f[k+1] = v's forward and left components per unit of its up component, in the pelvis
    frame of `up` and `fwd` (a posture offset that a rotation of the sensor leaves unchanged)."""
    rot = np.empty((3, 3))
    rotation_sensor_to_pelvis(fwd, up, rot)
    z = _dot3(v, up)
    f[k] = _dot3(v, rot[0]) / z
    f[k + 1] = _dot3(v, rot[1]) / z


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _from_offsets(v, up, fwd, ox, oy):
    """v = the unit vector with offsets (ox, oy) from `up` in the pelvis frame of `up` and `fwd`."""
    rot = np.empty((3, 3))
    rotation_sensor_to_pelvis(fwd, up, rot)
    for j in range(3):
        v[j] = up[j] + ox * rot[0, j] + oy * rot[1, j]
    n = math.sqrt(_dot3(v, v))
    for j in range(3):
        v[j] /= n


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _reverses(f, since, against, c):
    """The votes have stood against the axis at every IC for forward_flip_s of gait (a pause
    between bouts does not count): reverse it now."""
    if not against:
        f[since] = math.nan
        return False
    if math.isnan(f[since]):
        f[since] = f[S.FWD_TIME]
    if f[S.FWD_TIME] - f[since] < c[S.C_FLIP_S]:
        return False
    f[since] = math.nan
    return True


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _against(ev_walk, ev_run, fwd, flip_vote):
    """The recent steps' votes (walk - run, each an EMA of unit vectors) say forward is reversed."""
    return _dot3(ev_walk, fwd) - _dot3(ev_run, fwd) < -flip_vote


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _rotate_like(a0, a1, a2, b0, b1, b2, v):
    """Rotate v in place by the shortest-arc rotation taking unit a to unit b (Rodrigues)."""
    kx, ky, kz = a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0
    s = math.sqrt(kx * kx + ky * ky + kz * kz)
    c = a0 * b0 + a1 * b1 + a2 * b2
    if s < 1e-12:
        return
    kx, ky, kz = kx / s, ky / s, kz / s
    d = kx * v[0] + ky * v[1] + kz * v[2]
    cx, cy, cz = ky * v[2] - kz * v[1], kz * v[0] - kx * v[2], kx * v[1] - ky * v[0]
    for j, (vv, cc, kk) in enumerate(((v[0], cx, kx), (v[1], cy, ky), (v[2], cz, kz))):
        v[j] = vv * c + cc * s + kk * d * (1.0 - c)


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _signals(rot, alin, up, w0, w1, w2, sf, dt, f, out):
    ux = rot[0] @ up
    uy = rot[1] @ up
    uz = rot[2] @ up
    pitch = math.asin(min(1.0, max(-1.0, -ux)))
    roll = math.atan2(uy, uz)
    ax, ay = rot[0] @ alin, rot[1] @ alin
    wx = rot[0, 0] * w0 + rot[0, 1] * w1 + rot[0, 2] * w2
    wy = rot[1, 0] * w0 + rot[1, 1] * w1 + rot[1, 2] * w2
    wz = rot[2, 0] * w0 + rot[2, 1] * w1 + rot[2, 2] * w2
    # forward/left on the horizontal plane (pelvis x and y with their vertical parts removed)
    fx, fy, fz = 1.0 - ux * ux, -ux * uy, -ux * uz
    az_ = rot[2] @ alin
    fn = math.sqrt(fx * fx + fy * fy + fz * fz)
    lx, ly, lz = -uy * ux, 1.0 - uy * uy, -uy * uz
    ln = math.sqrt(lx * lx + ly * ly + lz * lz)
    out[1] = (ax * fx + ay * fy + az_ * fz) / fn
    out[2] = (ax * lx + ay * ly + az_ * lz) / ln
    out[3] = (sf - 1.0) * G
    out[4], out[5], out[6] = wx, wy, wz
    out[7] = math.degrees(pitch)
    out[8] = math.degrees(roll)
    # yaw rate (sin(roll) w_y + cos(roll) w_z) / cos(pitch), for a unit u: as in metrics.compute_step
    f[S.ROT] += math.degrees((uy * wy + uz * wz) / (uy * uy + uz * uz)) * dt
    f[S.ROT_BASE] += dt / (ROT_TAU + dt) * (f[S.ROT] - f[S.ROT_BASE])
    out[9] = f[S.ROT] - f[S.ROT_BASE]
