"""Helpers shared by the learn/store/sources tests: record lines, reading a state without the store."""

from __future__ import annotations

import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path

TS = 1795888092.790
X86_64 = "c000003e"
LOG = "0x7ffc0000"
ERRNO_EPERM = "0x50001"
KILL_PROCESS = "0x80000000"


def record(
    syscall: int,
    *,
    serial: int = 1,
    ts: float = TS,
    comm: str = "cat",
    exe: str = "/bin/cat",
    pid: int = 1234,
    uid: int = 0,
    subj: str | None = None,
    arch: str = X86_64,
    code: str = LOG,
) -> str:
    """The text of a kernel seccomp record (``audit: type=1326 ...``), without framing."""
    label = f" subj={subj}" if subj else ""
    return (
        f"audit: type=1326 audit({ts:.3f}:{serial}): auid=4294967295 uid={uid} gid=0 ses=4294967295{label} "
        f'pid={pid} comm="{comm}" exe="{exe}" sig=0 arch={arch} syscall={syscall} compat=0 ip=0x40828e '
        f"code={code}"
    )


def syslog(text: str, host: str = "vm") -> str:
    """An rsyslog (RFC 3339) line of the kernel facility around ``text``."""
    return f"2026-11-28T17:48:12.795875+00:00 {host} kernel: [22242.881695] {text}\n"


def kmsg(text: str, seq: int) -> str:
    """A /dev/kmsg record around ``text``."""
    return f"5,{seq},22242881695,-;{text}\n"


def counts(state: Path) -> dict[tuple[str, int, bool], int]:
    """(abi, number, trusted) → count, read with sqlite3 directly (read-only), {} when unreadable."""
    try:
        db = sqlite3.connect(f"file:{state}?mode=ro", uri=True, timeout=5)
        try:
            rows = db.execute("SELECT abi, number, trusted, sum(count) FROM observations GROUP BY 1, 2, 3")
            return {(abi, number, bool(trusted)): n for abi, number, trusted, n in rows}
        finally:
            db.close()
    except sqlite3.Error:
        return {}


def total(state: Path) -> int:
    """All records counted in ``state``."""
    return sum(counts(state).values())


def wait_for(predicate: Callable[[], bool], timeout: float, step: float = 0.02) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds passed."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(step)


def learn_command(state: Path, *args: str) -> list[str]:
    """``seccomp-gen learn --state STATE ARGS`` run by this interpreter."""
    return [sys.executable, "-m", "seccomp_gen", "learn", "--state", str(state), *args]


def state_ready(state: Path) -> bool:
    """The learner created its state (its signal handlers are in place by then)."""
    try:
        db = sqlite3.connect(f"file:{state}?mode=ro", uri=True, timeout=5)
        try:
            return bool(db.execute("PRAGMA user_version").fetchone()[0])
        finally:
            db.close()
    except sqlite3.Error:
        return False
