"""The learn library: filters, trust, de-duplication, unknown numbers, losses, feedback."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from seccomp_gen.actions import Action, ActionFilter, ActionKind
from seccomp_gen.events import LossKind, SeccompEvent, Transport
from seccomp_gen.feedback import LearnResult, LossReport, NewSyscall, Reporter
from seccomp_gen.inputs import SourceSpec, open_sources
from seccomp_gen.learn import LearnOptions, learn_lines, learn_source
from seccomp_gen.sources import SourceKind, StopFlag
from seccomp_gen.store import Store
from seccomp_gen.syscalls import resolve_syscall
from seccomp_gen.trust import trust_of
from tests._learn_support import ERRNO_EPERM, KILL_PROCESS, TS, kmsg, record, syslog

CAPTURED = Path(__file__).parent / "data" / "captured"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "state.db")
    yield opened
    opened.close()


def _names(store: Store) -> list[str | None]:
    return sorted({o.name for o in store.observations()}, key=str)


FILTER_LINES = [
    syslog(record(0, serial=1, comm="http-echo", exe="/usr/bin/http-echo", pid=10, uid=1000)),
    syslog(record(1, serial=2, comm="sh", exe="/bin/sh", pid=11, uid=0, code=ERRNO_EPERM)),
    syslog(
        record(2, serial=3, comm="curl", exe="/usr/bin/curl", pid=12, uid=0, subj="unconfined", ts=TS + 100)
    ),
    syslog(record(3, serial=4, comm="sh", exe="/bin/sh", pid=13, uid=0, code=KILL_PROCESS, ts=TS + 200)),
]


@pytest.mark.parametrize(
    ("options", "kept", "filtered"),
    [
        pytest.param(LearnOptions(), ["close", "open", "read", "write"], {}, id="no filter keeps all"),
        pytest.param(LearnOptions(comm=("http-*",)), ["read"], {"comm": 3}, id="comm glob"),
        pytest.param(LearnOptions(exe=("/bin/*",)), ["close", "write"], {"exe": 2}, id="exe glob"),
        pytest.param(LearnOptions(pid=(11, 12)), ["open", "write"], {"pid": 2}, id="pids"),
        pytest.param(LearnOptions(uid=(1000,)), ["read"], {"uid": 3}, id="uid"),
        pytest.param(LearnOptions(subj=("unconf*",)), ["open"], {"subj": 3}, id="subj glob; no subj fails"),
        pytest.param(
            LearnOptions(action=ActionFilter.LOG), ["open", "read"], {"action": 2}, id="logged only"
        ),
        pytest.param(
            LearnOptions(action=ActionFilter.DENIED), ["close", "write"], {"action": 2}, id="denied only"
        ),
        pytest.param(LearnOptions(since=TS + 50), ["close", "open"], {"since": 2}, id="since"),
        pytest.param(LearnOptions(until=TS + 150), ["open", "read", "write"], {"until": 1}, id="until"),
        pytest.param(
            LearnOptions(comm=("sh",), action=ActionFilter.DENIED, since=TS + 1),
            ["close"],
            {"action": 2, "since": 1},
            id="filters combine (first failing one counts)",
        ),
    ],
)
def test_filters(store: Store, options: LearnOptions, kept: list[str], filtered: dict[str, int]) -> None:
    result = learn_lines(store, FILTER_LINES, options)
    assert _names(store) == kept
    assert result.filtered == filtered
    assert {r: n for (k, r), n in store.counters().items() if k == "filtered"} == filtered


def _event(transport: Transport, framing: str = "") -> SeccompEvent:
    return SeccompEvent(0, 0xC000003E, Action(ActionKind.LOG), transport=transport, framing=framing)


@pytest.mark.parametrize(
    ("kind", "event", "root_owned", "trusted"),
    [
        pytest.param(SourceKind.KMSG, _event(Transport.KMSG), False, True, id="kmsg source"),
        pytest.param(SourceKind.STDIN, _event(Transport.KMSG), False, False, id="kmsg text on stdin"),
        pytest.param(SourceKind.FILE, _event(Transport.SYSLOG), True, False, id="syslog file"),
        pytest.param(SourceKind.STDIN, _event(Transport.PRINTK), False, False, id="dmesg text on stdin"),
        pytest.param(SourceKind.JOURNAL, _event(Transport.JOURNAL_KERNEL, "json"), False, True, id="jrnl"),
        pytest.param(
            SourceKind.STDIN, _event(Transport.JOURNAL_AUDIT, "json,transport=audit"), False, True, id="json"
        ),
        pytest.param(
            SourceKind.FILE, _event(Transport.JOURNAL_AUDIT, "rfc3164,tag=audit[pid]"), True, False,
            id="audit[pid] text can be forged with logger",
        ),
        pytest.param(SourceKind.FILE, _event(Transport.AUDITD), True, True, id="root-owned audit.log"),
        pytest.param(SourceKind.FILE, _event(Transport.AUDITD), False, False, id="writable log"),
        pytest.param(SourceKind.STDIN, _event(Transport.AUDITD), True, False, id="auditd text on stdin"),
        pytest.param(SourceKind.JOURNAL, _event(Transport.JOURNAL_OTHER, "json"), False, None, id="rejected"),
    ],
)  # fmt: skip
def test_trust(kind: SourceKind, event: SeccompEvent, root_owned: bool, trusted: bool | None) -> None:
    assert trust_of(kind, event, root_owned=root_owned) is trusted


def _journal_json(text: str, transport: str = "kernel", cursor: str = "s=1;i=1") -> str:
    entry = {"MESSAGE": text, "_TRANSPORT": transport, "__CURSOR": cursor, "__REALTIME_TIMESTAMP": "1"}
    return json.dumps(entry) + "\n"


def test_same_event_through_syslog_and_journald_counts_once_and_becomes_trusted(store: Store) -> None:
    events = [record(n, serial=n + 1) for n in range(5)]
    first = learn_lines(store, [syslog(e) for e in events])
    second = learn_lines(store, [_journal_json(e) for e in events])
    assert (first.learned, second.learned, second.duplicates) == (5, 0, 5)
    assert {(o.number, o.trusted, o.count) for o in store.observations()} == {(n, True, 1) for n in range(5)}


def test_journal_other_transport_is_rejected_and_counted(store: Store) -> None:
    result = learn_lines(store, [_journal_json(record(0), transport="stdout")])
    assert store.observations() == []
    assert result.rejected == {"journal-other-transport": 1}
    assert store.counters()[("rejected", "journal-other-transport")] == 1


def test_serial_zero_records_have_no_identity(store: Store) -> None:
    line = syslog(record(0, serial=0))
    learn_lines(store, [line])
    learn_lines(store, [line])
    assert store.observations()[0].count == 2  # only positions protect these


@pytest.mark.parametrize(
    ("arch", "number", "expected"),
    [
        pytest.param(0xC000003E, 257, ("x86_64", "openat"), id="known"),
        pytest.param(0xC000003E, 0x40000000 + 257, ("x32", "openat"), id="x32 bit"),
        pytest.param(0x40000003, 5, ("i386", "open"), id="i386"),
        pytest.param(0xC000003E, 9999, ("x86_64", None), id="number no table knows"),
        pytest.param(0x12345678, 1, ("unknown-12345678", None), id="arch no ABI has"),
        pytest.param(None, 1, ("unknown", None), id="no arch= (old kernel)"),
    ],
)
def test_resolve_syscall(arch: int | None, number: int, expected: tuple[str, str | None]) -> None:
    found = resolve_syscall(arch, number)
    assert (found.abi_key, found.name) == expected
    assert found.label == (expected[1] or f"unknown({number})")


def test_unknown_numbers_are_kept_as_numbers(store: Store) -> None:
    learn_lines(store, [syslog(record(9999, serial=1)), syslog(record(1, serial=2, arch="12345678"))])
    assert {(o.abi, o.number, o.name) for o in store.observations()} == {
        ("x86_64", 9999, None),
        ("unknown-12345678", 1, None),
    }


def test_captured_kmsg_records_learn_the_same_set_as_syslog(tmp_path: Path) -> None:
    sets = []
    for name in ("audit.kmsg", "audit.syslog"):
        with Store.open(tmp_path / f"{name}.db") as store:
            learn_lines(store, (CAPTURED / name).read_text().splitlines())
            sets.append({(o.abi, o.name, o.comm) for o in store.observations()})
    assert sets[0] == sets[1]
    assert ("x86_64", "openat", "sh") in sets[0]


def test_loss_markers_are_counted_by_kind_and_place(store: Store) -> None:
    lines = (CAPTURED / "audit-ratelimited.kmsg").read_text().splitlines()
    result = learn_lines(store, lines, name="kmsg-capture")
    report = result.losses[(LossKind.PRINTK_SUPPRESSED, "kmsg-capture")]
    assert report.count
    assert "printk_ratelimit=0" in report.message()
    [row] = store.losses()
    assert (row.kind, row.location, row.records) == ("printk-suppressed", "kmsg-capture", report.count)


def test_skipped_lines_are_counted(store: Store) -> None:
    result = learn_lines(store, ["audit: type=1326 audit(1.000:1): truncated", syslog(record(0))])
    assert result.learned == 1
    assert sum(result.skipped.values()) == 1
    assert sum(n for (kind, _), n in store.counters().items() if kind == "skipped") == 1


class _Recorder(Reporter):
    def __init__(self) -> None:
        self.new: list[NewSyscall] = []
        self.losses: list[tuple[LossReport, bool]] = []

    def learned(self, new: NewSyscall) -> None:
        self.new.append(new)

    def loss(self, report: LossReport, first: bool) -> None:
        self.losses.append((report, first))


def test_reporter_hears_each_new_syscall_once(store: Store) -> None:
    reporter = _Recorder()
    learn_lines(store, [syslog(record(257, serial=1, comm="http-echo"))], reporter=reporter)
    learn_lines(store, [syslog(record(257, serial=2)), syslog(record(0, serial=3))], reporter=reporter)
    assert [(n.label, n.abi, n.comm, n.trusted) for n in reporter.new] == [
        ("openat", "x86_64", "http-echo", False),
        ("read", "x86_64", "cat", False),
    ]


def test_kmsg_lines_as_a_kmsg_source_are_trusted(store: Store) -> None:
    learn_lines(store, [kmsg(record(0), 1)], kind=SourceKind.KMSG)
    assert [o.trusted for o in store.observations()] == [True]


def test_records_are_written_in_batches_with_their_aggregates(store: Store) -> None:
    """Not one transaction per record: a batch is due after ``flush_interval`` or ``batch_records``."""
    lines = [
        syslog(record(257 if n % 2 else 0, serial=n + 1, ts=TS + n, pid=100 + n % 7, comm="w"))
        for n in range(5000)
    ]
    once = learn_lines(store, lines, LearnOptions(flush_interval=3600))
    assert (once.learned, once.flushes) == (5000, 1)
    by_number = {o.number: o for o in store.observations()}
    assert {n: o.count for n, o in by_number.items()} == {0: 2500, 257: 2500}
    assert (by_number[0].first_seen, by_number[0].last_seen) == (TS, TS + 4998)
    assert (by_number[257].first_seen, by_number[257].last_seen) == (TS + 1, TS + 4999)
    assert all(o.sample_pid in range(100, 107) for o in by_number.values())
    again = [syslog(record(1, serial=10_000 + n, ts=TS + n)) for n in range(5000)]
    several = learn_lines(store, again, LearnOptions(flush_interval=3600, batch_records=1000))
    assert several.learned == 5000
    assert 2 <= several.flushes <= 5  # checked between chunks of lines, so a batch may hold a chunk more


class _StopAfterFirstBatch(Reporter):
    def __init__(self, stop: StopFlag) -> None:
        self.stop = stop

    def progress(self, result: LearnResult) -> None:
        self.stop.set(signal.SIGINT)


@pytest.mark.parametrize("follow", [False, True], ids=["read", "follow"])
def test_a_stop_mid_file_leaves_the_cut_line_for_the_next_run(
    store: Store, tmp_path: Path, follow: bool
) -> None:
    """SIGINT while reading a file: the line cut by the read size (or half written) is not taken as a line
    of its own and then skipped past; the next run reads it whole. Serial 0: only positions protect it."""
    log = tmp_path / "syslog"
    lines = [syslog(record(n % 300, serial=0, pid=1000 + n)) for n in range(4000)]  # ~1.2 MB: several reads
    log.write_text("".join(lines) + lines[0][:100])  # and a last line still being written
    options = LearnOptions(flush_interval=0.0, follow=follow)
    stop = StopFlag()
    try:
        first = learn_source(
            store, open_sources(SourceSpec(files=(log,)), store, options), options,
            reporter=_StopAfterFirstBatch(stop), stop=stop,
        )  # fmt: skip
    finally:
        stop.close()
    assert first.stopped_by == signal.SIGINT
    assert 0 < first.records < 4000
    assert first.skipped == {}
    assert first.lines == first.records  # no piece of a line counted as a line
    with log.open("a") as fh:
        fh.write(lines[0][100:])  # the writer finishes its line
    options = LearnOptions()
    rest = learn_source(store, open_sources(SourceSpec(files=(log,)), store, options), options)
    assert rest.skipped == {}
    assert first.records + rest.records == 4001
    assert sum(o.count for o in store.observations()) == 4001


class _SwapThenStop(Reporter):
    """Once the first run's records are in: put a new file under the predecessor's name, wait, stop."""

    def __init__(self, stop: StopFlag, predecessor: Path) -> None:
        self.stop, self.predecessor, self.swapped = stop, predecessor, 0.0

    def progress(self, result: LearnResult) -> None:
        import time

        if not self.swapped and result.learned >= 2:
            self.predecessor.rename(self.predecessor.with_suffix(".2"))  # logrotate's next round
            self.predecessor.write_text(syslog(record(5, serial=0)))
            self.swapped = time.monotonic()
        elif self.swapped and time.monotonic() - self.swapped > 1.0:  # four polls of followed files
            self.stop.set(signal.SIGINT)


def test_follow_reads_the_rest_of_a_rotated_predecessor_once_and_does_not_follow_it(
    store: Store, tmp_path: Path
) -> None:
    log = tmp_path / "syslog"
    log.write_text(syslog(record(0, serial=0)))
    learn_source(store, open_sources(SourceSpec(files=(log,)), store, LearnOptions()), LearnOptions())
    with log.open("a") as fh:
        fh.write(syslog(record(1, serial=0)))  # after that run, before rotation
    log.rename(tmp_path / "syslog.1")
    log.write_text(syslog(record(2, serial=0)))
    options = LearnOptions(follow=True, flush_interval=0.0)
    sources = open_sources(SourceSpec(files=(log,)), store, options)
    assert [Path(s.name).name for s in sources] == ["syslog.1", "syslog"]
    stop = StopFlag()
    try:
        learn_source(store, sources, options, reporter=_SwapThenStop(stop, tmp_path / "syslog.1"), stop=stop)
    finally:
        stop.close()
    assert {o.number: o.count for o in store.observations()} == {0: 1, 1: 1, 2: 1}  # not 5: not followed


def test_a_stop_during_start_up_still_takes_what_the_pipe_holds(store: Store) -> None:
    """A signal between opening the state and the first read: the lines already written are learned."""
    import os

    from seccomp_gen.sources import StdinSource

    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, "".join(syslog(record(n, serial=n + 1)) for n in range(5)).encode())
        stop = StopFlag()
        stop.set(signal.SIGTERM)  # set before learn_source reads anything
        result = learn_source(store, StdinSource(read_fd), stop=stop)
        stop.close()
    finally:
        os.close(read_fd)
        os.close(write_fd)
    assert result.stopped_by == signal.SIGTERM
    assert sum(o.count for o in store.observations()) == 5


def test_verdict_of_is_the_one_judgement_learn_and_explain_give() -> None:
    from seccomp_gen.records import parse_lines
    from seccomp_gen.trust import JOURNAL_OTHER_TRANSPORT, Verdict, verdict_of

    def event(line: str) -> SeccompEvent:
        found = [e for e in parse_lines([line]) if isinstance(e, SeccompEvent)]
        assert len(found) == 1
        return found[0]

    assert verdict_of(SourceKind.KMSG, event(kmsg(record(0), seq=1))) == Verdict(True)
    assert verdict_of(SourceKind.FILE, event(syslog(record(0)))) == Verdict(False)
    posing = verdict_of(SourceKind.STDIN, event(_journal_json(record(0), transport="stdout")))
    assert (posing.trusted, posing.rejected) == (False, JOURNAL_OTHER_TRANSPORT)
    assert posing.why is not None
