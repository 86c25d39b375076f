"""The learner: records in, a decision per prototype, counts per decision, batches to the store.

``Learner.consume`` takes one chunk of lines at a time; ``flush`` writes the pending batch (what the
lines taught and where each source stopped) in one transaction. The library front door that
drives it over sources is ``seccomp_gen.learn``.

Trust: the kernel and audit transports of journald, /dev/kmsg and auditd's own log (a root-owned file
that only root can write) are trusted. Syslog text, stdin text and anything else is untrusted: any
local user can put a line that looks like a kernel record into syslog. Journald entries of another
transport that claim to be records are rejected outright, and so are records whose framing claims
the kernel but shows what the kernel never writes (``seccomp_gen.trust``: counted as
``rejected``/``suspected-forgery``).

De-duplication: an event read twice (the same file again with ``--from-start``, or through syslog and
journald) is recognised by its timestamp and serial and counted once. Records with serial 0 carry no
identity: they are only protected by source positions, so ``--from-start`` counts them again.
Loss markers likewise: one whose line carries a stamp is remembered by a digest of the line and
counted once however often it is read; a bare marker is protected by source positions only.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from seccomp_gen.actions import Action, ActionFilter
from seccomp_gen.containers import LIVE_SECONDS, Attributor, in_scope
from seccomp_gen.events import LossEvent, SeccompEvent
from seccomp_gen.feedback import LearnResult, LossReport, NewSyscall, Reporter
from seccomp_gen.observations import OVER_CAP, Batch, CounterKind, LossRow, ObservationKey, loss_total
from seccomp_gen.parse_stats import SkipReason
from seccomp_gen.records import Format, RecordParser, TallyRun, new_tally
from seccomp_gen.sources import (
    Chunk,
    Source,
    SourceKind,
    StdinSource,
)
from seccomp_gen.store import UNTRUSTED_PROCESSES_MAX, Store
from seccomp_gen.syscalls import resolve_syscall
from seccomp_gen.tally import PyTally, stamp_ms
from seccomp_gen.trust import SUSPECTED_FORGERY, origin_of, verdict_of

FLUSH_INTERVAL = 0.5
BATCH_RECORDS = 50_000  # with the C parser 0.5 s holds ~300,000 records: this bounds a batch's memory
SLOTS_MAX = 100_000  # judgements kept (each ~350 bytes) before they are made afresh after a flush
# The parser takes audit(SECONDS.MSEC) of up to 20 digits, as printed; a date past 9999-12-31 is no
# real record's and would not fit the store's millisecond identity (SQLite's 64-bit integers).
MAX_TIMESTAMP = 253402300799.999


@dataclass(frozen=True, slots=True)
class LearnOptions:
    """Filters (a record must match each given option; any of its values) and reading options."""

    comm: tuple[str, ...] = ()  # globs
    exe: tuple[str, ...] = ()  # globs
    pid: tuple[int, ...] = ()
    uid: tuple[int, ...] = ()
    subj: tuple[str, ...] = ()  # globs
    container: tuple[str, ...] = ()  # ids, prefixes or globs (containers.container_matches)
    pod: tuple[str, ...] = ()  # pod UIDs (or prefixes)
    attribute: bool = True  # look each live record's process up in /proc (seccomp_gen.containers)
    action: ActionFilter = ActionFilter.ALL
    since: float | None = None  # seconds since the epoch
    until: float | None = None
    format: Format = Format.AUTO
    from_start: bool = False  # ignore saved positions (event ids still de-duplicate)
    follow: bool = False
    flush_interval: float = FLUSH_INTERVAL
    batch_records: int = BATCH_RECORDS


class Learner:
    """The pipeline's state between chunks: parsers, the pending batch, the result so far."""

    def __init__(self, store: Store, options: LearnOptions, reporter: Reporter | None = None) -> None:
        self.store = store
        self.options = options
        self.reporter = reporter or Reporter()
        self.result = LearnResult()
        self.batch = Batch()
        self._pending = 0
        self._pending_since: float | None = None
        o = options
        self._filtering = bool(
            o.action is not ActionFilter.ALL or o.comm or o.exe or o.pid or o.uid or o.subj
            or o.since is not None or o.until is not None
        )  # fmt: skip
        self._known = store.known_syscalls()
        self._untrusted_processes = store.untrusted_processes(UNTRUSTED_PROCESSES_MAX)
        self._parsers: dict[int, tuple[RecordParser, dict[str, int]]] = {}
        # Records are judged once per prototype (everything but stamp, serial, pid, ip) where the C loop
        # tallies them; only a filter on those (--pid, --since, --until) needs each record judged.
        self._by_prototype = not (o.pid or o.since is not None or o.until is not None)
        self._tally = new_tally()
        self._slots: list[_Slot] = []
        self._slot_numbers: dict[_Slot, int] = {}
        self._trusted = bytearray()
        self._dropped = 0  # the parsers' decisions_dropped when the slots were last started afresh
        self._generations: dict[int, int] = {}
        self._actions: dict[Action, str] = {}
        self._origins: dict[tuple[int, int], tuple[SourceKind, bool]] = {}
        self._attributor = Attributor() if options.attribute else None
        self._now = time.time()
        self._after_the_fact = 0

    # -- timing ---------------------------------------------------------------------------------

    def timeout(self) -> float | None:
        """Seconds until the pending batch is due (None: nothing pending)."""
        if self._pending_since is None:
            return None
        return max(0.0, self._pending_since + self.options.flush_interval - time.monotonic())

    def _touch(self) -> None:
        if self._pending_since is None:
            self._pending_since = time.monotonic()

    # -- consuming ------------------------------------------------------------------------------

    def consume(self, chunk: Chunk) -> None:
        """Parse a chunk's lines, count its records, and write the batch when it is due."""
        source = chunk.source
        for text in chunk.notes:
            self.result.notes.append(text)
            self.reporter.note(text)
        if chunk.data:
            self.result.bytes_read += len(chunk.data)
            self._now = time.time()
            self._touch()  # the batch is due a flush interval after its lines arrived, not after parsing
            parser = self._parser(source)
            if self._by_prototype and parser.accelerated and not isinstance(self._tally, PyTally):
                self._tallied(parser, source, chunk.data)
            else:
                for item in parser.feed_chunk(chunk.data):
                    self._item(item, source)
        for loss in chunk.losses:
            self._loss(loss, source)
        if chunk.position is not None:
            self.batch.positions[(chunk.position.kind, chunk.position.key)] = chunk.position
            self._touch()
        if self._pending >= self.options.batch_records or self.timeout() == 0.0:
            self.flush()

    def _parser(self, source: Source) -> RecordParser:
        entry = self._parsers.get(id(source))
        if entry is None:
            entry = self._parsers[id(source)] = (RecordParser(self.options.format), {})
        return entry[0]

    def _tallied(self, parser: RecordParser, source: Source, data: bytes) -> None:
        """Feed ``data`` to the C loop, which counts the records it can into the tally by prototype."""
        if self._generations.get(id(source)) != source.generation:  # reopened: judged anew (its origin)
            self._generations[id(source)] = source.generation
            parser.forget_decisions()
        tally = TallyRun(
            self._tally,
            lambda proto: self._decide(proto, source),
            self._now - LIVE_SECONDS if self._attributor is not None else math.inf,
            MAX_TIMESTAMP,
            lambda item: self._item(item, source),
        )
        parser.feed_chunk(data, tally)
        for number, records in self._tally.take_raw():
            self.result.records += records
            self._account(self._slots[number], records)

    def _decide(self, proto: dict[str, object], source: Source) -> int:
        """``2 * slot + keep`` for the records of one prototype (the C loop asks once per prototype,
        again after ``forget_decisions`` or when its cache was full)."""
        event = object.__new__(SeccompEvent)
        object.__setattr__(event, "__dict__", dict(proto))
        number = self._number(self._judge(event, source, None))
        return 2 * number + (self._slots[number].key is not None)

    def _number(self, slot: _Slot) -> int:
        """The tally's number for ``slot``."""
        number = self._slot_numbers.get(slot)
        if number is None:
            number = self._slot_numbers[slot] = len(self._slots)
            self._slots.append(slot)
            self._trusted.append(slot.key is not None and slot.key.trusted)
        return number

    def _forget_slots(self) -> None:
        """Start the judgements afresh (the tally is empty: just written)."""
        self._slots, self._trusted = [], bytearray()
        self._slot_numbers.clear()
        for parser, _seen in self._parsers.values():
            parser.forget_decisions()

    def _account(self, slot: _Slot, records: int) -> None:
        """Count ``records`` records judged ``slot`` where they are counted (the result, the batch)."""
        if slot.untrusted:
            self.result.untrusted += records
        if slot.after_the_fact:
            self._after_the_fact += records
        if slot.dropped is not None:
            kind, reason = slot.dropped
            self._count(kind, reason, getattr(self.result, kind), records)
        elif slot.capped:
            self._count(CounterKind.CAPPED, "untrusted-processes", self.result.capped, records)
        if slot.key is not None:
            self._pending += records

    def _item(self, item: SeccompEvent | LossEvent, source: Source) -> None:
        if isinstance(item, LossEvent):
            self._loss(item, source)
        else:
            self._event(item, source)

    def _event(self, event: SeccompEvent, source: Source) -> None:
        """One record judged on its own (not tallied by prototype): counted, and kept in the tally."""
        self.result.records += 1
        if event.timestamp is not None and not 0 <= event.timestamp <= MAX_TIMESTAMP:
            kind, root_owned = self._origin(source)  # the verdicts that come first stand
            if verdict_of(kind, event, root_owned=root_owned).rejected is None:
                self._count(
                    CounterKind.REJECTED, "timestamp-out-of-range", self.result.rejected
                )  # no date, no id
                return
        slot = self._judge(event, source, event.timestamp)
        self._account(slot, 1)
        if slot.key is None:
            return
        ident = event.event_id
        self._tally.add(
            self._number(slot),
            event.timestamp,
            stamp_ms(ident[0]) if ident is not None else 0,
            ident[1] if ident is not None else 0,
            event.pid,
        )

    def _judge(self, event: SeccompEvent, source: Source, stamp: float | None) -> _Slot:
        """What becomes of a record: the observation it counts into, or the counter it is dropped under.

        By everything but its stamp, serial, pid and ip, which differ from record to record (``stamp``
        None: judged for its prototype, whose records are not live, see ``_tallied``; else the record's
        own stamp, looked up in /proc when live).
        """
        kind, root_owned = self._origin(source)
        verdict = verdict_of(kind, event, root_owned=root_owned)
        if verdict.rejected == SUSPECTED_FORGERY:
            self._warn_once(f"rejected a record in {source.name} as a {verdict.why}")
        if verdict.rejected is not None:
            return _Slot(dropped=(CounterKind.REJECTED, verdict.rejected))
        trusted = verdict.trusted
        reason = self._filtered_by(event)
        if reason is not None:
            return _Slot(dropped=(CounterKind.FILTERED, reason))
        untrusted = not trusted
        comm, exe = event.comm or "", event.exe or ""
        after = False
        container = pod = ""
        if self._attributor is not None:
            if stamp is None or self._now - stamp > LIVE_SECONDS:
                after = True  # counted in bulk at the next flush: this is every record of a file
            else:
                container, pod = self._attribution(self._attributor, event, comm, exe, stamp)
        opts = self.options
        if (opts.container or opts.pod) and not in_scope(container, pod, opts.container, opts.pod):
            return _Slot(
                dropped=(CounterKind.FILTERED, "container"), untrusted=untrusted, after_the_fact=after
            )
        capped = False
        if not trusted and (comm, exe) not in self._untrusted_processes:
            if len(self._untrusted_processes) < UNTRUSTED_PROCESSES_MAX:
                self._untrusted_processes.add((comm, exe))
            else:
                comm = exe = OVER_CAP
                capped = True
        syscall = resolve_syscall(event.arch, event.syscall)
        abi, name = syscall.abi_key, syscall.name
        action = self._actions.get(event.action)
        if action is None:
            action = self._actions[event.action] = str(event.action)
        key = ObservationKey(abi, event.syscall, comm, exe, action, trusted, container)
        return _Slot(key, name, pod, None, untrusted, after, capped)

    def _attribution(
        self, attributor: Attributor, event: SeccompEvent, comm: str, exe: str, stamp: float
    ) -> tuple[str, str]:
        """(container label, pod UID) of a live record's process; ('', '') when not attributed (counted)."""
        found = attributor.attribute(event.pid, comm, exe, stamp)
        self.result.lookups = attributor.lookups
        if found.container is None:
            self._count(CounterKind.UNATTRIBUTED, found.reason, self.result.unattributed)
            return "", ""
        return found.container.label, found.container.pod

    def _origin(self, source: Source) -> tuple[SourceKind, bool]:
        """``origin_of`` the source, worked out once per opened file (again after each reopen)."""
        key = (id(source), source.generation)
        origin = self._origins.get(key)
        if origin is None:
            path = getattr(source, "path", None)
            fd = source.fd if isinstance(source, StdinSource) else None
            origin = self._origins[key] = origin_of(
                source.kind, path if isinstance(path, Path) else None, fd=fd, opened=source.opened
            )
        return origin

    def _warn_once(self, text: str) -> None:
        if text not in self.result.warnings:
            self.result.warnings.append(text)

    def _count(self, kind: CounterKind, reason: str, into: dict[str, int], n: int = 1) -> None:
        into[reason] = into.get(reason, 0) + n
        self.batch.count(kind, reason, n)

    def _filtered_by(self, event: SeccompEvent) -> str | None:
        """The first filter ``event`` fails, or None when it passes them all."""
        opts = self.options
        if not self._filtering:
            return None
        if opts.action is not ActionFilter.ALL and event.action.kind.denies != (
            opts.action is ActionFilter.DENIED
        ):
            return "action"
        checks = (
            ("comm", opts.comm and not _glob_any(event.comm, opts.comm)),
            ("exe", opts.exe and not _glob_any(event.exe, opts.exe)),
            ("pid", opts.pid and event.pid not in opts.pid),
            ("uid", opts.uid and event.uid not in opts.uid),
            ("subj", opts.subj and not _glob_any(event.subj, opts.subj)),
            ("since", opts.since is not None and (event.timestamp is None or event.timestamp < opts.since)),
            ("until", opts.until is not None and (event.timestamp is None or event.timestamp > opts.until)),
        )
        return next((reason for reason, failed in checks if failed), None)

    def _loss(self, loss: LossEvent, source: Source) -> None:
        location = source.name
        count = loss.count
        row = LossRow(loss.kind.value, location, 1, count or 0, int(count is None), loss.timestamp,
                      loss.timestamp, loss.text)  # fmt: skip
        digest = loss_identity(loss)
        if digest is None:
            self.batch.add_loss(row)
        else:
            self.batch.identified_losses.append((digest, row))
        self._touch()
        old = self.result.losses.get((loss.kind, location))
        if old is None:
            report = LossReport(loss.kind, count, location, loss.text)
        else:
            total = (
                None
                if old.count is None and count is None
                else loss_total(loss.kind.value, old.count or 0, count or 0)
            )
            report = LossReport(loss.kind, total, location, loss.text)
        self.result.losses[(loss.kind, location)] = report
        self.reporter.loss(report, old is None)

    # -- writing --------------------------------------------------------------------------------

    def _collect_parser_stats(self) -> None:
        for parser, seen in self._parsers.values():
            self.result.lines += parser.stats.lines - seen.get("\0lines", 0)
            seen["\0lines"] = parser.stats.lines
            for reason, total in parser.stats.skipped.items():
                delta = total - seen.get(reason, 0)
                if delta:
                    seen[reason] = total
                    self.result.skipped[reason] = self.result.skipped.get(reason, 0) + delta
                    self.batch.count(CounterKind.SKIPPED, reason, delta)
            for reason, example in parser.stats.examples.items():
                self.result.examples.setdefault(reason, example)

    def finish(self, sources: Iterable[Source]) -> None:
        """End of input: what multi-line layouts still hold, and lines dropped for their length."""
        for source in sources:
            entry = self._parsers.get(id(source))
            if entry is not None:
                for item in entry[0].flush():
                    self._item(item, source)
            if source.too_long:
                self._parser(source).count_skipped(SkipReason.TOO_LONG, source.too_long)
        self.flush()

    def flush(self) -> None:
        """Write the pending batch (one transaction) and report syscalls new to the state."""
        self._collect_parser_stats()
        if self._after_the_fact:
            reason, count = "read-after-the-fact", self._after_the_fact
            self.result.unattributed[reason] = self.result.unattributed.get(reason, 0) + count
            self.batch.count(CounterKind.UNATTRIBUTED, reason, count)
            self._after_the_fact = 0
        self.batch.tally, self.batch.slots, self.batch.trusted = self._tally, self._slots, self._trusted
        if not self.batch:
            self._pending_since = None
            return
        written = self.store.write(self.batch)
        self.batch = Batch()
        dropped = sum(parser.decisions_dropped for parser, _seen in self._parsers.values())
        if dropped != self._dropped or len(self._slots) > SLOTS_MAX:
            # The C loop let go of the slots it held (its prototype cache was full), or judgements
            # piled up: start afresh, so that only slots still in use are kept.
            self._dropped = dropped
            self._forget_slots()
        self._pending = 0
        self._pending_since = None
        self.result.learned += written.records
        self.result.duplicates += written.duplicates
        self.result.flushes += 1
        for key, name in sorted(written.keys, key=lambda kn: (kn[0][0], kn[0][1], kn[0][2])):
            if (key.abi, key.number) not in self._known:
                self._known.add((key.abi, key.number))
                new = NewSyscall(key.abi, key.number, name, key.comm, key.trusted)
                self.result.new_syscalls.append(new)
                self.reporter.learned(new)
        self.reporter.progress(self.result)


@dataclass(frozen=True, slots=True)
class _Slot:
    """What learn made of a record (or of every record of a prototype): where it counts, or why not."""

    key: ObservationKey | None = None  # None: dropped
    name: str | None = None
    pod: str = ""
    dropped: tuple[CounterKind, str] | None = None  # (counter kind, reason) when dropped
    untrusted: bool = False  # counted as untrusted (before the container filter, as always)
    after_the_fact: bool = False  # read too late to look its process up
    capped: bool = False  # its process was over the untrusted-process cap


# A loss line that carries a stamp of its own (a wall-clock or uptime time, a /dev/kmsg header, a
# journald entry) is one event: read again, it is the same marker.
_LOSS_STAMP = re.compile(rb"\d\.\d{3}|\d\d:\d\d:\d\d|^\s*\d+,\d+,\d+[,;]|__CURSOR")


def loss_identity(loss: LossEvent) -> str | None:
    """A digest that names this loss marker across re-reads, or None when its line has no stamp.

    Markers without one (a bare ``kauditd_printk_skb: 5 callbacks suppressed``) cannot be told from
    the next identical line: like records of serial 0 they are protected by source positions only.
    """
    text = loss.text.encode("utf-8", "surrogateescape")
    if loss.timestamp is None and not _LOSS_STAMP.search(text):
        return None
    return hashlib.sha256(f"{loss.kind.value}\0{loss.timestamp}\0".encode() + text).hexdigest()[:32]


def _glob_any(value: str | None, patterns: tuple[str, ...]) -> bool:
    text = value or ""
    return any(fnmatchcase(text, pattern) for pattern in patterns)
