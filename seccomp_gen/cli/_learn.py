"""CLI command learn: reading, live feedback, the closing summary."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, TextIO

import typer

from seccomp_gen.actions import ActionFilter
from seccomp_gen.cli._common import (
    ContainerOption,
    PodOption,
    StateOption,
    parse_time,
    plural,
    shown,
    state_path,
)
from seccomp_gen.errors import SeccompGenError
from seccomp_gen.feedback import Reporter
from seccomp_gen.formats import Format

if TYPE_CHECKING:
    from seccomp_gen.feedback import LearnResult, LossReport, NewSyscall
    from seccomp_gen.sources import StopFlag

EXIT_BY_SIGNAL = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}
STATUS_REDRAW = 0.2


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("learn")(learn)


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
        f"no seccomp record in {plural(result.lines, 'line')} of {sources}{why}: is it a kernel log, "
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
            self._line(f"+ {new.label} ({new.abi}) by {shown(new.comm)}{trust}")

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
    from seccomp_gen.sources import is_gzip

    total = 0
    for path in files:
        try:
            if not path.is_file() or is_gzip(path):  # never open a FIFO here: it would wait for a writer
                return None
            total += path.stat().st_size
        except OSError:
            return None
    return total or None


def _summary(result: LearnResult, path: Path, held: dict[tuple[str, str], int] | None = None) -> str:
    """The one-paragraph summary printed at the end."""
    from seccomp_gen.observations import OVER_CAP

    how = ""
    if result.stopped_by:
        how = f"Stopped by {signal.Signals(result.stopped_by).name}; everything read was saved. "
    sources = ", ".join(result.sources) or "no input"
    parts = [f"{how}Read {plural(result.lines, 'line')} from {sources}: {plural(result.records, 'record')}"]
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
    parts.append(f". {plural(len(names), 'new syscall')}{': ' + shown if names else ''}.")
    if result.untrusted:
        parts.append(
            f" {plural(result.untrusted, 'record')} came from text any local user can write (syslog, stdin):"
            " `emit` warns about calls only such lines show, `emit --trusted-only` leaves them out."
        )
    if result.skipped:
        parts.append(f" Skipped {plural(sum(result.skipped.values()), 'line')} ({_reasons(result.skipped)}).")
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
