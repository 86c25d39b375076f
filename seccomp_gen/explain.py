"""What a record means, for a person: the audit2why of seccomp.

``explain_event`` turns a ``SeccompEvent`` into an ``ExplainedRecord`` (UTC time, process, ABI,
syscall name or ``unknown(N)``, action with its errno name); ``explain_loss`` does the same for a
loss marker. ``Summary`` counts records by process and syscall, with losses and skipped lines,
in memory bounded by the number of distinct (process, syscall, action) groups. Everything here
returns values (text lines and JSON-ready dicts); printing is the CLI's job.

    >>> from seccomp_gen.records import parse_lines
    >>> line = ('type=SECCOMP msg=audit(1613596317.899:6461): auid=4294967295 uid=0 gid=0 ses=1 pid=7 '
    ...         'comm="ls" exe="/bin/ls" sig=0 arch=c000003e syscall=3 compat=0 ip=0x1 code=0x50001')
    >>> explain_event(next(iter(parse_lines([line])))).text()
    '2021-02-17T21:11:57.899Z pid=7 comm=ls exe=/bin/ls x86_64 close ERRNO(EPERM)'
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from seccomp_gen.actions import Action, ActionKind
from seccomp_gen.events import LossEvent, LossKind, SeccompEvent
from seccomp_gen.parse_stats import SkipReason
from seccomp_gen.syscalls import resolve_syscall


@dataclass(frozen=True, slots=True)
class ExplainedRecord:
    """One record, decoded for reading."""

    time: str | None  # ISO 8601, UTC, milliseconds: 2026-11-28T17:55:24.926Z
    pid: int | None
    comm: str | None
    exe: str | None
    abi: str | None  # None: no arch= (old kernel) or an AUDIT_ARCH value no table covers
    arch: int | None
    number: int
    syscall: str  # the name, or unknown(N)
    action: str  # LOG, ERRNO(EPERM), KILL_PROCESS, ...
    transport: str
    hostname: str | None
    serial: int | None
    # How `learn` would take it, where the source is known (the CLI sets these; see seccomp_gen.trust):
    trust: str | None = None  # "trusted", "untrusted" or "rejected"
    rejected: str | None = None  # why, when rejected

    def text(self) -> str:
        """One line: time, process, ABI, syscall, action; a record `learn` would reject says why."""
        abi = self.abi or (f"arch={self.arch:x}" if self.arch is not None else "abi=?")
        line = " ".join(
            (
                self.time or "-",
                f"pid={self.pid}" if self.pid is not None else "pid=?",
                f"comm={_safe(self.comm)}",
                f"exe={_safe(self.exe)}",
                abi,
                self.syscall,
                self.action,
            )
        )
        return f"{line}  [rejected: {self.rejected}]" if self.trust == "rejected" else line

    def to_json(self) -> dict[str, object]:
        """JSON-ready fields, stable key order (``trust`` and ``rejected`` last, where known)."""
        doc: dict[str, object] = {
            "time": self.time,
            "pid": self.pid,
            "comm": self.comm,
            "exe": self.exe,
            "abi": self.abi,
            "arch": None if self.arch is None else f"{self.arch:08x}",
            "number": self.number,
            "syscall": self.syscall,
            "action": self.action,
            "transport": self.transport,
            "hostname": self.hostname,
            "serial": self.serial,
        }
        if self.trust is not None:
            doc |= {"trust": self.trust, "rejected": self.rejected}
        return doc


@dataclass(frozen=True, slots=True)
class ExplainedLoss:
    """A loss marker, decoded for reading."""

    time: str | None
    kind: str
    count: int | None

    def text(self) -> str:
        """``TIME LOST kind: N records`` (or an unknown number)."""
        many = "an unknown number of records" if self.count is None else f"{self.count} records"
        return f"{self.time or '-'} LOST {self.kind}: {many}"

    def to_json(self) -> dict[str, object]:
        """JSON-ready fields."""
        return {"time": self.time, "lost": self.kind, "count": self.count}


def explain_event(
    event: SeccompEvent, trust: str | None = None, rejected: str | None = None
) -> ExplainedRecord:
    """Decode one record: ABI from (arch, number), the syscall's name, the action's name; ``trust`` and
    ``rejected`` as the caller judged them from the record's source."""
    abi, name = _abi_and_label(event.arch, event.syscall)
    return ExplainedRecord(
        time=iso_time(event.timestamp),
        pid=event.pid,
        comm=event.comm,
        exe=event.exe,
        abi=abi,
        arch=event.arch,
        number=event.syscall,
        syscall=name,
        action=action_text(event.action),
        transport=event.transport.value,
        hostname=event.hostname,
        serial=event.serial,
        trust=trust,
        rejected=rejected,
    )


def explain_loss(loss: LossEvent) -> ExplainedLoss:
    """Decode one loss marker."""
    return ExplainedLoss(iso_time(loss.timestamp), loss.kind.value, loss.count)


def _abi_and_label(arch: int | None, number: int) -> tuple[str | None, str]:
    """``(ABI name or None, syscall name or unknown(N))`` (``syscalls.resolve_syscall``)."""
    found = resolve_syscall(arch, number)
    return (found.abi.name if found.abi is not None else None), found.label


def action_text(action: Action) -> str:
    """``ERRNO(EPERM)``; plain ``ERRNO`` when the record carries no errno (kernels log the action only)."""
    if action.kind is ActionKind.ERRNO and action.data == 0:
        return "ERRNO"
    return str(action)


def iso_time(timestamp: float | None) -> str | None:
    """Epoch seconds → ``2026-11-28T17:55:24.926Z`` (None stays None)."""
    if timestamp is None:
        return None
    try:
        moment = _dt.datetime.fromtimestamp(timestamp, _dt.timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _safe(text: str | None) -> str:
    """Printable as is, else JSON-quoted: a decoded comm/exe may hold spaces or terminal escapes."""
    if text is None:
        return "?"
    if text and text.isprintable() and " " not in text and '"' not in text:
        return text
    return json.dumps(text, ensure_ascii=False)


@dataclass(slots=True)
class _Group:
    count: int = 0
    first: str | None = None
    last: str | None = None

    def take(self, count: int, first: str | None, last: str | None) -> None:
        """Add ``count`` records seen from ``first`` to ``last`` (ISO times; None: no time)."""
        self.count += count
        if first is not None:
            self.first = first if self.first is None else min(self.first, first)
        if last is not None:
            self.last = last if self.last is None else max(self.last, last)


@dataclass(slots=True)
class _Pending:
    """Records of one (comm, exe, arch, number, action) not decoded yet: how many, first and last stamp."""

    count: int = 0
    first: float = 0.0
    last: float = 0.0
    stamped: bool = False


# Stamps from the epoch to the last second of year 9999: their ISO texts sort as the stamps do (four-digit
# years), so the earliest and latest of a group can be kept as numbers and written once.
_SORTABLE_STAMPS = 253402300799.0
_RawKey = tuple["str | None", "str | None", "int | None", int, Action]  # comm, exe, arch, number, action
_TRUST = ("trusted", "untrusted", "rejected")
# A summary groups by process; anyone can write lines naming a million: past this many, the records of
# further processes are grouped as one, so that memory stays bounded whatever the input.
MAX_PROCESSES = 2_000
OVER_CAP = "(over the cap)"
_RUNNING_TOTAL = LossKind.AUDIT_LOST.value  # audit_lost=N is the kernel's running total, not a delta


@dataclass(slots=True)
class Summary:
    """Counts by process and syscall, losses by kind, and the parser's skipped lines."""

    groups: dict[tuple[str, str, str, str, int, str], _Group] = field(default_factory=dict)
    losses: dict[str, list[int]] = field(default_factory=dict)  # kind -> [markers, records or 0]
    unknown_losses: dict[str, int] = field(default_factory=dict)  # kind -> markers without a count
    records: int = 0
    trust: dict[str, int] = field(default_factory=dict)  # trusted/untrusted/rejected -> records, where known
    pending: dict[tuple[str | None, str | None, int | None, int, Action], _Pending] = field(
        default_factory=dict
    )
    _processes: set[tuple[str | None, str | None]] = field(default_factory=set)
    over_cap: int = 0  # records of processes beyond the first MAX_PROCESSES, grouped as OVER_CAP

    def _process(self, comm: str | None, exe: str | None) -> tuple[str | None, str | None]:
        """(comm, exe), or OVER_CAP twice once MAX_PROCESSES others were seen: bounded memory."""
        if (comm, exe) in self._processes:
            return comm, exe
        if len(self._processes) < MAX_PROCESSES:
            self._processes.add((comm, exe))
            return comm, exe
        self.over_cap += 1
        return OVER_CAP, OVER_CAP

    def add_record(self, event: SeccompEvent, trust: str | None = None) -> None:
        """Count a record as ``add(explain_event(event, trust))`` does, without decoding it: records are
        grouped as they came and each group is decoded once, when the summary is read.
        """
        stamp = event.timestamp
        if stamp is not None and not 0 <= stamp < _SORTABLE_STAMPS:
            self.add(explain_event(event, trust))
            return
        self._count(trust)
        comm, exe = self._process(event.comm, event.exe)
        key = (comm, exe, event.arch, event.syscall, event.action)
        pending = self.pending.get(key)
        if pending is None:
            pending = self.pending[key] = _Pending()
        pending.count += 1
        if stamp is None:
            return
        if not pending.stamped:
            pending.first = pending.last = stamp
            pending.stamped = True
        elif stamp < pending.first:
            pending.first = stamp
        elif stamp > pending.last:
            pending.last = stamp

    def _decode_pending(self) -> None:
        """Fold the groups ``add_record`` kept into ``groups``, decoded."""
        for (comm, exe, arch, number, action), pending in self.pending.items():
            abi, name = _abi_and_label(arch, number)
            key = (comm or "?", exe or "?", abi or "?", name, number, action_text(action))
            group = self.groups.setdefault(key, _Group())
            if pending.stamped:  # sortable stamps: each has a time
                group.take(pending.count, iso_time(pending.first), iso_time(pending.last))
            else:
                group.take(pending.count, None, None)
        self.pending.clear()

    def _count(self, trust: str | None) -> None:
        self.records += 1
        if trust is not None:
            self.trust[trust] = self.trust.get(trust, 0) + 1

    def add(self, item: ExplainedRecord | ExplainedLoss) -> None:
        """Count one decoded record or loss marker."""
        if isinstance(item, ExplainedLoss):
            counts = self.losses.setdefault(item.kind, [0, 0])
            counts[0] += 1
            if item.count is None:
                self.unknown_losses[item.kind] = self.unknown_losses.get(item.kind, 0) + 1
            elif item.kind == _RUNNING_TOTAL:
                counts[1] = max(counts[1], item.count)  # each marker states the total so far
            else:
                counts[1] += item.count
            return
        self._count(item.trust)
        comm, exe = self._process(item.comm, item.exe)
        key = (comm or "?", exe or "?", item.abi or "?", item.syscall, item.number, item.action)
        self.groups.setdefault(key, _Group()).take(1, item.time, item.time)

    def processes(self) -> list[tuple[str, str, list[tuple[tuple[str, str, int, str], _Group]]]]:
        """Per (comm, exe), sorted: its syscalls, most frequent first."""
        self._decode_pending()
        by_process: dict[tuple[str, str], list[tuple[tuple[str, str, int, str], _Group]]] = {}
        for (comm, exe, abi, name, number, action), group in self.groups.items():
            by_process.setdefault((comm, exe), []).append(((abi, name, number, action), group))
        return [
            (comm, exe, sorted(rows, key=lambda row: (-row[1].count, row[0])))
            for (comm, exe), rows in sorted(by_process.items())
        ]

    def text(self, *, lines: int, skipped: Mapping[SkipReason, int], noise: int) -> list[str]:
        """The summary as lines of text."""
        out: list[str] = []
        for comm, exe, rows in self.processes():
            out.append(f"{_safe(comm)} {_safe(exe)}")
            out.extend(
                f"  {count.count:>8}  {abi:<8} {name:<24} {action}" for (abi, name, _n, action), count in rows
            )
        for kind, (markers, count) in sorted(self.losses.items()):
            unknown = self.unknown_losses.get(kind, 0)
            what = f"{count} records" + (f" and {unknown} markers of unknown size" if unknown else "")
            if kind == _RUNNING_TOTAL:
                what = f"at least {count} records (the kernel's running total)" + (
                    f" and {unknown} markers of unknown size" if unknown else ""
                )
            out.append(f"lost ({kind}): {what}, {markers} markers")
        if self.trust:
            judged = ", ".join(f"{self.trust[t]} {t}" for t in _TRUST if t in self.trust)
            out.append(f"trust: {judged} (as learn would take them from these sources)")
        skipped_total = sum(skipped.values())
        reasons = ", ".join(f"{reason}: {n}" for reason, n in sorted(skipped.items()))
        out.append(f"skipped: {skipped_total} lines" + (f" ({reasons})" if reasons else ""))
        out.append(f"records: {self.records} in {lines} lines ({noise} lines without records)")
        if self.over_cap:
            out.append(
                f"over the cap: {self.over_cap} records of processes beyond the first {MAX_PROCESSES:,} "
                f"are grouped as {OVER_CAP!r}"
            )
        return out

    def to_json(self, *, lines: int, skipped: Mapping[SkipReason, int], noise: int) -> dict[str, object]:
        """The summary as a JSON-ready dict, stable order (``trust`` only where the source is known)."""
        return {
            "records": self.records,
            "lines": lines,
            "noise": noise,
            "skipped": dict(sorted(skipped.items())),
            "over_cap": self.over_cap,
            **({"trust": {t: self.trust.get(t, 0) for t in _TRUST}} if self.trust else {}),
            "losses": [
                {
                    "kind": kind,
                    "markers": markers,
                    "count": count,
                    "unknown": self.unknown_losses.get(kind, 0),
                }
                for kind, (markers, count) in sorted(self.losses.items())
            ],
            "processes": [
                {
                    "comm": comm,
                    "exe": exe,
                    "syscalls": [
                        {
                            "abi": abi,
                            "syscall": name,
                            "number": number,
                            "action": action,
                            "count": group.count,
                            "first": group.first,
                            "last": group.last,
                        }
                        for (abi, name, number, action), group in rows
                    ],
                }
                for comm, exe, rows in self.processes()
            ],
        }


def explain(item: SeccompEvent | LossEvent) -> ExplainedRecord | ExplainedLoss:
    """Decode a record or a loss marker."""
    return explain_event(item) if isinstance(item, SeccompEvent) else explain_loss(item)


__all__ = [
    "ExplainedLoss",
    "ExplainedRecord",
    "Summary",
    "action_text",
    "explain",
    "explain_event",
    "explain_loss",
    "iso_time",
]
