"""What learning produces and the state keeps, as values: observations, their keys and filters on
them, pending aggregates, loss rows, a flush's batch. ``seccomp_gen.store`` persists them; learn,
profiles, status and the CLI read them. One concept: no SQL, no files here.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple, Protocol

from seccomp_gen.actions import ActionKind
from seccomp_gen.events import LossKind
from seccomp_gen.strenum import StrEnum

if TYPE_CHECKING:
    from seccomp_gen.sources import Position
    from seccomp_gen.tally import IdBlob, Tally

I64_MAX = 2**63 - 1  # SQLite's largest integer; a sum past it would fail the whole batch's write
RUNNING_TOTAL = LossKind.AUDIT_LOST.value  # its markers carry the kernel's running total: keep the largest
OVER_CAP = "(over the cap)"


class CounterKind(StrEnum):
    """Why records were counted instead of learned: the ``kind`` of a state's counter (reason beside it).

    A ``str``: it is stored, printed and compared as its value (``"filtered"``).
    """

    SKIPPED = "skipped"  # lines that looked like records but were not (reasons: ``SkipReason``)
    FILTERED = "filtered"  # records an option left out (--comm, --container, --since ...)
    REJECTED = "rejected"  # records judged not the kernel's (forgery, another journald transport, dates)
    DUPLICATE = "duplicate"  # events and stamped loss markers read before
    UNATTRIBUTED = "unattributed"  # records whose container could not be told
    CAPPED = "capped"  # untrusted records of processes past the cap (learned under OVER_CAP)


@dataclass(frozen=True, slots=True)
class Observation:
    """An aggregate of records: one per (ABI, syscall number, comm, exe, action, trust, container).

    ``abi`` is ``"unknown"`` for records without ``arch=`` and ``"unknown-XXXXXXXX"`` (the AUDIT_ARCH
    value in hex) for an ``arch=`` no ABI has; ``comm``/``exe`` are ``""`` when the record had none.
    """

    abi: str  # ABI name from seccomp_gen.abi, e.g. "x86_64", "i386", "x32"; "unknown" without arch=
    number: int  # as the record printed it (x32 keeps bit 0x40000000)
    name: str | None  # the ABI's name for it; None when no table knows the number
    comm: str
    exe: str
    action: str  # str(Action): "LOG", "ERRNO(EPERM)", "KILL_PROCESS", ...
    trusted: bool
    count: int
    first_seen: float | None = None
    last_seen: float | None = None
    sample_pid: int | None = None
    container: str = ""  # "runc:web-1", "podman:<id>", "host"; "" when the record was not attributed
    pod: str = ""  # the Kubernetes pod UID, where the container's cgroup path names one

    @property
    def key(self) -> ObservationKey:
        """What the store aggregates by."""
        return ObservationKey(
            self.abi, self.number, self.comm, self.exe, self.action, self.trusted, self.container
        )


class ObservationKey(NamedTuple):
    """What the state aggregates records by: one row per key (``Observation`` holds the rest)."""

    abi: str
    number: int
    comm: str
    exe: str
    action: str
    trusted: bool
    container: str


@dataclass(frozen=True, slots=True)
class ObservationFilter:
    """Keep observations whose comm/exe match one of the globs and whose action is listed (empty: all)."""

    comm: tuple[str, ...] = ()
    exe: tuple[str, ...] = ()
    action: tuple[str, ...] = ()
    trusted_only: bool = False
    container: tuple[str, ...] = ()  # ids, prefixes or globs (seccomp_gen.containers.container_matches)
    pod: tuple[str, ...] = ()  # pod UIDs or prefixes

    def keeps(self, obs: Observation) -> bool:
        """True when ``obs`` passes every given criterion."""
        from seccomp_gen.containers import in_scope

        return (
            _matches(self.comm, obs.comm)
            and _matches(self.exe, obs.exe)
            and _action_matches(self.action, obs.action)
            and in_scope(obs.container, obs.pod, self.container, self.pod)
        )


def _matches(globs: tuple[str, ...], value: str) -> bool:
    return not globs or any(fnmatch.fnmatchcase(value, glob) for glob in globs)


def _action_matches(wanted: tuple[str, ...], action: str) -> bool:
    """Like learn's ``--action``: ``all``, ``log``, ``denied``; or one action: ``ERRNO`` matches
    ``ERRNO(EPERM)``, ``KILL_PROCESS`` itself. Case-insensitive."""
    upper = action.upper()
    kind = upper.split("(", 1)[0]
    denies = kind in ActionKind.__members__ and ActionKind[kind].denies
    for spelled in (w.upper() for w in wanted):
        if spelled in ("ALL", upper, kind):
            return True
        if spelled == "DENIED" and denies:
            return True
    return not wanted


@dataclass(slots=True)
class Aggregate:
    """Pending (not yet written) records of one observation key."""

    name: str | None
    count: int = 0
    first_seen: float | None = None
    last_seen: float | None = None
    sample_pid: int | None = None
    pod: str = ""

    def add(self, timestamp: float | None, pid: int | None, count: int = 1) -> None:
        """Count ``count`` more records seen at ``timestamp``."""
        self.merge(count, timestamp, timestamp, pid)

    def merge(self, count: int, first: float | None, last: float | None, pid: int | None) -> None:
        """Count ``count`` more records seen between ``first`` and ``last``, the last of them by ``pid``."""
        self.count += count
        if first is not None and (self.first_seen is None or first < self.first_seen):
            self.first_seen = first
        if last is not None and (self.last_seen is None or last > self.last_seen):
            self.last_seen = last
        if pid is not None:
            self.sample_pid = pid


class SlotTarget(Protocol):
    """What the records of one tally slot count into (``key`` None: the slot keeps no records)."""

    @property
    def key(self) -> ObservationKey | None: ...

    @property
    def name(self) -> str | None: ...

    @property
    def pod(self) -> str: ...


class IdentifiedRecord(NamedTuple):
    """A pending record that carries an event id: written only if the id is new to the state.

    A named tuple, not a dataclass: one is built per record read, and a tuple is built ~3x faster.
    """

    ts_ms: int
    serial: int
    key: ObservationKey
    name: str | None
    timestamp: float | None
    pid: int | None
    pod: str = ""


@dataclass(frozen=True, slots=True)
class LossRow:
    """Loss markers of one kind at one place: how many markers, how many records they reported lost."""

    kind: str
    location: str
    markers: int
    records: int
    unknown_markers: int  # markers that did not say how many records were lost
    first_seen: float | None = None
    last_seen: float | None = None
    sample: str = ""


@dataclass(slots=True)
class Batch:
    """Everything one flush writes, in one transaction.

    ``tally`` holds records in the order read, each under a slot: ``slots[slot]`` is the (key, name,
    pod) it counts into, ``trusted[slot]`` non-zero when the key is trusted. ``identified`` is the same
    for callers without a tally (each record its own key), added after the tally's records.

    Writing first settles both into ``aggregates``, ``id_blobs``, ``upgrades`` and ``duplicates``
    (draining the tally). A write that fails leaves the batch settled, so that writing it again (once
    the disk has room) counts every record it held exactly once.
    """

    aggregates: dict[ObservationKey, Aggregate] = field(default_factory=dict)
    identified: list[IdentifiedRecord] = field(default_factory=list)
    tally: Tally | None = None
    slots: Sequence[SlotTarget] = ()
    trusted: bytes | bytearray = b""
    losses: dict[tuple[str, str], LossRow] = field(default_factory=dict)
    identified_losses: list[tuple[str, LossRow]] = field(default_factory=list)  # (digest, row)
    counters: dict[tuple[str, str], int] = field(default_factory=dict)
    positions: dict[tuple[str, str], Position] = field(default_factory=dict)
    id_blobs: list[IdBlob] = field(default_factory=list)  # settled: the event ids new to the state
    upgrades: list[ObservationKey] = field(default_factory=list)  # settled: untrusted → trusted
    duplicates: int = 0  # settled: records whose event id the state held

    def __bool__(self) -> bool:
        return bool(
            self.aggregates
            or self.id_blobs
            or self.duplicates
            or self.identified
            or (self.tally is not None and len(self.tally))
            or self.losses
            or self.identified_losses
            or self.counters
            or self.positions
        )

    def count(self, kind: CounterKind, reason: str, n: int = 1) -> None:
        """Add ``n`` to the counter ``kind``/``reason`` (e.g. ``filtered``/``comm``)."""
        self.counters[(kind, reason)] = self.counters.get((kind, reason), 0) + n

    def add_loss(self, row: LossRow) -> None:
        """Merge one loss row into the batch."""
        old = self.losses.get((row.kind, row.location))
        if old is not None:
            row = merge_loss(old, row)
        self.losses[(row.kind, row.location)] = row


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What a flush committed: records counted, duplicates dropped, the keys it touched."""

    records: int
    duplicates: int
    keys: tuple[tuple[ObservationKey, str | None], ...]


def loss_total(kind: str, a: int, b: int) -> int:
    """Two counts of one kind of loss at one place as one: audit_lost=N is the kernel's running total
    (since boot), so its largest value is the count; the other kinds' markers each count new losses."""
    return max(a, b) if kind == RUNNING_TOTAL else saturating(a + b)


def merge_loss(a: LossRow, b: LossRow) -> LossRow:
    """Two rows of one kind and place as one."""
    firsts = [t for t in (a.first_seen, b.first_seen) if t is not None]
    lasts = [t for t in (a.last_seen, b.last_seen) if t is not None]
    return LossRow(
        a.kind,
        a.location,
        saturating(a.markers + b.markers),
        loss_total(a.kind, a.records, b.records),
        saturating(a.unknown_markers + b.unknown_markers),
        min(firsts) if firsts else None,
        max(lasts) if lasts else None,
        b.sample or a.sample,
    )


def saturating(total: int) -> int:
    """``total`` held at SQLite's largest integer (a count from a forged line can be anything)."""
    return min(total, I64_MAX)
