"""``explain`` as a library call: the inputs the user named, decoded with the trust ``learn`` gives.

``explain_inputs`` reads each input (a file, plain or gzip, or ``-`` for standard input) through one
parser, keeps the records of the containers asked for, and either hands each chunk's decoded rows to
``on_rows`` or counts them into a ``Summary``. The CLI only renders what it returns.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from seccomp_gen.bounded import remember
from seccomp_gen.errors import SourceError
from seccomp_gen.events import LossEvent, SeccompEvent
from seccomp_gen.explain import ExplainedLoss, ExplainedRecord, Summary, explain_event, explain_loss
from seccomp_gen.formats import Format
from seccomp_gen.inputs import check_readable
from seccomp_gen.lines import iter_chunks
from seccomp_gen.parse_stats import ParseStats, SkipReason
from seccomp_gen.records import RecordParser
from seccomp_gen.sources import GZIP_MAGIC, SourceKind

if TYPE_CHECKING:
    from seccomp_gen.lines import Readable

VERDICTS_MAX = 1024  # framings judged per input (a forged log may hold many)


@dataclass(slots=True)
class ExplainRun:
    """What reading the inputs saw: the parser's counts, and the summary when one was asked for."""

    stats: ParseStats
    summary: Summary | None


def explain_inputs(
    names: Sequence[str],
    *,
    fmt: Format = Format.AUTO,
    container: tuple[str, ...] = (),
    pod: tuple[str, ...] = (),
    summary: bool = False,
    on_rows: Callable[[list[ExplainedRecord | ExplainedLoss]], None] | None = None,
) -> ExplainRun:
    """Decode ``names`` in turn (``-``: standard input); every name is checked before any is read.

    Without ``summary`` the rows of each chunk go to ``on_rows`` as they are read (a live pipe's
    records show as they come); with it, records are counted and each group decoded once at the end.
    """
    for name in names:
        if name != "-":
            check_readable(Path(name))
    parser = RecordParser(fmt)
    keep = _scope(container, pod)
    totals = Summary() if summary else None
    for name in names:
        with _open(name) as stream:
            decode, verdict = _judge(_origin(name, stream))
            for chunk in iter_chunks(stream, on_drop=lambda n: parser.count_skipped(SkipReason.TOO_LONG, n)):
                items = parser.feed_chunk(chunk)
                if keep is not None:
                    items = [item for item in items if not isinstance(item, SeccompEvent) or keep(item)]
                if totals is not None:
                    for item in items:
                        if isinstance(item, SeccompEvent):
                            totals.add_record(item, verdict(item)[0])
                        else:
                            totals.add(explain_loss(item))
                elif items and on_rows is not None:
                    on_rows([decode(item) for item in items])
    return ExplainRun(parser.stats, totals)


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
    from seccomp_gen.events import SeccompEvent
    from seccomp_gen.explain import explain_loss
    from seccomp_gen.trust import verdict_of

    # Keyed by the framing string alone, the transport kept beside it: hashing an Enum runs Python code.
    verdicts: dict[str, tuple[object, str, str | None]] = {}

    def verdict(event: SeccompEvent) -> tuple[str, str | None]:
        found = verdict_of(origin[0], event, root_owned=origin[1])
        if found.rejected is not None:
            return "rejected", found.why
        return ("trusted" if found.trusted else "untrusted"), None

    def cached(event: SeccompEvent) -> tuple[str, str | None]:
        found = verdicts.get(event.framing)
        if found is None or found[0] is not event.transport:
            found = remember(verdicts, event.framing, (event.transport, *verdict(event)), VERDICTS_MAX)
        return found[1], found[2]

    def judged(item: object) -> ExplainedRecord | ExplainedLoss:
        if isinstance(item, LossEvent):
            return explain_loss(item)
        assert isinstance(item, SeccompEvent)
        return explain_event(item, *cached(item))

    return judged, cached


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
        if handle.peek(2)[:2] == GZIP_MAGIC:
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


__all__ = ["VERDICTS_MAX", "ExplainRun", "explain_inputs"]
