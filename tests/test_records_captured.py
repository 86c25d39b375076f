"""Records captured on a real kernel (tests/data/records/README.md), read back through every framing.

The expected values come from what each workload did (its filter and its calls), not from the parser.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from seccomp_gen.actions import Action, ActionKind
from seccomp_gen.events import LossEvent, LossKind, SeccompEvent, Transport
from seccomp_gen.records import RecordParser

pytestmark = pytest.mark.usefixtures("hot_loop")  # each test with the C and the Python hot loop

DATA = Path(__file__).parent / "data" / "records"
X86_64, I386 = 0xC000003E, 0x40000003
LOG = Action(ActionKind.LOG)
ERRNO = Action(ActionKind.ERRNO)  # the kernel logs the action without its errno data
PYTHON = "sg log \u00e9"  # prctl(PR_SET_NAME) with a space and an e-acute: printed in hex
BUSYBOX = "/tmp/sg capture \u00e9/sg uname"

# (syscall, arch, compat, action, sig, comm) in the order the workloads made them.
WORKLOADS = [
    (110, X86_64, 0, LOG, 0, PYTHON),  # getppid
    (0x40000027, X86_64, 0, LOG, 0, PYTHON),  # x32 getpid: bit 30 kept
    (9, X86_64, 0, LOG, 0, PYTHON),  # mmap of the page
    (20, I386, 1, LOG, 0, PYTHON),  # int 0x80 getpid
    (11, X86_64, 0, LOG, 0, PYTHON),  # munmap
    (231, X86_64, 0, LOG, 0, PYTHON),  # exit_group
    (83, X86_64, 0, ERRNO, 0, "sg-errno"),  # mkdir
    (84, X86_64, 0, ERRNO, 0, "sg-errno"),  # rmdir
    (110, X86_64, 0, Action(ActionKind.KILL_PROCESS), 31, "sg-kill"),
    (110, X86_64, 0, Action(ActionKind.TRAP), 0, "sg-trap"),
    (63, X86_64, 0, ERRNO, 0, "sg uname"),  # busybox uname, exec'd from a path with a space
]


def _lines(name: str) -> list[str]:
    """The file's lines, cut at newlines only (``str.splitlines`` also cuts at auditd's 0x1D)."""
    return (DATA / name).read_text().removesuffix("\n").split("\n")


def _events(name: str) -> list[SeccompEvent]:
    parser = RecordParser()
    events = parser.feed_chunk((DATA / name).read_bytes())
    assert parser.stats.skipped == {}
    assert parser.stats.noise == 0
    records = [event for event in events if isinstance(event, SeccompEvent)]
    by_line = [
        parser_event for line in _lines(name) if (parser_event := RecordParser().feed_line(line)) is not None
    ]
    assert by_line == events
    return records


def _shape(event: SeccompEvent) -> tuple[object, ...]:
    return (event.syscall, event.arch, event.compat, event.action, event.sig, event.comm)


@pytest.mark.parametrize(
    ("name", "transport", "hostname"),
    [
        pytest.param("captured-kmsg.log", Transport.KMSG, None, id="kmsg"),
        pytest.param("captured-dmesg.log", Transport.PRINTK, None, id="dmesg"),
        pytest.param("captured-dmesg-T.log", Transport.PRINTK, None, id="dmesg -T"),
        pytest.param("captured-syslog.log", Transport.SYSLOG, "vm", id="rsyslog"),
    ],
)
def test_kernel_log_captures(name: str, transport: Transport, hostname: str | None) -> None:
    events = _events(name)
    assert [_shape(event) for event in events] == WORKLOADS
    assert {(event.transport, event.hostname) for event in events} == {(transport, hostname)}
    assert [event.serial for event in events] == list(range(4081, 4092))
    assert events[0].timestamp == 1795888524.926
    assert events[-1].exe == BUSYBOX
    assert all(event.uid == 0 and event.auid == 0xFFFFFFFF and event.subj is None for event in events)


@pytest.mark.parametrize(
    ("name", "kernel"),
    [
        pytest.param("captured-journal-json.log", Transport.JOURNAL_KERNEL, id="json"),
        pytest.param("captured-journal-short.log", Transport.SYSLOG, id="short"),
        pytest.param("captured-journal-short-iso.log", Transport.SYSLOG, id="short-iso"),
        pytest.param("captured-journal-short-monotonic.log", Transport.JOURNAL_KERNEL, id="short-monotonic"),
        pytest.param("captured-journal-short-precise.log", Transport.JOURNAL_KERNEL, id="short-precise"),
        pytest.param("captured-journal-short-iso-precise.log", Transport.SYSLOG, id="short-iso-precise"),
        pytest.param("captured-journal-short-full.log", Transport.JOURNAL_KERNEL, id="short-full"),
        pytest.param("captured-journal-short-unix.log", Transport.JOURNAL_KERNEL, id="short-unix"),
        pytest.param("captured-journal-short-delta.log", Transport.JOURNAL_KERNEL, id="short-delta"),
    ],
)
def test_journal_captures(name: str, kernel: Transport) -> None:
    """Each record twice: kernel transport and audit transport (``audit[PID]: SECCOMP``)."""
    events = _events(name)
    by_kernel = [event for event in events if event.transport is kernel]
    by_audit = [event for event in events if event.transport is Transport.JOURNAL_AUDIT]
    assert [_shape(event) for event in by_kernel] == WORKLOADS
    assert [_shape(event) for event in by_audit] == WORKLOADS
    assert {event.hostname for event in events} == {"vm"}
    assert by_audit[-1].exe == BUSYBOX


def test_journal_json_audit_fields_agree_with_message() -> None:
    """journald's copies of an audit-transport record's fields (``_AUDIT_FIELD_*``, ``_PID``, ``_COMM``
    ...) hold the values read from its MESSAGE: MESSAGE is the whole record, so it is what is read.
    """
    entries = [json.loads(line) for line in _lines("captured-journal-json.log")]
    audit = [entry for entry in entries if entry["_TRANSPORT"] == "audit"]
    assert len(audit) == len(WORKLOADS)
    for entry in audit:
        event = RecordParser().feed_line(json.dumps(entry))
        assert isinstance(event, SeccompEvent)
        assert entry["_AUDIT_TYPE"] == "1326"
        assert (int(entry["_AUDIT_FIELD_SYSCALL"]), int(entry["_AUDIT_FIELD_ARCH"], 16)) == (
            event.syscall,
            event.arch,
        )
        assert (int(entry["_AUDIT_FIELD_SIG"]), int(entry["_AUDIT_FIELD_COMPAT"])) == (
            event.sig,
            event.compat,
        )
        assert (int(entry["_AUDIT_FIELD_IP"], 16), int(entry["_AUDIT_FIELD_CODE"], 16)) == (
            event.ip,
            event.action.code,
        )
        assert (int(entry["_PID"]), int(entry["_UID"]), int(entry["_GID"])) == (
            event.pid,
            event.uid,
            event.gid,
        )
        assert (int(entry["_AUDIT_LOGINUID"]), int(entry["_AUDIT_SESSION"])) == (event.auid, event.ses)
        assert (entry["_COMM"], entry["_EXE"]) == (event.comm, event.exe)
        assert (int(entry["_AUDIT_ID"]), event.transport) == (event.serial, Transport.JOURNAL_AUDIT)


def test_journal_json_stamps_agree_across_transports() -> None:
    """journald's audit transport keeps the record's stamp, so both copies have the same event id."""
    events = _events("captured-journal-json.log")
    kernel = {event.event_id for event in events if event.transport is Transport.JOURNAL_KERNEL}
    audit = {event.event_id for event in events if event.transport is Transport.JOURNAL_AUDIT}
    assert kernel == audit
    assert len(kernel) == len(WORKLOADS)
    assert None not in kernel


@pytest.mark.parametrize(
    ("name", "counts"),
    [
        pytest.param("captured-losses-kmsg.log", [519], id="kmsg"),
        pytest.param("captured-losses-dmesg.log", [519], id="dmesg"),
        pytest.param("captured-losses-syslog.log", [690, 652], id="rsyslog"),
    ],
)
def test_loss_captures(name: str, counts: list[int]) -> None:
    parser = RecordParser()
    losses = parser.feed_chunk((DATA / name).read_bytes())
    assert all(isinstance(loss, LossEvent) and loss.kind is LossKind.PRINTK_SUPPRESSED for loss in losses)
    assert [loss.count for loss in losses if isinstance(loss, LossEvent)] == counts
    assert parser.stats.losses == len(counts)


def test_audit_rate_limit_capture() -> None:
    """The kernel's own lines when audit's rate limit drops records (``auditctl -r 5``, a burst):
    ``audit: audit_lost=1 ...`` (the running total when it printed) and ``audit: rate limit exceeded``.
    """
    parser = RecordParser()
    losses = parser.feed_chunk((DATA / "captured-ratelimit-kmsg.log").read_bytes())
    assert [(loss.kind, loss.count) for loss in losses if isinstance(loss, LossEvent)] == [
        (LossKind.AUDIT_LOST, 1),
        (LossKind.AUDIT_LOST, None),
    ]
    assert (parser.stats.losses, parser.stats.lines) == (2, 2)


def test_syslog_capture_framing_facts() -> None:
    """rsyslog on Debian 12 keeps the kernel's uptime stamp: a fact a forged `logger` line lacks."""
    facts = {event.framing for event in _events("captured-syslog.log")}
    assert facts == {"rfc3339,tag=kernel,uptime,audit-prefix"}


@pytest.mark.parametrize(
    "mode",
    ["short", "short-iso", "short-iso-precise", "short-precise", "short-full", "short-unix", "short-delta"],
)
def test_journal_short_modes_read_as_json(mode: str) -> None:
    """Every ``-o short*`` rendering of the journal gives the records ``-o json`` gives, field for field
    (the audit transport's stamp aside: only JSON carries it), each framed by its own header, not
    found mid-line in an unknown one.
    """
    json_events = _events("captured-journal-json.log")
    events = _events(f"captured-journal-{mode}.log")
    assert [_fields(e) for e in events] == [_fields(e) for e in json_events]
    assert not any("mid-line" in event.framing for event in events)
    audit = [event for event in events if event.transport is Transport.JOURNAL_AUDIT]
    assert len(audit) == len(WORKLOADS)
    assert all(event.framing.endswith("tag=audit[pid],typename") for event in audit)


def _fields(event: SeccompEvent) -> tuple[object, ...]:
    return (*_shape(event), event.pid, event.exe, event.ip, event.uid, event.auid, event.hostname)


def test_dmesg_t_in_five_locales() -> None:
    """``dmesg -T`` under de_DE, fr_FR, ja_JP, ru_RU and zh_CN (day and month names in each), the same
    kernel records as plain ``dmesg`` prints them: each reads as the plain line does.
    """
    events = _events("captured-dmesg-T-locales.log")
    plain = {e.event_id: e for e in events if e.framing == "uptime,audit-prefix"}
    localised = [e for e in events if e.framing == "dmesg-time,audit-prefix"]
    assert len(plain) == 3
    assert len(localised) == 5 * 3
    for event in localised:
        assert replace(event, framing="uptime,audit-prefix") == plain[event.event_id]


def _records(name: str) -> tuple[list[SeccompEvent], RecordParser]:
    """The records of a file read by chunk (which must equal reading it line by line), and the parser."""
    parser = RecordParser()
    events = parser.feed_chunk((DATA / name).read_bytes())
    by_line = RecordParser()
    assert [r for line in _lines(name) if (r := by_line.feed_line(line))] == events
    assert by_line.stats == parser.stats
    return [event for event in events if isinstance(event, SeccompEvent)], parser


def test_ausearch_plain_layout() -> None:
    """Plain ``ausearch`` (3.0.9): ``----`` and ``time->`` lines are noise, its records the input's own,
    except that it drops auditd's enrichment after 0x1D (and keeps a glued one, which is not 0x1D)."""
    events, parser = _records("ausearch.log")
    given = {e.serial: e for e in _events("ausearch-input.log")}
    assert len(events) == len(given) == 22
    assert (parser.stats.noise, parser.stats.skipped) == (44, {})
    for event in events:
        assert event == given[event.serial] or (
            event.serial == 5006 and event == replace(given[5006], framing="")
        )


def test_ausearch_interpreted() -> None:
    """``ausearch -i`` (3.0.9) of the same input: names back to numbers, ``unknown-syscall(N)`` for the
    x32 call, ``unknown(N)`` ids, every action's name, the record's trailing space. What -i cannot
    carry is gone: the time's zone (no timestamp), errno data, KILL_PROCESS (printed ``kill``), names
    of users this machine does not know. Two lines are skipped: ausearch read the code glued to
    auditd's enrichment as ``user-notify`` and kept the enrichment after it.
    """
    events, parser = _records("ausearch-i.log")
    given = {e.serial: e for e in _events("ausearch-input.log")}
    assert (parser.stats.records, parser.stats.noise, parser.stats.skipped) == (
        20,
        22,
        {"malformed-fields": 2},
    )
    assert {serial for serial in given if serial not in {e.serial for e in events}} == {6461, 836036}
    for event in events:
        source = given[event.serial]
        assert event.transport is Transport.AUDITD
        assert event.timestamp is None
        assert "interpreted" in event.framing
        assert (event.syscall, event.arch, event.compat, event.pid, event.comm, event.exe, event.ip) == (
            source.syscall, source.arch, source.compat, source.pid, source.comm, source.exe, source.ip
        )  # fmt: skip
        assert event.sig == source.sig
        assert (event.auid, event.ses, event.subj) == (source.auid, source.ses, source.subj)
        kind = source.action.kind
        assert event.action == Action(ActionKind.KILL_THREAD if kind is ActionKind.KILL_PROCESS else kind)
    by_serial = {e.serial: e for e in events}
    assert by_serial[4082].syscall == 0x40000027  # x32 getpid, printed unknown-syscall(1073741863)
    assert (by_serial[10262].auid, by_serial[10262].uid, by_serial[10262].gid) == (20003, 22, None)
    assert {by_serial[s].action.kind for s in (5001, 5002, 5003, 5004)} == {
        ActionKind.ERRNO,
        ActionKind.USER_NOTIF,
        ActionKind.TRACE,
        ActionKind.ALLOW,
    }
