"""The engine's state as explicit data: one flat float64 buffer, named by `views` as a tuple of
fixed-size numpy arrays.

Like scipy.signal's `zi`, everything the kernels remember between samples lives here and nowhere
else, so a session can be processed in blocks of any size with identical results, and the memory
footprint is fixed when the engine is built (no growth with session length).

Every scalar slot, setting, ring channel and pending-step column is declared once, with its name
and meaning, in the tables below (SCALARS, SETTINGS, CHANNELS, PENDING); their indices are derived
from the tables and become module constants (S.T_PREV, S.C_RATE, ...), which numba compiles as
constants. Adding a field is one line in its table.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit
from numba.core import cgutils
from numba.extending import intrinsic, overload

# LLVM fast-math flags of every kernel: divisions may use reciprocals and a*b+c may fuse into one
# FMA. Not "nnan"/"ninf" (the kernels test isfinite on raw samples) nor "reassoc" (sums keep
# their order).
FASTMATH = {"arcp", "contract"}


class Slot(NamedTuple):
    """One entry of a layout table. `names` is one name per slot, or one name for the first of
    `size` slots (a vector read as X + k); `init` is the value of a fresh state."""

    names: str
    doc: str = ""
    size: int = 1
    init: float = 0.0


class Setting(NamedTuple):
    """A settings slot c[...] and the EngineConfig field it is packed from ("" = not a field:
    engine.py computes it). The field's comment in EngineConfig gives its meaning and unit."""

    names: str
    field: str
    size: int = 1


def layout(table: tuple[Slot, ...] | tuple[Setting, ...]) -> tuple[dict[str, int], int]:
    """Index of every name of a table (slots in table order, no gaps) and the number of slots."""
    index: dict[str, int] = {}
    n = 0
    for entry in table:
        names = entry.names.split()
        if entry.size < 1 or len(names) not in (1, entry.size):
            raise ValueError(f"{entry.names}: {len(names)} names for {entry.size} slots")
        for k, name in enumerate(names):
            if name in index:
                raise ValueError(f"{name} declared twice")
            index[name] = n + k
        n += entry.size
    return index, n


STEP_HIST_N = 8
BIAS_SNAPS = 3  # snapshots 0.25 s apart: the bias used lags the stillness by >= 0.5 s

# --- scalar state f[...] -------------------------------------------------------------------
SCALARS = (
    Slot("T_PREV", "last valid sample time", init=math.nan),
    Slot("N_SAMPLES"),
    Slot("LEVELLED", "1 once the attitude was levelled on a reading of >= LEVEL_MIN_G (kernel)"),
    Slot("DT_EMA", "smoothed sample interval (seen rate = 1 / DT_EMA); new_state sets 1 / rate"),
    Slot("GAP_PENDING", "a NaN row or gap happened since the last valid sample"),
    Slot("N_GAPS"),
    Slot("GAP_TIME"),
    Slot("N_LOST"),
    Slot("N_NAN"),
    Slot("N_SAT"),
    Slot("N_RATE_CHANGES"),
    Slot("RATE_OFF", "1 while the seen rate is off nominal by > 10 %"),
    Slot("STILL_W", "low-passed |gyro - its slow mean| (rad/s)"),
    Slot("W_SLOW_X W_SLOW_Y W_SLOW_Z", "the gyro's 1 s mean (rad/s): a still sensor reads its bias", 3),
    Slot("STILL_A", "low-passed | |acc| - its slow mean | (m/s^2)"),
    Slot("A_SLOW", "the 1 s mean of |acc| (m/s^2): a still sensor's reading of g"),
    Slot("STILL_TIME", "how long the sensor has been still, s"),
    Slot("ONE_G", "the accelerometer's reading of 1 g, in g: mean |acc| / G over the still samples",
         init=1.0),
    Slot("ONE_G_N", "still samples in ONE_G"),
    Slot("CAL_STATE", "0 none, 1 standing, 2 gait"),
    Slot("CAL_STAND_N", "samples averaged into the standing up vector"),
    Slot("AHRS_INIT"),
    Slot("WALK_PEAK", "walking: height of the loading peak of the IC just found (g)"),
    Slot("FWD_READY", "forward axis and its sign are established"),
    Slot("FWD_PROV", "fwd holds a provisional axis (solved from less than forward_min_s of gait)"),
    Slot("ROLL_AMP", "EMA of |pelvic roll rate evidence| at walking ICs (side confidence scale)"),
    Slot("SIDE_AGREE", "EMA over walking ICs of whether the yaw rate and the pelvis-frame cues agree",
         init=1.0),
    Slot("FWD_TIME", "gait time accumulated into the forward estimate"),
    Slot("SIGN_VOTES", "steps that have voted on the sign of forward"),
    Slot("AV_PREV", "previous vertical specific force (g), for crossings and slopes"),
    Slot("AN2_PREV", "previous squared norm of the specific force (g^2)"),
    Slot("AN_UP_T", "when the specific force's norm last rose through 1 g", init=-math.inf),
    Slot("AN_DOWN_T", "... and when it last fell below 1 g", init=-math.inf),
    Slot("FLIGHT_TIME", "time spent below the flight threshold in the current swing"),
    Slot("LOADED_T", "last time sf was at or above 1 g (a flight starts no sooner than RING_S after)",
         init=-math.inf),
    Slot("ARMED", "1 after a flight phase: the next rise is an IC (running)"),
    Slot("LAST_IC_T", init=math.nan),
    Slot("LAST_IC_SIDE", "0 left, 1 right, -1 none", init=-1.0),
    Slot("LAST_IC_IDX", "ring index (absolute sample counter) of the last IC", init=-1.0),
    Slot("LAST_IC_PEAK", "the last IC's walking loading peak (g) while it opened no step, else +inf",
         init=math.inf),
    Slot("CAND_WIN_T0", "walking: the IC search window's start of the stance just decided, when it was "
         "decided before any step time and no landing; else NaN", init=math.nan),
    Slot("LAST_IC_WIN_T0", "... the same of the last IC, re-decided as a landing's when its step closes at "
         "a running rhythm (icd.first_stance_at_rhythm)", init=math.nan),
    Slot("LAST_IC_WIN_IDX", "... and the sample at which the last IC was found (its window's end)",
         init=-1.0),
    Slot("PEAK_V", "walking: running maximum of the smoothed vertical signal since the last IC"),
    Slot("PEAK_T"),
    Slot("AV_LP", "smoothed vertical specific force for walking peaks (g)"),
    Slot("LAND_T", "running: the landing's crossing of C_CROSS_SF, its rise watched for LAND_WIN_S"),
    Slot("LAND_S0", "... the slope across that crossing, the steeper of its secant and the next (g/s)"),
    Slot("LAND_N", "... samples of the rise seen since the crossing"),
    Slot("LAND_BACK", "... 1 once it fell back under C_CROSS_SF short of 1 g: a bump, the landing to come"),
    Slot("LAND_LOW", "... 1 while its steepest slope so far came before it reached 1 g"),
    Slot("LAND_IC", "... where the tangent at the steepest point of the rise so far meets sf = 0"),
    Slot("LAND_SLOPE", "... and that steepest slope (g/s); NaN when no landing is watched",
         init=math.nan),
    Slot("LAND_RISING", "... 1 until sf first stops rising after the crossing"),
    Slot("LAND_RISE_IC", "... where the tangent at a steeper point of that climb below 1 g meets sf = 0",
         init=-math.inf),
    Slot("LAND_FELL", "... 1 once the norm fell on that rise while under 1 g"),
    Slot("LAND_LEAD", "running: EMA over landings of the time from their tangent's IC to the norm's 1 g",
         init=math.nan),
    Slot("GAP_T", "running: the last sample that followed a gap (a stance across one is not recovered)",
         init=-math.inf),
    Slot("CADENCE", "cadence of the bout: 60 / median of its last STEP_HIST_N step times (same kind), spm"),
    Slot("N_STEPS"),
    Slot("N_PENDING"),
    Slot("MIN_SF", "minimum vertical specific force since the last IC (g): flight present?"),
    Slot("N_MOUNT"),
    Slot("GAIT_UP_X GAIT_UP_Y GAIT_UP_Z", "long-term mean of the up vector during gait (sensor frame)", 3),
    Slot("GAIT_UP_N"),
    Slot("N_FWD_FLIPS", "times the steps' sign votes reversed an established forward axis"),
    Slot("FLIP_SINCE TFLIP_SINCE",
         "FWD_TIME since when the recent votes stand against the pelvis / trunk forward axis", 2,
         init=math.nan),
    Slot("TRUNK", "1 when trunk samples were seen"),
    Slot("STILL_CAL_DONE", "standing calibration frozen"),
    Slot("RUN_EVID", "EMA of step kind (1 run, 0 walk): the status activity"),
    Slot("LAST_FLIGHT_T", "last time a flight phase was seen (running mode while recent)", init=-math.inf),
    Slot("MOUNT_FOLLOW_T", "after a slip, the baseline follows the posture until this time"),
    Slot("YAW_AMP", "EMA of |side signal| at ICs (confidence scale)"),
    Slot("ROT", "integrated pelvic yaw (signals only), deg"),
    Slot("ROT_BASE", "its slow trend = running heading"),
    Slot("N_FORCED", "steps emitted before the alignment was ready (low confidence)"),
    Slot("GAP_RUN_N", "consecutive gap-sized intervals of similar length: a lower rate, not gaps"),
    Slot("GAP_RUN_DT"),
    Slot("GAP_RUN_LOST"),
    Slot("GAP_RUN_TIME"),
    Slot("RHYTHM", "the recent step rhythm, spm (EMA of 60 / step time): for timing a step ahead or a "
         "stride back; the cadence a runner is told is CADENCE, which a missed IC cannot move"),
    Slot("SIDE_E", "parity-filtered evidence that the last IC was a right foot (> 0) or left (< 0)"),
    Slot("GRAV_N", "accelerometer only: samples averaged into GRAV_X..Z"),
    Slot("WLP_Y", "walking: sf low-passed at walk_lp_hz (g), whose maxima are the candidate steps"),
    Slot("WLP_Y1 WLP_X1 WLP_X2", "... its output before WLP_Y and its last two inputs: its biquad is in "
         "direct form I, whose state is the signal's own history, so a re-design (WALK_SCALE moved) is no "
         "bump", 3),
    Slot("WLP_B", "... its coefficients b0, b1, b2, a1, a2 (a0 = 1), at walk_lp_hz / WALK_SCALE", 5),
    Slot("WALK_SCALE", "walking's time scale: walk_ref_spm / the walking cadence (1 until known)",
         init=1.0),
    Slot("RECAL", "1 from Engine.recalibrate() until the new standing baseline is taken"),
    Slot("LAST_IC_OPEN", "1 while the last IC closed a step and has no next IC yet (its kind: LAST_IC_RUN)"),
    Slot("N_OPEN_END", "steps emitted without a next IC (a bout's last step): interval unknown"),
    Slot("TRUNK_NO_GYRO", "1 while the trunk sensor streams no gyroscope (NaN)"),
    Slot("PREV_YAW_MIN PREV_YAW_MAX PREV_YAW_END",
         "yaw path of the previous emitted step (relative to its IC), deg", 3),
    Slot("PREV_STEP_I1", "its closing sample index (-1: none): the stride continues only if it is ours",
         init=-1.0),
    Slot("TGAIT_UP_X TGAIT_UP_Y TGAIT_UP_Z",
         "trunk: long-term mean of its up vector during gait (no-standing calibration)", 3),
    Slot("SNAP_T", "time of the last bias snapshot while still"),
    Slot("SNAP_N", "snapshots taken in the current still period"),
    Slot("W_PREV", "previous valid gyro sample: the rate over an interval is the mean of its ends", 3),
    Slot("TW_PREV", "... and the trunk sensor's", 3),
    Slot("MOVE_T", "when the sensor last started moving after a still period with a learned bias",
         init=-math.inf),
    Slot("BIAS_N", "samples averaged into bias_run in the current still period"),
    Slot("WAS_STILL", "the previous sample was still"),
    Slot("STILL_LEN", "duration of the current/last still period, s"),
    Slot("REF_UP", "reference gait-mean up for slip detection (0,0,0: not yet taken)", 3),
    Slot("REF_FWD", "the forward axis the slip check holds forward against (0,0,0: not yet taken)", 3),
    Slot("REF_FWD_T", "gait time (FWD_TIME) since which REF_FWD follows forward (NaN: it is fixed)",
         init=math.nan),
    Slot("FWD_SETTLED", "1 when the last forward solve turned it by under half its most (COS_SETTLED)"),
    Slot("NO_GYRO_N", "consecutive samples with an accelerometer reading and no gyroscope (NaN)"),
    Slot("ACC_ONLY", "1 while the stream has had no gyroscope for acc_only_s: accelerometer-only mode"),
    Slot("SWAY_AMP", "EMA of |sideways acceleration evidence| at ICs (accelerometer-only sides)"),
    Slot("STEP_SWAY_AMP", "EMA of |mean sideways acceleration over a walking step| (sides)"),
    Slot("WPEAK_REF", "walking: EMA of the low-passed loading peaks of the ICs found (g above 1 g)"),
    Slot("GRAV_X GRAV_Y GRAV_Z", "accelerometer only: mean acceleration (gravity), sensor frame, m/s^2", 3),
    Slot("STEP_HIST", "the bout's last step times, s, a ring", STEP_HIST_N),
    Slot("STEP_HIST_K", "step times filed into it since the bout or the activity began"),
    Slot("DOUBLED_N", "walking steps in a row that closed with their cadence found doubled"),
    Slot("LAST_IC_RUN", "1 when the last IC was a running landing (after a flight)"),
    Slot("LAST_STEP_KIND", "kind of the last step filed (0 walk, 1 run)"),
    Slot("FAST_UP", "the up vector during gait averaged over seconds (sensor frame): slip check", 3),
    Slot("TURN_T", "the last IC at which the walk was turning (kernel.TURN_RATE), s", init=-math.inf),
    Slot("SLIP_T", "since when that posture has been beyond the slip threshold (NaN: it is not)",
         init=math.nan),
    Slot("SLIP_OFF", "standing up relative to the gait posture before a slip: along forward, left", 2),
    Slot("CONT_T0", "after a re-levelled gap in gait: its first sample (NaN: no posture check waits)",
         init=math.nan),
    Slot("CONT_S", "... the stride before it (IC to IC), s"),
    Slot("CONT_IC0", "... the first IC after it (NaN: none yet) and the ICs found since", init=math.nan),
    Slot("CONT_N"),
    Slot("CONT_T1", "... the IC that ends the first whole stride after it: check due (NaN: not yet)",
         init=math.nan),
    Slot("CONT_UP", "... the mean up direction over that stride before it (sensor frame)", 3),
)

# --- settings c[...] (EngineConfig packed by engine.py) ----------------------------------------
SETTINGS = (
    Setting("C_RATE", ""),  # nominal sample rate, Hz: the Engine's sample_rate_hz
    Setting("C_KP_STILL", "kp_still"),
    Setting("C_KP_GAIT", "kp_gait"),
    Setting("C_KP_ROLL", "kp_roll_gait"),
    Setting("C_KI", "ki"),
    Setting("C_KI_UNCAL", "ki_uncalibrated"),
    Setting("C_TAU_CORR_GAIT", "tau_corr_gait"),
    Setting("C_GYRO_ONLY_S", "gyro_only_s"),
    Setting("C_STILL_GYR", "still_gyr_rad_s"),
    Setting("C_STILL_ACC", "still_acc_ms2"),
    Setting("C_STILL_MIN_S", "still_min_s"),
    Setting("C_STAND_S", "standing_s"),
    Setting("C_FLIGHT_SF", "flight_sf_g"),
    Setting("C_MIN_FLIGHT", "min_flight_s"),
    Setting("C_RUN_MODE_S", "run_mode_s"),
    Setting("C_CROSS_SF", "contact_sf_g"),
    Setting("C_TO_MIN_S", "toe_off_min_s"),
    Setting("C_WALK_LP_HZ", "walk_lp_hz"),
    Setting("C_WALK_REF_SPM", "walk_ref_spm"),
    # the low-pass of the peak angles: its biquad (as WLP_B), for every C_ALP+5-th sample
    Setting("C_ALP", "angle_lp_hz", 6),
    Setting("C_WALK_PEAK_SF", "walk_peak_sf_g"),
    Setting("C_WALK_IC_WIN", "walk_ic_window_s"),
    Setting("C_WALK_FALL", "walk_fall"),
    Setting("C_WALK_CONFIRM_S", "walk_confirm_s"),
    Setting("C_WALK_IC_OFFSET", "walk_ic_offset_s"),
    Setting("C_WALK_FWD_TAU", "walk_ic_fwd_tau_s"),
    Setting("C_WALK_FWD_LATE", "walk_ic_fwd_late"),
    Setting("C_SIDE_FROM", "walk_side_from_s"),
    Setting("C_SIDE_TO", "walk_side_to_s"),
    Setting("C_SIDE_ROLL", "walk_side_roll"),
    Setting("C_SIDE_SWAY", "walk_side_sway"),
    Setting("C_SIDE_STEP", "walk_side_step"),
    Setting("C_MIN_STEP", "min_step_s"),
    Setting("C_WALK_MIN_RATIO", "walk_min_step_ratio"),
    Setting("C_MIN_RUN_STEP", "min_run_step_s"),
    Setting("C_MAX_STEP", "max_step_s"),
    Setting("C_BOUT_END_WAIT_S", "bout_end_wait_s"),
    Setting("C_SHIFT_RATIO", "weight_shift_ratio"),
    Setting("C_MAX_GAP", "max_gap_s"),
    Setting("C_SAT_ACC", "sat_acc_ms2"),
    Setting("C_SAT_GYR", "sat_gyr_rad_s"),
    Setting("C_ACC_ONLY_S", "acc_only_s"),
    Setting("C_FWD_MIN_S", "forward_min_s"),
    Setting("C_FWD_RATIO", "forward_ratio"),
    Setting("C_MAX_HOLD_S", "max_hold_s"),
    Setting("C_FLIP_VOTE", "forward_flip_vote"),
    Setting("C_FLIP_S", "forward_flip_s"),
    Setting("C_POSTURE_S", "posture_s"),
    Setting("C_MOUNT_DEG", "mount_moved_deg"),
    Setting("C_SLIP_PERSIST_S", "slip_persist_s"),
    Setting("C_SLIP_FOLLOW_S", "slip_follow_s"),
    Setting("C_SLIP_REF_S", "slip_reference_s"),
)

# --- ring buffer channels (per sample) -------------------------------------------------------
CHANNELS = (
    Slot("R_T", "sample time, s"),
    Slot("R_SF", "vertical specific force, g (1 at rest)"),
    Slot("R_AX R_AY R_AZ", "linear (gravity-free) acceleration, sensor frame, m/s^2", 3),
    Slot("R_UX R_UY R_UZ", "up direction in the sensor frame (AHRS)", 3),
    Slot("R_WX R_WY R_WZ", "bias-corrected angular velocity, sensor frame, rad/s", 3),
    Slot("R_TUX R_TUY R_TUZ", "trunk: up direction in the trunk sensor frame", 3),
    Slot("R_TAX R_TAY R_TAZ", "trunk: linear acceleration in the trunk sensor frame", 3),
    Slot("R_TWX R_TWY R_TWZ", "trunk: bias-corrected angular velocity, rad/s", 3),
    Slot("R_DSF", "slope of the lightly smoothed sf (g/s): where a walking IC's loading rises steepest"),
    Slot("R_EHX R_EHY", "the attitude filter's earth-frame error state after this sample (eh)", 2),
)

# --- closed steps waiting for their metrics (the alignment may not be ready yet) ---------------
PENDING = (
    Slot("P_T", "IC time"),
    Slot("P_SIDE", "0 L, 1 R"),
    Slot("P_KIND", "0 walk, 1 run"),
    Slot("P_T1", "next IC time (NaN: a bout's last step, whose metrics cover one typical step after its IC)"),
    Slot("P_TO", "toe-off time (NaN unknown)"),
    Slot("P_I0 P_I1", "absolute sample indices of this IC and of the next (or of the typical step's end)", 2),
    Slot("P_MOVE", "1: a walking IC but a bout's first (its row's IC may move once forward is established: "
                   "_row_time)"),
    Slot("P_HOLD", "1: a walking bout's first step, held until the next one closes: its side is the "
                   "other foot than that one's"),
)
MAX_PENDING = 64

# The names of the tables become module constants (S.T_PREV, S.C_RATE, S.R_SF, S.P_T), which
# numba compiles as constants; N_F, N_C, N_R, N_P count the slots.
SCALAR_INDEX, N_F = layout(SCALARS)
SETTING_INDEX, N_C = layout(SETTINGS)
CHANNEL_INDEX, N_R = layout(CHANNELS)
PENDING_INDEX, N_P = layout(PENDING)
globals().update(SCALAR_INDEX, **SETTING_INDEX, **CHANNEL_INDEX, **PENDING_INDEX)
F_INIT = np.concatenate([np.full(s.size, s.init) for s in SCALARS])  # a fresh state's scalars


class EngineState(NamedTuple):
    """Views into one flat float64 buffer (`buf`), in this order; `ring` and `scratch` last, their
    length is the ring capacity. One array crosses into numba per call instead of twenty: unboxing
    each costs time on every call (a single-sample call went from ~6 to ~2 us)."""

    f: np.ndarray  # (N_F,) scalars above
    eh: np.ndarray  # (2,) low-passed earth-frame horizontal specific force (AHRS error filter)
    teh: np.ndarray  # (2,) the trunk sensor's
    ev: np.ndarray  # (4, 3) forward-sign evidence: pelvis walk, run, trunk walk, run
    ev_step: np.ndarray  # (3,) its running sum over the step in progress, filed by the step's kind
    tev_step: np.ndarray  # (3,) the trunk's
    q: np.ndarray  # (4,) sensor-to-earth quaternion w, x, y, z (earth z up)
    bias: np.ndarray  # (3,) gyro bias, rad/s
    qt: np.ndarray  # (4,) trunk sensor quaternion
    bias_t: np.ndarray  # (3,) trunk gyro bias
    bias_run: np.ndarray  # (2, 3) running mean of the gyro while still: pelvis, trunk
    bias_snap: np.ndarray  # (2, BIAS_SNAPS, 3) its delayed snapshots (newest first)
    up_stand: np.ndarray  # (3,) up in the sensor frame while standing (P.z)
    cov: np.ndarray  # (3, 3) EMA covariance of horizontal linear acceleration, sensor frame
    fwd: np.ndarray  # (3,) forward axis P.x in the sensor frame (sign resolved when FWD_READY)
    tfwd: np.ndarray  # (3,) trunk forward axis in the trunk sensor frame
    tup_stand: np.ndarray  # (3,) trunk up while standing
    tcov: np.ndarray  # (3, 3) trunk horizontal-acceleration covariance
    pend: np.ndarray  # (MAX_PENDING, N_P) closed steps waiting for alignment
    ring: np.ndarray  # (cap, N_R) last `cap` samples
    scratch: np.ndarray  # (cap, N_SCRATCH) per-sample working space of metrics.compute_step


N_SCRATCH = 6
# offsets of the fields in the flat buffer (module constants: compile-time constants in numba)
O_F = 0
O_EH = O_F + N_F
O_TEH = O_EH + 2
O_EV = O_TEH + 2
O_EV_STEP = O_EV + 12
O_TEV_STEP = O_EV_STEP + 3
O_Q = O_TEV_STEP + 3
O_BIAS = O_Q + 4
O_QT = O_BIAS + 3
O_BIAS_T = O_QT + 4
O_BIAS_RUN = O_BIAS_T + 3
O_BIAS_SNAP = O_BIAS_RUN + 6
O_UP_STAND = O_BIAS_SNAP + 2 * BIAS_SNAPS * 3
O_COV = O_UP_STAND + 3
O_FWD = O_COV + 9
O_TFWD = O_FWD + 3
O_TUP_STAND = O_TFWD + 3
O_TCOV = O_TUP_STAND + 3
O_PEND = O_TCOV + 9
O_RING = O_PEND + MAX_PENDING * N_P


@njit(cache=True)
def views(buf: np.ndarray) -> EngineState:
    """The named fields of a flat state buffer (shared memory, no copies); numba and Python alike."""
    cap = (buf.shape[0] - O_RING) // (N_R + N_SCRATCH)
    o_scratch = O_RING + cap * N_R
    return EngineState(
        buf[O_F:O_EH],
        buf[O_EH:O_TEH],
        buf[O_TEH:O_EV],
        buf[O_EV:O_EV_STEP].reshape((4, 3)),
        buf[O_EV_STEP:O_TEV_STEP],
        buf[O_TEV_STEP:O_Q],
        buf[O_Q:O_BIAS],
        buf[O_BIAS:O_QT],
        buf[O_QT:O_BIAS_T],
        buf[O_BIAS_T:O_BIAS_RUN],
        buf[O_BIAS_RUN:O_BIAS_SNAP].reshape((2, 3)),
        buf[O_BIAS_SNAP:O_UP_STAND].reshape((2, BIAS_SNAPS, 3)),
        buf[O_UP_STAND:O_COV],
        buf[O_COV:O_FWD].reshape((3, 3)),
        buf[O_FWD:O_TFWD],
        buf[O_TFWD:O_TUP_STAND],
        buf[O_TUP_STAND:O_TCOV],
        buf[O_TCOV:O_PEND].reshape((3, 3)),
        buf[O_PEND:O_RING].reshape((MAX_PENDING, N_P)),
        buf[O_RING:o_scratch].reshape((cap, N_R)),
        buf[o_scratch:].reshape((cap, N_SCRATCH)),
    )


def borrow(arr: np.ndarray) -> np.ndarray:
    """In numba: `arr` without its reference count (a null meminfo), and so every view taken of it.

    Each njit function that receives an array counts a reference to it (an atomic add) and releases
    it on return; the state's views all share the buffer's one counter, and these counts took ~40 %
    of the kernel's time (docs/engine.md, "What the speed-ups found"). A borrowed array must not
    outlive its owner: the kernels borrow their arguments for the call and return no array.
    In Python (NUMBA_DISABLE_JIT=1, for stepping through the kernels) it is `arr` itself."""
    return arr


@intrinsic
def _without_meminfo(typingctx, arr):
    def codegen(context, builder, sig, args):
        ary = context.make_array(sig.args[0])(context, builder, value=args[0])
        ary.meminfo = cgutils.get_null_value(ary.meminfo.type)
        return ary._getvalue()

    return arr(arr), codegen


@overload(borrow)
def _borrow_jit(arr):
    return lambda arr: _without_meminfo(arr)


def ring_capacity(sample_rate_hz: float, seconds: float) -> int:
    """Power of two holding `seconds` at the highest rate we accept (x1.25 for rate drift)."""
    need = int(np.ceil(seconds * max(sample_rate_hz, 50.0) * 1.25))
    return 1 << max(need - 1, 1).bit_length()


def new_state(sample_rate_hz: float, ring_seconds: float) -> np.ndarray:
    """A fresh flat state buffer; `views(buf)` names its parts."""
    buf = np.zeros(O_RING + ring_capacity(sample_rate_hz, ring_seconds) * (N_R + N_SCRATCH))
    st = views(buf)
    st.f[:] = F_INIT
    st.f[SCALAR_INDEX["DT_EMA"]] = 1.0 / sample_rate_hz
    st.q[0] = st.qt[0] = 1.0
    st.up_stand[2] = st.tup_stand[2] = 1.0
    st.fwd[0] = st.tfwd[0] = 1.0
    return buf
