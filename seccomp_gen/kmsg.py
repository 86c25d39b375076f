"""Lines from /dev/kmsg: one record per read, and the sequence numbers that reveal what was lost.

The position saved is the last sequence number read, under this boot's id (numbers restart at boot).
"""

from __future__ import annotations

import errno
import os
import select
from collections.abc import Iterator
from pathlib import Path

from seccomp_gen.errors import SourceError
from seccomp_gen.events import LossEvent, LossKind
from seccomp_gen.sources import Chunk, Position, ReadControl, Source, SourceKind

KMSG_BATCH = 512  # records joined into one chunk while the buffer holds more


def boot_id() -> str:
    """This boot's id (/dev/kmsg sequence numbers restart at every boot)."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "unknown"


class KmsgSource(Source):
    """/dev/kmsg: one record per read; a jump in the sequence numbers is recorded as lost records."""

    kind = SourceKind.KMSG

    def __init__(
        self, *, last_seq: int | None = None, follow: bool = False, path: str = "/dev/kmsg", boot: str = ""
    ) -> None:
        super().__init__()
        self.name = "kmsg" if path == "/dev/kmsg" else path
        self.path = path
        self.follow = follow
        self.last_seq = last_seq
        self.key = boot or boot_id()
        self._overwritten = False

    def position(self) -> Position:
        """The last sequence number read."""
        return Position(SourceKind.KMSG, self.key, seq=self.last_seq)

    def _open(self) -> int:
        try:
            return os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        except PermissionError:
            raise SourceError(
                f"cannot read {self.path}: permission denied (run as root, or set kernel.dmesg_restrict=0)"
            ) from None
        except OSError as exc:
            raise SourceError(f"cannot read {self.path}: {exc.strerror}") from None

    def chunks(self, ctl: ReadControl) -> Iterator[Chunk]:
        """Read what is buffered (and, following, what comes next)."""
        fd = self._open()
        lines: list[bytes] = []
        losses: list[LossEvent] = []
        try:
            while not ctl.stop.is_set():
                record = self._read_record(fd)
                if record is None:
                    yield Chunk(b"".join(lines), self, self.position(), tuple(losses))
                    lines, losses = [], []
                    if not self.follow:
                        break
                    select.select([fd, ctl.stop.fileno()], [], [], ctl.timeout())
                    continue
                line = self._accept(record, losses)
                if line is not None:
                    lines.append(line)
                if len(lines) >= KMSG_BATCH:
                    yield Chunk(b"".join(lines), self, self.position(), tuple(losses))
                    lines, losses = [], []
            yield Chunk(b"".join(lines), self, self.position(), tuple(losses))
        finally:
            os.close(fd)

    def _read_record(self, fd: int) -> bytes | None:
        """One record; None when nothing more is buffered. EPIPE (overwritten) is remembered."""
        while True:
            try:
                return os.read(fd, 16384)
            except BlockingIOError:
                return None
            except OSError as exc:
                if exc.errno == errno.EPIPE:
                    self._overwritten = True
                    continue
                if exc.errno == errno.EINVAL:
                    return b""  # a record longer than our buffer: skip it
                raise SourceError(f"cannot read {self.path}: {exc.strerror}") from None

    def _accept(self, record: bytes, losses: list[LossEvent]) -> bytes | None:
        """The record's text line if it is new; gaps in the sequence become loss events."""
        first = record.split(b"\n", 1)[0]
        seq = parse_kmsg_seq(first)
        if seq is None:
            return first + b"\n" if first else None
        last = self.last_seq
        if last is not None and seq <= last:
            return None  # already learned in an earlier run
        if last is not None and seq > last + 1:
            kind = LossKind.KMSG_OVERWRITTEN if self._overwritten else LossKind.KMSG_GAP
            losses.append(LossEvent(kind, seq - last - 1, text=f"kmsg sequence jumped from {last} to {seq}"))
        elif self._overwritten:
            losses.append(LossEvent(LossKind.KMSG_OVERWRITTEN, None, text="kmsg: ring buffer overwritten"))
        self._overwritten = False
        self.last_seq = seq
        return first + b"\n"


def parse_kmsg_seq(line: bytes) -> int | None:
    """The sequence number of a /dev/kmsg record header ``pri,seq,usec,flags;``, or None."""
    semi = line.find(b";")
    if semi < 0:
        return None
    fields = line[:semi].split(b",")
    if len(fields) < 3 or not fields[1].isdigit():
        return None
    return int(fields[1])
