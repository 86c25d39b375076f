"""Cut a byte stream into lines or chunks of whole lines, with memory bounded by ``max_line``.

A log can hold a line of any length (a binary file, a corrupted journal export, a 100 MB line
without a newline). These helpers never hold more than ``block + max_line`` bytes: once the
unfinished line at the end of a block exceeds ``max_line``, it is dropped up to its next newline
and counted through ``on_drop``. ``RecordParser.count_skipped`` fits as ``on_drop``::

    parser = RecordParser()
    for chunk in iter_chunks(stream, on_drop=lambda n: parser.count_skipped(SkipReason.TOO_LONG, n)):
        events = parser.feed_chunk(chunk)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol


class Readable(Protocol):
    """What the helpers read from: a binary file, a pipe, a GzipFile (``read1`` is used when there)."""

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes; empty at the end."""
        ...


# The longest line read: far above the kernel's longest audit record (MAX_AUDIT_MESSAGE_LENGTH, 8970);
# longer lines are dropped and counted. The one definition (the C loop's #define is pinned to it).
MAX_LINE = 64 * 1024
BLOCK = 256 * 1024  # beside MAX_LINE: a chunk's events stay few, and glibc reuses freed blocks this size


class LineSplitter:
    """Turns arbitrary reads into runs of whole lines, dropping (and counting) over-long lines.

    The one splitter: every source and ``iter_chunks`` cut their input through it. It holds at most
    ``max_line`` bytes between pushes (the unfinished last line); a line that outgrows that is dropped
    up to its next newline and counted in ``too_long``.
    """

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self.max_line = max_line
        self.too_long = 0
        self._tail = b""
        self._skipping = False

    @property
    def pending(self) -> int:
        """Bytes held back (an incomplete last line)."""
        return len(self._tail)

    def push(self, data: bytes | bytearray, count: int | None = None) -> bytes:
        """Add ``data[:count]``; return the whole lines completed by it (ending with a newline) or ``b""``.

        ``data`` may be a reused ``bytearray``: what is kept or returned is copied out of it (once), and
        a ``bytes`` read made only of whole lines is returned as it is, without a copy.
        """
        end = len(data) if count is None else count
        start = 0
        if self._skipping:
            newline = data.find(b"\n", 0, end)
            if newline < 0:
                return b""
            start, self._skipping = newline + 1, False
        last = data.rfind(b"\n", start, end)
        view = memoryview(data)
        if last < 0:
            self._keep(self._tail + view[start:end])
            return b""
        if self._tail:
            out = self._tail + view[start : last + 1]
        elif type(data) is bytes and start == 0 and last == end - 1:
            out = data
        else:
            out = view[start : last + 1].tobytes()
        self._tail = b""
        self._keep(view[last + 1 : end].tobytes())
        return out

    def _keep(self, tail: bytes) -> None:
        if len(tail) > self.max_line:
            self.too_long += 1
            self._tail = b""
            self._skipping = True
        else:
            self._tail = tail

    def finish(self, *, terminate: bool = True) -> bytes:
        """End of input: the incomplete last line, if any (with a newline added when ``terminate``)."""
        tail, self._tail, self._skipping = self._tail, b"", False
        return tail + b"\n" if tail and terminate else tail

    def reset(self) -> None:
        """Forget everything held (the file was truncated)."""
        self._tail, self._skipping = b"", False


def iter_chunks(
    stream: Readable,
    *,
    max_line: int = MAX_LINE,
    block: int = BLOCK,
    on_drop: Callable[[int], None] | None = None,
) -> Iterator[bytes]:
    """Yield chunks of whole lines (each ends with ``\\n``; the last may not) from ``stream``.

    ``on_drop(n)`` is called with the number of lines dropped for being longer than ``max_line``
    (only lines that outgrow the carry-over between blocks are dropped here; the parser skips
    any other line over its own limit).
    """
    splitter = LineSplitter(max_line)
    for buffer, count in _reads(stream, block):
        dropped = splitter.too_long
        if lines := splitter.push(buffer, count):
            yield lines
        if on_drop is not None and splitter.too_long != dropped:
            on_drop(splitter.too_long - dropped)
    if last := splitter.finish(terminate=False):
        yield last


def _reads(stream: Readable, block: int) -> Iterator[tuple[bytes | bytearray, int]]:
    """Each read as (buffer, byte count): the bytes read are ``buffer[:count]``.

    A stream that can ``readinto1``/``readinto`` reads into one reused buffer: no new block-sized
    allocation per read, which on glibc costs a page fault per 4 KiB each time the freed block was
    handed back to the system (measured: a third of the time ``iter_chunks`` took over a file). ``readinto1``
    and ``read1`` return what is there (a pipe fed live gives its lines as they come); ``read`` and
    ``readinto`` wait for a whole block.
    """
    into = getattr(stream, "readinto1", None) or getattr(stream, "readinto", None)
    if into is None:
        read = getattr(stream, "read1", stream.read)
        while data := read(block):
            yield data, len(data)
        return
    buffer = bytearray(block)
    view = memoryview(buffer)
    while count := into(view):
        yield buffer, count


def iter_lines(
    stream: Readable,
    *,
    max_line: int = MAX_LINE,
    on_drop: Callable[[int], None] | None = None,
) -> Iterator[bytes]:
    """Yield the lines of ``stream`` (with their ``\\n``), dropping any longer than ``max_line``."""
    for chunk in iter_chunks(stream, max_line=max_line, on_drop=on_drop):
        start = 0
        while start < len(chunk):
            stop = chunk.find(b"\n", start)
            stop = len(chunk) if stop < 0 else stop + 1
            if stop - start > max_line + 2:  # room for the CR LF
                if on_drop is not None:
                    on_drop(1)
            else:
                yield chunk[start:stop]
            start = stop


__all__ = ["BLOCK", "MAX_LINE", "LineSplitter", "Readable", "iter_chunks", "iter_lines"]
