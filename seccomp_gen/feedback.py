"""What ``learn`` tells whoever runs it: its result, the hooks the command line implements, losses
and their fixes.

Its own module so that the command line can define its printer without importing the learner.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from seccomp_gen.events import LossKind


@dataclass(frozen=True, slots=True)
class NewSyscall:
    """A syscall the state did not know before this run (per ABI)."""

    abi: str
    number: int
    name: str | None
    comm: str
    trusted: bool

    @property
    def label(self) -> str:
        """``openat`` or ``unknown(999)``."""
        from seccomp_gen.syscalls import syscall_label

        return syscall_label(self.name, self.number)


@dataclass(slots=True)
class LearnResult:
    """What a learn run did. ``records`` were parsed; ``learned`` were counted into the state."""

    lines: int = 0
    records: int = 0
    learned: int = 0
    duplicates: int = 0
    untrusted: int = 0  # records kept from lines any local user could have written (syslog text...)
    filtered: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    capped: dict[str, int] = field(default_factory=dict)  # records counted under OVER_CAP, by reason
    unattributed: dict[str, int] = field(default_factory=dict)  # records with no container, by reason
    lookups: int = 0  # /proc lookups attribution made (one per new process)
    bytes_read: int = 0  # of the sources' data, as read (for a progress percentage)
    examples: dict[str, str] = field(default_factory=dict)  # skip reason → the first such line (cut)
    losses: dict[tuple[LossKind, str], LossReport] = field(default_factory=dict)
    new_syscalls: list[NewSyscall] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    stopped_by: int | None = None  # the signal that ended a live read
    flushes: int = 0

    @property
    def lost(self) -> int:
        """Records known to be lost (markers without a count are not included)."""
        return sum(r.count or 0 for r in self.losses.values())


class Reporter:
    """Feedback hooks while learning; the default does nothing (the CLI prints)."""

    def learned(self, new: NewSyscall) -> None:
        """A syscall new to the state was written."""

    def loss(self, report: LossReport, first: bool) -> None:
        """A loss marker was read (``first``: the first of its kind at its place in this run)."""

    def note(self, text: str) -> None:
        """Something worth telling the user (a file was rotated, already read, ...)."""

    def progress(self, result: LearnResult) -> None:
        """Called after every batch written."""


_ADVICE = {
    LossKind.PRINTK_SUPPRESSED: (
        "the kernel's printk rate limit dropped audit records; while learning run "
        "`sysctl -w kernel.printk_ratelimit=0` (restore it afterwards), or run auditd and learn from "
        "/var/log/audit/audit.log"
    ),
    # Older kernels (before 4.11) say "audit: printk limit exceeded" where newer ones say
    # "kauditd_printk_skb: N callbacks suppressed": both are printk_ratelimit() refusing a record.
    LossKind.PRINTK_LIMIT: (
        "the kernel's printk rate limit dropped audit records; while learning run "
        "`sysctl -w kernel.printk_ratelimit=0` (restore it afterwards), or run auditd and learn from "
        "/var/log/audit/audit.log"
    ),
    # audit_lost=N counts every drop: audit's rate limit ("audit: rate limit exceeded"), a full backlog
    # or hold queue, and (older kernels) the printk limit.
    LossKind.AUDIT_LOST: (
        "the audit subsystem dropped records (`auditctl -s` shows its rate and backlog limits); lift the "
        "rate limit with `auditctl -r 0` and raise the backlog with `auditctl -b 8192`"
    ),
    LossKind.BACKLOG_LIMIT: "the audit backlog overflowed; raise it with `auditctl -b 8192`",
    LossKind.JOURNAL_SUPPRESSED: (
        "journald rate-limited messages; set RateLimitIntervalSec=0 in /etc/systemd/journald.conf and "
        "restart systemd-journald"
    ),
    LossKind.KMSG_GAP: (
        "the kernel ring buffer was overwritten before the records were read; enlarge it "
        "(log_buf_len=16M on the kernel command line), or learn from auditd's log or the journal, which "
        "keep what the buffer drops, then run the workload again"
    ),
    LossKind.KMSG_OVERWRITTEN: (
        "the kernel ring buffer wrapped faster than it was read; enlarge it (log_buf_len=16M on the "
        "kernel command line) and lift the printk rate limit, or learn from auditd's log or the journal, "
        "then run the workload again"
    ),
}

AUDITD_ADVICE = (
    "auditd is running: it receives the seccomp records, so they never reach the kernel log; learn from "
    "its log instead: seccomp-gen learn /var/log/audit/audit.log"
)


@dataclass(frozen=True, slots=True)
class LossReport:
    """Records known to be lost at one place, with the fix."""

    kind: LossKind
    count: int | None  # None: the marker did not say how many
    location: str
    text: str = ""

    @property
    def advice(self) -> str:
        """How to stop losing records this way."""
        return _ADVICE[self.kind]

    @property
    def amount(self) -> str:
        """``17``, or ``an unknown number of`` when the marker did not say."""
        return "an unknown number of" if self.count is None else str(self.count)

    def message(self, *, so_far: bool = False) -> str:
        """One line for a warning; ``so_far``: said at the first marker, before the total is known."""
        more = " so far (the summary at the end has the total)" if so_far else ""
        return f"{self.amount} records lost ({self.kind.value}) in {self.location}{more}: {self.advice}"
