"""Hardening II, items 3 and 4: a state someone else could write is never adopted, nor one behind a link.

The attacks: another local user pre-creates ``state.db`` (mode 0666, or 0644 of their own) in a shared
directory, then inserts trusted rows once root has learned into it; or plants a symlink where root's
state will be, so that root creates or overwrites a file of the attacker's choosing.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from seccomp_gen.cli import main
from tests._learn_support import record, syslog
from tests.realpath import need_program, need_root

NOBODY = 65534


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory like /tmp: anyone may create files in it (sticky), and reach it (pytest's are 0700)."""
    directory = Path(tempfile.mkdtemp(prefix="sg-shared-"))
    directory.chmod(0o1777)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "syslog"
    path.write_text(syslog(record(0, serial=5, comm="good")))
    return path


def _as_nobody(*argv: str) -> None:
    setpriv = need_program("setpriv")
    subprocess.run(
        [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *argv], check=True, timeout=30
    )


def _one_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("error: ")
    return err


@pytest.mark.realpath
@pytest.mark.parametrize("mode", [0o666, 0o644], ids=["world-writable", "owned-by-nobody"])
def test_root_refuses_a_state_another_user_created(
    shared_dir: Path, log: Path, mode: int, capsys: pytest.CaptureFixture[str]
) -> None:
    need_root()
    planted = shared_dir / "state.db"
    _as_nobody("sh", "-c", f"umask 0; : > {planted}; chmod {mode:o} {planted}")
    assert planted.stat().st_uid == NOBODY
    for argv in (["learn", str(log)], ["status"], ["emit"]):
        assert main([*argv[:1], "--state", str(planted), *argv[1:]]) == 2
        err = _one_error(capsys)
        assert f"owner uid {NOBODY}, mode {mode:04o}" in err
    assert planted.stat().st_size == 0  # nothing written into it


def test_own_state_writable_by_group_is_refused(
    tmp_path: Path, log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.db"
    assert main(["learn", "--state", str(state), str(log)]) == 0
    state.chmod(0o620)
    capsys.readouterr()
    assert main(["status", "--state", str(state)]) == 2
    assert "writable by group or others" in _one_error(capsys)
    state.chmod(0o600)
    assert main(["status", "--state", str(state)]) == 0


def test_new_state_is_created_private(tmp_path: Path, log: Path) -> None:
    state = tmp_path / "new" / "state.db"
    old = os.umask(0)
    try:
        assert main(["learn", "--state", str(state), str(log)]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    assert stat.S_IMODE(state.parent.stat().st_mode) == 0o700


@pytest.mark.parametrize("dangling", [True, False], ids=["dangling-link", "link-to-a-file"])
def test_state_behind_a_symlink_is_refused_and_nothing_is_created(
    shared_dir: Path, tmp_path: Path, log: Path, dangling: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    victim = tmp_path / "victim"
    if not dangling:
        victim.write_text("precious\n")
    link = shared_dir / "state.db"
    link.symlink_to(victim)
    assert main(["learn", "--state", str(link), str(log)]) == 2
    assert "is a symbolic link" in _one_error(capsys)
    assert victim.exists() != dangling
    if not dangling:
        assert victim.read_text() == "precious\n"
    assert sorted(p.name for p in shared_dir.iterdir()) == ["state.db"]


def test_state_that_is_a_device_is_refused_without_a_journal_beside_it(
    tmp_path: Path, log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    need_root()
    device = tmp_path / "null"
    os.mknod(device, 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    assert main(["learn", "--state", str(device), str(log)]) == 2
    assert "not a regular file" in _one_error(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null", "syslog"]


def test_dev_null_as_state_leaves_no_journal(log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["learn", "--state", "/dev/null", str(log)]) == 2
    assert "not a regular file" in _one_error(capsys)
    assert not Path("/dev/null-journal").exists()
    assert not Path("/dev/null-wal").exists()
