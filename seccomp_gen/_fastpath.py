"""The hot loops of ``RecordParser.feed_chunk``: find the lines that matter in a chunk, read the usual ones.

``FastPath.scan`` picks one of three loops per chunk:

- mostly noise (``_sparse``): candidate lines (holding ``audit``, ``ssed `` or a MESSAGE byte array)
  are found with ``bytes.find``; the other lines are only counted, never split or decoded;
- mostly audit lines (``_dense``): the chunk is split into lines in one call and each is read;
- auditd's log made only of well-formed ``type=T msg=audit(...): `` lines (``_auditd_log``): the
  lines of other audit types are counted with one regex count, only the seccomp-typed ones are read.

A record line of the everyday shape (printk, kmsg, syslog ``host kernel:``, auditd; fields in
kernel order, values in range) is read by ``_reader.LineReader.quick``: its repeating parts once, as
a prototype, its varying parts (stamp, ``pid``, ``ip``) checked against the shapes ``FAST`` asks for.
Anything else goes to ``FAST`` alone, then to the general, slower path in ``records``, which is
the reference: all give equal results for every line (the tests check it).

When the C accelerator (``seccomp_gen/_accel.c``, built at install when a compiler is there) is
loaded, ``scan`` hands the whole chunk to it instead: it finds the candidate lines in one pass, counts
auditd's other types and reads everyday record lines the way ``LineReader.quick`` does (asking the
reader's ``front_spans`` and ``proto`` for each framing shape and combination of repeating parts it
has not seen), and hands every other candidate line back to ``_rest``. Every parser test runs with both loops.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from seccomp_gen import accel
from seccomp_gen._fields import PID_MAX
from seccomp_gen._framing import FAMILY_AUDITD
from seccomp_gen._grammar import (
    AUDITD_LINE,
    FAST,
    LITERALS,
    OTHER,
    OTHER_HEAD,
    SECCOMP_LINES,
    SECCOMP_TYPES,
    ZERO,
    only_another_type,
)
from seccomp_gen._reader import FIELD_CACHE_MAX, LineReader
from seccomp_gen.bounded import remember
from seccomp_gen.events import SeccompEvent
from seccomp_gen.lines import MAX_LINE
from seccomp_gen.parse_stats import SkipReason

ACCEL = accel.load()  # the C loop, or None (tests set it to None to run the pure-Python loops)


def accelerator_status() -> str:
    """One line on the parser's hot loop: in C, or in pure Python and why."""
    if ACCEL is not None:
        return "C accelerator (seccomp_gen._accel)"
    if accel.pure_python_requested():
        return f"pure Python: {accel.PURE_PYTHON_ENV} is set"
    return "pure Python: seccomp_gen._accel was not built (no C compiler or Python headers at install time)"


if TYPE_CHECKING:
    from seccomp_gen import _accel
    from seccomp_gen.events import LossEvent
    from seccomp_gen.parse_stats import ParseStats
    from seccomp_gen.tally import Tally

_SAMPLE = 64 * 1024


@dataclasses.dataclass(frozen=True, slots=True)
class TallyRun:
    """How ``seccomp_gen.learn`` has the C loop tally records (``RecordParser.feed_chunk``)."""

    tally: Tally
    decide: Callable[[dict[str, object]], int]  # a prototype's fields -> 2 * slot + keep
    live_after: float  # records stamped at or after this are made events (learn looks them up)
    max_stamp: float  # and so are records stamped later than this (learn rejects them)
    sink: Callable[[SeccompEvent | LossEvent], None]  # every item not tallied, as read


class _Slow(Protocol):
    stats: ParseStats

    def parse_slow(self, raw: bytes) -> SeccompEvent | LossEvent | None: ...


class FastPath:
    """Per-parser state of the hot loop: decoded-value caches and the format restriction."""

    def __init__(
        self, families: frozenset[str] | None, *, journal: bool, accelerated: bool | None = None
    ) -> None:
        self._reader = LineReader(families, journal=journal)
        self._auditd = families is None or FAMILY_AUDITD in families
        self._json = families is None  # journal JSON entries read by the reader's journal_entry
        self._other_shapes: dict[bytes, bool] = {}
        self._scanner: _accel.Scanner | None = None
        if accelerated and ACCEL is None:
            raise RuntimeError(f"the C accelerator is not there ({accelerator_status()})")
        if ACCEL is not None and accelerated is not False:
            self._scanner = ACCEL.Scanner(
                self._reader.front_spans,
                self._reader.proto,
                SeccompEvent,
                self._auditd,
                PID_MAX,
                int.from_bytes(os.urandom(8), "little"),
                families is None,  # other audit types counted in C: where no format is forced
                self._reader.json_proto if families is None else None,  # journal entries read in C, likewise
            )

    @property
    def accelerated(self) -> bool:
        """Whether this parser's hot loop runs in C (``seccomp_gen._accel``)."""
        return self._scanner is not None

    def forget_slots(self) -> None:
        """Forget the tally slots the C loop was given (``TallyRun.decide`` is asked again)."""
        if self._scanner is not None:
            self._scanner.forget_slots()

    @property
    def decisions_dropped(self) -> int:
        """Times the C loop's prototype cache was emptied (with the slots it held): a running count."""
        return self._scanner.proto_clears if self._scanner is not None else 0

    def scan(
        self, data: bytes, out: list[SeccompEvent | LossEvent], slow: _Slow, tally: TallyRun | None = None
    ) -> int:
        """Parse the candidate lines of ``data`` into ``out``; return how many lines were looked at.

        A chunk of auditd's log made of well-formed lines has its other types counted in bulk
        (``_auditd_log``); another chunk where most lines are audit lines is split into lines and
        each is read in turn (``_dense``); otherwise candidate lines are found with ``bytes.find``
        and only those are read (``_sparse``). With the C accelerator loaded, its loop does all of that
        (``_accelerated``).
        """
        if self._scanner is not None:
            return self._accelerated(data, out, slow, tally)
        clean = b"\x00" not in data
        # Which loop is faster depends on how many lines are audit lines: a sample tells.
        audit = data.count(b"audit(", 0, _SAMPLE) * 2 >= data.count(b"\n", 0, _SAMPLE)
        if audit and clean and self._auditd and data.startswith(b"type="):
            examined = self._auditd_log(data, out, slow)
            if examined >= 0:
                return examined
        if not audit:
            return self._sparse(data, out, slow, clean)
        return self._dense(data, out, slow, clean)

    def _accelerated(
        self, data: bytes, out: list[SeccompEvent | LossEvent], slow: _Slow, tally: TallyRun | None
    ) -> int:
        """The C loop over ``data``: the candidate lines it does not take itself come back to ``_rest``
        (with a tally, what they hold goes to its sink at once, so that the tally keeps input order)."""

        def rest(start: int, stop: int) -> None:
            self._rest(data, start, stop, out, slow)

        def rest_to_sink(start: int, stop: int) -> None:
            assert tally is not None
            self._rest(data, start, stop, out, slow)
            for item in out:
                tally.sink(item)
            out.clear()

        assert self._scanner is not None
        if tally is None:
            candidates, records, others, _tallied = self._scanner.scan(bytes(data), out, rest)
        else:
            candidates, records, others, tallied = self._scanner.scan(
                bytes(data), out, rest_to_sink, tally.tally, tally.decide, tally.live_after, tally.max_stamp
            )
            records += tallied
        slow.stats.records += records
        if others:
            slow.stats.skip(SkipReason.OTHER_AUDIT_TYPE, others)
        return int(candidates)

    def _auditd_log(self, data: bytes, out: list[SeccompEvent | LossEvent], slow: _Slow) -> int:
        """A chunk of auditd's log made only of well-formed records: the lines of other types are
        counted in bulk, only the seccomp-typed ones are read; -1 when the chunk is not like that.

        In auditd's log a line is one record and its first ``type=`` decides, so a line shaped
        ``type=T msg=audit(STAMP): `` (``AUDITD_LINE``, a narrower form of ``OTHER``) of a type
        other than the seccomp ones is ``other-audit-type`` on the general path too, given no NUL
        in the chunk and no line over MAX_LINE. Bulk counting applies when every line has that shape.
        """
        lines = count_lines(data)
        half = MAX_LINE // 2  # every aligned half-window holding a newline: no line reaches MAX_LINE
        if any(data.find(b"\n", at, at + half) < 0 for at in range(0, len(data) - half, half)):
            return -1
        text = b"\n" + data
        if len(AUDITD_LINE.findall(text)) != lines:
            return -1
        starts: list[int] = []
        for kind in SECCOMP_LINES:
            at = text.find(kind)
            while at >= 0:
                starts.append(at)
                at = text.find(kind, at + 1)
        starts.sort()
        for start in starts:  # text[start] is the newline before the line: data[start] is its first byte
            stop = data.find(b"\n", start)
            line = data[start : len(data) if stop < 0 else stop]
            event = self._reader.quick(line) if len(line) <= MAX_LINE else None
            if event is not None:
                out.append(event)
                slow.stats.records += 1
                continue
            fast = FAST.match(line)
            if fast is not None:
                self._take(fast, line, out, slow)
            else:
                self._other(line, 0, len(line), out, slow)
        if lines > len(starts):
            slow.stats.skip(SkipReason.OTHER_AUDIT_TYPE, lines - len(starts))
        return lines

    def _dense(self, data: bytes, out: list[SeccompEvent | LossEvent], slow: _Slow, clean: bool) -> int:
        """Every line of ``data``: records read by the reader, auditd's other types counted by the shape of
        their ``type=T msg=audit(STAMP): `` head, candidates handed on, noise only counted.
        """
        lines = data.split(b"\n")
        if not lines[-1]:
            lines.pop()  # the chunk's final newline ends its last line
        quick = self._reader.quick if clean else None
        others_ok = clean and self._auditd and (data.startswith(b"type=") or b"\ntype=" in data)
        shapes = self._other_shapes
        stats = slow.stats
        examined = others = records = 0
        for line in lines:
            if others_ok and line[:5] == b"type=" and not line.startswith(SECCOMP_TYPES):
                end = line.find(b"): ")
                if end > 0 and len(line) <= MAX_LINE:
                    shape = line[:end].translate(ZERO)
                    known = shapes.get(shape)
                    if known is None:
                        known = remember(
                            shapes, shape, OTHER_HEAD.fullmatch(shape) is not None, FIELD_CACHE_MAX
                        )
                    if known:
                        others += 1
                        continue
            if quick is not None and len(line) <= MAX_LINE:
                event = quick(line)
                if event is not None:
                    out.append(event)
                    records += 1
                    continue
            if any(literal in line for literal in LITERALS):
                examined += 1
                fast = FAST.match(line)
                if fast is not None:
                    self._take(fast, line, out, slow)
                else:
                    self._other(line, 0, len(line), out, slow)
        stats.records += records
        if others:
            stats.skip(SkipReason.OTHER_AUDIT_TYPE, others)
        return examined + others + records

    def _sparse(self, data: bytes, out: list[SeccompEvent | LossEvent], slow: _Slow, clean: bool) -> int:
        """Candidate lines of ``data``, found by literal, each read or handed on."""
        lines = self._candidates(data, 0, len(data))
        quick = self._reader.quick if clean else None
        another_type = self._another_type
        others = records = 0
        for start, stop in lines:
            if another_type(data, start, stop):
                others += 1
                continue
            if quick is not None and stop - start <= MAX_LINE:
                event = quick(data[start:stop])
                if event is not None:
                    out.append(event)
                    records += 1
                    continue
            self._undecided(data, start, stop, out, slow)
        slow.stats.records += records
        if others:
            slow.stats.skip(SkipReason.OTHER_AUDIT_TYPE, others)
        return len(lines)

    def _another_type(self, data: bytes, start: int, stop: int) -> bool:
        """auditd's SYSCALL, PATH, ... line (see ``only_another_type``), when auditd's log is read."""
        return (
            self._auditd
            and data.startswith(b"type=", start)
            and not data.startswith(SECCOMP_TYPES, start)
            and stop - start <= MAX_LINE
            and OTHER.match(data, start, stop) is not None
            and data.find(b"\x00", start, stop) < 0
        )

    def _rest(
        self, data: bytes, start: int, stop: int, out: list[SeccompEvent | LossEvent], slow: _Slow
    ) -> None:
        """A candidate line the reader did not take: another audit type, ``FAST`` or the general path."""
        if self._another_type(data, start, stop):
            slow.stats.skip(SkipReason.OTHER_AUDIT_TYPE)
        else:
            self._undecided(data, start, stop, out, slow)

    def _undecided(
        self, data: bytes, start: int, stop: int, out: list[SeccompEvent | LossEvent], slow: _Slow
    ) -> None:
        """A candidate line neither counted as another type nor read by the reader: ``FAST`` or beyond."""
        fast = FAST.match(data, start, stop)
        if fast is not None:
            self._take(fast, data, out, slow)
        else:
            self._other(data, start, stop, out, slow)

    @staticmethod
    def _candidates(data: bytes, low: int, high: int) -> list[tuple[int, int]]:
        """(start, stop) of every line in ``data[low:high]`` holding one of LITERALS, in order."""
        find, rfind = data.find, data.rfind
        found: list[tuple[int, int]] = []
        seen: set[int] = set()
        json = find(b'"MESSAGE":', low, high) >= 0  # one look for both MESSAGE literals
        for index, literal in enumerate(LITERALS):
            at = find(literal, low, high) if json or not literal.startswith(b'"MESSAGE":') else -1
            while at >= 0:
                start = rfind(b"\n", low, at) + 1 or low
                stop = find(b"\n", at, high)
                stop = high if stop < 0 else stop
                if index == 0:
                    found.append((start, stop))
                elif start not in seen:
                    seen.add(start)
                    found.append((start, stop))
                at = find(literal, stop, high)
            if index == 0:
                seen = {start for start, _stop in found}
                first = len(found)
        if len(found) != first:
            found.sort()
        return found

    def _take(
        self, match: re.Match[bytes], data: bytes, out: list[SeccompEvent | LossEvent], slow: _Slow
    ) -> None:
        start, stop = match.span()
        event = None
        if stop - start <= MAX_LINE and data.find(b"\x00", start, stop) < 0:
            event = self._reader.build(match)
        if event is not None:
            out.append(event)
            slow.stats.records += 1
        else:
            self._other(data, start, stop, out, slow)

    def _other(
        self, data: bytes, start: int, stop: int, out: list[SeccompEvent | LossEvent], slow: _Slow
    ) -> None:
        """A candidate line the fast pattern did not take: the general path decides, unless the line
        plainly holds one audit record of another type (auditd's SYSCALL, PATH ..., AppArmor's 1400).
        """
        line = data[start:stop]
        if self._auditd and only_another_type(line):
            slow.stats.skip(SkipReason.OTHER_AUDIT_TYPE)
            return
        if self._json and line[:2] == b'{"' and len(line) <= MAX_LINE and b"\x00" not in line:
            event = self._reader.journal_entry(line)
            if event is not None:
                out.append(event)
                slow.stats.records += 1
                return
        result = slow.parse_slow(line)
        if result is not None:
            out.append(result)


def count_lines(data: bytes) -> int:
    """Lines in a chunk: its newlines, plus a last line without one. (Dropping the newlines with
    ``replace`` and comparing lengths is several times faster than ``bytes.count`` here; the C
    accelerator calls ``memchr`` once a line, without a copy.)
    """
    if ACCEL is not None and type(data) is bytes:
        return int(ACCEL.count_lines(data))
    return len(data) - len(data.replace(b"\n", b"")) + (not data.endswith(b"\n") and len(data) > 0)
