"""Coaching rules: a pure function of the step stream with explicit state (like sosfilt with zi).

    cues, state = coach_steps(steps, t_emit, state, profile, status)

`steps` are the STEP_DTYPE rows an engine block delivered, `t_emit` the session time of that block
(when the steps became known) and `status` the engine's status after it (None: steps alone, e.g.
truth steps: standing calibration, nothing else known); every cue is timed at `t_emit`. The input
state is never modified, so the same inputs always give the same cues.

Each rule watches one metric over the last `window_steps` running steps (per side where the side
matters) and votes only on a full window of the current running bout. It turns active when at
least `min_steps` of them are beyond its threshold and their median is beyond it by more than the
median's standard error margin (MARGIN_Z, from the window's own spread; an angle's also holds the
engine's own error, ANGLE_ALLOWANCE_DEG, in quadrature), and turns inactive (fixed)
only when at least `min_steps` of them have been back inside a tighter limit (hysteresis) on each
of `window_steps` consecutive steps: the fix must hold for a full window. An active rule's cue is
given while the window's median is beyond the threshold by that margin, when its cooldown (same
cue and side) and the any-cue cooldown allow; the highest priority wins. A rule fixed after its
cue earns a short praise. Posture rules do not turn on while the engine sees the sensor's
posture moving or their window jumped from the one before (a sensor that moved on the body).
Only running steps are coached: a walking step, a sample gap that breaks the engine's step
sequence or a slip the engine confirms clears every pattern; standing delivers no steps; the first
running step after any of these (its interval began elsewhere) and a step time no running step
has are never counted. Without a standing calibration the tilt and lumbar extension rules judge
the change from the early-run posture. A hip cue names the hip only while the engine's status has
no side flag. State machine and thresholds: docs/coaching.md.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace

import numpy as np

from imurun.coach.cues import Cue
from imurun.coach.profile import RunnerProfile
from imurun.core.output import METRIC, Status

SIDE_NAMES = {"L": "Left", "R": "Right"}
# Longest step interval counted as running: 0.5 s = 120 spm, far below running cadences (about
# 150-200 spm; the simulator's overstrider runs 150) and above walking-length intervals (~0.55 s),
# so a running row spanning a walking step or a missed initial contact never reaches a window.
RUN_STEP_MAX_S = 0.5
# Angles relative to standing: without a standing calibration their rules judge the change from
# the early-run posture (Thresholds.tilt_change_deg).
POSTURE_METRICS = ("tilt_deg", "lumbar_ext_deg")
# A sample gap this long breaks the engine's step sequence (EngineConfig.max_gap_s), and its angles
# take seconds to recover after one: the windows start again, as after walking.
GAP_RESET_S = 0.25
_STEPS_ALONE = Status(calibration="standing")
# A window of n steps estimates the runner's typical value by its median, whose standard error is
# about sqrt(pi / 2) x sigma / sqrt(n) (a sample median's asymptotic variance is 1 / (4 n f(m)^2),
# pi sigma^2 / (2 n) for normal scatter); sigma is taken robustly from the window itself, 1.4826 x
# its median absolute deviation (consistent for normal data; Rousseeuw & Croux 1993, JASA
# 88:1273). A cue needs the median beyond its threshold by more than MARGIN_Z of those standard
# errors (one-sided 97.7 %): a window that reads beyond only within its own scatter does not cue.
# Why this and 7 of 10 steps, and what it does not catch: docs/coaching.md.
MARGIN_Z = 2.0
# The window's spread shows the runner's step-to-step scatter and the engine's noise, not the
# engine's systematic error: an angle relative to standing reads ~0.1 deg off as the pelvis tilts
# away from the standing posture (the accelerometer's bias and scale errors; docs/engine.md). An
# angle rule's margin adds it in quadrature: a window that reads beyond only by that does not cue.
ANGLE_ALLOWANCE_DEG = 0.1
# While the engine sees the gait posture off its reference (status.posture_moving: a sensor that
# moved on the body, 3 s before the engine confirms a slip and 10 s while its baseline follows),
# the pelvis angles may carry the move: their rules do not turn on. A simulated slip read tilt
# 3.5-14 deg off and cued "ease the arch" 2.5 s after it. A confirmed slip (status.mount_changes)
# starts every window again, as a gap does.
HELD_WHILE_MOVING = ("tilt_deg", "lumbar_ext_deg", "pelvic_drop_deg")
# ... and before the engine sees it: a posture metric whose window median moved this far from the
# window before (~4-7 s) is a sensor that moved, not a form that changed (fatigue drifts < 0.1 deg
# a window)
POSTURE_JUMP_DEG = 2.5


@dataclass(frozen=True)
class Rule:
    name: str
    cue: str
    metric: str  # STEP_DTYPE column
    label: str  # for the reason text
    unit: str
    above: bool  # True: too high is bad; False: too low is bad
    on: float  # beyond this = bad (cadence: computed from the target at run time)
    off: float  # inside this = good
    side: str = ""  # side named by the cue; "" = not side-specific
    stance: str = ""  # evaluate only steps landing on this foot ("" = all)


@functools.lru_cache(maxsize=8)
def rule_table(profile: RunnerProfile) -> tuple[Rule, ...]:
    th, h = profile.thresholds, profile.thresholds.hysteresis
    rules = [
        # Cadence limits depend on the target, known only once the baseline is measured.
        Rule("cadence", "quicker_steps", "cadence_spm", "cadence", "spm", False, math.nan, math.nan),
        Rule("braking", "quicker_steps", "braking_mps", "braking", "m/s", True, th.braking_mps,
             th.braking_mps * (1 - h)),
    ]
    # The pelvis drops on the swing side: landing on the left foot, the right hip drops.
    drop = METRIC["pelvic_drop_deg"]
    for side in ("R", "L"):
        rules.append(Rule(f"drop_{side}", "level_hips", "pelvic_drop_deg", "pelvic drop", "deg", True,
                          th.pelvic_drop_deg, th.pelvic_drop_deg * (1 - h), side, drop.landing_side(side)))
    rules += [
        Rule("tilt", "ease_arch", "tilt_deg", "anterior tilt", "deg", True,
             th.tilt_deg, th.tilt_deg * (1 - h)),
        Rule("lumbar_ext", "ease_arch", "lumbar_ext_deg", "lumbar extension", "deg", True,
             th.lumbar_ext_deg, th.lumbar_ext_deg * (1 - h)),
        Rule("trunk_lean", "lean_forward", "trunk_lean_deg", "trunk lean", "deg", False,
             th.trunk_lean_min_deg, th.trunk_lean_min_deg * (1 + h)),
    ]
    return tuple(rules)


@dataclass
class CoachState:
    run_start_t: float = math.nan  # IC time of the first running step
    started: bool = False  # start reminder given
    baseline: list[float] = field(default_factory=list)  # step times measured for a relative target
    target_spm: float = math.nan
    values: dict[str, list[float]] = field(default_factory=dict)  # rule -> last metric values
    older: dict[str, list[float]] = field(default_factory=dict)  # rule -> the window before those
    step_times: list[float] = field(default_factory=list)  # last 2 x window running step times
    active: dict[str, bool] = field(default_factory=dict)
    held: dict[str, int] = field(default_factory=dict)  # active rule -> consecutive steps its fix has held
    cued: dict[str, bool] = field(default_factory=dict)  # rule active and its cue given
    praise: dict[str, str] = field(default_factory=dict)  # rule fixed after its cue -> how, awaiting praise
    last_cue_t: dict[tuple[str, str], float] = field(default_factory=dict)  # (cue, side) -> t
    last_any_t: float = -math.inf
    running: bool = False  # the last step was a running step
    relative: bool = False  # no standing calibration: POSTURE_METRICS judged as change from posture_ref
    posture_start_t: float = math.nan  # IC time the early-run posture started to be taken
    posture: dict[str, list[float]] = field(default_factory=dict)  # metric -> early-run values so far
    posture_ref: dict[str, float] = field(default_factory=dict)  # metric -> early-run posture
    gap_time_s: float = 0.0  # the engine's status.gap_time_s when last seen
    mount_changes: int = 0  # the engine's status.mount_changes when last seen
    posture_moving: bool = False  # the engine's status.posture_moving when last seen

    def copy(self) -> CoachState:
        """An independent copy (every container new; copy.deepcopy is ~10x slower here)."""
        return replace(
            self,
            baseline=list(self.baseline),
            values={k: list(v) for k, v in self.values.items()},
            older={k: list(v) for k, v in self.older.items()},
            step_times=list(self.step_times),
            active=dict(self.active),
            held=dict(self.held),
            cued=dict(self.cued),
            praise=dict(self.praise),
            last_cue_t=dict(self.last_cue_t),
            posture={k: list(v) for k, v in self.posture.items()},
            posture_ref=dict(self.posture_ref),
        )


def coach_steps(
    steps: np.ndarray,
    t_emit: float,
    state: CoachState,
    profile: RunnerProfile,
    status: Status | None = None,
) -> tuple[list[Cue], CoachState]:
    """The cues these steps give and the new state. From the engine's status: its calibration
    (anything but "standing": tilt has no standing baseline), its sample gaps, and its activity:
    "run" comes seconds before the engine delivers the first running step, so the start reminder
    waits only for the engine's baseline (calibration not "none": no cue before the calibration
    outcome is said)."""
    status = _STEPS_ALONE if status is None else status
    start_now = status.activity == "run" and status.calibration != "none" and not state.started
    gap = status.gap_time_s - state.gap_time_s
    moved = status.mount_changes != state.mount_changes
    if len(steps) == 0 and not start_now and gap == 0 and not moved:
        return [], state
    state = state.copy()
    state.gap_time_s = status.gap_time_s
    state.mount_changes = status.mount_changes
    state.posture_moving = status.posture_moving
    if gap >= GAP_RESET_S or moved:
        _reset(state)
    _set_relative(state, status.calibration != "standing", profile)
    sides_sure = "side" not in status.flags
    cues: list[Cue] = []
    for step in steps:
        if step["activity"] != "run":
            _reset(state)
            continue
        if math.isnan(state.run_start_t):
            state.run_start_t = float(step["t"])
        # The first running step after walking (or the start) began in the other activity; a step
        # time beyond RUN_STEP_MAX_S is no running step's (a walking interval, a missed contact).
        if state.running and float(step["step_time_s"]) <= RUN_STEP_MAX_S:
            _update(state, step, t_emit, profile)
        state.running = True
        cue = _decide(state, t_emit, profile, sides_sure)
        if cue is not None:
            cues.append(cue)
            state.last_any_t = t_emit
            state.last_cue_t[(cue.cue, cue.side)] = t_emit
    if start_now and not state.started:
        state.started = True
        state.last_any_t = t_emit
        cues.append(_start_cue(t_emit, profile))
    return cues, state


def cadence_target(state: CoachState, profile: RunnerProfile) -> float:
    """Target cadence in spm, NaN while a relative target's baseline is still being measured."""
    return profile.cadence.target_spm or state.target_spm


def _reset(state: CoachState) -> None:
    """Not running: forget the patterns (new evidence is needed once running resumes)."""
    state.running = False
    state.values.clear()
    state.older.clear()
    state.step_times.clear()
    state.active.clear()
    state.held.clear()
    state.cued.clear()
    state.praise.clear()


def _set_relative(state: CoachState, relative: bool, profile: RunnerProfile) -> None:
    """Switch the posture rules between absolute (standing baseline) and change-from-early-run
    judgement; their windows hold values of the other kind, so they start again."""
    if relative == state.relative:
        return
    state.relative = relative
    state.posture_start_t = math.nan
    state.posture.clear()
    state.posture_ref.clear()
    for rule in rule_table(profile):
        if rule.metric in POSTURE_METRICS:
            for per_rule in (state.values, state.older, state.active, state.held, state.cued, state.praise):
                per_rule.pop(rule.name, None)


def rule_for(cue: Cue, profile: RunnerProfile) -> Rule | None:
    """The rule whose metric a cue named (cue.metric), None for the start reminder and praise."""
    return next((r for r in rule_table(profile)
                 if (r.cue, r.side, r.metric) == (cue.cue, cue.side, cue.metric)), None)


def _limits(rule: Rule, state: CoachState, profile: RunnerProfile) -> tuple[float, float]:
    if rule.name == "cadence":
        target, tol = cadence_target(state, profile), profile.cadence.tolerance_pct / 100
        # Fixed once back within half the tolerance: a band wider than the ~0.6 % scatter of the
        # 16-step cadence, so it does not flap between cue and praise.
        return target * (1 - tol), target * (1 - tol / 2)
    if state.relative and rule.metric in POSTURE_METRICS:
        th = profile.thresholds
        return th.tilt_change_deg, th.tilt_change_deg * (1 - th.hysteresis)
    return rule.on, rule.off


def _label(rule: Rule, state: CoachState) -> str:
    if state.relative and rule.metric in POSTURE_METRICS:
        return f"{rule.label} change from early-run posture"
    return rule.label


def _update(state: CoachState, step: np.void, t_emit: float, profile: RunnerProfile) -> None:
    t = float(step["t"])
    _measure_baseline(state, t - state.run_start_t, float(step["step_time_s"]), profile)
    if state.relative:
        _measure_posture(state, t, step, profile)
    n, k = profile.timing.window_steps, profile.timing.min_steps
    state.step_times.append(float(step["step_time_s"]))
    del state.step_times[: -2 * n]
    for rule in rule_table(profile):
        if rule.stance and step["side"] != rule.stance:
            continue
        if rule.name == "cadence":
            if len(state.step_times) < 2 * n:
                continue
            value = 60.0 * len(state.step_times) / sum(state.step_times)
        elif state.relative and rule.metric in POSTURE_METRICS:
            if rule.metric not in state.posture_ref:
                continue
            value = float(step[rule.metric]) - state.posture_ref[rule.metric]
        else:
            value = float(step[rule.metric])
        values = state.values.setdefault(rule.name, [])
        values.append(value)
        if len(values) > n:
            older = state.older.setdefault(rule.name, [])
            older += values[:-n]
            del older[:-n], values[:-n]
        if len(values) < n:  # vote only on a full window of this running bout
            continue
        on, off = _limits(rule, state, profile)
        bad, good = _count(values, on, off, rule.above)
        if not state.active.get(rule.name):
            if bad >= k and _clearly_beyond(rule, values, on) and not _waits(rule, state, n):
                state.active[rule.name] = True
                state.praise.pop(rule.name, None)  # relapsed before the praise was given
            continue
        held = state.held.get(rule.name, 0) + 1 if good >= k else 0
        state.held[rule.name] = held
        if held == n:  # fixed, and the fix has held for a full window
            state.active[rule.name] = False
            del state.held[rule.name]
            recently = t_emit - state.last_cue_t.get(("praise", rule.cue), -math.inf)
            if state.cued.pop(rule.name, False) and recently >= profile.timing.cue_cooldown_s:
                how = _describe(rule, _label(rule, state), values, good, off, "good")
                state.praise[rule.name] = f"{rule.cue} fixed: {how}"


def _measure_posture(state: CoachState, t: float, step: np.void, profile: RunnerProfile) -> None:
    """Early-run posture: median of each posture metric over the first posture_s of running."""
    if math.isnan(state.posture_start_t):
        state.posture_start_t = t
    if t - state.posture_start_t < profile.timing.posture_s:
        for metric in POSTURE_METRICS:
            if math.isfinite(step[metric]):
                state.posture.setdefault(metric, []).append(float(step[metric]))
    elif state.posture:
        state.posture_ref = {m: float(np.median(v)) for m, v in state.posture.items()}
        state.posture.clear()


def _measure_baseline(state: CoachState, run_time: float, step_time: float, profile: RunnerProfile) -> None:
    """Relative target: the step rate (60 x steps / their summed step times) over baseline_s of
    running after the quiet start: the same estimate the cadence rule judges its window by. (A
    median of per-step cadences read ~1 spm low at 50 Hz, where one step's time is coarse.)"""
    c = profile.cadence
    if c.target_spm or not math.isnan(state.target_spm):
        return
    start = profile.timing.quiet_start_s
    if run_time < start:
        return
    if run_time < start + c.baseline_s:
        if math.isfinite(step_time) and step_time > 0:
            state.baseline.append(step_time)
    elif state.baseline:
        rate = 60.0 * len(state.baseline) / sum(state.baseline)
        state.target_spm = rate * (1 + c.increase_pct / 100)
        state.baseline = []


def _count(values: list[float], on: float, off: float, above: bool) -> tuple[int, int]:
    """How many values are beyond `on` (bad) and inside `off` (good); NaN counts as neither."""
    v = np.asarray(values)
    if above:
        return int(np.sum(v > on)), int(np.sum(v < off))
    return int(np.sum(v < on)), int(np.sum(v > off))


def _describe(rule: Rule, label: str, values: list[float], count: int, limit: float, verdict: str) -> str:
    where = f"{rule.stance}-stance " if rule.stance else ""
    beyond = (">" if rule.above else "<") if verdict == "bad" else ("<" if rule.above else ">")
    return (
        f"{label} median {np.nanmedian(values):.1f} {rule.unit}, {count} of last {len(values)} "
        f"{where}steps {beyond} {limit:.1f} {rule.unit}"
    )


def _start_cue(t_emit: float, profile: RunnerProfile) -> Cue:
    return Cue(t_emit, "start", "", profile.priority.start, "first running steps", profile.wording.start)


def median_margin(values: list[float]) -> tuple[float, float]:
    """The window's median and the margin it must clear its threshold by (MARGIN_Z standard errors
    of that median, from the window's own spread); NaN values are left out, (NaN, NaN) if all are."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return math.nan, math.nan
    median = float(np.median(v))
    sigma = 1.4826 * float(np.median(np.abs(v - median)))
    return median, MARGIN_Z * math.sqrt(math.pi / 2) * sigma / math.sqrt(v.size)


def _clearly_beyond(rule: Rule, values: list[float], limit: float) -> bool:
    """The window's median is beyond `limit` by more than its margin. The cadence window holds
    overlapping 20-step rates, whose spread is no per-step scatter: its median alone is judged (its
    tolerance already lies outside the scatter of a 20-step rate). An angle's margin holds the
    engine's systematic error too (ANGLE_ALLOWANCE_DEG, in quadrature)."""
    median, margin = median_margin(values)
    if rule.name == "cadence":
        margin = 0.0
    elif rule.unit == "deg":
        margin = math.hypot(margin, ANGLE_ALLOWANCE_DEG)
    return median > limit + margin if rule.above else median < limit - margin


def _waits(rule: Rule, state: CoachState, n: int) -> bool:
    """A posture rule waits while the engine sees the sensor's posture moving, or while its window
    median is more than POSTURE_JUMP_DEG from the full window's before it (NaN values aside)."""
    if rule.metric not in HELD_WHILE_MOVING:
        return False
    if state.posture_moving:
        return True
    older = state.older.get(rule.name, [])
    if len(older) < n:
        return False
    now, before = np.asarray(state.values[rule.name]), np.asarray(older)
    now, before = now[np.isfinite(now)], before[np.isfinite(before)]
    if not now.size or not before.size:
        return False
    return abs(float(np.median(now)) - float(np.median(before))) > POSTURE_JUMP_DEG


def _decide(state: CoachState, t_emit: float, profile: RunnerProfile, sides_sure: bool) -> Cue | None:
    """The cue due now, if any. `sides_sure`: the engine's status has no side flag; with one, a
    hip cue is spoken without naming the hip (the rule's side stays in the record, the reason says
    why it went unnamed)."""
    words, prio, timing = profile.wording, profile.priority, profile.timing
    if not state.started:
        state.started = True
        return _start_cue(t_emit, profile)
    if t_emit - state.run_start_t < timing.quiet_start_s or t_emit - state.last_any_t < timing.any_cooldown_s:
        return None
    best: Rule | None = None
    for rule in rule_table(profile):
        last = state.last_cue_t.get((rule.cue, rule.side), -math.inf)
        if not state.active.get(rule.name) or t_emit - last < timing.cue_cooldown_s:
            continue
        # Reminders too only while the median is beyond the threshold (by its margin), not in the
        # hysteresis band.
        if _clearly_beyond(rule, state.values[rule.name], _limits(rule, state, profile)[0]):
            if best is None or getattr(prio, rule.cue) > getattr(prio, best.cue):
                best = rule
    if best is not None:
        for rule in rule_table(profile):  # rules sharing this cue and side are answered too
            if rule.cue == best.cue and rule.side == best.side and state.active.get(rule.name):
                state.cued[rule.name] = True
        on, _ = _limits(best, state, profile)
        values = state.values[best.name]
        bad, _ = _count(values, on, math.nan, best.above)
        reason = _describe(best, _label(best, state), values, bad, on, "bad")
        if best.name == "cadence":
            reason += f" (target {cadence_target(state, profile):.1f} spm)"
        if best.side and not sides_sure:
            text = words.level_hips_unsided
            reason += "; hip not named: the engine is unsure of the sides"
        else:
            text = getattr(words, best.cue).replace("{side}", SIDE_NAMES.get(best.side, ""))
        state.praise.clear()  # praise right after a new correction would be misread
        return Cue(t_emit, best.cue, best.side, getattr(prio, best.cue), reason, text, best.metric)
    if state.praise:  # one praise for everything fixed meanwhile
        sides = {r.side for r in rule_table(profile) if r.name in state.praise}
        reason = "; ".join(state.praise.values())
        for rule in rule_table(profile):  # the other side fixed a moment later: no second praise
            if rule.name in state.praise:
                state.last_cue_t[("praise", rule.cue)] = t_emit
        state.praise.clear()
        side = sides.pop() if len(sides) == 1 else ""
        return Cue(t_emit, "praise", side, prio.praise, reason, words.praise)
    return None
