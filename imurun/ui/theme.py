"""Dashboard colours: a dark theme (default, for a dim treadmill room) and a light one (daylight, print)."""

from __future__ import annotations

from dataclasses import dataclass

from imurun.errors import ImurunError


@dataclass(frozen=True)
class Theme:
    name: str
    background: str  # window and plot background
    panel: str  # background of the number tiles and the cue log
    text: str  # main text and plot axes
    muted: str  # captions, units, grid
    left: str  # everything about the left side: left-foot steps, left hip
    right: str  # everything about the right side
    trace: tuple[str, str, str]  # the three signal curves of one plot
    band: str  # target band / threshold fill (RGBA hex)
    threshold: str  # threshold and baseline lines
    alert: str  # a value beyond its threshold


# Left/right are blue/orange, the pair that stays distinct for the common colour-vision
# deficiencies (Okabe & Ito, "Color Universal Design", 2008).
DARK = Theme(
    name="dark",
    background="#121417",
    panel="#1d2026",
    text="#e8eaed",
    muted="#8a9099",
    left="#56b4e9",
    right="#e69f00",
    trace=("#e8eaed", "#009e73", "#cc79a7"),
    band="#009e7340",
    threshold="#d55e00",
    alert="#ff6b57",
)

LIGHT = Theme(
    name="light",
    background="#ffffff",
    panel="#f1f3f5",
    text="#1b1e23",
    muted="#5f6670",
    left="#0072b2",
    right="#d55e00",
    trace=("#1b1e23", "#009e73", "#cc79a7"),
    band="#009e7333",
    threshold="#b00020",
    alert="#c62828",
)

THEMES = {t.name: t for t in (DARK, LIGHT)}


def get_theme(name: str) -> Theme:
    try:
        return THEMES[name]
    except KeyError:
        raise ImurunError(f"unknown theme {name!r} (known: {', '.join(THEMES)})") from None
