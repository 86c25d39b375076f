"""The state's tables by version (``PRAGMA user_version``), the steps between, the statements writing rows.

``MIGRATIONS[n]`` holds the statements that take a state from version n - 1 to n; ``Store`` runs the
ones a file lacks in one transaction when it opens the file for writing. A reader never migrates.
"""

from __future__ import annotations

import sqlite3
import time
import zlib
from typing import TYPE_CHECKING

from seccomp_gen.observations import I64_MAX, RUNNING_TOTAL, Aggregate, LossRow, ObservationKey
from seccomp_gen.tally import encode as encode_ids

if TYPE_CHECKING:
    from seccomp_gen.sources import Position

SCHEMA_VERSION = 4
APPLICATION_ID = 0x53434D50  # "SCMP": marks a file as a seccomp-gen state

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
MIGRATIONS: dict[int, str] = {1: _SCHEMA_V1, 2: _SCHEMA_V2, 3: _SCHEMA_V3, 4: _SCHEMA_V4}
BLOB_IDS = 200_000  # ids per blob when older states' rows are moved into blobs
# zlib's level for the event id blobs: measured on 500,000 auditd ids, level 1 takes a tenth of level
# 6's time (10 vs 99 ms) for 8 % more bytes (0.82 vs 0.76 bytes an id).
BLOB_LEVEL = 1

INSERT_BLOB = "INSERT INTO event_blobs (ts_lo, ts_hi, ids, data) VALUES (?, ?, ?, ?)"


def blob_row(lo: int, hi: int, count: int, blob: bytes) -> tuple[int, int, int, bytes]:
    """One ``event_blobs`` row: the stamps of its first and last id, how many, the blob compressed."""
    return lo, hi, count, zlib.compress(blob, BLOB_LEVEL)


def move_event_ids(db: sqlite3.Connection) -> None:
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
            db.execute(INSERT_BLOB, blob_row(ids[0][0][0], ids[-1][0][0], len(ids), blob))
    db.execute("DELETE FROM event_ids")


# -- writing rows ------------------------------------------------------------------------------


def _saturating_sum(column: str) -> str:
    """``column + excluded.column`` in SQL, stopping at the largest integer instead of overflowing."""
    new = f"excluded.{column}"
    return f"CASE WHEN {column} > {I64_MAX} - {new} THEN {I64_MAX} ELSE {column} + {new} END"


UPSERT_OBSERVATION = """
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
UPSERT_LOSS = """
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
UPSERT_COUNTER = """
INSERT INTO counters (kind, reason, count) VALUES (?, ?, ?)
ON CONFLICT (kind, reason) DO UPDATE SET count = {count}
""".format(count=_saturating_sum("count"))
UPSERT_POSITION = """
INSERT OR REPLACE INTO positions (kind, key, dev, inode, offset, size, fingerprint, fingerprint_len, cursor,
                                  seq, complete, updated)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""


def observation_row(key: ObservationKey, agg: Aggregate) -> tuple[object, ...]:
    """The ``observations`` row of an aggregate, in ``UPSERT_OBSERVATION``'s order."""
    abi, number, comm, exe, action, trusted, container = key
    return (abi, number, agg.name, comm, exe, action, int(trusted), agg.count, agg.first_seen,
            agg.last_seen, agg.sample_pid, container, agg.pod)  # fmt: skip


def loss_row(row: LossRow) -> tuple[object, ...]:
    """The ``losses`` row, in ``UPSERT_LOSS``'s order (its sample cut to 500 characters)."""
    return (row.kind, row.location, row.markers, row.records, row.unknown_markers, row.first_seen,
            row.last_seen, row.sample[:500])  # fmt: skip


def position_row(p: Position) -> tuple[object, ...]:
    """The ``positions`` row, in ``UPSERT_POSITION``'s order (stamped now when it has no time)."""
    return (p.kind, p.key, p.dev, p.inode, p.offset, p.size, p.fingerprint, p.fingerprint_len, p.cursor,
            p.seq, int(p.complete), p.updated if p.updated is not None else time.time())  # fmt: skip
