"""Capture real kernel seccomp records of the busybox workload, byte for byte, as test data.

Run as root on a machine with runc, busybox-static and rsyslog:

    python -m tests.e2e.capture tests/data/captured

It writes, per scenario, what /dev/kmsg gave (read live from its end, before the workload starts),
what ``dmesg`` and ``dmesg -T`` print for the same records, and what rsyslog (started here with
Debian's default configuration unless one already runs) appended to /var/log/syslog and kern.log.
The raw capture is deliberately dumb: bytes in, bytes out. Parsing them is the parser's job.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.e2e.bundle import AUDIT_PROFILE, Bundle, build_bundle

SYSLOG_FILES = (Path("/var/log/syslog"), Path("/var/log/kern.log"))

SCENARIOS: dict[str, tuple[dict[str, Any], bool]] = {
    # name: (linux.seccomp, lift the printk rate limit)
    "audit": (AUDIT_PROFILE, True),
    "audit-ratelimited": (AUDIT_PROFILE, False),
    # runc 1.1 rejects "flags" (SECCOMP_FILTER_FLAG_LOG), so ERRNO denials are not logged from runc;
    # kill actions are logged without the flag.
    "violation": ({"defaultAction": "SCMP_ACT_ERRNO"}, True),
    "kill-thread-mkdir": (
        {
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL"}],
        },
        True,
    ),
    "kill-wget-socket": (
        {
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["socket"], "action": "SCMP_ACT_KILL_PROCESS"}],
        },
        True,
    ),
}


class KmsgTap:
    """Read /dev/kmsg from its current end on a thread, keeping every record's raw bytes."""

    def __init__(self) -> None:
        self.records: list[bytes] = []
        self._stop = threading.Event()
        self._fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
        os.lseek(self._fd, 0, os.SEEK_END)
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.records.append(os.read(self._fd, 8192))
            except BlockingIOError:
                time.sleep(0.02)
            except BrokenPipeError:  # the ring buffer overtook us; the next read resumes
                self.records.append(b"# EPIPE\n")

    def stop(self) -> list[bytes]:
        """Stop reading and return the records (each ends with a newline)."""
        time.sleep(0.5)
        self._stop.set()
        self._thread.join()
        os.close(self._fd)
        return self.records


@contextmanager
def printk_unlimited(enabled: bool) -> Iterator[None]:
    """Lift the printk rate limit for the block (the kernel otherwise drops records); restore it."""
    paths = [Path("/proc/sys/kernel/printk_ratelimit"), Path("/proc/sys/kernel/printk_ratelimit_burst")]
    saved = [p.read_text() for p in paths]
    try:
        if enabled:
            paths[0].write_text("0\n")
            paths[1].write_text("1000000\n")
        yield
    finally:
        for path, value in zip(paths, saved, strict=True):
            path.write_text(value)


@contextmanager
def rsyslog() -> Iterator[None]:
    """Make sure rsyslogd runs (start Debian's default configuration in the foreground if not)."""
    from seccomp_gen.kernel import syslog_daemon

    if syslog_daemon() is not None:
        yield
        return
    proc = subprocess.Popen(["rsyslogd", "-n", "-iNONE"])
    try:
        time.sleep(2.0)  # imklog first drains /proc/kmsg's backlog
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _sizes() -> dict[Path, int]:
    return {p: p.stat().st_size if p.exists() else 0 for p in SYSLOG_FILES}


def _dmesg_since(first_usec: int, *flags: str) -> bytes:
    """``dmesg`` lines from the record with kernel time ``first_usec`` on (plain dmesg first)."""
    plain = subprocess.run(["dmesg"], capture_output=True, check=True).stdout.splitlines(keepends=True)
    start = next(
        (i for i, line in enumerate(plain) if _uptime_usec(line) >= first_usec),
        len(plain),
    )
    if not flags:
        return b"".join(plain[start:])
    other = subprocess.run(["dmesg", *flags], capture_output=True, check=True).stdout
    lines = other.splitlines(keepends=True)
    return b"".join(lines[len(lines) - (len(plain) - start) :])


def _uptime_usec(line: bytes) -> int:
    try:
        secs, usecs = line[1 : line.index(b"]")].strip().split(b".")
        return int(secs) * 1_000_000 + int(usecs)
    except ValueError:
        return -1


def capture(name: str, bundle: Bundle, out: Path, seccomp: dict[str, Any], unlimited: bool) -> None:
    """Run the workload once under ``seccomp`` and write every view of its records to ``out``."""
    bundle.set_seccomp(seccomp)
    with printk_unlimited(unlimited):
        before = _sizes()
        tap = KmsgTap()
        done = bundle.run()
        if name == "audit-ratelimited":  # the kernel reports suppression on the next record it prints
            time.sleep(5.5)
            bundle.run()
        raw = b"".join(tap.stop())
        time.sleep(1.0)
    (out / f"{name}.kmsg").write_bytes(raw)
    status = f"exit={done.returncode}\nstdout={done.stdout!r}\nstderr={done.stderr!r}\n"
    (out / f"{name}.status").write_text(status)
    first = next((line for line in raw.splitlines() if b"audit: type=1326" in line), None)
    if first is not None:
        usec = int(first.split(b",")[2])
        (out / f"{name}.dmesg").write_bytes(_dmesg_since(usec))
        (out / f"{name}.dmesg-T").write_bytes(_dmesg_since(usec, "-T"))
    for path, size in before.items():
        if path.exists():
            with path.open("rb") as fh:
                fh.seek(size)
                (out / f"{name}.{path.name}").write_bytes(fh.read())


def main(argv: list[str] | None = None) -> int:
    """Capture every scenario into the given directory."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--only", action="append", default=[])
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, rsyslog():
        bundle = build_bundle(Path(tmp) / "bundle")
        for name, (seccomp, unlimited) in SCENARIOS.items():
            if not args.only or name in args.only:
                capture(name, bundle, args.out, seccomp, unlimited)
                print(f"captured {name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
