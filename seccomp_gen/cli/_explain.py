"""CLI commands: explain (issue 3)."""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from seccomp_gen.cli._common import ContainerOption, PodOption
from seccomp_gen.errors import SourceError
from seccomp_gen.formats import Format

if TYPE_CHECKING:
    from seccomp_gen.events import SeccompEvent
    from seccomp_gen.explain import ExplainedLoss, ExplainedRecord
    from seccomp_gen.lines import Readable
    from seccomp_gen.sources import SourceKind

_GZIP_MAGIC = b"\x1f\x8b"
_VERDICTS_MAX = 1024


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
    from seccomp_gen.events import SeccompEvent
    from seccomp_gen.explain import Summary, explain_loss
    from seccomp_gen.lines import iter_chunks
    from seccomp_gen.parse_stats import SkipReason
    from seccomp_gen.records import RecordParser

    paths = _check(files or ["-"])
    parser = RecordParser(fmt)
    scope = _scope(tuple(container or ()), tuple(pod or ()))
    totals = Summary()
    for path in paths:
        with _open(path) as stream:
            decode, verdict = _judge(_origin(path, stream))
            chunks = iter_chunks(stream, on_drop=lambda n: parser.count_skipped(SkipReason.TOO_LONG, n))
            for chunk in chunks:
                items = parser.feed_chunk(chunk)
                if scope is not None:
                    items = [item for item in items if not isinstance(item, SeccompEvent) or scope(item)]
                if summary:  # records counted as they are, each group decoded once at the end
                    for item in items:
                        if isinstance(item, SeccompEvent):
                            totals.add_record(item, verdict(item)[0])
                        else:
                            totals.add(explain_loss(item))
                elif items:
                    _print([decode(item) for item in items], as_json=as_json)
    stats = parser.stats
    if summary:
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


def _scope(container: tuple[str, ...], pod: tuple[str, ...]) -> Callable[[SeccompEvent], bool] | None:
    """A predicate keeping the records of ``container``/``pod`` (None: keep all), looked up live."""
    if not container and not pod:
        return None
    import time

    from seccomp_gen.containers import LIVE_SECONDS, Attributor, in_scope

    attributor = Attributor()

    def keep(event: SeccompEvent) -> bool:
        stamp = event.timestamp
        if stamp is None or time.time() - stamp > LIVE_SECONDS:
            return False
        found = attributor.attribute(event.pid, event.comm or "", event.exe or "", stamp).container
        if found is None:
            return False
        return in_scope(found.label, found.pod, container, pod)

    return keep


def _origin(name: str, stream: object) -> tuple[SourceKind, bool]:
    """(kind, root-owned) of an input, judged as ``learn`` judges it (``learn < FILE`` is the file)."""
    from seccomp_gen.sources import SourceKind
    from seccomp_gen.trust import origin_of

    if name != "-":
        return origin_of(SourceKind.GZIP if isinstance(stream, _Gzip) else SourceKind.FILE, Path(name))
    try:
        fd = sys.stdin.fileno()
    except (OSError, ValueError, io.UnsupportedOperation):  # a stdin without a descriptor (tests)
        return SourceKind.STDIN, False
    return origin_of(SourceKind.STDIN, None, fd=fd)


_Verdict = tuple[str, "str | None"]  # (trusted / untrusted / rejected, why rejected)


def _judge(
    origin: tuple[SourceKind, bool],
) -> tuple[Callable[[object], ExplainedRecord | ExplainedLoss], Callable[[SeccompEvent], _Verdict]]:
    """Decoding for one input: each record with the trust ``learn`` would give it, or why it would reject it;
    and that verdict alone, ``(trust, why rejected)``.

    The verdict depends only on the source and the record's transport and framing, so it is worked out
    once per framing (a bounded cache: a forged log may hold many).
    """
    from seccomp_gen.bounded import remember
    from seccomp_gen.events import LossEvent, SeccompEvent
    from seccomp_gen.explain import explain_event, explain_loss
    from seccomp_gen.trust import forgery_suspicion, trust_of

    # Keyed by the framing string alone, the transport kept beside it: hashing an Enum runs Python code.
    verdicts: dict[str, tuple[object, str, str | None]] = {}

    def verdict(event: SeccompEvent) -> tuple[str, str | None]:
        trusted = trust_of(origin[0], event, root_owned=origin[1])
        if trusted is None:
            return "rejected", "a journald entry of another transport posing as one"
        suspicion = forgery_suspicion(event)
        if suspicion is not None:
            return "rejected", f"suspected forgery: {suspicion}"
        return ("trusted" if trusted else "untrusted"), None

    def cached(event: SeccompEvent) -> tuple[str, str | None]:
        found = verdicts.get(event.framing)
        if found is None or found[0] is not event.transport:
            found = remember(verdicts, event.framing, (event.transport, *verdict(event)), _VERDICTS_MAX)
        return found[1], found[2]

    def judged(item: object) -> ExplainedRecord | ExplainedLoss:
        if isinstance(item, LossEvent):
            return explain_loss(item)
        assert isinstance(item, SeccompEvent)
        return explain_event(item, *cached(item))

    return judged, cached


def _print(rows: Sequence[ExplainedRecord | ExplainedLoss], *, as_json: bool) -> None:
    """One write per chunk; a closed pipe (``explain big.log | head``) raises BrokenPipeError to main."""
    if as_json:
        text = "\n".join(json.dumps(row.to_json(), ensure_ascii=False) for row in rows)
    else:
        text = "\n".join(row.text() for row in rows)
    typer.echo(text)


def _check(names: list[str]) -> list[str]:
    """Fail before printing anything when a file is missing or unreadable."""
    for name in names:
        if name == "-":
            continue
        path = Path(name)
        if not path.exists():
            raise SourceError(f"no such file: {name!r}")
        if path.is_dir():
            raise SourceError(f"is a directory: {name!r}")
        if not os.access(path, os.R_OK):
            raise SourceError(f"cannot read {name!r}: permission denied")
    return names


@contextlib.contextmanager
def _open(name: str) -> Iterator[Readable]:
    """Standard input for '-', a file otherwise; gzip when it starts with gzip's magic bytes."""
    if name == "-":
        yield sys.stdin.buffer
        return
    try:
        handle = Path(name).open("rb")  # noqa: SIM115 - closed by the with below; only open errors are ours
    except OSError as exc:
        raise SourceError(f"cannot open {name!r}: {exc.strerror}") from None
    with handle:
        if handle.peek(2)[:2] == _GZIP_MAGIC:
            with gzip.GzipFile(fileobj=handle) as unzipped:
                yield _Gzip(unzipped, name)
            return
        yield handle


class _Gzip:
    """A gzip stream whose corruption is a one-line ``SourceError``, not a traceback."""

    def __init__(self, stream: gzip.GzipFile, name: str) -> None:
        self._stream = stream
        self._name = name

    def read(self, size: int = -1, /) -> bytes:
        try:
            return self._stream.read1(size)
        except (OSError, EOFError) as exc:
            raise SourceError(f"cannot read {self._name!r}: {exc}") from None
