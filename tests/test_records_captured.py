"""Records captured on a real kernel (tests/data/records/README.md), read back through every framing.

The expected values come from what each workload did (its filter and its calls), not from the parser.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from seccomp_gen.actions import Action, ActionKind
from seccomp_gen.events import LossEvent, LossKind, SeccompEvent, Transport
from seccomp_gen.records import RecordParser

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


def _events(name: str) -> list[SeccompEvent]:
    parser = RecordParser()
    events = parser.feed_chunk((DATA / name).read_bytes())
    assert parser.stats.skipped == {}
    assert parser.stats.noise == 0
    records = [event for event in events if isinstance(event, SeccompEvent)]
    by_line = [
        parser_event
        for line in (DATA / name).read_text().splitlines()
        if (parser_event := RecordParser().feed_line(line)) is not None
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


def test_syslog_capture_framing_facts() -> None:
    """rsyslog on Debian 12 keeps the kernel's uptime stamp: a fact a forged `logger` line lacks."""
    facts = {event.framing for event in _events("captured-syslog.log")}
    assert facts == {"rfc3339,tag=kernel,uptime,audit-prefix"}
