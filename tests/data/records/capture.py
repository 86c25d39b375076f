"""Capture real seccomp records on this machine into tests/data/records/ (run as root, by hand).

    python3 tests/data/records/capture.py            # kmsg, dmesg, dmesg -T, rsyslog
    python3 tests/data/records/capture.py --journal  # journald (started by hand if not running)
    python3 tests/data/records/capture.py --losses   # printk rate limit on: "callbacks suppressed"

What it does (see README.md beside it): lowers ``kernel.printk_ratelimit`` to 0 (restored after),
runs small workloads under libseccomp filters (LOG default with the i386 and x32 ABIs added, ERRNO
and TRAP with the log flag, KILL_PROCESS, and an exec of a busybox copy whose path and name hold a
space and non-ASCII), then saves what the kernel wrote: raw /dev/kmsg records, ``dmesg`` and
``dmesg -T`` lines, and the lines rsyslogd (started here if none runs) wrote to /var/log/syslog.
It is not a test: the committed files are its output, with expected values in ``expected.json``.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import mmap
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
MARK = "sg-capture"
PR_SET_NAME = 15
X32_BIT = 0x40000000
I386_GETPID = bytes([0xB8, 20, 0, 0, 0, 0xCD, 0x80, 0xC3])  # mov eax, 20; int 0x80; ret
BUSYBOX_DIR = Path("/tmp/sg capture \u00e9")


def _name(name: bytes) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_NAME, name, 0, 0, 0)


def _log_filter() -> None:
    """LOG everything, on x86_64, i386 and x32; then make a few calls of each ABI."""
    import pyseccomp

    _name(b"sg log \xc3\xa9")
    flt = pyseccomp.SyscallFilter(pyseccomp.LOG)
    flt.add_arch(pyseccomp.Arch.X86)
    flt.add_arch(pyseccomp.Arch.X32)
    flt.load()
    libc = ctypes.CDLL(None, use_errno=True)
    os.getppid()
    libc.syscall(X32_BIT | 39)  # x32 getpid
    page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    page.write(I386_GETPID)
    address = ctypes.addressof(ctypes.c_char.from_buffer(page))
    ctypes.CFUNCTYPE(ctypes.c_int)(address)()  # i386 getpid through int 0x80


def _errno_filter() -> None:
    import pyseccomp

    _name(b"sg-errno")
    flt = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    flt.set_attr(pyseccomp.Attr.CTL_LOG, 1)
    flt.add_rule(pyseccomp.ERRNO(errno.EPERM), "mkdir")
    flt.add_rule(pyseccomp.ERRNO(errno.EACCES), "rmdir")
    flt.load()
    for call in (os.mkdir, os.rmdir):
        with contextlib.suppress(OSError):
            call("/nonexistent-sg-capture")


def _kill_filter() -> None:
    import pyseccomp

    _name(b"sg-kill")
    flt = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    flt.add_rule(pyseccomp.KILL_PROCESS, "getppid")
    flt.load()
    os.getppid()


def _trap_filter() -> None:
    import pyseccomp

    _name(b"sg-trap")
    flt = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    flt.set_attr(pyseccomp.Attr.CTL_LOG, 1)
    flt.add_rule(pyseccomp.TRAP, "getppid")
    flt.load()
    os.getppid()


def _exec_busybox() -> None:
    """exe and comm with a space and non-ASCII: the kernel prints both in hex."""
    import pyseccomp

    flt = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    flt.set_attr(pyseccomp.Attr.CTL_LOG, 1)
    flt.add_rule(pyseccomp.ERRNO(errno.EPERM), "uname")
    flt.load()
    binary = BUSYBOX_DIR / "sg uname"
    os.execv(str(binary), ["uname", "-a"])


def _run(work: Callable[[], None]) -> int:
    pid = os.fork()
    if pid == 0:
        try:
            work()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    return pid


@contextlib.contextmanager
def _printk_unlimited() -> Iterator[None]:
    path = Path("/proc/sys/kernel/printk_ratelimit")
    old = path.read_text()
    path.write_text("0\n")
    try:
        yield
    finally:
        path.write_text(old)


@contextlib.contextmanager
def _rsyslog() -> Iterator[None]:
    running = subprocess.run(["pgrep", "-x", "rsyslogd"], capture_output=True, check=False).returncode == 0
    proc = None
    if not running:
        proc = subprocess.Popen(["rsyslogd", "-n"])
        time.sleep(1.0)
    try:
        yield
    finally:
        time.sleep(1.5)
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=10)


def _kmsg_since(seq: int) -> list[str]:
    fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
    out: list[str] = []
    try:
        while True:
            try:
                record = os.read(fd, 8192).decode("utf-8", "replace")
            except BlockingIOError:
                break
            except BrokenPipeError:
                continue
            if int(record.split(",", 2)[1]) > seq:
                out.extend(line for line in record.splitlines() if not line.startswith(" "))
    finally:
        os.close(fd)
    return out


def _kmsg_last_seq() -> int:
    lines = _kmsg_since(-1)
    return int(lines[-1].split(",", 2)[1]) if lines else -1


@contextlib.contextmanager
def _busybox_copy() -> Iterator[None]:
    BUSYBOX_DIR.mkdir(exist_ok=True)
    shutil.copy(shutil.which("busybox") or "/bin/busybox", BUSYBOX_DIR / "sg uname")
    try:
        yield
    finally:
        shutil.rmtree(BUSYBOX_DIR)


WORKLOADS = (_log_filter, _errno_filter, _kill_filter, _trap_filter, _exec_busybox)


def journal() -> int:
    """Second pass, with systemd-journald started by hand: its kernel and audit transports."""
    running = subprocess.run(["pgrep", "-x", "systemd-journal"], capture_output=True, check=False)
    proc = None
    if running.returncode != 0:
        Path("/run/systemd/journal").mkdir(parents=True, exist_ok=True)
        proc = subprocess.Popen(["/lib/systemd/systemd-journald"])
        time.sleep(2.0)
    try:
        with _printk_unlimited(), _busybox_copy():
            pids = {_run(work) for work in WORKLOADS}
        time.sleep(1.5)
        outputs = {
            mode: subprocess.run(
                ["journalctl", "--no-pager", "-o", mode, "--since", "-2min"],
                capture_output=True,
                text=True,
                check=True,
                env={**os.environ, "LC_ALL": "C", "TZ": "UTC"},
            ).stdout.splitlines()
            for mode in ("json", "short", "short-iso", "short-monotonic")
        }
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=10)
    ours = [f" pid={pid} " for pid in pids]
    for mode, lines in outputs.items():
        kept = [line for line in lines if any(mark in line for mark in ours)]
        _write(f"captured-journal-{mode}.log", kept)
    return 0


def _burst() -> None:
    import pyseccomp

    _name(b"sg-burst")
    flt = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    flt.add_rule(pyseccomp.LOG, "getppid")
    flt.load()
    for _ in range(200):
        os.getppid()


def losses() -> int:
    """Third pass, printk rate limit left on: two bursts 6 s apart make the kernel say it dropped some."""
    seq = _kmsg_last_seq()
    _run(_burst)
    time.sleep(6.0)
    _run(_burst)
    kmsg = [line for line in _kmsg_since(seq) if "callbacks suppressed" in line]
    dmesg = subprocess.run(["dmesg"], capture_output=True, text=True, check=True).stdout.splitlines()
    _write("captured-losses-kmsg.log", kmsg)
    _write(
        "captured-losses-dmesg.log", [line for line in dmesg if "callbacks suppressed" in line][-len(kmsg) :]
    )
    return 0


def main() -> int:
    if sys.argv[1:] == ["--journal"]:
        return journal()
    if sys.argv[1:] == ["--losses"]:
        return losses()
    syslog = Path("/var/log/syslog")
    offset = syslog.stat().st_size if syslog.exists() else 0
    seq = _kmsg_last_seq()
    with _printk_unlimited(), _rsyslog(), _busybox_copy():
        for work in WORKLOADS:
            _run(work)
        time.sleep(0.5)
    kmsg = [line for line in _kmsg_since(seq) if "type=1326" in line]
    first = kmsg[0].split(";", 1)[1] if kmsg else ""
    dmesg = subprocess.run(["dmesg"], capture_output=True, text=True, check=True).stdout.splitlines()
    dmesg_t = subprocess.run(
        ["dmesg", "-T"], capture_output=True, text=True, check=True, env={**os.environ, "LC_ALL": "C"}
    ).stdout.splitlines()
    start = next(i for i, line in enumerate(dmesg) if first and first in line)
    with syslog.open("rb") as handle:
        handle.seek(offset)
        syslog_lines = handle.read().decode("utf-8", "replace").splitlines()
    serials = {line.split("audit(", 1)[1].split(")", 1)[0] for line in kmsg}
    _write("captured-kmsg.log", kmsg)
    _write("captured-dmesg.log", [line for line in dmesg[start:] if "type=1326" in line])
    _write("captured-dmesg-T.log", [line for line in dmesg_t[start:] if "type=1326" in line])
    _write("captured-syslog.log", [ln for ln in syslog_lines if any(f"audit({s})" in ln for s in serials)])
    print(f"captured {len(kmsg)} records", file=sys.stderr)
    return 0


def _write(name: str, lines: list[str]) -> None:
    (HERE / name).write_text("".join(line + "\n" for line in lines))


if __name__ == "__main__":
    sys.exit(main())
