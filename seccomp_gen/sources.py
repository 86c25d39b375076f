"""Where lines come from: what every source shares, stdin, and files (plain, gzip, followed).

journald and /dev/kmsg have their own modules (``journal``, ``kmsg``) built on the types here.

A source yields ``Chunk`` values: bytes holding whole lines, the position reached after them (so the
learner can save it in the same transaction as what the lines taught), loss events the source itself
detected (a jump in /dev/kmsg sequence numbers) and notes for the user (a file was rotated).

Live sources (stdin, ``--follow``, ``journalctl -f``, ``/dev/kmsg``) wait with ``select`` on their
descriptor and on the ``StopFlag``'s pipe, and yield an empty chunk when the learner's deadline passes,
so a quiet stream still gets its pending records written within the flush interval.

Memory stays bounded whatever the input: lines longer than ``MAX_LINE`` are dropped and counted.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import select
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from seccomp_gen.errors import SourceError
from seccomp_gen.events import LossEvent
from seccomp_gen.lines import LineSplitter
from seccomp_gen.strenum import StrEnum

READ_SIZE = 1 << 20
# A file is read (and its lines parsed) this much at a time: the learner can only write its batch
# between chunks, so a chunk's parsing time (~0.15 s for 256 KiB of records) adds to what a crash loses.
FILE_CHUNK = 256 * 1024
FINGERPRINT_LEN = 1024  # bytes of a file's head that identify it across renames
GZIP_FINGERPRINT_LEN = 1 << 16
FOLLOW_POLL = 0.25  # seconds between checks for growth and rotation of followed files
GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True, slots=True)
class Position:
    """Where a source stopped: a file's device, inode, offset and head fingerprint; a cursor; a sequence."""

    kind: SourceKind  # FILE, GZIP, JOURNAL or KMSG (stdin has no position)
    key: str  # the file's absolute path, the gzip fingerprint, "journal", the kmsg boot id
    dev: int | None = None
    inode: int | None = None
    offset: int | None = None
    size: int | None = None
    fingerprint: str | None = None
    fingerprint_len: int | None = None
    cursor: str | None = None
    seq: int | None = None
    complete: bool = False
    updated: float | None = None


class SourceKind(StrEnum):
    """The closed set of sources; decides trust together with each record's transport.

    A ``str``: a position's kind is stored and printed as its value (``"file"``).
    """

    STDIN = "stdin"
    FILE = "file"
    GZIP = "gzip"
    JOURNAL = "journal"
    KMSG = "kmsg"


@dataclass(frozen=True, slots=True)
class Chunk:
    """Whole lines (possibly none: an idle tick), and what the source knows after them."""

    data: bytes
    source: Source
    position: Position | None = None
    losses: tuple[LossEvent, ...] = ()
    notes: tuple[str, ...] = ()


class StopFlag:
    """Set from a signal handler (or another thread) to end a learn loop promptly.

    ``fileno()`` becomes readable when set, so a ``select`` waiting for input wakes up at once.
    """

    def __init__(self) -> None:
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._read_fd, False)
        os.set_blocking(self._write_fd, False)
        self.signum: int | None = None
        self._set = False

    def set(self, signum: int | None = None) -> None:
        """Ask the loop to stop (safe in a signal handler)."""
        if self.signum is None:
            self.signum = signum
        self._set = True
        with contextlib.suppress(OSError):
            os.write(self._write_fd, b"\0")

    def is_set(self) -> bool:
        """True once ``set`` was called."""
        return self._set

    def fileno(self) -> int:
        """A descriptor that is readable once the flag is set."""
        return self._read_fd

    def wait(self, timeout: float | None) -> bool:
        """Sleep up to ``timeout`` seconds or until set; return whether it is set."""
        if not self._set:
            select.select([self._read_fd], [], [], timeout)
        return self._set

    def close(self) -> None:
        """Release the pipe."""
        for fd in (self._read_fd, self._write_fd):
            with contextlib.suppress(OSError):
                os.close(fd)


@dataclass(frozen=True, slots=True)
class ReadControl:
    """What a source needs from the learner: when to stop, and how long it may block."""

    stop: StopFlag
    timeout: Callable[[], float | None] = lambda: None  # seconds until the learner must run; None: no hurry


class Source:
    """Base of every source: a kind, a name for messages, and the lines it dropped for their length."""

    kind: SourceKind = SourceKind.STDIN
    name: str = "stdin"
    trusted_transport_free: bool = False  # every line of this source is trusted (kmsg)

    def __init__(self) -> None:
        self.splitter = LineSplitter()
        # What the open descriptor is (fstat), and how many times a file was opened: trust is judged
        # on the file actually read, again at each reopen (rotation), never on the path alone.
        self.opened: os.stat_result | None = None
        self.generation = 0

    def _opened(self, fd: int) -> None:
        self.opened = os.fstat(fd)
        self.generation += 1

    @property
    def too_long(self) -> int:
        """Lines dropped because they were longer than ``MAX_LINE``."""
        return self.splitter.too_long

    def chunks(self, ctl: ReadControl) -> Iterator[Chunk]:
        """Yield chunks until the end of input (or, live, until ``ctl.stop`` is set)."""
        raise NotImplementedError


# -- stdin and other descriptors ----------------------------------------------------------------


class StdinSource(Source):
    """Lines from a descriptor (default stdin), processed as they arrive: no block-buffering wait."""

    kind = SourceKind.STDIN

    def __init__(self, fd: int = 0, name: str = "stdin") -> None:
        super().__init__()
        self.fd = fd
        self.name = name

    def chunks(self, ctl: ReadControl) -> Iterator[Chunk]:
        """Read until EOF or stop; on stop, take what is already in the pipe without waiting."""
        while not ctl.stop.is_set():
            ready, _, _ = select.select([self.fd, ctl.stop.fileno()], [], [], ctl.timeout())
            if self.fd not in ready:
                yield Chunk(b"", self)
                continue
            data = read_fd(self.fd, self.name)
            if not data:
                break
            yield Chunk(self.splitter.push(data), self)
        else:
            yield Chunk(self._drain(), self)
        yield Chunk(self.splitter.finish(), self)

    def _drain(self, budget: float = 0.5) -> bytes:
        """After a stop signal: what the writer already put into the pipe (bounded in time)."""
        out = []
        deadline = time.monotonic() + budget
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0)
            if not ready:
                break
            data = read_fd(self.fd, self.name)
            if not data:
                break
            out.append(self.splitter.push(data))
        return b"".join(out)


def read_fd(fd: int, name: str, size: int = READ_SIZE) -> bytes:
    """Up to ``size`` bytes from ``fd``; a failure is a ``SourceError`` naming the source."""
    try:
        return os.read(fd, size)
    except OSError as exc:
        raise SourceError(f"cannot read {name}: {exc.strerror}") from None


# -- files -------------------------------------------------------------------------------------


def _fingerprint(fd: int, length: int) -> str:
    return hashlib.sha256(os.pread(fd, length, 0)).hexdigest()


def _open_file(path: Path) -> int:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise SourceError(f"no such file: {str(path)!r}") from None
    except OSError as exc:
        raise SourceError(f"cannot read {str(path)!r}: {exc.strerror}") from None
    if path.is_dir():
        os.close(fd)
        raise SourceError(f"{str(path)!r} is a directory, not a log file")
    return fd


_ROTATED = re.compile(r".+(?:\.\d+|-\d{8}(?:\d{2})?)")


def looks_complete(path: Path) -> bool:
    """A rotated log (``syslog.1``, ``messages-20261201``): nothing writes to it any more."""
    return _ROTATED.fullmatch(path.name) is not None


def file_key(path: Path) -> str:
    """The key a file's position is saved under: its absolute path."""
    return str(Path(path).absolute())


def resume_offset(fd: int, key: str, saved: Sequence[Position]) -> tuple[int, str | None]:
    """Where to resume reading the open file ``fd``, and a note when a saved position was dropped.

    A saved position applies when it is for the same device and inode (so a file renamed by rotation
    keeps its offset), the file is not smaller than the offset, and its head still hashes the same.
    """
    st = os.fstat(fd)
    for pos in sorted(saved, key=lambda p: p.key != key):  # same path first
        if (pos.dev, pos.inode) != (st.st_dev, st.st_ino) or pos.offset is None:
            continue
        if st.st_size >= pos.offset and _fingerprint(fd, pos.fingerprint_len or 0) == pos.fingerprint:
            return pos.offset, None
    same_path = next((p for p in saved if p.key == key), None)
    if same_path is None:
        return 0, None
    if (same_path.dev, same_path.inode) != (st.st_dev, st.st_ino):
        return 0, f"{key}: a new file since the last run (rotated); reading it from the start"
    return 0, f"{key}: truncated or rewritten since the last run; reading it from the start"


class FileSource(Source):
    """A plain log file, resumed from its saved position, optionally followed like ``tail -F``."""

    kind = SourceKind.FILE

    def __init__(self, path: Path, *, saved: Sequence[Position] = (), from_start: bool = False) -> None:
        super().__init__()
        self.path = Path(path)
        self.name = file_key(self.path)
        self._saved = () if from_start else tuple(saved)
        self._fd = -1
        self._offset = 0
        self._start_offset = 0
        self._stat: os.stat_result | None = None

    def open(self) -> tuple[str, ...]:
        """Open the file and seek to where the last run stopped; return notes for the user."""
        self._fd = _open_file(self.path)
        self._opened(self._fd)
        self._stat = self.opened
        self._offset, note = resume_offset(self._fd, self.name, self._saved)
        self._start_offset = self._offset
        return (note,) if note else ()

    def close(self) -> None:
        """Close the descriptor."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    @property
    def consumed(self) -> int:
        """Bytes of the file consumed so far (read and parsed or dropped)."""
        return self._offset - self.splitter.pending

    def position(self) -> Position:
        """The position after the lines yielded so far."""
        assert self._stat is not None
        fp_len = min(FINGERPRINT_LEN, max(self.consumed, 0))
        return Position(
            SourceKind.FILE,
            self.name,
            dev=self._stat.st_dev,
            inode=self._stat.st_ino,
            offset=self.consumed,
            size=self._stat.st_size,
            fingerprint=_fingerprint(self._fd, fp_len),
            fingerprint_len=fp_len,
        )

    def read_available(self, stop: StopFlag) -> Iterator[Chunk]:
        """Read from the current offset to the end of the file as it is now."""
        while not stop.is_set():
            try:
                data = os.pread(self._fd, FILE_CHUNK, self._offset)
            except OSError as exc:
                raise SourceError(f"cannot read {self.name!r}: {exc.strerror}") from None
            if not data:
                return
            self._offset += len(data)
            yield Chunk(self.splitter.push(data), self, self.position())

    def finish(self, *, stopped: bool = False) -> Chunk:
        """End of input: the last line even without its newline.

        When reading was ``stopped`` (a signal), the line is most likely cut by the read size or still
        being written: it is left for the next run, which resumes before it.
        """
        if stopped:
            return Chunk(b"", self, self.position())
        if self.splitter.pending and not looks_complete(self.path):
            # A live log (rsyslog mid-write): the line's end is still coming. The position stays before
            # it, so the next run reads it whole; a rotated file (syslog.1) is finished and read to the end.
            note = (
                f"{self.name}: its last line has no newline yet (still being written?): left for the "
                "next run; if the file is finished, end it with a newline"
            )
            return Chunk(b"", self, self.position(), notes=(note,))
        return Chunk(self.splitter.finish(), self, self.position())

    def check_rotation(self) -> tuple[str, ...]:
        """While following: reopen when the path names a new file, restart when it was truncated."""
        try:
            st = self.path.stat()
        except OSError:
            return ()  # moved away and not recreated yet
        assert self._stat is not None
        if (st.st_dev, st.st_ino) != (self._stat.st_dev, self._stat.st_ino):
            self.close()
            self._fd = _open_file(self.path)
            self._opened(self._fd)
            self._stat = self.opened
            self._offset = 0
            self.splitter.reset()
            return (f"{self.name}: rotated; following the new file",)
        if st.st_size < self._offset:
            self._offset = 0
            self.splitter.reset()
            self._stat = st
            return (f"{self.name}: truncated; reading it from the start",)
        return ()

    def chunks(self, ctl: ReadControl) -> Iterator[Chunk]:
        """Read once to the end (``follow_files`` follows)."""
        notes = self.open()
        try:
            if notes:
                yield Chunk(b"", self, notes=notes)
            yield from self.read_available(ctl.stop)
            yield self.finish(stopped=ctl.stop.is_set())
        finally:
            self.close()


class GzipSource(Source):
    """A compressed (rotated) log: read fully once, remembered by a fingerprint of its bytes."""

    kind = SourceKind.GZIP

    def __init__(self, path: Path, *, saved: Sequence[Position] = (), from_start: bool = False) -> None:
        super().__init__()
        self.path = Path(path)
        self.name = file_key(self.path)
        self._saved = {p.key: p for p in saved} if not from_start else {}
        self._key = ""
        self._done = 0  # decompressed bytes consumed

    def position(self, *, complete: bool = False) -> Position:
        """The position after the lines yielded so far."""
        return Position(SourceKind.GZIP, self._key, offset=self._done, complete=complete, cursor=self.name)

    def chunks(self, ctl: ReadControl) -> Iterator[Chunk]:
        """Decompress with bounded memory, skipping what an earlier run already read."""
        fd = _open_file(self.path)
        try:
            self._opened(fd)
            size = os.fstat(fd).st_size
            head = os.pread(fd, GZIP_FINGERPRINT_LEN, 0)
            self._key = f"{hashlib.sha256(head).hexdigest()}:{size}"
            saved = self._saved.get(self._key)
            if saved is not None and saved.complete:
                yield Chunk(b"", self, notes=(f"{self.name}: already read (same compressed file)",))
                return
            skip = (saved.offset or 0) if saved is not None else 0
            with os.fdopen(os.dup(fd), "rb") as raw:
                yield from self._decompressed(raw, skip, ctl.stop)
        finally:
            os.close(fd)

    def _decompressed(self, raw: BinaryIO, skip: int, stop: StopFlag) -> Iterator[Chunk]:
        total = 0
        for piece in _gunzip(raw, self.name):
            if stop.is_set():
                return
            start = total
            total += len(piece)
            if total <= skip:
                continue
            lines = self.splitter.push(piece[max(skip - start, 0) :])
            self._done = total - self.splitter.pending
            yield Chunk(lines, self, self.position())
        last = self.splitter.finish()
        self._done = total
        yield Chunk(last, self, self.position(complete=True))


def _gunzip(raw: BinaryIO, name: str) -> Iterator[bytes]:
    """Decompress every member of a gzip file, at most 1 MiB of output at a time."""
    read = raw.read
    inflater = zlib.decompressobj(wbits=31)
    started = False
    while True:
        data: bytes = read(1 << 18)
        if not data:
            if started and not inflater.eof:
                raise SourceError(f"{name!r} is a truncated gzip file (everything before the cut was read)")
            return
        while data:
            started = True
            try:
                yield inflater.decompress(data, FILE_CHUNK)
            except zlib.error as exc:
                raise SourceError(f"{name!r} is not a valid gzip file: {exc}") from None
            if inflater.eof:
                data = inflater.unused_data.lstrip(b"\0")
                inflater = zlib.decompressobj(wbits=31)
                started = False
            else:
                data = inflater.unconsumed_tail


def is_gzip(path: Path) -> bool:
    """True when the file starts with the gzip magic bytes."""
    try:
        with path.open("rb") as fh:
            return fh.read(2) == GZIP_MAGIC
    except OSError:
        return False


def follow_files(sources: Sequence[FileSource], ctl: ReadControl) -> Iterator[Chunk]:
    """``tail -F`` over several files: read what is there, then poll for growth and rotation."""
    for source in sources:
        notes = source.open()
        if notes:
            yield Chunk(b"", source, notes=notes)
    try:
        while not ctl.stop.is_set():
            for source in sources:
                yield from source.read_available(ctl.stop)
            timeout = ctl.timeout()
            if ctl.stop.wait(FOLLOW_POLL if timeout is None else min(timeout, FOLLOW_POLL)):
                break
            for source in sources:
                yield from source.read_available(ctl.stop)  # what the old file got before rotation
                notes = source.check_rotation()
                yield Chunk(b"", source, source.position(), notes=notes)
        for source in sources:
            yield source.finish(stopped=True)  # only a stop ends following
    finally:
        for source in sources:
            source.close()
