"""The Engine: owns the state, packs the settings, and turns kernel output into step rows.

    eng = Engine(sample_rate_hz=200.0)
    out = eng.process(t, acc, gyr)      # any block size >= 1; identical steps for any split
    out.steps, out.status

Live runs, replays, the demo, analyze and the benchmarks all drive this one class.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
from scipy.signal import butter

from imurun.core import jitcache
from imurun.core import state as S
from imurun.core.kernel import N_SIG, STEP_COLS, finish, process_block
from imurun.core.metrics import N_M
from imurun.core.output import (
    SIDES_ALTERNATE_ONLY,
    SIGNAL_DTYPE,
    STEP_DTYPE,
    EngineOutput,
    Flag,
    FlagKind,
    Status,
)

# before any kernel is loaded from the cache: it may hold code of sources edited since. None when
# NUMBA_DISABLE_JIT=1 runs the kernels as Python (to step through a rule): nothing is compiled
_CACHE = Path(process_block.stats.cache_path) if hasattr(process_block, "stats") else None
if _CACHE is not None:
    jitcache.drop_if_stale(_CACHE, Path(__file__).parent)

# The kernel writes rows (t, side, kind, N_M metrics in STEP_DTYPE's order); these dtypes lay the
# same bytes out as STEP_DTYPE / SIGNAL_DTYPE with the float columns as one field each, so a block
# converts in four assignments, not one per column (a call that closes one step: 18 -> 3 us).
_STEP_PACKED = np.dtype([("t", "f8"), ("side", "U1"), ("activity", "U4"), ("m", "f8", (N_M,))])
_SIGNAL_PACKED = np.dtype([("t", "f8"), ("v", "f4", (len(SIGNAL_DTYPE) - 1,))])
assert _STEP_PACKED.itemsize == STEP_DTYPE.itemsize and len(STEP_DTYPE) == 3 + N_M
assert all(STEP_DTYPE[k] == np.dtype("f8") for k in range(3, 3 + N_M))
assert _SIGNAL_PACKED.itemsize == SIGNAL_DTYPE.itemsize
assert all(SIGNAL_DTYPE[k] == np.dtype("f4") for k in range(1, len(SIGNAL_DTYPE)))
LOW, NOTE = FlagKind.LOW_CONFIDENCE, FlagKind.NOTE
# the status's fixed flags, built once: a Status is built per read (us count on a live run)
_NO_STANDING = Flag(LOW, "no standing calibration (a change from the early-gait posture)")
_LUMBAR_PROXY = Flag(FlagKind.PROXY, "anterior pelvic tilt (no trunk sensor)")
_NO_TRUNK = Flag(FlagKind.UNAVAILABLE, "no trunk sensor")
_WALK_CONTACT = Flag(NOTE, "not estimated for walking steps (NaN); running only")
_TRUNK_NO_GYRO = Flag(LOW, "trunk sensor without gyroscope (mean posture)")
_NO_GYRO = Flag(FlagKind.UNAVAILABLE, "no gyroscope (accelerometer only)")
_SIDE_NO_GYRO = Flag(LOW, "no gyroscope: sides from sideways acceleration alone, which can name the "
                      "wrong side for a whole walk")
_TILT_NO_GYRO = Flag(LOW, "no gyroscope (mean posture from the accelerometer)")
_SIDES = np.array(["L", "R"])
_KINDS = np.array(["walk", "run"])


@dataclass(frozen=True)
class EngineConfig:
    """Settings of the engine; every threshold the kernels use, with its unit."""

    kp_still: float = 2.0  # 1/s, accelerometer trust while still
    kp_gait: float = 0.2  # 1/s, in gait
    kp_roll_gait: float = 0.5  # 1/s, in gait about the forward axis once it is known (curves)
    ki: float = 0.01  # 1/s^2, gyro-bias integral gain in gait
    ki_uncalibrated: float = 0.1  # 1/s^2, the same until a standing calibration gave the bias
    tau_corr_gait: float = 1.0  # s, earth-frame low-pass of the attitude error in gait
    still_gyr_rad_s: float = 0.08
    still_acc_ms2: float = 0.4
    still_min_s: float = 0.3  # still this long = the sensor is still (the status activity too)
    standing_s: float = 2.0  # still this long = a standing calibration
    gyro_only_s: float = 8.0  # gyro-only attitude this long after setting off from a still period
    acc_only_s: float = 0.5  # accelerometer without gyroscope this long = a sensor without one
    # vertical specific force below which the runner is airborne: as high as walking allows (the
    # 11 real walkers' sacra never stay under 0.4 g for 20 ms, but for a stumble and a drop that
    # reach 0 g), so that a softer runner's shallower flights count (the real runner x 0.8:
    # F1@50 0.867 at 0.3 g, 0.962 at 0.4; docs/engine.md)
    flight_sf_g: float = 0.4
    min_flight_s: float = 0.02  # this long below flight_sf_g is a flight phase (running)
    run_mode_s: float = 1.0  # a flight phase within this time = running mode
    contact_sf_g: float = 0.5  # its crossing marks landing and toe-off edges
    toe_off_min_s: float = 0.08  # running: falling crossings this soon after the IC are impact ringing
    # peak drop and tilt are taken on the attitude low-passed at this (zero phase), which keeps the
    # pelvis' own motion and drops a mount's ringing after each landing. Kinematics are low-passed
    # at ~6 Hz for walking (Winter 2009, Biomechanics and Motor Control of Human Movement) and
    # higher for running's faster motion; 6 / 8 / 10 Hz read the simulator's clean runs' drop to
    # 0.19 / 0.18 / 0.18 deg RMSE, its loose mount's worst seed (of 10) to 0.53 / 0.54 / 0.58
    angle_lp_hz: float = 8.0
    walk_lp_hz: float = 4.0  # walking: low-pass whose maxima are the steps (one per step up to 240 spm)
    # walking at this cadence uses the walking times and low-pass above as they are; at another
    # they scale with the step time (a slow walk is to a first approximation a stretched one; the
    # dev sets' median walking cadence is ~108 spm). 0: fixed
    walk_ref_spm: float = 105.0
    walk_peak_sf_g: float = 1.03  # walking: smallest low-passed loading peak that counts as a step
    walk_ic_window_s: float = 0.25  # walking: the IC is the steepest rise this long before that peak
    walk_fall: float = 0.3  # walking: a peak is a step once the low-pass fell by this share of the peaks
    # walking: a peak above 1.6 g or within run_mode_s of a flight waits this long (a flight after
    # it makes it a push-off into running)
    walk_confirm_s: float = 0.15
    walk_ic_offset_s: float = 0.02  # walking: IC precedes the steepest loading rise by this much
    # walking, once forward is known: the IC moves to the forward acceleration's peak within 0.1 s,
    # each ms away costing 1/this of its typical size (0: no move) ...
    walk_ic_fwd_tau_s: float = 0.1
    # ... and each ms after the loading IC this many times as much: the heel strike comes before
    # the loading it causes
    walk_ic_fwd_late: float = 3.0
    walk_side_from_s: float = 0.25  # walking sides: the yaw rate from this long before the IC ...
    walk_side_to_s: float = 0.05  # ... to this long after it
    walk_side_roll: float = 0.5  # walking sides: weight of the pelvic roll rate, beside the yaw rate
    walk_side_sway: float = 1.0  # ... and of the sideways sway before the IC
    # ... and of the mean sideways acceleration over the step the IC closes (away from the leg that
    # opened it); without a gyroscope, a walk's only side evidence
    walk_side_step: float = 1.0
    min_step_s: float = 0.25  # 240 spm, walking
    # walking: a step shorter than this share of the walk's median step time (at most half of its
    # rhythm's before three step times), and than kernel.WALK_BUMP_MAX_S, is a second bump of the
    # same contact (turns, shuffles: ~200 spm steps inside 110 spm walks)
    walk_min_step_ratio: float = 0.6
    # the shortest running step, 300 spm (the world's best 100 m sprinters average under 5 steps/s:
    # Salo et al. 2011, Med Sci Sports Exerc 43:1055), at a run's rhythm that fast; up to 0.22 s at
    # a slower one (icd.shortest_run_step)
    min_run_step_s: float = 0.2
    max_step_s: float = 1.6  # 37.5 spm
    bout_end_wait_s: float = 0.2  # beyond max_step_s: a walking IC is confirmed up to ~0.18 s after it
    weight_shift_ratio: float = 2.0  # a bout's second IC this much higher in loading: the first was a shift
    max_gap_s: float = 0.25  # longer gaps break the step sequence
    sat_acc_ms2: float = 15.9 * 9.80665
    sat_gyr_rad_s: float = np.deg2rad(1990.0)
    forward_min_s: float = 3.0  # gait needed before the forward axis is trusted
    forward_ratio: float = 1.15  # eigenvalue ratio of the horizontal covariance that defines a forward axis
    # a running step waits for the forward axis at most this long after its IC, then it is measured
    # on the provisional axis of the gait so far (flagged `alignment`): the first running strides
    # reach the coach and the dashboard within a second, not after forward_min_s
    max_hold_s: float = 0.6
    # an established forward axis is reversed when the recent steps' sign votes average below -this
    # (agreeing walks average +0.5 or more; the EMA over 4 s wanders +-0.25 around that)
    forward_flip_vote: float = 0.5
    # ... at every IC for this long: a few turning or shuffling steps vote against it for a second or
    # two (the real Test11 at 50 Hz: one dip below -0.5 reversed forward, and the sides of 30 s with it)
    forward_flip_s: float = 3.0
    # walking sides are flagged low confidence while the yaw rate and roll + sway agree on fewer
    # than this share of the recent steps (most real walkers 0.64-0.9; s06 0.35, s08 0.45)
    side_agree_min: float = 0.5
    # no standing calibration: the baseline of tilt and drop is the mean gait posture (its last
    # ~10 s) when this much gait has passed, then frozen, so that tilt is the change from the
    # early-run posture. Not sooner: the gyro bias is unknown without standing, and the attitude
    # takes about a minute to learn it (simulated no-standing runs: right-minus-left drop off by
    # 2.0 deg on average with 20 s, 1.2 with 45 s, 0.4 with 60 s; 0.1-0.5 with ideal sensors)
    posture_s: float = 60.0
    mount_moved_deg: float = 8.0  # jump of the mean gait posture that means the sensor slipped
    # ... if it stays this long: a turn, a slope or getting up from a chair do not (on the real daily
    # life of HA_001, 1.5 s counted 8 slips)
    slip_persist_s: float = 3.0
    slip_follow_s: float = 10.0  # after a slip the baseline follows the posture while forward settles
    slip_reference_s: float = 15.0  # gait before the mean gait posture becomes the slip reference
    activity_hold_s: float = 2.0  # the status activity stays walk/run this long after the last IC
    ring_s: float = 12.0  # history kept for steps waiting for alignment


def note_if_compiling() -> bool:
    """Tell a person at a terminal, once per process, that the kernels are about to compile: a
    first run after installing or updating is otherwise silent for 20-40 s. Returns True if told."""
    if note_if_compiling.done:
        return False
    note_if_compiling.done = True  # asked once: later engines in this process load what is compiled
    if not sys.stderr.isatty() or _CACHE is None or not jitcache.is_cold(_CACHE):
        return False
    print("imurun: compiling the gait engine for this machine (first run after an install or update, "
          "20-40 s; cached after that)", file=sys.stderr, flush=True)
    return True


note_if_compiling.done = False


class Engine:
    """Real-time gait engine for one pelvis sensor (and optionally a trunk sensor)."""

    def __init__(
        self,
        sample_rate_hz: float = 200.0,
        config: EngineConfig | None = None,
        emit_signals: bool = False,
    ):
        if not 10.0 <= sample_rate_hz <= 2000.0:
            raise ValueError(f"sample_rate_hz must be within 10..2000 Hz, got {sample_rate_hz}")
        note_if_compiling()
        self.sample_rate_hz = float(sample_rate_hz)
        self.config = config or EngineConfig()
        self.emit_signals = emit_signals
        self._buf = S.new_state(self.sample_rate_hz, self.config.ring_s)
        self.state = S.views(self._buf)  # named views of the buffer, for inspection
        self._c = _pack(self.sample_rate_hz, self.config)
        self._empty3 = np.empty((0, 3))
        self._sig0 = np.empty((0, N_SIG))
        self._rows = np.empty((_rows_needed(_ROWS_REUSE_N), STEP_COLS))  # for small blocks

    def process(
        self,
        t: np.ndarray,
        acc: np.ndarray,
        gyr: np.ndarray,
        trunk_acc: np.ndarray | None = None,
        trunk_gyr: np.ndarray | None = None,
    ) -> EngineOutput:
        """Feed samples (session seconds, m/s^2, rad/s, sensor frame); get the steps they closed."""
        t = _samples(t, (-1,))
        acc = _samples(acc, (-1, 3))
        gyr = _samples(gyr, (-1, 3))
        n = t.shape[0]
        if acc.shape != (n, 3) or gyr.shape != (n, 3):
            raise ValueError(f"acc and gyr must be ({n}, 3) like t; got {acc.shape} and {gyr.shape}")
        if trunk_acc is not None:
            if trunk_gyr is None:
                raise ValueError("trunk_acc given without trunk_gyr")
            tacc = _samples(trunk_acc, (-1, 3))
            tgyr = _samples(trunk_gyr, (-1, 3))
            if tacc.shape != (n, 3) or tgyr.shape != (n, 3):
                raise ValueError("trunk samples must be on the pelvis sensor's timestamps")
        else:
            tacc = tgyr = self._empty3
        rows = self._rows if n <= _ROWS_REUSE_N else np.empty((_rows_needed(n), STEP_COLS))
        sig = np.empty((n, N_SIG)) if self.emit_signals else self._sig0
        k = process_block(self._buf, self._c, t, acc, gyr, tacc, tgyr, rows, sig)
        return EngineOutput(
            _to_steps(rows, k),
            partial(_status, self.state.f.copy(), self.config),  # built when read
            _to_signals(sig) if self.emit_signals else None,
        )

    def finish(self) -> EngineOutput:
        """End of the stream: the rows still owed, i.e. the last IC's step (its interval unknown:
        NaN step time and cadence) and the steps held for the forward axis (flagged `alignment`).
        Offline analysis calls this so that a short clip loses no step; the engine stays usable."""
        rows = np.empty((_rows_needed(0), STEP_COLS))
        k = finish(self._buf, self._c, rows)
        return EngineOutput(_to_steps(rows, k), partial(_status, self.state.f.copy(), self.config),
                            np.zeros(0, SIGNAL_DTYPE) if self.emit_signals else None)

    def recalibrate(self) -> None:
        """Take the standing baseline again from the next still period of `standing_s` (the runner
        stands tall and still). Until then the current baseline stays in use."""
        f = self.state.f
        f[S.STILL_CAL_DONE] = 0.0
        f[S.CAL_STAND_N] = 0.0
        f[S.STILL_TIME] = 0.0  # a stillness already under way counts from now
        f[S.REF_UP : S.REF_UP + 3] = 0.0  # the slip check takes a new posture reference
        f[S.RECAL] = 1.0

    def status(self) -> Status:
        """The status now (also `out.status` of the last `process` call)."""
        return _status(self.state.f, self.config)


def _pack(rate: float, cfg: EngineConfig) -> np.ndarray:
    """The settings vector of the kernels: each slot of state.SETTINGS from its EngineConfig field;
    the sample rate and the angles' low-pass biquad (angle_lp_hz) are computed here."""
    c = np.zeros(S.N_C)
    for setting in S.SETTINGS:
        if setting.size == 1 and setting.field:
            c[S.SETTING_INDEX[setting.names]] = getattr(cfg, setting.field)
    c[S.C_RATE] = rate
    every = max(1, int(rate // 50))  # ~50 Hz is plenty for an 8 Hz low-pass (and its maxima are
    # interpolated): at 200 Hz a quarter of the work
    c[S.C_ALP : S.C_ALP + 5] = _biquad(cfg.angle_lp_hz, rate / every)
    c[S.C_ALP + 5] = every
    return c


def _biquad(hz: float, rate: float) -> tuple[float, ...]:
    """(b0, b1, b2, a1, a2) of a 2nd-order Butterworth low-pass at hz (at most 0.4 x rate), a0 = 1."""
    b, a = butter(2, min(hz, 0.4 * rate), fs=rate)
    return b[0], b[1], b[2], a[1], a[2]


def _status(state_f: np.ndarray, cfg: EngineConfig) -> Status:
    """What the scalar state `f` says, in words and counts."""
    f = state_f.tolist()  # Python floats: indexing numpy scalars one by one costs more
    still = f[S.STILL_TIME] >= cfg.still_min_s
    in_gait = math.isfinite(f[S.LAST_IC_T]) and f[S.T_PREV] - f[S.LAST_IC_T] < cfg.activity_hold_s
    activity = "still" if still or not in_gait else ("run" if f[S.RUN_EVID] >= 0.5 else "walk")
    flags: dict[str, Flag] = {}
    cal = ("none", "standing", "gait")[int(f[S.CAL_STATE])]
    if cal == "gait":
        flags["tilt_deg"] = flags["pelvic_drop_deg"] = _NO_STANDING
    if f[S.TRUNK] != 1.0:
        flags["lumbar_ext_deg"] = _LUMBAR_PROXY
        flags["trunk_lean_deg"] = _NO_TRUNK
    flags["contact_time_s"] = _WALK_CONTACT
    if f[S.N_FORCED] > 0:
        flags["alignment"] = Flag(NOTE, f"{int(f[S.N_FORCED])} steps measured on a provisional forward "
                                  "axis (emitted before it was established)")
    if f[S.RECAL] == 1.0:
        flags["calibration"] = Flag(NOTE, f"waiting for {cfg.standing_s:g} s of standing still")
    if f[S.TRUNK] == 1.0 and f[S.TRUNK_NO_GYRO] == 1.0:
        flags["trunk_lean_deg"] = flags["lumbar_ext_deg"] = _TRUNK_NO_GYRO
    if f[S.ACC_ONLY] == 1.0:
        flags["pelvic_drop_deg"] = flags["tilt_peak_deg"] = flags["rotation_range_deg"] = _NO_GYRO
        # a sensor without the sideways axis never gives sway evidence (kernel.SWAY_FLOOR)
        no_sway = f[S.FWD_READY] == 1.0 and f[S.SWAY_AMP] == 0.0 and f[S.STEP_SWAY_AMP] == 0.0
        flags["side"] = SIDES_ALTERNATE_ONLY if no_sway else _SIDE_NO_GYRO
        flags["tilt_deg"] = _TILT_NO_GYRO
    if f[S.ACC_ONLY] != 1.0 and f[S.SIDE_AGREE] < cfg.side_agree_min:
        flags["side"] = Flag(LOW, f"yaw rate and pelvic roll + sideways acceleration name the same side "
                             f"on only {100 * f[S.SIDE_AGREE]:.0f} % of the recent walking steps")
    if f[S.N_OPEN_END] > 0:
        flags["step_time_s"] = flags["cadence_spm"] = Flag(
            NOTE, f"NaN for the {int(f[S.N_OPEN_END])} steps that ended a bout (no next IC: interval "
            "unknown)")
    if f[S.N_MOUNT] > 0:
        # the gait posture moved in the sensor frame and stayed: a slipped sensor and a posture held
        # for seconds look alike (HA_001's daily life: docs/engine.md, Known limits)
        flags["mount"] = Flag(NOTE, f"sensor slipped or posture changed {int(f[S.N_MOUNT])}x: "
                                    "re-levelled on gait")
    if f[S.N_FWD_FLIPS] > 0:
        flags["forward"] = Flag(NOTE, f"forward axis reversed {int(f[S.N_FWD_FLIPS])}x by the steps' votes: "
                                "drop, tilt and braking of the steps before had the wrong sign")
    return Status(
        t=f[S.T_PREV] if math.isfinite(f[S.T_PREV]) else 0.0,
        calibration=cal,
        activity=activity,
        cadence_spm=f[S.CADENCE] if activity != "still" else 0.0,
        sample_rate_hz=1.0 / f[S.DT_EMA],
        samples=int(f[S.N_SAMPLES]),
        steps=int(f[S.N_STEPS]),
        last_ic_t=f[S.LAST_IC_T],
        last_ic_side=("L", "R")[int(f[S.LAST_IC_SIDE])] if f[S.LAST_IC_SIDE] >= 0 else "",
        gaps=int(f[S.N_GAPS]),
        gap_time_s=f[S.GAP_TIME],
        lost_samples=int(f[S.N_LOST]),
        nan_samples=int(f[S.N_NAN]),
        saturated_samples=int(f[S.N_SAT]),
        rate_changes=int(f[S.N_RATE_CHANGES]),
        mount_changes=int(f[S.N_MOUNT]),
        posture_moving=math.isfinite(f[S.SLIP_T]) or f[S.T_PREV] < f[S.MOUNT_FOLLOW_T],
        trunk=bool(f[S.TRUNK]),
        bout_end_steps=int(f[S.N_OPEN_END]),
        flags=flags,
    )


_ROWS_REUSE_N = 4096  # blocks up to this many samples write their step rows into one buffer


def _rows_needed(n: int) -> int:
    # an IC needs >= min_step_s (0.25 s), i.e. >= 4 samples at any rate we accept
    return n // 4 + S.MAX_PENDING + 2


_NO_STEPS = np.zeros(0, dtype=STEP_DTYPE)  # most calls close no step; zero rows cannot be altered


def _samples(x, shape: tuple[int, ...]) -> np.ndarray:
    """x as a C-contiguous float64 array; (3,) or (n, 1) inputs are reshaped to `shape`."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    return x if x.ndim == len(shape) else x.reshape(shape)


def _to_steps(rows: np.ndarray, k: int) -> np.ndarray:
    if k == 0:
        return _NO_STEPS
    rows = rows[:k]
    out = np.empty(k, dtype=_STEP_PACKED)
    out["t"] = rows[:, 0]
    out["side"] = _SIDES[rows[:, 1].astype(np.intp)]
    out["activity"] = _KINDS[rows[:, 2].astype(np.intp)]
    out["m"] = rows[:, 3:]
    return out.view(STEP_DTYPE)


def _to_signals(sig: np.ndarray) -> np.ndarray:
    out = np.empty(sig.shape[0], dtype=_SIGNAL_PACKED)
    out["t"] = sig[:, 0]
    out["v"] = sig[:, 1:]
    return out.view(SIGNAL_DTYPE)
