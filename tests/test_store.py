"""The state database on its own: schema, atomic batches, dedup memory, positions, bad files."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
import threading
from pathlib import Path
from typing import NamedTuple

import pytest

from seccomp_gen import _fastpath
from seccomp_gen.errors import StateError
from seccomp_gen.observations import (
    Aggregate,
    Batch,
    CounterKind,
    IdentifiedRecord,
    LossRow,
    Observation,
    ObservationKey,
)
from seccomp_gen.records import new_tally
from seccomp_gen.schema import SCHEMA_VERSION
from seccomp_gen.sources import Position, SourceKind
from seccomp_gen.store import Store
from seccomp_gen.tally import PyTally

OPENAT: ObservationKey = ObservationKey("x86_64", 257, "http-echo", "/usr/bin/http-echo", "LOG", True, "")
READ: ObservationKey = ObservationKey("x86_64", 0, "http-echo", "/usr/bin/http-echo", "LOG", True, "")


def _batch(*items: tuple[ObservationKey, str, int, float]) -> Batch:
    batch = Batch()
    for key, name, count, ts in items:
        agg = batch.aggregates.setdefault(key, Aggregate(name))
        agg.add(ts, 42, count)
    return batch


def _ident(ts_ms: int, serial: int, key: ObservationKey = OPENAT) -> IdentifiedRecord:
    return IdentifiedRecord(ts_ms, serial, key, "openat", ts_ms / 1000, 7)


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "sub" / "dir" / "state.db"


def test_new_state_is_private_wal_and_versioned(state: Path) -> None:
    Store.open(state).close()
    assert stat.S_IMODE(state.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    db = sqlite3.connect(state)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_existing_parent_directory_keeps_its_mode(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    Store.open(tmp_path / "state.db").close()
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o755


def test_batches_add_up(state: Path) -> None:
    with Store.open(state) as store:
        store.write(_batch((OPENAT, "openat", 2, 100.0), (READ, "read", 1, 50.0)))
        store.write(_batch((OPENAT, "openat", 3, 90.0)))
        store.write(_batch((OPENAT, "openat", 1, 120.0)))
    with Store.open(state, readonly=True) as store:
        exe = "/usr/bin/http-echo"
        assert store.observations() == [
            Observation("x86_64", 0, "read", "http-echo", exe, "LOG", True, 1, 50.0, 50.0, 42),
            Observation("x86_64", 257, "openat", "http-echo", exe, "LOG", True, 6, 90.0, 120.0, 42),
        ]


def test_trust_is_part_of_the_key(state: Path) -> None:
    untrusted: ObservationKey = ObservationKey(
        "x86_64", 257, "http-echo", "/usr/bin/http-echo", "LOG", False, ""
    )
    with Store.open(state) as store:
        store.write(_batch((OPENAT, "openat", 1, 1.0), (untrusted, "openat", 1, 1.0)))
        assert sorted(o.trusted for o in store.observations()) == [False, True]


@pytest.mark.parametrize(
    ("batches", "expected_count", "expected_dups"),
    [
        pytest.param([[(1000, 5)], [(1000, 5)]], 1, 1, id="same id in two batches"),
        pytest.param([[(1000, 5), (1000, 5)]], 1, 1, id="same id twice in one batch"),
        pytest.param([[(1000, 5), (1000, 6), (1001, 5)]], 3, 0, id="serial or time differ"),
    ],
)
def test_event_ids_count_once(
    state: Path, batches: list[list[tuple[int, int]]], expected_count: int, expected_dups: int
) -> None:
    with Store.open(state) as store:
        for ids in batches:
            batch = Batch(identified=[_ident(ts, serial) for ts, serial in ids])
            store.write(batch)
        assert store.observations()[0].count == expected_count
        assert store.counters().get(("duplicate", "event-id"), 0) == expected_dups


def test_write_result_reports_duplicates(state: Path) -> None:
    with Store.open(state) as store:
        first = store.write(Batch(identified=[_ident(1, 1), _ident(2, 2)]))
        second = store.write(Batch(identified=[_ident(2, 2), _ident(3, 3)]))
    assert (first.records, first.duplicates) == (2, 0)
    assert (second.records, second.duplicates) == (1, 1)


def test_event_ids_are_never_forgotten(state: Path) -> None:
    """No window: the oldest id of many batches is still known (it was pruned at 500,000 before)."""
    with Store.open(state) as store:
        for batch in range(20):
            store.write(
                Batch(identified=[_ident(1000 * batch + i, 1 + 1000 * batch + i) for i in range(1000)])
            )
        assert store.event_id_count() == 20_000
        again = store.write(Batch(identified=[_ident(0, 1), _ident(19_999, 20_000), _ident(20_000, 20_001)]))
    assert (again.records, again.duplicates) == (1, 2)


def test_event_ids_overlapping_batches_are_checked_exactly(state: Path) -> None:
    """A batch whose stamps overlap an earlier one is checked id by id: only the ids seen are dropped."""
    with Store.open(state) as store:
        store.write(Batch(identified=[_ident(ts, ts + 1) for ts in range(0, 100, 2)]))
        result = store.write(Batch(identified=[_ident(ts, ts + 1) for ts in range(1, 100)]))
        assert (result.records, result.duplicates) == (50, 49)
        assert store.event_id_count() == 100


def test_a_far_off_stamp_gets_a_blob_of_its_own(state: Path) -> None:
    """One record stamped in the year 2500 among today's: the batch's ids are kept in two blobs with
    tight bounds, so a later batch of today's records overlaps, and loads, only today's."""
    today = 1_795_888_000_000
    with Store.open(state) as store:
        store.write(
            Batch(identified=[*(_ident(today + i, 1 + i) for i in range(100)), _ident(16_725_225_600_000, 7)])
        )
        result = store.write(Batch(identified=[_ident(today + 50, 51), _ident(today + 5000, 5001)]))
        assert (result.records, result.duplicates) == (1, 1)
    with sqlite3.connect(state) as db:
        rows = db.execute("SELECT ts_lo, ts_hi, ids FROM event_blobs ORDER BY ts_lo").fetchall()
    assert rows == [
        (today, today + 99, 100),
        (today + 5000, today + 5000, 1),
        (16_725_225_600_000,) * 2 + (1,),
    ]


def test_positions_losses_counters_round_trip(state: Path) -> None:
    pos = Position(SourceKind.FILE, "/var/log/syslog", 1, 2, 300, 400, "abc", 64, updated=5.0)
    batch = Batch(positions={("file", pos.key): pos})
    batch.add_loss(LossRow("printk-suppressed", "kmsg", 1, 12, 0, 1.0, 1.0, "a"))
    batch.add_loss(LossRow("printk-suppressed", "kmsg", 1, 0, 1, 3.0, 3.0, "b"))
    batch.count(CounterKind.SKIPPED, "other-type", 7)
    batch.count(CounterKind.FILTERED, "comm", 2)
    with Store.open(state) as store:
        store.write(batch)
        store.write(Batch(counters={("skipped", "other-type"): 3}))
        assert store.position(SourceKind.FILE, "/var/log/syslog") == pos
        assert type(store.positions()[0].kind) is SourceKind  # read back as the enum, not a bare str
        assert store.losses() == [LossRow("printk-suppressed", "kmsg", 2, 12, 1, 1.0, 3.0, "b")]
        assert store.counters() == {("filtered", "comm"): 2, ("skipped", "other-type"): 10}
        assert store.last_update is not None


def test_forget_and_reset(state: Path) -> None:
    with Store.open(state) as store:
        store.write(_batch((OPENAT, "openat", 3, 1.0), (READ, "read", 1, 1.0)))
        assert store.forget("openat") == 3
        assert store.forget("openat") == 0
        assert [o.name for o in store.observations()] == ["read"]
        assert store.forget(None, number=0, abis=("i386",)) == 0
        store.reset()
        assert store.observations() == []


def test_two_connections_write_concurrently(state: Path) -> None:
    Store.open(state).close()

    def writer(serial_base: int) -> None:
        with Store.open(state) as store:
            for i in range(40):
                store.write(Batch(identified=[_ident(1000 + i, serial_base + i)]))

    threads = [threading.Thread(target=writer, args=(base,)) for base in (0, 1000)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with Store.open(state, readonly=True) as store:
        assert store.observations()[0].count == 80


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_newer_schema_is_refused_and_left_alone(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    Store.open(state).close()
    db = sqlite3.connect(state)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.close()
    before = _sha(state)
    with pytest.raises(StateError, match="newer than this seccomp-gen"):
        Store.open(state)
    assert _sha(state) == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(b"this is not a database at all\n" * 100, "not a database", id="text file"),
        pytest.param(b"SQLite format 3\x00" + b"\xff" * 4000, "state", id="corrupt header"),
    ],
)
def test_corrupt_file_is_a_state_error(tmp_path: Path, content: bytes, message: str) -> None:
    state = tmp_path / "state.db"
    state.write_bytes(content)
    with pytest.raises(StateError, match=message):
        Store.open(state)
    assert state.read_bytes() == content


def test_foreign_sqlite_file_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "other.db"
    db = sqlite3.connect(state)
    db.execute("CREATE TABLE songs (title TEXT)")
    db.commit()
    db.close()
    with pytest.raises(StateError, match="not a seccomp-gen state"):
        Store.open(state)


@pytest.mark.parametrize(
    "where",
    [
        pytest.param("/proc/seccomp-gen-test/state.db", id="uncreatable directory"),
        pytest.param("DIR", id="path is a directory"),
    ],
)
def test_unusable_path_is_a_state_error(tmp_path: Path, where: str) -> None:
    path = tmp_path if where == "DIR" else Path(where)
    with pytest.raises(StateError, match=str(path)):
        Store.open(path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_read_only_directory_is_a_state_error(tmp_path: Path) -> None:
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(StateError):
            Store.open(tmp_path / "state.db")
    finally:
        tmp_path.chmod(0o700)


def test_readonly_open_of_missing_state(tmp_path: Path) -> None:
    with pytest.raises(StateError, match="nothing has been learned"):
        Store.open(tmp_path / "none.db", readonly=True)
    assert not (tmp_path / "none.db").exists()


def test_readonly_store_refuses_writes(state: Path) -> None:
    Store.open(state).close()
    with Store.open(state, readonly=True) as store, pytest.raises(StateError, match="read-only"):
        store.write(_batch((OPENAT, "openat", 1, 1.0)))


def _trust(ts_ms: int, trusted: bool) -> IdentifiedRecord:
    key: ObservationKey = ObservationKey("x86_64", 257, "cat", "/bin/cat", "LOG", trusted, "")
    return IdentifiedRecord(ts_ms, 1, key, "openat", None, None)


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        pytest.param(False, True, [(True, 2)], id="trusted re-read moves the untrusted count"),
        pytest.param(True, False, [(True, 2)], id="untrusted re-read of a trusted event is a duplicate"),
        pytest.param(False, False, [(False, 2)], id="untrusted twice stays untrusted"),
    ],
)
def test_trusted_reread_upgrades_an_untrusted_event(
    state: Path, first: bool, second: bool, expected: list[tuple[bool, int]]
) -> None:
    with Store.open(state) as store:
        store.write(Batch(identified=[_trust(1, first), _trust(2, first)]))
        result = store.write(Batch(identified=[_trust(1, second), _trust(2, second)]))
        assert [(o.trusted, o.count) for o in store.observations()] == expected
    assert (result.records, result.duplicates) == (0, 2)


def test_partial_upgrade_keeps_the_rest_untrusted(state: Path) -> None:
    with Store.open(state) as store:
        store.write(Batch(identified=[_trust(1, False), _trust(2, False)]))
        store.write(Batch(identified=[_trust(2, True)]))
        assert [(o.trusted, o.count) for o in store.observations()] == [(False, 1), (True, 1)]


def test_a_version_1_state_is_migrated_and_keeps_what_it_learned(tmp_path: Path) -> None:
    from seccomp_gen.schema import _SCHEMA_V1

    state = tmp_path / "v1.db"
    db = sqlite3.connect(state)
    db.executescript(_SCHEMA_V1)
    db.execute(
        "INSERT INTO observations VALUES ('x86_64', 257, 'openat', 'cat', '/bin/cat', 'LOG', 1, 3, 1, 2, 9)"
    )
    db.execute("PRAGMA application_id=0x53434D50")
    db.execute("PRAGMA user_version=1")
    db.commit()
    db.close()
    with Store.open(state) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert [(o.name, o.count) for o in store.observations()] == [("openat", 3)]
        batch = Batch()
        batch.identified_losses.append(("d1", LossRow("printk-suppressed", "f", 1, 4, 0)))
        store.write(batch)
        store.write(batch)  # the same marker again
        assert [(r.markers, r.records) for r in store.losses()] == [(1, 4)]
        assert store.counters()[("duplicate", "loss-marker")] == 1


def test_a_batch_that_fails_half_way_writes_nothing(state: Path) -> None:
    with Store.open(state) as store:
        store.write(_batch((OPENAT, "openat", 1, 1.0)))
        before = (store.observations(), store.counters(), store.positions())
        bad = _batch((OPENAT, "openat", 5, 2.0), (READ, "read", 1, 2.0))
        bad.count(CounterKind.SKIPPED, "noise", 3)
        bad.positions[("file", "/x")] = Position(SourceKind.FILE, "/x", offset=10)
        bad.add_loss(LossRow(None, "here", 1, 1, 0))  # type: ignore[arg-type]  # NOT NULL: fails last
        with pytest.raises(StateError, match="cannot write state"):
            store.write(bad)
        assert (store.observations(), store.counters(), store.positions()) == before
        store.write(_batch((READ, "read", 1, 3.0)))  # and the store still takes the next batch
        assert [o.name for o in store.observations()] == ["read", "openat"]


class _Slot(NamedTuple):
    key: ObservationKey
    name: str
    pod: str = ""


@pytest.mark.parametrize("kind", ["c", "python"])
def test_a_failed_write_keeps_its_tallied_records_for_the_retry(state: Path, kind: str) -> None:
    """A write that fails after draining the tally (the disk filled up) loses nothing: written again,
    the batch counts each of its records once, with its position, and their ids are known after."""
    if kind == "c" and _fastpath.ACCEL is None:
        pytest.skip(f"needs the C accelerator: {_fastpath.accelerator_status()}")
    tally = new_tally() if kind == "c" else PyTally()
    with Store.open(state) as store:
        batch = Batch(tally=tally, slots=[_Slot(OPENAT, "openat"), _Slot(READ, "read")], trusted=b"\x01\x01")
        for i in range(100):
            tally.add(i % 2, 1.0 + i, 1000 + i, 1 + i, 7)
        batch.identified.append(_ident(5000, 500))
        batch.positions[("file", "/x")] = Position(SourceKind.FILE, "/x", offset=10)
        batch.add_loss(LossRow(None, "here", 1, 1, 0))  # type: ignore[arg-type]  # NOT NULL: fails last
        with pytest.raises(StateError, match="cannot write state"):
            store.write(batch)
        assert (store.observations(), store.positions()) == ([], [])
        assert len(tally) == 0  # drained: only the batch holds those records now
        batch.losses.clear()  # room again
        result = store.write(batch)
        assert (result.records, result.duplicates) == (101, 0)
        assert {o.name: o.count for o in store.observations()} == {"openat": 51, "read": 50}
        assert [p.offset for p in store.positions()] == [10]
        again = Batch(tally=tally, slots=batch.slots, trusted=batch.trusted)
        tally.add(0, 1.0, 1000, 1, 7)
        assert (store.write(again).records, store.event_id_count()) == (0, 101)


def test_a_position_of_a_kind_this_version_does_not_know_is_left_out(state: Path) -> None:
    with Store.open(state) as store:
        store.write(Batch(positions={("kmsg", "boot"): Position(SourceKind.KMSG, "boot", seq=7)}))
    db = sqlite3.connect(state)
    db.execute("INSERT INTO positions (kind, key, complete, updated) VALUES ('pcap', 'eth0', 0, 1.0)")
    db.commit()
    db.close()
    with Store.open(state, readonly=True) as store:
        assert [(p.kind, p.key, p.seq) for p in store.positions()] == [(SourceKind.KMSG, "boot", 7)]
