"""CLI commands: learn, status, reset, forget (issue 4)."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, TextIO

import typer

from seccomp_gen.actions import ActionFilter
from seccomp_gen.cli._common import ContainerOption, PodOption, StateOption, parse_time, state_path
from seccomp_gen.coverage import percent
from seccomp_gen.errors import SeccompGenError, StateError
from seccomp_gen.feedback import Reporter
from seccomp_gen.formats import Format

if TYPE_CHECKING:
    from seccomp_gen.feedback import LearnResult, LossReport, NewSyscall
    from seccomp_gen.sources import Position, StopFlag
    from seccomp_gen.summary import StateSummary

EXIT_BY_SIGNAL = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}
STATUS_REDRAW = 0.2


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("learn")(learn)
    app.command("status")(status)
    app.command("reset")(reset)
    app.command("forget")(forget)


def learn(  # noqa: PLR0917 -- a Typer command takes its options as parameters
    files: Annotated[
        list[Path] | None,
        # readable=False: our own check says "error: cannot read ...", Click's would print usage
        typer.Argument(
            help="Log files (plain or .gz); '-' or nothing: stdin.", show_default=False, readable=False
        ),
    ] = None,
    journal: Annotated[
        bool, typer.Option("--journal", help="Read the kernel and audit records of journald.")
    ] = False,
    kmsg: Annotated[bool, typer.Option("--kmsg", help="Read the kernel log (/dev/kmsg) directly.")] = False,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep reading as the sources grow.")] = False,
    from_start: Annotated[
        bool, typer.Option("--from-start", help="Ignore saved positions (duplicates are still recognised).")
    ] = False,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Exit 1 (after saving what was read) when the input had lines but no record, or "
            "records were lost: for scripts that must not go on with an incomplete state.",
        ),
    ] = False,
    fmt: Annotated[Format, typer.Option("--format", help="Input format (default: detected per line).")] = (
        Format.AUTO
    ),
    comm: Annotated[list[str] | None, typer.Option("--comm", help="Only this command name (glob).")] = None,
    exe: Annotated[list[str] | None, typer.Option("--exe", help="Only this executable (glob).")] = None,
    pid: Annotated[list[int] | None, typer.Option("--pid", help="Only this process id.")] = None,
    uid: Annotated[list[int] | None, typer.Option("--uid", help="Only this user id.")] = None,
    subj: Annotated[list[str] | None, typer.Option("--subj", help="Only this LSM label (glob).")] = None,
    container: ContainerOption = None,
    pod: PodOption = None,
    action: Annotated[
        ActionFilter, typer.Option("--action", help="log, denied or all (a logged denial was wanted too).")
    ] = ActionFilter.ALL,
    since: Annotated[str | None, typer.Option("--since", help="ISO 8601 or epoch seconds.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="ISO 8601 or epoch seconds.")] = None,
    state: StateOption = None,
) -> int:
    """Learn syscalls from seccomp audit records into the state database.

    Reads stdin as records arrive (each is saved within a second), files (resuming where the last run
    stopped; .gz too), journald (--journal) or /dev/kmsg (--kmsg). Ctrl-C, SIGTERM and end of input
    save everything read and print a summary; the exit status is 0 at end of input (1 with --strict
    when the input held no record or records were lost), 130 after SIGINT, 143 after SIGTERM, 129
    after SIGHUP.

    Examples:

        tail -n0 -F /var/log/syslog | seccomp-gen learn

        seccomp-gen learn /var/log/syslog /var/log/syslog.2.gz --comm http-echo

        seccomp-gen learn --journal --follow

        seccomp-gen learn --kmsg --since 2026-11-28T11:00:00Z
    """
    from seccomp_gen.inputs import SourceSpec
    from seccomp_gen.learn import LearnOptions
    from seccomp_gen.learn import learn as run_learn
    from seccomp_gen.sources import StopFlag
    from seccomp_gen.store import Store

    options = LearnOptions(
        comm=tuple(comm or ()),
        exe=tuple(exe or ()),
        pid=tuple(pid or ()),
        uid=tuple(uid or ()),
        subj=tuple(subj or ()),
        container=tuple(container or ()),
        pod=tuple(pod or ()),
        action=action,
        since=parse_time(since, "--since"),
        until=parse_time(until, "--until"),
        format=fmt,
        from_start=from_start,
        follow=follow,
    )
    spec = SourceSpec(files=tuple(files or ()), journal=journal, kmsg=kmsg)
    if journal and not files and not kmsg:
        _check_journal(follow=follow)
    path = state_path(state)
    reporter = _Feedback(sys.stderr, total_bytes=_plain_size(files or []) if not follow else None)
    if spec.stdin_only and sys.stdin.isatty():
        typer.echo("reading records from stdin (end with Ctrl-D)", err=True)
    stop = StopFlag()
    previous = _install_handlers(stop)
    try:
        with Store.open(path) as store:
            result = run_learn(store, spec, options, reporter=reporter, stop=stop)
            held = {(row.kind, row.location): row.records for row in store.losses()} if result.losses else {}
    finally:
        _restore_handlers(previous)
        stop.close()
        reporter.clear()
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(_summary(result, path, held), err=True)
    empty = bool(result.lines and not result.records and not result.stopped_by)
    if empty:
        typer.echo(f"warning: {_nothing_read(result)}", err=True)
    if result.stopped_by:
        return EXIT_BY_SIGNAL.get(signal.Signals(result.stopped_by), 1)
    if strict and (empty or result.losses):
        typer.echo("error: --strict: " + ("no record was read" if empty else "records were lost"), err=True)
        return EXIT_STRICT
    return 0


EXIT_STRICT = 1
JOURNAL_DIRS = (Path("/var/log/journal"), Path("/run/log/journal"))
SYSTEM_JOURNALCTL = ("/usr/bin/journalctl", "/bin/journalctl")


def _check_journal(*, follow: bool) -> None:
    """``--journal`` needs journald running, or (without --follow) a journal it left on disk."""
    from seccomp_gen import kernel

    # A journalctl of one's own ahead on PATH (a wrapper around --directory or a remote journal) is
    # taken at its word; the system's reads only what journald writes.
    if kernel.journald_running() or kernel.journalctl_path() not in SYSTEM_JOURNALCTL:
        return
    stored = any(d.is_dir() and any(d.iterdir()) for d in JOURNAL_DIRS)
    where = "read /var/log/syslog, /dev/kmsg (--kmsg) or auditd's /var/log/audit/audit.log instead"
    if follow:
        raise SeccompGenError(
            f"--journal --follow: systemd-journald is not running here, nothing would arrive; {where}"
        )
    if not stored:
        raise SeccompGenError(f"--journal: systemd-journald is not running and left no journal here; {where}")


def _nothing_read(result: LearnResult) -> str:
    """Why a run learned nothing: no lines, or lines without a record (and the commonest skip)."""
    sources = ", ".join(result.sources) or "the input"
    skipped = sorted(result.skipped.items(), key=lambda item: -item[1])
    why = f"; most skipped lines were {skipped[0][0]} ({skipped[0][1]})" if skipped else ""
    example = result.examples.get(skipped[0][0]) if skipped else None
    why += f', the first: "{example}"' if example else ""
    return (
        f"no seccomp record in {_plural(result.lines, 'line')} of {sources}{why}: is it a kernel log, "
        "journal or audit.log? (seccomp-gen explain shows what each line is)"
    )


def _install_handlers(stop: StopFlag) -> dict[int, object]:
    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C: stop waiting (what was written stays)
        stop.set(signum)

    return {sig: signal.signal(sig, handler) for sig in EXIT_BY_SIGNAL}


def _restore_handlers(previous: dict[int, object]) -> None:
    for sig, old in previous.items():
        signal.signal(sig, old)  # type: ignore[arg-type]


class _Feedback(Reporter):
    """On a terminal: a live status line and one line per new syscall. In a pipe: warnings only."""

    def __init__(self, stream: TextIO, total_bytes: int | None = None) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self._drawn = False
        self._last = 0.0
        self.total_bytes = total_bytes  # plain files of known size: the status line shows % and ETA
        self._started = time.monotonic()

    def clear(self) -> None:
        """Remove the status line."""
        if self._drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self._drawn = False

    def _line(self, text: str) -> None:
        self.clear()
        self.stream.write(text + "\n")
        self.stream.flush()

    def learned(self, new: NewSyscall) -> None:
        """``+ openat (x86_64) by http-echo``."""
        if self.tty:
            trust = "" if new.trusted else "  [untrusted source]"
            self._line(f"+ {new.label} ({new.abi}) by {_shown(new.comm)}{trust}")

    def loss(self, report: LossReport, first: bool) -> None:
        """Loud, once per kind and place, as soon as it is seen; the summary has the totals."""
        if first:
            self._line(f"warning: {report.message(so_far=True)}")

    def note(self, text: str) -> None:
        """Rotation and such: only worth a line on a terminal."""
        if self.tty:
            self._line(text)

    def progress(self, result: LearnResult) -> None:
        """Redraw the status line (at most five times a second)."""
        now = time.monotonic()
        if not self.tty or now - self._last < STATUS_REDRAW:
            return
        self._last = now
        self.stream.write(
            f"\r\033[Krecords {result.records} · learned {result.learned} · new syscalls "
            f"{len(result.new_syscalls)} · lost {result.lost}{self._done(result.bytes_read, now)}"
        )
        self.stream.flush()
        self._drawn = True

    def _done(self, read: int, now: float) -> str:
        """`` · 42 % · ETA 0:13`` while files of known size are read."""
        if not self.total_bytes or read <= 0:
            return ""
        share = min(read / self.total_bytes, 1.0)
        left = (now - self._started) * (1 - share) / share
        return f" · {share * 100:.0f} % · ETA {int(left) // 60}:{int(left) % 60:02d}"


def _plain_size(files: list[Path]) -> int | None:
    """The total size of ``files`` when every one is a regular, uncompressed file; else None."""
    total = 0
    for path in files:
        try:
            if not path.is_file():  # never open a FIFO here: it would wait for a writer
                return None
            with path.open("rb") as fh:
                compressed = fh.read(2) == b"\x1f\x8b"
                size = os.fstat(fh.fileno()).st_size
        except OSError:
            return None
        if compressed:
            return None
        total += size
    return total or None


def _shown(text: str | None) -> str:
    """A process's comm or exe for the terminal: as is when printable, else quoted with escapes.

    Both come from the record (any process names itself), so raw they could carry terminal escapes.
    """
    if not text:
        return "?"
    return text if text.isprintable() else json.dumps(text)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _summary(result: LearnResult, path: Path, held: dict[tuple[str, str], int] | None = None) -> str:
    """The one-paragraph summary printed at the end."""
    from seccomp_gen.observations import OVER_CAP

    how = ""
    if result.stopped_by:
        how = f"Stopped by {signal.Signals(result.stopped_by).name}; everything read was saved. "
    sources = ", ".join(result.sources) or "no input"
    parts = [f"{how}Read {_plural(result.lines, 'line')} from {sources}: {_plural(result.records, 'record')}"]
    parts.append(f", {result.learned} counted into {path}")
    extra = []
    if result.duplicates:
        extra.append(f"{result.duplicates} already known (same event id)")
    if result.filtered:
        extra.append(f"{sum(result.filtered.values())} filtered out ({_reasons(result.filtered)})")
    if result.rejected:
        extra.append(f"{sum(result.rejected.values())} rejected ({_reasons(result.rejected)})")
    if result.capped:
        extra.append(
            f"{sum(result.capped.values())} of untrusted processes past the state's cap on them "
            f"(status --json: totals) counted as {OVER_CAP!r}"
        )
    if extra:
        parts.append(" (" + "; ".join(extra) + ")")
    names = [f"{n.label} ({n.abi})" for n in result.new_syscalls]
    shown = ", ".join(names[:12]) + (f" and {len(names) - 12} more" if len(names) > 12 else "")
    parts.append(f". {_plural(len(names), 'new syscall')}{': ' + shown if names else ''}.")
    if result.untrusted:
        parts.append(
            f" {_plural(result.untrusted, 'record')} came from text any local user can write (syslog, stdin):"
            " `emit` warns about calls only such lines show, `emit --trusted-only` leaves them out."
        )
    if result.skipped:
        parts.append(
            f" Skipped {_plural(sum(result.skipped.values()), 'line')} ({_reasons(result.skipped)})."
        )
    if result.losses:
        lost = "; ".join(
            _lost_text(r, (held or {}).get((r.kind.value, r.location))) for r in result.losses.values()
        )
        parts.append(f" LOSSES: {lost} — see the warnings above.")
    else:
        parts.append(" No losses seen.")
    return "".join(parts)


def _lost_text(report: LossReport, held: int | None) -> str:
    """``74 printk-suppressed in /var/log/syslog``, and what the state holds there when that differs."""
    text = f"{report.amount} {report.kind.value} in {report.location}"
    if held is not None and held != (report.count or 0):
        text += f" (the state holds {held} lost there in all, as `seccomp-gen status` shows)"
    return text


def _reasons(counts: dict[str, int]) -> str:
    return ", ".join(f"{reason} {n}" for reason, n in sorted(counts.items()))


# -- status --------------------------------------------------------------------------------------


def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
    state: StateOption = None,
    container: ContainerOption = None,
    pod: PodOption = None,
) -> int:
    """Show what the state holds: ABIs, syscalls, processes, sources, losses, untrusted-only calls.

    Examples:

        seccomp-gen status

        seccomp-gen status --json --state ./state.db
    """
    from seccomp_gen.store import Store
    from seccomp_gen.summary import summarize

    keep = None
    if container or pod:
        from functools import partial

        from seccomp_gen.containers import in_scope

        keep = partial(in_scope, containers=tuple(container or ()), pods=tuple(pod or ()))

    with Store.open(state_path(state), readonly=True) as store:
        summary = summarize(store, keep)
    if as_json:
        typer.echo(json.dumps(summary.to_json(), indent=2))
    else:
        for line in _status_lines(summary):
            typer.echo(line)
    return 0


def _when(ts: float | None) -> str:
    if ts is None:
        return "never"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))


def _more(total: int, shown: int, what: str) -> list[str]:
    return (
        [f"  ... and {total - shown} more {what} (status --json lists the same {shown})"]
        if total > shown
        else []
    )


def _container_lines(s: StateSummary) -> list[str]:
    """Records by container; those not attributed (read after the fact, process gone) and why."""
    why = {reason: n for (kind, reason), n in s.counters.items() if kind == "unattributed" and n}
    reasons = ["  not attributed, by reason: " + ", ".join(f"{r} {n}" for r, n in sorted(why.items()))]
    if not s.containers or [c.container for c in s.containers] == [""]:
        return [
            "containers: none attributed (records are attributed when learned live: --kmsg --follow, "
            "--journal --follow, or a live pipe)",
            *(reasons if why else []),
        ]
    lines = ["containers:"]
    for c in s.containers:
        name = c.container or "(not attributed)"
        pod = f" pod {c.pod}" if c.pod else ""
        counts = f"{_plural(c.syscalls, 'syscall')}, {_plural(c.records, 'record')}"
        counts += f", {_plural(c.processes, 'process')}"
        lines.append(f"  {_shown(name)}{pod}: {counts}")
    lines += _more(s.totals.get("containers", 0), len(s.containers), "containers")
    return lines + (reasons if why else [])


def _coverage_lines(s: StateSummary) -> list[str]:
    """Is learning done? The whole state's figures and the estimate, labelled as one."""
    c = s.coverage
    if not c.records:
        return []
    lines = [
        f"learning: {_plural(c.records, 'record')}, {_plural(c.syscalls, 'syscall')} "
        f"({c.seen_once} seen only once), last new syscall {_when(c.last_new)}; estimated chance that "
        f"the next record brings a new syscall: {percent(c.unseen_estimate)} (Good-Turing, an estimate)"
    ]
    lines += [f"  not done? {reason}" for reason in c.not_done()]
    return lines


def _status_lines(s: StateSummary) -> list[str]:
    from seccomp_gen.trust import SUSPECTED_FORGERY

    lines = [f"state: {s.path} (schema {s.schema}), last update {_when(s.updated)}"]
    lines.append("ABIs:" if s.abis else "ABIs: none (nothing learned yet)")
    lines += [
        f"  {a.abi:<12} {_plural(a.syscalls, 'syscall')}, {_plural(a.records, 'record')}" for a in s.abis
    ]
    lines += _coverage_lines(s)
    lines += _container_lines(s)
    if s.processes:
        lines.append("processes (estimate: the chance the next record of that process brings a new syscall):")
        for p in s.processes:
            counts = f"{_plural(p.syscalls, 'syscall')}, {_plural(p.records, 'record')}"
            guess = f"estimate {percent(p.coverage.unseen_estimate)}, last new {_when(p.last_new)}"
            lines.append(f"  {_shown(p.comm):<16} {_shown(p.exe)}  {counts}; {guess}")
        lines += _more(s.totals.get("processes", 0), len(s.processes), "processes")
    if s.positions:
        lines.append("sources:")
        lines += [f"  {_position_text(p)}" for p in s.positions]
    lines.append("losses:" if s.losses else "losses: none seen")
    for row in s.losses:
        unknown = f" (+{row.unknown_markers} markers without a count)" if row.unknown_markers else ""
        lines.append(f"  {row.kind} in {row.location}: {row.records} records lost{unknown}")
    if s.unknown:
        lines.append("unknown numbers (no table knows them; never emitted):")
        lines += [f"  {u.abi} {u.number}: {_plural(u.records, 'record')}" for u in s.unknown]
        lines += _more(s.totals.get("unknown", 0), len(s.unknown), "numbers")
    if s.untrusted_only:
        lines.append("untrusted only (learned from lines any local user could write, e.g. syslog):")
        lines += [
            f"  {u.name or u.number} ({u.abi}): {_plural(u.records, 'record')}" for u in s.untrusted_only
        ]
        lines += _more(s.totals.get("untrusted_only", 0), len(s.untrusted_only), "syscalls")
    forged = s.counters.get(("rejected", SUSPECTED_FORGERY), 0)
    if forged:
        lines.append(
            f"suspected forgeries: {_plural(forged, 'record')} rejected (lines that claim to be the "
            "kernel's but show what the kernel never writes; learn's warnings said which)"
        )
    counted = {k: n for k, n in s.counters.items() if n}
    if counted:
        lines.append(
            "counters: " + ", ".join(f"{kind} {reason} {n}" for (kind, reason), n in sorted(counted.items()))
        )
    return lines


def _position_text(p: Position) -> str:
    if p.kind == "file":
        return f"file {p.key}: offset {p.offset} (inode {p.inode}), {_when(p.updated)}"
    if p.kind == "gzip":
        done = "read" if p.complete else f"partly read ({p.offset} bytes)"
        return f"gzip {p.cursor or p.key}: {done}, {_when(p.updated)}"
    if p.kind == "journal":
        return f"journal ({p.key}): cursor {p.cursor}, {_when(p.updated)}"
    return f"{p.kind} (boot {p.key}): sequence {p.seq}, {_when(p.updated)}"


# -- reset and forget ----------------------------------------------------------------------------


def reset(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
    state: StateOption = None,
) -> int:
    """Forget everything learned (asks first unless --yes).

    Example:

        seccomp-gen reset --yes --state ./state.db
    """
    from seccomp_gen.store import Store

    path = state_path(state)
    if not yes:
        if not sys.stdin.isatty():
            raise StateError(f"refusing to reset {str(path)!r} without --yes (no terminal to ask on)")
        if not typer.confirm(f"Forget everything learned in {path}?", default=False):
            typer.echo("nothing changed", err=True)
            return 1
    with Store.open(path) as store:
        store.reset()
    typer.echo(f"reset {path}", err=True)
    return 0


def _syscall_number(text: str) -> int:
    """A number given on the command line, refused past what any ABI numbers (never an overflow)."""
    from seccomp_gen._fields import SYSCALL_MAX

    if not text.isascii() or int(text) > SYSCALL_MAX:
        raise SeccompGenError(f"no ABI has a syscall numbered {text!r} (the largest is {SYSCALL_MAX})")
    return int(text)


def forget(
    syscalls: Annotated[list[str], typer.Argument(help="Syscall names (or numbers with --arch).")],
    arch: Annotated[
        list[str] | None,
        typer.Option("--arch", "-a", help="Only on this ABI (repeatable).", show_default=False),
    ] = None,
    state: StateOption = None,
) -> int:
    """Forget syscalls learned by mistake (on every ABI, or only on --arch).

    Examples:

        seccomp-gen forget ptrace

        seccomp-gen forget 999 --arch x86_64
    """
    from seccomp_gen.abi import get_abi
    from seccomp_gen.store import Store
    from seccomp_gen.syscalls import canonical_name

    abis = tuple(get_abi(a).name for a in arch or ())
    missing = []
    with Store.open(state_path(state)) as store:
        for text in syscalls:
            if text.isdigit() and not abis:
                raise SeccompGenError(f"forgetting by number ({text!r}) needs --arch: numbers differ per ABI")
            if text.isdigit():
                removed = store.forget(None, number=_syscall_number(text), abis=abis)
            else:
                removed = store.forget(canonical_name(text), abis=abis)
            if removed:
                typer.echo(f"forgot {text}: {_plural(removed, 'record')}", err=True)
            else:
                missing.append(text)
    for text in missing:
        typer.echo(f"warning: {text!r} was not learned{' on ' + ', '.join(abis) if abis else ''}", err=True)
    return 1 if missing else 0
