"""CLI commands: explain (issue 3)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer

from seccomp_gen.cli._common import ContainerOption, PodOption
from seccomp_gen.formats import Format

if TYPE_CHECKING:
    from seccomp_gen.explain import ExplainedLoss, ExplainedRecord


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("explain")(explain)


def explain(  # noqa: PLR0917 -- a Typer command takes its options as parameters
    files: Annotated[
        list[str] | None,
        typer.Argument(help="Log files (plain or .gz); '-' or none: standard input.", show_default=False),
    ] = None,
    summary: Annotated[
        bool,
        typer.Option("--summary", "-s", help="Count by process and syscall, with losses and skipped lines."),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON: one object per record, or one object with --summary.")
    ] = False,
    fmt: Annotated[
        Format, typer.Option("--format", "-f", help="Read only this framing (default: detect per line).")
    ] = Format.AUTO,
    container: ContainerOption = None,
    pod: PodOption = None,
) -> int:
    """Decode seccomp audit records: time, process, ABI, syscall name, action (the audit2why of seccomp).

    One line per record, UTC times; loss markers ("callbacks suppressed", audit_lost=...) are shown
    as LOST lines. Any framing is read: kernel log, /dev/kmsg, syslog, journalctl, audit.log.

    Examples:

        seccomp-gen explain /var/log/syslog

        journalctl -k -o json | seccomp-gen explain --summary

        seccomp-gen explain --json --format auditd /var/log/audit/audit.log

        tail -n0 -F /var/log/syslog | seccomp-gen explain --container web-1

    --container and --pod keep the records of those containers, attributed as learn does: only
    records read live (at most 30 s old) whose process is still there.
    """
    from seccomp_gen.explain_inputs import explain_inputs
    from seccomp_gen.parse_stats import SkipReason

    run = explain_inputs(
        files or ["-"],
        fmt=fmt,
        container=tuple(container or ()),
        pod=tuple(pod or ()),
        summary=summary,
        on_rows=lambda rows: _print(rows, as_json=as_json),
    )
    stats, totals = run.stats, run.summary
    if totals is not None:
        if as_json:
            typer.echo(
                json.dumps(
                    totals.to_json(lines=stats.lines, skipped=stats.skipped, noise=stats.noise), indent=2
                )
            )
        else:
            for line in totals.text(lines=stats.lines, skipped=stats.skipped, noise=stats.noise):
                typer.echo(line)
    elif stats.skipped:
        reasons = ", ".join(f"{reason}: {n}" for reason, n in sorted(stats.skipped.items()))
        typer.echo(
            f"note: skipped {stats.skipped_total} lines that were not valid records ({reasons})", err=True
        )
    if stats.lines and not stats.records:
        common = max(stats.skipped.items(), key=lambda item: item[1]) if stats.skipped else None
        why = f"; most skipped lines were {common[0]} ({common[1]})" if common else ""
        example = stats.examples.get(common[0]) if common else None
        why += f', the first: "{example}"' if example else ""
        typer.echo(
            f"warning: no seccomp record in {stats.lines} line(s){why}: is it a kernel log, journal or "
            "audit.log?",
            err=True,
        )
    if stats.skipped.get(SkipReason.MESSAGE_NOT_SHOWN):
        typer.echo(
            "note: journalctl -o json showed the MESSAGE of some seccomp records as null (over 4096 bytes): "
            "run it with --all",
            err=True,
        )
    return 0


def _print(rows: Sequence[ExplainedRecord | ExplainedLoss], *, as_json: bool) -> None:
    """One write per chunk; a closed pipe (``explain big.log | head``) raises BrokenPipeError to main."""
    if as_json:
        text = "\n".join(json.dumps(row.to_json(), ensure_ascii=False) for row in rows)
    else:
        text = "\n".join(row.text() for row in rows)
    typer.echo(text)
