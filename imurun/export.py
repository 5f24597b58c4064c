"""`imurun export SESSION --fit OUT.fit`: the session as a FIT activity file for training logs.

The session is analysed (imurun.analyze.analyze), and every second of session time in which steps
landed becomes one FIT `record` message with the means over those steps: cadence, stance time and
vertical oscillation in the standard running-dynamics fields, and the pelvis metrics as developer
fields. One lap, one session and the activity message close the file, as the FIT activity file
type asks (file_id, timer start event, records, timer stop event, lap, session, activity).

Field units and scales from the FIT SDK profile (Profile.xlsx, 21.x; FIT Protocol: the "Activity
File" and "Developer Data" pages of the FIT SDK documentation):
- record.cadence: rpm, which for running is strides per minute (steps / 2); fractional_cadence
  adds 1/128 rpm: cadence + fractional_cadence = spm / 2;
- record.stance_time: ms (stored x10);
- record.vertical_oscillation: mm (stored x10);
- timestamps: whole seconds since 1989-12-31 00:00 UTC (the encoder takes Unix milliseconds).
Encoded with fit-tool (PyPI, BSD-3-Clause); imurun[fit]. Docs: docs/batch.md ("FIT export").
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imurun.errors import ImurunError, InputError

# Developer fields (developer data index 0): (field number, name, units, cohort-style source).
# Pelvic drop is named by the hip that drops: the left hip drops while the right foot is down.
DEVELOPER_FIELDS: tuple[tuple[int, str, str], ...] = (
    (0, "pelvic_drop_left_hip", "deg"),
    (1, "pelvic_drop_right_hip", "deg"),
    (2, "pelvic_tilt", "deg"),
    (3, "pelvic_rotation_range", "deg"),
    (4, "braking", "m/s"),
)
# A random but fixed application id (16 bytes) that names imurun's developer fields.
APPLICATION_ID = bytes.fromhex("5c1e0b9b7a4f4f2a9d3e6b1f0c2d8a17")

if TYPE_CHECKING:
    import numpy as np


def per_second(steps: np.ndarray) -> dict[str, np.ndarray]:
    """Means per whole second of session time over the steps that landed in it (NaN where none had
    a value); 'second' holds the seconds that have at least one step."""
    import numpy as np

    second = np.floor(steps["t"]).astype(np.int64)
    seconds, index = np.unique(second, return_inverse=True)

    def mean(values: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
        ok = np.isfinite(values) if keep is None else np.isfinite(values) & keep
        total = np.bincount(index[ok], weights=values[ok], minlength=len(seconds))
        count = np.bincount(index[ok], minlength=len(seconds))
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(count > 0, total / count, np.nan)

    drop = steps["pelvic_drop_deg"]
    return {
        "second": seconds,
        "cadence_spm": mean(steps["cadence_spm"]),
        "contact_time_s": mean(steps["contact_time_s"]),
        "vertical_osc_cm": mean(steps["vertical_osc_cm"]),
        "pelvic_drop_left_hip": mean(drop, steps["side"] == "R"),
        "pelvic_drop_right_hip": mean(drop, steps["side"] == "L"),
        "pelvic_tilt": mean(steps["tilt_deg"]),
        "pelvic_rotation_range": mean(steps["rotation_range_deg"]),
        "braking": mean(steps["braking_mps"]),
    }


def _cadence_fields(spm: float) -> tuple[int, float]:
    """(cadence, fractional_cadence): strides per minute split into whole and 1/128 parts."""
    strides = round(spm / 2 * 128) / 128
    whole = math.floor(strides)
    return whole, strides - whole


def start_time_utc(session: Path, header: dict[str, Any] | None) -> dt.datetime:
    """The session's start (cohort.session_date: header, file name or file time) as UTC."""
    from imurun.cohort import session_date

    local, _ = session_date(session, header)
    return local.astimezone(dt.UTC)  # a naive datetime is this machine's local time


def write_fit(session: Path | str, out: Path | str) -> dict[str, Any]:
    """Analyse `session` and write it as a FIT activity to `out`; returns what was written."""
    try:
        from fit_tool.base_type import BaseType
        from fit_tool.developer_field import DeveloperField
        from fit_tool.fit_file_builder import FitFileBuilder
        from fit_tool.profile.messages.activity_message import ActivityMessage
        from fit_tool.profile.messages.developer_data_id_message import DeveloperDataIdMessage
        from fit_tool.profile.messages.event_message import EventMessage
        from fit_tool.profile.messages.field_description_message import FieldDescriptionMessage
        from fit_tool.profile.messages.file_id_message import FileIdMessage
        from fit_tool.profile.messages.lap_message import LapMessage
        from fit_tool.profile.messages.record_message import RecordMessage
        from fit_tool.profile.messages.session_message import SessionMessage
        from fit_tool.profile.profile_type import Event, EventType, FileType, Manufacturer, Sport, SubSport
    except ImportError:
        raise ImurunError("FIT export needs fit-tool: pip install 'imurun[fit]'") from None
    import numpy as np

    from imurun.analyze import analyze

    session, out = Path(session), Path(out)
    steps, summary = analyze(session)
    if len(steps) == 0:
        raise InputError(session, "no steps detected: nothing to export")
    start = start_time_utc(session, summary.get("session"))
    start_ms = round(start.timestamp()) * 1000  # FIT times are whole seconds
    rows = per_second(np.sort(steps, order="t"))
    end_s = float(summary["duration_s"])
    end_ms = start_ms + round(end_s) * 1000

    builder = FitFileBuilder(auto_define=True, min_string_size=50)
    file_id = FileIdMessage()
    file_id.type = FileType.ACTIVITY
    file_id.manufacturer = Manufacturer.DEVELOPMENT.value
    file_id.product = 0
    file_id.serial_number = 1
    file_id.time_created = start_ms
    builder.add(file_id)
    developer = DeveloperDataIdMessage()
    developer.application_id = APPLICATION_ID
    developer.developer_data_index = 0
    builder.add(developer)
    for number, name, units in DEVELOPER_FIELDS:
        description = FieldDescriptionMessage()
        description.developer_data_index = 0
        description.field_definition_number = number
        description.fit_base_type_id = BaseType.FLOAT32
        description.field_name = name
        description.units = units
        builder.add(description)
    builder.add(_event(EventMessage, Event, EventType.START, start_ms))

    for i, second in enumerate(rows["second"]):
        fields = []
        for number, name, _ in DEVELOPER_FIELDS:
            value = rows[name][i]
            if np.isfinite(value):
                field = DeveloperField(developer_data_index=0, field_id=number, size=4,
                                       base_type=BaseType.FLOAT32)
                field.set_value(0, float(value))
                fields.append(field)
        record = RecordMessage(developer_fields=fields)
        record.timestamp = start_ms + int(second) * 1000
        if np.isfinite(rows["cadence_spm"][i]):
            record.cadence, record.fractional_cadence = _cadence_fields(rows["cadence_spm"][i])
        if np.isfinite(rows["contact_time_s"][i]):
            record.stance_time = rows["contact_time_s"][i] * 1000.0
        if np.isfinite(rows["vertical_osc_cm"][i]):
            record.vertical_oscillation = rows["vertical_osc_cm"][i] * 10.0
        builder.add(record)

    builder.add(_event(EventMessage, Event, EventType.STOP_ALL, end_ms))
    m = summary["metrics"]
    totals = {"start_time": start_ms, "timestamp": end_ms, "total_elapsed_time": end_s,
              "total_timer_time": end_s, "sport": Sport.RUNNING, "sub_sport": SubSport.GENERIC}
    averages = {"avg_stance_time": _scaled(m["contact_time_s"]["all"]["mean"], 1000.0),
                "avg_vertical_oscillation": _scaled(m["vertical_osc_cm"]["all"]["mean"], 10.0)}
    if summary["cadence_mean_spm"] is not None:
        whole, fraction = _cadence_fields(summary["cadence_mean_spm"])
        averages |= {"avg_cadence": whole, "avg_fractional_cadence": fraction}
    lap = {"event": Event.LAP, "event_type": EventType.STOP}
    whole_run = {"event": Event.SESSION, "event_type": EventType.STOP, "first_lap_index": 0, "num_laps": 1}
    for message_type, extra in ((LapMessage, lap), (SessionMessage, whole_run)):
        message = message_type()
        for name, value in {**totals, **averages, **extra}.items():
            if value is not None:
                setattr(message, name, value)
        builder.add(message)
    activity = ActivityMessage()
    activity.timestamp = end_ms
    activity.total_timer_time = end_s
    activity.num_sessions = 1
    activity.event, activity.event_type = Event.ACTIVITY, EventType.STOP
    builder.add(activity)

    data = builder.build().to_bytes()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp")
        tmp.write_bytes(data)
        tmp.replace(out)
    except OSError as exc:
        raise InputError(out, f"cannot write: {exc.strerror or exc}") from None
    return {"records": len(rows["second"]), "steps": len(steps), "start": start, "bytes": len(data)}


def _scaled(value: float | None, scale: float) -> float | None:
    return None if value is None else value * scale


def _event(message_type: Any, event: Any, event_type: Any, timestamp_ms: int) -> Any:
    message = message_type()
    message.event = event.TIMER
    message.event_type = event_type
    message.timestamp = timestamp_ms
    return message
