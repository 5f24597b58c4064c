"""Did the runner respond? Each cue's metric before it and 10-30 s after it, from the step stream.

    tracker = ResponseTracker(profile)
    tracker.add(steps)                    # every running step, in order, before the block's cues
    cue = tracker.start(cue)              # a new cue: `before` filled in, `after` awaited
    done = tracker.due(t)                 # cues whose window is over at session time t, `after` filled in
    done = tracker.finish()               # at the end of the session: what is left

before = median of the cue's metric over the last BEFORE_STEPS running steps up to the cue (for a
hip cue: steps landing on the foot whose swing hip was named); after = median over the running
steps whose initial contact lies AFTER_S after the cue: time to hear the cue and change the stride.
The window closes early when the runner stops running (a walking step), and `after` stays NaN with
fewer than MIN_AFTER_STEPS steps in it. Cadence is not a median but the step rate of those steps
(60 x steps / their summed step times), as the cadence rule and its target judge it. Values are
the engine's own (steps.csv), also when the coach judged tilt on its change from the early-run
posture: before - after is the same either way.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field, replace

import numpy as np

from imurun.coach.cues import Cue
from imurun.coach.profile import RunnerProfile
from imurun.coach.rules import Rule, rule_for

BEFORE_STEPS = 20
AFTER_S = (10.0, 30.0)
MIN_AFTER_STEPS = 5
EMIT_MARGIN_S = 1.0  # a step is emitted after its interval closes: wait this long past the window


@dataclass
class _Pending:
    index: int  # the cue's position among started cues
    cue: Cue
    stance: str
    after: list[float] = field(default_factory=list)
    closed: bool = False  # the runner stopped running: no more steps for this window


def step_value(step: np.void, metric: str) -> float:
    """What a step contributes to the response: its step time for cadence (see _summary)."""
    return float(step["step_time_s" if metric == "cadence_spm" else metric])


class ResponseTracker:
    def __init__(self, profile: RunnerProfile):
        self._profile = profile
        self._recent: deque[np.void] = deque(maxlen=2 * BEFORE_STEPS)  # both stances of 20 steps
        self._pending: list[_Pending] = []
        self._started = 0

    def add(self, steps: np.ndarray) -> None:
        for step in steps:
            if step["activity"] != "run":  # stopped running: each window closes with what it has
                for p in self._pending:
                    p.closed = True
                self._recent.clear()
                continue
            self._recent.append(step.copy())
            t = float(step["t"])
            for p in self._pending:
                if not p.stance or step["side"] == p.stance:
                    if p.cue.t + AFTER_S[0] <= t <= p.cue.t + AFTER_S[1]:
                        p.after.append(step_value(step, p.cue.metric))

    def start(self, cue: Cue) -> tuple[int, Cue]:
        """(index, cue with `before`); cues without a metric are returned unchanged."""
        index, self._started = self._started, self._started + 1
        rule = rule_for(cue, self._profile)
        if rule is None:
            return index, cue
        before = [step_value(s, cue.metric) for s in self._recent if rule.stance in ("", s["side"])]
        cue = replace(cue, before=_summary(cue.metric, before[-BEFORE_STEPS:]))
        self._pending.append(_Pending(index, cue, rule.stance))
        return index, cue

    def due(self, t: float) -> list[tuple[int, Cue]]:
        """Cues whose after-window is over by session time t, with `after` filled in."""
        done = [p for p in self._pending if t >= p.cue.t + AFTER_S[1] + EMIT_MARGIN_S or p.closed]
        return self._complete(done)

    def finish(self) -> list[tuple[int, Cue]]:
        return self._complete(list(self._pending))

    def _complete(self, done: list[_Pending]) -> list[tuple[int, Cue]]:
        finished = {id(p) for p in done}
        self._pending = [p for p in self._pending if id(p) not in finished]
        return [(p.index, replace(p.cue, after=_after(p.cue.metric, p.after))) for p in done]


def response_text(cue: Cue, profile: RunnerProfile) -> str:
    """One line on how the runner responded, e.g. "pelvic drop 9.0 → 4.5 deg: better by 4.5";
    "" for a cue without a metric or before its response is measured."""
    rule = rule_for(cue, profile)
    if rule is None or math.isnan(cue.before):
        return ""
    if math.isnan(cue.after):
        return f"{rule.label}: response not measured (too few running steps 10-30 s after the cue)"
    digits = 2 if rule.unit == "m/s" else 1
    better = improvement(cue, rule)
    verdict = "no change" if round(better, digits) == 0 else (
        f"{'better' if better > 0 else 'worse'} by {abs(better):.{digits}f}")
    return f"{rule.label} {cue.before:.{digits}f} → {cue.after:.{digits}f} {rule.unit}: {verdict}"


def improvement(cue: Cue, rule: Rule) -> float:
    """How much the cue's metric improved from before to after it (positive = better; NaN if not
    measured)."""
    return (cue.before - cue.after) if rule.above else (cue.after - cue.before)


def _after(metric: str, values: list[float]) -> float:
    enough = sum(math.isfinite(v) for v in values) >= MIN_AFTER_STEPS
    return _summary(metric, values) if enough else math.nan


def _summary(metric: str, values: list[float]) -> float:
    """Median of the values; for cadence (values = step times) the step rate, 60 x n / sum."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return math.nan
    return 60.0 * len(finite) / sum(finite) if metric == "cadence_spm" else float(np.median(finite))
