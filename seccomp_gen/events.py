"""The values the parser produces: one ``SeccompEvent`` per record, one ``LossEvent`` per loss marker.

These cross every stage boundary (records → learn → store, records → explain), so they are
plain frozen dataclasses with no behaviour beyond small derived properties.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from seccomp_gen.actions import Action


class Transport(enum.Enum):
    """How a record reached us. Decides trust together with the source."""

    KMSG = "kmsg"  # /dev/kmsg record (`6,seq,usec,-;audit: ...`)
    PRINTK = "printk"  # bare kernel line: dmesg, `[uptime] audit: ...`
    SYSLOG = "syslog"  # a syslog daemon's file: RFC 3164 / RFC 3339 `host kernel: ...`
    JOURNAL_KERNEL = "journal-kernel"  # journald entry with _TRANSPORT=kernel
    JOURNAL_AUDIT = "journal-audit"  # journald entry with _TRANSPORT=audit (`audit[PID]: SECCOMP ...`)
    JOURNAL_OTHER = "journal-other"  # journald entry of another transport claiming to be a record
    AUDITD = "auditd"  # auditd's audit.log (`type=SECCOMP msg=audit(...)`), raw or enriched
    UNKNOWN = "unknown"


class LossKind(enum.Enum):
    """Ways records are known to have been dropped before they reached us."""

    PRINTK_SUPPRESSED = "printk-suppressed"  # `kauditd_printk_skb: N callbacks suppressed`
    PRINTK_LIMIT = "printk-limit"  # `audit: printk limit exceeded`
    AUDIT_LOST = "audit-lost"  # `audit_lost=N` (audit status / AUDIT_LOST records)
    BACKLOG_LIMIT = "backlog-limit"  # `audit: backlog limit exceeded`
    JOURNAL_SUPPRESSED = "journal-suppressed"  # journald `Suppressed N messages`
    KMSG_GAP = "kmsg-gap"  # a jump in /dev/kmsg sequence numbers (found by the kmsg source)
    KMSG_OVERWRITTEN = "kmsg-overwritten"  # EPIPE reading /dev/kmsg: the ring buffer wrapped


@dataclass(frozen=True)  # no slots: the parser's fast path fills an instance's __dict__ in one step
class SeccompEvent:
    """One seccomp audit record (type 1326 / SECCOMP), fields as the kernel printed them.

    ``arch`` is the raw AUDIT_ARCH value (``arch=c000003e`` → 0xC000003E) or None for old kernels
    that did not print it; ``syscall`` is the raw number (x32 calls keep bit 0x40000000). Turning
    (arch, syscall) into an ABI and a name is ``seccomp_gen.abi.resolve`` 's job, not the parser's.
    """

    syscall: int
    arch: int | None
    action: Action
    timestamp: float | None = None  # audit(TS:SERIAL) seconds since the epoch
    serial: int | None = None  # None when absent; 0 is kept as 0 (it means "no serial")
    compat: int | None = None
    auid: int | None = None
    uid: int | None = None
    gid: int | None = None
    ses: int | None = None
    subj: str | None = None
    pid: int | None = None
    comm: str | None = None
    exe: str | None = None
    sig: int | None = None
    ip: int | None = None
    transport: Transport = Transport.UNKNOWN
    hostname: str | None = None  # the syslog/journald host field, when the framing has one
    # What framed the record, as comma-separated facts (``rfc3339,tag=kernel,uptime,audit-prefix``):
    # for judging whether a line really came from the kernel. See ``seccomp_gen.records``.
    framing: str = ""

    @property
    def event_id(self) -> tuple[float, int] | None:
        """``(timestamp, serial)`` when it identifies the event uniquely (serial not 0)."""
        if self.timestamp is None or not self.serial:
            return None
        return (self.timestamp, self.serial)


@dataclass(frozen=True, slots=True)
class LossEvent:
    """A marker saying that ``count`` records (None: unknown how many) were dropped."""

    kind: LossKind
    count: int | None
    timestamp: float | None = None
    text: str = ""  # the line that said so, for the warning
