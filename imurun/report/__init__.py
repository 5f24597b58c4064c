"""The post-run report: one self-contained HTML page per session (docs/report.md).

`write_report(session_path, out_html, steps=None, summary=None, cues_csv=None)` is imported on
first use, so that importing the command module stays light for `imurun report --help`.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "write_report":
        from imurun.report.build import write_report

        return write_report
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
