"""The front door for inputs: what the user named (files, ``-``, the journal, /dev/kmsg) opened as
sources, resumed from the positions the state saved, with a file rotated away since the last run
read to its end first. ``seccomp_gen.learn`` reads what this opens.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from seccomp_gen.errors import SourceError
from seccomp_gen.journal import JournalSource
from seccomp_gen.kmsg import KmsgSource
from seccomp_gen.sources import (
    Chunk,
    FileSource,
    GzipSource,
    Position,
    ReadControl,
    Source,
    SourceKind,
    StdinSource,
    file_key,
    follow_files,
    is_gzip,
)

if TYPE_CHECKING:
    from seccomp_gen.store import Store


class ReadOptions(Protocol):
    """What opening the sources needs of the options (``seccomp_gen.learn.LearnOptions`` has it)."""

    @property
    def from_start(self) -> bool: ...

    @property
    def follow(self) -> bool: ...

    @property
    def since(self) -> float | None: ...

    @property
    def until(self) -> float | None: ...


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """What to read: files (``-`` is stdin), the journal, /dev/kmsg; stdin when nothing is given."""

    files: tuple[Path, ...] = ()
    journal: bool = False
    kmsg: bool = False

    @property
    def stdin_only(self) -> bool:
        """Nothing named: read stdin."""
        return not (self.files or self.journal or self.kmsg)


def open_sources(spec: SourceSpec, store: Store, options: ReadOptions) -> list[Source]:
    """Build the sources of ``spec``, resuming from the positions saved in ``store``."""
    sources: list[Source] = []
    files = spec.files if not spec.stdin_only else (Path("-"),)
    for path in files:
        source = _file_source(path, store, options)
        if isinstance(source, FileSource) and not options.from_start:
            rotated = rotated_predecessor(source.path, store.position(SourceKind.FILE, source.name), files)
            if rotated is not None:  # its unread end first, as it was written first
                sources.append(_Predecessor(rotated, saved=store.positions(SourceKind.FILE)))
        sources.append(source)
    if spec.journal:
        saved = store.position(SourceKind.JOURNAL, JournalSource().key)
        cursor = None if options.from_start or saved is None else saved.cursor
        sources.append(JournalSource(cursor=cursor, follow=options.follow, since=options.since,
                                     until=options.until))  # fmt: skip
    if spec.kmsg:
        kmsg = KmsgSource(follow=options.follow)
        saved = store.position(SourceKind.KMSG, kmsg.key)
        kmsg.last_seq = None if options.from_start or saved is None else saved.seq
        sources.append(kmsg)
    if options.follow and len(sources) > 1 and any(s.kind is not SourceKind.FILE for s in sources):
        raise SourceError("--follow reads files, stdin, the journal or /dev/kmsg: one kind at a time")
    return sources


def rotated_predecessor(path: Path, saved: Position | None, given: Sequence[Path]) -> Path | None:
    """The file the last run read as ``path``, when rotation renamed it (``syslog`` → ``syslog.1``).

    What was written to it between the last run and the rotation is read from there (its saved
    position still applies: same device and inode). Only the directory of ``path`` is searched; a file
    already named on the command line is read anyway; a compressed one is not found (learn the .gz).
    """
    if saved is None or saved.inode is None:
        return None
    try:
        st = path.stat()
        if (st.st_dev, st.st_ino) == (saved.dev, saved.inode):
            return None  # not rotated
        entries = list(path.parent.iterdir())
    except OSError:
        return None
    named = set()
    for other in given:
        with contextlib.suppress(OSError):
            named.add((other.stat().st_dev, other.stat().st_ino))
    if (saved.dev, saved.inode) in named:
        return None
    for entry in entries:
        with contextlib.suppress(OSError):
            est = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(est.st_mode) and (est.st_dev, est.st_ino) == (saved.dev, saved.inode):
                return entry if _same_head(entry, saved) else None  # else: the inode was reused
    return None


def _same_head(path: Path, saved: Position) -> bool:
    """The file still starts with the bytes the saved position's fingerprint was taken of."""
    with path.open("rb") as fh:
        head = fh.read(saved.fingerprint_len or 0)
    return hashlib.sha256(head).hexdigest() == saved.fingerprint


def check_readable(path: Path) -> None:
    """Refuse, with a one-line ``SourceError``, an input that is missing, a directory or unreadable.

    What the user named is checked before anything is read (``learn`` and ``explain`` alike), so a
    typo in the third file name does not come after output for the first two.
    """
    if not path.exists():
        raise SourceError(f"no such file: {str(path)!r}")
    if path.is_dir():
        raise SourceError(f"{str(path)!r} is a directory, not a log file")
    if not os.access(path, os.R_OK):
        raise SourceError(f"cannot read {str(path)!r}: permission denied")


def _file_source(path: Path, store: Store, options: ReadOptions) -> Source:
    if str(path) == "-":
        return StdinSource()
    check_readable(path)
    if stat.S_ISFIFO(path.stat().st_mode):
        return _fifo_source(path)
    if is_gzip(path):
        return GzipSource(path, saved=store.positions(SourceKind.GZIP), from_start=options.from_start)
    return FileSource(path, saved=store.positions(SourceKind.FILE), from_start=options.from_start)


def _fifo_source(path: Path) -> Source:
    """A named pipe, read as a stream like stdin: opened without waiting for a writer (a blocking open
    would sit in the kernel deaf to SIGTERM), then read as its writer writes, to the writer's EOF.
    Judged as a file that is not root's: anyone who can open a FIFO for writing can write into it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise SourceError(f"cannot read {str(path)!r}: {exc.strerror}") from None
    os.set_blocking(fd, True)
    source = StdinSource(fd, file_key(path))
    source.kind = SourceKind.FILE
    return source


class _Predecessor(FileSource):
    """A file rotated away since the last run: read to its end once, never followed (a later rotation
    would put another file under its name, one ``--follow`` already reads under the live name)."""


def chunks_of(sources: Sequence[Source], ctl: ReadControl, follow: bool) -> Iterator[Chunk]:
    """The chunks of ``sources`` in turn; with ``follow``, files are followed together (a rotated
    predecessor's rest read first, once)."""
    files = [s for s in sources if isinstance(s, FileSource) and not isinstance(s, _Predecessor)]
    if follow and files:
        for old in sources:
            if isinstance(old, _Predecessor) and not ctl.stop.is_set():
                yield from old.chunks(ctl)
        yield from follow_files(files, ctl)
        return
    for index, source in enumerate(sources):
        # The first source is entered even when a stop came during start-up: stdin then takes what
        # the writer had already put into the pipe (a stopped file source reads nothing).
        if index and ctl.stop.is_set():
            return
        yield from source.chunks(ctl)
