"""Forged records: trust by source, forgery heuristics (seccomp_gen.trust), and the real forgery.

The real one: a private rsyslogd (its own socket and files, nothing of the system's touched) takes
``logger -t kernel 'audit: type=1326 ...'`` from user nobody, exactly what any local user can do to
/var/log/syslog; and a record written into the live /dev/kmsg by root. Neither may be trusted; the
ones carrying a sign the kernel never writes are rejected, and no real line of any framing is.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from seccomp_gen.abi import get_abi
from seccomp_gen.cli import main
from seccomp_gen.events import SeccompEvent, Transport
from seccomp_gen.learn import learn_lines
from seccomp_gen.records import Format, RecordParser
from seccomp_gen.sources import SourceKind
from seccomp_gen.store import Store
from seccomp_gen.syscalls import syscall_table
from seccomp_gen.trust import SUSPECTED_FORGERY, forgery_suspicion, judge_framing, trust_of
from tests._learn_support import counts, kmsg, record, wait_for
from tests.realpath import need, need_program, need_root
from tests.test_records import PARSED

ROOT = Path(__file__).parent.parent
REAL_DIRS = [
    ROOT / "tests" / "data",
    ROOT / "examples" / "recording",
]
HEADER = "2026-11-28T17:48:12.795875+00:00 vm"


# --- no real line is suspected -------------------------------------------------------------------


def _real_files() -> Iterator[Path]:
    for directory in REAL_DIRS:
        if directory.is_dir():
            yield from sorted(
                p for p in directory.rglob("*") if p.is_file() and p.suffix not in (".py", ".md")
            )


def _real_events() -> Iterator[tuple[str, SeccompEvent]]:
    """Every record in every captured or real-world log we have, read as detected and as forced."""
    for path in _real_files():
        data = path.read_bytes()
        formats = [Format.AUTO] + ([Format.JOURNAL] if "journal-short" in path.name else [])
        for fmt in formats:
            for item in RecordParser(fmt).feed_chunk(data):
                if isinstance(item, SeccompEvent):
                    yield f"{path.name} ({fmt.value})", item
    for param in PARSED:  # the parser's table: one line of every framing it reads
        event = RecordParser().feed_line(str(param.values[0]))
        if isinstance(event, SeccompEvent):
            yield f"test_records {param.id}", event


def test_no_real_kernel_line_of_any_framing_is_suspected() -> None:
    seen: dict[tuple[Transport, str], str] = {}
    for where, event in _real_events():
        verdict = judge_framing(event.transport, event.framing)
        assert verdict is None, f"{where}: {event.framing}: {verdict}"
        seen.setdefault((event.transport, event.framing), where)
    transports = {transport for transport, _ in seen}
    assert transports >= set(Transport) - {Transport.UNKNOWN, Transport.JOURNAL_OTHER}
    framings = {framing for _, framing in seen}
    assert {
        "rfc3339,tag=kernel,uptime,audit-prefix",
        "pri=5,rfc3164,tag=kernel,uptime,caller,audit-prefix",
    } <= framings
    assert "json,transport=kernel,facility=0,audit-prefix" in framings
    assert len(seen) >= 25, sorted(seen)


@pytest.mark.parametrize("kind", [SourceKind.FILE, SourceKind.STDIN, SourceKind.KMSG])
def test_learning_every_real_log_rejects_nothing_as_forged(tmp_path: Path, kind: SourceKind) -> None:
    learned = 0
    with Store.open(tmp_path / "state.db") as store:
        for path in _real_files():
            lines = path.read_bytes().splitlines(keepends=True)
            result = learn_lines(store, lines, kind=kind, name=path.name)
            assert SUSPECTED_FORGERY not in result.rejected, (path, result.warnings)
            learned += result.records
    assert learned > 2000


# --- forgeries the heuristics catch --------------------------------------------------------------

RECORD = record(101, serial=77)  # ptrace
SHORT = RECORD.removeprefix("audit: ")
AUDITD_SPELLING = SHORT.replace("type=1326 audit(", "type=SECCOMP msg=audit(")
FIELDS = RECORD.partition("): ")[2]


def _json(message: str, transport: str = "kernel", facility: str | None = None) -> str:
    entry = {"MESSAGE": message, "_TRANSPORT": transport, "__REALTIME_TIMESTAMP": "1795888092790000"}
    if facility is not None:
        entry["SYSLOG_FACILITY"] = facility
    return json.dumps(entry)


FORGERIES = [
    pytest.param(
        f"{HEADER} kernel[4242]: {RECORD}", SourceKind.FILE, "has a pid", id="logger -i: kernel[PID]"
    ),
    pytest.param(
        f"<13>{HEADER} kernel: [22242.881695] {RECORD}", SourceKind.FILE, "facility 1", id="syslog PRI user"
    ),
    pytest.param(f"<12>[22242.881695] {RECORD}", SourceKind.STDIN, "facility 1", id="dmesg -r user facility"),
    pytest.param(
        kmsg(RECORD, 99).strip().replace("5,", "13,", 1), SourceKind.KMSG, "facility 1", id="kmsg user"
    ),
    pytest.param(
        _json(RECORD, facility="1"), SourceKind.STDIN, "facility 1", id="journald kernel, user facility"
    ),
    pytest.param(
        f"{HEADER} kernel: {AUDITD_SPELLING}", SourceKind.FILE, "auditd's log", id="audit.log spelling"
    ),
    pytest.param(
        f"{HEADER} kernel: [22242.881695] {RECORD}\x1dARCH=x86_64 SYSCALL=ptrace",
        SourceKind.FILE,
        "enrichment",
        id="auditd enrichment",
    ),
    pytest.param(
        kmsg(f"overlayfs: failed to resolve '/tmp/x {RECORD}", 99).strip(),
        SourceKind.KMSG,
        "middle of a kernel message",
        id="kmsg: a path the kernel printed",
    ),
    pytest.param(
        _json(f"EXT4-fs warning: /home/u/x {RECORD}", facility="0"),
        SourceKind.JOURNAL,
        "middle of a kernel message",
        id="journald kernel: a path the kernel printed",
    ),
    pytest.param(
        _json(f"USER_AVC pid=1 uid=0 auid=4294967295 ses=4294967295 msg=x {SHORT}", transport="audit"),
        SourceKind.JOURNAL,
        "middle of a kernel message",
        id="journald audit: a user message carrying one",
    ),
    pytest.param(  # journald's audit spelling; "audit" in it somewhere, or it is not even looked at
        _json(f"SECCOMP {FIELDS}".replace('exe="/bin/cat"', 'exe="/sbin/auditctl"')),
        SourceKind.JOURNAL,
        "audit transport",
        id="audit spelling as kernel",
    ),
]


@pytest.mark.parametrize(("line", "kind", "why"), FORGERIES)
def test_forgery_is_rejected_counted_and_warned(
    tmp_path: Path, line: str, kind: SourceKind, why: str
) -> None:
    event = RecordParser().feed_line(line)
    assert isinstance(event, SeccompEvent), line
    assert trust_of(kind, event, root_owned=True) is not None  # not rejected for its transport
    with Store.open(tmp_path / "state.db") as store:
        result = learn_lines(store, [line], kind=kind, name="forged.log")
        assert store.observations() == []
        assert store.counters() == {("rejected", SUSPECTED_FORGERY): 1}
    assert result.rejected == {SUSPECTED_FORGERY: 1}
    assert len(result.warnings) == 1
    assert result.warnings[0].startswith("rejected a record in forged.log as a suspected forgery: ")
    assert why in result.warnings[0]


def test_the_same_line_framed_as_the_kernel_frames_it_is_not_suspected() -> None:
    """The forgeries above differ from real lines only in the sign each heuristic looks for."""
    for line in (
        f"{HEADER} kernel: {RECORD}",
        f"<5>{HEADER} kernel: [22242.881695] {RECORD}",
        f"<5>[22242.881695] {RECORD}",
        kmsg(RECORD, 99),
        _json(RECORD, facility="0"),
        AUDITD_SPELLING,
        f"{HEADER} audit[4242]: SECCOMP {FIELDS}",
    ):
        event = RecordParser().feed_line(line)
        assert isinstance(event, SeccompEvent), line
        assert forgery_suspicion(event) is None, line


def test_suspicion_cache_stays_bounded() -> None:
    for n in range(3000):  # as many framings as kmsg priorities: facility 0 only below 8
        event = RecordParser().feed_line(kmsg(RECORD, 99).replace("5,", f"{n},", 1))
        assert isinstance(event, SeccompEvent)
        assert (forgery_suspicion(event) is None) == (n < 8)
    from seccomp_gen import trust

    assert len(trust._verdicts) <= trust._CACHE_MAX


# --- untrusted records: kept, listed, and left out on request ------------------------------------


def _trusted_read(state: Path) -> None:
    """One record the way `journalctl -o json | seccomp-gen learn` delivers it: trusted."""
    with Store.open(state) as store:
        learn_lines(store, [_json(record(0, serial=1))], kind=SourceKind.STDIN)
    assert counts(state) == {("x86_64", 0, True): 1}


def test_untrusted_only_syscalls_are_kept_listed_and_dropped_by_trusted_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.db"
    _trusted_read(state)
    syslog_file = tmp_path / "syslog"
    syslog_file.write_text(f"{HEADER} kernel: {RECORD}\n")  # what `logger -t kernel` gives: untrusted
    assert main(["learn", "--state", str(state), str(syslog_file)]) == 0
    assert counts(state) == {("x86_64", 0, True): 1, ("x86_64", 101, False): 1}
    assert "1 record came from text any local user can write" in capsys.readouterr().err

    assert main(["status", "--state", str(state)]) == 0
    text = capsys.readouterr().out
    assert "  ptrace (x86_64): 1 record" in text
    assert "untrusted only" in text.split("ptrace (x86_64)")[0]
    assert main(["status", "--json", "--state", str(state)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["untrusted_only"] == [{"abi": "x86_64", "number": 101, "name": "ptrace", "records": 1}]

    assert main(["emit", "--state", str(state), "--arch", "x86_64"]) == 0
    out, err = capsys.readouterr()
    assert "ptrace" in _names(out)
    assert "warning: seen only in lines any local user can write (syslog text): ptrace" in err
    assert main(["emit", "--state", str(state), "--arch", "x86_64", "--trusted-only"]) == 0
    out, err = capsys.readouterr()
    assert "ptrace" not in _names(out)
    assert "read" in _names(out)
    assert "seen only in lines" not in err


def _names(profile: str) -> set[str]:
    return {name for rule in json.loads(profile)["syscalls"] for name in rule["names"]}


def test_status_reports_rejected_forgeries(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "state.db"
    _trusted_read(state)
    forged = tmp_path / "syslog"
    forged.write_text(f"{HEADER} kernel[4242]: {RECORD}\n{HEADER} kernel[4242]: {record(102, serial=78)}\n")
    assert main(["learn", "--state", str(state), str(forged)]) == 0
    err = capsys.readouterr().err
    assert err.count("suspected forgery") == 1  # one warning per reason and source
    assert "2 rejected (suspected-forgery 2)" in err
    assert main(["status", "--state", str(state)]) == 0
    assert "suspected forgeries: 2 records rejected" in capsys.readouterr().out
    assert main(["status", "--json", "--state", str(state)]) == 0
    assert json.loads(capsys.readouterr().out)["counters"]["rejected:suspected-forgery"] == 2


@pytest.mark.parametrize(
    ("kind", "root_owned", "trusted"),
    [
        pytest.param(SourceKind.JOURNAL, False, True, id="journalctl run by us"),
        pytest.param(SourceKind.STDIN, False, True, id="journalctl piped in"),
        pytest.param(SourceKind.FILE, True, True, id="root-owned file"),
        pytest.param(SourceKind.GZIP, True, True, id="root-owned gzip"),
        pytest.param(SourceKind.FILE, False, False, id="file anyone could have written"),
        pytest.param(SourceKind.GZIP, False, False, id="gzip anyone could have written"),
    ],
)
def test_journald_json_trust_by_source(kind: SourceKind, root_owned: bool, trusted: bool) -> None:
    event = RecordParser().feed_line(_json(RECORD, facility="0"))
    assert isinstance(event, SeccompEvent)
    assert event.transport is Transport.JOURNAL_KERNEL
    assert trust_of(kind, event, root_owned=root_owned) is trusted


def test_journald_json_file_written_by_another_user_is_untrusted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    need_root()
    entries = tmp_path / "journal.json"
    entries.write_text(_json(RECORD) + "\n")
    state = tmp_path / "state.db"
    assert main(["learn", "--state", str(state), str(entries)]) == 0
    assert counts(state) == {("x86_64", 101, True): 1}
    assert "any local user" not in capsys.readouterr().err
    os.chown(entries, 65534, 65534)
    assert main(["learn", "--state", str(tmp_path / "other.db"), str(entries)]) == 0
    assert counts(tmp_path / "other.db") == {("x86_64", 101, False): 1}


def test_stdin_redirected_from_a_file_is_judged_as_that_file(tmp_path: Path) -> None:
    """`learn < FILE` gets no more trust than `learn FILE`; a pipe from journalctl stays trusted."""
    need_root()
    entries = tmp_path / "journal.json"
    entries.write_text(_json(RECORD) + "\n")
    command = [sys.executable, "-m", "seccomp_gen", "learn", "--state"]
    runs = {}
    for name, owner in (("root", 0), ("nobody", 65534)):
        os.chown(entries, owner, owner)
        with entries.open("rb") as redirected:
            done = subprocess.run(
                [*command, str(tmp_path / f"{name}.db")],
                stdin=redirected,
                capture_output=True,
                timeout=60,
                check=False,
            )
        assert done.returncode == 0, done.stderr
        runs[name] = counts(tmp_path / f"{name}.db")
    piped = subprocess.run(
        [*command, str(tmp_path / "pipe.db")],
        input=entries.read_bytes(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert piped.returncode == 0, piped.stderr
    assert runs == {"root": {("x86_64", 101, True): 1}, "nobody": {("x86_64", 101, False): 1}}
    assert counts(tmp_path / "pipe.db") == {("x86_64", 101, True): 1}


# --- the real forgery: logger as nobody into rsyslog ---------------------------------------------

_RSYSLOG_CONF = """\
global(workDirectory="{dir}")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="{dir}/log" CreatePath="on")
template(name="withpri" type="list") {{
    constant(value="<") property(name="pri") constant(value=">")
    property(name="timestamp" dateFormat="rfc3339") constant(value=" ") property(name="hostname")
    constant(value=" ") property(name="syslogtag") property(name="msg" spifno1stsp="on")
    property(name="msg" droplastlf="on") constant(value="\\n")
}}
*.* action(type="omfile" file="{dir}/syslog" template="RSYSLOG_FileFormat")
*.* action(type="omfile" file="{dir}/syslog-pri" template="withpri")
*.* action(type="omfile" file="{dir}/syslog-3164" template="RSYSLOG_TraditionalFileFormat")
"""
NOBODY = "65534"


@contextlib.contextmanager
def _private_rsyslog() -> Iterator[Path]:
    """An rsyslogd of our own: socket and files in a fresh directory, no imklog, the system's untouched."""
    rsyslogd = need_program("rsyslogd")
    directory = Path(tempfile.mkdtemp(prefix="sg-rsyslog-"))
    directory.chmod(0o755)  # nobody must reach the socket, as any user reaches /dev/log
    try:
        conf = directory / "rsyslog.conf"
        conf.write_text(_RSYSLOG_CONF.format(dir=directory))
        proc = subprocess.Popen(
            [rsyslogd, "-n", "-f", str(conf), "-i", str(directory / "pid")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            assert wait_for((directory / "log").exists, 10), "private rsyslogd did not create its socket"
            yield directory
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _logger_as_nobody(socket: Path, *args: str) -> None:
    setpriv = need_program("setpriv")
    logger = need_program("logger")
    drop = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    subprocess.run([*drop, logger, "-u", str(socket), *args], check=True, timeout=30)


@pytest.mark.realpath
def test_logger_forgery_through_real_rsyslog(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    need_root()
    comm = "sgf" + uuid.uuid4().hex[:10]
    plain = record(101, serial=901, comm=comm)  # ptrace
    with_pid = record(165, serial=902, comm=comm)  # mount
    as_kern = record(169, serial=903, comm=comm)  # reboot
    with _private_rsyslog() as directory:
        _logger_as_nobody(directory / "log", "-t", "kernel", plain)
        _logger_as_nobody(directory / "log", "-t", "kernel", "-i", with_pid)
        _logger_as_nobody(directory / "log", "-t", "kernel", "-p", "kern.notice", f"[22242.881695] {as_kern}")
        written = lambda: all(  # noqa: E731
            (directory / name).exists() and (directory / name).read_text().count(comm) == 3
            for name in ("syslog", "syslog-pri", "syslog-3164")
        )
        assert wait_for(written, 10), "rsyslogd did not write the three lines"
        syslog_text = (directory / "syslog").read_text()
        with_pri = (directory / "syslog-pri").read_text()
        traditional = (directory / "syslog-3164").read_text()
    assert f" kernel: {plain}" in syslog_text  # indistinguishable from `journalctl -o short-iso` output
    assert " kernel[" in syslog_text
    assert all(
        line.startswith("<13>") for line in with_pri.splitlines() if comm in line
    )  # user, even for kern

    state = tmp_path / "state.db"
    _trusted_read(state)
    default_format = tmp_path / "syslog"
    default_format.write_text(syslog_text)
    assert main(["learn", "--state", str(state), str(default_format)]) == 0
    err = capsys.readouterr().err
    assert "1 rejected (suspected-forgery 1)" in err  # kernel[PID]
    assert _learned(state, comm) == {("ptrace", 0), ("reboot", 0)}  # kept, but untrusted

    assert main(["emit", "--state", str(state), "--arch", "x86_64"]) == 0
    out, err = capsys.readouterr()
    assert {"ptrace", "reboot"} <= _names(out)
    assert "(syslog text): ptrace, reboot (--trusted-only leaves them out)" in err
    assert main(["emit", "--state", str(state), "--arch", "x86_64", "--trusted-only"]) == 0
    out, _ = capsys.readouterr()
    assert _names(out).isdisjoint({"ptrace", "reboot", "mount"})

    pri_file = tmp_path / "syslog-pri"
    pri_file.write_text(with_pri)
    pri_state = tmp_path / "pri.db"
    assert main(["learn", "--state", str(pri_state), str(pri_file)]) == 0
    assert "3 rejected (suspected-forgery 3)" in capsys.readouterr().err
    assert _learned(pri_state, comm) == set()

    old_format = tmp_path / "syslog-3164"  # RFC 3164 stamps, as older Debian and most others write
    old_format.write_text(traditional)
    old_state = tmp_path / "3164.db"
    assert main(["learn", "--state", str(old_state), str(old_format)]) == 0
    assert "1 rejected (suspected-forgery 1)" in capsys.readouterr().err
    assert _learned(old_state, comm) == {("ptrace", 0), ("reboot", 0)}


def _learned(state: Path, comm: str) -> set[tuple[str, int]]:
    db = sqlite3.connect(f"file:{state}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT name, trusted FROM observations WHERE comm = ?", (comm,)).fetchall()
    finally:
        db.close()
    return {(str(name), int(trusted)) for name, trusted in rows}


# --- the real forgery: a record written into /dev/kmsg -------------------------------------------


def _kmsg_lines_with(text: str) -> list[str]:
    """Lines of the live /dev/kmsg that contain ``text``."""
    fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
    found = []
    try:
        while True:
            try:
                chunk = os.read(fd, 16384)
            except BlockingIOError:
                break
            except BrokenPipeError:
                continue  # overwritten while reading: go on from the oldest record kept
            line = chunk.decode("utf-8", "replace").split("\n", 1)[0]
            if text in line:
                found.append(line)
    finally:
        os.close(fd)
    return found


@pytest.mark.realpath
def test_record_written_into_dev_kmsg_is_rejected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Root (or a container given /dev/kmsg) can write there; the kernel marks such lines as user's."""
    need_root()
    need(os.access("/dev/kmsg", os.R_OK | os.W_OK), "needs a readable and writable /dev/kmsg")
    setting = Path("/proc/sys/kernel/printk_devkmsg")
    need(
        not setting.exists() or setting.read_text().strip() != "off",
        "needs kernel.printk_devkmsg other than off",
    )
    comm = "sgk" + uuid.uuid4().hex[:10]
    forged = record(101, serial=904, comm=comm, ts=time.time())
    with Path("/dev/kmsg").open("w") as kernel_log:
        kernel_log.write(f"<5>{forged}\n")  # asks for level 5 and, like every writer, gets facility user
    lines = _kmsg_lines_with(comm)
    assert len(lines) == 1, lines
    assert lines[0].startswith("13,")

    state = tmp_path / "state.db"
    assert main(["learn", "--kmsg", "--state", str(state)]) == 0
    err = capsys.readouterr().err
    assert "as a suspected forgery: it claims the kernel but has syslog facility 1" in err
    assert _learned(state, comm) == set()


# --- explain shows each record's trust as learn would give it ------------------------------------


@pytest.mark.parametrize(("line", "kind", "why"), FORGERIES)
def test_explain_marks_a_forgery_rejected_and_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, kind: SourceKind, why: str
) -> None:
    log = tmp_path / "forged.log"
    log.write_text(line + "\n")
    assert main(["explain", str(log)]) == 0
    [text] = capsys.readouterr().out.splitlines()
    assert " ptrace " in text
    assert text.endswith("]")
    assert "  [rejected: suspected forgery: " in text
    assert why in text
    assert main(["explain", "--json", str(log)]) == 0
    [row] = [json.loads(out) for out in capsys.readouterr().out.splitlines()]
    assert row["trust"] == "rejected"
    assert why in row["rejected"]


def _mixed(path: Path) -> dict[int, str]:
    """One record per syscall number in the framings that decide trust; number → what learn makes of it."""
    lines = {
        0: (f"{HEADER} kernel: {record(0, serial=1)}", "untrusted"),  # syslog text
        1: (_json(record(1, serial=2)), "trusted if root's"),  # journald's kernel transport
        2: (_json(record(2, serial=3), transport="syslog"), "rejected"),  # another transport posing
        3: (f"{HEADER} kernel[7]: {record(3, serial=4)}", "rejected"),  # logger -i
        4: (
            record(4, serial=5).replace("audit: type=1326 audit(", "type=SECCOMP msg=audit("),
            "trusted if root's",
        ),
    }
    path.write_text("".join(line + "\n" for line, _ in lines.values()))
    return {number: verdict for number, (_, verdict) in lines.items()}


@pytest.mark.parametrize("owner", [pytest.param(0, id="root-owned"), pytest.param(65534, id="nobody's")])
def test_explain_trust_agrees_with_what_learn_keeps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], owner: int
) -> None:
    need_root()
    log = tmp_path / "mixed.log"
    expected = _mixed(log)
    os.chown(log, owner, owner)
    log.chmod(0o644)
    state = tmp_path / "state.db"
    assert main(["learn", "--state", str(state), str(log)]) == 0
    learned = {number: "trusted" if trusted else "untrusted" for (_abi, number, trusted) in counts(state)}
    assert main(["explain", "--json", str(log)]) == 0
    shown = {row["number"]: row["trust"] for row in map(json.loads, capsys.readouterr().out.splitlines())}
    assert shown == {number: learned.get(number, "rejected") for number in expected}
    root_owned = "trusted" if owner == 0 else "untrusted"
    assert shown == {n: root_owned if v == "trusted if root's" else v for n, v in expected.items()}
    tally = {verdict: list(shown.values()).count(verdict) for verdict in ("trusted", "untrusted", "rejected")}
    assert main(["explain", "--summary", "--json", str(log)]) == 0
    assert json.loads(capsys.readouterr().out)["trust"] == tally
    assert main(["explain", "--summary", str(log)]) == 0
    said = ", ".join(f"{n} {verdict}" for verdict, n in tally.items() if n)
    assert f"trust: {said} (as learn would take them" in capsys.readouterr().out


def test_explain_of_journald_json_on_stdin_is_trusted(tmp_path: Path) -> None:
    """`journalctl -o json | seccomp-gen explain` is trusted as learn trusts it; `explain < FILE` is FILE."""
    entries = _json(record(1, serial=2)) + "\n"
    piped = subprocess.run(
        [sys.executable, "-m", "seccomp_gen", "explain", "--json"],
        input=entries,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(piped.stdout)["trust"] == "trusted"
    need_root()
    saved = tmp_path / "journal.json"
    saved.write_text(entries)
    os.chown(saved, 65534, 65534)
    with saved.open() as redirected:
        done = subprocess.run(
            [sys.executable, "-m", "seccomp_gen", "explain", "--json"],
            stdin=redirected,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    assert json.loads(done.stdout)["trust"] == "untrusted"


def test_status_lists_untrusted_only_calls_sorted_whatever_the_learning_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    untrusted = [(101, "c000003e"), (26, "40000003"), (7, "c000003e"), (117, "c00000b7"), (0, "40000003")]
    reports = []
    for n, order in enumerate([untrusted, untrusted[::-1], untrusted[2:] + untrusted[:2]]):
        state = tmp_path / f"state{n}.db"
        _trusted_read(state)  # x86_64 read: trusted, so never listed
        log = tmp_path / f"syslog{n}"
        log.write_text(
            "".join(
                f"{HEADER} kernel: {record(nr, serial=10 + i, arch=arch)}\n"
                for i, (nr, arch) in enumerate(order)
            )
        )
        assert main(["learn", "--state", str(state), str(log)]) == 0
        assert main(["status", "--json", "--state", str(state)]) == 0
        listed = [(u["abi"], u["number"]) for u in json.loads(capsys.readouterr().out)["untrusted_only"]]
        assert main(["status", "--state", str(state)]) == 0
        text = capsys.readouterr().out.split("untrusted only")[1].splitlines()[1 : 1 + len(listed)]
        reports.append((listed, [line.split(":")[0].strip() for line in text]))
    listed, text = reports[0]
    assert all(report == reports[0] for report in reports)
    assert listed == sorted(listed)
    assert ("x86_64", 0) not in listed
    assert listed == [("aarch64", 117), ("i386", 0), ("i386", 26), ("x86_64", 7), ("x86_64", 101)]
    assert text == [f"{syscall_table(get_abi(abi))[number]} ({abi})" for abi, number in listed]
