import importlib
import subprocess
import sys

import pytest

from imurun.cli import COMMANDS, build_parser, main


def test_help_lists_every_command(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out


def test_unknown_command_is_a_usage_error():
    proc = subprocess.run([sys.executable, "-m", "imurun", "no-such-command"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "invalid choice" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_module_imports_and_exposes_its_entry_points(name):
    module = importlib.import_module(COMMANDS[name][0])
    assert callable(getattr(module, "add_arguments", None)), f"{module.__name__} lacks add_arguments"
    assert callable(getattr(module, "main", None)), f"{module.__name__} lacks main"
    build_parser(name)  # its add_arguments builds a valid parser


def test_every_command_lives_in_imurun_commands():
    """One home for commands: each module there is a command of the table, and only they are."""
    from pathlib import Path

    import imurun.commands

    here = Path(imurun.commands.__file__).parent
    modules = {f"imurun.commands.{p.stem}" for p in here.glob("*.py") if p.stem != "__init__"}
    assert modules == {module for module, _ in COMMANDS.values()}


def test_every_command_answers_help_with_exit_0():
    """`imurun CMD --help` per command, run in parallel to keep the test short."""
    procs = {
        name: subprocess.Popen([sys.executable, "-m", "imurun", name, "--help"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
        for name in COMMANDS
    }
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, (name, err)
        assert out.startswith(f"usage: imurun {name}"), (name, out)
