"""Ground-truth simulator: a synthetic sacral IMU session and its exact per-step truth.

`simulate()` builds the scenario's timeline (sim_scenarios, sim_schedule), moves a body through it
(sim_body), measures that motion with an imperfect IMU (sim_sensor) and computes the truth the engine
is scored against (sim_truth). Model and magnitudes: docs/simulator.md.
`imurun simulate` writes the session CSV and NAME.steps.csv (and NAME.trunk.csv for two sensors).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from imurun.errors import ImurunError
from imurun.sources.sim_scenarios import SCENARIOS

if TYPE_CHECKING:  # numpy is imported where it is used, so `imurun simulate --help` stays instant
    import numpy as np

MOUNTS = ("random", "upright")


@dataclass
class SimResult:
    """A simulated session. Sensor arrays are SI (m/s^2, rad/s) in the sensor frame S, one row per
    sample that arrived (lost packets are missing rows); truth angles are degrees."""

    scenario: str
    seed: int
    rate_hz: float
    t: np.ndarray  # (n,) session clock, s
    acc: np.ndarray  # (n, 3) specific force
    gyr: np.ndarray  # (n, 3)
    trunk_acc: np.ndarray | None  # second sensor (trunk scenarios), same timestamps
    trunk_gyr: np.ndarray | None
    steps: np.ndarray  # STEP_DTYPE truth, one row per written step
    tilt_deg: np.ndarray  # (n,) true pelvis angles relative to standing (Euler ZYX in the heading
    obliquity_deg: np.ndarray  # frame leaning with the body): anterior tilt +, left side up +,
    rotation_deg: np.ndarray  # rotation = yaw relative to the running direction
    heading_deg: np.ndarray  # (n,) running direction in E: pelvis yaw in E = heading + rotation
    lean_deg: np.ndarray  # (n,) the whole body's lean into a curve, a roll added to obliquity
    up_s: np.ndarray  # (n, 3) unit earth-up in S: gravity points along -up_s; acc at rest ~ g*up_s
    R_SP: np.ndarray  # (3, 3) mounting rotation at t = 0: v_P = R_SP v_S
    R_ST: np.ndarray | None  # trunk sensor mounting: v_trunk = R_ST v_S
    height_m: np.ndarray  # (n,) true pelvis height (relative)
    fwd_mps: np.ndarray  # (n,) true forward pelvis velocity along the heading
    lost_samples: int

    @property
    def truth(self) -> np.ndarray:
        """The truth steps (the name the benchmarks use)."""
        return self.steps

    @property
    def device(self) -> str:
        return f"imurun simulator (synthetic) scenario={self.scenario} seed={self.seed}"


def simulate(
    scenario: str,
    seed: int = 0,
    rate_hz: float = 200.0,
    duration_s: float | None = None,
    mount: str = "random",
    *,
    loss: float | None = None,
    ideal: bool = False,
) -> SimResult:
    """Simulate `scenario`. `loss` overrides the scenario's lost-sample fraction; `ideal` turns off
    all sensor errors (noise, biases, scale, quantisation) and packet loss, for physics checks."""
    import numpy as np

    from imurun.sources.sim_body import Body
    from imurun.sources.sim_rotation import random_axis, random_rotation, zyx_apply_T
    from imurun.sources.sim_schedule import build_schedule
    from imurun.sources.sim_sensor import ImuErrors, Mount, device_times, kept_samples, sample_sensors
    from imurun.sources.sim_truth import step_truth

    if scenario not in SCENARIOS:
        raise ImurunError(f"unknown scenario {scenario!r}; choose one of: {', '.join(SCENARIOS)}")
    if mount not in MOUNTS:
        raise ImurunError(f"unknown mount {mount!r}; choose random or upright")
    if not 20.0 <= rate_hz <= 2000.0:
        raise ImurunError(f"sample rate {rate_hz} Hz is outside 20..2000 Hz")
    sc = SCENARIOS[scenario]
    duration = sc.default_duration_s if duration_s is None else float(duration_s)
    if duration < 1.0:
        raise ImurunError(f"duration {duration} s is too short (>= 1 s)")
    rng_sched, rng_mount, rng_clock, rng_loss, rng_err, rng_noise = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(6)
    )
    spec = sc.sensor
    body = Body(build_schedule(sc.segments(duration), -sc.lead_in_s, rng_sched))

    def make_mount() -> Mount:
        r0 = random_rotation(rng_mount) if mount == "random" else np.eye(3)
        return Mount(
            r0=r0,
            slip_axis=random_axis(rng_mount),
            slip_rad=np.radians(spec.slip_deg),
            slip_t=0.5 * duration,
            wobble_axis=random_axis(rng_mount),
            wobble_rad=np.radians(spec.wobble_deg),
        )

    pelvis_mount = make_mount()
    trunk_mount = make_mount() if spec.trunk else None
    t = device_times(duration, rate_hz, rng_clock)
    s = sample_sensors(body, t, rate_hz, pelvis_mount, trunk_mount)
    acc, gyr, trunk_acc, trunk_gyr = s.f_s, s.w_s, s.trunk_f, s.trunk_w
    if not ideal:
        errors = ImuErrors.draw(rng_err, spec.acc_noise_ms2, spec.gyr_noise_rads)
        acc, gyr = errors.measure(acc, gyr, rng_noise)
        if spec.trunk:
            errors = ImuErrors.draw(rng_err, spec.acc_noise_ms2, spec.gyr_noise_rads)
            trunk_acc, trunk_gyr = errors.measure(trunk_acc, trunk_gyr, rng_noise)
    keep = kept_samples(len(t), 0.0 if ideal else spec.loss if loss is None else loss, rng_loss)

    at = body.at(t)
    p_bal = body.pelvis(at)
    p = body.lean_into_curve(at, p_bal)  # the sensor's true orientation: obliquity + lean
    up_p = zyx_apply_T(p.yaw, p.pitch, p.roll, np.tile([0.0, 0.0, 1.0], (len(t), 1)))
    up_s = pelvis_mount.to_sensor(body, at, up_p)
    steps = step_truth(body, spec.trunk)
    # a lead-in is simulated but not recorded; a step exists once its next IC is recorded
    steps = steps[(steps["t"] >= 0.0) & (steps["t"] + steps["step_time_s"] <= t[-1])]

    def kept(x):
        return None if x is None else x[keep]

    return SimResult(
        scenario=scenario,
        seed=seed,
        rate_hz=rate_hz,
        t=t[keep],
        acc=acc[keep],
        gyr=gyr[keep],
        trunk_acc=kept(trunk_acc),
        trunk_gyr=kept(trunk_gyr),
        steps=steps,
        tilt_deg=np.degrees(p.pitch)[keep],
        obliquity_deg=np.degrees(p_bal.roll)[keep],
        rotation_deg=np.degrees(p.yaw)[keep],
        heading_deg=np.degrees(body.heading(at)[0])[keep],
        lean_deg=np.degrees(p.roll - p_bal.roll)[keep],
        up_s=up_s[keep],
        R_SP=pelvis_mount.r0,
        R_ST=None if trunk_mount is None else trunk_mount.r0,
        height_m=s.height_m[keep],
        fwd_mps=s.fwd_mps[keep],
        lost_samples=int(np.count_nonzero(~keep)),
    )


def write_files(sim: SimResult, out: Path) -> list[Path]:
    """Write the session (and trunk session) CSV and the truth steps; returns the paths written.

    They replace any earlier files together, once all are written (imurun.outputs).
    """
    from imurun.outputs import Outputs, make_folder
    from imurun.session.format import SessionHeader
    from imurun.session.paths import steps_path_for, trunk_path_for
    from imurun.session.truth import steps_csv_text
    from imurun.session.writer import SessionWriter

    extra = {"synthetic": f"scenario={sim.scenario} seed={sim.seed} (docs/simulator.md)"}
    files = [(out, "sacrum", sim.acc, sim.gyr)]
    if sim.trunk_acc is not None:
        files.append((trunk_path_for(out), "upper-back", sim.trunk_acc, sim.trunk_gyr))
    written = []
    make_folder(Path(out).parent)
    with Outputs() as outputs:
        for path, placement, acc, gyr in files:
            header = SessionHeader(device=sim.device, placement=placement, sample_rate_hz=sim.rate_hz)
            header.extra.update(extra)
            with SessionWriter(outputs.path(path), header) as w:
                w.write(sim.t, acc, gyr)
            written.append(path)
        steps_path = steps_path_for(out)
        outputs.write(steps_path, steps_csv_text(sim.steps))
    return [*written, steps_path]
