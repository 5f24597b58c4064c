"""Floors on the real development sets beside the repository (../shared/data/real), through
`imurun analyze` as a user runs it: scored inside the reference bouts, pooled per dataset. Each
skips with the reason when the folder is absent. benchmarks/bench_accuracy.py gives the full tables
(per person, beside mobgap and scikit-digital-health, leave-one-person-out)."""

import numpy as np
import pytest
from realdata import (
    DATASETS,
    at_rate,
    bouts_from,
    gravity_from_attitude,
    jittered_times,
    kept_after_loss,
    mid_walk_start,
    person,
    skip_without_shared,
    slowed_down,
    slowed_reference,
    with_dynamic,
    with_gyro_offset,
    with_one_leg_softer,
    with_shorter_flights,
)

from imurun.analyze import analyze
from imurun.session.truth import read_bouts_csv, read_steps_csv
from imurun.validate import inside_bouts, match, pooled, score


def _score(dataset: str, who: str = "") -> dict:
    """`dataset` (the recordings of person `who` only, if given) analyzed and scored, pooled."""
    parts = []
    for path in skip_without_shared(dataset):
        if who and person(path) != who:
            continue
        steps, summary = analyze(path)
        truth = read_steps_csv(path.with_name(f"{path.stem}.steps.csv"))
        if not DATASETS[dataset][1]:
            truth["side"] = ""  # one force signal for both feet: the file's sides are made up
        bouts = read_bouts_csv(path.with_name(f"{path.stem}.bouts.csv"))
        parts.append((summary["start_s"] + summary["duration_s"] + 1.0, steps, truth, bouts))
    return score(*pooled(parts))


def _parts_as(dataset: str, change, stretch: float = 1.0, config=None, person: str = "") -> list:
    """`pooled` parts of each recording (of `person` only, if given) as `change(t, acc, gyr, rate,
    truth) -> (t, acc, gyr, rate)` gives it (it may move the reference ICs in `truth` too), every
    step the engine (with `config`) finds, as analyze reports them; the reference times x `stretch`
    (its cadences / `stretch`), scored where the changed recording has samples."""
    from imurun.core.engine import Engine
    from imurun.session.reader import read_session

    parts = []
    for path in skip_without_shared(dataset):
        if person and not path.stem.startswith(f"{dataset}_{person}_"):
            continue
        header, block = read_session(path)
        truth = read_steps_csv(path.with_name(f"{path.stem}.steps.csv"))
        t, acc, gyr, rate = change(block.t, block.acc, block.gyr, header.sample_rate_hz, truth)
        eng = Engine(rate, config)
        steps = np.concatenate([eng.process(t, acc, gyr).steps, eng.finish().steps])
        if not DATASETS[dataset][1]:
            truth["side"] = ""
        bouts = read_bouts_csv(path.with_name(f"{path.stem}.bouts.csv"))
        truth, bouts = slowed_reference(truth, bouts, stretch)
        parts.append((t[-1] + 1.0, steps, truth, bouts_from(bouts, t[0])))
    return parts


def _f1(s: dict, ms: int) -> float:
    return next(d["f1"] for d in s["detection"] if d["tolerance_ms"] == ms)


def test_ten_walkers_with_u_turns():
    """voisard2023, 10 adults, Xsens at L5. Targets F1@100 0.95, left/right 0.97, bout cadence 3 spm:
    measured 0.961, 0.995, 2.33 spm (all met; docs/engine.md says where the misses are; bout
    cadence 3.63 before a walking step had to last half the walk's step time, 2.77 before 0.6 of
    its median step time). F1@100 / F1@50:
    0.927 / 0.839 with the loading's IC alone, 0.936 / 0.876 at the forward acceleration's highest
    peak near it, 0.951 / 0.889 at the one that falls most after it (0.950 / 0.887 with the step
    threshold relative to the sensor's own 1 g; 0.961 / 0.905 once a peak after the loading's IC
    costs three times as much). Left/right 0.982 -> 0.990 since the steps held
    for the forward axis at a walk's start take their sides from roll and sway too, not from the
    yaw rate alone (s08's points the other way: its first steps were flipped); 0.992 with the roll
    rate's turn across the IC; 0.991 with the middle of each step (s05 1.000 -> 0.970, the worst
    walker 0.971 -> 0.970); 0.995 with the step's whole sway instead of its middle's (0.993)."""
    s = _score("voisard2023")
    assert _f1(s, 100) >= 0.945
    assert _f1(s, 50) >= 0.88
    assert s["side"]["accuracy"] >= 0.99
    assert s["bouts"]["cadence_mae_spm"] <= 2.6


@pytest.mark.parametrize("dataset", ["voisard2023", "mobgap"])
def test_every_walker_keeps_steps_sides_and_cadence(dataset):
    """Per person, not just pooled: a pooled figure can hide one walker read at chance (the issue's
    held-out walkers had trials at left/right 0.23-0.50). Measured F1@100 0.908-0.980 (s02 lowest,
    HA_001 0.933), left/right 0.986-1.000 (0.980-1.000 from the middle 30-70 % of each step, not
    its whole), bout cadence MAE 0.92-4.39 spm (s08 highest)."""
    for who in sorted({person(path) for path in skip_without_shared(dataset)}):
        s = _score(dataset, who)
        assert _f1(s, 100) >= 0.89, who
        assert s["side"]["accuracy"] >= 0.98, who
        assert s["bouts"]["cadence_mae_spm"] <= 5.0, who


def test_a_walks_first_steps_take_the_forward_peak_but_its_first_ic_the_loading():
    """The steps held at a walk's start until the forward axis is known take the forward
    acceleration's peak as later ones do; a bout's first IC keeps the loading's (after standing the
    forward acceleration is the body setting off). The first six reference ICs of the 35 real
    walks: the first 25.2 ms MAE, the next five 16.5; with no held step moved 19.0 / 19.6, with
    every one moved 32.7 / 16.5 (voisard2023 s04's held ICs read 80-120 ms early on the loading).
    The first was 22.6 over 33 of them while a weight shift could replace another: s06_t4's and
    s08_t2's first steps (13 and 85 ms off) were dropped then, and s04_t5's first step, which a
    second shift now precedes, reads 50 ms off instead of 10 (it is no longer the bout's first)."""
    first, then = [], []
    for dataset in ("voisard2023", "mobgap"):
        for path in skip_without_shared(dataset):
            steps, _ = analyze(path)
            truth = read_steps_csv(path.with_name(f"{path.stem}.steps.csv"))
            start = read_bouts_csv(path.with_name(f"{path.stem}.bouts.csv"))["t_start"][0]
            ref = truth["t"][truth["t"] >= start - 0.1][:6]
            di, ti = match(steps["t"], ref, 0.25)
            err = np.abs(steps["t"][di] - ref[ti]) * 1e3
            first += list(err[ti == 0])
            then += list(err[ti > 0])
    assert len(first) == 35
    assert np.mean(first) <= 26.0
    assert np.mean(then) <= 17.5


def test_every_walks_first_step_is_found():
    """A walk sets off with one weight shift onto the stance leg: a bout's second IC with a loading
    peak twice as high replaces the first, and the IC that replaced it is not replaced in turn.
    When it was, a faint first heel strike after a shift went too: the first reference IC of 3 of
    the 40 reference bouts had no detection within 100 ms (HA_001 at 38.53 s, setting off in a
    turn; voisard2023 s06_t4, s08_t2); now every one has."""
    missed = []
    for dataset in ("voisard2023", "mobgap"):
        for path in skip_without_shared(dataset):
            steps, _ = analyze(path)
            truth = read_steps_csv(path.with_name(f"{path.stem}.steps.csv"))
            for b in read_bouts_csv(path.with_name(f"{path.stem}.bouts.csv")):
                ref = truth["t"][(truth["t"] >= b["t_start"] - 0.1) & (truth["t"] <= b["t_end"] + 0.1)]
                if not (len(steps) and np.min(np.abs(steps["t"] - ref[0])) <= 0.1):
                    missed.append((path.stem, float(ref[0])))
    assert not missed


def _first_sides(parts: list) -> tuple[int, int]:
    """(right, matched): the sides of each bout's first detected step (after a row of unknown step
    time, or the first row) that match a reference IC within 100 ms."""
    right = n = 0
    for _, steps, truth, _ in parts:
        first = np.flatnonzero(np.r_[True, ~np.isfinite(steps["step_time_s"][:-1])])
        di, ti = match(steps["t"], truth["t"], 0.1)
        side_of = dict(zip(di.tolist(), truth["side"][ti], strict=True))
        for i in first:
            if i in side_of and np.isfinite(steps["step_time_s"][i]):
                n += 1
                right += steps["side"][i] == side_of[i]
    return right, n


def test_a_walks_first_step_is_the_other_foot_than_its_second():
    """A walk's first step had only its own side evidence, read while setting off (often turning:
    the yaw rate is the turn's). It now waits for the next step and takes the other foot than that
    one's, decided with the evidence of three ICs; so do the first steps held for the forward axis.
    voisard2023 begun mid-walk, whose first steps are held: right 32 of 32 (30 before). Over both
    walking sets as recorded, begun mid-walk and 1.2x / 1.4x slower: 120 of 123 (0.976; 126 of 130
    before a weight shift could no longer be replaced by another, which changed the bouts; with
    that rule and without the wait, HA_001 1.2x / 1.4x slower read 4 of 5 / 5 of 7, now 5 / 6)."""
    sides = {(dataset, name): _first_sides(_parts_as(dataset, change, stretch=k))
             for dataset in ("voisard2023", "mobgap")
             for name, change, k in (("as recorded", _as_recorded, 1.0), ("mid-walk", _mid_walk, 1.0),
                                     ("1.2x slower", _slower(1.2), 1.2), ("1.4x slower", _slower(1.4), 1.4))}
    assert sides["voisard2023", "mid-walk"] == (32, 32)
    right, n = np.sum(list(sides.values()), axis=0)
    assert right >= 0.97 * n


def test_standing_before_the_walk_gives_few_steps():
    """Each voisard2023 walk starts with the person standing for ~5 s. Their sensors read 1 g as
    0.998-1.032 g: with the walking threshold at an absolute 1.03 g, standing sway gave 21 steps
    before the 32 walks; relative to the sensor's own reading of 1 g (learned while still), 7."""
    n = 0
    for path in skip_without_shared("voisard2023"):
        steps, _ = analyze(path)
        bouts = read_bouts_csv(path.with_name(f"{path.stem}.bouts.csv"))
        n += int((steps["t"] < bouts["t_start"][0] - 0.1).sum())
    assert n <= 10


@pytest.mark.parametrize(("k", "most"), [(1.0, 0), (1.2, 0), (1.4, 1)])
def test_a_sensor_that_stayed_put_reads_no_slip_on_straight_walks(k, most):
    """A slip re-levels drop and tilt and restarts the coach's posture windows, so a walk whose
    sensor never moved must not read one: voisard2023's and HA_001's straight walks, as recorded
    and k times slower (`slowed_down`). Their slip check's forward reference, taken while forward
    still turned toward its axis (after a U-turn, at 15 s of gait), read forward 14-16 deg off it
    seconds later: slips on 1 / 3 / 4 of the 34 walks; now 0 / 0 / 1 (voisard2023 s10 trial 4 at
    1.4x, whose forward was still turning when the reference stopped following it). HA_001's daily
    life, whose gait posture stays 13-15 deg off for seconds between activities, still reads some
    (docs/engine.md, Known limits)."""
    from imurun.core.engine import Engine
    from imurun.session.reader import read_session

    moved = []
    for path in [p for dataset in ("voisard2023", "mobgap") for p in skip_without_shared(dataset)]:
        if "Test11" in path.stem:
            continue
        header, block = read_session(path)
        t, acc, gyr, rate = slowed_down(block.t, block.acc, block.gyr, header.sample_rate_hz, k, 0.5)
        eng = Engine(rate)
        eng.process(t, acc, gyr)
        if eng.status().mount_changes:
            moved.append(path.stem)
    assert len(moved) <= most, moved


def test_a_slow_walk_keeps_its_steps():
    """The ten walkers' trials slowed down 1.5x (70-80 spm): time stretched, the dynamic
    acceleration / 2.25 and the gyro / 1.5, gravity kept, so the loading is weaker too. The walking
    times, low-pass and step threshold were chosen on ~110 spm; held fixed, a slow walk's second
    loading bump read as a step and its faint steps fell under the threshold (recall / precision
    at 150 ms 0.933 / 0.896). Scaled to the walk's own cadence (walk_ref_spm): 0.949 / 0.899. One
    walker (s04) still locked onto twice its cadence, which the scaled low-pass then confirmed:
    bout cadence MAE 7.23 spm, 3.34 since the step time is checked against the signal's
    autocorrelation (imurun/core/rhythm.py). Those figures took gravity as a 0.3 Hz low-pass;
    followed by the gyroscope (tests/realdata.py: the pelvis' sway tilts gravity as much as
    before, only the linear acceleration is weaker): 0.946 / 0.922, 3.43 spm."""
    k = 1.5

    det, truth, bouts = pooled(_parts_as("voisard2023", _slower(k), stretch=k))
    assert score(det, truth, bouts)["bouts"]["cadence_mae_spm"] <= 4.0
    tol = 0.1 * k
    det, truth = det[inside_bouts(det["t"], bouts, tol)], truth[inside_bouts(truth["t"], bouts, tol)]
    found = len(match(det["t"], truth["t"], tol)[0])
    assert found / len(truth) >= 0.94 and found / len(det) >= 0.89, (found, len(truth), len(det))


def test_a_belt_accelerometer_without_gyroscope_keeps_the_steps_and_flags_its_sides():
    """The ten walkers with their gyroscope removed (a file of t,ax,ay,az): steps and cadence come
    from acceleration alone (F1@100 0.955, bout cadence 2.31 spm; 0.961 / 2.33 with it). Sides
    come from each step's mean sideways acceleration, which mixes the pelvis' own with roll-tilted
    gravity: right on 0.910 of the steps (0.903 from the middle 30-70 % of each step, 0.602 from
    the sway before each IC), but on s06's on 0.39 and on s05's on 0.76 (s02's, s04's 0.40, 0.77
    from the middle of the step; docs/engine.md), so every walk's status flags them as low
    confidence."""
    from imurun.core.engine import Engine
    from imurun.session.reader import read_session

    def no_gyro(t, acc, gyr, rate, _truth):
        return t, acc, np.full_like(gyr, np.nan), rate

    s = score(*pooled(_parts_as("voisard2023", no_gyro)))
    assert _f1(s, 100) >= 0.94
    assert s["bouts"]["cadence_mae_spm"] <= 3.2
    assert s["side"]["accuracy"] >= 0.88
    for path in skip_without_shared("voisard2023")[::8]:
        header, block = read_session(path)
        eng = Engine(header.sample_rate_hz)
        eng.process(block.t, block.acc, np.full_like(block.gyr, np.nan))
        flag = eng.status().flags["side"]
        assert flag.kind.name == "LOW_CONFIDENCE", path.name
        assert "no sideways" not in flag.text, (path.name, flag.text)  # it has the axis: not a guess


def test_treadmill_running_from_a_sacral_accelerometer():
    """alcantara2022, two axes, no gyroscope, no sides. Targets F1@50 0.99, IC MAE 10 ms, cadence
    1 spm, contact time RMSE 25 ms: measured 0.998, 4.8 ms, 0.96 spm per bout (1.63 per step; 2.50
    while each landing's IC was its tangent's foot, before the steadier 1 g crossing of the norm
    timed them; 1.77 while that crossing counted only within 10 ms of its usual lead), 9 ms (5.7 ms
    and 1.02 spm while the IC was always
    the tangent at the 0.5 g crossing: a sacrum that rises slowly out of the flight and steepens
    below 1 g was read early; 0.979, 9.3 ms, 3.74 spm per step before a landing's rise was watched to its
    steepest: a slow bump out of the flight in these filtered signals put 5 ICs 60-70 ms early;
    bout cadence 1.45 while a clip that starts mid-stance could open with a walking "step" 0.26 s
    before the first landing)."""
    s = _score("alcantara2022")
    assert _f1(s, 50) >= 0.995
    assert s["timing"]["mae_ms"] <= 5.2
    assert s["bouts"]["cadence_mae_spm"] <= 1.0
    assert s["cadence"]["mae_spm"] <= 1.75
    # 0.010 from the main fall's pass through 1.25 g (0.029 from the effective contact, 0.035 from
    # the final fall's tangent, 0.041 its crossing's)
    assert s["metrics"]["contact_time_s"]["rmse"] <= 0.012
    assert s["side"]["compared"] == 0  # and left/right is not scored


def test_running_contact_time_holds_uphill_and_downhill():
    """Contact time per treadmill slope (alcantara2022: 3-4 clips each). Read from the sacrum's
    last fall through 1 g (the effective contact in a half-sine model), uphill ran long: bias +32
    ms at +5 deg, +43 at +10 (the sacrum's shoulder after the toe-off grows uphill, while the
    treadmill measures the force normal to its belt). From the main fall through 1.25 g: -3 to +6
    ms, RMSE 7-14 ms (+5 deg holds one clip whose ICs are ~20 ms early)."""
    stems = [path.stem for path in skip_without_shared("alcantara2022")]
    parts = _parts_as("alcantara2022", _as_recorded)
    for slope in ("m10deg", "m5deg", "p0deg", "p5deg", "p10deg"):
        mine = [p for p, stem in zip(parts, stems, strict=True) if stem.endswith(slope)]
        ct = score(*pooled(mine))["metrics"]["contact_time_s"]
        assert abs(ct["bias"]) <= 0.009, (slope, ct["bias"])
        assert ct["rmse"] <= 0.018, (slope, ct["rmse"])


def _softer(gain: float):
    """A `_parts_as` change: the dynamic acceleration x `gain`, gravity kept (a softer runner)."""
    def change(t, acc, gyr, rate, _truth):
        return t, with_dynamic(acc, rate, gain, 0.5), gyr, rate

    return change


def _slower(k: float):
    """A `_parts_as` change: the walk k times slower (`slowed_down`, gravity below 0.3 Hz)."""
    def change(t, acc, gyr, rate, _truth):
        return slowed_down(t, acc, gyr, rate, k, 0.3)

    return change


def _as_recorded(t, acc, gyr, rate, _truth):
    """A `_parts_as` change that changes nothing."""
    return t, acc, gyr, rate


def _mid_walk(t, acc, gyr, rate, truth):
    """A `_parts_as` change: the recording from 2 s into the walk (`mid_walk_start`), no standing."""
    keep = t >= mid_walk_start(truth)
    return t[keep], acc[keep], gyr[keep], rate


def _paced(k: float):
    """A `_parts_as` change: time x k, accelerations kept (a runner at 1 / k of the pace; pass
    `stretch=k` for the reference)."""
    def change(t, acc, gyr, rate, _truth):
        return t * k, acc, gyr, rate / k

    return change


def _slow_and_soft(t, acc, gyr, rate, truth):
    """A `_parts_as` change: the runner at time x 1.2 with its dynamic acceleration x 0.6 (pass
    `stretch=1.2`)."""
    t, acc, gyr, rate = _paced(1.2)(t, acc, gyr, rate, truth)
    return _softer(0.6)(t, acc, gyr, rate, truth)


def test_a_runner_with_shorter_flights_keeps_its_steps():
    """The real runner's dynamic acceleration x 0.8 (gravity kept): the sacrum now dips to ~0.25 g
    between steps (0.4 g downhill), as a slower or softer runner's would. Such a dip disarmed the
    walking detector (a flight follows) without arming the running one: F1@50 0.745, bout cadence
    42 spm off. A walking peak now waits out the dip, and in running a dip after the stance is a
    flight: 0.867, 6.9 spm. With the flight level at 0.4 g (no real walk stays under it for 20 ms
    but in a stumble and a drop): 0.962, 1.61 spm. With a swing-leg bump that falls back short of
    1 g watched until the landing (downhill: it was taken for the landing, ~0.1 s early): 0.983,
    1.43 spm. With a stance whose landing no flight armed kept as a step (after a running IC, the
    walking detector's peak that a flight used to discard): 0.985, 1.06 spm (0.91 since the scorer
    keeps steps over 240 spm in a bout). With a swing-leg bump that hovers above the contact level
    until the landing told from it (the landing's tangent meets the flight level > 30 ms after
    the bump's crossing; downhill ICs had been ~60 ms early): 0.994, 0.91 spm, IC MAE 10.8 ->
    9.9 ms."""
    s = score(*pooled(_parts_as("alcantara2022", _softer(0.8))))
    assert _f1(s, 50) >= 0.99
    assert s["timing"]["mae_ms"] <= 10.5
    assert s["bouts"]["cadence_mae_spm"] <= 1.0


@pytest.mark.parametrize("k", [0.9, 1.2])
def test_a_faster_or_slower_runner_keeps_its_steps_timing_and_contact(k):
    """The hold-out's runners run other speeds: the real runner's clips played at 1 / k of their
    pace (time x k, accelerations kept: cadence ~219 / ~164 spm; its flights stay at free fall and
    scale with the step, where a real slower runner's shorten: the 40 ms shorter flights below). Measured
    F1@50 0.998 / 0.998, IC MAE 4.5 / 6.0 ms, bout cadence 1.10 / 0.82 spm (the scorer's own floor
    scales with the cadence: 0.98 / 0.73), contact time RMSE 9 / 12 ms."""
    parts = _parts_as("alcantara2022", _paced(k), k)
    s = score(*pooled(parts))
    assert _f1(s, 50) >= 0.99
    assert s["timing"]["mae_ms"] <= 7.0
    assert s["bouts"]["cadence_mae_spm"] <= 1.3
    assert s["metrics"]["contact_time_s"]["rmse"] <= 0.015


@pytest.mark.parametrize(("k", "bout_spm"), [(0.85, 1.3), (1.4, 0.9)])
def test_a_much_faster_or_slower_runner_keeps_every_step(k, bout_spm):
    """The real runner at time x 0.85 (175-269 spm) and x 1.4 (106-164 spm, its flights stretched
    with the step). At x 0.85 a fixed shortest running step of 0.22 s lost 6 of the 269 spm clip's
    19 steps (F1@50 0.989, bout cadence 3.92 spm); it now follows the run's rhythm down to 0.2 s:
    0.998, 1.13 spm. At x 1.4 the sacrum's wobble after a toe-off rose over the contact level more
    than 0.15 s before the landing and was taken for it (0.992); a rise that never reaches body
    weight is now no landing: 0.998, 0.68 spm."""
    parts = _parts_as("alcantara2022", _paced(k), k)
    s = score(*pooled(parts))
    assert _f1(s, 50) >= 0.997
    assert s["bouts"]["cadence_mae_spm"] <= bout_spm


def test_a_runner_whose_sacrum_stays_above_the_flight_level_keeps_its_steps_and_timing():
    """The real runner's dynamic acceleration x 0.7: the sacrum dips to ~0.3-0.5 g, often too
    briefly for a flight phase, and the walking detector took those stances as walking steps with
    the IC on the rise into the active peak, ~60 ms after the landing: F1@50 0.873, bout cadence
    3.27 spm. A stance that rose out of sf below the contact level at a running rhythm is a running
    one, its IC on the rise into the impact peak: 0.928, 2.36 spm. With a swing-leg bump that
    hovers above the contact level told from the landing after it: 0.950, 2.32 spm. With the same
    rule for the clips' first stances, before any step time is known (they opened with walking
    steps ~55 ms late): 0.956, 1.86 spm. With the landings at the clips' edges kept (a clip that
    opened in flight, one that ended 0.05-0.2 s after a landing, and, in a clip never still, a
    stance out of the flight level after a walking IC): 0.975, 1.42 spm. With the impact told from
    the active peak by a smaller dip on a landing's rise (ICs had been 50-80 ms late at the second
    crest): 0.985, 1.25 spm. With a running IC's row left on its rise (a step that never dipped
    below the contact level had it moved to the forward acceleration's peak, as a walk's): 0.989.
    With a clip's first stance decided again once its step closes at a running rhythm: 0.995,
    1.08 spm."""
    s = score(*pooled(_parts_as("alcantara2022", _softer(0.7))))
    assert _f1(s, 50) >= 0.993
    assert s["bouts"]["cadence_mae_spm"] <= 1.2


def test_a_runner_whose_sacrum_stays_at_the_contact_level_keeps_its_timing():
    """The real runner's dynamic acceleration x 0.6: the sacrum dips to 0.45-0.6 g, most stances
    never rise out of the contact level (0.5 g), and the walking detector took them as walking
    steps, the IC on the rise into the active peak: F1@50 0.889, IC MAE 15.0 ms, bout cadence
    3.11 spm. A stance at 160 spm or more whose peak passes 1.6 g is a landing, its IC on the rise
    into the impact: 0.969, 10.7 ms, 1.55 spm. With its row left on that rise (it moved to the
    forward acceleration's peak, as a walking step's does): 0.975, 8.3 ms. With a clip's first
    stance decided again at its step's rhythm (below): 0.981, 7.8 ms, 1.44 spm (0.978, 7.9 ms,
    1.54 spm before)."""
    s = score(*pooled(_parts_as("alcantara2022", _softer(0.6))))
    assert _f1(s, 50) >= 0.98
    assert s["timing"]["mae_ms"] <= 8.0
    assert s["bouts"]["cadence_mae_spm"] <= 1.5


def test_a_slow_runner_whose_sacrum_stays_at_the_contact_level_keeps_most_of_its_ics():
    """The real runner x 0.6 at time x 1.2 (~165 spm, 140-150 in the downhill clips): its rhythm
    hovers about the 160 spm at which a stance rising into an impact is a landing, and its ICs go
    from the impact's rise to the active peak's and back: F1@50 0.946, IC MAE 18.8 ms (0.936 before
    every clip kept its last step). Holding
    the rule down to 140 spm once the ICs are landings gave 0.951, 16.3 ms, but brisk walks
    whose sacrum dips under the contact level then read as runs (voisard2023 1.1x faster:
    left/right 0.994 -> 0.950, F1@50 0.894 -> 0.865): not in (docs/engine.md, Known limits)."""
    s = score(*pooled(_parts_as("alcantara2022", _slow_and_soft, 1.2)))
    assert _f1(s, 50) >= 0.94
    assert s["timing"]["mae_ms"] <= 19.5


def test_a_softer_or_slower_runners_clips_end_with_their_last_step():
    """Clips that end 60-200 ms after their last landing, before its low-passed peak has fallen:
    that stance is a step when it comes one step time (+-25 %) after the last IC and reaches an
    impact. Its rise was sought in a window that reached back into the last stance, whose peak
    was the higher (the runner x 0.7: clip t20, 64 ms before the end, lost its last step), and
    only after a landing (the runner x 0.6 at time x 1.2, ~150 spm, whose stances are walking ones:
    6 of 21 clips lost it). The rhythm the clip ran at now counts as well: every clip keeps it."""
    for change, stretch in ((_softer(0.7), 1.0), (_slow_and_soft, 1.2)):
        for _end, steps, truth, _bouts in _parts_as("alcantara2022", change, stretch):
            assert abs(steps["t"][-1] - truth["t"][-1]) < 0.05


def test_a_missed_step_cannot_lock_a_walking_kind_stream_at_half_its_cadence():
    """The real runner with its dynamic acceleration x 0.5: its sacrum never reaches the contact
    level, so its ~180 spm stances are walking ones, under the walking step ratio rule. A share
    above half of a step time that one missed step doubles drops the next true step, and the next:
    at 0.6 of the rhythm (an EMA of the steps) F1@50 0.975 -> 0.961, bout cadence 2.0 -> 7.1 spm.
    The share is now taken of the median of the bout's last step times (and is at most half of the
    rhythm's before three of them): 0.975, 2.0 spm."""
    s = score(*pooled(_parts_as("alcantara2022", _softer(0.5))))
    assert _f1(s, 50) >= 0.97
    assert s["bouts"]["cadence_mae_spm"] <= 2.5


def test_a_softer_runners_clips_open_with_their_first_landing():
    """The first reference IC of each of the 21 five-second clips, found within 50 ms, with the
    runner's dynamic acceleration x 0.7. Before any step time the impact rule cannot tell a
    landing from a walking stance, so a clip that opened on a stance the sacrum reached from above
    the contact level took its first IC at the active peak's rise, 53 ms late: 18 clips. Its
    stance is now decided again when its step closes into a landing at a running rhythm: 19. The
    two left open on a rise (or with their first IC 0.01 s in) cannot be found (as recorded: 20 of
    21). At x 0.6 the same 14 clips either way: two late first steps close into stances that are no
    landings either (re-decided all the same, the runner x 0.6 at time x 1.2, ~165 spm, then
    read its next steps as walking ones: F1@50 0.936 -> 0.924), and clip-opening dips below the
    contact level too brief for a flight are not taken for one (a mount's ringing after an impact
    just before the recording dips as briefly: the simulated run cut 30 ms after a landing)."""
    hits = 0
    for _end, steps, truth, _bouts in _parts_as("alcantara2022", _softer(0.7)):
        hits += bool(len(steps)) and np.min(np.abs(steps["t"] - truth["t"][0])) <= 0.05
    assert hits >= 19


def test_a_slow_walk_read_at_twice_its_cadence_is_let_go():
    """1.4x slower (~75 spm), s04 reads two ICs per step from its first strides, at irregular
    intervals (0.04-0.69 s around a true 0.69 s step), so the detected median step time is rarely
    exactly half the true one. The rhythm check looked for the signal's repeat at exactly twice it
    (bout cadence MAE 3.92 spm, F1@100 0.912); it now looks between 1.5 and 2.5 times it: 2.82,
    0.916 (gravity followed by the gyroscope; with a 0.3 Hz low-pass for gravity 3.44 -> 2.85 and
    0.920 -> 0.924)."""
    k = 1.4

    s = score(*pooled(_parts_as("voisard2023", _slower(k), stretch=k)))
    assert s["bouts"]["cadence_mae_spm"] <= 3.1
    assert _f1(s, 100) >= 0.91


def test_weight_shifts_before_a_walk_cannot_set_the_step_ratio_rule_against_its_steps():
    """HA_001's straight walks open with weight shifts ~1.1 s apart, read as steps (outside the
    reference bout): the walk's rhythm starts at ~52 spm and its real 0.57-0.62 s steps passed the
    step ratio rule (a step shorter than that share of the walk's step time is a second bump) by
    only 0.01-0.05 s at half the rhythm's step time. At 0.6 of it every other step was dropped and
    each drop kept the rhythm slow: F1@100 0.927 -> 0.900, bout cadence MAE 2.7 -> 9.1 spm. The
    rule now reaches no further than WALK_BUMP_MAX_S after an IC, so even a ratio of 0.8 keeps the
    walks: 0.909 / 2.58 spm here, the dynamic acceleration x 1.2 (0.865 / 10.9 without that
    bound; 0.732 / 25.8 when the share was taken of the rhythm throughout)."""
    from imurun.core.engine import EngineConfig

    s = score(*pooled(_parts_as("mobgap", _softer(1.2), config=EngineConfig(walk_min_step_ratio=0.8))))
    assert _f1(s, 100) >= 0.9
    assert s["bouts"]["cadence_mae_spm"] <= 3.5


def test_a_runner_whose_flights_are_40_ms_shorter_keeps_its_steps():
    """Slower or uphill running has shorter flights. The real runner with 40 ms cut from every
    flight (uphill then 20-30 ms between force-plate contacts): a dip after a stance armed the
    landing but did not keep running mode, which needs a flight of 20 ms below the flight level
    within a second, and the steps went to the walking detector or were lost (F1@50 0.978, at 60
    ms cut 0.980). Once running, such a dip is a flight: 0.995 (0.997 at 60 ms)."""
    def shorter(t, acc, gyr, rate, truth):
        keep, t, truth["t"] = with_shorter_flights(t, rate, truth, 0.04)
        truth["cadence_spm"] = truth["step_time_s"] = np.nan  # from the new ICs
        return t, acc[keep], gyr[keep], rate

    s = score(*pooled(_parts_as("alcantara2022", shorter)))
    assert _f1(s, 50) >= 0.99


@pytest.mark.parametrize(("share", "burst", "step_spm"), [(0.02, 3, 2.2), (0.01, 1, 2.0)])
def test_a_runner_whose_samples_are_lost_keeps_its_steps_and_timing(share, burst, step_spm):
    """The real runner with 2 % of its samples lost in bursts of 3, or 1 % one by one (timestamps
    kept). A first version of the swing-leg bump watch (a rise that falls back short of 1 g is
    watched until the landing) ended at a gap that hid the landing after the bump's flight and gave
    the bump's IC, 130 ms early: F1@50 0.991, bout cadence 2.28 spm. Measured 0.998, 0.99 spm (as
    recorded 0.998, 1.02). A lost sample on a rise that had not reached body weight also ended its
    watch, and the sacrum's wobble after a toe-off could be emitted as the landing; the watch now
    goes on through the gap: per-step cadence MAE 2.16 / 2.11 -> 2.10 / 1.83 spm (as recorded
    1.77); 2.00 / 1.72 (1.63) once the landing clock's crossing counted within 15 ms, not 10."""
    def lossy(t, acc, gyr, rate, _truth):
        keep = kept_after_loss(t.size, share, burst, np.random.default_rng(7))
        return t[keep], acc[keep], gyr[keep], rate

    s = score(*pooled(_parts_as("alcantara2022", lossy)))
    assert _f1(s, 50) >= 0.995
    assert s["bouts"]["cadence_mae_spm"] <= 1.1
    assert s["cadence"]["mae_spm"] <= step_spm


def test_every_running_clip_keeps_its_first_and_last_step():
    """A 5 s clip starts mid-run (no standing) and ends mid-run: analyze reports the steps the live
    engine holds for the forward axis and the last one, whose interval is unknown."""
    for path in skip_without_shared("alcantara2022"):
        steps, summary = analyze(path)
        truth = read_steps_csv(path.with_name(f"{path.stem}.steps.csv"))
        assert abs(steps["t"][-1] - truth["t"][-1]) < 0.05, path.name
        assert np.isnan(steps["step_time_s"][-1]) and summary["steps"] == len(steps)
        assert abs(len(steps) - len(truth)) <= 2, path.name


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_analyze_never_puts_nan_in_a_metric_mean(dataset):
    for path in skip_without_shared(dataset)[:3]:
        _, summary = analyze(path)
        for col, stats in summary["metrics"].items():
            assert stats["all"]["mean"] is None or np.isfinite(stats["all"]["mean"]), (path.name, col)


@pytest.mark.parametrize("stem", ["voisard2023_s07_t6", "voisard2023_s08_t2", "voisard2023_s08_t4"])
def test_the_first_steps_of_a_walk_take_their_sides_from_all_the_evidence(stem):
    """A walk's steps wait ~3 s for the forward axis, and they had their sides from the yaw rate
    alone, which points the other way on most of s08's steps (and on s07's first): 9 of the 247
    such steps of the ten walkers were wrong, 4 in a row in s08_t2. Re-sided from yaw, roll and
    sway when the axis is found, none is."""
    path = next((p for p in skip_without_shared("voisard2023") if p.stem == stem), None)
    if path is None:
        pytest.skip(f"{stem} is not in ../shared/data/real")
    steps, _ = analyze(path)
    truth = read_steps_csv(path.with_name(f"{path.stem}.steps.csv"))
    start = read_bouts_csv(path.with_name(f"{path.stem}.bouts.csv"))["t_start"][0]
    first = truth[(truth["t"] >= start) & (truth["t"] < start + 4.0)]
    di, ti = match(steps["t"], first["t"], 0.1)
    assert len(ti) >= len(first) - 1
    assert (steps["side"][di] == first["side"][ti]).all(), (steps["side"][di], first["side"][ti])


@pytest.mark.parametrize("k", [1.1, 1.2])
def test_a_somewhat_slower_daily_life_walk_keeps_its_bouts(k):
    """HA_001 walked 1.1x and 1.2x slower (~85-95 spm). Its daily-life trial has short still
    moments between activities, some of them slow turns that pass for rest, whose mean gyro reading
    became the bias (6.4 deg/s at 1.1x); the 8 s of gyro-only gait after it drifted 40 deg and a
    bout of ten steps was lost. F1@100 0.853 / 0.840 then; 0.901 / 0.900 since a still period
    after the standing calibration may move the bias by 1 deg/s at most (0.927 as recorded); 0.914
    / 0.914 since a forward peak after the loading IC costs three times as much (0.933)."""
    assert _f1(score(*pooled(_parts_as("mobgap", _slower(k), stretch=k))), 100) >= 0.9


def test_a_forward_peak_after_the_loading_ic_is_the_less_likely_heel_strike():
    """The heel strike comes before the vertical loading it causes: a forward-acceleration peak
    after the loading's IC costs three times as much as one before it (walk_ic_fwd_late, picked
    in every leave-one-person-out fold). HA_001 F1@50 0.800 -> 0.848 (IC bias +11 -> +2 ms), its
    walk 1.2x slower F1@100 0.901 -> 0.914; with the same cost either side both fail here."""
    import dataclasses

    from imurun.core.engine import EngineConfig

    s = score(*pooled(_parts_as("mobgap", _as_recorded)))
    assert _f1(s, 50) >= 0.83
    assert _f1(score(*pooled(_parts_as("mobgap", _slower(1.2), stretch=1.2))), 100) >= 0.91
    same = dataclasses.replace(EngineConfig(), walk_ic_fwd_late=1.0)
    assert _f1(score(*pooled(_parts_as("mobgap", _as_recorded, config=same))), 50) < 0.83


def test_a_slower_or_less_vigorous_walkers_sides_hold():
    """HA_001 (a McRoberts sensor at the lower back) walked 1.4x slower, and with its dynamic
    acceleration x 0.8, as other walkers would give it. Its pelvic roll rate over the 0.1 s after
    each IC is right on 0.48 of its ICs (chance) where every voisard2023 walker's is right on
    0.83-0.99. Left/right 0.879 / 0.931 with that window; with the roll rate's change across the IC
    (0.15 s after against 0.15 s before; after alone at a walk's first two ICs): 0.909 / 0.944;
    with the middle of each step: 0.939 / 0.958."""
    assert score(*pooled(_parts_as("mobgap", _slower(1.4), stretch=1.4)))["side"]["accuracy"] >= 0.93
    assert score(*pooled(_parts_as("mobgap", _softer(0.8))))["side"]["accuracy"] >= 0.95


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_a_slower_walk_learns_a_gyro_bias_it_never_stood_still_for(sign):
    """HA_001's lab walks never stand still long enough for a standing calibration: a gyroscope's
    offset must be learned in gait. Walked 1.4x slower with the gyroscope 5, -3.75, 2.5 deg/s off,
    either way: with gait's bias integral (ki 0.01 /s^2) the attitude drifted and sides went wrong
    (left/right 0.909 / 0.896); with ki_uncalibrated (0.1 /s^2) until a standing calibration,
    0.970 either way, as without the offset. Since a forward peak after the loading IC costs three
    times as much (walk_ic_fwd_late), 0.942 / 0.971: the same steps read the wrong side, but one of
    them (Test5 Trial2's last, at 8.61 s) is now timed 10 ms from its reference, not 80 ms (112 ms
    slowed), and so is scored."""
    def slowed(t, acc, gyr, rate, _truth):
        t, acc, gyr, rate = slowed_down(t, acc, gyr, rate, 1.4, 0.3)
        return t, acc, with_gyro_offset(gyr, sign), rate

    assert score(*pooled(_parts_as("mobgap", slowed, stretch=1.4)))["side"]["accuracy"] >= 0.94


@pytest.mark.parametrize("dataset, f1, sides", [("voisard2023", 0.94, 0.98), ("mobgap", 0.92, 0.96)])
def test_a_limping_walker_keeps_steps_sides_and_cadence(dataset, f1, sides):
    """The right leg loading at half the dynamic acceleration, the left at full, a cosine over the
    stride between (a limp or a sore leg, as a patient of the hold-out's kind may walk): the step
    threshold and the fall a peak needs follow the walk's typical peak, the mean of both legs', so
    the softer leg's peaks are the ones at risk. Measured voisard2023 F1@100 0.947 (0.954 as
    recorded), left/right 0.992, bout cadence 2.68 spm; HA_001 0.927 / 0.974 / 2.55 (left/right
    1.000 as recorded; 0.908 / 0.947 before the middle of each step joined the side evidence)."""
    def limping(t, acc, gyr, rate, truth):
        return t, with_one_leg_softer(t, acc, gyr, rate, truth, 0.5), gyr, rate

    s = score(*pooled(_parts_as(dataset, limping)))
    assert _f1(s, 100) >= f1
    assert s["side"]["accuracy"] >= sides
    assert s["bouts"]["cadence_mae_spm"] <= 3.0


def test_a_walk_recorded_from_mid_walk_keeps_its_steps_and_sides():
    """The ten walkers' trials begun 2 s into the walk (no standing before: no calibration, the
    attitude and the forward axis found in gait). Measured F1@100 0.948, left/right 0.991, bout
    cadence 3.36 spm (0.953 / 0.991 / 3.07 in the same windows of the whole trials): five bouts
    gain a step, in the U-turn, at the stop, and s02's two-bump loading read as two steps before
    the walk's step time is known."""
    s = score(*pooled(_parts_as("voisard2023", _mid_walk)))
    assert _f1(s, 100) >= 0.94
    assert s["side"]["accuracy"] >= 0.98
    assert s["bouts"]["cadence_mae_spm"] <= 3.5


def test_the_steps_sway_names_the_side_where_the_yaw_rate_points_the_other_way():
    """s08's yaw rate points the other way on most steps. With roll and sway switched off, the yaw
    rate alone reads s08's sides 0.46 (reversed); with each step's mean sideways acceleration
    (away from the stance leg) 0.91. It lowers no walker's sides: s06 0.88 -> 0.98, s07 0.84 ->
    0.97, HA_001 0.87 -> 0.95, s05 0.99 -> 0.99. The middle 30-70 % of the step, the cue before,
    took s05 from 0.99 to 0.96 and HA_001 only to 0.92."""
    import dataclasses

    from imurun.core.engine import EngineConfig

    def sides(weight: float, dataset: str = "voisard2023", who: str = "") -> float:
        config = dataclasses.replace(EngineConfig(), walk_side_roll=0.0, walk_side_sway=0.0,
                                     walk_side_step=weight)
        parts = _parts_as(dataset, _as_recorded, config=config, person=who)
        return score(*pooled(parts))["side"]["accuracy"]

    assert sides(0.0, who="s08") < 0.5
    assert sides(1.0, who="s08") >= 0.88
    for who in sorted({person(path) for path in skip_without_shared("voisard2023")} - {"s08"}):
        assert sides(1.0, who=who) >= sides(0.0, who=who), who
    assert sides(1.0, "mobgap") >= 0.94


def test_side_confidence_is_low_where_the_side_evidence_disagrees():
    """s08's yaw rate points the other way on most steps: yaw and roll + sway disagree and the
    status says the sides are of low confidence; the simulated walk, where they agree, does not."""
    from imurun.core.engine import Engine
    from imurun.session.reader import read_session
    from imurun.sources.simulate import simulate

    path = next(p for p in skip_without_shared("voisard2023") if p.stem == "voisard2023_s08_t2")
    header, block = read_session(path)
    eng = Engine(header.sample_rate_hz)
    eng.process(block.t, block.acc, block.gyr)
    assert eng.status().flags["side"].kind.name == "LOW_CONFIDENCE"
    sim = simulate("walk", seed=1, rate_hz=100.0, duration_s=120.0)
    eng = Engine(sim.rate_hz)
    eng.process(sim.t, sim.acc, sim.gyr)
    assert "side" not in eng.status().flags


def test_the_slowing_transform_follows_gravity_through_a_stand_up():
    """The transforms above scale the linear acceleration and keep gravity. Gravity taken as a
    low-pass of the reading keeps the quick part of a posture change in the part they scale;
    followed by the gyroscope it is within 0.5 m/s^2 (a 60 deg stand-up in 1 s, under sway at
    walking frequencies: a 0.5 Hz low-pass was 3.3 m/s^2 off in it)."""
    from scipy.spatial.transform import Rotation

    rate = 100.0
    t = np.arange(0.0, 30.0, 1.0 / rate)
    sway = np.sin(2 * np.pi * 0.9 * t)
    pitch = np.deg2rad(4) * np.sin(2 * np.pi * 1.8 * t + 0.5) + np.deg2rad(60) / (1 + np.exp(-(t - 15) / 0.2))
    turn = Rotation.from_euler("zyx", np.c_[np.deg2rad(20) * sway, pitch, np.deg2rad(5) * sway])
    gravity = turn.inv().apply([0.0, 0.0, 9.80665])
    linear = np.c_[0.8 * np.sin(2 * np.pi * 1.8 * t), 0.7 * np.sin(2 * np.pi * 0.9 * t + 1),
                   2.5 * np.sin(2 * np.pi * 1.8 * t + 2)]
    acc = gravity + turn.inv().apply(linear)
    rates = (turn[:-1].inv() * turn[1:]).as_rotvec() * rate  # body rates over each interval
    gyr = np.vstack([rates[:1], rates])
    err = np.linalg.norm(gravity_from_attitude(acc, gyr, rate) - gravity, axis=1)
    stand_up = (t > 14.0) & (t < 16.0)
    assert err[stand_up].max() < 0.5 and np.sqrt(np.mean(err**2)) < 0.5


@pytest.mark.parametrize(("dataset", "f1_ms", "f1", "sides"), [("mobgap", 100, 0.89, 0.96),
                                                            ("alcantara2022", 50, 0.99, None)])
def test_timestamps_jittered_by_a_host_clock_keep_the_steps(dataset, f1_ms, f1, sides):
    """Regular samples whose timestamps a host clock moved by up to +-10 % of the interval: the
    engine takes each stamp as the time of its sample.
    Measured: HA_001 F1@100 0.902 (seeds 8 and 9: 0.915, 0.927; as recorded 0.927), left/right
    0.986 (0.973, 0.974; as recorded 1.000): one or two of its 81 ICs; the runner F1@50 0.998,
    bout cadence 0.98 spm, as recorded."""
    def jittered(t, acc, gyr, rate, _truth):
        return jittered_times(t, rate, 0.1, np.random.default_rng(7)), acc, gyr, rate

    s = score(*pooled(_parts_as(dataset, jittered)))
    assert _f1(s, f1_ms) >= f1
    if sides is not None:
        assert s["side"]["accuracy"] >= sides
    else:
        assert s["bouts"]["cadence_mae_spm"] <= 1.1


def _daily_life_walk():
    """(header, block) of HA_001's daily-life trial (Test11), which opens with 3.4 s of standing."""
    from imurun.session.reader import read_session

    (path,) = [p for p in skip_without_shared("mobgap") if "Test11" in p.stem]
    return read_session(path)


def test_another_rate_starts_where_the_recording_starts():
    """The benchmark's and these tests' other sensors at other rates (`at_rate`) hold the first
    readings beyond the recording's start: zero-padded, HA_001's daily-life trial read 0.5 g or less
    for its first samples and found no standing calibration at 50 Hz."""
    header, block = _daily_life_walk()
    for rate in (50.0, 64.0, 200.0):
        t, acc, gyr = at_rate(block.t, block.acc, block.gyr, header.sample_rate_hz, rate)
        assert abs(t[1] - t[0] - 1.0 / rate) < 1e-9
        first = np.linalg.norm(acc[:5], axis=1) / np.linalg.norm(block.acc[0])
        assert np.all(np.abs(first - 1.0) < 0.02), first


def test_a_sensor_at_50_hz_calibrates_on_the_stand_and_keeps_steps_and_sides():
    """HA_001 as a 50 Hz sensor gives it (polyphase filter): the standing before its daily-life walk
    still calibrates, so up and forward are the 100 Hz run's. Measured: F1@100 0.915, left/right
    1.000 (as recorded 0.927 / 0.987); zero-padded at the start 0.915 / 0.973, with forward 20-60
    deg off (0.927 / 0.987 before forward was held through turns: one turning step's row moved).
    Since a forward peak after the loading IC costs three times as much (walk_ic_fwd_late), 0.927 /
    0.974: the detection at 49.64 s now sits 20 ms from its reference (more than 100 ms before) and
    is scored, with the side it had (R for an L, after the missed 49.09 s)."""
    from imurun.core.engine import Engine

    header, block = _daily_life_walk()
    eng = Engine(50.0)
    eng.process(*at_rate(block.t[:400], block.acc[:400], block.gyr[:400], header.sample_rate_hz, 50.0))
    assert eng.status().calibration == "standing"

    def at_50_hz(t, acc, gyr, rate, _truth):
        return *at_rate(t, acc, gyr, rate, 50.0), 50.0

    s = score(*pooled(_parts_as("mobgap", at_50_hz)))
    assert _f1(s, 100) >= 0.92
    assert s["side"]["accuracy"] >= 0.97
