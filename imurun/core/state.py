"""The engine's state as explicit data: one flat float64 buffer, named by `views` as a tuple of
fixed-size numpy arrays.

Like scipy.signal's `zi`, everything the kernels remember between samples lives here and nowhere
else, so a session can be processed in blocks of any size with identical results, and the memory
footprint is fixed when the engine is built (no growth with session length).

Scalars live in `f` (float64) at the indices below; numba treats these module constants as
compile-time constants.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

# LLVM fast-math flags of every kernel: divisions may use reciprocals and a*b+c may fuse into one
# FMA. Not "nnan"/"ninf" (the kernels test isfinite on raw samples) nor "reassoc" (sums keep
# their order).
FASTMATH = {"arcp", "contract"}

# --- scalar state f[...] -------------------------------------------------------------------
T_PREV = 0  # last valid sample time
N_SAMPLES = 1
DT_EMA = 2  # smoothed sample interval (seen rate = 1 / DT_EMA)
GAP_PENDING = 3  # a NaN row or gap happened since the last valid sample
N_GAPS = 4
GAP_TIME = 5
N_LOST = 6
N_NAN = 7
N_SAT = 8
N_RATE_CHANGES = 9
RATE_OFF = 10  # 1 while the seen rate is off nominal by > 10 %
STILL_W = 11  # low-passed |gyro - bias| (rad/s)
STILL_A = 12  # low-passed | |acc| - g | (m/s^2)
STILL_TIME = 13  # how long the sensor has been still, s
CAL_STATE = 14  # 0 none, 1 standing, 2 gait
CAL_STAND_N = 15  # samples averaged into the standing up vector
AHRS_INIT = 16
TO_T = 17  # running: toe-off of the step in progress (NaN until seen)
WALK_PEAK = 18  # walking: height of the loading peak of the IC just found (g)
FWD_READY = 19  # forward axis and its sign are established
ROLL_AMP = 20  # EMA of |pelvic roll rate evidence| at walking ICs (side confidence scale)
FWD_TIME = 21  # gait time accumulated into the forward estimate
AV_PREV = 22  # previous vertical specific force (g), for crossings and slopes
FLIGHT_TIME = 23  # time spent below the flight threshold in the current swing
ARMED = 24  # 1 after a flight phase: the next rise is an IC (running)
LAST_IC_T = 25
LAST_IC_SIDE = 26  # 0 left, 1 right, -1 none
LAST_IC_IDX = 27  # ring index (absolute sample counter) of the last IC
LAST_IC_PEAK = 28  # the last IC's walking loading peak (g) while it opened no step, else +inf
PEAK_V = 30  # walking: running maximum of the smoothed vertical signal since the last IC
PEAK_T = 31
AV_LP = 33  # smoothed vertical specific force for walking peaks (g)
LAND_T = 36  # running: the landing's crossing of C_CROSS_SF, waiting one sample for its tangent
LAND_SLOPE = 37  # ... and the slope of the two samples across it (g/s); NaN when none waits
CADENCE = 38  # cadence of the bout: 60 / median of its last STEP_HIST_N step times (same kind), spm
N_STEPS = 39
N_PENDING = 40
MIN_SF = 41  # minimum vertical specific force since the last IC (g): flight present?
N_MOUNT = 42
GAIT_UP_X = 43  # long-term mean of the up vector during gait (sensor frame)
GAIT_UP_Y = 44
GAIT_UP_Z = 45
GAIT_UP_N = 46
N_FWD_FLIPS = 47  # times the steps' sign votes reversed an established forward axis
TRUNK = 48  # 1 when trunk samples were seen
STILL_CAL_DONE = 49  # standing calibration frozen
RUN_EVID = 50  # EMA of step kind (1 run, 0 walk): the status activity
LAST_FLIGHT_T = 51  # last time a flight phase was seen (running mode while recent)
MOUNT_FOLLOW_T = 52  # after a slip, the baseline follows the posture until this time
YAW_AMP = 53  # EMA of |side signal| at ICs (confidence scale)
ROT = 54  # integrated pelvic yaw (signals only), deg
ROT_BASE = 55  # its slow trend = running heading
N_FORCED = 56  # steps emitted before the alignment was ready (low confidence)
GAP_RUN_N = 57  # consecutive gap-sized intervals of similar length: a lower rate, not gaps
GAP_RUN_DT = 58
GAP_RUN_LOST = 59
GAP_RUN_TIME = 60
RHYTHM = 103  # the recent step rhythm, spm (EMA of 60 / step time): for timing a step ahead or a
#               stride back; the cadence a runner is told is CADENCE, which a missed IC cannot move
SIDE_E = 61  # parity-filtered evidence that the last IC was a right foot (> 0) or left (< 0)
GRAV_N = 62  # accelerometer only: samples averaged into GRAV_X..Z
WLP_Y = 29  # walking: sf low-passed at walk_lp_hz (g), whose maxima are the candidate steps
WLP_Z1 = 32  # ... and the two states of its biquad (transposed direct form II)
WLP_Z2 = 34
RECAL = 35  # 1 from Engine.recalibrate() until the new standing baseline is taken
LAST_IC_OPEN = 63  # 1 while the last IC closed a step and has no next IC yet (its kind: LAST_IC_RUN)
N_OPEN_END = 64  # steps emitted without a next IC (a bout's last step): interval unknown
TRUNK_NO_GYRO = 65  # 1 while the trunk sensor streams no gyroscope (NaN)
PREV_YAW_MIN = 66  # yaw path of the previous emitted step (relative to its IC), deg
PREV_YAW_MAX = 67
PREV_YAW_END = 68
PREV_STEP_I1 = 69  # its closing sample index (-1: none): the stride continues only if it is ours
TGAIT_UP_X = 70  # trunk: long-term mean of its up vector during gait (no-standing calibration)
TGAIT_UP_Y = 71
TGAIT_UP_Z = 72
SNAP_T = 73  # time of the last bias snapshot while still
SNAP_N = 74  # snapshots taken in the current still period
W_PREV = 75  # previous valid gyro sample (3 slots): bridges gaps with the mean rate
MOVE_T = 78  # when the sensor last started moving after a still period with a learned bias
BIAS_N = 79  # samples averaged into bias_run in the current still period
WAS_STILL = 80  # the previous sample was still
STILL_LEN = 81  # duration of the current/last still period, s
REF_UP = 82  # (3 slots) reference gait-mean up for slip detection (0,0,0: not yet taken)
NO_GYRO_N = 85  # consecutive samples with an accelerometer reading and no gyroscope (NaN)
ACC_ONLY = 86  # 1 while the stream has had no gyroscope for ACC_ONLY_S: accelerometer-only mode
SWAY_AMP = 87  # EMA of |sideways acceleration evidence| at ICs (accelerometer-only sides)
WPEAK_REF = 88  # walking: EMA of the low-passed loading peaks of the ICs found (g above 1 g)
GRAV_X = 89  # accelerometer only: mean acceleration (gravity), sensor frame, m/s^2
GRAV_Y = 90
GRAV_Z = 91
STEP_HIST = 92  # (STEP_HIST_N slots) the bout's last step times, s, a ring
STEP_HIST_K = 100  # step times filed into it since the bout or the activity began
LAST_IC_RUN = 101  # 1 when the last IC was a running landing (after a flight)
LAST_STEP_KIND = 102  # kind of the last step filed (0 walk, 1 run)
FAST_UP = 104  # (3 slots) the up vector during gait averaged over seconds (sensor frame): slip check
SLIP_T = 107  # since when that posture has been beyond the slip threshold (NaN: it is not)
SLIP_OFF = 108  # (2 slots) standing up relative to the gait posture before a slip: along forward, left
N_F = 110
STEP_HIST_N = 8
ACC_ONLY_S = 0.5  # s of accelerometer without gyroscope that make a sensor without one
BIAS_SNAPS = 3  # snapshots 0.25 s apart: the bias used lags the stillness by >= 0.5 s

# --- settings c[...] (EngineConfig packed by engine.py) ----------------------------------------
C_RATE = 0  # nominal sample rate, Hz
C_KP_STILL = 1  # AHRS gains: accelerometer correction (1/s) while still / in gait
C_KP_GAIT = 2
C_KI = 3  # gyro-bias integral gain (1/s^2)
C_TAU_CORR_GAIT = 4  # low-pass on the earth-frame correction in gait, s
C_STILL_GYR = 5  # rad/s: below this (smoothed) the sensor may be still
C_STILL_ACC = 6  # m/s^2: | |a| - g | below this may be still
C_STAND_S = 7  # stillness needed for a standing calibration, s
C_FLIGHT_SF = 8  # vertical specific force (g) below which the runner is airborne
C_CROSS_SF = 9  # level (g) whose crossing marks a contact edge
C_WALK_PEAK_SF = 10  # walking: minimum peak of vertical specific force (g)
C_WALK_IC_OFFSET = 11  # walking: IC precedes the loading peak by this much, s
C_MIN_STEP = 12  # plausible step interval, s
C_MAX_STEP = 13
C_MAX_GAP = 14  # gaps longer than this break the step sequence, s
C_SAT_ACC = 15  # saturation limits, m/s^2 and rad/s
C_SAT_GYR = 16
C_FWD_MIN_S = 17  # gait time before the forward axis is trusted, s
C_MOUNT_DEG = 18  # gait-mean up this far from the calibrated up = the sensor moved
C_WLP = 19  # (5 slots) walking low-pass biquad b0, b1, b2, a1, a2 (a0 = 1)
C_WALK_IC_WIN = 24  # walking: the IC is the steepest rise within this long before the low-passed peak, s
C_MIN_FLIGHT = 25  # running: time below C_FLIGHT_SF that makes a flight phase, s
C_MIN_RUN_STEP = 26  # running: shortest step after a flight phase, s (walking: C_MIN_STEP)
C_WALK_FALL = 27  # walking: a low-passed peak is a step once sf fell by this share of the walk's peaks
C_SIDE_FROM = 28  # walking sides: the yaw rate from this long before an IC (s) ...
C_SIDE_TO = 29  # ... to this long after it (s)
C_SIDE_ROLL = 30  # walking sides: weight of the pelvic roll rate in early loading, beside the yaw rate
C_SIDE_SWAY = 31  # ... and of the sideways sway before the IC
C_POSTURE_S = 32  # no standing calibration: gait time over which the baseline posture is taken, s
N_C = 33

# --- ring buffer channels (per sample) -------------------------------------------------------
R_T = 0
R_SF = 1  # vertical specific force, g (1 at rest)
R_AX, R_AY, R_AZ = 2, 3, 4  # linear (gravity-free) acceleration, sensor frame, m/s^2
R_UX, R_UY, R_UZ = 5, 6, 7  # up direction in the sensor frame (AHRS)
R_WX, R_WY, R_WZ = 8, 9, 10  # bias-corrected angular velocity, sensor frame, rad/s
R_TUX, R_TUY, R_TUZ = 11, 12, 13  # trunk: up direction in the trunk sensor frame
R_TAX, R_TAY, R_TAZ = 14, 15, 16  # trunk: linear acceleration in the trunk sensor frame
R_DSF = 17  # slope of the lightly smoothed sf (g/s): where a walking IC's loading rises steepest
N_R = 18

# --- closed steps waiting for their metrics (the alignment may not be ready yet) ---------------
# IC time, side (0 L, 1 R), kind (0 walk, 1 run), next IC time (NaN: a bout's last step, whose
# metrics cover one typical step after its IC), toe-off time (NaN unknown), absolute sample indices
# of this IC and of the next (or of the end of that typical step)
P_T, P_SIDE, P_KIND, P_T1, P_TO, P_I0, P_I1 = 0, 1, 2, 3, 4, 5, 6
N_P = 7
MAX_PENDING = 64


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


N_SCRATCH = 4
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


def ring_capacity(sample_rate_hz: float, seconds: float) -> int:
    """Power of two holding `seconds` at the highest rate we accept (x1.25 for rate drift)."""
    need = int(np.ceil(seconds * max(sample_rate_hz, 50.0) * 1.25))
    return 1 << max(need - 1, 1).bit_length()


def new_state(sample_rate_hz: float, ring_seconds: float) -> np.ndarray:
    """A fresh flat state buffer; `views(buf)` names its parts."""
    buf = np.zeros(O_RING + ring_capacity(sample_rate_hz, ring_seconds) * (N_R + N_SCRATCH))
    st = views(buf)
    f = st.f
    f[T_PREV] = np.nan
    f[DT_EMA] = 1.0 / sample_rate_hz
    f[LAST_IC_T] = np.nan
    f[LAST_IC_SIDE] = -1.0
    f[LAST_IC_IDX] = -1.0
    f[LAST_IC_PEAK] = np.inf
    f[LAND_SLOPE] = np.nan
    f[PREV_STEP_I1] = -1.0
    f[TO_T] = np.nan
    f[SLIP_T] = np.nan
    f[MOVE_T] = -np.inf
    f[LAST_FLIGHT_T] = -np.inf
    st.q[0] = st.qt[0] = 1.0
    st.up_stand[2] = st.tup_stand[2] = 1.0
    st.fwd[0] = st.tfwd[0] = 1.0
    return buf
