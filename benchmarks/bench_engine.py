"""Engine speed and accuracy, side by side with peers on the same data, in one run.

    python benchmarks/bench_engine.py [--minutes 60]

- imurun Engine: whole-session throughput, live-like blocks of 10 samples, single-sample call
  latency (p50/p99), JIT cold start (empty numba cache) and warm start (cached), in subprocesses;
- mobgap 1.x IcdIonescu + LrcMcCamley (lower-back IC detection and left/right), given the TRUE
  body-frame axes of the simulated sensor (an advantage imurun does not get);
- imufusion's Ahrs driven sample by sample from Python, against imurun's AHRS on tilt/obliquity
  truth (both relative to standing).
Writes the "Engine" section of benchmarks/RESULTS.md. Peers are optional: `pip install -e .[bench]`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, table, write_section  # noqa: E402

from imurun.core.engine import Engine  # noqa: E402
from imurun.sources.simulate import simulate  # noqa: E402
from imurun.validate import score  # noqa: E402

G = 9.80665
REPEAT = 5  # whole-session timings: the best of these (the machine is shared), all shown


def _repeated(work):
    """Run work() REPEAT times: (wall times, the last result)."""
    times = []
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - t0)
    return times, result


def _spread(times: list[float]) -> str:
    return f"best {min(times):.3f} s of {len(times)} ({' / '.join(f'{t:.3f}' for t in times)})"


def _start_time(cache_dir: str) -> float:
    code = (
        "import time; t0 = time.perf_counter(); import numpy as np;"
        "from imurun.core.engine import Engine; e = Engine(200.0);"
        "e.process(np.arange(400) / 200.0, np.tile([0, 0, 9.81], (400, 1)), np.zeros((400, 3)));"
        "print(time.perf_counter() - t0)"
    )
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def _one_sample_latency(sim, m: int, read_status: bool) -> tuple[np.ndarray, np.ndarray]:
    """Wall time of each of m one-sample `process` calls (ns), and which of them closed a step."""
    eng = Engine(sim.rate_hz)
    lat = np.empty(m)
    closed = np.zeros(m, bool)
    for i in range(m):
        a = time.perf_counter_ns()
        out = eng.process(sim.t[i : i + 1], sim.acc[i : i + 1], sim.gyr[i : i + 1])
        if read_status:
            out.status  # noqa: B018 (built on first read)
        lat[i] = time.perf_counter_ns() - a
        closed[i] = len(out.steps) > 0
    return lat, closed


def bench_imurun(sim) -> tuple[list[list[object]], np.ndarray]:
    rows = []
    n = len(sim.t)
    eng = Engine(sim.rate_hz)
    eng.process(sim.t[:1000], sim.acc[:1000], sim.gyr[:1000])  # compiled (cache warm)
    times, steps = _repeated(lambda: Engine(sim.rate_hz).process(sim.t, sim.acc, sim.gyr).steps)
    dt = min(times)
    rows.append(
        ["imurun Engine, whole session in one call", f"{n / dt / 1e6:.1f} M samples/s", _spread(times)]
    )
    eng = Engine(sim.rate_hz)
    t0 = time.perf_counter()
    for i in range(0, n, 10):
        eng.process(sim.t[i : i + 10], sim.acc[i : i + 10], sim.gyr[i : i + 10])
    dt = time.perf_counter() - t0
    rows.append(
        ["imurun Engine, blocks of 10 samples (live BLE)", f"{n / dt / 1e6:.2f} M samples/s", f"{dt:.2f} s"]
    )
    m = min(n, 40_000)
    for read_status in (False, True):
        lat, closed = _one_sample_latency(sim, m, read_status)
        what = "Engine.process, 1 sample per call" + (" + reading out.status" if read_status else "")
        rows.append([f"imurun {what}", f"p50 {np.percentile(lat, 50) / 1e3:.1f} us",
                     f"p99 {np.percentile(lat, 99) / 1e3:.1f} us"])  # fmt: skip
        if not read_status:
            rows.append([f"... the {closed.sum()} calls of {m} that closed a step",
                         f"p50 {np.percentile(lat[closed], 50) / 1e3:.1f} us",
                         f"p99 {np.percentile(lat[closed], 99) / 1e3:.1f} us"])  # fmt: skip
    with tempfile.TemporaryDirectory() as cold:
        rows.append(
            ["JIT cold start (empty numba cache)", f"{_start_time(cold):.1f} s", "import + compile + 2 s"]
        )
        _start_time(cold)
        rows.append(["JIT warm start (cached)", f"{_start_time(cold):.2f} s", "import + 2 s of samples"])
    return rows, steps


def _body_frame(sim):
    """Sensor data rotated into mobgap's body frame using the simulator's true mounting."""
    r = sim.R_SP  # rows: pelvis axes in sensor coordinates
    acc_p = sim.acc @ r.T
    gyr_p = np.rad2deg(sim.gyr @ r.T)
    import pandas as pd

    # mobgap body frame: is = up (P.z), ml = right (-P.y), pa = forward (P.x): right-handed
    return pd.DataFrame(
        {
            "acc_is": acc_p[:, 2],
            "acc_ml": -acc_p[:, 1],
            "acc_pa": acc_p[:, 0],
            "gyr_is": gyr_p[:, 2],
            "gyr_ml": -gyr_p[:, 1],
            "gyr_pa": gyr_p[:, 0],
        }
    )


def bench_mobgap(sim):
    try:
        from mobgap.initial_contacts import IcdIonescu
        from mobgap.laterality import LrcMcCamley
    except ImportError:
        return None
    data = _body_frame(sim)

    def detect():
        ics = IcdIonescu().detect(data, sampling_rate_hz=sim.rate_hz).ic_list_
        return LrcMcCamley().predict(data, ics, sampling_rate_hz=sim.rate_hz).ic_lr_list_

    times, lr = _repeated(detect)
    idx = lr["ic"].to_numpy()
    det = np.zeros(len(idx), dtype=[("t", "f8"), ("side", "U1")])
    det["t"] = sim.t[idx]
    det["side"] = np.where(lr["lr_label"].to_numpy() == "left", "L", "R")
    return times, det


def _imufusion_up(sim, tuned: bool) -> tuple[np.ndarray, float]:
    """Up direction in S from imufusion's Ahrs driven sample by sample, and its wall time.

    Default settings, or the best of a small grid on this very data (gain 0.1/0.5, acceleration
    rejection 10/90 deg, with and without its gyro `Bias`): gain 0.5, rejection 90 deg, with Bias.
    """
    import imufusion

    ahrs = imufusion.Ahrs()
    ahrs.set_sample_period(1.0 / sim.rate_hz)
    bias = None
    if tuned:
        s = imufusion.AhrsSettings()
        s.convention, s.gain, s.gyroscope_range = imufusion.CONVENTION_NWU, 0.5, 2000.0
        s.acceleration_rejection, s.rejection_timeout, s.sample_rate = 90.0, 5 * sim.rate_hz, sim.rate_hz
        ahrs.set_settings(s)
        bias = imufusion.Bias()
        bs = imufusion.BiasSettings()
        bs.sample_rate = sim.rate_hz
        bias.set_settings(bs)
    n = len(sim.t)
    grav = np.empty((n, 3))
    acc_g = sim.acc / G
    gyr_d = np.rad2deg(sim.gyr)
    t0 = time.perf_counter()
    for i in range(n):
        ahrs.update_no_magnetometer(gyr_d[i] if bias is None else bias.update(gyr_d[i]), acc_g[i])
        grav[i] = ahrs.get_gravity()
    took = time.perf_counter() - t0
    return grav / np.linalg.norm(grav, axis=1, keepdims=True), took


def bench_ahrs(sim):
    """Tilt/obliquity RMSE (deg) against truth, and speed, for imufusion and imurun's AHRS."""
    try:
        import imufusion  # noqa: F401
    except ImportError:
        return None
    n = len(sim.t)
    r = sim.R_SP
    eng = Engine(sim.rate_hz, emit_signals=True)
    t0 = time.perf_counter()
    sig = eng.process(sim.t, sim.acc, sim.gyr).signals
    dt_imurun = time.perf_counter() - t0
    estimates = []
    for name, tuned in (("imufusion Ahrs, default settings", False),
                        ("imufusion Ahrs + Bias, best of a grid on this data", True)):
        up, took = _imufusion_up(sim, tuned)
        u = up @ r.T  # up in the TRUE pelvis frame (an advantage imurun, aligning itself, lacks)
        tilt = np.degrees(np.arcsin(np.clip(-u[:, 0], -1, 1)))
        estimates.append((name + " (Python loop)", tilt, np.degrees(np.arctan2(u[:, 1], u[:, 2])), took))
    imurun = ("imurun AHRS + own alignment (in Engine)", sig["tilt_deg"], sig["obliquity_deg"], dt_imurun)
    estimates.append(imurun)
    gait = sim.t > 10.0
    out = []
    for name, tilt, obl, dt in estimates:
        et = np.sqrt(np.nanmean((tilt[gait] - sim.tilt_deg[gait]) ** 2))
        eo = np.sqrt(np.nanmean((obl[gait] - sim.obliquity_deg[gait]) ** 2))
        out.append([name, f"{n / dt / 1e6:.2f} M samples/s", f"{et:.2f}", f"{eo:.2f}"])
    return out


def _figures(s: dict) -> list[str]:
    f1 = {d["tolerance_ms"]: d["f1"] for d in s["detection"]}
    return [f"{f1[50]:.3f}", f"{f1[100]:.3f}", f"{s['timing']['mae_ms']:.1f}", f"{s['side']['accuracy']:.3f}"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=60.0)
    args = ap.parse_args()
    print(machine())
    t0 = time.perf_counter()
    sim = simulate("easy-run", seed=1, rate_hz=200.0, duration_s=args.minutes * 60.0)
    took = time.perf_counter() - t0
    print(f"simulated {args.minutes:.0f} min at 200 Hz ({len(sim.t)} samples) in {took:.1f} s")
    speed, steps = bench_imurun(sim)
    acc_rows = [["imurun Engine", *_figures(score(steps, sim.truth))]]
    mob = bench_mobgap(sim)
    if mob:
        times, det = mob
        speed.append(["mobgap IcdIonescu + LrcMcCamley", f"{len(sim.t) / min(times) / 1e6:.2f} M samples/s",
                      _spread(times)])  # fmt: skip
        acc_rows.append(["mobgap IcdIonescu + LrcMcCamley (true axes)", *_figures(score(det, sim.truth))])
    ahrs = bench_ahrs(simulate("easy-run", seed=2, rate_hz=200.0, duration_s=300.0))
    body = [
        f"Machine: {machine()}",
        "",
        f"Data: simulator `easy-run`, seed 1, {args.minutes:.0f} min at 200 Hz, random mounting.",
        "",
        "Goals (issue 3): >= 10 M samples/s for a whole session on one core; one-sample `process` "
        "p99 <= 20 us. `imurun analyze` of a 1-hour session: benchmarks/bench_session.py.",
        "",
        table(["what", "speed", "time"], speed),
        "",
        "Step detection against simulator truth (same data):",
        "",
        table(["method", "F1@50ms", "F1@100ms", "timing MAE ms", "left/right"], acc_rows),
    ]
    if ahrs:
        body += [
            "",
            "Attitude against truth (`easy-run` seed 2, 5 min, gait only; degrees RMSE):",
            "",
            table(["method", "speed", "tilt RMSE", "obliquity RMSE"], ahrs),
        ]
    text = "\n".join(body)
    print(text)
    write_section("Engine", text)


if __name__ == "__main__":
    main()
