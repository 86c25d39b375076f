"""The learned state: SQLite, one file, WAL, schema versioned with ``PRAGMA user_version``.

What is stored are aggregates, never raw lines: one row per (ABI, syscall number, comm, exe, action,
trust) with a count, first and last seen and a sample pid; source positions (file offsets, the journald
cursor, the last /dev/kmsg sequence number); losses by kind and place; counters of skipped, filtered,
rejected and duplicate records; and the ids (timestamp + serial) of recent events, so one event read
through two transports is counted once, and digests of stamped loss markers, so a re-read file's
losses are counted once too.

Every write goes through ``Store.write`` with a ``Batch``: one ``BEGIN IMMEDIATE`` transaction, so a
batch is atomic and two learners on one file take turns (``busy_timeout``) instead of failing.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple, Protocol

from seccomp_gen.coverage import Coverage
from seccomp_gen.errors import StateError
from seccomp_gen.events import LossKind
from seccomp_gen.tally import PyTally, Tally
from seccomp_gen.tally import encode as encode_ids

SCHEMA_VERSION = 4
APPLICATION_ID = 0x53434D50  # "SCMP": marks a file as a seccomp-gen state
BUSY_TIMEOUT_MS = 30_000
MAX_LOSS_IDS = 100_000  # dedup memory of loss markers: the newest (by when they were first written)
UNKNOWN_ABI = "unknown"  # the ABI of records without arch=

_SCHEMA_V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE observations (
    abi TEXT NOT NULL, number INTEGER NOT NULL, name TEXT,
    comm TEXT NOT NULL, exe TEXT NOT NULL, action TEXT NOT NULL, trusted INTEGER NOT NULL,
    count INTEGER NOT NULL, first_seen REAL, last_seen REAL, sample_pid INTEGER,
    PRIMARY KEY (abi, number, comm, exe, action, trusted)
);
CREATE TABLE event_ids (
    ts_ms INTEGER NOT NULL, serial INTEGER NOT NULL, trusted INTEGER NOT NULL, PRIMARY KEY (ts_ms, serial)
) WITHOUT ROWID;
CREATE TABLE positions (
    kind TEXT NOT NULL, key TEXT NOT NULL, dev INTEGER, inode INTEGER, offset INTEGER,
    size INTEGER, fingerprint TEXT, fingerprint_len INTEGER, cursor TEXT, seq INTEGER,
    complete INTEGER NOT NULL DEFAULT 0, updated REAL NOT NULL,
    PRIMARY KEY (kind, key)
);
CREATE TABLE losses (
    kind TEXT NOT NULL, location TEXT NOT NULL, markers INTEGER NOT NULL, records INTEGER NOT NULL,
    unknown_markers INTEGER NOT NULL, first_seen REAL, last_seen REAL, sample TEXT,
    PRIMARY KEY (kind, location)
);
CREATE TABLE counters (
    kind TEXT NOT NULL, reason TEXT NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (kind, reason)
);
"""
# v2: loss markers that carry a stamp are remembered by a digest of their line, so re-reading a file
# (--from-start, or a rotated copy under another name) does not count its losses twice.
_SCHEMA_V2 = """
CREATE TABLE loss_ids (digest TEXT PRIMARY KEY, seen REAL NOT NULL) WITHOUT ROWID;
"""
# v3: the container a record's process ran in (``runtime:id``, ``host``; '' when not attributed) is part
# of an observation's key, and the pod UID is kept with it. Rows of older states become unattributed.
_SCHEMA_V3 = """
CREATE TABLE observations_v3 (
    abi TEXT NOT NULL, number INTEGER NOT NULL, name TEXT,
    comm TEXT NOT NULL, exe TEXT NOT NULL, action TEXT NOT NULL, trusted INTEGER NOT NULL,
    count INTEGER NOT NULL, first_seen REAL, last_seen REAL, sample_pid INTEGER,
    container TEXT NOT NULL DEFAULT '', pod TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (abi, number, comm, exe, action, trusted, container)
);
INSERT INTO observations_v3 (abi, number, name, comm, exe, action, trusted, count, first_seen, last_seen,
                             sample_pid)
    SELECT abi, number, name, comm, exe, action, trusted, count, first_seen, last_seen, sample_pid
    FROM observations;
DROP TABLE observations;
ALTER TABLE observations_v3 RENAME TO observations;
"""
# v4: event ids are kept as blobs, one a batch (seccomp_gen.tally), with no window: a re-read of any part
# of any file, however old, counts nothing again. A batch's blobs are found by their range of stamps.
_SCHEMA_V4 = """
CREATE TABLE event_blobs (
    ts_lo INTEGER NOT NULL, ts_hi INTEGER NOT NULL, ids INTEGER NOT NULL, data BLOB NOT NULL
);
CREATE INDEX event_blobs_by_end ON event_blobs (ts_hi);
"""
_MIGRATIONS: dict[int, str] = {1: _SCHEMA_V1, 2: _SCHEMA_V2, 3: _SCHEMA_V3, 4: _SCHEMA_V4}
BLOB_IDS = 200_000  # ids per blob when older states' rows are moved into blobs

# Distinct (comm, exe) pairs of untrusted rows a state keeps. Anyone can write syslog lines, each naming
# a process of their choosing: past this many, records of new pairs are counted under OVER_CAP instead,
# so that a flood of forged processes cannot grow the state (or what reads it) without bound. Their
# syscalls are still learned (untrusted, as they were).
UNTRUSTED_PROCESSES_MAX = 4_096
OVER_CAP = "(over the cap)"
# zlib's level for the event id blobs: measured on 500,000 auditd ids, level 1 takes a tenth of level
# 6's time (10 vs 99 ms) for 8 % more bytes (0.82 vs 0.76 bytes an id).
BLOB_LEVEL = 1
# A batch's ids are looked up and kept per range of their stamps, cut at gaps over ID_GAP_MS, at most
# ID_RANGES of them: a record with a far-off stamp (a forger's, or a clock's jump) makes neither this
# batch load every blob between nor its blob overlap every later batch.
ID_RANGES = 8
ID_GAP_MS = 10 * 60 * 1000
I64_MAX = 2**63 - 1  # SQLite's largest integer; a sum past it would fail the whole batch's write
RUNNING_TOTAL = LossKind.AUDIT_LOST.value  # its markers carry the kernel's running total: keep the largest


def saturating(total: int) -> int:
    """``total`` held at SQLite's largest integer (a count from a forged line can be anything)."""
    return min(total, I64_MAX)


def _saturating_sum(column: str) -> str:
    """``column + excluded.column`` in SQL, stopping at the largest integer instead of overflowing."""
    new = f"excluded.{column}"
    return f"CASE WHEN {column} > {I64_MAX} - {new} THEN {I64_MAX} ELSE {column} + {new} END"


_UPSERT_OBSERVATION = """
INSERT INTO observations (abi, number, name, comm, exe, action, trusted, count, first_seen, last_seen,
                          sample_pid, container, pod)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (abi, number, comm, exe, action, trusted, container) DO UPDATE SET
    pod = CASE WHEN excluded.pod != '' THEN excluded.pod ELSE pod END,
    count = {count},
    name = coalesce(excluded.name, name),
    first_seen = min(coalesce(first_seen, excluded.first_seen), coalesce(excluded.first_seen, first_seen)),
    last_seen = max(coalesce(last_seen, excluded.last_seen), coalesce(excluded.last_seen, last_seen)),
    sample_pid = coalesce(excluded.sample_pid, sample_pid)
""".format(count=_saturating_sum("count"))
_UPSERT_LOSS = """
INSERT INTO losses (kind, location, markers, records, unknown_markers, first_seen, last_seen, sample)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (kind, location) DO UPDATE SET
    markers = {markers},
    records = CASE WHEN kind = '{running}' THEN max(records, excluded.records) ELSE {records} END,
    unknown_markers = {unknown_markers},
    first_seen = min(coalesce(first_seen, excluded.first_seen), coalesce(excluded.first_seen, first_seen)),
    last_seen = max(coalesce(last_seen, excluded.last_seen), coalesce(excluded.last_seen, last_seen)),
    sample = excluded.sample
""".format(
    running=RUNNING_TOTAL, **{c: _saturating_sum(c) for c in ("markers", "records", "unknown_markers")}
)
_UPSERT_COUNTER = """
INSERT INTO counters (kind, reason, count) VALUES (?, ?, ?)
ON CONFLICT (kind, reason) DO UPDATE SET count = {count}
""".format(count=_saturating_sum("count"))
_UPSERT_POSITION = """
INSERT OR REPLACE INTO positions (kind, key, dev, inode, offset, size, fingerprint, fingerprint_len, cursor,
                                  seq, complete, updated)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""


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
        return (self.abi, self.number, self.comm, self.exe, self.action, self.trusted, self.container)


ObservationKey = tuple[str, int, str, str, str, bool, str]


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


class _Target(NamedTuple):
    key: ObservationKey
    name: str | None
    pod: str


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
class Position:
    """Where a source stopped: a file's device, inode, offset and head fingerprint; a cursor; a sequence."""

    kind: str  # "file", "gzip", "journal", "kmsg"
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

    def __bool__(self) -> bool:
        return bool(
            self.aggregates
            or self.identified
            or (self.tally is not None and len(self.tally))
            or self.losses
            or self.identified_losses
            or self.counters
            or self.positions
        )

    def count(self, kind: str, reason: str, n: int = 1) -> None:
        """Add ``n`` to the counter ``kind``/``reason`` (e.g. ``filtered``/``comm``)."""
        self.counters[(kind, reason)] = self.counters.get((kind, reason), 0) + n

    def add_loss(self, row: LossRow) -> None:
        """Merge one loss row into the batch."""
        old = self.losses.get((row.kind, row.location))
        if old is not None:
            row = _merge_loss(old, row)
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


def _merge_loss(a: LossRow, b: LossRow) -> LossRow:
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


def _tally_of(batch: Batch) -> tuple[Tally, Sequence[SlotTarget], bytes | bytearray]:
    """The batch's tally, slots and trust, with its ``identified`` records added (each its own slot)."""
    if not batch.identified:
        return batch.tally or PyTally(), batch.slots, batch.trusted
    tally = batch.tally or PyTally()
    slots: list[SlotTarget] = list(batch.slots)
    trusted = bytearray(batch.trusted)
    for record in batch.identified:
        tally.add(len(slots), record.timestamp, record.ts_ms, record.serial, record.pid)
        slots.append(_Target(record.key, record.name, record.pod))
        trusted.append(record.key[5])
    return tally, slots, trusted


def _move_event_ids(db: sqlite3.Connection) -> None:
    """An older state's event ids, one row each, into blobs of ``BLOB_IDS`` (schema v4)."""
    rows = db.execute("SELECT ts_ms, serial, trusted FROM event_ids ORDER BY ts_ms, serial")
    while True:
        part = rows.fetchmany(BLOB_IDS)
        if not part:
            break
        ids = [
            ((ts, serial), 2 if trusted else 1) for ts, serial, trusted in part if 0 < serial <= 0xFFFFFFFF
        ]
        if ids:
            blob = encode_ids(ids)
            db.execute(
                "INSERT INTO event_blobs (ts_lo, ts_hi, ids, data) VALUES (?, ?, ?, ?)",
                (ids[0][0][0], ids[-1][0][0], len(ids), zlib.compress(blob, BLOB_LEVEL)),
            )
    db.execute("DELETE FROM event_ids")


class Store:
    """An open state database. Use ``Store.open``; close it (or use it as a context manager)."""

    def __init__(self, path: Path, connection: sqlite3.Connection, *, readonly: bool) -> None:
        self.path = path
        self.readonly = readonly
        self._db = connection
        self._loss_ids_since_prune = 0
        self._version = SCHEMA_VERSION

    # -- opening -------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, *, readonly: bool = False) -> Store:
        """Open (creating and migrating unless ``readonly``) the state at ``path``.

        Raises ``StateError`` quoting the path when the file is not a seccomp-gen state, comes from a
        newer seccomp-gen, is corrupt, or cannot be created or written.
        """
        path = Path(path)
        try:
            connection = _connect(path, readonly=readonly)
        except sqlite3.Error as exc:
            raise StateError(f"cannot open state {str(path)!r}: {exc}") from None
        store = cls(path, connection, readonly=readonly)
        try:
            store._prepare_waiting()
        except sqlite3.Error as exc:
            connection.close()
            raise StateError(f"cannot use state {str(path)!r}: {_describe(exc)}") from None
        except StateError:
            connection.close()
            raise
        return store

    def _prepare_waiting(self) -> None:
        """``_prepare``, waiting out another process that is creating or migrating the same state.

        Some of its steps (switching a new file to WAL) do not wait for a lock the way statements do:
        SQLite answers "database is locked" at once while another opener holds it.
        """
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                self._prepare()
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                time.sleep(0.05)

    def _prepare(self) -> None:
        version, app_id, tables = self._inspect()
        if version > SCHEMA_VERSION:
            raise StateError(
                f"state {str(self.path)!r} has schema version {version}, newer than this seccomp-gen "
                f"understands ({SCHEMA_VERSION}); upgrade seccomp-gen or use another --state"
            )
        if app_id != APPLICATION_ID and (app_id != 0 or tables):
            raise StateError(f"{str(self.path)!r} is not a seccomp-gen state (it holds other data)")
        self._version = version
        if self.readonly:
            if version == 0:
                raise StateError(f"state {str(self.path)!r} is empty: nothing has been learned yet")
            if version < 3:
                # A reader does not migrate the file; it sees the older rows as not attributed (a temp
                # view is found before the main table of the same name).
                self._db.execute("PRAGMA query_only=OFF")
                self._db.execute(
                    "CREATE TEMP VIEW observations AS "
                    "SELECT *, '' AS container, '' AS pod FROM main.observations"
                )
                self._db.execute("PRAGMA query_only=ON")
            return
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        if version < SCHEMA_VERSION:
            self._migrate(version)

    def _inspect(self) -> tuple[int, int, int]:
        """(schema version, application id, tables), read in one transaction: seen between another
        process's creating the tables and its stamping them, the file would look like someone else's."""
        self._db.execute("BEGIN")
        try:
            version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
            app_id = int(self._db.execute("PRAGMA application_id").fetchone()[0])
            tables = int(self._db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0])
        finally:
            self._db.execute("COMMIT")
        return version, app_id, tables

    def _migrate(self, version: int) -> None:
        with self._transaction():
            current = int(self._db.execute("PRAGMA user_version").fetchone()[0])  # another process?
            for step in range(max(version, current) + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[step].split(";"):
                    if statement.strip():
                        self._db.execute(statement)
            if 0 < max(version, current) < 4:
                _move_event_ids(self._db)
            if current < SCHEMA_VERSION:
                self._db.execute(f"PRAGMA application_id={APPLICATION_ID}")
                self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                self._set_meta("created", repr(time.time()))
        self._version = SCHEMA_VERSION

    # -- lifecycle -----------------------------------------------------------------------------

    def close(self) -> None:
        """Flush and close."""
        with contextlib.suppress(sqlite3.Error):
            if not self.readonly and self._loss_ids_since_prune:
                self.prune_loss_ids()
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        if self.readonly:
            raise StateError(f"state {str(self.path)!r} is open read-only")
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._rollback()
                raise
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error:
                self._rollback()
                raise
        except sqlite3.Error as exc:
            raise StateError(f"cannot write state {str(self.path)!r}: {_describe(exc)}") from None

    def _rollback(self) -> None:
        """Undo the open transaction, if SQLite has not already (it does after SQLITE_FULL and I/O errors)."""
        if self._db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")

    def _set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # -- writing -------------------------------------------------------------------------------

    def write(self, batch: Batch) -> WriteResult:
        """Write ``batch`` atomically. Records whose event id the state already holds are dropped.

        An event first counted from an untrusted line and then read from a trusted source (the same
        record in syslog and in /dev/kmsg) moves from the untrusted observation to the trusted one.
        """
        tally, slots, trusted = _tally_of(batch)
        with self._transaction() as db:
            aggregates = dict(batch.aggregates)
            upgrades: list[ObservationKey] = []
            duplicates = 0
            if len(tally):
                ranges = tally.ranges(ID_RANGES, ID_GAP_MS)
                sums, duplicates, blobs = tally.drain(self._known_ids(db, ranges), trusted, ranges)
                for slot, count, upgraded, first, last, pid in sums:
                    target = slots[slot]
                    key = target.key
                    assert key is not None  # only slots that keep records have records in the tally
                    agg = aggregates.get(key)
                    if agg is None:
                        agg = aggregates[key] = Aggregate(target.name, pod=target.pod)
                    agg.merge(count, first, last, pid)
                    upgrades.extend([key] * upgraded)
                db.executemany(
                    "INSERT INTO event_blobs (ts_lo, ts_hi, ids, data) VALUES (?, ?, ?, ?)",
                    [(lo, hi, count, zlib.compress(blob, BLOB_LEVEL)) for lo, hi, count, blob in blobs],
                )
            db.executemany(_UPSERT_OBSERVATION, [_observation_row(k, a) for k, a in aggregates.items()])
            self._take_back_untrusted(db, upgrades)
            losses, known_losses = self._fresh_losses(db, batch)
            db.executemany(_UPSERT_LOSS, [_loss_row(row) for row in losses.values()])
            counters = dict(batch.counters)
            if duplicates:
                counters[("duplicate", "event-id")] = counters.get(("duplicate", "event-id"), 0) + duplicates
            if known_losses:
                counters[("duplicate", "loss-marker")] = (
                    counters.get(("duplicate", "loss-marker"), 0) + known_losses
                )
            db.executemany(_UPSERT_COUNTER, [(k, r, n) for (k, r), n in counters.items()])
            db.executemany(_UPSERT_POSITION, [_position_row(p) for p in batch.positions.values()])
            self._set_meta("updated", repr(time.time()))
        self._loss_ids_since_prune += len(batch.identified_losses)
        if self._loss_ids_since_prune > MAX_LOSS_IDS // 10:
            self.prune_loss_ids()
        records = sum(a.count for a in aggregates.values()) - len(upgrades)
        keys = tuple((k, a.name) for k, a in aggregates.items())
        return WriteResult(records, duplicates + len(upgrades), keys)

    @staticmethod
    def _known_ids(db: sqlite3.Connection, ranges: list[tuple[int, int]]) -> list[bytes]:
        """The id blobs whose stamps overlap any of ``ranges`` (new records usually overlap none)."""
        rows: dict[int, bytes] = {}
        for lo, hi in ranges:
            found = db.execute(
                "SELECT rowid, data FROM event_blobs WHERE ts_hi >= ? AND ts_lo <= ?", (lo, hi)
            )
            rows.update(found.fetchall())
        return [zlib.decompress(data) for data in rows.values()]

    @staticmethod
    def _fresh_losses(db: sqlite3.Connection, batch: Batch) -> tuple[dict[tuple[str, str], LossRow], int]:
        """The batch's loss rows plus its identified markers the state has not seen; how many it had."""
        losses = dict(batch.losses)
        if not batch.identified_losses:
            return losses, 0
        digests = list(dict.fromkeys(digest for digest, _ in batch.identified_losses))
        known: set[str] = set()
        for start in range(0, len(digests), 500):
            part = digests[start : start + 500]
            rows = db.execute(
                f"SELECT digest FROM loss_ids WHERE digest IN ({', '.join('?' * len(part))})", part
            )
            known.update(row[0] for row in rows)
        fresh = 0
        now = time.time()
        for digest, row in batch.identified_losses:
            if digest in known:
                continue
            known.add(digest)
            fresh += 1
            db.execute("INSERT INTO loss_ids (digest, seen) VALUES (?, ?)", (digest, now))
            old = losses.get((row.kind, row.location))
            losses[(row.kind, row.location)] = row if old is None else _merge_loss(old, row)
        return losses, len(batch.identified_losses) - fresh

    @staticmethod
    def _take_back_untrusted(db: sqlite3.Connection, upgrades: list[ObservationKey]) -> None:
        """The untrusted observation of each upgraded event loses it (and goes when it reaches 0)."""
        # The untrusted reading may have been attributed to another container than the trusted one (a
        # file read after the fact is not attributed at all): take the count from one such row, the
        # unattributed one first.
        keys = [(*key[:5], 0) for key in upgrades]
        where = "abi = ? AND number = ? AND comm = ? AND exe = ? AND action = ? AND trusted = ?"
        one = f"rowid = (SELECT rowid FROM observations WHERE {where} ORDER BY container != '' LIMIT 1)"
        db.executemany(f"UPDATE observations SET count = count - 1 WHERE {one}", keys)
        db.executemany(f"DELETE FROM observations WHERE count <= 0 AND {where}", keys)

    def prune_loss_ids(self, keep: int = MAX_LOSS_IDS) -> None:
        """Forget all but the ``keep`` newest loss-marker digests (event ids are all kept, as blobs)."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT seen FROM loss_ids ORDER BY seen DESC LIMIT 1 OFFSET ?", (keep,)
            ).fetchone()
            if row is not None:
                db.execute("DELETE FROM loss_ids WHERE seen <= ?", (row[0],))
        self._loss_ids_since_prune = 0

    def reset(self) -> None:
        """Forget everything learned (the file stays, with its schema)."""
        with self._transaction() as db:
            for table in ("observations", "event_ids", "event_blobs", "positions", "losses", "loss_ids",
                          "counters"):  # fmt: skip
                db.execute(f"DELETE FROM {table}")  # fixed table names
            self._set_meta("updated", repr(time.time()))

    def forget(self, name: str | None, *, number: int | None = None, abis: tuple[str, ...] = ()) -> int:
        """Delete the observations of syscall ``name`` (or ``number``) on ``abis`` (all when empty).

        Returns how many records (summed counts) were forgotten.
        """
        params: list[object] = [name if name is not None else number]
        where = "name = ?" if name is not None else "number = ?"
        if abis:
            where += f" AND abi IN ({', '.join('?' * len(abis))})"
            params.extend(abis)
        with self._transaction() as db:
            row = db.execute(f"SELECT coalesce(sum(count), 0) FROM observations WHERE {where}", params)
            removed = int(row.fetchone()[0])
            db.execute(f"DELETE FROM observations WHERE {where}", params)
            if removed:
                self._set_meta("updated", repr(time.time()))
        return removed

    # -- reading -------------------------------------------------------------------------------

    def observations(self) -> list[Observation]:
        """Every observation, sorted by (abi, number, comm, exe, action, trusted, container)."""
        rows = self._read(
            "SELECT abi, number, name, comm, exe, action, trusted, count, first_seen, last_seen, sample_pid, "
            "container, pod FROM observations ORDER BY abi, number, comm, exe, action, trusted, container"
        )
        return [
            Observation(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]), r[7], r[8], r[9], r[10], r[11], r[12])
            for r in rows
        ]

    def positions(self, kind: str | None = None) -> list[Position]:
        """Saved source positions (of one ``kind`` when given), sorted by kind and key."""
        sql = (
            "SELECT kind, key, dev, inode, offset, size, fingerprint, fingerprint_len, cursor, seq, "
            "complete, updated FROM positions"
        )
        rows = (
            self._read(sql + " WHERE kind = ? ORDER BY key", (kind,))
            if kind
            else self._read(sql + " ORDER BY kind, key")
        )
        return [
            Position(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], bool(r[10]), r[11])
            for r in rows
        ]

    def position(self, kind: str, key: str) -> Position | None:
        """The saved position of one source, if any."""
        return next((p for p in self.positions(kind) if p.key == key), None)

    def known_syscalls(self) -> set[tuple[str, int]]:
        """Every (abi, number) the state has, without reading its rows one by one."""
        return {(abi, number) for abi, number in self._read("SELECT DISTINCT abi, number FROM observations")}

    def untrusted_processes(self, limit: int) -> set[tuple[str, str]]:
        """Up to ``limit`` (comm, exe) pairs the state holds untrusted rows of."""
        rows = self._read("SELECT DISTINCT comm, exe FROM observations WHERE trusted = 0 LIMIT ?", (limit,))
        return {(comm, exe) for comm, exe in rows}

    def record_span(self) -> tuple[int, float | None, float | None]:
        """(records, first seen, last seen) over every observation, read as one aggregate."""
        rows = self._read("SELECT sum(count), min(first_seen), max(last_seen) FROM observations")
        records, first, last = rows[0] if rows else (None, None, None)
        return int(records or 0), first, last

    def losses(self) -> list[LossRow]:
        """Loss markers seen, by kind and location."""
        rows = self._read(
            "SELECT kind, location, markers, records, unknown_markers, first_seen, last_seen, sample "
            "FROM losses ORDER BY kind, location"
        )
        return [LossRow(*r) for r in rows]

    def counters(self) -> dict[tuple[str, str], int]:
        """Counters by (kind, reason): ``skipped``, ``filtered``, ``rejected``, ``duplicate``."""
        return {(k, r): n for k, r, n in self._read("SELECT kind, reason, count FROM counters ORDER BY 1, 2")}

    def event_id_count(self) -> int:
        """How many event ids the dedup memory holds."""
        rows = int(self._read("SELECT count(*) FROM event_ids")[0][0])
        if self._version < 4:
            return rows
        return rows + int(self._read("SELECT coalesce(sum(ids), 0) FROM event_blobs")[0][0])

    def meta(self, key: str) -> str | None:
        """A metadata value: ``created``, ``updated`` (seconds since the epoch, as text)."""
        rows = self._read("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    @property
    def last_update(self) -> float | None:
        """When the state was last written (seconds since the epoch)."""
        value = self.meta("updated")
        return float(value) if value is not None else None

    @property
    def schema_version(self) -> int:
        """The schema version of the file."""
        return int(self._read("PRAGMA user_version")[0][0])

    def _read(self, sql: str, params: tuple[object, ...] | list[object] = ()) -> list[Any]:
        try:
            return list(self._db.execute(sql, params))
        except sqlite3.Error as exc:
            raise StateError(f"cannot read state {str(self.path)!r}: {_describe(exc)}") from None


def _connect(path: Path, *, readonly: bool) -> sqlite3.Connection:
    _check_access(path, readonly=readonly)
    if readonly:
        if not path.exists():
            raise sqlite3.OperationalError("no such file (nothing has been learned yet)")
        # A read-write connection that refuses writes: as the last one to close it removes the WAL's
        # -wal and -shm files, which a mode=ro reader would leave behind. mode=ro only when the file
        # cannot be written.
        writable_dir = os.access(path.parent, os.W_OK) and not _read_only_fs(path.parent)
        mode = "rw" if os.access(path, os.W_OK) and writable_dir else "ro"
        uri = f"file:{_uri_path(path)}?mode={mode}"
        if not writable_dir and not Path(f"{path}-wal").exists():
            # A WAL database needs its -shm file, which nobody can create in this directory; without
            # a -wal file nobody is writing it either (a writer would need the same directory), so
            # it is read as an immutable file.
            uri += "&immutable=1"
        connection = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        connection.execute("PRAGMA query_only=ON")
    else:
        _create_private(path)
        connection = sqlite3.connect(str(path), isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return connection


def _check_access(path: Path, *, readonly: bool) -> None:
    """Say what is wrong with an existing path in words (SQLite says "unable to open database file"),
    and refuse a state this user should not trust, as ssh's StrictModes does.

    A state decides what a profile allows, so whoever can write it can widen every profile made from
    it: the file must be a regular file, not reached through a symlink, not writable by group or
    others, and owned by this user (for reading, root's own states are accepted too).
    """
    try:
        st = path.lstat()
    except FileNotFoundError:
        return
    except OSError as exc:  # EACCES: a directory on the way this user may not enter
        raise sqlite3.OperationalError(f"cannot reach it: {(exc.strerror or str(exc)).lower()}") from None
    if stat.S_ISDIR(st.st_mode):
        raise sqlite3.OperationalError("it is a directory")
    if stat.S_ISLNK(st.st_mode):
        raise StateError(f"state {str(path)!r} is a symbolic link: name the file it points at")
    if not stat.S_ISREG(st.st_mode):
        raise StateError(f"state {str(path)!r} is not a regular file (a device, FIFO or socket)")
    _check_owner(path, st, readonly=readonly)
    if not os.access(path, os.R_OK):
        raise sqlite3.OperationalError("permission denied (this user cannot read it)")


def _check_owner(path: Path, st: os.stat_result, *, readonly: bool) -> None:
    me = os.geteuid()
    trusted_owners = {me, 0} if readonly else {me}
    mode = stat.S_IMODE(st.st_mode)
    if st.st_uid in trusted_owners and not mode & (stat.S_IWGRP | stat.S_IWOTH):
        return
    why = "writable by group or others" if mode & (stat.S_IWGRP | stat.S_IWOTH) else "owned by another user"
    raise StateError(
        f"refusing state {str(path)!r}: {why} (owner uid {st.st_uid}, mode {mode:04o}; this user is uid "
        f"{me}): anyone who can write it decides what profiles allow. Use a state of your own, or "
        f"chown/chmod go-w it if it is yours"
    )


def _read_only_fs(directory: Path) -> bool:
    """The directory's file system is mounted read-only (``os.access`` says writable to root)."""
    try:
        return bool(os.statvfs(directory).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _uri_path(path: Path) -> str:
    from urllib.parse import quote

    return quote(str(path.resolve()))


def _create_private(path: Path) -> None:
    """Create the missing directories (mode 0700) and the file (mode 0600) if they do not exist yet.

    Called after ``_check_access``, which has refused a path that is a directory.
    """
    parent = path.parent
    if not parent.exists():
        # Every directory created on the way is private (mkdir's mode only reaches the last one): the
        # XDG base directory spec asks 0700 of $XDG_STATE_HOME, and a state reveals what ran here.
        missing = [d for d in (parent, *parent.parents) if not d.exists()]
        try:
            for directory in reversed(missing):
                try:
                    directory.mkdir(mode=0o700)
                except FileExistsError:
                    continue  # another learner made it meanwhile
                directory.chmod(0o700)  # mkdir's mode passes through the umask
        except OSError as exc:
            raise sqlite3.OperationalError(
                f"cannot create directory {str(parent)!r}: {exc.strerror}"
            ) from None
    if _read_only_fs(parent) or not os.access(parent, os.W_OK | os.X_OK):
        raise sqlite3.OperationalError(
            f"its directory {str(parent)!r} is read-only (learning writes a journal file beside the "
            "state); use a writable --state, or read it with status/emit"
        )
    if path.exists() and not os.access(path, os.W_OK):
        raise sqlite3.OperationalError(
            "permission denied (this user cannot write it; status and emit can still read it)"
        )
    if not path.exists():
        try:  # O_EXCL and O_NOFOLLOW: a file or link planted meanwhile is never adopted
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
        except FileExistsError:
            _check_access(path, readonly=False)  # another learner made it meanwhile: judged like any
        except OSError as exc:
            raise sqlite3.OperationalError(exc.strerror or str(exc)) from None


def _describe(exc: sqlite3.Error) -> str:
    text = str(exc)
    if "file is not a database" in text or "malformed" in text:
        return f"{text} (the file is corrupt or not a seccomp-gen state)"
    if "readonly" in text or "unable to open" in text:
        return f"{text} (check the permissions of the file and its directory)"
    if "full" in text:
        return f"{text} (free some space on its file system; what was learned before is kept)"
    return text


def _observation_row(key: ObservationKey, agg: Aggregate) -> tuple[object, ...]:
    abi, number, comm, exe, action, trusted, container = key
    return (abi, number, agg.name, comm, exe, action, int(trusted), agg.count, agg.first_seen,
            agg.last_seen, agg.sample_pid, container, agg.pod)  # fmt: skip


def _loss_row(row: LossRow) -> tuple[object, ...]:
    return (row.kind, row.location, row.markers, row.records, row.unknown_markers, row.first_seen,
            row.last_seen, row.sample[:500])  # fmt: skip


def _position_row(p: Position) -> tuple[object, ...]:
    return (p.kind, p.key, p.dev, p.inode, p.offset, p.size, p.fingerprint, p.fingerprint_len, p.cursor,
            p.seq, int(p.complete), p.updated if p.updated is not None else time.time())  # fmt: skip


# -- reading the state as a whole (``seccomp-gen status``) --------------------------------------


@dataclass(frozen=True, slots=True)
class AbiSummary:
    """One ABI: how many distinct syscalls, how many records."""

    abi: str
    syscalls: int
    records: int


@dataclass(frozen=True, slots=True)
class ProcessSummary:
    """One (comm, exe): how many distinct syscalls and records, and whether its learning looks done."""

    comm: str
    exe: str
    syscalls: int
    records: int
    seen_once: int = 0  # syscalls with exactly one record of this process
    first_seen: float | None = None
    last_seen: float | None = None
    last_new: float | None = None  # when this process's newest syscall was first seen

    @property
    def coverage(self) -> Coverage:
        """The process's figures as a ``Coverage``."""
        return Coverage(
            self.records, self.syscalls, self.seen_once, self.first_seen, self.last_seen, self.last_new
        )


@dataclass(frozen=True, slots=True)
class ContainerSummary:
    """One container (``runc:web-1``, ``host``; '' for records not attributed): its pod and counts."""

    container: str
    pod: str
    syscalls: int
    records: int
    processes: int


@dataclass(frozen=True, slots=True)
class SyscallSummary:
    """One syscall on one ABI, with its records summed over processes and actions."""

    abi: str
    number: int
    name: str | None
    records: int


@dataclass(frozen=True, slots=True)
class StateSummary:
    """Everything ``status`` shows."""

    path: str
    schema: int
    created: float | None
    updated: float | None
    abis: tuple[AbiSummary, ...]
    processes: tuple[ProcessSummary, ...]  # the SHOWN_ROWS with the most records
    positions: tuple[Position, ...]
    losses: tuple[LossRow, ...]
    unknown: tuple[SyscallSummary, ...]  # numbers no table knows (or without a known ABI)
    untrusted_only: tuple[SyscallSummary, ...]  # learned only from lines anyone could have written
    counters: dict[tuple[str, str], int]
    event_ids: int
    coverage: Coverage = field(default_factory=lambda: Coverage(0, 0, 0, None, None, None))
    containers: tuple[ContainerSummary, ...] = ()  # the SHOWN_ROWS with the most records
    # how many rows there are in all, where a list above shows at most SHOWN_ROWS of them
    totals: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        """Plain JSON-able values, stable key order."""
        from dataclasses import asdict

        return {
            "state": self.path,
            "schema": self.schema,
            "created": self.created,
            "updated": self.updated,
            "abis": [asdict(a) for a in self.abis],
            "coverage": self.coverage.to_json(),
            "containers": [asdict(c) for c in self.containers],
            "processes": [_process_json(p) for p in self.processes],
            "totals": dict(self.totals),
            "sources": [asdict(p) for p in self.positions],
            "losses": [asdict(row) for row in self.losses],
            "unknown_numbers": [asdict(s) for s in self.unknown],
            "untrusted_only": [asdict(s) for s in self.untrusted_only],
            "counters": {f"{kind}:{reason}": n for (kind, reason), n in sorted(self.counters.items())},
            "event_ids": self.event_ids,
        }


def _process_json(p: ProcessSummary) -> dict[str, object]:
    return {"comm": p.comm, "exe": p.exe, **p.coverage.to_json()}


SHOWN_ROWS = 200  # status lists at most this many processes, unknown and untrusted-only syscalls

# Per (abi, number): its records and when it was first seen; whole-state and per-process figures come
# from these in SQL, so that a state of a million forged processes is summed, not loaded.
_PER_SYSCALL = """
SELECT abi, number, max(name) AS name, sum(count) AS n, min(first_seen) AS first, max(last_seen) AS last,
       max(trusted) AS trusted
FROM observations GROUP BY abi, number
"""
_PER_PROCESS = """
SELECT comm, exe, count(*), sum(n), sum(n = 1), min(first), max(last), max(first)
FROM (SELECT comm, exe, abi, number, sum(count) AS n, min(first_seen) AS first, max(last_seen) AS last
      FROM observations GROUP BY comm, exe, abi, number)
GROUP BY comm, exe ORDER BY sum(n) DESC, comm, exe LIMIT ?
"""


def _scope(sql: str, scoped: bool) -> str:
    """``sql`` over the observations ``sg_keep`` keeps, when ``scoped``."""
    if not scoped:
        return sql
    return sql.replace("FROM observations", "FROM (SELECT * FROM observations WHERE sg_keep(container, pod))")


def coverage_of(store: Store, scoped: bool = False) -> Coverage:
    """The whole state's ``Coverage`` (of the kept containers, ``scoped``): is learning done?"""
    ((records, syscalls, once, first, last, last_new),) = store._read(
        "SELECT coalesce(sum(n), 0), count(*), coalesce(sum(n = 1), 0), min(first), max(last), max(first) "
        f"FROM ({_scope(_PER_SYSCALL, scoped)})"
    )
    return Coverage(int(records), int(syscalls), int(once), first, last, last_new)


def summarize(store: Store, keep: Callable[[str, str], bool] | None = None) -> StateSummary:
    """What ``status`` shows, summed by SQLite: memory stays flat whatever the state holds.

    ``keep(container, pod)``: only the observations it is true of (``status --container``).
    """
    scoped = keep is not None
    if keep is not None:
        store._db.create_function("sg_keep", 2, lambda c, p: bool(keep(c, p)), deterministic=True)
    per = f"({_scope(_PER_SYSCALL, scoped)})"
    abis = [AbiSummary(*row) for row in store._read(f"SELECT abi, count(*), sum(n) FROM {per} GROUP BY abi")]
    processes = [ProcessSummary(*row) for row in store._read(_scope(_PER_PROCESS, scoped), (SHOWN_ROWS,))]

    def syscalls_where(condition: str) -> tuple[list[SyscallSummary], int]:
        rows = store._read(
            f"SELECT abi, number, name, n FROM {per} WHERE {condition} ORDER BY abi, number LIMIT ?",
            (SHOWN_ROWS,),
        )
        ((total,),) = store._read(f"SELECT count(*) FROM {per} WHERE {condition}")
        return [SyscallSummary(*row) for row in rows], int(total)

    unknown, unknown_total = syscalls_where("name IS NULL")
    untrusted, untrusted_total = syscalls_where("trusted = 0")
    ((process_total,),) = store._read(
        _scope("SELECT count(*) FROM (SELECT 1 FROM observations GROUP BY comm, exe)", scoped)
    )
    containers = [
        ContainerSummary(*row)
        for row in store._read(
            _scope(
                "SELECT container, max(pod), count(DISTINCT abi || ':' || number), sum(count), "
                "count(DISTINCT comm || '/' || exe) FROM observations GROUP BY container "
                "ORDER BY sum(count) DESC, container LIMIT ?",
                scoped,
            ),
            (SHOWN_ROWS,),
        )
    ]
    ((container_total,),) = store._read(_scope("SELECT count(DISTINCT container) FROM observations", scoped))
    return StateSummary(
        path=str(store.path),
        schema=store.schema_version,
        created=float(store.meta("created") or 0) or None,
        updated=store.last_update,
        abis=tuple(abis),
        processes=tuple(processes),
        positions=tuple(store.positions()),
        losses=tuple(store.losses()),
        unknown=tuple(unknown),
        untrusted_only=tuple(untrusted),
        counters=store.counters(),
        event_ids=store.event_id_count(),
        coverage=coverage_of(store, scoped),
        containers=tuple(containers),
        totals={
            "processes": int(process_total),
            "containers": int(container_total),
            "unknown": unknown_total,
            "untrusted_only": untrusted_total,
        },
    )
