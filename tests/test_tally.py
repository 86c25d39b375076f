"""Learning by prototype (the C Tally) against learning record by record (PyTally): the same state.

``seccomp_gen.learn`` has the C loop count everyday records into a ``Tally`` by prototype and judges
every other record itself; without the accelerator it judges every record and keeps them in a
``PyTally``. Both must leave the same observations, counters, event ids and result.
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from seccomp_gen import _fastpath
from seccomp_gen.feedback import LearnResult
from seccomp_gen.learn import LearnOptions, LinesSource, learn_source
from seccomp_gen.sources import Source, SourceKind
from seccomp_gen.store import Store
from seccomp_gen.tally import PyTally, Tally, decode, encode
from tests._learn_support import kmsg, record, syslog
from tests.realpath import need

RECORDS = Path(__file__).resolve().parent / "data" / "records"
T0 = 1795888000.0


@pytest.fixture(autouse=True)
def _built() -> None:
    need(_fastpath.ACCEL is not None, f"needs the C accelerator: {_fastpath.accelerator_status()}")


def test_c_tally_equals_python_tally_on_random_batches() -> None:
    """Random records (duplicates, no ids, upgrades, stamps and pids missing) and known blobs."""
    accel = _fastpath.ACCEL
    assert accel is not None
    rng = random.Random(7)
    for _ in range(400):
        fast, slow = accel.Tally(), PyTally()
        slots = rng.randint(1, 6)
        trusted = bytes(rng.randint(0, 1) for _ in range(slots))
        known = {
            (rng.randint(0, 30), rng.randint(1, 30)): rng.randint(1, 2) for _ in range(rng.randint(0, 40))
        }
        blob = encode(sorted(known.items()))
        assert decode(blob) == sorted(known.items())
        for _ in range(rng.randint(0, 80)):
            stamp = rng.choice([None, rng.randint(0, 30) / 1.0])
            serial = rng.choice([0, rng.randint(1, 30)])
            values = (rng.randrange(slots), stamp, 0 if stamp is None else round(stamp * 1000), serial,
                      rng.choice([None, rng.randint(0, 9)]))  # fmt: skip
            fast.add(*values)
            slow.add(*values)
        most, gap = rng.randint(1, 4), rng.choice([0, 999, 5000])
        ranges = fast.ranges(most, gap)
        assert ranges == slow.ranges(most, gap)
        assert len(ranges) <= most
        blobs = [blob] if rng.random() < 0.7 else []
        drained = fast.drain(blobs, trusted, ranges)
        assert drained == slow.drain(blobs, trusted, ranges)
        assert len(fast) == len(slow) == 0
        for lo, hi, count, part in drained[2]:  # each blob within one range, its bounds its own ids'
            ids = decode(part)
            assert (len(ids), ids[0][0][0], ids[-1][0][0]) == (count, lo, hi)
            assert any(a <= lo and hi <= b for a, b in ranges)


@pytest.mark.parametrize("kind", ["python", "c"])
def test_ids_are_kept_per_range_cut_at_the_widest_gaps(kind: str) -> None:
    """A far-off stamp (a forger's year 2500, a clock's jump) gets a range, and a blob, of its own."""
    if kind == "c":
        need(_fastpath.ACCEL is not None, f"needs the C accelerator: {_fastpath.accelerator_status()}")
    tally: Tally = _fastpath.ACCEL.Tally() if kind == "c" and _fastpath.ACCEL is not None else PyTally()
    for stamp_ms, serial in [(1000, 1), (1001, 2), (5_000_000, 3), (9_000_000_000, 4), (1002, 0)]:
        tally.add(0, stamp_ms / 1000, stamp_ms, serial, None)
    assert tally.ranges(8, 600_000) == [(1000, 1001), (5_000_000, 5_000_000), (9_000_000_000, 9_000_000_000)]
    assert tally.ranges(2, 600_000) == [(1000, 5_000_000), (9_000_000_000, 9_000_000_000)]
    assert tally.ranges(8, 10**10) == [(1000, 9_000_000_000)]
    ranges = tally.ranges(8, 600_000)
    _sums, _duplicates, blobs = tally.drain([], b"\x01", ranges)
    assert [(lo, hi, count) for lo, hi, count, _blob in blobs] == [
        (1000, 1001, 2), (5_000_000, 5_000_000, 1), (9_000_000_000, 9_000_000_000, 1)
    ]  # fmt: skip


def test_a_malformed_blob_is_refused() -> None:
    accel = _fastpath.ACCEL
    assert accel is not None
    tally = accel.Tally()
    tally.add(0, 1.0, 1000, 1, None)
    for bad in (b"\x80", b"\x01", b"\x00\x00"):  # cut varint, odd count, serial 0
        with pytest.raises(ValueError, match="malformed"):
            tally.drain([bad], b"\x01", [])
        with pytest.raises(ValueError, match="malformed"):
            PyTally().drain([bad], b"\x01", [])


def _lines() -> list[str]:
    """Records of many shapes: every captured framing, varied processes, ids repeated, serial 0, a
    stamp past any date, forged kernel lines, noise, loss markers."""
    lines: list[str] = []
    for path in sorted(RECORDS.glob("captured-*.log")):
        lines += path.read_text(errors="surrogateescape").splitlines(keepends=True)
    rng = random.Random(3)
    names = [(f"app{n}", f"/usr/bin/app{n}") for n in range(40)]
    for serial in range(1, 3000):
        comm, exe = rng.choice(names)
        text = record(rng.choice([0, 1, 3, 59, 231, 999]), serial=rng.choice([serial, serial, 0]),
                      ts=T0 + serial / 100, comm=comm, exe=exe, pid=rng.randint(1, 99),
                      uid=rng.choice([0, 1000]))  # fmt: skip
        lines.append(kmsg(text, serial) if serial % 3 else syslog(text, host=rng.choice(["vm", "node2"])))
        if serial % 7 == 0:
            lines.append(syslog(text))  # the same event again (another transport)
        if serial % 500 == 0:
            lines.append(syslog(record(2, serial=serial, ts=1e13)))  # a date no record has
            lines.append(f"2026-11-28T17:48:12+00:00 vm kernel[42]: {text}\n")  # forged: kernel has no pid
            lines.append("2026-11-28T17:48:12+00:00 vm kubelet: audit-pod ready\n")
            lines.append("5,9,22242881695,-;kauditd_printk_skb: 3 callbacks suppressed\n")
    now = time.time()  # live records of this process: attributed (to the host) through /proc
    lines += [kmsg(record(39, serial=10_000 + n, ts=now, pid=os.getpid()), 10_000 + n) for n in range(20)]
    return lines


def _run(state: Path, lines: list[str], kind: SourceKind, options: LearnOptions) -> LearnResult:
    with Store.open(state) as store:
        source: Source = LinesSource(iter(lines), kind, "lines")
        return learn_source(store, source, options)


def _dump(state: Path) -> tuple[object, ...]:
    db = sqlite3.connect(f"file:{state}?mode=ro", uri=True)
    try:
        return (
            sorted(db.execute("SELECT * FROM observations")),
            sorted(db.execute("SELECT * FROM counters")),
            sorted(db.execute("SELECT kind, location, markers, records FROM losses")),
        )
    finally:
        db.close()


def _summary(result: LearnResult) -> tuple[Any, ...]:
    return (result.lines, result.records, result.learned, result.duplicates, result.untrusted,
            result.filtered, result.rejected, result.skipped, result.capped, result.unattributed,
            [(n.abi, n.number, n.comm, n.trusted) for n in result.new_syscalls], result.warnings)  # fmt: skip


def _learn_twice(state: Path, lines: list[str], options: LearnOptions) -> Iterator[tuple[Any, ...]]:
    """Learn the lines as untrusted stdin, then as a kmsg source (upgrades), then again (duplicates)."""
    with Store.open(state) as store:
        ids_before = store.event_id_count()
    assert ids_before == 0
    for kind in (SourceKind.STDIN, SourceKind.KMSG, SourceKind.KMSG):
        yield _summary(_run(state, lines, kind, options))
    with Store.open(state) as store:
        yield (store.event_id_count(),)
    yield _dump(state)


@pytest.mark.parametrize(
    "options",
    [
        pytest.param(LearnOptions(attribute=False), id="plain"),
        pytest.param(LearnOptions(attribute=False, batch_records=97), id="small batches"),
        pytest.param(LearnOptions(attribute=False, comm=("app1*",), uid=(0,)), id="filters"),
        pytest.param(LearnOptions(), id="attribution (records read after the fact)"),
        pytest.param(LearnOptions(container=("host",)), id="container filter"),
        pytest.param(LearnOptions(attribute=False, pid=(5, 6, 7)), id="pid filter: record by record"),
    ],
)
def test_learning_by_prototype_equals_learning_record_by_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, options: LearnOptions
) -> None:
    lines = _lines()
    fast = list(_learn_twice(tmp_path / "c.db", lines, options))
    monkeypatch.setattr(_fastpath, "ACCEL", None)
    slow = list(_learn_twice(tmp_path / "py.db", lines, options))
    assert fast == slow
    assert fast[0][1] > 3000  # records were read
    if options.container:
        return
    assert fast[1][3] > 0  # the kmsg read upgraded what stdin read
    # the third read counted only the records without an id again (serial 0: as many as the second did)
    assert fast[2][2] == fast[1][2] < fast[2][3]


def test_untrusted_process_cap_is_the_same_by_prototype(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from seccomp_gen import learner, store

    monkeypatch.setattr(learner, "UNTRUSTED_PROCESSES_MAX", 10)
    monkeypatch.setattr(store, "UNTRUSTED_PROCESSES_MAX", 10)
    lines = [syslog(record(1, serial=n, comm=f"p{n % 30}", exe=f"/p{n % 30}")) for n in range(1, 400)]
    options = LearnOptions(attribute=False)
    fast = _summary(_run(tmp_path / "c.db", lines, SourceKind.STDIN, options)), _dump(tmp_path / "c.db")
    monkeypatch.setattr(_fastpath, "ACCEL", None)
    slow = _summary(_run(tmp_path / "py.db", lines, SourceKind.STDIN, options)), _dump(tmp_path / "py.db")
    assert fast == slow
    assert fast[0][8] == {"untrusted-processes": 399 - sum(1 for n in range(1, 400) if n % 30 < 10)}
