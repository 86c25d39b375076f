"""Issue 19: the journald, ausearch and pasted forms people actually have, in both hot loops.

Each class of the issue has a table; every line is ours, written in the shape of the real ones. A
property checks that a record's decoded fields stay the same whatever framing wraps it.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seccomp_gen.actions import ActionKind
from seccomp_gen.events import SeccompEvent, Transport
from seccomp_gen.records import Format, RecordParser

LOOPS = [pytest.param(True, id="C"), pytest.param(False, id="python")]
FIELDS = (
    'auid=4294967295 uid=0 gid=0 ses=4294967295 pid=42 comm="sh" exe="/bin/sh" sig=0 arch=c000003e '
    "syscall=257 compat=0 ip=0x7f0000001000 code=0x7ffc0000"
)
KERNEL = f"audit: type=1326 audit(1795888682.978:10075): {FIELDS}"
AUDIT = f"SECCOMP {FIELDS}"


def _events(line: str, accelerated: bool) -> list[SeccompEvent]:
    try:
        parser = RecordParser(Format.AUTO, accelerated=accelerated)
    except RuntimeError as exc:  # the accelerator is not built here
        pytest.skip(str(exc))
    return [item for item in parser.feed_chunk((line + "\n").encode()) if isinstance(item, SeccompEvent)]


def _one(line: str, accelerated: bool) -> SeccompEvent:
    events = _events(line, accelerated)
    assert len(events) == 1, line
    event = events[0]
    assert (event.syscall, event.arch, event.pid, event.comm, event.exe) == (
        257,
        0xC000003E,
        42,
        "sh",
        "/bin/sh",
    )
    assert event.action.kind is ActionKind.LOG
    return event


@pytest.mark.parametrize("accelerated", LOOPS)
@pytest.mark.parametrize(
    "month", ["Jun", "jun", "Mär", "déc.", "Okt", "окт", "10月", "juil."], ids=lambda m: m.encode().hex()
)
def test_journal_short_in_any_locale(month: str, accelerated: bool) -> None:
    """Class 1: journald prints the locale's %b month; the audit transport and the kernel one."""
    event = _one(f"{month} 11 08:15:30 host audit[42]: {AUDIT}", accelerated)
    assert event.transport is Transport.JOURNAL_AUDIT
    assert event.hostname == "host"
    kernel = _one(f"{month} 11 08:15:30 host kernel: {KERNEL}", accelerated)
    assert kernel.timestamp == pytest.approx(1795888682.978)  # from audit(...): the stamp has no year


@pytest.mark.parametrize("accelerated", LOOPS)
@pytest.mark.parametrize(
    ("line", "transport"),
    [
        pytest.param(f"Mar 02 11:20:01 audit[801]: {AUDIT}", Transport.JOURNAL_AUDIT, id="audit-tag"),
        pytest.param(f"Oct 30 22:41:09 kernel: {KERNEL}", Transport.SYSLOG, id="kernel-tag"),
        pytest.param(f"2026-10-30T22:41:09+00:00 kernel: {KERNEL}", Transport.SYSLOG, id="rfc3339"),
    ],
)
def test_lines_without_a_hostname(line: str, transport: Transport, accelerated: bool) -> None:
    """Class 2: journalctl on a host without a name, and copies with the name taken out."""
    event = _one(line, accelerated)
    assert event.transport is transport
    assert event.hostname is None


@pytest.mark.parametrize("accelerated", LOOPS)
def test_a_stamp_then_an_ordinary_word_is_not_a_tag(accelerated: bool) -> None:
    """A hostless line's tag is `kernel` or carries a pid: `Mar 02 11:20:01 note: ...` is no record."""
    assert _events(f"Mar 02 11:20:01 note: {AUDIT}", accelerated) == []


@pytest.mark.parametrize("accelerated", LOOPS)
def test_bare_message_bodies(accelerated: bool) -> None:
    """Class 3: journalctl -o cat prints the message alone: the audit transport's and the kernel's."""
    audit = _one(AUDIT, accelerated)
    assert audit.transport is Transport.JOURNAL_AUDIT
    assert audit.timestamp is None  # no stamp, and no audit(...) in the audit transport's message
    kernel = _one(KERNEL, accelerated)
    assert kernel.timestamp == pytest.approx(1795888682.978)
    parser = RecordParser(Format.AUTO, accelerated=accelerated)
    parser.feed_chunk(f"{AUDIT}\nSECCOMP auid=broken\n".encode())
    assert parser.stats.records == 1
    assert sum(parser.stats.skipped.values()) == 1  # a broken one says why


@pytest.mark.parametrize("accelerated", LOOPS)
@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("kill-thread", ActionKind.KILL_THREAD),
        ("kill", ActionKind.KILL_THREAD),
        ("kill-process", ActionKind.KILL_PROCESS),
        ("errno", ActionKind.ERRNO),
        ("log", ActionKind.LOG),
        ("user-notif", ActionKind.USER_NOTIF),
    ],
)
@pytest.mark.parametrize("arch", ["aarch64", "ppc64le", "s390x", "armeb", "x86_64"])
def test_ausearch_interpreted_as_it_really_prints(
    code: str, kind: ActionKind, arch: str, accelerated: bool
) -> None:
    """Class 4: a locale date stamp, unquoted interpreted values, every ABI name and code word."""
    line = (
        "type=SECCOMP msg=audit(11/20/2025 14:02:11.305:88) : auid=unset uid=root gid=root ses=unset pid=12 "
        f"comm=myd exe=/usr/sbin/myd sig=SIGSYS arch={arch} syscall=openat compat=0 ip=0x4000 code={code}"
    )
    (event,) = _events(line, accelerated)
    assert event.action.kind is kind
    assert (event.comm, event.exe, event.pid) == ("myd", "/usr/sbin/myd", 12)
    assert "interpreted" in event.framing


@pytest.mark.parametrize("accelerated", LOOPS)
@pytest.mark.parametrize(
    "line",
    [
        pytest.param(f"`{KERNEL}`", id="markdown-backticks"),
        pytest.param(f"> {KERNEL}", id="mail-quote"),
        pytest.param(f"12:{KERNEL}", id="grep-n"),
    ],
)
def test_what_people_paste(line: str, accelerated: bool) -> None:
    """Class 5: where the record is unambiguous, it is read; no field is invented."""
    _one(line, accelerated)


@pytest.mark.parametrize("accelerated", LOOPS)
def test_a_record_wrapped_by_a_mail_client_is_skipped_with_its_reason(accelerated: bool) -> None:
    """Class 5: a record cut over two lines is not glued back together by guess."""
    head, tail = KERNEL[:120], KERNEL[120:]
    parser = RecordParser(Format.AUTO, accelerated=accelerated)
    items = parser.feed_chunk(f"{head}\n{tail}\n".encode())
    assert [item for item in items if isinstance(item, SeccompEvent)] == []
    assert sum(parser.stats.skipped.values()) >= 1


WRAPPERS = [
    lambda body: f"5,7178,22833069916,-;{body}",
    lambda body: f"[22833.069916] {body}",
    lambda body: f"2026-11-28T17:58:02.983870+00:00 vm kernel: [22833.069916] {body}",
    lambda body: f"Nov 28 17:58:02 vm kernel: {body}",
    lambda body: f"nov. 28 17:58:02 vm kernel: {body}",
    lambda body: f"Nov 28 17:58:02 kernel: {body}",
    lambda body: f"`{body}`",
    lambda body: f"> {body}",
]


@settings(max_examples=80, deadline=None)
@given(
    wrap=st.sampled_from(WRAPPERS),
    syscall=st.integers(0, 460),
    pid=st.integers(1, 4_000_000),
    comm=st.text(alphabet="abcdefghijklmnopqrstuvwxyz-_0123456789", min_size=1, max_size=15),
    accelerated=st.booleans(),
)
def test_a_records_fields_do_not_depend_on_its_framing(
    wrap: object, syscall: int, pid: int, comm: str, accelerated: bool
) -> None:
    body = (
        f"audit: type=1326 audit(1795888682.978:7): auid=4294967295 uid=0 gid=0 ses=4294967295 pid={pid} "
        f'comm="{comm}" exe="/bin/{comm}" sig=0 arch=c000003e syscall={syscall} compat=0 ip=0x1 '
        "code=0x7ffc0000"
    )
    bare = _events(body, accelerated)
    wrapped = _events(wrap(body), accelerated)  # type: ignore[operator]
    assert len(bare) == len(wrapped) == 1
    keep = ("syscall", "arch", "pid", "comm", "exe", "action", "timestamp", "serial", "uid", "ses")
    assert [getattr(wrapped[0], k) for k in keep] == [getattr(bare[0], k) for k in keep]


def test_input_that_yields_nothing_says_why_with_an_example(
    tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    """Class 6: the commonest skip reason and the first line skipped for it, in explain and learn."""
    from pathlib import Path

    from seccomp_gen.cli import main

    assert isinstance(tmp_path, Path)
    log = tmp_path / "pasted.log"
    log.write_text(
        "type=SECCOMP msg=audit(1.0:1): auid=x syscall=1\nhello\ntype=SECCOMP msg=audit(2.0:2): x\n"
    )
    assert main(["explain", str(log)]) == 0
    err = capsys.readouterr().err
    assert (
        'warning: no seccomp record in 3 line(s); most skipped lines were malformed-stamp (2), the first: "'
        in err
    )
    assert main(["learn", "--state", str(tmp_path / "s.db"), str(log)]) == 0
    err = capsys.readouterr().err
    assert 'most skipped lines were malformed-stamp (2), the first: "type=SECCOMP msg=audit(1.0:1)' in err
