"""The host's readiness for learning seccomp profiles: one ``Check`` per fact, each with its fix.

``diagnose()`` reads the host through ``seccomp_gen.kernel`` and returns the rows; ``ready()`` says
whether learning can work at all (no ``FAIL`` row). The CLI renders the table.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from seccomp_gen import kernel, runtimes
from seccomp_gen.errors import SeccompGenError
from seccomp_gen.libseccomp import BINDING


class Status(enum.Enum):
    """How a row stands. ``FAIL`` means learning cannot work until it is fixed."""

    OK = "ok"
    INFO = "info"
    WARN = "warn"
    FAIL = "FAIL"


@dataclass(frozen=True, slots=True)
class Check:
    """One row of the doctor's table."""

    name: str
    status: Status
    detail: str
    fix: str = ""


# What one seccomp record takes in the kernel's log buffer: its text (about 230 bytes) and the ring
# buffer's descriptor and info (about 30 bytes in 5.10's lockless printk ring).
RECORD_BYTES = 256
# A reader of /dev/kmsg that falls behind by more than the buffer holds loses the oldest records:
# a buffer that holds less than this many seconds of the record rate seen is worth growing.
BUFFER_SECONDS = 60.0
KMSG_LOSSES = ("kmsg-gap", "kmsg-overwritten")


@dataclass(frozen=True, slots=True)
class Seen:
    """What a state shows of the record rate: records over a span, and kernel log losses."""

    state: str
    records: int
    seconds: float
    kmsg_lost: int


def diagnose(seen: Seen | None = None) -> list[Check]:
    """Every check, in a fixed order; ``seen`` (a state's figures) judges the log buffer's size."""
    auditd = kernel.auditd_running()
    rows = [
        check_actions_logged(kernel.actions_logged()),
        check_rate_limit(kernel.rate_limit(), auditd=auditd),
        check_auditd(auditd),
        check_journald(kernel.journald_running(), kernel.journalctl_path()),
        check_syslog(kernel.syslog_daemon(), kernel.kernel_syslog_files()),
        check_kmsg(kernel.kmsg_readable()),
        check_log_buffer(kernel.log_buffer_size(), seen),
        *check_libseccomp(kernel.libseccomp_info),
        check_parser(),
    ]
    rows.append(check_some_source(rows, auditd=auditd))
    rows += check_runtimes(runtimes.installed())
    return rows


def check_runtimes(found: list[runtimes.Runtime]) -> list[Check]:
    """A row per container runtime on PATH: its version and which profile features it applies."""
    if not found:
        return [Check("runtime", Status.INFO, "no runc, crun or podman on PATH")]
    rows = []
    for runtime in found:
        detail = runtimes.describe(runtime)
        if runtime.supports(runtimes.Feature.FLAGS) is False:
            rows.append(Check(runtime.name, Status.INFO, detail + " (emit --log-denials needs runc >= 1.2)"))
        else:
            rows.append(Check(runtime.name, Status.OK, detail))
    return rows


def ready(rows: list[Check]) -> bool:
    """True when no row failed."""
    return all(row.status is not Status.FAIL for row in rows)


def check_actions_logged(actions: tuple[str, ...] | None) -> Check:
    """The kernel must log the LOG action, or a LOG filter produces no records at all."""
    name = "kernel.seccomp.actions_logged"
    if actions is None:
        return Check(
            name, Status.FAIL, "missing: kernel older than 4.14, no seccomp logging", "upgrade the kernel"
        )
    shown = " ".join(actions) or "(empty)"
    if "log" not in actions:
        wanted = " ".join(dict.fromkeys([*actions, "log"]))
        return Check(name, Status.FAIL, shown, f'sysctl -w kernel.seccomp.actions_logged="{wanted}"')
    return Check(name, Status.OK, shown)


def check_rate_limit(limit: kernel.RateLimit | None, *, auditd: bool) -> Check:
    """printk drops audit records beyond a burst; auditd-owned records are not printed, so not limited."""
    name = "kernel.printk_ratelimit"
    if limit is None:
        return Check(name, Status.WARN, "cannot read the sysctl", "")
    shown = f"{limit.interval} s, burst {limit.burst}"
    if not limit.limited:
        return Check(name, Status.OK, f"{shown}: not limited")
    if auditd:
        return Check(name, Status.INFO, f"{shown}: irrelevant while auditd owns the records")
    return Check(
        name,
        Status.WARN,
        f"{shown}: records beyond {limit.burst} per {limit.interval} s are dropped",
        "sysctl -w kernel.printk_ratelimit=0 (or: seccomp-gen record --fix-ratelimit)",
    )


def check_auditd(running: bool) -> Check:
    """Where the records go: auditd's log when it runs, the kernel log otherwise."""
    if running:
        return Check(
            "auditd",
            Status.INFO,
            f"running: records go to {kernel.AUDIT_LOG}, not to the kernel log or syslog",
            f"seccomp-gen learn {kernel.AUDIT_LOG}",
        )
    return Check("auditd", Status.OK, "not running: records go to the kernel log")


def check_journald(running: bool, journalctl: str | None) -> Check:
    """journald keeps the kernel and audit transports (trusted); ``learn --journal`` reads them."""
    if running and journalctl:
        return Check("journald", Status.OK, "running: seccomp-gen learn --journal can read it")
    if journalctl:
        return Check("journald", Status.INFO, f"{journalctl} present, systemd-journald not running")
    return Check("journald", Status.INFO, "not installed")


def check_syslog(daemon: str | None, files: tuple[Path, ...]) -> Check:
    """Which files a syslog daemon fills with kernel lines (readable, but untrusted: anyone can log)."""
    listed = ", ".join(str(p) for p in files) or "none configured"
    if daemon is None:
        return Check(
            "syslog", Status.INFO, f"no syslog daemon running (kernel lines configured for: {listed})", ""
        )
    if not files:
        return Check("syslog", Status.INFO, f"{daemon} running, no file receives kernel lines")
    return Check("syslog", Status.OK, f"{daemon} writes kernel lines to {listed}")


def seen_in(path: Path) -> Seen | None:
    """The record rate and kernel log losses a state shows; None when there is no state there."""
    from seccomp_gen.store import Store

    if not path.is_file():
        return None
    try:
        with Store.open(path, readonly=True) as store:
            records, first, last = store.record_span()
            lost = sum(row.records for row in store.losses() if row.kind in KMSG_LOSSES)
    except SeccompGenError:
        return None  # a state doctor may not read (another user's): the other rows still stand
    seconds = (last - first) if first is not None and last is not None else 0.0
    return Seen(str(path), records, max(seconds, 0.0), lost)


def check_log_buffer(size: int | None, seen: Seen | None) -> Check:
    """The kernel log buffer holds what a /dev/kmsg reader has not read yet; small, it wraps."""
    name = "kernel log buffer"
    fix = (
        "boot with a larger buffer (log_buf_len=16M on the kernel command line), or learn from "
        "journald (learn --journal) or auditd's log, which keep what the buffer drops"
    )
    if size is None:
        return Check(name, Status.INFO, "size unknown (syslog(2) SIZE_BUFFER failed)")
    holds = size // RECORD_BYTES
    detail = f"{size // 1024} KiB: about {holds} seccomp records"
    if seen is None or seen.records == 0:
        return Check(name, Status.INFO, detail + " (no state here to compare with a record rate)")
    if seen.kmsg_lost:
        lost = f"{detail}; {seen.state} lost {seen.kmsg_lost} records from the kernel log already"
        return Check(name, Status.WARN, lost, fix)
    rate = seen.records / max(seen.seconds, 1.0)
    lasts = holds / rate
    detail += f", {lasts:.0f} s at the {rate:.0f} records/s {seen.state} shows"
    if lasts < BUFFER_SECONDS:
        return Check(name, Status.WARN, detail + ": a reader that pauses longer loses records", fix)
    return Check(name, Status.OK, detail)


def check_kmsg(readable: bool) -> Check:
    """``record`` and ``learn --kmsg`` read /dev/kmsg live."""
    if readable:
        return Check("/dev/kmsg", Status.OK, "readable")
    return Check(
        "/dev/kmsg",
        Status.WARN,
        "not readable by this user",
        "run as root, or sysctl -w kernel.dmesg_restrict=0",
    )


def check_libseccomp(probe: Callable[[], kernel.LibseccompInfo]) -> list[Check]:
    """The binding (``libseccomp.BINDING``) must load libseccomp for record/run/emit; its syscall table
    limits what it can filter."""
    try:
        info = probe()
    except ImportError as exc:
        if exc.name == BINDING:  # the module itself is not installed (not: libseccomp under it)
            return [Check(BINDING, Status.FAIL, f"cannot import: {exc}", f"pip install {BINDING}")]
        return [Check(BINDING, Status.FAIL, f"cannot load libseccomp: {exc}", "apt-get install libseccomp2")]
    except (OSError, RuntimeError, SeccompGenError) as exc:
        return [Check(BINDING, Status.FAIL, f"cannot load libseccomp: {exc}", "apt-get install libseccomp2")]
    rows = [Check(BINDING, Status.OK, "loads libseccomp")]
    detail = f"{info.version}; names {info.abi} syscalls up to {info.newest_name} ({info.newest_number})"
    if _version_tuple(info.version) < (2, 5):
        rows.append(Check("libseccomp", Status.WARN, detail, "install libseccomp >= 2.5"))
    elif info.missing:
        shown = ", ".join(info.missing[:4]) + (", ..." if len(info.missing) > 4 else "")
        detail += f"; unknown to it: {len(info.missing)} newer ({shown})"
        rows.append(
            Check("libseccomp", Status.WARN, detail, "upgrade libseccomp: runc drops names it cannot resolve")
        )
    else:
        rows.append(Check("libseccomp", Status.OK, detail))
    return rows


def check_parser() -> Check:
    """The parser's hot loop: in C, or in pure Python (same results, several times slower)."""
    from seccomp_gen import _fastpath, accel

    status = _fastpath.accelerator_status()
    if _fastpath.ACCEL is not None:
        return Check("parser", Status.OK, status)
    if accel.pure_python_requested():
        return Check("parser", Status.INFO, status)
    return Check("parser", Status.WARN, status, "apt-get install gcc python3-dev, then reinstall")


def check_some_source(rows: list[Check], *, auditd: bool) -> Check:
    """At least one place the records can be read from must be open to us."""
    usable = {row.name for row in rows if row.status is Status.OK}
    sources = []
    if "/dev/kmsg" in usable:
        sources.append("/dev/kmsg")
    if auditd:
        sources.append(str(kernel.AUDIT_LOG))
    if "journald" in usable:
        sources.append("journald")
    if "syslog" in usable:
        sources.append("syslog files")
    if sources:
        return Check("records readable from", Status.OK, ", ".join(sources))
    return Check(
        "records readable from",
        Status.FAIL,
        "nowhere: no readable kernel log, no journald, no syslog daemon, no auditd",
        "run as root, or start rsyslog/journald",
    )


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())
