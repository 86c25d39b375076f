"""Meta-tests over the whole CLI: every command has help with an example, and --version works."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer.main

from seccomp_gen import __version__
from seccomp_gen.cli import app, main


def _command_names() -> list[str]:
    group = typer.main.get_command(app)
    assert hasattr(group, "commands")
    return sorted(group.commands)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"seccomp-gen {__version__}"


def test_module_entry_point_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "seccomp_gen", "--version"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    assert __version__ in done.stdout


@pytest.mark.parametrize("name", _command_names())
def test_every_command_has_help_with_an_example(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([name, "--help"]) == 0
    out = capsys.readouterr().out
    assert "seccomp-gen" in out.split("Options", 1)[0], f"{name} --help shows no example"


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["no-such-command"]) == 2
    assert "No such command" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        pytest.param(["no-such-command"], "No such command 'no-such-command'", id="command"),
        pytest.param(["learn", "--no-such-option"], "No such option: --no-such-option", id="option"),
        pytest.param(["emit", "--format", "xml"], "'xml' is not one of", id="choice"),
        pytest.param(["emit", "--errno", "EWHAT"], "Invalid value for --errno", id="value"),
        pytest.param(["emit", "--state"], "Option '--state' requires an argument", id="missing-value"),
        pytest.param(["syscalls", "59", "--arch"], "Option '--arch' requires an argument", id="arch-missing"),
    ],
)
def test_a_usage_error_is_one_line(argv: list[str], says: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Bad options read like every other error: one ``error:`` line, exit 2, no usage block."""
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: "), captured.err
    assert captured.err.count("\n") == 1, captured.err
    assert says in captured.err
    assert "Value error" not in captured.err
    assert "Usage:" not in captured.err


def test_no_arguments_shows_the_help_not_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    """A bare ``seccomp-gen`` did nothing: the help, laid out as --help lays it out, on stderr; exit 2."""
    assert main([]) == 2
    captured = capsys.readouterr()
    assert main(["--help"]) == 0
    assert captured.err.strip() == capsys.readouterr().out.strip()
    assert captured.out == ""
    assert captured.err.startswith("Usage: seccomp-gen")
    assert "\nCommands:\n" in captured.err
