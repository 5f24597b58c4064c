"""`imurun` command line: a table of subcommands, each a module in imurun/commands/.

A command module exposes `add_arguments(parser)` and `main(args) -> int`, a thin layer over the
library; its top-level imports stay light (numpy, numba, Qt and bleak are imported inside `main`)
so that `imurun --help` and `imurun CMD --help` answer at once.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from imurun import __version__
from imurun.errors import ImurunError

# command -> (module, one-line help). Order is the order shown in --help.
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("imurun.commands.demo",
             "replay the bundled recording with dashboard and coach (headless: console)"),
    "run": ("imurun.commands.run", "live run: connect to a sensor over BLE, coach, record"),
    "scan": ("imurun.commands.scan", "list nearby sensors that match a firmware profile"),
    "replay": ("imurun.commands.replay",
               "stream a recorded session through the engine as the live path would"),
    "analyze": ("imurun.commands.analyze", "analyse a session: write steps.csv and summary.json"),
    "batch": ("imurun.commands.batch",
              "analyse many sessions (process pool or Dask) and write the cohort table"),
    "report": ("imurun.commands.report", "write a self-contained HTML report of a session"),
    "history": ("imurun.commands.history", "write an HTML page of a batch's metrics over time, with trends"),
    "export": ("imurun.commands.export",
               "write a session as a FIT activity file (running dynamics, pelvis metrics)"),
    "validate": ("imurun.commands.validate", "score detected steps against a truth / reference steps file"),
    "info": ("imurun.commands.info", "summarise a session file"),
    "import": ("imurun.commands.import_", "convert another app's export (Sensor Logger, phyphox, "
               "Movella DOT, WitMotion, ...) into a session"),
    "simulate": ("imurun.commands.simulate", "write a synthetic session with its ground-truth steps"),
    "emulate": ("imurun.commands.emulate", "serve a recorded session as a virtual BLE sensor (fake BlueZ)"),
    "warmup": ("imurun.commands.warmup",
               "compile the gait engine for this machine now (once after installing), so that the first run "
               "starts at once"),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="imurun",
        description="Real-time running-form coach from a pelvis-mounted IMU.",
    )
    parser.add_argument("--version", action="version", version=f"imurun {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        if name == command:
            importlib.import_module(module).add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command if command in COMMANDS else None)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(importlib.import_module(COMMANDS[args.command][0]).main(args) or 0)
    except ImurunError as exc:
        print(f"imurun {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"imurun {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `imurun replay ... | head`
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
