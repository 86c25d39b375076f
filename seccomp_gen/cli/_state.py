"""CLI commands on the state itself: status, reset, forget."""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING, Annotated

import typer

from seccomp_gen.cli._common import ContainerOption, PodOption, StateOption, plural, shown, state_path
from seccomp_gen.coverage import percent
from seccomp_gen.errors import SeccompGenError, StateError

if TYPE_CHECKING:
    from seccomp_gen.sources import Position
    from seccomp_gen.summary import StateSummary


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("status")(status)
    app.command("reset")(reset)
    app.command("forget")(forget)


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
    from seccomp_gen.observations import CounterKind

    why = {reason: n for (kind, reason), n in s.counters.items() if kind == CounterKind.UNATTRIBUTED and n}
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
        counts = f"{plural(c.syscalls, 'syscall')}, {plural(c.records, 'record')}"
        counts += f", {plural(c.processes, 'process')}"
        lines.append(f"  {shown(name)}{pod}: {counts}")
    lines += _more(s.totals.get("containers", 0), len(s.containers), "containers")
    return lines + (reasons if why else [])


def _coverage_lines(s: StateSummary) -> list[str]:
    """Is learning done? The whole state's figures and the estimate, labelled as one."""
    c = s.coverage
    if not c.records:
        return []
    lines = [
        f"learning: {plural(c.records, 'record')}, {plural(c.syscalls, 'syscall')} "
        f"({c.seen_once} seen only once), last new syscall {_when(c.last_new)}; estimated chance that "
        f"the next record brings a new syscall: {percent(c.unseen_estimate)} (Good-Turing, an estimate)"
    ]
    lines += [f"  not done? {reason}" for reason in c.not_done()]
    return lines


def _status_lines(s: StateSummary) -> list[str]:
    from seccomp_gen.observations import CounterKind
    from seccomp_gen.syscalls import syscall_label
    from seccomp_gen.trust import SUSPECTED_FORGERY

    lines = [f"state: {s.path} (schema {s.schema}), last update {_when(s.updated)}"]
    lines.append("ABIs:" if s.abis else "ABIs: none (nothing learned yet)")
    lines += [f"  {a.abi:<12} {plural(a.syscalls, 'syscall')}, {plural(a.records, 'record')}" for a in s.abis]
    lines += _coverage_lines(s)
    lines += _container_lines(s)
    if s.processes:
        lines.append("processes (estimate: the chance the next record of that process brings a new syscall):")
        for p in s.processes:
            counts = f"{plural(p.syscalls, 'syscall')}, {plural(p.records, 'record')}"
            guess = f"estimate {percent(p.coverage.unseen_estimate)}, last new {_when(p.last_new)}"
            lines.append(f"  {shown(p.comm):<16} {shown(p.exe)}  {counts}; {guess}")
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
        lines += [f"  {u.abi} {u.number}: {plural(u.records, 'record')}" for u in s.unknown]
        lines += _more(s.totals.get("unknown", 0), len(s.unknown), "numbers")
    if s.untrusted_only:
        lines.append("untrusted only (learned from lines any local user could write, e.g. syslog):")
        lines += [
            f"  {syscall_label(u.name, u.number)} ({u.abi}): {plural(u.records, 'record')}"
            for u in s.untrusted_only
        ]
        lines += _more(s.totals.get("untrusted_only", 0), len(s.untrusted_only), "syscalls")
    forged = s.counters.get((CounterKind.REJECTED, SUSPECTED_FORGERY), 0)
    if forged:
        lines.append(
            f"suspected forgeries: {plural(forged, 'record')} rejected (lines that claim to be the "
            "kernel's but show what the kernel never writes; learn's warnings said which)"
        )
    counted = {k: n for k, n in s.counters.items() if n}
    if counted:
        lines.append(
            "counters: " + ", ".join(f"{kind} {reason} {n}" for (kind, reason), n in sorted(counted.items()))
        )
    return lines


def _position_text(p: Position) -> str:
    from seccomp_gen.sources import SourceKind

    if p.kind is SourceKind.FILE:
        return f"file {p.key}: offset {p.offset} (inode {p.inode}), {_when(p.updated)}"
    if p.kind is SourceKind.GZIP:
        done = "read" if p.complete else f"partly read ({p.offset} bytes)"
        return f"gzip {p.cursor or p.key}: {done}, {_when(p.updated)}"
    if p.kind is SourceKind.JOURNAL:
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
                typer.echo(f"forgot {text}: {plural(removed, 'record')}", err=True)
            else:
                missing.append(text)
    for text in missing:
        typer.echo(f"warning: {text!r} was not learned{' on ' + ', '.join(abis) if abis else ''}", err=True)
    return 1 if missing else 0
