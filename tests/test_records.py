"""The record parser: a "parsed" table, a "skipped" table, loss markers, noise, and both paths agreeing."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from seccomp_gen.actions import Action, ActionKind
from seccomp_gen.events import LossEvent, LossKind, SeccompEvent, Transport
from seccomp_gen.lines import iter_chunks, iter_lines
from seccomp_gen.parse_stats import SkipReason
from seccomp_gen.records import MAX_LINE, Format, RecordParser, parse_lines

pytestmark = pytest.mark.usefixtures("hot_loop")  # each test with the C and the Python hot loop

X86_64 = 0xC000003E
I386 = 0x40000003
LOG = Action(ActionKind.LOG)
FIELDS = (
    'auid=4294967295 uid=0 gid=0 ses=4294967295 pid=4709 comm="sh" exe="/bin/busybox" '
    "sig=0 arch=c000003e syscall=13 compat=0 ip=0x7f3c012e467b code=0x7ffc0000"
)
STAMP = "audit(1625740283.502:574): "
BARE = f"audit: type=1326 {STAMP}{FIELDS}"
AUDITD = f"type=SECCOMP msg={STAMP}{FIELDS}"
NOSTAMP = {"timestamp": None, "serial": None}
COMMON = {"syscall": 13, "arch": X86_64, "action": LOG, "timestamp": 1625740283.502, "serial": 574}


def _fields(**changes: str) -> str:
    text = FIELDS
    for key, value in changes.items():
        start = text.index(f" {key}=") + 1 if not text.startswith(f"{key}=") else 0
        end = text.find(" ", start)
        end = len(text) if end < 0 else end
        text = text[:start] + f"{key}={value}" + text[end:]
    return text


def _journal(message: str | list[int] | None, transport: str = "kernel", **extra: str) -> str:
    entry: dict[str, Any] = {"MESSAGE": message, "_TRANSPORT": transport, "_HOSTNAME": "node1"}
    entry.update(extra)
    entry["__REALTIME_TIMESTAMP"] = "1625740283510000"
    return json.dumps(entry)


PARSED = [
    pytest.param(BARE, {"transport": Transport.PRINTK, "framing": "audit-prefix"}, id="bare printk"),
    pytest.param(f"[  270.853767] {BARE}", {"framing": "uptime,audit-prefix"}, id="dmesg uptime"),
    pytest.param(f"[  463.512820][   T27] {BARE}", {"framing": "uptime,caller,audit-prefix"}, id="caller id"),
    pytest.param(f"<5>[  270.853767] {BARE}", {"framing": "pri=5,uptime,audit-prefix"}, id="PRI prefix"),
    pytest.param(f"[Sat Nov 28 17:55:24 2026] {BARE}", {"transport": Transport.PRINTK}, id="dmesg -T"),
    pytest.param(
        f"[Sa Nov 28 17:55:24 2026] {BARE}", {"framing": "dmesg-time,audit-prefix"}, id="dmesg -T de"
    ),
    pytest.param(f"2026-11-28T17:55:24,931804+00:00 {BARE}", {"transport": Transport.PRINTK}, id="dmesg iso"),
    pytest.param(
        f"5,2749,22675017521,-;{BARE}",
        {"transport": Transport.KMSG, "framing": "kmsg,kmsg-prio=5,audit-prefix"},
        id="kmsg",
    ),
    pytest.param(f"5,2749,22675017521,-,caller=T55;{BARE}", {"transport": Transport.KMSG}, id="kmsg caller"),
    pytest.param(
        f"Jul  6 15:37:40 ubuntu2004 kernel: [  270.853767] {BARE}",
        {
            "transport": Transport.SYSLOG,
            "hostname": "ubuntu2004",
            "framing": "rfc3164,tag=kernel,uptime,audit-prefix",
        },
        id="rfc3164 single-digit day",
    ),
    pytest.param(
        f"Jul 16 15:37:40 h1 kernel: {BARE}",
        {"hostname": "h1", "transport": Transport.SYSLOG},
        id="rfc3164 no uptime",
    ),
    pytest.param(
        f"2026-11-28T11:00:00.468493+00:00 vm kernel: [22675.017521] {BARE}",
        {
            "transport": Transport.SYSLOG,
            "hostname": "vm",
            "framing": "rfc3339,tag=kernel,uptime,audit-prefix",
        },
        id="rfc3339 debian 12",
    ),
    pytest.param(
        f"<4>2026-11-28T11:00:00Z vm kernel: {BARE}",
        {"framing": "pri=4,rfc3339,tag=kernel,audit-prefix"},
        id="pri+Z",
    ),
    pytest.param(
        f"Nov 28 17:56:03 vm audit[4709]: SECCOMP {FIELDS}",
        {
            "transport": Transport.JOURNAL_AUDIT,
            "timestamp": None,
            "serial": None,
            "syscall": 13,
            "hostname": "vm",
        },
        id="journal short audit transport",
    ),
    pytest.param(
        f"[22713.164350] vm audit[4709]: SECCOMP {FIELDS}",
        {"transport": Transport.JOURNAL_AUDIT, "framing": "monotonic,tag=audit[pid],typename", **NOSTAMP},
        id="journal short-monotonic audit",
    ),
    pytest.param(
        f"[22713.144688] vm kernel: {BARE}",
        {"transport": Transport.JOURNAL_KERNEL},
        id="journal short-monotonic kernel",
    ),
    pytest.param(
        f"Nov 28 17:56:03.059786 vm kernel: {BARE}",
        {
            "transport": Transport.JOURNAL_KERNEL,
            "hostname": "vm",
            "framing": "short-precise,tag=kernel,audit-prefix",
        },
        id="journal short-precise kernel",
    ),
    pytest.param(
        f"Nov 28 17:56:03.050000 vm audit[4709]: SECCOMP {FIELDS}",
        {"transport": Transport.JOURNAL_AUDIT, "framing": "short-precise,tag=audit[pid],typename", **NOSTAMP},
        id="journal short-precise audit",
    ),
    pytest.param(
        f"2026-11-28T17:56:03.059786+0000 vm kernel: {BARE}",
        {"transport": Transport.SYSLOG, "framing": "rfc3339,tag=kernel,audit-prefix"},
        id="journal short-iso-precise kernel",
    ),
    pytest.param(
        f"Sat 2026-11-28 17:56:03 UTC vm kernel: {BARE}",
        {"transport": Transport.JOURNAL_KERNEL, "framing": "short-full,tag=kernel,audit-prefix"},
        id="journal short-full kernel",
    ),
    pytest.param(
        f"Sat 2026-11-28 17:56:03 CET vm audit[4709]: SECCOMP {FIELDS}",
        {"transport": Transport.JOURNAL_AUDIT, "framing": "short-full,tag=audit[pid],typename", **NOSTAMP},
        id="journal short-full audit",
    ),
    pytest.param(
        f"1795888563.059786 vm kernel: {BARE}",
        {"transport": Transport.JOURNAL_KERNEL, "framing": "short-unix,tag=kernel,audit-prefix"},
        id="journal short-unix kernel",
    ),
    pytest.param(
        f"[22713.164350 <    0.019629 >] vm audit[4709]: SECCOMP {FIELDS}",
        {"transport": Transport.JOURNAL_AUDIT, "framing": "short-delta,tag=audit[pid],typename", **NOSTAMP},
        id="journal short-delta audit",
    ),
    pytest.param(
        f"Nov 28 17:56:03 vm someapp[99]: {BARE}",
        {"transport": Transport.SYSLOG, "framing": "rfc3164,tag=someapp[pid],audit-prefix"},
        id="syslog record under another tag: facts say so",
    ),
    pytest.param(
        f"Nov 28 17:56:03 vm kernel: type=1326 {STAMP}{FIELDS}",
        {"framing": "rfc3164,tag=kernel"},
        id="kernel tag without audit prefix: facts say so",
    ),
    pytest.param(
        _journal(BARE), {"transport": Transport.JOURNAL_KERNEL, "hostname": "node1"}, id="journal json kernel"
    ),
    pytest.param(
        _journal(
            f"SECCOMP {FIELDS}",
            "audit",
            _AUDIT_TYPE="1326",
            _AUDIT_ID="574",
            _SOURCE_REALTIME_TIMESTAMP="1625740283502000",
        ),
        {"transport": Transport.JOURNAL_AUDIT, **COMMON},
        id="journal json audit: stamp from fields",
    ),
    pytest.param(
        _journal(BARE, "syslog"), {"transport": Transport.JOURNAL_OTHER}, id="journal json other transport"
    ),
    pytest.param(_journal(list(BARE.encode())), {"syscall": 13}, id="journal json byte-array MESSAGE"),
    pytest.param(AUDITD, {"transport": Transport.AUDITD, "hostname": None, **COMMON}, id="auditd raw"),
    pytest.param(f"node=web1 {AUDITD}", {"hostname": "web1", "framing": "node"}, id="auditd node="),
    pytest.param(
        f'{AUDITD}\x1dAUID="unset" UID="root" ARCH=x86_64 SYSCALL=rt_sigaction',
        {"action": LOG, "framing": "enriched", "syscall": 13},
        id="auditd enriched after 0x1d",
    ),
    pytest.param(
        f'{AUDITD}AUID="unset" UID="root" GID="root" ARCH=x86_64 SYSCALL=close',
        {"action": LOG, "framing": "enriched"},
        id="auditd enrichment glued to code",
    ),
    pytest.param(f"{AUDITD}\r\n", {"syscall": 13}, id="CRLF"),
    pytest.param(
        "type=SECCOMP msg=audit(11/28/2026 17:55:24.926:4081) : auid=unset uid=root gid=root ses=unset "
        "pid=26871 comm=sg log é exe=/usr/bin/python3.11 sig=SIG0 arch=x86_64 syscall=getppid compat=0 "
        "ip=0x7fc30aaf34f7 code=log",
        {
            "syscall": 110,
            "arch": X86_64,
            "timestamp": None,
            "serial": 4081,
            "uid": 0,
            "auid": 0xFFFFFFFF,
            "comm": "sg log é",
            "framing": "interpreted",
        },
        id="ausearch -i names",
    ),
    pytest.param(
        "type=SECCOMP msg=audit(11/28/2026 17:55:24.958:4089) : auid=unset uid=alice gid=root ses=unset "
        "pid=26877 comm=sg-kill exe=/usr/bin/python3.11 sig=SIGSYS arch=i386 syscall=getpid compat=1 "
        "ip=0x7fc30aaf34f7 code=kill",
        {"syscall": 20, "arch": I386, "uid": None, "sig": 31, "action": Action(ActionKind.KILL_THREAD)}
        | {"timestamp": None, "serial": 4089},
        id="ausearch -i i386, user name",
    ),
    pytest.param(
        "type=SECCOMP msg=audit(11/28/26 17:55:24.926:4082) : auid=unknown(20003) uid=root gid=voice "
        "ses=unset pid=26871 comm=sg log é exe=/root/.pyenv/versions/3.11.7/bin/python3.11 sig=SIG0 "
        "arch=x86_64 syscall=unknown-syscall(1073741863) compat=0 ip=0x7fc30ab1f829 code=user-notify ",
        {"syscall": 0x40000027, "arch": X86_64, "auid": 20003, "gid": None, "serial": 4082, "timestamp": None}
        | {"action": Action(ActionKind.USER_NOTIF), "framing": "interpreted"},
        id="ausearch -i as printed: unknown-syscall(N), unknown(N), trailing space",
    ),
    pytest.param(
        f"audit: type=1326 {STAMP}" + _fields(comm="72756E6320322E31", exe="2F746D702F612062"),
        {"comm": "runc 2.1", "exe": "/tmp/a b"},
        id="hex comm and exe",
    ),
    pytest.param(
        f"audit: type=1326 {STAMP}" + _fields(comm="FF41"), {"comm": "\\xffA"}, id="hex comm, not UTF-8"
    ),
    pytest.param(
        f"audit: type=1326 {STAMP}" + _fields(comm='"runc:[2:INIT]"', exe='"/"'),
        {"comm": "runc:[2:INIT]", "exe": "/"},
        id="runc init, exe=/",
    ),
    pytest.param(f"audit: type=1326 {STAMP}" + _fields(exe="(null)"), {"exe": "(null)"}, id="exe (null)"),
    pytest.param(
        f"audit: type=1326 {STAMP}"
        + FIELDS.replace(" pid=", " subj=system_u:system_r:spc_t:s0:c284,c594 pid="),
        {"subj": "system_u:system_r:spc_t:s0:c284,c594"},
        id="selinux subj with comma",
    ),
    pytest.param(
        f"audit: type=1326 {STAMP}"
        + FIELDS.replace(" pid=", " subj==cri-containerd.apparmor.d (enforce) pid="),
        {"subj": "cri-containerd.apparmor.d (enforce)", "pid": 4709},
        id="subj==, spaces and parentheses",
    ),
    pytest.param(
        f"audit: type=1326 {STAMP}" + FIELDS.replace(" pid=", " subj=? pid="), {"subj": "?"}, id="subj=?"
    ),
    pytest.param(
        f"audit: type=1326 {STAMP}" + FIELDS.replace(" pid=", " subj=_ pid="), {"subj": "_"}, id="subj=_"
    ),
    pytest.param(
        f"audit: type=1326 audit(1625740283.502:0): {FIELDS}", {"serial": 0, "event_id": None}, id="serial 0"
    ),
    pytest.param(BARE, {"event_id": (1625740283.502, 574)}, id="event id"),
    pytest.param(
        f"audit: type=1326 {STAMP}" + FIELDS.replace(" arch=c000003e", ""),
        {"arch": None, "syscall": 13},
        id="no arch",
    ),
    pytest.param(
        'audit: type=1701 audit(1357000000.123:45): auid=1000 uid=1000 gid=1000 ses=2 pid=77 comm="a.out" '
        'exe="/tmp/a.out" reason="seccomp" sig=31 syscall=39 compat=0 ip=0x400b2c code=0x0',
        {"syscall": 39, "arch": None, "sig": 31, "action": Action(ActionKind.KILL_THREAD)}
        | {"timestamp": 1357000000.123, "serial": 45},
        id="legacy 1701 reason=seccomp",
    ),
    pytest.param(
        f"audit: type=1326 {STAMP}" + _fields(code="0x80000000", sig="31"),
        {"action": Action(ActionKind.KILL_PROCESS), "sig": 31},
        id="kill process",
    ),
    pytest.param(
        f"audit: type=1326 {STAMP}" + _fields(code="0x50001"),
        {"action": Action(ActionKind.ERRNO, 1)},
        id="errno 1",
    ),
    pytest.param(
        f"audit: type=1326 {STAMP}" + _fields(code="0x0", sig="31"),
        {"action": Action(ActionKind.KILL_THREAD), "sig": 31},
        id="kill thread",
    ),
    pytest.param(
        f"audit: type=1326 {STAMP}" + _fields(code="0x30000"), {"action": Action(ActionKind.TRAP)}, id="trap"
    ),
    pytest.param(
        f"audit: type=1326 {STAMP}" + _fields(code="0x7ff00007"),
        {"action": Action(ActionKind.TRACE, 7)},
        id="trace with data",
    ),
    pytest.param(
        f"audit: type=1326 {STAMP}" + _fields(code="0x7fc00000"),
        {"action": Action(ActionKind.USER_NOTIF)},
        id="user notif",
    ),
    pytest.param(
        f"audit: type=1326 {STAMP}" + _fields(code="0x7fff0000"),
        {"action": Action(ActionKind.ALLOW)},
        id="allow",
    ),
    pytest.param(
        f"audit: type=1326 {STAMP}" + _fields(syscall="1073741863"),
        {"syscall": 0x40000027},
        id="x32 bit kept",
    ),
    pytest.param(
        f"audit: type=1326 {STAMP}" + _fields(arch="40000003", syscall="265", compat="1"),
        {"arch": I386, "compat": 1, "syscall": 265},
        id="i386 compat",
    ),
    pytest.param(
        f"[   92.396607] general protection fault: 0000 [#1] [ 387.811073] {BARE}",
        {"framing": "uptime,audit-prefix,mid-line"},
        id="record mid-line",
    ),
    pytest.param(
        f"audit: type=1326 {STAMP}" + _fields(ip="0xffffffffffffffff"), {"ip": 2**64 - 1}, id="ip at 2^64-1"
    ),
]


@pytest.mark.parametrize(("line", "expected"), PARSED)
def test_parsed(line: str, expected: dict[str, object]) -> None:
    parser = RecordParser()
    event = parser.feed_line(line)
    assert isinstance(event, SeccompEvent), parser.stats
    for name, value in {**COMMON, **expected}.items():
        assert getattr(event, name) == value, name
    assert parser.stats.records == 1


@pytest.mark.parametrize(("line", "expected"), PARSED)
def test_chunk_path_equals_line_path(line: str, expected: dict[str, object]) -> None:
    """The fast path over a chunk gives exactly what the general path gives, line for line."""
    del expected
    data = f"noise before\n{line.rstrip()}\nnoise after\n".encode()
    by_chunk = RecordParser()
    assert by_chunk.feed_chunk(data) == [RecordParser().feed_line(line)]
    assert (by_chunk.stats.records, by_chunk.stats.noise, by_chunk.stats.lines) == (1, 2, 3)


SKIPPED = [
    pytest.param(BARE.replace("type=1326", "type=1300"), "other-audit-type", id="type 1300"),
    pytest.param(BARE.replace("type=1326", "type=1016"), "other-audit-type", id="type 1016"),
    pytest.param(
        'audit: type=1400 audit(1.000:1): apparmor="DENIED" operation="open" profile="x" name="/etc/shadow"',
        "other-audit-type",
        id="apparmor 1400",
    ),
    pytest.param(
        'audit: type=1701 audit(1.000:1): auid=0 uid=0 gid=0 ses=1 pid=7 comm="a" exe="/a" '
        'reason="memory violation" sig=11 res=1',
        "other-audit-type",
        id="1701 core dump",
    ),
    pytest.param("audit: type=1326 syscall=1", "malformed-record", id="no stamp"),
    pytest.param(BARE.replace("auid=4294967295", "auid4294967295"), "malformed-fields", id="auid typo"),
    pytest.param(  # as posted in a blog ("NVIDIA Jetson issue 및 해결", 2025-11-03): aarch64, `=` lost
        "jetson audit: type=1326 audit(1761640322.080:4): auid4294967295 uid=0 gid=0 ses=4294967295 pid=1644 "
        'comm="cups-browsed" exe="/snap/cups/1113/sbin/cups-browsed" sig=0 arch=c00000b7 syscall=274 '
        "compat=0 ip=0xffff9dcf5b68 code=0x50000",
        "malformed-fields",
        id="auid typo as posted",
    ),
    pytest.param(BARE.replace("uid=0 gid=0 ", ""), "missing-field", id="no uid gid"),
    pytest.param(BARE.replace(" uid=0", " uid=invalid"), "malformed-number", id="uid not a number"),
    pytest.param(BARE.replace("syscall=13", "syscall=-1"), "negative-number", id="negative syscall"),
    pytest.param(BARE.replace("uid=0", "uid=4294967296", 1), "number-out-of-range", id="uid over 2^32"),
    pytest.param(BARE.replace("syscall=13", f"syscall={2**64}"), "number-out-of-range", id="syscall 2^64"),
    pytest.param(
        BARE.replace("ip=0x7f3c012e467b", "ip=0x1ffffffffffffffff"), "malformed-number", id="ip over 2^64"
    ),
    pytest.param(BARE.replace(":574)", f":{2**32})"), "number-out-of-range", id="serial over 2^32"),
    pytest.param(BARE.replace("pid=4709", "pid=99999999999"), "number-out-of-range", id="pid over 2^31"),
    pytest.param(BARE[: BARE.index(" code=")], "truncated", id="truncated before code"),
    pytest.param(BARE[: BARE.index(" arch=")], "truncated", id="truncated mid-record"),
    pytest.param(BARE.replace(" sig=0", ""), "missing-field", id="no sig"),
    pytest.param(
        BARE.replace("code=0x7ffc0000", "code=0x7ffc0000 junk"), "malformed-fields", id="trailing junk"
    ),
    pytest.param(BARE.replace('"sh"', '"s h"'), "malformed-string", id="quoted comm with space"),
    pytest.param(BARE.replace('"sh"', "736"), "malformed-string", id="odd hex comm"),
    pytest.param(BARE.replace('"sh"', '"sé"'), "malformed-string", id="quoted non-ASCII"),
    pytest.param(BARE.replace(" sig=0", " sig=0 uid=0"), "malformed-fields", id="duplicate key"),
    pytest.param(BARE.replace("ses=4294967295 ", "") + " ses=1", "malformed-fields", id="key out of order"),
    pytest.param(BARE.replace("arch=c000003e", "arch=C000003E"), "malformed-number", id="upper-case arch"),
    pytest.param(
        BARE.replace("code=0x7ffc0000", "code=0x17ffc0000"), "malformed-fields", id="code over 32 bits"
    ),
    pytest.param(BARE.replace("comm=", "co\x00mm="), "nul-byte", id="NUL byte"),
    pytest.param("\x00\x00\x00" + BARE, "nul-byte", id="NUL run before record"),
    pytest.param(BARE.replace(STAMP, "audit(garbage:1): "), "malformed-stamp", id="bad stamp"),
    pytest.param('{"MESSAGE": "audit: type=1326 audit(', "malformed-json", id="broken json"),
    pytest.param(
        _journal(None, "audit", _AUDIT_TYPE="1326", _AUDIT_FIELD_SYSCALL="13", _AUDIT_FIELD_ARCH="c000003e"),
        "message-not-shown",
        id="journal json audit record with MESSAGE null (over 4096 bytes)",
    ),
    pytest.param(
        _journal(None, "audit", _AUDIT_TYPE="1701", _AUDIT_FIELD_REASON='"seccomp"', _AUDIT_FIELD_SIG="31"),
        "message-not-shown",
        id="journal json 1701 seccomp with MESSAGE null",
    ),
    pytest.param(BARE + " " + "x" * MAX_LINE, "too-long", id="over-long line"),
    pytest.param(
        "type=SECCOMP msg=audit(11/28/2026 17:55:24.926:4081) : auid=unset uid=root gid=root ses=unset pid=1 "
        "comm=x exe=/x sig=SIG0 arch=x86_64 syscall=no_such_call compat=0 ip=0x1 code=log",
        "unknown-syscall-name",
        id="ausearch -i unknown name",
    ),
    pytest.param(
        "type=SECCOMP msg=audit(11/28/2026 17:55:24.926:4081) : auid=unset uid=root gid=root ses=unset pid=1 "
        "comm=x exe=/x sig=SIG0 arch=vax syscall=open compat=0 ip=0x1 code=log",
        "unknown-abi",
        id="ausearch -i unknown arch",
    ),
    pytest.param("\ufffd\ufffdaudit: type=1326 \ufffd", "malformed-record", id="binary junk"),
    pytest.param(
        "type=SECCOMP msg=audit(02/17/21 21:11:57.899:6461) : auid=unset uid=root gid=root ses=unset "
        "pid=2039886 comm=ls exe=/bin/ls sig=SIG0 arch=x86_64 syscall=close compat=0 ip=0x7f62dce3d4c7 "
        'code=user-notify UID="root" GID="root" ARCH=x86_64 SYSCALL=close ',
        "malformed-fields",
        id="ausearch -i misreading a code glued to auditd's enrichment",
    ),
]


@pytest.mark.parametrize(("line", "reason"), SKIPPED)
def test_skipped(line: str, reason: str) -> None:
    parser = RecordParser()
    assert parser.feed_line(line) is None
    assert parser.stats.skipped == {reason: 1}


@pytest.mark.parametrize(("line", "reason"), SKIPPED)
def test_chunk_skips_the_same(line: str, reason: str) -> None:
    parser = RecordParser()
    assert parser.feed_chunk(line.encode() + b"\n") == []
    assert parser.stats.skipped == {reason: 1}


SYSLOG_LOSS = (
    "2026-11-28T17:47:48.191805+00:00 vm kernel: [22218.277427] kauditd_printk_skb: 690 callbacks suppressed"
)
LOSSES = [
    pytest.param(
        "[ 3683.829070] kauditd_printk_skb: 1 callbacks suppressed", LossKind.PRINTK_SUPPRESSED, 1, id="dmesg"
    ),
    pytest.param(
        "4,3121,22739336154,-;kauditd_printk_skb: 519 callbacks suppressed",
        LossKind.PRINTK_SUPPRESSED,
        519,
        id="kmsg",
    ),
    pytest.param(
        SYSLOG_LOSS,
        LossKind.PRINTK_SUPPRESSED,
        690,
        id="syslog",
    ),
    pytest.param(
        _journal("kauditd_printk_skb: 7 callbacks suppressed"), LossKind.PRINTK_SUPPRESSED, 7, id="json"
    ),
    pytest.param(
        "[  249.267125] audit_printk_skb: 9 callbacks suppressed",
        LossKind.PRINTK_SUPPRESSED,
        9,
        id="older kernels' name (forums-1701.log)",
    ),
    pytest.param("[   10.0] audit: printk limit exceeded", LossKind.PRINTK_LIMIT, None, id="printk limit"),
    pytest.param(
        "Jul  6 15:37:40 h kernel: audit: audit_lost=5 audit_rate_limit=0 audit_backlog_limit=64",
        LossKind.AUDIT_LOST,
        5,
        id="audit_lost syslog",
    ),
    pytest.param(
        "5,1,2,-;audit: audit_lost=12 audit_rate_limit=0 audit_backlog_limit=64",
        LossKind.AUDIT_LOST,
        12,
        id="audit_lost kmsg",
    ),
    pytest.param("audit: backlog limit exceeded", LossKind.BACKLOG_LIMIT, None, id="backlog"),
    pytest.param("audit: rate limit exceeded", LossKind.AUDIT_LOST, None, id="rate limit"),
    pytest.param(
        "Nov 28 17:56:03 vm systemd-journald[91]: Suppressed 1234 messages from /system.slice/x.service",
        LossKind.JOURNAL_SUPPRESSED,
        1234,
        id="journald suppressed",
    ),
    pytest.param(
        _journal("Suppressed 3 messages from /system.slice/x.service", "driver"),
        LossKind.JOURNAL_SUPPRESSED,
        3,
        id="journald suppressed json",
    ),
    pytest.param(
        "Nov 28 17:56:03 vm systemd-journald[91]: Missed 8 kernel messages",
        LossKind.KMSG_GAP,
        8,
        id="journald missed kmsg",
    ),
]


@pytest.mark.parametrize(("line", "kind", "count"), LOSSES)
def test_losses(line: str, kind: LossKind, count: int | None) -> None:
    parser = RecordParser()
    loss = parser.feed_line(line)
    assert loss == LossEvent(kind, count, loss.timestamp if loss else None, line)
    assert parser.stats.losses == 1
    by_chunk = RecordParser()
    assert by_chunk.feed_chunk(line.encode() + b"\n") == [loss]


def test_loss_time_from_rfc3339_and_journal() -> None:
    syslog = SYSLOG_LOSS
    assert next(iter(parse_lines([syslog]))) == LossEvent(
        LossKind.PRINTK_SUPPRESSED, 690, 1795888068.191805, syslog
    )
    for header, stamp in (
        ("1795888068.191805 vm kernel: ", 1795888068.191805),  # journalctl -o short-unix
        ("Sat 2026-11-28 17:47:48 UTC vm kernel: ", 1795888068.0),  # -o short-full, UTC
        ("Sat 2026-11-28 18:47:48 CET vm kernel: ", None),  # a zone's abbreviation is not mapped
    ):
        loss = next(iter(parse_lines([header + "kauditd_printk_skb: 3 callbacks suppressed"])))
        assert isinstance(loss, LossEvent)
        assert loss.timestamp == stamp
    journal = _journal("kauditd_printk_skb: 7 callbacks suppressed")
    loss = next(iter(parse_lines([journal])))
    assert isinstance(loss, LossEvent)
    assert loss.timestamp == 1625740283.51


NOISE = [
    pytest.param("", id="empty"),
    pytest.param("Nov 28 17:56:03 vm sshd[1]: Accepted publickey for root", id="syslog noise"),
    pytest.param("----", id="ausearch separator"),
    pytest.param("time->Sat Nov 28 17:55:24 2026", id="ausearch time"),
    pytest.param(" SUBSYSTEM=acpi", id="kmsg continuation"),
    pytest.param("Suppressed some messages", id="not a count"),
    pytest.param("audit: type=1326", id="type alone is not a record candidate"),
    pytest.param("type=1326 syscall=1", id="no 'audit' at all: not a candidate"),
    pytest.param(
        _journal(None, "audit", _AUDIT_TYPE="1300"), id="journal json MESSAGE null, other audit type"
    ),
    pytest.param(
        _journal(None, "audit", _AUDIT_TYPE="1701", _AUDIT_FIELD_REASON='"memory violation"'),
        id="journal json MESSAGE null, 1701 of another reason",
    ),
    pytest.param(_journal(None, "kernel", SYSLOG_IDENTIFIER="audit"), id="journal json MESSAGE null, kernel"),
]


@pytest.mark.parametrize("line", NOISE)
def test_noise(line: str) -> None:
    parser = RecordParser()
    assert parser.feed_line(line) is None
    assert (parser.stats.noise, parser.stats.skipped) == (1, {})


def test_seccomp_under_another_tag_is_skipped_with_its_reason() -> None:
    """Since journalctl -o cat's bare `SECCOMP auid=` bodies are read, such a body is a candidate
    everywhere; under a tag that is not audit[PID] it is no record, and a skip says so."""
    parser = RecordParser()
    assert parser.feed_line(f"Nov 28 17:56:03 vm myapp: SECCOMP {FIELDS}") is None
    assert parser.stats.skipped == {"malformed-record": 1}


FORCED = [
    pytest.param(Format.KMSG, f"5,1,2,-;{BARE}", Transport.KMSG, id="kmsg"),
    pytest.param(Format.PRINTK, f"[ 1.0] {BARE}", Transport.PRINTK, id="printk"),
    pytest.param(Format.SYSLOG, f"Jul  6 15:37:40 h kernel: {BARE}", Transport.SYSLOG, id="syslog"),
    pytest.param(
        Format.JOURNAL, f"Jul  6 15:37:40 h kernel: {BARE}", Transport.JOURNAL_KERNEL, id="journal kernel"
    ),
    pytest.param(
        Format.JOURNAL, f"Jul  6 15:37:40 h sh[2]: {BARE}", Transport.JOURNAL_OTHER, id="journal other"
    ),
    pytest.param(Format.JOURNAL_JSON, _journal(BARE, "audit"), Transport.JOURNAL_AUDIT, id="json"),
    pytest.param(Format.AUDITD, AUDITD, Transport.AUDITD, id="auditd"),
]


@pytest.mark.parametrize(("fmt", "line", "transport"), FORCED)
def test_forced_format_reads_its_own(fmt: Format, line: str, transport: Transport) -> None:
    event = RecordParser(fmt).feed_line(line)
    assert isinstance(event, SeccompEvent)
    assert event.transport is transport
    assert RecordParser(fmt).feed_chunk(line.encode()) == [event]


@pytest.mark.parametrize(("fmt", "line", "transport"), FORCED)
def test_forced_format_rejects_others(fmt: Format, line: str, transport: Transport) -> None:
    del line, transport
    others = [
        f"5,1,2,-;{BARE}",
        f"[ 1.0] {BARE}",
        f"Jul  6 15:37:40 h kernel: {BARE}",
        _journal(BARE),
        AUDITD,
    ]
    parser = RecordParser(fmt)
    accepted = [line for line in others if parser.feed_line(line) is not None]
    assert len(accepted) == 1
    assert parser.stats.skipped == {"wrong-format": len(others) - 1}


def test_stats_account_for_every_line() -> None:
    lines = [
        BARE,
        "noise",
        BARE.replace("1326", "1300"),
        "audit: backlog limit exceeded",
        "type=1326 x",
        AUDITD,
    ]
    by_line, by_chunk = RecordParser(), RecordParser()
    for line in lines:
        by_line.feed_line(line)
    by_chunk.feed_chunk("\n".join(lines).encode())
    for stats in (by_line.stats, by_chunk.stats):
        assert (stats.lines, stats.records, stats.losses, stats.noise) == (6, 2, 1, 2)
        assert stats.skipped == {"other-audit-type": 1}
        assert stats.lines == stats.records + stats.losses + stats.noise + stats.skipped_total


def test_chunk_of_bytes_that_are_not_utf8() -> None:
    data = b"\xff\xfe garbage \x80 type=1326 \xc3\n" + BARE.encode() + b"\n\xff" * 3
    parser = RecordParser()
    events = parser.feed_chunk(data)
    assert [e.syscall for e in events if isinstance(e, SeccompEvent)] == [13]
    assert parser.stats.lines == 5


def test_parse_lines_and_flush() -> None:
    assert [e.syscall for e in parse_lines([BARE, "x", AUDITD]) if isinstance(e, SeccompEvent)] == [13, 13]
    assert RecordParser().flush() == []


def test_iter_chunks_bounds_an_endless_line() -> None:
    dropped: list[int] = []
    stream = io.BytesIO(b"a\n" + b"x" * 5_000_000 + b"\n" + BARE.encode() + b"\nlast")
    chunks = list(iter_chunks(stream, max_line=1000, block=4096, on_drop=dropped.append))
    assert max(len(chunk) for chunk in chunks) <= 4096 + 1000
    assert b"".join(chunks) == b"a\n" + BARE.encode() + b"\nlast"
    assert dropped == [1]


def test_iter_lines_drops_long_lines_and_keeps_newlines() -> None:
    dropped: list[int] = []
    stream = io.BytesIO(b"one\r\n" + b"y" * 50 + b"\ntwo\x1dthree\nend")
    assert list(iter_lines(stream, max_line=20, on_drop=dropped.append)) == [
        b"one\r\n",
        b"two\x1dthree\n",
        b"end",
    ]
    assert dropped == [1]


def test_count_skipped_for_dropped_lines() -> None:
    parser = RecordParser()
    stream = io.BytesIO(b"z" * 300_000 + b"\n" + BARE.encode() + b"\n")
    chunks = iter_chunks(stream, block=65536, on_drop=lambda n: parser.count_skipped(SkipReason.TOO_LONG, n))
    events = [event for chunk in chunks for event in parser.feed_chunk(chunk)]
    assert len(events) == 1
    assert (parser.stats.lines, parser.stats.skipped) == (2, {"too-long": 1})


def test_dense_chunk_with_gaps_equals_line_path() -> None:
    """A chunk made mostly of records goes through finditer; the odd lines between are still seen."""
    lines = [BARE] * 6 + [
        "noise",
        "audit: backlog limit exceeded",
        BARE.replace("1326", "1400"),
        BARE.replace("uid=0", "uid=x", 1),
        f'{{"MESSAGE": [{", ".join(str(b) for b in BARE.encode())}], "_TRANSPORT": "kernel"}}',
        AUDITD,
        f"node=web1 {AUDITD}\x1dARCH=x86_64",
    ]
    data = "\n".join(lines).encode()
    by_chunk = RecordParser()
    by_line = RecordParser()
    expected = [result for line in lines if (result := by_line.feed_line(line)) is not None]
    assert by_chunk.feed_chunk(data) == expected
    assert len(expected) == 10
    assert by_chunk.stats == by_line.stats


@pytest.mark.parametrize("fmt", list(Format), ids=[fmt.value for fmt in Format])
def test_every_table_line_mixed_in_one_chunk_reads_as_by_line(fmt: Format) -> None:
    """All the table lines in one chunk, under each format: the fast path and the general path agree."""
    tables = [*PARSED, *SKIPPED, *LOSSES, *NOISE]
    lines = [line for param in tables if (line := str(param.values[0]).rstrip("\r\n"))]
    lines += [BARE] * len(lines)  # as many records again: the chunk goes down the dense path
    by_chunk, by_line = RecordParser(fmt), RecordParser(fmt)
    chunk_results = by_chunk.feed_chunk("\n".join(lines).encode())
    assert chunk_results == [result for line in lines if (result := by_line.feed_line(line)) is not None]
    assert by_chunk.stats == by_line.stats


RFC3339_HEAD = "2026-11-28T11:00:00.468493+00:00 vm1 kernel: [22675.017521] "


@pytest.mark.parametrize(
    "variants",
    [
        pytest.param(
            [f"Jul {day} 15:37:40 h kernel: {BARE}" for day in (" 6", "16", "36", "46", "06", "99")],
            id="rfc3164 days (first digit 0-3 only)",
        ),
        pytest.param(
            [
                f"{RFC3339_HEAD.replace('vm1', host)}{BARE}"
                for host in ("vm1", "vm2", "a0", "v", "vm\x1d", "vm\xa0", "vm\x85", "v\u3000m")
            ],
            id="hosts (with characters str patterns call spaces)",
        ),
        pytest.param([f"<{pri}>[  270.853767] {BARE}" for pri in (5, 6, 12, 1234)], id="PRI values"),
        pytest.param([f"{level},27,2267,-;{BARE}" for level in (5, 6, 14, 12345)], id="kmsg levels"),
        pytest.param(
            [
                f"node={node} {AUDITD}"
                for node in ("web1", "web2", "w 1", "audit(x", "web1\x1d", "\x1fweb", "w\xa0")
            ]
            + [f"{AUDITD}\x1dARCH=x86_64"],
            id="auditd nodes",
        ),
        pytest.param(
            [
                BARE.replace(":574)", f":{serial})")
                for serial in (0, 4294967295, 4294967296, 99999999999, "5x")
            ],
            id="serials",
        ),
        pytest.param(
            [
                BARE.replace("1625740283.502", stamp)
                for stamp in ("1.000", "12.5", "1.0001", "123456789012345678901.000")
            ],
            id="stamps",
        ),
        pytest.param(
            [
                BARE.replace("pid=4709", f"pid={pid}")
                for pid in (1, 2147483647, 2147483648, "12345678901", "0" * 20 + "1", "-1", "1x")
            ],
            id="pids",
        ),
        pytest.param(
            [
                BARE.replace("0x7f3c012e467b", ip)
                for ip in ("0x0", "0xffffffffffffffff", "0x1ffffffffffffffff", "0xAB", "0x0x1", "0x", "0x1_0")
            ],
            id="ips",
        ),
        pytest.param(
            [
                BARE.replace("ses=4294967295", f"ses=4294967295 subj={subj}")
                for subj in ("unconfined", "=lbl (enforce)", "a pid=1 b", "x ip=0x1", "a\x1db")
            ],
            id="subjects",
        ),
        pytest.param(
            [
                BARE.replace("code=0x7ffc0000", f"code={code}")
                for code in (
                    "0x50001",
                    "0x7ffc0000ARCH=x86_64",
                    "0x7ffc0000 extra",
                    "0x7ffc0000\r",
                    "0x123456789",
                )
            ],
            id="codes",
        ),
        pytest.param(
            [
                BARE.replace('comm="sh"', f"comm={comm}")
                for comm in ('"a b"', "736", "7368", '"s"h"', '"sh" pid=1')
            ],
            id="comms",
        ),
    ],
)
@pytest.mark.parametrize("noise", [0, 5], ids=["dense", "sparse"])
def test_record_variants_in_a_chunk_read_as_by_line(variants: list[str], noise: int) -> None:
    """Records whose repeating parts (framing, ids, comm..compat, code) are the same but whose varying
    parts differ, or the reverse, all in one chunk (mostly records, or mostly noise): each reads
    exactly as the general path reads it.
    """
    lines = [line for variant in variants for line in (variant, BARE, variant, *["noise"] * noise)]
    by_chunk, by_line = RecordParser(), RecordParser()
    chunk_results = by_chunk.feed_chunk("\n".join(lines).encode())
    assert chunk_results == [result for line in lines if (result := by_line.feed_line(line)) is not None]
    assert by_chunk.stats == by_line.stats
    assert by_line.stats.records > len(variants)  # some variants are records, not only rejects


@pytest.mark.parametrize("fmt", [Format.AUTO, Format.AUDITD, Format.SYSLOG], ids=lambda fmt: fmt.value)
def test_auditd_other_types_in_a_dense_chunk_read_as_by_line(fmt: Format) -> None:
    """auditd's SYSCALL/PATH/... lines are counted by the shape of their head: exactly the lines the
    general path calls ``other-audit-type``, under every format.
    """
    others = [
        "type=SYSCALL msg=audit(1625740283.502:574): arch=c000003e syscall=257 success=yes",
        "type=1300 msg=audit(1625740283.502:574): arch=c000003e",
        "type=PROCTITLE audit(1.000:5): proctitle=6361",
        "type=CWD msg=audit(1.000:5) : cwd=/",
        "type=CWD msg=audit(1.000:5)",
        "type=CWD msg=audit(1.0(0:5): cwd=/",
        "type=X msg=audit(1.000:5)): x",
        "type=SYSCALLé msg=audit(1.000:5): x",
        "node=web1 type=SYSCALL msg=audit(1.000:5): x",
        "node=web\x1d1 type=SYSCALL msg=audit(1.000:5): x",
        "node=w\xa0 type=SYSCALL msg=audit(1.000:5): x",
        'type=ANOM_ABEND msg=audit(1.000:5): auid=0 reason="memory violation"',
        "type=" + "T" * 33 + " msg=audit(1.000:5): x",
        "type=PATH msg=audit(" + "1" * 65 + "): x",
        "type=PATH msg=audit(1.000:5): " + "x" * MAX_LINE,
        "type=PATH msg=audit(1.000:5): " + "x" * (MAX_LINE - 30),
    ]
    lines = [line for other in others for line in (other, AUDITD)]
    by_chunk, by_line = RecordParser(fmt), RecordParser(fmt)
    chunk_results = by_chunk.feed_chunk("\n".join(lines).encode())
    assert chunk_results == [result for line in lines if (result := by_line.feed_line(line)) is not None]
    assert by_chunk.stats == by_line.stats
    if fmt is not Format.SYSLOG:
        assert by_line.stats.skipped[SkipReason.OTHER_AUDIT_TYPE] >= 4


AUDITD_OTHERS = [
    "type=SYSCALL msg=audit(1625740283.502:574): arch=c000003e syscall=257 success=yes exit=3",
    'type=CWD msg=audit(1625740283.502:574): cwd="/root"',
    "type=PROCTITLE msg=audit(1625740283.502:574): proctitle=636174",
    'type=ANOM_ABEND msg=audit(1625740283.502:575): auid=0 pid=1 comm="x" reason="memory violation" sig=11',
]


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param([], id="well-formed"),
        pytest.param(
            [AUDITD.replace("uid=0", "uid=x", 1), f"{AUDITD}\x1dARCH=x86_64 SYSCALL=close"], id="odd records"
        ),
        pytest.param(
            [AUDITD.replace("type=SECCOMP", "type=1701").replace(" sig=", ' reason="seccomp" sig=')],
            id="1701",
        ),
        pytest.param(["type=PATH msg=audit(1.000:5): " + "x" * MAX_LINE], id="a line over MAX_LINE"),
        pytest.param(["node=web1 " + AUDITD_OTHERS[0]], id="node="),
        pytest.param(["type=PATH msg=audit(1.000:5) : x"], id="other stamp spacing"),
        pytest.param(["", "noise"], id="blank and noise"),
    ],
)
@pytest.mark.parametrize("fmt", [Format.AUTO, Format.AUDITD], ids=lambda fmt: fmt.value)
def test_auditd_log_chunk_reads_as_by_line(extra: list[str], fmt: Format) -> None:
    """A chunk of auditd's log (other types counted in bulk when every line is well-formed) reads as
    the general path reads it line by line, with or without a final newline.
    """
    lines = [*AUDITD_OTHERS, AUDITD, *AUDITD_OTHERS, *extra, AUDITD, *AUDITD_OTHERS]
    for data in ("\n".join(lines), "\n".join(lines) + "\n"):
        by_chunk, by_line = RecordParser(fmt), RecordParser(fmt)
        chunk_results = by_chunk.feed_chunk(data.encode())
        assert chunk_results == [result for line in lines if (result := by_line.feed_line(line)) is not None]
        assert by_chunk.stats == by_line.stats
        assert by_line.stats.skipped[SkipReason.OTHER_AUDIT_TYPE] >= 10
