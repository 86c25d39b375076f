"""Issue 7, bad-input matrix: paths this user may not read or write, through every command that takes one.

An unreadable state or profile, a state given as a directory, a read-only state file and a read-only
state directory, as a user who is not root: one ``error: ...`` line naming the path and the reason, exit
2, no traceback, and the state unchanged (byte for byte) once the permissions are given back.

Root reads and writes everything, so as root each command runs through ``setpriv`` without the
capabilities that bypass file modes (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER): the kernel
then checks the modes for it exactly as for any other user. (Running the interpreter as ``nobody``
does not work everywhere: it may live under /root.) As another user the commands run as they are.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from seccomp_gen.cli import main
from tests._learn_support import counts, record, syslog
from tests.realpath import need_program

PROFILE = {
    "defaultAction": "SCMP_ACT_ERRNO",
    "architectures": ["SCMP_ARCH_X86_64"],
    "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}],
}


def _as_a_user(*args: str) -> subprocess.CompletedProcess[str]:
    """``seccomp-gen ARGS`` as a process the file modes apply to."""
    prefix: list[str] = []
    if os.geteuid() == 0:
        drop = "-dac_override,-dac_read_search,-fowner"
        prefix = [need_program("setpriv"), f"--inh-caps={drop}", f"--bounding-set={drop}"]
    return subprocess.run(
        [*prefix, sys.executable, "-m", "seccomp_gen", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _assert_one_error_line(done: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: "), done.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def learned(tmp_path: Path) -> Path:
    """A state in its own directory that learned read and write, and a good profile beside it."""
    log = tmp_path / "good.log"
    log.write_text(syslog(record(0, serial=1)) + syslog(record(1, serial=2)))
    log.chmod(0o644)
    state = tmp_path / "state" / "state.db"
    assert main(["learn", "--state", str(state), str(log)]) == 0
    assert counts(state) == {("x86_64", 0, False): 1, ("x86_64", 1, False): 1}
    (tmp_path / "profile.json").write_text(json.dumps(PROFILE))
    return state


def _commands(state: Path) -> dict[str, list[str]]:
    """Every command that reads or writes a state, with what it needs besides."""
    log, profile = str(state.parent.parent / "good.log"), str(state.parent.parent / "profile.json")
    return {
        "learn": ["learn", "--state", str(state), log],
        "status": ["status", "--state", str(state)],
        "emit": ["emit", "--state", str(state)],
        "forget": ["forget", "read", "--state", str(state)],
        "reset": ["reset", "--yes", "--state", str(state)],
        "diff": ["diff", str(state), profile],
        "merge": ["merge", profile, str(state)],
        "check": ["check", str(state)],
    }


WRITERS = ("learn", "forget", "reset")


def test_unreadable_state_is_one_error_line_for_every_command(learned: Path) -> None:
    before = _sha(learned)
    learned.chmod(0)
    try:
        for name, args in _commands(learned).items():
            done = _as_a_user(*args)
            reason = (
                "cannot read: Permission denied"
                if name in ("diff", "merge", "check")
                else "permission denied"
            )
            _assert_one_error_line(done, str(learned), reason)
    finally:
        learned.chmod(0o600)
    assert _sha(learned) == before


def test_read_only_state_file_is_refused_by_writers_and_read_by_readers(learned: Path) -> None:
    before = _sha(learned)
    learned.chmod(0o400)
    try:
        commands = _commands(learned)
        for name in WRITERS:
            _assert_one_error_line(_as_a_user(*commands[name]), str(learned), "cannot write it")
        status = _as_a_user(*commands["status"])
        assert status.returncode == 0, status.stderr
        assert "2 syscalls, 2 records" in status.stdout
        emitted = _as_a_user(*commands["emit"], "--arch", "x86_64")
        assert emitted.returncode == 0, emitted.stderr
        allowed = {n for rule in json.loads(emitted.stdout)["syscalls"] for n in rule["names"]}
        assert {"read", "write"} <= allowed
    finally:
        learned.chmod(0o600)
    assert _sha(learned) == before


def test_read_only_state_directory_as_a_user(learned: Path) -> None:
    """Not a read-only mount (test_state_bad.py does that as root): a directory of mode 0500."""
    before = _sha(learned)
    directory = learned.parent
    files = sorted(p.name for p in directory.iterdir())
    directory.chmod(0o500)
    try:
        commands = _commands(learned)
        for name in WRITERS:
            _assert_one_error_line(_as_a_user(*commands[name]), str(directory), "read-only")
        _assert_one_error_line(
            _as_a_user("learn", "--state", str(directory / "new.db"), commands["learn"][-1]), "read-only"
        )
        status = _as_a_user(*commands["status"])
        assert status.returncode == 0, status.stderr
        assert "2 syscalls, 2 records" in status.stdout
        diff = _as_a_user(*commands["diff"])
        assert diff.returncode in (0, 1), diff.stderr
        assert sorted(p.name for p in directory.iterdir()) == files  # nothing was created
    finally:
        directory.chmod(0o700)
    assert _sha(learned) == before


def test_directory_given_as_the_state(tmp_path: Path) -> None:
    directory = tmp_path / "state.d"
    directory.mkdir()
    for args in (["learn", str(tmp_path / "none.log")], ["status"], ["emit"], ["forget", "read"]):
        _assert_one_error_line(_as_a_user(args[0], "--state", str(directory), *args[1:]), "directory")
    assert list(directory.iterdir()) == []


@pytest.mark.parametrize("command", ["check", "diff", "merge"])
def test_unreadable_profile(tmp_path: Path, command: str) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(PROFILE))
    good.chmod(0o644)
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps(PROFILE))
    secret.chmod(0)
    out = tmp_path / "merged.json"
    args = {
        "check": ["check", str(secret)],
        "diff": ["diff", str(good), str(secret)],
        "merge": ["merge", str(good), str(secret), "-o", str(out)],
    }[command]
    _assert_one_error_line(_as_a_user(*args), str(secret), "cannot read: Permission denied")
    assert not out.exists()


def test_path_under_a_directory_this_user_cannot_enter(learned: Path, tmp_path: Path) -> None:
    """Even asking whether such a path exists fails (EACCES): every command says so in one line."""
    before = _sha(learned)
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o700)
    profile = str(tmp_path / "profile.json")
    inside = str(locked / "x")
    try:
        locked.chmod(0)
        for args in (
            ["learn", "--state", inside, str(tmp_path / "good.log")],
            ["learn", "--state", str(learned), inside],
            ["status", "--state", inside],
            ["emit", "--state", inside],
            ["explain", inside],
            ["check", inside],
            ["diff", inside, profile],
            ["merge", profile, inside],
        ):
            _assert_one_error_line(_as_a_user(*args), inside, "ermission denied")
    finally:
        locked.chmod(0o700)
    assert list(locked.iterdir()) == []
    assert _sha(learned) == before


def test_a_file_name_too_long_to_look_at(learned: Path) -> None:
    """ENAMETOOLONG from a stat, like EACCES above: one line, not a traceback."""
    before = _sha(learned)
    long_name = "x" * 300  # NAME_MAX is 255
    profile = str(learned.parent.parent / "profile.json")
    for args in (
        ["learn", "--state", str(learned), long_name],
        ["explain", long_name],
        ["emit", "--state", long_name],
        ["diff", long_name, profile],
        ["merge", profile, long_name],
    ):
        _assert_one_error_line(_as_a_user(*args), long_name, "too long")
    assert _sha(learned) == before
