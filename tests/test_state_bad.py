"""Issue 7, bad-input matrix, the state rows: each through the CLI in its own process.

A corrupt state, a foreign SQLite file, a state from a newer schema, a read-only state directory and a
full disk: every time one ``error: ...`` line on stderr, exit status 2, no traceback, and whatever was
learned before is still there, unchanged (the file opens with the same content once the cause is gone).
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from seccomp_gen.schema import SCHEMA_VERSION
from tests._learn_support import counts, learn_command, record, syslog
from tests.realpath import need_root

EXIT_ERROR = 2


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "seccomp_gen", *args], capture_output=True, text=True, timeout=120, check=False
    )


def _learn(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        learn_command(state, *args), capture_output=True, text=True, timeout=120, check=False
    )


def _assert_clean_error(done: subprocess.CompletedProcess[str], *words: str) -> str:
    """One ``error:`` line naming the problem, exit 2, no traceback; returns the line."""
    err = done.stderr.strip()
    assert done.returncode == EXIT_ERROR, (done.returncode, err)
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: "), lines
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


def _log(path: Path, numbers: range, *, comm: str = "cat", serial: int = 1) -> Path:
    path.write_text("".join(syslog(record(n, serial=serial + i, comm=comm)) for i, n in enumerate(numbers)))
    return path


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _dump(state: Path) -> list[tuple[object, ...]]:
    """Everything learned: the observations and positions, read with sqlite3 itself (no writer runs)."""
    db = sqlite3.connect(f"file:{state}?mode=ro&immutable=1", uri=True)
    try:
        rows = list(db.execute("SELECT * FROM observations ORDER BY abi, number, comm"))
        rows += list(db.execute("SELECT kind, key, offset FROM positions ORDER BY kind, key"))
        return rows
    finally:
        db.close()


@pytest.fixture
def learned(tmp_path: Path) -> Path:
    """A state that learned 10 syscalls from a file (and saved the file's position)."""
    state = tmp_path / "state" / "state.db"
    done = _learn(state, str(_log(tmp_path / "before.log", range(10))))
    assert done.returncode == 0, done.stderr
    assert len(counts(state)) == 10
    return state


def test_random_bytes_as_state(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    content = random.Random(7).randbytes(64 * 1024)
    state.write_bytes(content)
    log = _log(tmp_path / "new.log", range(3))
    _assert_clean_error(_learn(state, str(log)), str(state), "corrupt or not a seccomp-gen state")
    _assert_clean_error(_cli("status", "--state", str(state)), str(state))
    _assert_clean_error(_cli("emit", "--state", str(state)), str(state))
    assert state.read_bytes() == content  # not "repaired" into an empty state


def test_state_with_corrupt_pages(learned: Path, tmp_path: Path) -> None:
    """A real state whose inner pages were overwritten (a bad disk, a stray write)."""
    data = bytearray(learned.read_bytes())
    assert len(data) > 8192
    data[4096:] = random.Random(8).randbytes(len(data) - 4096)  # page 1 (the header) stays valid
    learned.write_bytes(bytes(data))
    before = _sha(learned)
    log = _log(tmp_path / "new.log", range(20, 23), serial=100)
    _assert_clean_error(_learn(learned, str(log)), str(learned))
    _assert_clean_error(_cli("status", "--state", str(learned)), str(learned))
    assert _sha(learned) == before


def test_foreign_sqlite_file(tmp_path: Path) -> None:
    state = tmp_path / "music.db"
    db = sqlite3.connect(state)
    db.execute("CREATE TABLE songs (title TEXT, seconds INTEGER)")
    db.execute("INSERT INTO songs VALUES ('Gymnopédie No. 1', 190)")
    db.commit()
    db.close()
    before = _sha(state)
    log = _log(tmp_path / "new.log", range(3))
    _assert_clean_error(_learn(state, str(log)), "not a seccomp-gen state")
    _assert_clean_error(_cli("status", "--state", str(state)), "not a seccomp-gen state")
    _assert_clean_error(_cli("reset", "--yes", "--state", str(state)), "not a seccomp-gen state")
    _assert_clean_error(_cli("forget", "read", "--state", str(state)), "not a seccomp-gen state")
    assert _sha(state) == before


def test_state_from_a_newer_schema(learned: Path, tmp_path: Path) -> None:
    content = _dump(learned)
    db = sqlite3.connect(learned)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.close()
    before = _sha(learned)
    log = _log(tmp_path / "new.log", range(20, 23), serial=100)
    for done in (
        _learn(learned, str(log)),
        _cli("status", "--state", str(learned)),
        _cli("emit", "--state", str(learned)),
        _cli("reset", "--yes", "--state", str(learned)),
    ):
        _assert_clean_error(done, f"schema version {SCHEMA_VERSION + 1}", "upgrade seccomp-gen")
    assert _sha(learned) == before
    db = sqlite3.connect(learned)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")  # as the newer seccomp-gen would still read it
    db.close()
    assert _dump(learned) == content


@contextmanager
def _tmpfs(where: Path, size: str) -> Iterator[Path]:
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _remount(where: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(where)], check=True)


def test_read_only_state_directory(tmp_path: Path) -> None:
    """Root ignores directory permissions, so the directory is a tmpfs remounted read-only."""
    need_root()
    with _tmpfs(tmp_path / "ro", "4m") as directory:
        state = directory / "state.db"
        done = _learn(state, str(_log(tmp_path / "before.log", range(10))))
        assert done.returncode == 0, done.stderr
        content = _dump(state)
        _remount(directory, "ro")
        log = _log(tmp_path / "new.log", range(20, 23), serial=100)
        _assert_clean_error(_learn(state, str(log)), str(state), "read-only")
        _assert_clean_error(_learn(directory / "other.db", str(log)), "read-only")
        _assert_clean_error(_cli("reset", "--yes", "--state", str(state)), "read-only")
        _assert_clean_error(_cli("forget", "read", "--state", str(state)), "read-only")
        # Reading still works: status and emit need no write access.
        status = _cli("status", "--state", str(state))
        assert status.returncode == 0, status.stderr
        assert "10 syscalls, 10 records" in status.stdout
        emitted = _cli("emit", "--state", str(state))
        assert emitted.returncode == 0, emitted.stderr
        assert '"read"' in emitted.stdout
        assert sorted(p.name for p in directory.iterdir()) == ["state.db"]  # nothing was created
        _remount(directory, "rw")
        assert _dump(state) == content


def test_full_disk(tmp_path: Path) -> None:
    """A 256 KiB file system: a big input cannot be written; what was learned before stays whole."""
    need_root()
    with _tmpfs(tmp_path / "small", "256k") as directory:
        state = directory / "state.db"
        done = _learn(state, str(_log(tmp_path / "before.log", range(10))))
        assert done.returncode == 0, done.stderr
        content = _dump(state)
        # 30,000 records of distinct (comm, syscall): far more rows than 256 KiB hold.
        big = tmp_path / "big.log"
        with big.open("w") as fh:
            for i in range(30_000):
                fh.write(syslog(record(i % 300, serial=1000 + i, comm=f"worker{i}")))
        line = _assert_clean_error(_learn(state, str(big)), str(state), "full")
        assert "free some space" in line
        learned_now = _dump(state)
        assert [row for row in learned_now if row in content] == content  # every earlier row, unchanged
        status = _cli("status", "--state", str(state))
        assert status.returncode == 0, status.stderr
        # Once there is room again, the same input is learned completely.
        _remount(directory, "size=64m")
        again = _learn(state, str(big))
        assert again.returncode == 0, again.stderr
        assert sum(counts(state).values()) == 10 + 30_000


@pytest.mark.parametrize("command", ["learn", "status", "emit"])
def test_a_directory_given_as_state(tmp_path: Path, command: str) -> None:
    """Said in words (SQLite's own message is "unable to open database file"), and nothing is made in it."""
    directory = tmp_path / "a-directory"
    directory.mkdir()
    if command == "learn":
        done = _learn(directory, str(_log(tmp_path / "syslog", range(3))))
    else:
        done = _cli(command, "--state", str(directory))
    _assert_clean_error(done, str(directory), "it is a directory")
    assert list(directory.iterdir()) == []
