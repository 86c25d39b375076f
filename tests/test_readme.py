"""The README's two opening commands: the main job runs on the shipped example, CI runs the test line."""

from __future__ import annotations

import gzip
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from seccomp_gen.cli import main
from seccomp_gen.runtimes import installed, runtime_base
from tests.realpath import need_kmsg, need_program

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
    # A fresh Debian needs venv and libseccomp2 (pyseccomp loads it through ctypes) in both commands, and
    # gcc and the Python headers to build the parser's C accelerator (without them it runs in Python).
    steps = _opening_commands()[index].split(" && ")
    assert steps[0] == "apt-get update"
    install = shlex.split(steps[1])
    assert install[:3] == ["apt-get", "install", "-y"]
    assert {"python3-venv", "libseccomp2", "gcc", "python3-dev"} <= set(install[3:])


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
    # ... and runc's own needs, which --base auto adds because the recording has runc:[2:INIT] records.
    versions = {r.name: r.version for r in installed(("runc",))}
    base = set(runtime_base("runc", versions.get("runc")).names)
    assert allowed == decoded | base
    commented = [rule for rule in profile["syscalls"] if "runc's own init" in rule.get("comment", "")]
    assert [set(rule["names"]) for rule in commented] == [base - decoded]


def test_main_command_leaves_nothing_git_would_commit() -> None:
    """The state README command 1 writes in the clone (and SQLite's side files) is ignored by git."""
    states = {arg for argv in _tool_steps(_opening_commands()[0]) for arg in argv if arg.endswith(".db")}
    assert states
    names = sorted(states | {f"{state}-wal" for state in states} | {f"{state}-journal" for state in states})
    done = subprocess.run(
        ["git", "check-ignore", "--no-index", *names], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.stdout.split() == names


# Every other command the README shows, as it runs here: the README's line on the left, what stands in for
# the parts that belong to the reader's machine on the right (their syslog: the shipped recording; their
# workload: a script; endless `tail -f`/`--follow`: stopped with SIGINT after a few seconds), the exit
# status expected, and what the line needs. A README line missing here fails the test below.
EXAMPLE_SYSLOG = ROOT / "examples" / "recording" / "busybox-http.syslog"
FOLLOW_STOP = "timeout --preserve-status -s INT 3 "
SHOWN: dict[str, tuple[str, int, str]] = {
    "tail -n0 -F /var/log/syslog | seccomp-gen learn": ("tail -n +1 syslog | seccomp-gen learn", 0, ""),
    "seccomp-gen emit --arch x86_64 > profile.json": (
        "seccomp-gen emit --arch x86_64 > profile.json",
        0,
        "state",
    ),
    "seccomp-gen learn /var/log/syslog /var/log/syslog.2.gz": ("seccomp-gen learn syslog syslog.2.gz", 0, ""),
    "journalctl -k -o json | seccomp-gen learn": (
        "journalctl -k -o json | seccomp-gen learn",
        0,
        "journalctl",
    ),
    "seccomp-gen learn --journal --follow": (
        FOLLOW_STOP + "seccomp-gen learn --journal --follow",
        130,
        "journalctl",
    ),
    "seccomp-gen learn --kmsg --follow": (FOLLOW_STOP + "seccomp-gen learn --kmsg --follow", 130, "kmsg"),
    "seccomp-gen record -- ./my-workload": ("seccomp-gen record -- ./my-workload", 0, "kmsg"),
}


def _shown_commands() -> list[str]:
    body = README.read_text(encoding="utf-8").split("\n---\n", 1)[1]
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", body, flags=re.S):
        for line in block.splitlines():
            command = line.split("  #", 1)[0].strip()
            if command:
                commands.append(command)
    return commands


def test_every_command_the_readme_shows_is_exercised() -> None:
    assert set(_shown_commands()) == set(SHOWN)


@pytest.mark.parametrize("shown", sorted(SHOWN))
def test_readme_command_runs(shown: str, tmp_path: Path) -> None:
    command, status, needs = SHOWN[shown]
    if needs == "journalctl":
        need_program("journalctl")
        from seccomp_gen import kernel

        if "--follow" in command and not kernel.journald_running():
            status = 2  # without journald nothing would arrive: one error line, not a wait
    elif needs == "kmsg":
        need_kmsg()
    state = tmp_path / "state.db"
    env = {
        **os.environ,
        "SECCOMP_GEN_STATE": str(state),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    syslog = tmp_path / "syslog"
    shutil.copyfile(EXAMPLE_SYSLOG, syslog)
    with (tmp_path / "syslog.2.gz").open("wb") as out:
        out.write(gzip.compress(EXAMPLE_SYSLOG.read_bytes()))
    workload = tmp_path / "my-workload"
    workload.write_text("#!/bin/sh\necho workload ran\n")
    workload.chmod(0o755)
    if needs == "state":
        assert main(["learn", "--state", str(state), str(syslog)]) == 0
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == status, done.stderr
    assert "Traceback" not in done.stderr
    if "emit" in command:
        assert json.loads((tmp_path / "profile.json").read_text())["defaultAction"] == "SCMP_ACT_ERRNO"
    elif "record" in command:
        assert "workload ran" in done.stdout
    if status == 2:
        assert done.stderr.startswith("error: "), done.stderr
        assert done.stderr.count("\n") == 1, done.stderr
        return
    if "learn" in command or "record" in command:
        # What the command read is in the state it was pointed at.
        assert main(["status", "--json", "--state", str(state)]) == 0
