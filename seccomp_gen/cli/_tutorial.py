"""CLI commands: record, run, doctor (issue 6) — the real path on a real kernel."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from seccomp_gen.cli._common import StateOption, state_path

if TYPE_CHECKING:
    from seccomp_gen.sandbox import FilterSpec, Outcome

EXIT_NOT_READY = 1

FixRatelimitOption = Annotated[
    bool,
    typer.Option(
        "--fix-ratelimit",
        help="Lift kernel.printk_ratelimit while the command runs (root), restoring it afterwards.",
    ),
]

CommandArgument = Annotated[
    list[str] | None,
    typer.Argument(help="The command and its arguments, after --.", show_default=False),
]


def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Print the checks as JSON.")] = False,
    state: StateOption = None,
) -> int:
    """Check whether this host can produce and deliver seccomp records, with a fix for each problem.

    Exits 1 when learning cannot work here (a FAIL row).

    Example:

        seccomp-gen doctor
    """
    from seccomp_gen import doctor as diagnosis

    rows = diagnosis.diagnose(diagnosis.seen_in(state_path(state)))
    if as_json:
        payload = [
            {"check": r.name, "status": r.status.value.lower(), "detail": r.detail, "fix": r.fix}
            for r in rows
        ]
        typer.echo(json.dumps({"ready": diagnosis.ready(rows), "checks": payload}, indent=2))
    else:
        width = max(len(r.name) for r in rows)
        for row in rows:
            typer.echo(f"{row.status.value:<4}  {row.name:<{width}}  {row.detail}")
            if row.fix and row.status.value != "ok":
                typer.echo(f"{'':<4}  {'':<{width}}  fix: {row.fix}")
    return 0 if diagnosis.ready(rows) else EXIT_NOT_READY


def record(
    command: CommandArgument = None,
    state: StateOption = None,
    fix_ratelimit: FixRatelimitOption = False,
) -> int:
    """Run a command under a SCMP_ACT_LOG filter and learn every syscall it makes.

    The command and its children run with every call allowed and logged; their records (only theirs:
    the command gets an audit session of its own) are read live from /dev/kmsg, or from auditd's log
    while auditd runs, and learned into the state. Exits with the command's status.

    Example:

        seccomp-gen record --fix-ratelimit -- python3 -c 'print("hi")'
    """
    from seccomp_gen import sandbox
    from seccomp_gen.errors import SandboxError

    argv = list(command or [])
    if not argv:
        raise SandboxError("no command given (usage: seccomp-gen record -- CMD ARGS...)")
    for warning in sandbox.check_record_preconditions(fix_ratelimit=fix_ratelimit):
        typer.echo(f"warning: {warning}", err=True)
    outcome = _run_counting_losses(sandbox.FilterSpec(sandbox.Mode.LOG), argv, fix_ratelimit)
    path = state_path(state)
    result = sandbox.learn_outcome(outcome, path)
    for line in _outcome_notes(outcome):
        typer.echo(line, err=True)
    for new in result.new_syscalls:
        typer.echo(f"+ {new.label} ({new.abi}) by {new.comm}", err=True)
    typer.echo(
        f"recorded {len(outcome.records)} record(s) of {argv[0]!r} (audit session {outcome.session}); "
        f"{len(result.new_syscalls)} new syscall(s) learned into {path}",
        err=True,
    )
    return outcome.returncode


def run(
    profile: Annotated[
        Path, typer.Option("--profile", "-p", help="Docker/OCI JSON seccomp profile to enforce.")
    ],
    command: CommandArgument = None,
    no_log_denials: Annotated[
        bool, typer.Option("--no-log-denials", help="Do not set SECCOMP_FILTER_FLAG_LOG.")
    ] = False,
    fix_ratelimit: FixRatelimitOption = False,
) -> int:
    """Run a command under a seccomp profile, then list what the profile denied.

    Denials are logged by the kernel (SECCOMP_FILTER_FLAG_LOG) and decoded as `explain` does.
    Exits with the command's status.

    Example:

        seccomp-gen run --profile profile.json -- python3 -c 'print("hi")'
    """
    from seccomp_gen import sandbox

    if not profile.is_file():
        from seccomp_gen.errors import ProfileError

        raise ProfileError(f"no such profile: {str(profile)!r}")
    spec = sandbox.FilterSpec(sandbox.Mode.PROFILE, profile, log_denials=not no_log_denials)
    outcome = _run_counting_losses(spec, list(command or []), fix_ratelimit)
    for line in _outcome_notes(outcome):
        typer.echo(line, err=True)
    denied = outcome.denied
    if denied:
        typer.echo(f"denied by {profile}: {len(denied)} record(s)", err=True)
        for line in sandbox.group_denials(denied):
            typer.echo(line, err=True)
        import shlex

        learn = "seccomp-gen record -- " + shlex.join(command or [])
        typer.echo(f"to allow what it needs, learn it: {learn}, then seccomp-gen emit", err=True)
    else:
        typer.echo(f"nothing denied by {profile}", err=True)
    return outcome.returncode


def _run_counting_losses(spec: FilterSpec, argv: list[str], fix_ratelimit: bool) -> Outcome:
    """Run under ``spec`` with the rate limit lifted, or wait for the kernel's count of what it dropped."""
    from seccomp_gen import kernel, sandbox

    tap = sandbox.default_tap()
    if fix_ratelimit:
        with kernel.rate_limit_lifted():
            return sandbox.run_under_filter(spec, argv, tap)

    def waiting(seconds: float) -> None:
        typer.echo(
            f"note: kernel.printk_ratelimit is on: waiting {seconds:.0f} s for the kernel's count of "
            "records it dropped",
            err=True,
        )

    window = sandbox.loss_window(tap, kernel.rate_limit())
    return sandbox.run_under_filter(spec, argv, tap, window=window, waiting=waiting)


def _outcome_notes(outcome: object) -> list[str]:
    from seccomp_gen.sandbox import Outcome

    assert isinstance(outcome, Outcome)
    lines = [f"warning: {note}" for note in outcome.notes]
    for loss in outcome.losses:
        count = "an unknown number of" if loss.count is None else str(loss.count)
        lines.append(f"warning: {count} record(s) lost ({loss.kind.value}): {loss.text.strip()}")
    return lines


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("doctor")(doctor)
    app.command("record", context_settings={"allow_interspersed_args": False})(record)
    app.command("run", context_settings={"allow_interspersed_args": False})(run)
