"""Public fixtures (tests/data/records/realworld/, see its README): the values their sources expect."""

from __future__ import annotations

from pathlib import Path

import pytest

from seccomp_gen.actions import Action, ActionKind
from seccomp_gen.events import LossEvent, LossKind, SeccompEvent, Transport
from seccomp_gen.records import RecordParser

pytestmark = pytest.mark.usefixtures("hot_loop")  # each test with the C and the Python hot loop

DATA = Path(__file__).parent / "data" / "records" / "realworld"


def _read(name: str) -> tuple[list[SeccompEvent | LossEvent | None], RecordParser]:
    parser = RecordParser()
    results = [parser.feed_line(line) for line in (DATA / name).read_text().splitlines()]
    by_chunk = RecordParser().feed_chunk((DATA / name).read_bytes())
    assert by_chunk == [result for result in results if result is not None]
    return results, parser


def _records(name: str) -> list[SeccompEvent]:
    results, parser = _read(name)
    assert parser.stats.skipped == {}
    return [result for result in results if isinstance(result, SeccompEvent)]


def test_spo_audit_lines() -> None:
    """SPO's Test_extractAuditLine / Test_isAuditLine / GetUidGid expectations."""
    events = {event.serial: event for event in _records("spo_auditsource_audit_test.log")}
    assert len(events) == 5
    first = events[549067]
    assert (first.timestamp, first.syscall, first.pid, first.exe) == (
        1612299677.115,
        0,
        3109464,
        "/bin/busybox",
    )
    assert (first.uid, first.gid) == (0, 0)
    enriched = events[6461]
    assert (enriched.timestamp, enriched.syscall, enriched.pid, enriched.exe) == (
        1613596317.899,
        3,
        2039886,
        "/bin/ls",
    )
    assert enriched.action == Action(ActionKind.LOG)
    assert enriched.subj == "system_u:system_r:spc_t:s0:c284,c594"
    assert events[574].transport is Transport.SYSLOG
    assert events[836036].syscall == 56


def test_spo_negative_lines() -> None:
    """Lines SPO rejects: we skip them too, except the printk line, which for us is a loss marker."""
    results, parser = _read("spo_auditsource_audit_test.negative.log")
    assert results[:5] == [None] * 5
    assert parser.stats.noise == 1  # `type=1326 syscall=1`: not even the word "audit"
    assert results[5] == LossEvent(
        LossKind.PRINTK_SUPPRESSED, 1, None, "[ 3683.829070] kauditd_printk_skb: 1 callbacks suppressed"
    )
    assert parser.stats.skipped == {
        "other-audit-type": 1,  # type=1016
        "missing-field": 1,  # no uid/gid
        "malformed-number": 2,  # uid=invalid, gid=invalid
    }


def test_go_libaudit_i386_kill() -> None:
    """go-libaudit's test3.log.golden values for its SECCOMP record."""
    [event] = _records("go-libaudit_auparse_test3.log")
    assert (event.serial, event.timestamp, event.arch, event.syscall) == (
        10262,
        1433785727.186,
        0x40000003,
        132,
    )
    assert (event.sig, event.auid, event.uid, event.gid, event.ses) == (31, 20003, 22, 22, 21)
    assert (event.pid, event.comm, event.exe, event.compat, event.ip) == (
        11217,
        "sshd",
        "/usr/sbin/sshd",
        0,
        0xB7670AAC,
    )
    assert event.action == Action(ActionKind.KILL_THREAD)


VARMOR = [
    ("1734766505.185:6623933", "unconfined", 699016, "runc:[2:INIT]", "/", 72),
    (
        "1734766503.316:6623924",
        "varmor-cluster-varmor-demo-4//null-/bin/sleep (complain)",
        698839,
        "sleep",
        "/bin/sleep",
        11,
    ),
    ("1740535410.396:1727850", "cri-containerd.apparmor.d (enforce)", 3315793, "chmod", "/bin/chmod", 268),
    ("1705307237.424:9332888", "unconfined", 2684228, "runc:[2:INIT]", "/", 439),
    ("1740668907.734:6970", "?", 2045941, "chmod", "/usr/bin/chmod", 268),
    ("1740669778.647:6964", "?", 2159619, "unshare", "/usr/bin/unshare", 272),
    ("1740670474.406:2766278", None, 6412, "chmod", "/usr/bin/chmod", 268),
]


def test_varmor_lines() -> None:
    """vArmor's Test_parseSeccompLineByte expectations (its Subj "" is our None: no subj= field)."""
    events = _records("varmor_auditor_utils_test.log")
    got = [(f"{e.timestamp:.3f}:{e.serial}", e.subj, e.pid, e.comm, e.exe, e.syscall) for e in events]
    assert got == VARMOR
    assert events[3].framing.startswith("pri=5,rfc3164,tag=kernel,uptime,caller")


def test_syzkaller_lines() -> None:
    events = _records("syzkaller_report_testdata_linux.log")
    assert [(e.arch, e.syscall, e.compat, e.sig) for e in events] == [
        (0xC000003E, 202, 0, 31),
        (0xC000003E, 202, 0, 31),
        (0x40000003, 265, 1, 31),
        (0xC000003E, 228, 0, 9),
        (0xC000003E, 228, 0, 31),
    ]
    assert "mid-line" in events[0].framing
    assert events[1].subj == "unconfined_u:system_r:insmod_t:s0-s0:c0.c1023"
    assert events[4].subj == "_"
    assert all(e.action == Action(ActionKind.KILL_THREAD) for e in events)


def test_snapd_journal_audit_lines() -> None:
    events = _records("snapd_testing-tools_log-parser_with-debug-output.log")
    assert [e.syscall for e in events] == [55, 52, 51, 44, 7, 13, 45, 5, 1, 3, 202, 231]
    assert {(e.transport, e.hostname, e.comm, e.pid, e.auid) for e in events} == {
        (Transport.JOURNAL_AUDIT, "ubuntu", "curl", 17276, 1001)
    }
    assert all(e.timestamp is None and e.event_id is None for e in events)


@pytest.mark.parametrize("name", sorted(path.name for path in DATA.glob("*.log")))
def test_every_fixture_reads_the_same_by_line_and_by_chunk(name: str) -> None:
    _read(name)


def test_forum_legacy_1701_lines() -> None:
    """Kernel logs users posted in 2012 (tests/data/records/README.md): ``type=1701 ... reason="seccomp"``
    records, some without ``compat=``, none with ``arch=`` or ``exe=``, and the older loss marker
    ``audit_printk_skb: N callbacks suppressed``. Values as the lines state them.
    """
    parser = RecordParser()
    path = DATA.parent / "forums-1701.log"
    results = parser.feed_chunk(path.read_bytes())
    assert (parser.stats.records, parser.stats.losses, parser.stats.skipped) == (6, 2, {})
    losses = [r for r in results if isinstance(r, LossEvent)]
    assert [(loss.kind, loss.count) for loss in losses] == [
        (LossKind.PRINTK_SUPPRESSED, 36),
        (LossKind.PRINTK_SUPPRESSED, 9),
    ]
    events = [r for r in results if isinstance(r, SeccompEvent)]
    assert [(e.serial, e.pid, e.syscall, e.compat) for e in events] == [
        (24, 3403, 39, 0),
        (25, 3506, 39, 0),
        (15, 2381, 20, None),
        (16, 2421, 20, None),
        (17, 5143, 20, None),
        (18, 5183, 20, None),
    ]
    assert {(e.arch, e.exe, e.comm, e.uid, e.sig, e.action) for e in events} == {
        (None, None, "chrome", 1000, 0, Action(ActionKind.ERRNO, 1))
    }
    assert [e.transport for e in events[:2]] == [Transport.SYSLOG] * 2
    assert events[0].hostname == "larry-Dell-DXP051"
    assert events[0].timestamp == 1349747801.109
