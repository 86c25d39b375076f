"""explain: records decoded for a person (library), and the ``seccomp-gen explain`` command."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from seccomp_gen.actions import Action, ActionKind
from seccomp_gen.cli import main
from seccomp_gen.events import LossEvent, LossKind, SeccompEvent
from seccomp_gen.explain import Summary, action_text, explain, explain_event, iso_time
from seccomp_gen.parse_stats import SkipReason
from seccomp_gen.records import RecordParser, parse_lines

DATA = Path(__file__).parent / "data" / "records"
RECORD = (
    "audit: type=1326 audit(1795888524.926:4081): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=26871 "
    'comm="sh" exe="/bin/busybox" sig=0 arch=c000003e syscall=110 compat=0 ip=0x7fc30aaf34f7 code=0x7ffc0000'
)


def _event(**changes: str) -> SeccompEvent:
    line = RECORD
    for key, value in changes.items():
        start = line.index(f" {key}=") + 1
        end = line.find(" ", start)
        line = line[:start] + f"{key}={value}" + (line[end:] if end >= 0 else "")
    event = next(iter(parse_lines([line])))
    assert isinstance(event, SeccompEvent)
    return event


ROWS = [
    pytest.param({}, "x86_64 getppid LOG", id="x86_64 log"),
    pytest.param({"syscall": "1073741863"}, "x32 getpid LOG", id="x32 bit"),
    pytest.param({"arch": "40000003", "syscall": "20", "compat": "1"}, "i386 getpid LOG", id="i386"),
    pytest.param({"arch": "c00000b7", "syscall": "56"}, "aarch64 openat LOG", id="aarch64"),
    pytest.param({"code": "0x50001"}, "x86_64 getppid ERRNO(EPERM)", id="errno with data"),
    pytest.param({"code": "0x50000"}, "x86_64 getppid ERRNO", id="errno as the kernel logs it"),
    pytest.param({"code": "0x80000000"}, "x86_64 getppid KILL_PROCESS", id="kill process"),
    pytest.param({"code": "0x0"}, "x86_64 getppid KILL_THREAD", id="kill thread"),
    pytest.param({"syscall": "999"}, "x86_64 unknown(999) LOG", id="number no table has"),
    pytest.param({"arch": "deadbeef"}, "arch=deadbeef unknown(110) LOG", id="unknown AUDIT_ARCH"),
]


@pytest.mark.parametrize(("changes", "tail"), ROWS)
def test_row_text(changes: dict[str, str], tail: str) -> None:
    text = explain_event(_event(**changes)).text()
    assert text == f"2026-11-28T17:55:24.926Z pid=26871 comm=sh exe=/bin/busybox {tail}"


def test_record_without_arch() -> None:
    event = next(iter(parse_lines([RECORD.replace(" arch=c000003e", "")])))
    assert isinstance(event, SeccompEvent)
    row = explain_event(event)
    assert (row.abi, row.syscall) == (None, "unknown(110)")
    assert row.text().endswith("abi=? unknown(110) LOG")


def test_row_json_is_stable_and_complete() -> None:
    row = explain_event(_event(syscall="1073741863")).to_json()
    assert row == {
        "time": "2026-11-28T17:55:24.926Z",
        "pid": 26871,
        "comm": "sh",
        "exe": "/bin/busybox",
        "abi": "x32",
        "arch": "c000003e",
        "number": 0x40000027,
        "syscall": "getpid",
        "action": "LOG",
        "transport": "printk",
        "hostname": None,
        "serial": 4081,
    }


@pytest.mark.parametrize(
    ("comm", "shown"),
    [
        pytest.param("7367206C6F6720C3A9", 'comm="sg log é"', id="space: quoted"),
        pytest.param("1B5B326A", 'comm="\\u001b[2j"', id="terminal escape: never raw"),
        pytest.param('"runc:[2:INIT]"', "comm=runc:[2:INIT]", id="plain"),
    ],
)
def test_process_names_are_safe_to_print(comm: str, shown: str) -> None:
    assert shown in explain_event(_event(comm=comm)).text()


@pytest.mark.parametrize(
    ("action", "text"),
    [
        pytest.param(Action(ActionKind.ERRNO, 13), "ERRNO(EACCES)", id="errno name"),
        pytest.param(Action(ActionKind.ERRNO, 0), "ERRNO", id="no errno recorded"),
        pytest.param(Action(ActionKind.TRACE, 7), "TRACE(7)", id="trace data"),
        pytest.param(Action(ActionKind.USER_NOTIF), "USER_NOTIF", id="notify"),
    ],
)
def test_action_text(action: Action, text: str) -> None:
    assert action_text(action) == text


def test_iso_time() -> None:
    assert iso_time(0.0) == "1970-01-01T00:00:00.000Z"
    assert iso_time(1795888524.926) == "2026-11-28T17:55:24.926Z"
    assert iso_time(None) is None
    assert iso_time(1e300) is None


def test_loss_rows() -> None:
    assert (
        explain(LossEvent(LossKind.PRINTK_SUPPRESSED, 519)).text() == "- LOST printk-suppressed: 519 records"
    )
    row = explain(LossEvent(LossKind.BACKLOG_LIMIT, None, 0.5))
    assert row.text() == "1970-01-01T00:00:00.500Z LOST backlog-limit: an unknown number of records"
    assert row.to_json() == {"time": "1970-01-01T00:00:00.500Z", "lost": "backlog-limit", "count": None}


def test_summary_groups_by_process_and_syscall() -> None:
    summary = Summary()
    for event in (_event(), _event(), _event(syscall="59"), _event(comm='"other"')):
        summary.add(explain_event(event))
    summary.add(explain(LossEvent(LossKind.PRINTK_SUPPRESSED, 5)))
    summary.add(explain(LossEvent(LossKind.PRINTK_LIMIT, None)))
    doc = summary.to_json(lines=9, skipped={SkipReason.MALFORMED_FIELDS: 2}, noise=1)
    assert doc["records"] == 4
    assert doc["processes"] == [
        {
            "comm": "other",
            "exe": "/bin/busybox",
            "syscalls": [_count("getppid", 110, 1)],
        },
        {
            "comm": "sh",
            "exe": "/bin/busybox",
            "syscalls": [_count("getppid", 110, 2), _count("execve", 59, 1)],
        },
    ]
    assert doc["losses"] == [
        {"kind": "printk-limit", "markers": 1, "count": 0, "unknown": 1},
        {"kind": "printk-suppressed", "markers": 1, "count": 5, "unknown": 0},
    ]
    text = summary.text(lines=9, skipped={SkipReason.MALFORMED_FIELDS: 2}, noise=1)
    assert text[0] == "other /bin/busybox"
    assert text[3].split() == ["2", "x86_64", "getppid", "LOG"]
    assert "skipped: 2 lines (malformed-fields: 2)" in text
    assert text[-1] == "records: 4 in 9 lines (1 lines without records)"


def test_summary_takes_audit_lost_as_a_running_total() -> None:
    """``audit_lost=N`` states the kernel's total so far: two markers of 1 and 40 mean at least 40 lost,
    not 41. The first two lines are a real capture (tests/data/records/captured-ratelimit-kmsg.log).
    """
    summary = Summary()
    lines = [*(DATA / "captured-ratelimit-kmsg.log").read_text().splitlines()]
    lines.append("5,163990,64856570911,-;audit: audit_lost=40 audit_rate_limit=5 audit_backlog_limit=64")
    for item in parse_lines(lines):
        summary.add(explain(item))
    doc = summary.to_json(lines=3, skipped={}, noise=0)
    assert doc["losses"] == [{"kind": "audit-lost", "markers": 3, "count": 40, "unknown": 1}]
    text = summary.text(lines=3, skipped={}, noise=0)
    assert (
        "lost (audit-lost): at least 40 records (the kernel's running total) and 1 markers of unknown size, "
        "3 markers" in text
    )


def _count(name: str, number: int, count: int) -> dict[str, object]:
    stamp = "2026-11-28T17:55:24.926Z"
    return {"abi": "x86_64", "syscall": name, "number": number, "action": "LOG", "count": count,
            "first": stamp, "last": stamp}  # fmt: skip


# --- the command ---------------------------------------------------------------------------------


def test_cli_one_line_per_record(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", str(DATA / "captured-kmsg.log")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 11
    assert lines[3].endswith("i386 getpid LOG")
    assert lines[8].endswith("x86_64 getppid KILL_PROCESS")


def test_cli_reads_gzip_and_several_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    packed = tmp_path / "syslog.1.gz"
    packed.write_bytes(gzip.compress((DATA / "captured-syslog.log").read_bytes()))
    assert main(["explain", str(packed), str(DATA / "captured-losses-kmsg.log")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 12
    assert lines[-1] == "- LOST printk-suppressed: 519 records"


def test_cli_reads_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    data = (DATA / "captured-journal-json.log").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert main(["explain", "--summary", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["records"] == 22
    assert doc["lines"] == 22


def test_cli_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "--json", str(DATA / "captured-dmesg.log")]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["syscall"] for row in rows][:4] == ["getppid", "getpid", "mmap", "getpid"]
    assert [row["abi"] for row in rows][:4] == ["x86_64", "x32", "x86_64", "i386"]


def test_cli_summary_reports_skipped(capsys: pytest.CaptureFixture[str]) -> None:
    negative = DATA / "realworld" / "spo_auditsource_audit_test.negative.log"
    assert main(["explain", "--summary", str(negative)]) == 0
    out = capsys.readouterr().out
    assert "lost (printk-suppressed): 1 records, 1 markers" in out
    assert "skipped: 4 lines (malformed-number: 2, missing-field: 1, other-audit-type: 1)" in out


def test_cli_forced_format_notes_skips(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "--format", "auditd", str(DATA / "captured-syslog.log")]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "skipped 11 lines" in captured.err
    assert "wrong-format: 11" in captured.err


def test_cli_names_the_fix_for_a_nulled_journal_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A record journalctl -o json showed as ``"MESSAGE":null``: counted, and the note says how to see it."""
    entries = [json.loads(line) for line in (DATA / "captured-journal-json.log").read_text().splitlines()]
    audit = next(entry for entry in entries if entry["_TRANSPORT"] == "audit")
    log = tmp_path / "journal.json"
    log.write_text(json.dumps({**audit, "MESSAGE": None}) + "\n" + json.dumps(audit) + "\n")
    assert main(["explain", "--summary", str(log)]) == 0
    assert "skipped: 1 lines (message-not-shown: 1)" in capsys.readouterr().out
    assert main(["explain", str(log)]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 1
    assert "message-not-shown: 1" in captured.err
    assert "run it with --all" in captured.err


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(lambda d: d / "missing.log", "error: no such file: ", id="missing"),
        pytest.param(lambda d: d, "error: '", id="directory"),
        pytest.param(
            lambda d: _write(d / "bad.gz", b"\x1f\x8b\x08\x00junk"), "error: cannot read ", id="bad gzip"
        ),
    ],
)
def test_cli_bad_input_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: object, message: str
) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    assert main(["explain", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message)
    assert err.count("\n") == 1
    if path.is_dir():  # the message learn gives for it too (inputs.check_readable)
        assert err.rstrip().endswith("is a directory, not a log file")


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_cli_into_a_closed_pipe_has_no_traceback(tmp_path: Path) -> None:
    """``explain big.log | head -1``: output stops quietly when the reader goes away."""
    big = tmp_path / "big.log"
    big.write_bytes((DATA / "captured-kmsg.log").read_bytes() * 2000)
    script = "import sys; from seccomp_gen.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.Popen(
        [sys.executable, "-c", script, "explain", str(big)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith(b"2026-11-28T17:55:24.926Z")
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert b"Traceback" not in err


def _summaries(items: list[object], trust: str | None) -> tuple[Summary, Summary]:
    """The same items summed record by record (``add(explain_event(...))``) and grouped (``add_record``)."""
    from seccomp_gen.explain import explain_loss

    one_by_one, grouped = Summary(), Summary()
    for item in items:
        if isinstance(item, SeccompEvent):
            one_by_one.add(explain_event(item, trust))
            grouped.add_record(item, trust)
        else:
            assert isinstance(item, LossEvent)
            one_by_one.add(explain_loss(item))
            grouped.add(explain_loss(item))
    return one_by_one, grouped


def _rendered(summary: Summary) -> tuple[list[str], dict[str, object]]:
    return summary.text(lines=1, skipped={}, noise=0), summary.to_json(lines=1, skipped={}, noise=0)


@pytest.mark.parametrize("path", sorted(DATA.rglob("*.log")), ids=lambda path: path.name)
def test_grouped_summary_equals_the_one_by_one_summary(path: Path) -> None:
    """``explain --summary`` counts records without decoding each: it must say what decoding each says."""
    items: list[object] = list(RecordParser().feed_chunk(path.read_bytes()))
    for trust in (None, "untrusted"):
        one_by_one, grouped = _summaries(items, trust)
        assert _rendered(grouped) == _rendered(one_by_one)


def test_grouped_summary_keeps_first_and_last_and_odd_stamps() -> None:
    """Stamps in any order, equal to the millisecond, none, and past year 9999 (not sortable as text)."""
    base = SeccompEvent(syscall=0, arch=0xC000003E, action=Action(ActionKind.LOG), comm="a", exe="/a")
    stamps = [5.0004, 1.9996, None, 3.0, 1.9991, 9e12, 5.0001, 0.0]
    items: list[object] = [replace(base, timestamp=stamp, serial=n + 1) for n, stamp in enumerate(stamps)]
    items.append(replace(base, comm=None, timestamp=7.0))
    one_by_one, grouped = _summaries(items, "trusted")
    assert _rendered(grouped) == _rendered(one_by_one)
    rows = grouped.to_json(lines=9, skipped={}, noise=0)["processes"]
    assert isinstance(rows, list)
    assert rows[1]["syscalls"][0]["first"] == "1970-01-01T00:00:00.000Z"


def test_explain_inputs_is_the_library_call_the_cli_renders(tmp_path: Path) -> None:
    from seccomp_gen.errors import SourceError
    from seccomp_gen.explain_inputs import explain_inputs

    plain = _write(tmp_path / "a.log", (RECORD + "\nnoise\n").encode())
    packed = _write(tmp_path / "b.log.gz", gzip.compress((RECORD + "\n").encode()))
    rows: list[object] = []
    run = explain_inputs([str(plain), str(packed)], on_rows=rows.extend)
    assert (run.stats.lines, run.stats.records, run.summary) == (3, 2, None)
    assert [row.syscall for row in rows] == ["getppid", "getppid"]  # type: ignore[attr-defined]
    summed = explain_inputs([str(plain)], summary=True)
    assert summed.summary is not None
    assert summed.stats.records == 1
    with pytest.raises(SourceError, match="no such file"):  # checked before anything is read
        explain_inputs([str(plain), str(tmp_path / "missing")], on_rows=rows.extend)
    assert len(rows) == 2
