"""Facts about this host that decide whether seccomp records can be produced and read.

``doctor`` shows them as a table; ``record`` checks them before it runs anything. Every function
reads the live system (procfs, sysctls, the process list) and returns plain values; nothing here
prints. Paths are parameters with the real locations as defaults, so tests can point them elsewhere.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from seccomp_gen.errors import SandboxError

PROC = Path("/proc")
ACTIONS_LOGGED = PROC / "sys/kernel/seccomp/actions_logged"
PRINTK_RATELIMIT = PROC / "sys/kernel/printk_ratelimit"
PRINTK_RATELIMIT_BURST = PROC / "sys/kernel/printk_ratelimit_burst"
KMSG = Path("/dev/kmsg")
AUDIT_LOG = Path("/var/log/audit/audit.log")
SYSLOG_CONFIGS = (Path("/etc/rsyslog.conf"), Path("/etc/rsyslog.d"), Path("/etc/syslog.conf"))
SYSLOG_DAEMONS = ("rsyslogd", "syslog-ng", "syslogd")

#: What a lifted printk rate limit looks like: no interval, a burst nobody reaches.
UNLIMITED_BURST = 1_000_000


@dataclass(frozen=True, slots=True)
class RateLimit:
    """``kernel.printk_ratelimit`` (seconds; 0 = no limit) and ``kernel.printk_ratelimit_burst``."""

    interval: int
    burst: int

    @property
    def limited(self) -> bool:
        """True when the kernel drops audit prints beyond ``burst`` per ``interval`` seconds."""
        return self.interval > 0


@dataclass(frozen=True, slots=True)
class LibseccompInfo:
    """The libseccomp our binding loaded: version and the highest native syscall it can name."""

    version: str
    abi: str  # the native ABI's name, e.g. "x86_64"
    newest_number: int
    newest_name: str
    missing: tuple[str, ...]  # kernel syscalls numbered above ``newest_number``


def actions_logged(path: Path = ACTIONS_LOGGED) -> tuple[str, ...] | None:
    """The seccomp actions the kernel logs (``log`` must be there); None on kernels without the sysctl."""
    try:
        return tuple(path.read_text().split())
    except OSError:
        return None


def rate_limit(interval: Path = PRINTK_RATELIMIT, burst: Path = PRINTK_RATELIMIT_BURST) -> RateLimit | None:
    """The printk rate limit that throttles audit records on their way to the kernel log."""
    try:
        return RateLimit(int(interval.read_text()), int(burst.read_text()))
    except (OSError, ValueError):
        return None


def set_rate_limit(limit: RateLimit) -> None:
    """Write both printk rate-limit sysctls (root only); ``SandboxError`` quoting the failure otherwise."""
    try:
        PRINTK_RATELIMIT.write_text(f"{limit.interval}\n")
        PRINTK_RATELIMIT_BURST.write_text(f"{limit.burst}\n")
    except OSError as exc:
        raise SandboxError(f"cannot set kernel.printk_ratelimit: {exc.strerror} (run as root)") from exc


@contextlib.contextmanager
def rate_limit_lifted() -> Iterator[RateLimit | None]:
    """Lift the printk rate limit for the block, then restore what was there; yields the old limit."""
    saved = rate_limit()
    if saved is None or not saved.limited:
        yield saved
        return
    set_rate_limit(RateLimit(0, UNLIMITED_BURST))
    try:
        yield saved
    finally:
        set_rate_limit(saved)


def find_process(name: str, proc: Path = PROC) -> int | None:
    """The pid of a process whose command name is exactly ``name`` (``auditd``, not ``kauditd``)."""
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() == name:
                return int(entry.name)
        except OSError:
            continue
    return None


def auditd_running(proc: Path = PROC) -> bool:
    """With auditd connected, the kernel hands records to it (audit.log) instead of the kernel log."""
    return find_process("auditd", proc) is not None


def journald_running(proc: Path = PROC) -> bool:
    """systemd-journald is collecting the kernel log (and the audit transport)."""
    return find_process("systemd-journal", proc) is not None


def journalctl_path() -> str | None:
    """Where ``journalctl`` is, if installed."""
    return shutil.which("journalctl")


def syslog_daemon(proc: Path = PROC) -> str | None:
    """The name of the running syslog daemon, if any."""
    for name in SYSLOG_DAEMONS:
        if find_process(name, proc) is not None:
            return name
    return None


def kmsg_readable(path: Path = KMSG) -> bool:
    """Whether this process may read the kernel log (root, or ``kernel.dmesg_restrict=0``)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return False
    os.close(fd)
    return True


def kernel_syslog_files(configs: tuple[Path, ...] = SYSLOG_CONFIGS) -> tuple[Path, ...]:
    """Files a classic syslog configuration sends kernel messages to (``kern.*``, ``*.*`` selectors)."""
    found: list[Path] = []
    for conf in _config_files(configs):
        try:
            text = conf.read_text(errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            target = _kernel_target(line)
            if target is not None and target not in found:
                found.append(target)
    return tuple(found)


def _config_files(configs: tuple[Path, ...]) -> Iterator[Path]:
    for path in configs:
        if path.is_dir():
            yield from sorted(path.glob("*.conf"))
        elif path.is_file():
            yield path


def _kernel_target(line: str) -> Path | None:
    """``kern.*  -/var/log/kern.log`` → that path; None for other lines or selectors that exclude kern."""
    parts = line.split()
    if len(parts) < 2 or parts[0].startswith(("#", "$", "module", "include")):
        return None
    target = parts[-1].lstrip("-")
    if not target.startswith("/"):
        return None
    facilities: set[str] = set()
    excluded: set[str] = set()
    for selector in parts[0].split(";"):
        names, _, level = selector.partition(".")
        bucket = excluded if level == "none" else facilities
        bucket.update(names.split(","))
    if "kern" in excluded or not facilities & {"kern", "*"}:
        return None
    return Path(target)


def libseccomp_info() -> LibseccompInfo:
    """The installed libseccomp's version and, on the native ABI, the newest syscall it can name.

    ``missing`` lists the names our kernel table has beyond that number: runc and Docker drop such
    names from a profile (or refuse it), so a workload needing them cannot be confined here.
    Raises ``SandboxError`` when libseccomp cannot be loaded.
    """
    from seccomp_gen import abi, libseccomp, syscalls

    found = libseccomp.version()
    native = abi.resolve(native_audit_arch(), 0)
    if found is None or native is None:
        raise SandboxError("cannot load libseccomp (apt-get install libseccomp2)")
    table = syscalls.syscall_table(native)
    known = [n for n in sorted(table) if libseccomp.libseccomp_name(native, n) is not None]
    if not known:
        raise SandboxError(f"libseccomp names no syscall of {native.name}")
    newest = known[-1]
    missing = tuple(table[n] for n in sorted(table) if n > newest)
    version = ".".join(str(part) for part in found)
    return LibseccompInfo(version, native.name, newest, table[newest], missing)


_SYSLOG_ACTION_SIZE_BUFFER = 10


def log_buffer_size() -> int | None:
    """The kernel log buffer's size in bytes (``syslog(2)``'s SIZE_BUFFER; ``log_buf_len=`` sets it)."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        size = int(libc.klogctl(_SYSLOG_ACTION_SIZE_BUFFER, None, 0))
    except (OSError, AttributeError):
        return None
    return size if size > 0 else None


def native_audit_arch() -> int:
    """The AUDIT_ARCH value of this machine's native ABI, as libseccomp reports it."""
    from seccomp_gen import libseccomp

    return libseccomp.native_token()
