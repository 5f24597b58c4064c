"""Runner profile: targets, thresholds, rule timing, wording, voice and metronome (docs/coaching.md).

Read from a TOML file (default ~/.config/imurun/runner.toml, or $XDG_CONFIG_HOME/imurun/runner.toml);
every key is optional and falls back to the defaults below. Unknown keys and wrong types are input
errors naming the file, so a typo never silently disables a cue.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from imurun.errors import InputError


@dataclass(frozen=True)
class Cadence:
    # Absolute target (steps/min); 0 = derive it from the baseline measured at the start of the run.
    target_spm: float = 0.0
    # Relative target: baseline x (1 + increase_pct/100). Heiderscheit et al. 2011 (MSSE 43:296):
    # +5 % cadence reduced hip and knee loading, +10 % more so. 0 keeps the runner's own cadence and
    # only coaches when it sags (fatigue); set 5-10 for cadence retraining.
    increase_pct: float = 0.0
    baseline_s: float = 60.0  # running time over which the baseline (step rate) is taken
    tolerance_pct: float = 3.0  # cue when cadence is more than this below the target


@dataclass(frozen=True)
class Thresholds:
    # Contralateral pelvic drop, deg rel. standing. Bramah et al. 2018 (AJSM 46:3023): each extra
    # degree raised the odds of being an injured runner by ~80 %; no clinical cut-off exists, 7 deg
    # is a design choice above typical healthy running.
    pelvic_drop_deg: float = 7.0
    # No literature cut-offs for these three: set between the simulator's easy run (tilt 4 deg,
    # braking 0.31 m/s) and its fatigued / overstriding runner (tilt 7 deg, braking 0.72 m/s).
    tilt_deg: float = 6.0  # mean anterior pelvic tilt over the step, deg rel. standing
    # Without a standing calibration there is no baseline for tilt_deg / lumbar_ext_deg: those two
    # rules then cue on the rise above the early-run posture instead. 2 deg = the simulator's easy
    # run (4 deg) to the tilt threshold (6 deg); like tilt_deg, a design choice to tune per runner.
    tilt_change_deg: float = 2.0
    lumbar_ext_deg: float = 6.0  # lumbar extension (or its single-sensor tilt proxy), deg
    braking_mps: float = 0.5  # forward speed lost after IC: overstride proxy
    # Forward trunk lean, deg (trunk sensor only): self-selected about 7 deg (Teng & Powers 2014,
    # JOSPT 44:785); clinical target 8-10 deg. Cue when the runner is more upright than this.
    trunk_lean_min_deg: float = 5.0
    # How far back inside a threshold a metric must come to count as fixed (hysteresis), as a
    # fraction of the threshold: e.g. drop fixed below 7 x (1 - 0.15) = 5.95 deg.
    hysteresis: float = 0.15


@dataclass(frozen=True)
class Timing:
    window_steps: int = 10  # per rule (per side for side-specific rules): the last N steps looked at
    min_steps: int = 7  # a pattern is persistent when at least this many of them agree
    cue_cooldown_s: float = 60.0  # the same cue again at the earliest after this
    any_cooldown_s: float = 10.0  # any two sounds (cues, praise) at least this far apart
    quiet_start_s: float = 30.0  # no form cues in the first seconds of running (start reminder only)
    posture_s: float = 20.0  # no standing calibration: running time the early-run posture is taken over


@dataclass(frozen=True)
class Priority:
    """Higher wins when several cues are due at once."""

    start: int = 5
    level_hips: int = 4
    quicker_steps: int = 3
    ease_arch: int = 2
    lean_forward: int = 1
    praise: int = 0


@dataclass(frozen=True)
class Wording:
    start: str = "Easy start. Keep your first strides short."
    quicker_steps: str = "Quicker, shorter steps."
    level_hips: str = "{side} hip dropping. Level your hips."  # {side}: Left / Right
    # ... while the engine's status flags its sides as uncertain: a hip it may have wrong goes unnamed
    level_hips_unsided: str = "One hip is dropping. Level your hips."
    ease_arch: str = "Ease the arch. Tuck your pelvis."
    lean_forward: str = "Lean slightly forward."
    praise: str = "Good. That's it."
    # Said by `imurun run --calibrate` (imurun/ble/calibrate.py), not cues of the rules.
    calibrate: str = "Stand tall and still for calibration."
    calibrated: str = "Calibrated. Off you go."
    calibration_missed: str = "Calibration missed. Hip angles are rough until you stand still."


@dataclass(frozen=True)
class Voice:
    name: str = "en-us"  # espeak-ng voice (`espeak-ng --voices`)
    rate_wpm: int = 170
    volume: float = 0.9  # 0..1


@dataclass(frozen=True)
class Metronome:
    enabled: bool = False
    volume: float = 0.3  # 0..1


@dataclass(frozen=True)
class RunnerProfile:
    cadence: Cadence = field(default_factory=Cadence)
    thresholds: Thresholds = field(default_factory=Thresholds)
    timing: Timing = field(default_factory=Timing)
    priority: Priority = field(default_factory=Priority)
    wording: Wording = field(default_factory=Wording)
    voice: Voice = field(default_factory=Voice)
    metronome: Metronome = field(default_factory=Metronome)


def default_profile_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "imurun" / "runner.toml"


def load_profile(path: Path | None = None) -> RunnerProfile:
    """The profile at `path`; with None, the default location if that file exists, else defaults."""
    if path is None:
        path = default_profile_path()
        if not path.is_file():
            return RunnerProfile()
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise InputError(path, f"cannot read runner profile: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(path, "runner profile is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(path, f"not valid TOML: {exc}") from None
    return profile_from_dict(data, path)


def profile_from_dict(data: dict[str, Any], path: object = "<profile>") -> RunnerProfile:
    sections = {}
    for name, value in data.items():
        section_type = _SECTIONS.get(name)
        if section_type is None:
            raise InputError(path, f"unknown section [{name}] (known: {', '.join(_SECTIONS)})")
        if not isinstance(value, dict):
            raise InputError(path, f"[{name}] must be a table")
        sections[name] = _section(section_type, value, name, path)
    profile = RunnerProfile(**sections)
    validate_profile(profile, path)
    return profile


_SECTIONS = {f.name: f.default_factory for f in fields(RunnerProfile)}


def _section(section_type: type, values: dict[str, Any], name: str, path: object) -> Any:
    defaults = section_type()
    known = {f.name: type(getattr(defaults, f.name)) for f in fields(section_type)}
    for key, value in values.items():
        want = known.get(key)
        if want is None:
            raise InputError(path, f"unknown key {name}.{key} (known: {', '.join(known)})")
        ok = isinstance(value, want) and not (want is not bool and isinstance(value, bool))
        if want is float and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        if not ok:
            raise InputError(path, f"{name}.{key} must be {want.__name__}, got {value!r}")
    return replace(defaults, **{k: (float(v) if known[k] is float else v) for k, v in values.items()})


def validate_profile(p: RunnerProfile, path: object) -> None:
    """Raise InputError naming `path` (a file, or "command line") for values out of range."""
    problems = [f"{s.name}.{f.name} must be a finite number"  # NaN passes every range check below
                for s in fields(p) for f in fields(getattr(p, s.name))
                if isinstance(v := getattr(getattr(p, s.name), f.name), float) and not math.isfinite(v)]
    if p.cadence.target_spm < 0 or p.cadence.target_spm > 300:
        problems.append("cadence.target_spm must be 0 (relative) or a cadence in 1..300")
    if p.cadence.baseline_s <= 0:
        problems.append("cadence.baseline_s must be > 0")
    if not 0 <= p.thresholds.hysteresis < 1:
        problems.append("thresholds.hysteresis must be in [0, 1)")
    if p.timing.quiet_start_s < 0:
        problems.append("timing.quiet_start_s must be >= 0")
    if p.timing.posture_s <= 0:
        problems.append("timing.posture_s must be > 0")
    if not 1 <= p.timing.min_steps <= p.timing.window_steps:
        problems.append("timing.min_steps must be in 1..timing.window_steps")
    for name, value in (("voice.volume", p.voice.volume), ("metronome.volume", p.metronome.volume)):
        if not 0 <= value <= 1:
            problems.append(f"{name} must be in 0..1")
    if "{side}" not in p.wording.level_hips:
        problems.append("wording.level_hips must contain {side}")
    if "{side}" in p.wording.level_hips_unsided:
        problems.append("wording.level_hips_unsided must not contain {side}")
    if problems:
        raise InputError(path, "; ".join(problems))
