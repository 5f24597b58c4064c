"""Firmware profiles: load and validate `imurun/firmware_profiles/*.toml` (one sensor family per file).

A profile says declaratively how to recognise a sensor (advertised name patterns, service UUIDs),
which GATT characteristics to subscribe to and write, which byte commands start and stop the
stream at a given rate, which decoder turns notifications into samples and with what parameters.
docs/ble.md describes every key. Any mistake is reported as one line naming the file and the key.
"""

from __future__ import annotations

import fnmatch
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from imurun.errors import InputError, line_of

# Shipped inside the package (pyproject.toml package-data); pip unpacks wheels, so this is a real folder.
PROFILE_DIR = Path(resources.files("imurun") / "firmware_profiles")

# A characteristic is named by UUID or, for protocols such as the Nordic UART Service whose
# characteristics are better identified by what they do, by property.
BY_PROPERTY = "by-property"
CLOCKS = ("device", "arrival")  # device timestamps in packets | arrival order + configured rate
_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_HEX_RE = re.compile(r"^[0-9A-Fa-f]{2}$")
# Stream rates a profile may declare: the engine's upper bound (imurun.core.engine.Engine); the
# start commands carry the rate as a uint16, and no body-worn IMU streams faster.
MAX_RATE_HZ = 2000


@dataclass(frozen=True, slots=True)
class Limit:
    """The values a numeric `[decode]` parameter may take: finite, within [low, high] (low
    excluded when `low_open`), whole when `integer`."""

    low: float
    high: float
    low_open: bool = False
    integer: bool = False

    def problem(self, value: Any) -> str:
        whole = "a whole number" if self.integer else "a number"
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"must be {whole}, got {type(value).__name__}"
        if self.integer and not float(value).is_integer():
            return f"must be {whole}, got {value!r}"
        low_ok = value > self.low if self.low_open else value >= self.low
        if not (math.isfinite(value) and low_ok and value <= self.high):
            low = f"{'>' if self.low_open else '>='} {self.low:g}"
            return f"must be {low} and <= {self.high:g}, got {value!r}"
        return ""


# Every numeric decode parameter any decoder reads, with the values that make sense: a zero or
# NaN scale factor would zero or poison every sample, a zero frame length would never end.
DECODE_LIMITS: dict[str, Limit] = {
    "samples_per_packet": Limit(1, 64, integer=True),
    "frame_samples": Limit(1, 1024, integer=True),
    "acc_factor": Limit(0, 1e6, low_open=True),  # milli-g per count
    "gyr_factor": Limit(0, 1e6),  # deg/s per count; 0 = the sensor has no gyroscope
    "acc_full_scale_g": Limit(0, 1000, low_open=True),
    "gyr_full_scale_dps": Limit(0, 1e5, low_open=True),
    "gyr_full_scale_code": Limit(0, 4, integer=True),
    "payload_mode": Limit(0, 255, integer=True),
}


@dataclass(frozen=True, slots=True)
class Write:
    """One command written to a characteristic; `template` is hex bytes with placeholders."""

    char: str | None  # UUID; None = the profile's gatt.write characteristic
    template: str


@dataclass(frozen=True, slots=True)
class Profile:
    id: str
    name: str
    path: Path
    decoder: str
    clock: str
    sources: tuple[str, ...]
    match_names: tuple[str, ...]  # fnmatch patterns, case-insensitive
    match_services: tuple[str, ...]
    service: str
    notify: tuple[str, ...]  # UUIDs, or (BY_PROPERTY,)
    write: str  # UUID, or BY_PROPERTY
    responses: str | None  # characteristic whose notifications answer commands (not samples)
    channels: tuple[str, ...]  # what the sensor measures: "acc", "gyr"
    rates_hz: tuple[int, ...]
    default_rate_hz: int
    rate_codes: Mapping[int, str]
    start: tuple[Write, ...]
    stop: tuple[Write, ...]
    decode: Mapping[str, Any]

    def matches(self, name: str | None, service_uuids: list[str]) -> bool:
        """Does an advertisement (local name, service UUIDs) look like this family?"""
        if name and any(fnmatch.fnmatch(name.lower(), p.lower()) for p in self.match_names):
            return True
        return any(u.lower() in self.match_services for u in service_uuids)

    def commands(self, which: str, rate_hz: int) -> list[tuple[str, bytes]]:
        """The (characteristic, bytes) writes that start or stop the stream at rate_hz."""
        writes = self.start if which == "start" else self.stop
        return [(w.char or self.write, render(w.template, self, rate_hz)) for w in writes]

    def decode_params(self, rate_hz: int) -> dict[str, Any]:
        return {**self.decode, "rate_hz": float(rate_hz)}


def render(template: str, profile: Profile, rate_hz: int) -> bytes:
    """Fill {rate_code} (from rate_codes) and {rate_u16} (little-endian) into a hex template."""
    text = template.format(
        rate_code=profile.rate_codes.get(rate_hz, ""),
        rate_u16=rate_hz.to_bytes(2, "little").hex(" "),
    )
    parts = text.split()
    if not parts or not all(_HEX_RE.match(p) for p in parts):
        raise ValueError(f"not hex bytes: {text!r}")
    return bytes(int(p, 16) for p in parts)


def load_profiles(directory: Path | None = None) -> dict[str, Profile]:
    """All profiles in the directory, by id. Raises InputError on the first bad file."""
    directory = PROFILE_DIR if directory is None else directory
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise InputError(directory, "no firmware profiles (*.toml) found")
    profiles = [load_profile(p) for p in files]
    return {p.id: p for p in profiles}


def load_profile(path: Path) -> Profile:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise InputError(path, "not UTF-8 text", line_of(exc.object, exc.start)) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(path, f"not valid TOML: {exc}") from None
    return _validate(path, data)


class _Reader:
    """Typed access to the TOML tree, naming the offending key in every error."""

    def __init__(self, path: Path, data: Mapping[str, Any]):
        self.path = path
        self.data = data

    def fail(self, key: str, message: str) -> InputError:
        return InputError(self.path, f"{key}: {message}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        node: Any = self.data
        for part in key.split("."):
            if not isinstance(node, Mapping) or part not in node:
                if default is not ...:
                    return default
                raise self.fail(key, "missing")
            node = node[part]
        if not isinstance(node, kind) or (isinstance(node, bool) and kind in (int, float, (int, float))):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise self.fail(key, f"must be {names}, got {type(node).__name__}")
        return node

    def strings(self, key: str, default: Any = ...) -> tuple[str, ...]:
        items = self.get(key, list, default)
        if not all(isinstance(s, str) for s in items):
            raise self.fail(key, "must be a list of strings")
        return tuple(items)

    def uuid(self, key: str, value: str) -> str:
        value = value.lower()
        if value != BY_PROPERTY and not _UUID_RE.match(value):
            raise self.fail(key, f"not a 128-bit UUID: {value!r}")
        return value


def _validate(path: Path, data: Mapping[str, Any]) -> Profile:
    from imurun.ble.decoders import DECODERS  # the decoder table names the valid decoders

    r = _Reader(path, data)
    known = {"id", "name", "decoder", "clock", "sources", "match", "gatt", "stream", "decode"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise r.fail(unknown[0], "unknown key")
    pid = r.get("id", str)
    if pid != path.stem:
        raise r.fail("id", f"must equal the file name {path.stem!r}, got {pid!r}")
    decoder = r.get("decoder", str)
    if decoder not in DECODERS:
        raise r.fail("decoder", f"unknown decoder {decoder!r} (known: {', '.join(sorted(DECODERS))})")
    clock = r.get("clock", str)
    if clock not in CLOCKS:
        raise r.fail("clock", f"must be one of {', '.join(CLOCKS)}, got {clock!r}")
    sources = r.strings("sources")
    if not sources:
        raise r.fail("sources", "cite the vendor documentation the layout comes from")
    names = r.strings("match.names", ())
    services = tuple(r.uuid("match.services", u) for u in r.strings("match.services", ()))
    if not names and not services:
        raise r.fail("match", "needs names or services to recognise the sensor")

    notify_raw = r.get("gatt.notify", (str, list))
    notify = (notify_raw,) if isinstance(notify_raw, str) else tuple(notify_raw)
    if not notify or not all(isinstance(u, str) for u in notify):
        raise r.fail("gatt.notify", "must be a UUID, a list of UUIDs or 'by-property'")
    notify = tuple(r.uuid("gatt.notify", u) for u in notify)

    rates = tuple(r.get("stream.rates_hz", list))
    if not rates or not all(isinstance(x, int) and not isinstance(x, bool) and 0 < x <= MAX_RATE_HZ
                            for x in rates):
        raise r.fail("stream.rates_hz", f"must be a non-empty list of whole numbers 1..{MAX_RATE_HZ}, "
                                        f"got {list(rates)}")
    default_rate = r.get("stream.default_rate_hz", int)
    if default_rate not in rates:
        raise r.fail("stream.default_rate_hz", f"{default_rate} is not in rates_hz {list(rates)}")
    codes_raw = r.get("stream.rate_codes", Mapping, {})
    try:
        rate_codes = {int(k): str(v) for k, v in codes_raw.items()}
    except ValueError:
        raise r.fail("stream.rate_codes", "keys must be rates in Hz") from None

    channels = r.strings("stream.channels")
    if "acc" not in channels or not set(channels) <= {"acc", "gyr"}:
        raise r.fail("stream.channels", 'must list "acc" and optionally "gyr"')
    profile = Profile(
        id=pid,
        name=r.get("name", str),
        path=path,
        decoder=decoder,
        clock=clock,
        sources=sources,
        match_names=names,
        match_services=services,
        service=r.uuid("gatt.service", r.get("gatt.service", str)),
        notify=notify,
        write=r.uuid("gatt.write", r.get("gatt.write", str)),
        responses=_optional_uuid(r, "gatt.responses"),
        channels=channels,
        rates_hz=rates,
        default_rate_hz=default_rate,
        rate_codes=rate_codes,
        start=_writes(r, "stream.start"),
        stop=_writes(r, "stream.stop"),
        decode=dict(r.get("decode", Mapping, {})),
    )
    # Every command must render for every rate, so a typo fails at load time, not mid-run.
    for which in ("start", "stop"):
        for rate in rates:
            try:
                profile.commands(which, rate)
            except (ValueError, KeyError, IndexError) as exc:
                raise r.fail(f"stream.{which}", f"at {rate} Hz: {exc}") from None
    missing = DECODERS[decoder].check_params(profile.decode)
    if missing:
        raise r.fail("decode", missing)
    for key, value in profile.decode.items():
        problem = DECODE_LIMITS[key].problem(value) if key in DECODE_LIMITS else ""
        if problem:
            raise r.fail(f"decode.{key}", problem)
    return profile


def _optional_uuid(r: _Reader, key: str) -> str | None:
    value = r.get(key, str, None)
    return None if value is None else r.uuid(key, value)


def _writes(r: _Reader, key: str) -> tuple[Write, ...]:
    items = r.get(key, list, [])
    writes = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping) or not isinstance(item.get("bytes"), str):
            raise r.fail(f"{key}[{i}]", "must be a table with 'bytes' (hex) and optional 'char'")
        char = item.get("char")
        if char is not None and not isinstance(char, str):
            raise r.fail(f"{key}[{i}].char", "must be a UUID string")
        writes.append(Write(None if char is None else r.uuid(f"{key}[{i}].char", char), item["bytes"]))
    return tuple(writes)
