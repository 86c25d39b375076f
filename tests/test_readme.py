"""The README's two opening commands: the main job runs on the shipped example, CI runs the test line."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from seccomp_gen.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
CI = ROOT / ".ci" / "run"


def _opening_commands() -> list[str]:
    """The ```sh blocks before the first horizontal rule: the README's copy-paste commands."""
    head = README.read_text(encoding="utf-8").split("\n---\n", 1)[0]
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", head, flags=re.S)]


def test_readme_opens_with_exactly_two_one_line_commands() -> None:
    commands = _opening_commands()
    assert len(commands) == 2
    for command in commands:
        assert "\n" not in command, command


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    test_command = _opening_commands()[1]
    assert "python -m pytest" in test_command
    lines = [line.strip() for line in CI.read_text(encoding="utf-8").splitlines()]
    assert test_command in lines


@pytest.mark.parametrize("index", [0, 1])
def test_every_apt_package_is_installed_before_use(index: int) -> None:
    # A fresh Debian needs venv and libseccomp2 (pyseccomp loads it through ctypes) in both commands.
    steps = _opening_commands()[index].split(" && ")
    assert steps[0] == "apt-get update"
    install = shlex.split(steps[1])
    assert install[:3] == ["apt-get", "install", "-y"]
    assert {"python3-venv", "libseccomp2"} <= set(install[3:])


def _tool_steps(command: str) -> list[list[str]]:
    steps = []
    for step in command.split(" && "):
        argv = shlex.split(step)
        if argv[0].endswith("/seccomp-gen"):
            steps.append(argv[1:])
    return steps


def test_main_command_learns_the_example_and_emits_its_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    steps = _tool_steps(_opening_commands()[0])
    assert [argv[0] for argv in steps] == ["learn", "emit"]
    monkeypatch.chdir(ROOT)
    state = tmp_path / "example.db"
    outputs = []
    for step in steps:
        argv = [str(state) if arg == "example.db" else arg for arg in step]
        assert main(argv) == 0
        outputs.append(capsys.readouterr().out)
    # Readers close the state the way they found it: no -wal or -shm left in the user's directory.
    assert sorted(path.name for path in tmp_path.iterdir()) == ["example.db"]
    profile = json.loads(outputs[-1])
    assert profile["defaultAction"] == "SCMP_ACT_ERRNO"
    allowed = {
        name for rule in profile["syscalls"] if rule["action"] == "SCMP_ACT_ALLOW" for name in rule["names"]
    }
    # What explain decodes from the same recording is exactly what the profile allows.
    example = next(arg for arg in steps[0] if arg.startswith("examples/"))
    assert main(["explain", "--json", example]) == 0
    decoded = {json.loads(line)["syscall"] for line in capsys.readouterr().out.splitlines()}
    assert decoded
    assert allowed == decoded
