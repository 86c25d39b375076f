"""`seccomp-gen learn --kmsg` on this machine's real /dev/kmsg: live records, SIGINT, resuming, gaps.

The records come from a child that loads a real seccomp filter (``SCMP_ACT_LOG`` on ``getppid``, every
other call allowed) under a command name of its own, so the test can find exactly its records among
whatever else the kernel logs.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests._learn_support import learn_command, state_ready, wait_for
from tests.e2e.capture import printk_unlimited
from tests.realpath import need_kmsg

pytestmark = pytest.mark.realpath

LIVE_WITHIN = 5.0  # seconds from the syscall to the row in the state (the learner flushes every 0.5 s)
CALLS = 3

_CHILD = """
import os, sys
import pyseccomp
with open("/proc/self/comm", "w") as comm:
    comm.write(sys.argv[1])
flt = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
flt.add_rule(pyseccomp.LOG, "getppid")
flt.load()
for _ in range(int(sys.argv[2])):
    os.getppid()
"""


def _make_records(comm: str, calls: int = CALLS) -> None:
    """Run a child whose ``getppid`` calls the kernel logs as seccomp LOG records under ``comm``."""
    subprocess.run([sys.executable, "-c", _CHILD, comm, str(calls)], check=True, timeout=30)


def _rows(state: Path, comm: str) -> list[tuple[str | None, int, str, int]]:
    """(syscall name, trusted, action, count) learned for ``comm``."""
    try:
        db = sqlite3.connect(f"file:{state}?mode=ro", uri=True, timeout=5)
        try:
            return list(
                db.execute("SELECT name, trusted, action, count FROM observations WHERE comm = ?", (comm,))
            )
        finally:
            db.close()
    except sqlite3.Error:
        return []


def _kmsg_positions(state: Path) -> list[int | None]:
    db = sqlite3.connect(f"file:{state}?mode=ro", uri=True)
    try:
        return [row[0] for row in db.execute("SELECT seq FROM positions WHERE kind = 'kmsg'")]
    finally:
        db.close()


def _comm() -> str:
    return "sgk" + uuid.uuid4().hex[:10]  # at most 15 characters: the kernel's comm length


@pytest.fixture(autouse=True)
def _real_kmsg() -> object:
    need_kmsg()
    with printk_unlimited(True):  # the kernel's printk rate limit would otherwise drop records
        yield


def test_live_kmsg_record_is_learned_then_sigint_keeps_the_state(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    proc = subprocess.Popen(
        learn_command(state, "--kmsg", "--follow"), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert wait_for(lambda: state_ready(state), 15), "the learner never created its state"
        comm = _comm()
        _make_records(comm)
        learned = wait_for(lambda: sum(r[3] for r in _rows(state, comm)) == CALLS, LIVE_WITHIN)
        assert learned, f"records of {comm} not in the state within {LIVE_WITHIN}s: {_rows(state, comm)}"
        assert proc.poll() is None, "--follow keeps reading"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    text = err.decode()
    assert proc.returncode == 130, text
    assert "Traceback" not in text
    assert "Stopped by SIGINT" in text
    assert _rows(state, comm) == [("getppid", 1, "LOG", CALLS)]  # trusted: only the kernel writes kmsg
    [seq] = _kmsg_positions(state)
    assert seq is not None
    assert seq > 0

    # A later run without --follow resumes after the saved sequence number: only the new record.
    later = _comm()
    _make_records(later, 1)
    done = subprocess.run(learn_command(state, "--kmsg"), check=False, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    assert _rows(state, later) == [("getppid", 1, "LOG", 1)]
    assert _rows(state, comm) == [("getppid", 1, "LOG", CALLS)]
    [resumed] = _kmsg_positions(state)
    assert resumed is not None
    assert resumed > seq


def _oldest_kmsg_seq() -> int:
    fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
    try:
        header = os.read(fd, 16384).split(b";", 1)[0]
    finally:
        os.close(fd)
    return int(header.split(b",")[1])


def test_records_overwritten_since_the_last_run_are_recorded_as_lost(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    first = subprocess.run(learn_command(state, "--kmsg"), check=False, capture_output=True, timeout=60)
    assert first.returncode == 0, first.stderr.decode()
    # As if the last run had stopped 50 records before what the ring buffer still holds: the kernel
    # overwrote those 50 before this run could read them.
    saved = _oldest_kmsg_seq() - 50
    db = sqlite3.connect(state)
    db.execute("UPDATE positions SET seq = ? WHERE kind = 'kmsg'", (saved,))
    db.commit()
    db.close()
    again = subprocess.run(learn_command(state, "--kmsg"), check=False, capture_output=True, timeout=60)
    err = again.stderr.decode()
    assert again.returncode == 0, err
    db = sqlite3.connect(f"file:{state}?mode=ro", uri=True)
    try:
        # Only the gap is this test's: the ring buffer may also hold real loss markers of earlier work
        # (a "callbacks suppressed" line of another test's rate-limited run), read as losses too.
        [(kind, location, records)] = list(
            db.execute("SELECT kind, location, records FROM losses WHERE kind = 'kmsg-gap'")
        )
    finally:
        db.close()
    assert (kind, location) == ("kmsg-gap", "kmsg")
    assert records >= 49  # the oldest record may itself have been overwritten meanwhile
    assert "records lost (kmsg-gap) in kmsg" in err
    assert "log_buf_len" in err  # the fix is named
