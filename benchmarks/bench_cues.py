"""Cue timing against the simulator's truth: every scenario (and two with sample gaps), several
seeds, 50-400 Hz.

    python benchmarks/bench_cues.py [--seeds 1 2 3 4 5 6] [--rates 50 100 200 400] [--jobs 1]

Each session runs as `imurun replay` does: 50 ms blocks through the Engine into the CoachSink
(default runner profile). It is scored against the truth steps the simulator computed
(imurun/sources/sim_truth.py, what NAME.steps.csv holds), which carry every step's true metrics:

- A fault is present where the truth, judged as the coach judges (its rule table, thresholds and
  hysteresis; full windows of `window_steps` truth steps of one running bout, per stance for the
  hips; cadence over 2 x window), has its window MEDIAN beyond the threshold. It lasts until the
  median is back inside the fixed limit or the bout ends. A truth step counts as known at its next
  IC (no coach can know it sooner). Without a standing calibration (the coach judged tilt on its
  change) the truth's tilt is judged on its change from its own early-run posture too.
- Onset = when the fault becomes present, or when the quiet start ends if later. Delay = the
  first cue of that cue and side after onset. Target: within 20 s or 30 steps of the onset. A
  fault the truth itself fixes within 20 s of its onset is owed no cue: uncued, it is counted as
  brief, not as a persistent fault.
- Each cue (start and praise aside) is right when a fault of its cue and side is present at its
  time; early when the truth is only in the hysteresis band (inside the threshold, not fixed) or
  a fault starts within 30 s after it; wrong-side when only the other hip's is present; otherwise
  false. A praise is false when a rule it names is not back inside the fixed
  limit in the truth. First-steps cue: the start reminder after the first true running IC.
- Cue response: the simulated runner never responds, so the cues' before -> after changes here
  are the no-response baseline (regression to the mean, drift) for the report's "Did the cues work?".
Writes the "Cues" section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, table, write_section  # noqa: E402

from imurun.blocks import SampleBlock  # noqa: E402
from imurun.coach.cues import Cue  # noqa: E402
from imurun.coach.profile import RunnerProfile  # noqa: E402
from imurun.coach.rules import POSTURE_METRICS, CoachState, Rule, coach_steps, rule_table  # noqa: E402
from imurun.coach.sink import CoachSink  # noqa: E402
from imurun.core.engine import Engine  # noqa: E402
from imurun.pipeline import Pipeline  # noqa: E402
from imurun.sources.sim_scenarios import SCENARIOS  # noqa: E402
from imurun.sources.simulate import simulate  # noqa: E402

PROFILE = RunnerProfile()
BLOCK_S = 0.05  # as `imurun replay`
DELAY_S, DELAY_STEPS = 20.0, 30  # targets
EARLY_S = 30.0  # a cue this long before a fault starts is early, not false
FIRST_STEPS_S = 1.5
NEW_BOUT_S = 2.0  # truth steps further apart than this are separate bouts (a stop between)
# Beyond the scenarios: these with a sample gap of GAP_S every GAP_EVERY_S (the 0.4 s gaps)
GAP_CASES = ("fatigue+gaps", "easy-run+gaps")
GAP_S, GAP_EVERY_S = 0.4, 45.0


def _beyond(v: float, limit: float, above: bool) -> bool:
    return v > limit if above else v < limit


def truth_faults(truth: np.ndarray, relative: bool) -> dict[str, dict]:
    """Per rule: t_known (n,), median (n,) after each truth step, and fault episodes [(on, off)]."""
    th, timing = PROFILE.thresholds, PROFILE.timing
    n = timing.window_steps
    t_known = truth["t"] + truth["step_time_s"]
    running = truth["activity"] == "run"
    first_run = truth["t"][running][0] if running.any() else math.inf
    run_time = truth["t"] - first_run
    q, b = timing.quiet_start_s, PROFILE.cadence.baseline_s
    base = truth["step_time_s"][running & (run_time >= q) & (run_time < q + b)]
    target = PROFILE.cadence.target_spm or (60.0 * base.size / float(base.sum()) if base.size else math.nan)
    metric = {m: truth[m] for m in ("pelvic_drop_deg", "tilt_deg", "braking_mps", "trunk_lean_deg")}
    # one sensor: the engine's lumbar extension is the tilt proxy (the truth has none)
    proxy = bool(np.isnan(truth["lumbar_ext_deg"]).all())
    metric["lumbar_ext_deg"] = truth["tilt_deg"] if proxy else truth["lumbar_ext_deg"]
    early = running & (run_time < timing.posture_s)
    posture = {m: float(np.median(metric[m][early])) if relative else 0.0 for m in POSTURE_METRICS}
    bout = np.cumsum(~running | (np.diff(truth["t"], prepend=-math.inf) > NEW_BOUT_S))
    out = {}
    for rule in rule_table(PROFILE):
        on, off = rule.on, rule.off
        if rule.name == "cadence":
            tol = PROFILE.cadence.tolerance_pct / 100
            on, off = target * (1 - tol), target * (1 - tol / 2)
        elif relative and rule.metric in POSTURE_METRICS:
            on, off = th.tilt_change_deg, th.tilt_change_deg * (1 - th.hysteresis)
        med = np.full(len(truth), np.nan)
        episodes, start, window, times, last_bout = [], None, [], [], None
        for i, s in enumerate(truth):
            if not running[i] or bout[i] != last_bout:
                if start is not None:
                    episodes.append((start, t_known[i - 1]))
                start, window, times, last_bout = None, [], [], bout[i]
            if not running[i]:
                continue
            times = (times + [float(s["step_time_s"])])[-2 * n :]
            if rule.stance and s["side"] != rule.stance:
                med[i] = med[i - 1] if i and bout[i - 1] == bout[i] else np.nan
                continue
            if rule.name == "cadence":
                value = 60.0 * len(times) / sum(times) if len(times) == 2 * n else math.nan
            else:
                value = float(metric[rule.metric][i]) - posture.get(rule.metric, 0.0)
            window = (window + [value])[-n:]
            if len(window) == n and not np.isnan(window).any():
                med[i] = float(np.median(window))
            if start is None and _beyond(med[i], on, rule.above):
                start = t_known[i]
            elif start is not None and _beyond(med[i], off, not rule.above):  # fixed
                episodes.append((start, t_known[i]))
                start = None
        if start is not None:
            episodes.append((start, math.inf))
        out[rule.name] = {"rule": rule, "t": t_known, "median": med, "episodes": episodes,
                          "on": on, "off": off, "same_as_tilt": proxy and rule.metric == "lumbar_ext_deg"}
    return out


def _at(f: dict, t: float) -> float:
    """The truth median of a rule as known at time t."""
    i = int(np.searchsorted(f["t"], t, side="right")) - 1
    return float(f["median"][i]) if i >= 0 else math.nan


def _present(f: dict, t: float) -> bool:
    return any(a <= t < b for a, b in f["episodes"])


def _praised_rules(reason: str, side: str) -> list[Rule]:
    """The rules a praise names: each `; `-separated part reads `CUE fixed: LABEL median ...`."""
    rules = []
    for part in reason.split("; "):
        for r in rule_table(PROFILE):
            stance_named = not r.stance or f"{r.stance}-stance" in part
            if part.startswith(f"{r.cue} fixed: {r.label}") and stance_named:
                rules.append(r)
    return [r for r in rules if not side or not r.side or r.side == side]


def classify(c: Cue, faults: dict[str, dict]) -> tuple[str, str]:
    """(right | early | wrong_side | false | false_praise | praise | start, the truth at the cue)."""
    if c.cue == "start":
        return "start", ""
    if c.cue == "praise":
        for r in _praised_rules(c.reason, c.side):
            f = faults[r.name]
            if not _beyond(_at(f, c.t), f["off"], not r.above):
                return "false_praise", f"truth {r.name} median {_at(f, c.t):.2f}"
        return "praise", ""
    mine = [f for f in faults.values() if (f["rule"].cue, f["rule"].side) == (c.cue, c.side)]
    truth_now = f"truth median {', '.join(f'{_at(f, c.t):.2f}' for f in mine)}"
    others = [f for f in faults.values() if f["rule"].cue == c.cue and f["rule"].side not in ("", c.side)]
    if any(_present(f, c.t) for f in mine):
        return "right", truth_now
    if any(_beyond(_at(f, c.t), f["off"], f["rule"].above) or
           any(c.t < a <= c.t + EARLY_S for a, _ in f["episodes"]) for f in mine):
        return "early", truth_now
    if any(_present(f, c.t) for f in others):
        return "wrong_side", truth_now
    return "false", truth_now


def fault_delays(faults: dict[str, dict], cues: list[Cue], truth: np.ndarray, end: float):
    """Per fault episode (rule name, onset, delay to its cue, steps in between, in time?), and how
    many episodes the truth fixed within DELAY_S uncued (owed no cue)."""
    first_run = truth["t"][truth["activity"] == "run"]
    quiet_end = first_run[0] + PROFILE.timing.quiet_start_s if first_run.size else math.inf
    delays, brief = [], 0
    for f in faults.values():
        if f["same_as_tilt"]:  # the single-sensor lumbar proxy: the tilt fault, counted once
            continue
        r = f["rule"]
        given = [c.t for c in cues if (c.cue, c.side) == (r.cue, r.side)]
        same = [g for g in faults.values() if (g["rule"].cue, g["rule"].side) == (r.cue, r.side)]
        for a, b in f["episodes"]:
            onset = max(a, quiet_end)
            if onset >= b:  # over within the quiet start: not cueable
                continue
            # the same cue given shortly before for another of its rules (braking / cadence): its
            # cooldown holds this one back, and the runner has heard it
            cooldown = PROFILE.timing.cue_cooldown_s
            answered = any(onset - cooldown <= t < onset and any(_present(g, t) for g in same) for t in given)
            after = [t for t in given if onset - EARLY_S <= t < b]
            if answered:
                delay = 0.0
            elif after:
                delay = after[0] - onset
            elif end - onset < DELAY_S:  # the session ends too soon after the onset to judge
                continue
            elif b - onset < DELAY_S:  # over (back inside the fixed limit) before the cue was due
                brief += 1
                continue
            else:
                delay = math.inf
            steps = int(np.sum((f["t"] > onset) & (f["t"] <= onset + delay)))
            delays.append((r.name, onset, delay, steps, delay <= DELAY_S or steps <= DELAY_STEPS))
    return delays, brief


def truth_fed(case: tuple[str, int]) -> dict[str, int]:
    """Control: the same rules fed the truth steps (at the next IC + 80 ms): what they cue, and how
    many faults they cue in time or late."""
    scenario, seed = case
    truth = simulate(scenario, seed=seed, rate_hz=20.0, ideal=True).steps  # the truth needs no rate
    state, counts, given = CoachState(), defaultdict(int), []
    faults = truth_faults(truth, False)
    for s in truth:
        cues, state = coach_steps(s[None], float(s["t"] + s["step_time_s"] + 0.08), state, PROFILE)
        for c in cues:
            counts[classify(c, faults)[0]] += 1
            if c.cue not in ("start", "praise"):
                given.append(c)
    end = float(truth["t"][-1]) if truth.size else 0.0
    for *_, hit in fault_delays(faults, given, truth, end)[0]:
        counts["in_time" if hit else "late"] += 1
    return counts


def evaluate(case: tuple[str, int, float]) -> dict:
    scenario, seed, rate = case
    base, _, variant = scenario.partition("+")
    sim = simulate(base, seed=seed, rate_hz=rate)
    keep = np.ones(len(sim.t), dtype=bool)
    if variant == "gaps":  # the radio drops out: GAP_S of samples missing every GAP_EVERY_S
        keep = (sim.t < GAP_EVERY_S) | (sim.t % GAP_EVERY_S >= GAP_S)
    t, acc, gyr = sim.t[keep], sim.acc[keep], sim.gyr[keep]
    k = max(1, round(BLOCK_S * rate))
    starts = range(0, len(t), k)
    blocks = (SampleBlock(t[i : i + k], acc[i : i + k], gyr[i : i + k]) for i in starts)
    if sim.trunk_acc is not None:
        ta, tg = sim.trunk_acc[keep], sim.trunk_gyr[keep]
        blocks = (SampleBlock(t[i : i + k], acc[i : i + k], gyr[i : i + k], ta[i : i + k], tg[i : i + k])
                  for i in starts)
    sink = CoachSink(PROFILE, console=None)
    Pipeline(Engine(rate), [sink]).run(blocks)
    truth, end = sim.steps, float(sim.t[-1])
    faults = truth_faults(truth, sink.state.relative)
    cues = [c for c in sink.cues if c.cue not in ("start", "praise")]
    res: dict = {"case": case, "relative": sink.state.relative, "cues": len(cues), "problems": []}

    def note(kind: str, text: str) -> None:
        res["problems"].append(f"{scenario} seed {seed} {rate:g} Hz: {kind} {text}")

    counts = defaultdict(int)
    for c in sink.cues:
        kind, truth_now = classify(c, faults)
        counts[kind] += 1
        if kind not in ("right", "start", "praise"):
            note(kind.replace("_", " "), f"{c.cue} {c.side} at {c.t:.1f} s ({c.reason}; {truth_now})")
    first_run = truth["t"][truth["activity"] == "run"]
    delays, brief = fault_delays(faults, cues, truth, end)
    res["brief"] = brief
    for name, onset, delay, steps, hit in delays:
        if not hit:
            r = faults[name]["rule"]
            note("missed" if math.isinf(delay) else "late",
                 f"{r.cue} {r.side} ({r.name}): present from {onset:.1f} s, "
                 + ("never cued" if math.isinf(delay) else f"cued {delay:.1f} s / {steps} steps later"))
    res["faults"] = delays
    res.update(counts)
    start = [c.t for c in sink.cues if c.cue == "start"]
    res["first_steps_s"] = start[0] - first_run[0] if start and first_run.size else math.nan
    if first_run.size and not start:
        note("missed", "start reminder never given")
    elif first_run.size and res["first_steps_s"] > FIRST_STEPS_S:
        note("late", f"start reminder {res['first_steps_s']:.2f} s after the first running IC")
    res["responses"] = [(c.cue, c.metric, c.before, c.after) for c in cues]
    return res


def _figures(rs: list[dict]) -> list[object]:
    faults = [f for r in rs for f in r["faults"]]
    delays = np.array([f[2] for f in faults if math.isfinite(f[2])])
    first = np.array([r["first_steps_s"] for r in rs if math.isfinite(r["first_steps_s"])])
    return [
        len(rs),
        len(faults),
        sum(f[4] for f in faults),
        sum(not f[4] and math.isfinite(f[2]) for f in faults),
        sum(math.isinf(f[2]) for f in faults),
        f"{np.median(delays):.1f} / {delays.max():.1f}" if delays.size else "—",
        sum(r["cues"] for r in rs),
        sum(r.get("early", 0) for r in rs),
        sum(r.get("false", 0) for r in rs),
        sum(r.get("wrong_side", 0) for r in rs),
        sum(r.get("false_praise", 0) for r in rs),
        f"{np.median(first):.2f} / {first.max():.2f}" if first.size else "—",
    ]


HEADERS = ["sessions", "persistent faults", "cued in time", "late", "missed", "delay s median / max",
           "cues", "early", "false", "wrong side", "false praise", "first-steps cue s median / max"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5, 6])
    ap.add_argument("--rates", type=float, nargs="+", default=[50.0, 100.0, 200.0, 400.0])
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args()
    print(machine(), flush=True)
    names = (*SCENARIOS, *GAP_CASES)
    cases = [(s, seed, r) for s in names for r in args.rates for seed in args.seeds]
    with ProcessPoolExecutor(args.jobs) as pool:
        results = []
        for r in pool.map(evaluate, cases):
            results.append(r)
            print(r["case"], r["problems"][:3], flush=True)
        control = defaultdict(int)
        for counts in pool.map(truth_fed, [(s, seed) for s in SCENARIOS for seed in args.seeds]):
            for k, v in counts.items():
                control[k] += v
    by_scenario = [[s, *_figures([r for r in results if r["case"][0] == s])] for s in names]
    by_rate = [[f"{r:g} Hz", *_figures([x for x in results if x["case"][2] == r])] for r in args.rates]
    total = _figures(results)
    # the coach's own misses first; the first-steps cue (held back by the engine) last
    problems = sorted((p for r in results for p in r["problems"]), key=lambda p: "start reminder" in p)
    responses = defaultdict(list)
    for r in results:
        for cue, metric, before, after in r["responses"]:
            rule = next(x for x in rule_table(PROFILE) if x.metric == metric and x.cue == cue)
            if math.isfinite(before) and math.isfinite(after):
                responses[(cue, metric)].append((before - after) if rule.above else (after - before))
    resp_rows = [[cue, metric, len(v), f"{np.median(v):+.2f}", f"{np.percentile(v, 10):+.2f} … "
                  f"{np.percentile(v, 90):+.2f}"] for (cue, metric), v in sorted(responses.items())]
    body = [
        f"Machine: {machine()}",
        "",
        f"`python benchmarks/bench_cues.py --seeds {' '.join(map(str, args.seeds))} --rates "
        f"{' '.join(f'{r:g}' for r in args.rates)}`: every simulator scenario, and "
        f"{' and '.join(GAP_CASES)} with {GAP_S:g} s of samples missing every {GAP_EVERY_S:g} s; "
        "random mounting per seed, "
        "replayed in 50 ms blocks through the engine and the coach (default profile), scored against the "
        "simulator's truth steps (how: the docstring of benchmarks/bench_cues.py). Targets: every "
        f"persistent fault cued within {DELAY_S:g} s or {DELAY_STEPS} steps of its onset on the right side; "
        "zero early, false and wrong-side cues and zero false praise; the first-steps cue within "
        f"{FIRST_STEPS_S:g} s of the first running step.",
        "",
        table(["scenario", *HEADERS], by_scenario),
        "",
        table(["rate", *HEADERS], by_rate),
        "",
        f"All: {total[1]} persistent faults, {total[2]} cued in time, {total[3]} late, {total[4]} missed "
        f"({sum(r.get('brief', 0) for r in results)} more over within {DELAY_S:g} s uncued); "
        f"{total[6]} cues, {total[7]} early, {total[8]} false, {total[9]} wrong side; "
        f"{total[10]} false praise; first-steps cue {total[11]} s.",
        "",
        f"Control: the same rules fed the truth steps themselves (every scenario, seeds {args.seeds}) give "
        f"{control['right']} right, {control['early']} early, {control['false']} false and "
        f"{control['wrong_side']} wrong-side cues and {control['false_praise']} false praise, and cue "
        f"{control['in_time']} faults in time, {control['late']} late: early, false and wrong-side cues "
        "come from what the engine delivers (angles, status); lateness the rules have on the truth too "
        "(a pattern of 7 of 10 steps beyond is later than the median crossing the benchmark starts from).",
        "",
        f"What missed a target ({len(problems)}; the first 60, late first-steps cues last):",
        "",
        *([f"- {p}" for p in problems[:60]] or ["- nothing"]),
        "",
        "Cue response with a runner who never responds (the simulator's): change of the cue's metric "
        "from before (20 steps) to after (10-30 s), positive = better. This is what regression to the "
        "mean and drift give on their own; a real runner's response is the excess over it.",
        "",
        table(["cue", "metric", "cues", "median change", "10th … 90th percentile"], resp_rows),
    ]
    write_section("Cues", "\n".join(body))
    print("\n".join(body))


if __name__ == "__main__":
    main()
