"""HTML building blocks of the report page: escaping, tables with machine-readable numbers, the page.

Every number the page shows from the summary sits in an element carrying `data-key` (its dotted
path in summary.json) and `data-value` (the exact value as JSON), so tools and tests can read the
page's numbers back without parsing formatted text. The page has no script, no external resource
and no web font: it opens offline in any browser.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from html import escape
from pathlib import Path


def number(value: object, digits: int = 1, unit: str = "", scale: float = 1.0, sign: bool = False) -> str:
    """Display form of a number: '—' for missing / NaN, narrow spaces as thousands separators."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or not isinstance(value, int | float):
        return "—" if value is None else escape(str(value))
    if not math.isfinite(value):
        return "—"
    text = f"{value * scale:{'+' if sign else ''},.{digits}f}".replace(",", "\u202f")
    return f"{text}\u2009{unit}" if unit else text


def keyed(
    key: str, raw: object, digits: int = 1, unit: str = "", scale: float = 1.0, sign: bool = False
) -> str:
    """A summary number: its display text in a span carrying its dotted key and exact JSON value."""
    exact = "null" if isinstance(raw, float) and not math.isfinite(raw) else json.dumps(raw)
    return (
        f'<span data-key="{escape(key)}" data-value="{escape(exact)}">'
        f"{number(raw, digits, unit, scale, sign)}</span>"
    )


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], cls: str = "") -> str:
    """Cells are HTML; a header starting with '<' is taken as given, else escaped."""
    head = "".join(f"<th>{h if h.startswith('<') else escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def section(ident: str, title: str, body: str, note: str = "") -> str:
    note_html = f'<p class="note">{note}</p>' if note else ""
    return f'<section id="{ident}"><h2>{escape(title)}</h2>{note_html}{body}</section>'


def figure(svg: str, caption: str) -> str:
    return f'<figure class="plot">{svg}<figcaption>{caption}</figcaption></figure>'


CSS = """
:root { --ink:#1f2933; --muted:#5f6b7a; --line:#e3e7eb; --bg:#f6f7f9; --card:#fff;
        --left:#2f6db5; --right:#d9622b; --warn:#b7791f; --bad:#c53030; --good:#2f855a; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
       font:15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 20px 48px; }
header h1 { margin: 0 0 4px; font-size: 26px; }
header p { margin: 0; color: var(--muted); }
section { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:16px 20px;
          margin-top:18px; }
h2 { font-size: 18px; margin: 0 0 10px; }
h3 { font-size: 15px; margin: 16px 0 6px; }
.note { color: var(--muted); font-size: 13px; margin: -4px 0 10px; }
.tiles { display:grid; grid-template-columns:repeat(auto-fill, minmax(150px, 1fr)); gap:10px; }
.tile { border:1px solid var(--line); border-radius:8px; padding:8px 12px; }
.tile .label { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
.tile .value { font-size:22px; font-weight:600; }
.reading li { margin: 4px 0; }
table { border-collapse: collapse; width: 100%; font-size: 13.5px; font-variant-numeric: tabular-nums; }
caption { text-align:left; font-weight:600; padding: 4px 0; }
th, td { padding: 5px 8px; border-bottom: 1px solid var(--line); text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { color: var(--muted); font-weight: 600; border-bottom: 2px solid var(--line); }
table.quality td, table.flags td, table.cues td, table.flags th, table.cues th { text-align: left; }
table.quality td:first-child { width: 32%; color: var(--muted); }
.left { color: var(--left); } .right { color: var(--right); }
.proxy { font-size: 11px; color: var(--warn); border: 1px solid var(--warn); border-radius: 4px;
         padding: 0 4px; margin-left: 4px; white-space: nowrap; }
.ok { color: var(--good); } .warn { color: var(--warn); } .bad { color: var(--bad); }
.scroll { max-height: 420px; overflow: auto; }
figure.plot { margin: 12px 0 4px; }
figure.plot svg { width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: 13px; }
footer { color: var(--muted); font-size: 12px; margin-top: 18px; }
@media print { body { background: #fff; } section { break-inside: avoid; border: none; } }
"""


def page(title: str, subtitle: str, sections: Sequence[str], footer: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body><main>"
        f"<header><h1>{escape(title)}</h1><p>{subtitle}</p></header>"
        + "".join(sections)
        + f"<footer>{footer}</footer></main></body></html>\n"
    )


def write_page(path: Path, text: str, what: str) -> Path:
    """Write a page, creating its folder: a temporary file renamed into place, so never through a
    symlink at `path`; a failure is an InputError naming the file."""
    from imurun.outputs import make_folder, write_atomically

    make_folder(path.parent)
    write_atomically(path, text)
    return path
