"""Hardening II, item 2: trust is judged on the file actually read, again at every reopen.

The attacks, by a user who can write the log directory: (a) after a rename rotation, put their own file
at the path that ``learn --follow`` reopens; (b) let learn open their file, then swap the path for a
symlink to a root-owned file before the first record is judged. Either way their forged auditd records
(trusted only from a root-owned file) must stay untrusted, so ``emit --trusted-only`` leaves them out.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from seccomp_gen import sources
from seccomp_gen.learn import LearnOptions, learn_source
from seccomp_gen.sources import FileSource, SourceKind
from seccomp_gen.store import Store
from seccomp_gen.trust import origin_of
from tests._learn_support import counts, learn_command, state_ready, wait_for

NOBODY = 65534


def _auditd(syscall: int, serial: int) -> str:
    return (
        f"type=SECCOMP msg=audit(1764351292.{serial:03d}:{serial}): auid=4294967295 uid=0 gid=0 "
        f'ses=4294967295 pid=1234 comm="cat" exe="/bin/cat" sig=0 arch=c000003e syscall={syscall} '
        "compat=0 ip=0x40828e code=0x7ffc0000\n"
    )


def _root_only(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o600)
    return path


def _attackers(path: Path, text: str) -> Path:
    path.write_text(text)
    os.chown(path, NOBODY, NOBODY)
    return path


@pytest.fixture
def root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root: the trusted file must be root's and the forged one another user's")


@pytest.mark.usefixtures("root")
def test_rename_rotation_rejudges_the_new_file(tmp_path: Path) -> None:
    log, state = tmp_path / "audit.log", tmp_path / "state.db"
    _root_only(log, _auditd(0, 1))  # read, from root's own file: trusted
    proc = subprocess.Popen(learn_command(state, "--follow", str(log)), stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: state_ready(state) and ("x86_64", 0, True) in counts(state), 20)
        log.rename(tmp_path / "audit.log.1")
        _attackers(tmp_path / "forged", _auditd(101, 2)).rename(log)  # ptrace, in a file of nobody's
        assert wait_for(lambda: ("x86_64", 101, False) in counts(state), 20), counts(state)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    assert ("x86_64", 101, True) not in counts(state)
    assert ("x86_64", 0, True) in counts(state)


@pytest.mark.usefixtures("root")
def test_path_swapped_for_a_link_after_open_is_judged_by_the_open_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = _attackers(tmp_path / "audit.log", _auditd(101, 3))
    trusted = _root_only(tmp_path / "real-audit.log", _auditd(0, 4))
    real_open = sources._open_file

    def open_then_swap(path: Path) -> int:
        """The race, won every time: right after learn opens the file, the path becomes a link."""
        fd = real_open(path)
        path.unlink()
        path.symlink_to(trusted)
        return fd

    monkeypatch.setattr(sources, "_open_file", open_then_swap)
    state = tmp_path / "state.db"
    with Store.open(state) as store:
        learn_source(store, FileSource(log), LearnOptions())
    assert origin_of(SourceKind.FILE, log) == (SourceKind.FILE, True)  # what judging the path says
    assert counts(state) == {("x86_64", 101, False): 1}


@pytest.mark.usefixtures("root")
def test_file_in_a_directory_another_user_can_write_is_not_root_owned(tmp_path: Path) -> None:
    directory = tmp_path / "logs"
    directory.mkdir()
    os.chown(directory, NOBODY, NOBODY)
    log = _root_only(directory / "audit.log", _auditd(0, 5))
    assert origin_of(SourceKind.FILE, log) == (SourceKind.FILE, False)
    os.chown(directory, 0, 0)
    directory.chmod(0o777)
    assert origin_of(SourceKind.FILE, log) == (SourceKind.FILE, False)
    directory.chmod(0o755)
    assert origin_of(SourceKind.FILE, log) == (SourceKind.FILE, True)
