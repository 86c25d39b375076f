"""The learned state: SQLite, one file, WAL; its tables and their migrations are ``seccomp_gen.schema``'s.

What is stored are aggregates, never raw lines: one row per (ABI, syscall number, comm, exe, action,
trust, container) with a count, first and last seen and a sample pid; source positions (file offsets,
the journald cursor, the last /dev/kmsg sequence number); losses by kind and place; counters of
skipped, filtered, rejected and duplicate records; and the ids (timestamp + serial) of every event
seen, in compressed blobs, so one event read twice (or through two transports) is counted once, and
digests of stamped loss markers, so a re-read file's losses are counted once too.

Every write goes through ``Store.write`` with a ``Batch``: one ``BEGIN IMMEDIATE`` transaction, so a
batch is atomic and two learners on one file take turns (``busy_timeout``) instead of failing.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple

from seccomp_gen.errors import StateError
from seccomp_gen.observations import (
    Aggregate,
    Batch,
    CounterKind,
    LossRow,
    Observation,
    ObservationKey,
    SlotTarget,
    WriteResult,
    merge_loss,
)
from seccomp_gen.schema import (
    APPLICATION_ID,
    INSERT_BLOB,
    MIGRATIONS,
    SCHEMA_VERSION,
    UPSERT_COUNTER,
    UPSERT_LOSS,
    UPSERT_OBSERVATION,
    UPSERT_POSITION,
    blob_row,
    loss_row,
    move_event_ids,
    observation_row,
    position_row,
)
from seccomp_gen.sources import Position, SourceKind
from seccomp_gen.statefile import BUSY_TIMEOUT_MS, connect, describe
from seccomp_gen.tally import PyTally, Tally

MAX_LOSS_IDS = 100_000  # dedup memory of loss markers: the newest (by when they were first written)


# Distinct (comm, exe) pairs of untrusted rows a state keeps. Anyone can write syslog lines, each naming
# a process of their choosing: past this many, records of new pairs are counted under OVER_CAP instead,
# so that a flood of forged processes cannot grow the state (or what reads it) without bound. Their
# syscalls are still learned (untrusted, as they were).
UNTRUSTED_PROCESSES_MAX = 4_096
# A batch's ids are looked up and kept per range of their stamps, cut at gaps over ID_GAP_MS, at most
# ID_RANGES of them: a record with a far-off stamp (a forger's, or a clock's jump) makes neither this
# batch load every blob between nor its blob overlap every later batch.
ID_RANGES = 8
ID_GAP_MS = 10 * 60 * 1000


class _Target(NamedTuple):
    key: ObservationKey
    name: str | None
    pod: str


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
        trusted.append(record.key.trusted)
    return tally, slots, trusted


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
            connection = connect(path, readonly=readonly)
        except sqlite3.Error as exc:
            raise StateError(f"cannot open state {str(path)!r}: {exc}") from None
        store = cls(path, connection, readonly=readonly)
        try:
            store._prepare_waiting()
        except sqlite3.Error as exc:
            connection.close()
            raise StateError(f"cannot use state {str(path)!r}: {describe(exc)}") from None
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
                for statement in MIGRATIONS[step].split(";"):
                    if statement.strip():
                        self._db.execute(statement)
            if 0 < max(version, current) < 4:
                move_event_ids(self._db)
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
            raise StateError(f"cannot write state {str(self.path)!r}: {describe(exc)}") from None

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
        with self._transaction() as db:
            self._settle(db, batch)
            aggregates, upgrades, duplicates = batch.aggregates, batch.upgrades, batch.duplicates
            db.executemany(INSERT_BLOB, [blob_row(*blob) for blob in batch.id_blobs])
            db.executemany(UPSERT_OBSERVATION, [observation_row(k, a) for k, a in aggregates.items()])
            self._take_back_untrusted(db, upgrades)
            losses, known_losses = self._fresh_losses(db, batch)
            db.executemany(UPSERT_LOSS, [loss_row(row) for row in losses.values()])
            counters = dict(batch.counters)
            if duplicates:
                counters[(CounterKind.DUPLICATE, "event-id")] = (
                    counters.get((CounterKind.DUPLICATE, "event-id"), 0) + duplicates
                )
            if known_losses:
                counters[(CounterKind.DUPLICATE, "loss-marker")] = (
                    counters.get((CounterKind.DUPLICATE, "loss-marker"), 0) + known_losses
                )
            db.executemany(UPSERT_COUNTER, [(k, r, n) for (k, r), n in counters.items()])
            db.executemany(UPSERT_POSITION, [position_row(p) for p in batch.positions.values()])
            self._set_meta("updated", repr(time.time()))
        self._loss_ids_since_prune += len(batch.identified_losses)
        if self._loss_ids_since_prune > MAX_LOSS_IDS // 10:
            self.prune_loss_ids()
        records = sum(a.count for a in aggregates.values()) - len(upgrades)
        keys = tuple((k, a.name) for k, a in aggregates.items())
        return WriteResult(records, duplicates + len(upgrades), keys)

    def _settle(self, db: sqlite3.Connection, batch: Batch) -> None:
        """Drain the batch's tallied and identified records into its aggregates, new ids and upgrades.

        What an earlier, failed write of this batch settled stays and counts as known, so that a
        retry neither loses those records nor counts them twice.
        """
        tally, slots, trusted = _tally_of(batch)
        batch.identified = []  # in the tally now
        if not len(tally):
            return
        ranges = tally.ranges(ID_RANGES, ID_GAP_MS)
        known = self._known_ids(db, ranges) + [blob for *_, blob in batch.id_blobs]
        sums, duplicates, blobs = tally.drain(known, trusted, ranges)
        for slot, count, upgraded, first, last, pid in sums:
            target = slots[slot]
            key = target.key
            assert key is not None  # only slots that keep records have records in the tally
            agg = batch.aggregates.get(key)
            if agg is None:
                agg = batch.aggregates[key] = Aggregate(target.name, pod=target.pod)
            agg.merge(count, first, last, pid)
            batch.upgrades.extend([key] * upgraded)
        batch.id_blobs.extend(blobs)
        batch.duplicates += duplicates

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
            losses[(row.kind, row.location)] = row if old is None else merge_loss(old, row)
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

    def positions(self, kind: SourceKind | None = None) -> list[Position]:
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
        kinds = {k.value: k for k in SourceKind}  # a row of a kind this version does not know is left out
        return [
            Position(kinds[r[0]], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], bool(r[10]), r[11])
            for r in rows
            if r[0] in kinds
        ]

    def position(self, kind: SourceKind, key: str) -> Position | None:
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
            raise StateError(f"cannot read state {str(self.path)!r}: {describe(exc)}") from None
