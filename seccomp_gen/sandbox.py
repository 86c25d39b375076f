"""Run a command locally under a seccomp filter and collect the kernel's records of that run.

``record`` runs it under a ``SCMP_ACT_LOG`` filter (everything allowed, every call logged) and
learns the records; ``run`` runs it under a given profile with ``SECCOMP_FILTER_FLAG_LOG`` and
reports what was denied. Both read the kernel log live from its end, started before the command,
because the kernel keeps only a small ring buffer. The filter itself is installed by
``seccomp_gen._exec_under_filter`` between fork and exec.

The command runs in a fresh audit session, so its records (and its children's) carry a session id
that nothing else on the host has; records of other sessions are left out and counted.
"""

from __future__ import annotations

import enum
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from seccomp_gen import kernel
from seccomp_gen.actions import ActionKind
from seccomp_gen.errors import SandboxError
from seccomp_gen.events import LossEvent, LossKind, SeccompEvent
from seccomp_gen.learn import LinesSource
from seccomp_gen.sources import SourceKind

if TYPE_CHECKING:
    from seccomp_gen.feedback import LearnResult
    from seccomp_gen.sources import StopFlag

#: After the command exits, wait this long for kauditd to print its last records.
SETTLE_SECONDS = 0.5

NO_SESSION = "no audit session could be set: records of other processes may be included"


class Mode(enum.Enum):
    """What the filter does: log every call (record) or enforce a profile (run)."""

    LOG = "log"
    PROFILE = "profile"


@dataclass(frozen=True, slots=True)
class FilterSpec:
    """The filter to install: LOG everything, or the profile at ``profile`` (denials logged)."""

    mode: Mode
    profile: Path | None = None
    log_denials: bool = True


@dataclass(frozen=True, slots=True)
class Record:
    """A record as parsed, with the raw line it came from (learn reads the lines again)."""

    event: SeccompEvent
    line: bytes


class Tap(Protocol):
    """A live reader of the kernel's records: positioned at the end on ``start``, drained on ``stop``.

    ``origin`` is the file it reads (auditd's log), or None for the kernel log itself; after ``stop``,
    ``loss_after`` holds, for each loss, how many records were read before it.
    """

    origin: Path | None
    loss_after: list[int]

    def start(self) -> None:
        """Begin reading new records in the background."""

    def stop(self) -> tuple[list[Record], list[LossEvent]]:
        """Stop and return what was read since ``start``."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a sandboxed run produced."""

    returncode: int  # the command's exit status; 128+N when killed by signal N
    session: int | None  # the run's audit session id; None when it could not be set
    records: tuple[Record, ...]  # the run's records (of its session, when known)
    losses: tuple[LossEvent, ...]
    foreign: int = 0  # records of other sessions seen meanwhile, left out
    notes: tuple[str, ...] = field(default=())
    origin: Path | None = None  # where the records were read: None for /dev/kmsg, else auditd's log

    @property
    def events(self) -> tuple[SeccompEvent, ...]:
        """The run's records as events."""
        return tuple(r.event for r in self.records)

    @property
    def denied(self) -> tuple[SeccompEvent, ...]:
        """The records of calls the filter did not allow (anything but LOG and ALLOW)."""
        return tuple(e for e in self.events if e.action.kind not in (ActionKind.LOG, ActionKind.ALLOW))


def check_record_preconditions(*, fix_ratelimit: bool) -> list[str]:
    """Raise ``SandboxError`` when records cannot be produced or read; return warnings otherwise."""
    logged = kernel.actions_logged()
    if logged is None or "log" not in logged:
        shown = " ".join(logged) if logged else "missing"
        raise SandboxError(
            f"kernel.seccomp.actions_logged is {shown!r}: the kernel does not log SCMP_ACT_LOG "
            '(fix: sysctl -w kernel.seccomp.actions_logged="kill_process kill_thread trap errno '
            'user_notif trace log")'
        )
    if kernel.auditd_running():
        if not os.access(kernel.AUDIT_LOG, os.R_OK):
            raise SandboxError(
                f"auditd owns the records but {str(kernel.AUDIT_LOG)!r} is not readable (run as root)"
            )
        return []  # auditd is not subject to the printk rate limit
    if not kernel.kmsg_readable():
        raise SandboxError(f"cannot read {kernel.KMSG} (run as root, or sysctl -w kernel.dmesg_restrict=0)")
    limit = kernel.rate_limit()
    if limit is not None and limit.limited and not fix_ratelimit:
        return [
            f"kernel.printk_ratelimit={limit.interval} (burst {limit.burst}): records beyond the burst "
            "are dropped; use --fix-ratelimit (root) or sysctl -w kernel.printk_ratelimit=0"
        ]
    return []


def wrapper_argv(spec: FilterSpec, command: Sequence[str], status_fd: int) -> list[str]:
    """The argv that installs ``spec`` in a fresh interpreter and execs ``command``."""
    argv = [sys.executable, "-m", "seccomp_gen._exec_under_filter", "--status-fd", str(status_fd)]
    if spec.mode is Mode.LOG:
        argv.append("--log")
    else:
        if spec.profile is None:
            raise SandboxError("run needs --profile")
        argv += ["--profile", str(spec.profile)]
        if not spec.log_denials:
            argv.append("--no-log-denials")
    return [*argv, "--", *command]


#: The longest printk rate-limit interval ``loss_window`` waits out for the kernel's count of drops.
MAX_LOSS_WINDOW = 30


def loss_window(tap: Tap, limit: kernel.RateLimit | None) -> float | None:
    """Seconds to wait after a run for the kernel to say how many records printk dropped, or None.

    printk prints ``kauditd_printk_skb: N callbacks suppressed`` only at the first audit record after
    the rate-limit interval that dropped them, which a short command never reaches: waiting out the
    interval and then causing one record brings the count. Only the kernel log is rate-limited.
    """
    if tap.origin is not None or limit is None or not limit.limited or limit.interval > MAX_LOSS_WINDOW:
        return None
    return float(limit.interval)


def run_under_filter(
    spec: FilterSpec,
    command: Sequence[str],
    tap: Tap,
    *,
    window: float | None = None,
    waiting: Callable[[float], None] | None = None,
) -> Outcome:
    """Run ``command`` under ``spec`` with ``tap`` reading the kernel log; the records of the run.

    With ``window`` (see ``loss_window``), wait that long after the command (telling ``waiting``
    first), then run ``true`` under a LOG filter so that the kernel reports what its rate limit
    dropped meanwhile.
    """
    if not command:
        raise SandboxError("no command given (usage: ... -- CMD ARGS...)")
    probe: int | None = None
    tap.start()
    try:
        returncode, session = _spawn(spec, command)
        if window is not None and session is not None:  # without a session, its records would mix in
            if waiting is not None:
                waiting(window)
            time.sleep(window + SETTLE_SECONDS)
            _, probe = _spawn(FilterSpec(Mode.LOG), [_TRUE])
    finally:
        time.sleep(SETTLE_SECONDS)
        records, losses = tap.stop()
    mine = [r for r in records if session is None or r.event.ses == session]
    notes = [] if session is not None else [NO_SESSION]
    losses, earlier = _losses_of_the_run(records, mine, losses, tap.loss_after)
    if earlier:
        notes.append(
            f"the kernel also reported {earlier} record(s) dropped before the command's first record "
            "(not of this run, not counted)"
        )
    foreign = len(records) - len(mine) - sum(1 for r in records if probe is not None and r.event.ses == probe)
    return Outcome(returncode, session, tuple(mine), tuple(losses), foreign, tuple(notes), tap.origin)


def _losses_of_the_run(
    records: list[Record], mine: list[Record], losses: list[LossEvent], after: list[int]
) -> tuple[list[LossEvent], int]:
    """The losses that may be the run's, and how many records printk said it dropped before the run.

    printk reports what its rate limit dropped at the first audit record after the interval: a count
    printed before the command's first record is of records dropped earlier (other processes', or a
    previous run's), as the kernel prints it just before the record whose call triggered it.
    """
    if not mine:
        return losses, 0
    first = next(i for i, record in enumerate(records) if record is mine[0])
    kept, earlier = [], 0
    for loss, before in zip(losses, after, strict=True):
        if loss.kind is LossKind.PRINTK_SUPPRESSED and before <= first:
            earlier += loss.count or 0
        else:
            kept.append(loss)
    return kept, earlier


_TRUE = shutil.which("true") or "/bin/true"


def _spawn(spec: FilterSpec, command: Sequence[str]) -> tuple[int, int | None]:
    """Start the wrapper, read its status line, wait; (exit status, audit session)."""
    read_end, write_end = os.pipe()
    try:
        proc = subprocess.Popen(wrapper_argv(spec, command, write_end), pass_fds=(write_end,))
    finally:
        os.close(write_end)
    with os.fdopen(read_end) as status:
        lines = status.read().splitlines()
    returncode = _wait(proc)
    fields = dict(line.partition("=")[::2] for line in lines)
    if "error" in fields:
        raise SandboxError(f"{fields['error']} (command: {' '.join(command)!r})")
    session = fields.get("session") or None
    return returncode, int(session) if session else None


def _wait(proc: subprocess.Popen[bytes]) -> int:
    """Wait, forwarding Ctrl-C to the command (it decides whether to stop); shell-style status."""
    while True:
        try:
            code = proc.wait()
            break
        except KeyboardInterrupt:
            proc.send_signal(signal.SIGINT)
    return 128 - code if code < 0 else code


class KmsgTap:
    """The kernel log, read live through the kmsg source from its current end, parsed as kmsg records."""

    origin: Path | None = None

    def __init__(self, path: str = "/dev/kmsg") -> None:
        self.path = path
        self._records: list[Record] = []
        self._losses: list[LossEvent] = []
        self.loss_after: list[int] = []
        self._thread: threading.Thread | None = None
        self._stop: StopFlag | None = None
        self._error: BaseException | None = None

    def start(self) -> None:
        """Note where the log ends now, then follow it on a thread."""
        from seccomp_gen.kmsg import KmsgSource
        from seccomp_gen.sources import ReadControl, StopFlag

        skip = KmsgSource(path=self.path, boot="tap")
        for _ in skip.chunks(ReadControl(StopFlag())):
            pass  # reading what is buffered only moves last_seq to the current end
        self._stop = StopFlag()
        source = KmsgSource(path=self.path, boot="tap", last_seq=skip.last_seq, follow=True)
        control = ReadControl(self._stop, timeout=lambda: 0.1)
        self._thread = threading.Thread(target=self._loop, args=(source, control), daemon=True)
        self._thread.start()

    def _loop(self, source: Any, control: Any) -> None:
        from seccomp_gen.records import Format, RecordParser

        parser = RecordParser(Format.KMSG)
        try:
            for chunk in source.chunks(control):
                self._losses.extend(chunk.losses)
                self.loss_after.extend(len(self._records) for _ in chunk.losses)
                for line in chunk.data.splitlines(keepends=True):
                    self._take(line, parser.feed_line(line.decode("utf-8", "surrogateescape")))
        except BaseException as exc:  # handed to the caller of stop()
            self._error = exc

    def _take(self, line: bytes, parsed: SeccompEvent | LossEvent | None) -> None:
        if isinstance(parsed, SeccompEvent):
            self._records.append(Record(parsed, line))
        elif isinstance(parsed, LossEvent):
            self._losses.append(parsed)
            self.loss_after.append(len(self._records))

    def stop(self) -> tuple[list[Record], list[LossEvent]]:
        """Stop following and return the records and losses read since ``start``."""
        if self._stop is not None and self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._stop.close()
        if self._error is not None:
            raise self._error
        return self._records, self._losses


class AuditLogTap:
    """auditd's log: where it ends on ``start``; what was appended by ``stop``, parsed as auditd lines.

    auditd writes the records itself, so nothing has to be read while the command runs. If the log was
    rotated meanwhile, only the new file is read, and the outcome says so.
    """

    def __init__(self, path: Path = kernel.AUDIT_LOG) -> None:
        self.origin: Path | None = path
        self.path = path
        self._start: tuple[int, int] = (0, 0)
        self.loss_after: list[int] = []

    def start(self) -> None:
        """Remember the log's inode and size."""
        try:
            st = self.path.stat()
        except OSError as exc:
            raise SandboxError(f"cannot read {str(self.path)!r}: {exc.strerror}") from None
        self._start = (st.st_ino, st.st_size)

    def stop(self) -> tuple[list[Record], list[LossEvent]]:
        """Parse what auditd appended since ``start``."""
        from seccomp_gen.records import Format, RecordParser

        inode, offset = self._start
        with self.path.open("rb") as fh:
            st = os.fstat(fh.fileno())
            fh.seek(offset if st.st_ino == inode and st.st_size >= offset else 0)
            data = fh.read()
        parser = RecordParser(Format.AUDITD)
        records: list[Record] = []
        losses: list[LossEvent] = []
        for line in data.splitlines(keepends=True):
            parsed = parser.feed_line(line.decode("utf-8", "surrogateescape"))
            if isinstance(parsed, SeccompEvent):
                records.append(Record(parsed, line))
            elif isinstance(parsed, LossEvent):
                losses.append(parsed)
                self.loss_after.append(len(records))
        return records, losses


def default_tap() -> Tap:
    """Where this host's records can be read live: auditd's log while auditd runs, else /dev/kmsg."""
    if kernel.auditd_running():
        return AuditLogTap()
    return KmsgTap()


def learn_outcome(outcome: Outcome, state: Path) -> LearnResult:
    """Learn the run's records into ``state``, trusted as their origin is (/dev/kmsg, root's audit.log)."""
    from seccomp_gen.learn import LinesSource, learn_source
    from seccomp_gen.sources import SourceKind
    from seccomp_gen.store import Store

    lines = [r.line for r in outcome.records]
    if outcome.origin is None:
        source = LinesSource(lines, SourceKind.KMSG, "record (/dev/kmsg)")
    else:
        source = _LogLines(lines, outcome.origin)
    with Store.open(state) as store:
        return learn_source(store, source)


class _LogLines(LinesSource):
    """Lines read from a log file: trusted by ``learn`` when the file is root's own, like auditd's."""

    def __init__(self, lines: Sequence[bytes], path: Path) -> None:
        super().__init__(lines, SourceKind.FILE, f"record ({path})")
        self.path = path


def group_denials(events: Sequence[SeccompEvent]) -> list[str]:
    """Denied records by (syscall, ABI, action, process), most frequent first: ``  3x  openat ...``."""
    from collections import Counter

    from seccomp_gen.explain import explain_event

    groups: Counter[tuple[str, str, str, str]] = Counter()
    for event in events:
        item = explain_event(event)
        groups[(item.syscall, item.abi or "?", item.action, item.comm or "?")] += 1
    return [
        f"  {count}x  {name} ({abi}) {action} by {comm}"
        for (name, abi, action, comm), count in sorted(groups.items(), key=lambda g: (-g[1], g[0]))
    ]


def describe(events: Sequence[SeccompEvent]) -> list[str]:
    """The records decoded as ``seccomp-gen explain`` prints them, one line each."""
    from seccomp_gen.explain import explain_event

    return [explain_event(event).text() for event in events]
