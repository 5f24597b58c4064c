"""The real development sets (../shared/data/real): imurun beside mobgap and scikit-digital-health,
per dataset and per person, and a leave-one-person-out check of the settings chosen on them.

Used by bench_accuracy.py. Every method gets the raw recording; mobgap is given imurun's own
alignment of each trial (sensor frame rotated into the pelvis frame the engine found, as mobgap's
body frame asks), scikit-digital-health estimates its own axes. Sides are scored only where the
reference knows them (alcantara2022 has one force signal for both feet).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
import zlib
from dataclasses import dataclass

import numpy as np
from realdata import (  # noqa: F401 - SHARED for callers
    DATASETS,
    SHARED,
    at_rate,
    bouts_from,
    jittered_times,
    kept_after_loss,
    mid_walk_start,
    person,
    shared_trials,
    slowed_down,
    slowed_reference,
    with_dynamic,
    with_gyro_offset,
    with_one_leg_softer,
)
from scipy.spatial.transform import Rotation

from imurun.core.ahrs import G
from imurun.core.alignment import rotation_sensor_to_pelvis
from imurun.core.engine import Engine, EngineConfig
from imurun.session.paths import bouts_path_for, steps_path_for
from imurun.session.reader import read_session
from imurun.session.truth import read_bouts_csv, read_steps_csv
from imurun.validate import PRIMARY_TOLERANCE_S, inside_bouts, match, pooled, score

# Settings chosen on these recordings, and the values each was chosen from. The leave-one-person-
# out check picks, for every walker, the combination that scores best on the OTHER walkers. Three
# groups, each with the others' settings as shipped (jointly, 3^20 combinations would take years):
# the low-pass, side cues, forward-peak move and step ratio; the peak detector's own settings; and
# the forward axis' and attitude's.
LOPO_GRID = {"walk_lp_hz": (3.0, 4.0, 5.0), "walk_side_from_s": (0.15, 0.25, 0.35),
             "walk_side_roll": (0.0, 0.5, 1.0), "walk_side_sway": (0.0, 0.5, 1.0),
             "walk_side_step": (0.0, 1.0, 2.0),
             "walk_ic_fwd_tau_s": (0.0, 0.1, 0.2), "walk_ic_fwd_late": (1.0, 2.0, 3.0),
             "walk_min_step_ratio": (0.0, 0.5, 0.6)}
LOPO_DETECTOR_GRID = {"walk_peak_sf_g": (1.02, 1.03, 1.04), "walk_fall": (0.2, 0.3, 0.4),
                      "walk_ic_window_s": (0.2, 0.25, 0.3), "walk_ic_offset_s": (0.0, 0.02, 0.04),
                      "weight_shift_ratio": (1.5, 2.0, 3.0), "walk_ref_spm": (95.0, 105.0, 115.0)}
LOPO_ALIGNMENT_GRID = {"forward_min_s": (2.0, 3.0, 4.0), "forward_ratio": (1.1, 1.15, 1.3),
                       "forward_flip_vote": (0.3, 0.5, 0.7), "kp_gait": (0.1, 0.2, 0.4),
                       "kp_roll_gait": (0.25, 0.5, 1.0), "ki": (0.005, 0.01, 0.02)}
LOPO_GROUPS = {"the low-pass, side cues, forward-peak move and step ratio": LOPO_GRID,
               "the peak detector": LOPO_DETECTOR_GRID,
               "the forward axis and the attitude": LOPO_ALIGNMENT_GRID}


@dataclass(frozen=True)
class Trial:
    dataset: str
    name: str
    person: str
    rate: float
    t: np.ndarray
    acc: np.ndarray
    gyr: np.ndarray
    truth: np.ndarray
    bouts: np.ndarray
    uturn: tuple[float, float] | None  # voisard2023: the U-turn, from the header


def load(dataset: str) -> list[Trial]:
    """Every trial of one development set (empty when ../shared is absent)."""
    out = []
    for path in shared_trials(dataset):
        header, block = read_session(path)
        truth = read_steps_csv(steps_path_for(path))
        if not DATASETS[dataset][1]:
            truth["side"] = ""  # the file alternates L/R without knowing them (its README)
        uturn = header.extra.get("uturn_s")
        out.append(Trial(dataset, path.stem, person(path), header.sample_rate_hz, block.t, block.acc,
                         block.gyr, truth, read_bouts_csv(bouts_path_for(path)),
                         tuple(float(x) for x in uturn.split("-")) if uturn else None))
    return out


def imurun(trial: Trial, config: EngineConfig | None = None) -> tuple[np.ndarray, Engine]:
    """Steps as `imurun analyze` gives them (every block, then the steps owed at the end)."""
    eng = Engine(trial.rate, config)
    steps = eng.process(trial.t, trial.acc, trial.gyr).steps
    return np.concatenate([steps, eng.finish().steps]), eng


def mobgap(trial: Trial, eng: Engine) -> np.ndarray | None:
    """mobgap 1.x IcdIonescu + LrcMcCamley (sides only with a gyroscope), in imurun's alignment."""
    try:
        import pandas as pd
        from mobgap.initial_contacts import IcdIonescu

        with warnings.catch_warnings():  # its bundled sklearn models were pickled by another version
            warnings.simplefilter("ignore")
            from mobgap.laterality import LrcMcCamley
    except ImportError:
        return None
    rot = np.empty((3, 3))
    rotation_sensor_to_pelvis(eng.state.fwd, eng.state.up_stand, rot)  # rows: P.x fwd, P.y left, P.z up
    # mobgap's body frame: is = up, ml = right (-P.y), pa = forward; gyro in deg/s
    body = np.array([rot[2], -rot[1], rot[0]])
    acc, gyr = trial.acc @ body.T, np.rad2deg(np.nan_to_num(trial.gyr) @ body.T)
    data = pd.DataFrame({f"{s}_{ax}": v[:, j] for s, v in (("acc", acc), ("gyr", gyr))
                         for j, ax in enumerate(("is", "ml", "pa"))})
    ics = IcdIonescu().detect(data, sampling_rate_hz=trial.rate).ic_list_
    idx = ics["ic"].to_numpy()
    out = np.zeros(len(idx), dtype=[("t", "f8"), ("side", "U1")])
    out["t"] = trial.t[idx]
    if np.any(trial.gyr):
        lr = LrcMcCamley().predict(data, ics, sampling_rate_hz=trial.rate).ic_lr_list_
        out["side"] = np.where(lr["lr_label"].to_numpy() == "left", "L", "R")
    return out


def skdh(trial: Trial) -> np.ndarray | None:
    """scikit-digital-health's GaitLumbar (no sides), the whole trial taken as gait, own axes."""
    try:
        from skdh.gait import GaitLumbar
    except ImportError:
        return None
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            res = GaitLumbar(min_bout_time=3.0).predict(
                time=trial.t + 1.7e9, accel=trial.acc / G, fs=trial.rate, height=1.75, gait_pred=True)
            ic = np.asarray(res["IC Timestamp"], dtype=float) - 1.7e9
        except Exception:  # noqa: BLE001 - a peer failing on a trial scores as no detections there
            ic = np.empty(0)
    out = np.zeros(ic.size, dtype=[("t", "f8"), ("side", "U1")])
    out["t"] = np.sort(ic[np.isfinite(ic)]) if ic.size else ic
    return out[: np.isfinite(ic).sum()]


def run_all(trials: list[Trial], config: EngineConfig | None = None, peers: bool = True) -> dict:
    """{method: [(trial, steps)]} with imurun (own alignment), and the peers when installed."""
    out: dict[str, list] = {"imurun": [], "mobgap (imurun's alignment)": [], "scikit-digital-health": []}
    for tr in trials:
        steps, eng = imurun(tr, config)
        out["imurun"].append((tr, steps))
        if peers:
            for name, det in (("mobgap (imurun's alignment)", mobgap(tr, eng)),
                              ("scikit-digital-health", skdh(tr))):
                if det is not None:
                    out[name].append((tr, det))
    return {k: v for k, v in out.items() if v}


def scored(parts: list) -> dict:
    """One `score` over several trials (pooled: every step weighs the same); a method that gives
    no sides is not scored on them."""
    sides = any(det["side"].any() for _, det in parts)
    return score(*pooled([(tr.t[-1] + 1.0, det, tr.truth if sides else _no_sides(tr.truth), tr.bouts)
                          for tr, det in parts]))


def _no_sides(truth: np.ndarray) -> np.ndarray:
    truth = truth.copy()
    truth["side"] = ""
    return truth


def figures_row(name: str, s: dict, running: bool) -> list[str]:
    def f(x, spec):
        return "-" if x is None or (isinstance(x, float) and not np.isfinite(x)) else format(x, spec)

    f1 = {d["tolerance_ms"]: d["f1"] for d in s["detection"]}
    row = [name, f(f1[100], ".3f"), f(f1[50], ".3f"), f(s["side"]["accuracy"], ".3f"),
           f(s["bouts"]["cadence_mae_spm"], ".2f"), f(s["timing"]["bias_ms"], "+.1f"),
           f(s["timing"]["mae_ms"], ".1f"), f(s["cadence"]["mae_spm"], ".2f")]
    if running:
        ct = s["metrics"].get("contact_time_s") or {}
        rmse, bias = ct.get("rmse"), ct.get("bias")
        row.append("-" if rmse is None else f"{rmse * 1e3:.0f} ({bias * 1e3:+.0f})")
    return row


FIGURE_HEADERS = ["method", "F1@100ms", "F1@50ms", "left/right", "bout cadence MAE spm", "IC bias ms",
                  "IC MAE ms", "step cadence MAE spm"]


def _resampled(tr: Trial, rate: float) -> Trial:
    """As a sensor at `rate` would give it (`at_rate`)."""
    t, acc, gyr = at_rate(tr.t, tr.acc, tr.gyr, tr.rate, rate)
    return dataclasses.replace(tr, rate=rate, t=t, acc=acc, gyr=gyr)


def _lossy(tr: Trial, share: float, burst: int) -> Trial:
    """`share` of the samples lost in bursts of `burst` at random times; the rest keep their times."""
    keep = kept_after_loss(tr.t.size, share, burst, np.random.default_rng(7))
    return dataclasses.replace(tr, t=tr.t[keep], acc=tr.acc[keep], gyr=tr.gyr[keep])


def _jittered(tr: Trial, share: float) -> Trial:
    """Timestamps jittered by up to +-`share` of the interval (`jittered_times`, seed 7), as a file
    stamped by its host's clock gives regular samples."""
    return dataclasses.replace(tr, t=jittered_times(tr.t, tr.rate, share, np.random.default_rng(7)))


def _softer(tr: Trial, k: float = 0.8) -> Trial:
    """Dynamic acceleration x k, gravity kept: a runner whose sacrum dips less between steps (k > 1:
    harder landings, a more vigorous walker)."""
    return dataclasses.replace(tr, acc=with_dynamic(tr.acc, tr.rate, k, 0.5, tr.gyr))


def _turned(tr: Trial) -> Trial:
    """As a sensor mounted another way would give it: a random rotation of its frame, the same for
    a trial on every run; a sensor without a sideways axis (alcantara2022) turned about that axis,
    the only way it can turn and still have none."""
    rng = np.random.default_rng(zlib.crc32(tr.name.encode()))
    if tr.acc[:, 1].any():
        rot = Rotation.random(random_state=rng)
    else:
        rot = Rotation.from_euler("y", rng.uniform(-180.0, 180.0), degrees=True)
    m = rot.as_matrix()
    return dataclasses.replace(tr, acc=tr.acc @ m.T, gyr=tr.gyr @ m.T)


def _slowed(tr: Trial, k: float = 1.4) -> Trial:
    """A walk k times slower, to a first approximation: time x k, the dynamic acceleration / k^2
    and the gyroscope / k, gravity kept; the reference's times x k, its cadences / k."""
    truth, bouts = slowed_reference(tr.truth, tr.bouts, k)
    t, acc, gyr, rate = slowed_down(tr.t, tr.acc, tr.gyr, tr.rate, k, 0.5)
    return dataclasses.replace(tr, rate=rate, t=t, acc=acc, gyr=gyr, truth=truth, bouts=bouts)


def _paced(tr: Trial, k: float) -> Trial:
    """A runner at 1 / k of the pace: time x k, the accelerations kept (flights stay at free fall
    and scale with the step); the reference's times x k, its cadences / k."""
    truth, bouts = slowed_reference(tr.truth, tr.bouts, k)
    return dataclasses.replace(tr, rate=tr.rate / k, t=tr.t * k, truth=truth, bouts=bouts)


def _limping(tr: Trial, k: float = 0.5) -> Trial:
    """A walker whose right leg loads k times as hard as recorded (`with_one_leg_softer`)."""
    return dataclasses.replace(tr, acc=with_one_leg_softer(tr.t, tr.acc, tr.gyr, tr.rate, tr.truth, k))


def _started_mid_walk(tr: Trial) -> Trial:
    """The recording from 2 s into the walk, without its standing start (`mid_walk_start`)."""
    t0 = mid_walk_start(tr.truth)
    keep = tr.t >= t0
    return dataclasses.replace(tr, t=tr.t[keep], acc=tr.acc[keep], gyr=tr.gyr[keep],
                               bouts=bouts_from(tr.bouts, t0))


def _uncalibrated_accelerometer(tr: Trial) -> Trial:
    """As an accelerometer without a factory calibration gives it: 0.3, -0.2, 0.25 m/s^2 off
    (20-30 mg; consumer MEMS parts are specified to +-20-80 mg) and 2 % over on the axes it has."""
    offset = np.array([0.3, -0.2, 0.25]) * tr.acc.any(axis=0)
    return dataclasses.replace(tr, acc=tr.acc * 1.02 + offset)


def _uncalibrated_gyroscope(tr: Trial, sign: float = 1.0) -> Trial:
    """As a gyroscope without a factory calibration gives it (`with_gyro_offset`)."""
    return dataclasses.replace(tr, gyr=with_gyro_offset(tr.gyr, sign))


def _without_gyroscope(tr: Trial) -> Trial:
    """As a belt accelerometer gives it: a file of t,ax,ay,az (the gyroscope NaN)."""
    return dataclasses.replace(tr, gyr=np.full_like(tr.gyr, np.nan))


# The same recordings as other sensors and conditions of the same kinds would give them.
CONDITIONS = {
    "as recorded": lambda tr: tr,
    "50 Hz": lambda tr: _resampled(tr, 50.0),
    "200 Hz": lambda tr: _resampled(tr, 200.0),
    "1 % of samples lost": lambda tr: _lossy(tr, 0.01, 1),
    "2 % lost in bursts of 3": lambda tr: _lossy(tr, 0.02, 3),
    "timestamps jittered +-10 % of the interval": lambda tr: _jittered(tr, 0.1),
    "dynamic acceleration x 1.2": lambda tr: _softer(tr, 1.2),
    "dynamic acceleration x 0.8": _softer,
    "dynamic acceleration x 0.7": lambda tr: _softer(tr, 0.7),
    "dynamic acceleration x 0.6": lambda tr: _softer(tr, 0.6),
    "sensor turned on the body": _turned,
    "accelerometer 20-30 mg off, gain +2 %": _uncalibrated_accelerometer,
}

WALK_CONDITIONS = {
    "walked 1.2x slower (~90 spm)": lambda tr: _slowed(tr, 1.2),
    "walked 1.4x slower (~75 spm)": _slowed,
    "walked 1.1x faster (~120 spm)": lambda tr: _slowed(tr, 1 / 1.1),
    "started mid-walk (no standing)": _started_mid_walk,
    "no gyroscope (a belt accelerometer)": _without_gyroscope,
    "gyroscope 2.5-5 deg/s off": _uncalibrated_gyroscope,
    "gyroscope 2.5-5 deg/s off the other way": lambda tr: _uncalibrated_gyroscope(tr, -1.0),
    "right leg's loading x 0.5 (a limp)": _limping,
}

RUN_CONDITIONS = {
    "step times x 0.9 (a faster runner)": lambda tr: _paced(tr, 0.9),
    "step times x 0.85 (up to 269 spm)": lambda tr: _paced(tr, 0.85),
    "step times x 1.2 (a slower runner)": lambda tr: _paced(tr, 1.2),
    # a real runner's landings soften as the pace slows, and harden as it quickens
    "step times x 1.1, dynamic acceleration x 0.8": lambda tr: _softer(_paced(tr, 1.1), 0.8),
    "step times x 0.9, dynamic acceleration x 1.2": lambda tr: _softer(_paced(tr, 0.9), 1.2),
    # the pessimistic side: a slow runner with the sacrum never at the flight level
    "step times x 1.2, dynamic acceleration x 0.6": lambda tr: _softer(_paced(tr, 1.2), 0.6),
}


def robustness_rows(dataset: str, trials: list[Trial]) -> list[list[str]]:
    """imurun on every condition of one dataset: F1@100, F1@50, left/right, bout cadence MAE and,
    running, contact time RMSE (bias)."""
    rows = []
    walking = DATASETS[dataset][0] == "walk"
    for name, change in (CONDITIONS | (WALK_CONDITIONS if walking else RUN_CONDITIONS)).items():
        changed = [change(tr) for tr in trials]
        row = figures_row(name, scored([(tr, imurun(tr)[0]) for tr in changed]), not walking)
        rows.append([dataset, *row[:5], "-" if walking else row[8]])
    return rows


def slope_of(tr: Trial) -> str:
    """A treadmill clip's slope: the last part of its name (e.g. p10deg, m5deg)."""
    return tr.name.rsplit("_", 1)[-1]


def _degrees(slope: str) -> float:
    """A `slope_of` name in degrees (m10deg: -10)."""
    return float(slope.strip("mpdeg")) * (-1.0 if slope.startswith("m") else 1.0)


def per_slope_rows(dataset: str, parts: list) -> list[list[str]]:
    """A treadmill set's clips grouped by slope (the last part of their names, e.g. p10deg):
    steps, F1@50, IC bias and MAE, contact time RMSE (bias)."""
    rows = []
    for name in sorted({slope_of(tr) for tr, _ in parts}, key=_degrees):
        s = scored([(tr, d) for tr, d in parts if slope_of(tr) == name])
        row = figures_row(name, s, True)
        d50 = next(d for d in s["detection"] if d["tolerance_ms"] == 50)
        rows.append([dataset, name, d50["truth"], row[2], row[5], row[6], row[8]])
    return rows


def per_person_rows(dataset: str, parts: list) -> list[list[str]]:
    rows = []
    for who in sorted({tr.person for tr, _ in parts}):
        mine = [(tr, d) for tr, d in parts if tr.person == who]
        s = scored(mine)
        d100 = next(d for d in s["detection"] if d["tolerance_ms"] == 100)
        rows.append([dataset, who, len(mine), d100["truth"]] + figures_row("", s, False)[1:6])
    return rows


def _near_uturn(tr: Trial, t: float) -> bool:
    """t within 0.5 s of the U-turn the trial's header gives (voisard2023), where the foot
    sensors' references themselves are least sure."""
    return tr.uturn is not None and tr.uturn[0] - 0.5 <= t <= tr.uturn[1] + 0.5


def misses(parts: list) -> list[tuple]:
    """Reference ICs imurun did not find (at 100 ms), with the nearest detection and a likely why."""
    out = []
    tol = PRIMARY_TOLERANCE_S
    for tr, det in parts:
        ref = inside_bouts(tr.truth["t"], tr.bouts, tol)
        d = det[inside_bouts(det["t"], tr.bouts, tol)]
        hit = np.zeros(len(tr.truth), bool)
        hit[np.flatnonzero(ref)[match(d["t"], tr.truth["t"][ref], tol)[1]]] = True
        for k in np.flatnonzero(ref & ~hit):
            t = tr.truth["t"][k]
            near = (d["t"][np.argmin(np.abs(d["t"] - t))] - t) * 1e3 if len(d) else np.nan
            first, last = k == np.flatnonzero(ref)[0], k == np.flatnonzero(ref)[-1]
            if _near_uturn(tr, t):
                why = "U-turn"
            elif first or last:
                why = "first or last step"
            elif abs(near) <= 250:
                why = "found, too far off"
            else:
                why = "not found"
            out.append((tr.name, t, tr.truth["side"][k], near, why))
    return out


def extras(parts: list) -> list[tuple]:
    """Detections inside the reference bouts that match no reference IC (at 100 ms), with a likely
    why. "Reference skips a step": the reference ICs on either side are two of the same side or
    more than 1.5 of the trial's median reference step apart, so the reference itself likely lacks
    a step there (foot sensors miss some in turns and shuffles)."""
    out = []
    tol = PRIMARY_TOLERANCE_S
    for tr, det in parts:
        ref_t, ref_side = tr.truth["t"], tr.truth["side"]
        ref = inside_bouts(ref_t, tr.bouts, tol)
        d = det[inside_bouts(det["t"], tr.bouts, tol)]
        matched = np.zeros(len(d), bool)
        matched[match(d["t"], ref_t[ref], tol)[0]] = True
        step = np.median(np.diff(ref_t[ref])) if ref.sum() > 1 else np.nan
        for t, side in zip(d["t"][~matched], d["side"][~matched], strict=True):
            k = int(np.searchsorted(ref_t, t))  # the reference ICs around it: k - 1 and k
            bout = next((b for b in tr.bouts if b["t_start"] - tol <= t <= b["t_end"] + tol), None)
            inside = ref_t[(ref_t >= bout["t_start"] - tol) & (ref_t <= bout["t_end"] + tol)]
            near = np.min(np.abs(ref_t - t)) * 1e3 if len(ref_t) else np.inf
            if _near_uturn(tr, t):
                why = "U-turn"
            elif not len(inside) or t < inside[0] or t > inside[-1]:
                why = "before the first or after the last step"
            elif ref_t[k] - ref_t[k - 1] > 1.5 * step or (ref_side[k] and ref_side[k] == ref_side[k - 1]):
                why = "reference skips a step"
            elif near <= 250:
                why = "beside a reference IC"
            else:
                why = "other"
            out.append((tr.name, t, side, near, why))
    return out


@dataclass(frozen=True)
class Fold:
    """One group (a walker, a slope) left out: the settings chosen on the others, and on that group
    the counts (`_walk_counts`, `_run_counts`) of those and of the shipped ones."""

    left_out: str
    chosen: dict[str, float]
    held_out: np.ndarray
    shipped: np.ndarray


def leave_one_out(trials: list[Trial], jobs: int, grid: dict[str, tuple[float, ...]], count,
                  objective) -> list[Fold]:
    """Per group that `count((trials, settings))` keys its counts by, the combination of `grid` that
    `objective(counts, groups)` rates best on the other groups, scored on that group. A tie keeps the
    shipped settings: nothing on the others says to move."""
    from concurrent.futures import ProcessPoolExecutor
    from itertools import product

    keys = list(grid)
    combos = list(product(*grid.values()))
    with ProcessPoolExecutor(jobs) as pool:
        # in chunks: pickle sends the trials (~6 MB) once per chunk, not once per combination
        results = list(pool.map(count, [(trials, dict(zip(keys, c, strict=True))) for c in combos],
                                chunksize=max(1, len(combos) // (8 * jobs))))
    default = combos.index(tuple(getattr(EngineConfig(), k) for k in keys))
    groups = sorted(results[default])
    folds = []
    for g in groups:
        others = [q for q in groups if q != g]
        best = max(range(len(combos)), key=lambda i: (objective(results[i], others), i == default))
        chosen = dict(zip(keys, combos[best], strict=True))
        folds.append(Fold(g, chosen, results[best][g], results[default][g]))
    return folds


def lopo_folds(walk_trials: list[Trial], jobs: int, grid: dict[str, tuple[float, ...]]) -> list[Fold]:
    """Leave one person out over `grid` on the walking sets, rated by pooled F1@100 plus the worst
    walker's left/right: a setting that fails one person loses to one slightly worse for all (the
    hold-out is other people)."""
    return leave_one_out(walk_trials, jobs, grid, _walk_counts, _walk_objective)


def _walk_objective(counts: dict[str, np.ndarray], who: list[str]) -> float:
    f1, _ = f1_and_sides(sum(counts[p] for p in who))
    return f1 + min(f1_and_sides(counts[p])[1] for p in who if counts[p][4])


def f1_and_sides(counts: np.ndarray) -> tuple[float, float]:
    """F1@100 and left/right of summed `_walk_counts`."""
    return 2 * counts[0] / (counts[1] + counts[2]), counts[3] / counts[4] if counts[4] else math.nan


def lopo(walk_trials: list[Trial], jobs: int,
         grid: dict[str, tuple[float, ...]]) -> tuple[list[list[str]], str]:
    """`lopo_folds` as table rows and a summary line."""
    return _fold_table(lopo_folds(walk_trials, jobs, grid), grid, "person", "walkers",
                       ["F1@100", "left/right"], _f1_side)


def _fold_table(folds: list[Fold], grid: dict[str, tuple[float, ...]], unit: str, units: str,
                names: list[str], cells) -> tuple[list[list[str]], str]:
    """`folds` as rows (left out, chosen settings, `cells(counts)` held out and shipped) and a
    summary line of the pooled figures."""
    rows = [[f.left_out, _settings(f.chosen), *cells(f.held_out), *cells(f.shipped)] for f in folds]

    def pooled_figures(counts):
        return ", ".join(f"{name} {cell}" for name, cell in zip(names, cells(counts), strict=True))

    summary = (f"Leave-one-{unit}-out, pooled over the {len(folds)} {units}: "
               f"{pooled_figures(sum(f.held_out for f in folds))}; with the shipped settings "
               f"({_shipped(grid)}): {pooled_figures(sum(f.shipped for f in folds))}.")
    return rows, summary


def _settings(values: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in values.items())


def _shipped(grid: dict[str, tuple[float, ...]]) -> str:
    return _settings({k: getattr(EngineConfig(), k) for k in grid})


def _f1_side(c: np.ndarray) -> list[str]:
    f1, sides = f1_and_sides(c)
    return [f"{f1:.3f}", f"{sides:.3f}" if c[4] else "-"]


def _walk_counts(job) -> dict[str, np.ndarray]:
    """Per person: matched, detected, reference ICs (at 100 ms, inside bouts), sides right, compared."""
    trials, overrides = job
    cfg = dataclasses.replace(EngineConfig(), **overrides)
    out: dict[str, np.ndarray] = {}
    for tr in trials:
        s = score(imurun(tr, cfg)[0], tr.truth, tr.bouts)
        d = next(x for x in s["detection"] if x["tolerance_ms"] == 100)
        side = s["side"]
        c = np.array([d["matched"], d["detected"], d["truth"],
                      (side["accuracy"] or 0.0) * side["compared"], side["compared"]])
        out[tr.person] = out.get(tr.person, 0) + c
    return out


# The running settings chosen on the one runner. No person can be left out there, but its slopes
# can: each slope's clips read with the settings best on the other four (F1@50 less the contact
# time RMSE in s: 10 ms weighs as 0.01 of F1, about three steps in its 327).
RUN_LOSO_GRID = {"flight_sf_g": (0.3, 0.4, 0.5), "min_flight_s": (0.01, 0.02, 0.03),
                 "run_mode_s": (0.5, 1.0, 1.5), "contact_sf_g": (0.4, 0.5, 0.6),
                 "toe_off_min_s": (0.06, 0.08, 0.1), "min_run_step_s": (0.18, 0.2, 0.22)}


def _run_counts(job) -> dict[str, np.ndarray]:
    """Per slope: matched, detected, reference ICs (at 50 ms), the contact times' summed squared
    error (s^2) and how many were compared."""
    trials, overrides = job
    cfg = dataclasses.replace(EngineConfig(), **overrides)
    out: dict[str, np.ndarray] = {}
    for tr in trials:
        s = score(imurun(tr, cfg)[0], _no_sides(tr.truth), tr.bouts)
        d = next(x for x in s["detection"] if x["tolerance_ms"] == 50)
        contact = s["metrics"].get("contact_time_s") or {}
        n, rmse = contact.get("compared") or 0, contact.get("rmse") or 0.0
        c = np.array([d["matched"], d["detected"], d["truth"], n * rmse * rmse, n])
        slope = slope_of(tr)
        out[slope] = out.get(slope, 0) + c
    return out


def _run_objective(counts: dict[str, np.ndarray], which: list[str]) -> float:
    f1, contact_ms = f1_and_contact(sum(counts[g] for g in which))
    return f1 - contact_ms / 1000.0


def f1_and_contact(counts: np.ndarray) -> tuple[float, float]:
    """F1@50 and contact time RMSE (ms) of summed `_run_counts`."""
    return 2 * counts[0] / (counts[1] + counts[2]), 1000.0 * math.sqrt(counts[3] / counts[4])


def loso_folds(run_trials: list[Trial], jobs: int) -> list[Fold]:
    """Leave one slope out over RUN_LOSO_GRID on the running set, downhill to uphill."""
    return sorted(leave_one_out(run_trials, jobs, RUN_LOSO_GRID, _run_counts, _run_objective),
                  key=lambda f: _degrees(f.left_out))


def loso(run_trials: list[Trial], jobs: int) -> tuple[list[list[str]], str]:
    """`loso_folds` as table rows and a summary line."""
    def cells(counts):
        f1, contact = f1_and_contact(counts)
        return [f"{f1:.3f}", f"{contact:.1f}"]

    return _fold_table(loso_folds(run_trials, jobs), RUN_LOSO_GRID, "slope", "slopes",
                       ["F1@50", "contact time RMSE (ms)"], cells)


def available() -> bool:
    return any(shared_trials(d) for d in DATASETS)

