"""Learning from sources: the library's front door to what ``seccomp-gen learn`` does.

Usable without the CLI::

    with Store.open(path) as store:
        result = learn_lines(store, open("/var/log/syslog", "rb"), LearnOptions(comm=("http-echo",)))
        result = learn_source(store, [KmsgSource()], LearnOptions())  # seccomp_gen.kmsg

Records are aggregated in memory and written in batches, each batch one transaction, at most
``flush_interval`` seconds after its first record arrived (live sources wake up for it even when the
stream is quiet), so a crash loses at most that much. A batch also carries the sources' positions, so
what was learned and where reading stopped are saved together. How records are judged (trust,
de-duplication) is ``seccomp_gen.learner``'s.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from seccomp_gen import kernel
from seccomp_gen.errors import StateError
from seccomp_gen.feedback import AUDITD_ADVICE, LearnResult, Reporter
from seccomp_gen.inputs import SourceSpec, chunks_of, open_sources
from seccomp_gen.learner import Learner, LearnOptions
from seccomp_gen.sources import Chunk, ReadControl, Source, SourceKind, StopFlag
from seccomp_gen.store import Store

LINES_PER_CHUNK = 4096  # lines of a LinesSource joined into one chunk


def learn_source(
    store: Store,
    sources: Source | Sequence[Source],
    options: LearnOptions | None = None,
    *,
    reporter: Reporter | None = None,
    stop: StopFlag | None = None,
) -> LearnResult:
    """Learn from ``sources`` until they end (or, live, until ``stop`` is set).

    Whatever was read is written even when reading fails half-way (the error is raised afterwards).
    """
    options = options or LearnOptions()
    sources = [sources] if isinstance(sources, Source) else list(sources)
    own_stop = stop is None
    flag = stop if stop is not None else StopFlag()
    learner = Learner(store, options, reporter)
    learner.result.sources.extend(dict.fromkeys(s.name for s in sources))
    try:
        for chunk in chunks_of(sources, ReadControl(flag, learner.timeout), options.follow):
            learner.consume(chunk)
    except BaseException:
        _flush_quietly(learner)  # keep what was read before the failure
        raise
    finally:
        if own_stop:
            flag.close()
    learner.finish(sources)
    learner.result.stopped_by = flag.signum
    _check_auditd(learner.result, sources)
    return learner.result


def _flush_quietly(learner: Learner) -> None:
    with contextlib.suppress(StateError):
        learner.finish([])


def _check_auditd(result: LearnResult, sources: Sequence[Source]) -> None:
    """No records from the kernel log while auditd runs: auditd has them."""
    if (
        result.records
        or not any(s.kind is not SourceKind.GZIP for s in sources)
        or not kernel.auditd_running()
    ):
        return
    if any("audit" in Path(s.name).name for s in sources):  # auditd's own log (not just a path via audit/)
        return
    result.warnings.append(AUDITD_ADVICE)


def learn(
    store: Store,
    spec: SourceSpec,
    options: LearnOptions | None = None,
    *,
    reporter: Reporter | None = None,
    stop: StopFlag | None = None,
) -> LearnResult:
    """Open the sources named by ``spec`` and learn from them (what ``seccomp-gen learn`` does)."""
    options = options or LearnOptions()
    return learn_source(store, open_sources(spec, store, options), options, reporter=reporter, stop=stop)


class LinesSource(Source):
    """An iterable of lines (str or bytes) as a source, for library use and tests."""

    def __init__(
        self, lines: Iterable[str | bytes], kind: SourceKind = SourceKind.STDIN, name: str = "lines"
    ) -> None:
        super().__init__()
        self.lines = lines
        self.kind = kind
        self.name = name

    def chunks(self, ctl: ReadControl) -> Iterator[Chunk]:
        """Group the lines into chunks of whole lines."""
        batch: list[bytes] = []
        for line in self.lines:
            raw = line.encode("utf-8", "surrogateescape") if isinstance(line, str) else line
            batch.append(raw if raw.endswith(b"\n") else raw + b"\n")
            if len(batch) >= LINES_PER_CHUNK:
                yield Chunk(self.splitter.push(b"".join(batch)), self)
                batch = []
                if ctl.stop.is_set():
                    return
        yield Chunk(self.splitter.push(b"".join(batch)), self)


def learn_lines(
    store: Store,
    lines: Iterable[str | bytes],
    options: LearnOptions | None = None,
    *,
    kind: SourceKind = SourceKind.STDIN,
    name: str = "lines",
    reporter: Reporter | None = None,
) -> LearnResult:
    """Learn from lines already in memory (or any iterable), trusted as ``kind`` decides."""
    return learn_source(store, LinesSource(lines, kind, name), options, reporter=reporter)


__all__ = ["LearnOptions", "LinesSource", "learn", "learn_lines", "learn_source"]
