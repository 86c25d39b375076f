"""The hot loops of ``RecordParser.feed_chunk``: find the lines that matter in a chunk, read the usual ones.

``FastPath.scan`` picks one of three loops per chunk:

- mostly noise (``_sparse``): candidate lines (holding ``audit``, ``ssed `` or a MESSAGE byte array)
  are found with ``bytes.find``; the other lines are only counted, never split or decoded;
- mostly audit lines (``_dense``): the chunk is split into lines in one call and each is read;
- auditd's log made only of well-formed ``type=T msg=audit(...): `` lines (``_auditd_log``): the
  lines of other audit types are counted with one regex count, only the seccomp-typed ones are read.

A record line of the everyday shape (printk, kmsg, syslog ``host kernel:``, auditd; fields in
kernel order, values in range) is read by ``_quick``: cut at its fixed separators, its repeating
parts (framing, ``auid..subj``, ``comm..compat``, ``code``) read once by the anchored pattern
``FAST`` and kept as a prototype, its varying parts (stamp, ``pid``, ``ip``) checked against the
shapes ``FAST`` asks for. Anything else goes to ``FAST`` alone, then to the general, slower path
in ``records``, which is the reference: all give equal results for every line (the tests check it).

When the C accelerator (``seccomp_gen/_accel.c``, built at install when a compiler is there) is
loaded, ``scan`` hands the whole chunk to it instead: it finds the candidate lines in one pass, counts
auditd's other types and reads everyday record lines the way ``_quick`` does (asking ``_front_spans``
and ``_proto`` here for each framing shape and each combination of repeating parts it has not seen),
and hands every other candidate line back to ``_rest``. Every parser test runs with both loops.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from seccomp_gen import accel
from seccomp_gen._fields import PID_MAX, SYSCALL_MAX, U32, action_of, names_within_bounds
from seccomp_gen._framing import FAMILY_AUDITD
from seccomp_gen._grammar import (
    AUDITD_LINE,
    FAST,
    HEAD,
    HEX,
    KEY,
    KINDS,
    LITERALS,
    OTHER,
    OTHER_HEAD,
    SECCOMP_LINES,
    SECCOMP_TYPES,
    ZERO,
    ids_of,
    names_of,
    only_another_type,
    sig_arch_of,
    subject_of,
    text_of,
)
from seccomp_gen.actions import Action
from seccomp_gen.bounded import remember
from seccomp_gen.events import SeccompEvent, Transport
from seccomp_gen.lines import MAX_LINE

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

# The caches of one field each (names, ids, subjects ...): a process's (comm, exe) is the one with many
# values, ~300 bytes each with its key; 65,536 of them took 20 MB on a flood of forged processes.
_CACHE_MAX = 8192
_PROTOS_MAX = 16384  # the pure-Python loop's prototypes: a dict of 19 fields each (~1 KB)
_SAMPLE = 64 * 1024
_FIELD_NAMES = tuple(f.name for f in dataclasses.fields(SeccompEvent))
_new = object.__new__
_set = object.__setattr__


def _constructor() -> Callable[..., SeccompEvent]:
    """``SeccompEvent(*values)`` without the frozen dataclass's per-field ``object.__setattr__`` calls.

    The generated function fills the new instance's ``__dict__`` from one dict display: the state
    the dataclass's own ``__init__`` ends with, at a fraction of its cost. The tests check that its
    events equal the general path's, field for field.
    """
    names = [f.name for f in dataclasses.fields(SeccompEvent)]
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": SeccompEvent}
    source = (
        f"def make({', '.join(names)}, *, _new=_new, _cls=_cls):\n"
        "    event = _new(_cls)\n"
        f"    event.__dict__.update({{{', '.join(f'{name!r}: {name}' for name in names)}}})\n"
        "    return event\n"
    )
    exec(source, namespace)  # source built above from the dataclass's own field names
    make: Callable[..., SeccompEvent] = namespace["make"]
    return make


_make_event = _constructor()


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
        self._families = families
        self._syslog = Transport.JOURNAL_KERNEL if journal else Transport.SYSLOG
        self._facts: dict[tuple[object, ...], tuple[Transport, str, bool]] = {}
        self._ids: dict[bytes, tuple[int, ...]] = {}
        self._names: dict[bytes, tuple[str, str]] = {}
        self._sig_arch: dict[bytes, tuple[int, ...]] = {}
        self._text: dict[bytes, str | None] = {}
        self._subjects: dict[bytes, str] = {}
        self._ints: dict[bytes, int] = {}
        self._actions: dict[bytes, Action] = {}
        self._auditd = families is None or FAMILY_AUDITD in families
        self._json = families is None  # journal JSON entries read by _journal_entry (see there)
        self._other_shapes: dict[bytes, bool] = {}
        self._fronts: dict[bytes, tuple[int, ...]] = {}
        self._frames: dict[bytes, int] = {}  # framing shape -> a number never given to another shape
        self._frame_numbers = itertools.count()
        self._protos: dict[tuple[int | bytes, ...], dict[str, object]] = {}
        self._scanner: _accel.Scanner | None = None
        if accelerated and ACCEL is None:
            raise RuntimeError(f"the C accelerator is not there ({accelerator_status()})")
        if ACCEL is not None and accelerated is not False:
            self._scanner = ACCEL.Scanner(
                self._front_spans,
                self._proto,
                SeccompEvent,
                self._auditd,
                PID_MAX,
                int.from_bytes(os.urandom(8), "little"),
                families is None,  # other audit types counted in C: where no format is forced
                self._json_proto if families is None else None,  # journal entries read in C, likewise
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
            slow.stats.skip("other-audit-type", others)
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
            event = self._quick(line) if len(line) <= MAX_LINE else None
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
            slow.stats.skip("other-audit-type", lines - len(starts))
        return lines

    def _dense(self, data: bytes, out: list[SeccompEvent | LossEvent], slow: _Slow, clean: bool) -> int:
        """Every line of ``data``: records through ``_quick``, auditd's other types counted by the shape of
        their ``type=T msg=audit(STAMP): `` head, candidates handed on, noise only counted.
        """
        lines = data.split(b"\n")
        if not lines[-1]:
            lines.pop()  # the chunk's final newline ends its last line
        quick = self._quick if clean else None
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
                        known = remember(shapes, shape, OTHER_HEAD.fullmatch(shape) is not None, _CACHE_MAX)
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
            stats.skip("other-audit-type", others)
        return examined + others + records

    def _sparse(self, data: bytes, out: list[SeccompEvent | LossEvent], slow: _Slow, clean: bool) -> int:
        """Candidate lines of ``data``, found by literal, each read or handed on."""
        lines = self._candidates(data, 0, len(data))
        quick = self._quick if clean else None
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
            slow.stats.skip("other-audit-type", others)
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
        """A candidate line ``_quick`` did not take: another audit type, ``FAST`` or the general path."""
        if self._another_type(data, start, stop):
            slow.stats.skip("other-audit-type")
        else:
            self._undecided(data, start, stop, out, slow)

    def _undecided(
        self, data: bytes, start: int, stop: int, out: list[SeccompEvent | LossEvent], slow: _Slow
    ) -> None:
        """A candidate line neither counted as another type nor read by ``_quick``: ``FAST`` or beyond."""
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

    def _quick(self, line: bytes) -> SeccompEvent | None:
        """The event of one everyday record line (no NUL, at most MAX_LINE bytes), or None to look further.

        A line is cut at its fixed separators into the parts that differ from record to record
        (the framing's clock, the stamp, ``pid``, ``ip``) and the parts that repeat (framing,
        ``auid..subj``, ``comm..compat``, ``code``). The repeating parts are read once, by ``FAST``
        and ``_build`` themselves (``_proto``), and kept as a prototype event; the varying parts are
        checked against the same shapes ``FAST`` asks for. The framing is recognised by its
        *shape* (digits turned into ``0``), which keeps every offset, so the host name and PRI
        digits are taken from the line itself.
        """
        if line[:1] == b"{":
            return None  # a journal JSON entry: no framing FAST takes starts so (see _journal_entry)
        front, _sep, rest = line.partition(b"): ")
        shape = front.translate(ZERO)
        spans = self._fronts.get(shape)
        if spans is None:
            spans = remember(self._fronts, shape, self._front_spans(shape), _CACHE_MAX)
        if not spans:
            return None
        (frame, level_start, level_stop, host_start, host_stop, day, kind_start, kind_stop, head_stop,
         seconds_stop, long_serial) = spans  # fmt: skip
        if (day and front[day] > 0x33) or front[kind_start:kind_stop] not in KINDS:
            return None  # RFC 3164's day is [ 0-3]?\d; the shape does not tell type=1326 from type=1300
        ids, _sep, rest = rest.partition(b" pid=")
        pid, _sep, rest = rest.partition(b" ")
        middle, _sep, rest = rest.partition(b" ip=0x")
        ip, sep, code = rest.partition(b" code=0x")
        if not sep:
            return None
        key = (frame, front[level_start:level_stop], front[host_start:host_stop], ids, middle, code)
        proto = self._protos.get(key)
        if proto is None:
            proto = remember(
                self._protos, key, self._proto(front[:head_stop], ids, middle, code), _PROTOS_MAX
            )
        serial = front[seconds_stop + 1 :]
        if (
            not proto
            or not pid.isdigit()
            or len(pid) > 10
            or not 0 < len(ip) <= 16
            or ip.strip(HEX)
            or (long_serial and int(serial) > U32)
        ):
            return None
        pid_number = int(pid)
        if pid_number > PID_MAX:
            return None
        values = proto.copy()
        values["timestamp"] = float(front[head_stop + 6 : seconds_stop])
        values["serial"] = int(serial)
        values["pid"] = pid_number
        values["ip"] = int(ip, 16)
        event = _new(SeccompEvent)
        _set(event, "__dict__", values)  # what the dataclass's __init__ ends with, in one step
        return event

    def _front_spans(self, shape: bytes) -> tuple[int, ...]:
        """Where the parts of a record's framing and stamp are, from their shape: (framing number, level
        or PRI start, stop, host or node start, stop, RFC 3164 day or 0, type start, stop, end of the
        framing, end of the seconds, whether the serial has 10 digits); empty when it is not a shape
        ``FAST`` takes. The framing number stands for the framing's shape in the prototype keys.
        """
        match = HEAD.fullmatch(shape)
        if match is None:
            return ()
        level = 1 if match.group(1) is not None else 2
        host = 4 if match.group(4) is not None else 6
        kind = 5 if match.group(5) is not None else 7
        day = match.start(3) if match.group(3) is not None else 0
        frame = self._frames.get(shape[: match.start(8)])
        if frame is None:
            frame = remember(self._frames, shape[: match.start(8)], next(self._frame_numbers), _CACHE_MAX)
        spans = (
            *match.span(level),
            *match.span(host),
            day,
            *match.span(kind),
            match.start(8),
            match.start(9),
        )
        return (frame, *spans, len(match.group(10)) == 10)

    def _proto(self, head: bytes, ids: bytes, middle: bytes, code: bytes) -> dict[str, object]:
        """The fields a record line with these repeating parts has, from ``FAST`` and ``_build`` on a
        line made of them and sample varying parts; empty when that line does not take the fast shape
        exactly as ``_quick`` cut it.
        """
        line = b"%baudit(1.000:1): %b pid=1 %b ip=0x0 code=0x%b" % (head, ids, middle, code)
        match = FAST.match(line)
        if match is None:
            return {}
        pid_at = len(head) + len(b"audit(1.000:1): ") + len(ids) + len(b" pid=")
        ip_at = pid_at + len(b"1 ") + len(middle) + len(b" ip=0x")
        if (match.start(9), match.start(13), match.start(18), match.group(13), match.group(18)) != (
            len(head) + len(b"audit("),
            pid_at,
            ip_at,
            b"1",
            b"0",
        ):
            return {}
        event = self._build(match)
        if event is None:
            return {}
        return {name: getattr(event, name) for name in _FIELD_NAMES}

    def _take(
        self, match: re.Match[bytes], data: bytes, out: list[SeccompEvent | LossEvent], slow: _Slow
    ) -> None:
        start, stop = match.span()
        event = None
        if stop - start <= MAX_LINE and data.find(b"\x00", start, stop) < 0:
            event = self._build(match)
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
            slow.stats.skip("other-audit-type")
            return
        if self._json and line[:2] == b'{"' and len(line) <= MAX_LINE and b"\x00" not in line:
            event = self._journal_entry(line)
            if event is not None:
                out.append(event)
                slow.stats.records += 1
                return
        result = slow.parse_slow(line)
        if result is not None:
            out.append(result)

    def _journal_entry(self, line: bytes) -> SeccompEvent | None:
        """A ``journalctl -o json`` entry of the kernel transport whose MESSAGE is a bare everyday record
        (``audit: type=1326 audit(...): ...``): ``json.loads``, then the message read as ``_quick``
        reads a printk line, and the framing the general path gives such an entry (``_framing``'s
        ``journal_json``); None for every other entry (the general path decides).
        """
        try:
            entry = json.loads(line)
        except (ValueError, RecursionError):
            return None
        if type(entry) is not dict or entry.get("_TRANSPORT") != "kernel" or "_AUDIT_TYPE" in entry:
            return None
        message = entry.get("MESSAGE")
        if type(message) is not str or not message.startswith("audit: type=1326 "):
            return None
        try:
            event = self._quick(message.encode("utf-8"))
        except UnicodeEncodeError:  # a lone surrogate from a \ud800 escape
            return None
        if event is None or not _as_entry(
            event.__dict__, entry.get("SYSLOG_FACILITY"), entry.get("_HOSTNAME")
        ):
            return None
        return event

    @staticmethod
    def _json_proto(proto: dict[str, object], facility: str | None, host: str | None) -> dict[str, object]:
        """The C loop's ``_journal_entry``: the prototype of an entry whose MESSAGE has prototype
        ``proto`` (the C loop read the entry), or empty when ``_journal_entry`` would not take it."""
        values = dict(proto)
        return values if values and _as_entry(values, facility, host) else {}

    def _build(self, m: re.Match[bytes]) -> SeccompEvent | None:
        """The event of a fast match, or None to let the general path decide (a rare shape)."""
        (kmsg, pri, rfc3339, host, uptime, caller, node, auditd, seconds, serial, ids_raw, subj, pid_raw,
         names_raw, sig_arch_raw, syscall_raw, compat_raw, ip, code, tail) = m.groups()  # fmt: skip
        key = (kmsg, pri, rfc3339, host is None, uptime, caller, node is None, auditd)
        framing = self._facts.get(key)
        if framing is None:
            framing = self._facts[key] = self._facts_of(key)
        if not framing[2] or (tail and tail[0] != 0x1D and KEY.search(tail)):
            return None
        subject = None
        if subj is not None:
            subject = self._subjects.get(subj)
            if subject is None:
                subject = remember(self._subjects, subj, subject_of(subj), _CACHE_MAX)
            if not subject:
                return None
        ids = self._ids.get(ids_raw)
        if ids is None:
            ids = remember(self._ids, ids_raw, ids_of(ids_raw), _CACHE_MAX)
        sig_arch = self._sig_arch.get(sig_arch_raw)
        if sig_arch is None:
            sig_arch = remember(self._sig_arch, sig_arch_raw, sig_arch_of(sig_arch_raw), _CACHE_MAX)
        pid, syscall = int(pid_raw), int(syscall_raw)
        if not ids or not sig_arch or pid > PID_MAX or syscall > SYSCALL_MAX:
            return None
        if len(serial) == 10 and int(serial) > U32:
            return None
        compat = self._ints.get(compat_raw)
        if compat is None:
            compat = remember(self._ints, compat_raw, int(compat_raw), _CACHE_MAX)
        if compat > U32:
            return None
        action = self._actions.get(code)
        if action is None:
            action = remember(self._actions, code, action_of(int(code, 16)), _CACHE_MAX)
        names = self._names.get(names_raw)
        if names is None:
            names = remember(self._names, names_raw, names_of(names_raw), _CACHE_MAX)
        if not names_within_bounds(*names):
            return None
        facts = framing[1] if not tail else framing[1] + ("," if framing[1] else "") + "enriched"
        return _make_event(
            syscall,
            sig_arch[1],
            action,
            float(seconds),
            int(serial),
            compat,
            *ids,
            subject,
            pid,
            *names,
            sig_arch[0],
            int(ip, 16),
            framing[0],
            self._decode(host if host is not None else node),
            facts,
        )

    def _facts_of(self, key: tuple[object, ...]) -> tuple[Transport, str, bool]:
        """(transport, facts, allowed by the forced format) of one combination of framing groups."""
        from seccomp_gen._framing import FAMILY_AUDITD, FAMILY_HEADER, FAMILY_KMSG, FAMILY_PRINTK

        kmsg, pri, rfc3339_raw, no_host, uptime_raw, caller_raw, no_node, auditd_raw = key
        rfc3339, header, uptime, caller = (
            rfc3339_raw is not None,
            not no_host,
            uptime_raw is not None,
            caller_raw is not None,
        )
        node, auditd = not no_node, auditd_raw is not None
        facts: list[str] = []
        if auditd:
            family, transport = FAMILY_AUDITD, Transport.AUDITD
            facts += ["node"] if node else []
        else:
            if kmsg is not None:
                family, transport = FAMILY_KMSG, Transport.KMSG
                facts += ["kmsg", f"kmsg-prio={text_of(kmsg)}"]
            elif header:
                family, transport = FAMILY_HEADER, self._syslog
                facts += [f"pri={text_of(pri)}"] if pri is not None else []
                facts += ["rfc3339" if rfc3339 else "rfc3164", "tag=kernel"]
            else:
                family, transport = FAMILY_PRINTK, Transport.PRINTK
                facts += [f"pri={text_of(pri)}"] if pri is not None else []
            facts += (["uptime"] if uptime else []) + (["caller"] if caller else []) + ["audit-prefix"]
        return transport, ",".join(facts), self._families is None or family in self._families

    def _decode(self, raw: bytes | None) -> str | None:
        """A host name, decoded once."""
        if raw is None:
            return None
        text = self._text.get(raw)
        if text is None:
            text = remember(self._text, raw, raw.decode("utf-8", "replace"), _CACHE_MAX)
        return text


def count_lines(data: bytes) -> int:
    """Lines in a chunk: its newlines, plus a last line without one. (Dropping the newlines with
    ``replace`` and comparing lengths is several times faster than ``bytes.count`` here; the C
    accelerator calls ``memchr`` once a line, without a copy.)
    """
    if ACCEL is not None and type(data) is bytes:
        return int(ACCEL.count_lines(data))
    return len(data) - len(data.replace(b"\n", b"")) + (not data.endswith(b"\n") and len(data) > 0)


def _as_entry(values: dict[str, object], facility: object, host: object) -> bool:
    """Make ``values``, a bare printk record's fields, those of the journal entry of the kernel transport
    whose MESSAGE it is (the framing the general path's ``journal_json`` gives); False when the record
    is not a bare ``audit: type=1326 ...`` line (the general path decides)."""
    if values["framing"] != "audit-prefix" or values["transport"] is not Transport.PRINTK:
        return False
    facts = "json,transport=kernel"
    if type(facility) is str and facility.isdigit() and len(facility) <= 3:
        facts += f",facility={facility}"
    values["transport"] = Transport.JOURNAL_KERNEL
    values["hostname"] = host if type(host) is str else None
    values["framing"] = facts + ",audit-prefix"
    return True
