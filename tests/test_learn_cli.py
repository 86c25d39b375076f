"""`learn` over files, gzip, journald and kmsg text, and `status`/`reset`/`forget`, through the CLI."""

from __future__ import annotations

import gzip
import io
import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from seccomp_gen.cli import main
from seccomp_gen.cli._learn import _Feedback
from seccomp_gen.feedback import LearnResult, NewSyscall
from seccomp_gen.sources import SourceKind
from tests._learn_support import TS, counts, kmsg, learn_command, record, syslog, total


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state" / "state.db"


def _learn(state: Path, *args: str) -> int:
    return main(["learn", "--state", str(state), *args])


def _log(path: Path, *lines: str) -> Path:
    with path.open("a") as fh:
        fh.writelines(lines)
    return path


def test_learning_a_file_twice_changes_nothing(
    state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = _log(
        tmp_path / "syslog", *(syslog(record(n, serial=0)) for n in range(5))
    )  # serial 0: no event ids
    assert _learn(state, str(log)) == 0
    assert _learn(state, str(log)) == 0
    assert total(state) == 5
    assert "Read 0 lines" in capsys.readouterr().err.strip().splitlines()[-1]
    _log(log, syslog(record(9, serial=0)))
    assert _learn(state, str(log)) == 0
    assert total(state) == 6


def test_from_start_rereads_but_event_ids_still_deduplicate(state: Path, tmp_path: Path) -> None:
    log = _log(tmp_path / "syslog", syslog(record(0, serial=7)), syslog(record(1, serial=0)))
    assert _learn(state, str(log)) == 0
    assert _learn(state, "--from-start", str(log)) == 0
    assert counts(state) == {("x86_64", 0, False): 1, ("x86_64", 1, False): 2}  # serial 0 counted again


def test_rotated_file_and_its_successor(state: Path, tmp_path: Path) -> None:
    log = _log(tmp_path / "syslog", syslog(record(0, serial=0)))
    assert _learn(state, str(log)) == 0
    _log(log, syslog(record(1, serial=0)))  # written just before rotation
    log.rename(tmp_path / "syslog.1")
    _log(log, syslog(record(2, serial=0)))
    assert _learn(state, str(tmp_path / "syslog.1"), str(log)) == 0
    assert counts(state) == {("x86_64", n, False): 1 for n in range(3)}


def test_rotation_between_runs_reads_the_rest_of_the_renamed_file(
    state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``learn syslog`` after logrotate renamed it: what the old file got after the last run is read too."""
    log = _log(tmp_path / "syslog", syslog(record(0, serial=0)))
    assert _learn(state, str(log)) == 0
    _log(log, syslog(record(1, serial=0)))  # written after that run, just before rotation
    log.rename(tmp_path / "syslog.1")
    _log(log, syslog(record(2, serial=0)))
    _log(tmp_path / "unrelated.log", syslog(record(5, serial=0)))
    capsys.readouterr()
    assert _learn(state, str(log)) == 0
    assert counts(state) == {("x86_64", n, False): 1 for n in range(3)}  # serial 0: positions alone
    assert f"from {tmp_path / 'syslog.1'}, {log}: 2 records" in capsys.readouterr().err
    assert _learn(state, str(tmp_path / "syslog.1"), str(log)) == 0  # both named: nothing new, nothing twice
    assert _learn(state, str(log)) == 0
    assert total(state) == 3
    _log(log, syslog(record(3, serial=0)))
    log.rename(tmp_path / "syslog.0")  # compressed or deleted by now: only the new file is there
    (tmp_path / "syslog.0").unlink()
    _log(log, syslog(record(4, serial=0)))
    assert _learn(state, str(log)) == 0
    assert counts(state) == {("x86_64", n, False): 1 for n in (0, 1, 2, 4)}


def test_copytruncate_rotation_reads_the_new_content(state: Path, tmp_path: Path) -> None:
    log = _log(tmp_path / "syslog", syslog(record(0, serial=0)), syslog(record(1, serial=0)))
    assert _learn(state, str(log)) == 0
    log.write_text(syslog(record(2, serial=0)))
    assert _learn(state, str(log)) == 0
    assert counts(state) == {("x86_64", n, False): 1 for n in range(3)}


def test_gzip_is_learned_once(state: Path, tmp_path: Path) -> None:
    gz = tmp_path / "syslog.2.gz"
    gz.write_bytes(gzip.compress("".join(syslog(record(n, serial=0)) for n in range(4)).encode()))
    assert _learn(state, str(gz)) == 0
    assert _learn(state, str(gz)) == 0
    assert total(state) == 4


def test_truncated_gzip_keeps_what_was_read_and_fails(
    state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gz = tmp_path / "cut.gz"
    body = "".join(syslog(record(n % 300, serial=n + 1)) for n in range(20_000)).encode()
    whole = gzip.compress(body)
    gz.write_bytes(whole[: len(whole) * 3 // 4])
    assert _learn(state, str(gz)) == 2
    assert "truncated gzip" in capsys.readouterr().err
    assert 0 < total(state) < 20_000


def _journal_entry(text: str, transport: str, cursor: int) -> str:
    entry = {
        "MESSAGE": text,
        "_TRANSPORT": transport,
        "__CURSOR": f"s=ab;i={cursor}",
        "__REALTIME_TIMESTAMP": "1",
    }
    return json.dumps(entry) + "\n"


def test_journald_json_on_stdin_is_trusted_and_other_transports_rejected(state: Path) -> None:
    stream = _journal_entry(record(0, serial=1), "kernel", 1) + _journal_entry(
        record(1, serial=2), "syslog", 2
    )
    done = subprocess.run(
        learn_command(state), input=stream.encode(), capture_output=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    assert counts(state) == {("x86_64", 0, True): 1}
    assert b"1 rejected (journal-other-transport 1)" in done.stderr


def test_journal_resumes_after_the_saved_cursor(state: Path, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    out = tmp_path / "journal.json"
    fake = bin_dir / "journalctl"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path}/calls\ncat {out}\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    out.write_text(
        _journal_entry(record(0, serial=1), "kernel", 1) + _journal_entry(record(1, serial=2), "audit", 2)
    )
    for _ in range(2):
        done = subprocess.run(
            learn_command(state, "--journal"), env=env, capture_output=True, timeout=30, check=False
        )
        assert done.returncode == 0, done.stderr
    first, second = (tmp_path / "calls").read_text().splitlines()
    assert "--after-cursor" not in first
    assert "--after-cursor=s=ab;i=2" in second
    assert counts(state) == {("x86_64", 0, True): 1, ("x86_64", 1, True): 1}


def test_journal_missing_is_a_clear_error(state: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(tmp_path)}
    done = subprocess.run(
        learn_command(state, "--journal"), env=env, capture_output=True, timeout=30, check=False
    )
    assert done.returncode == 2
    assert done.stderr.decode().startswith("error: cannot read the journal: 'journalctl' not found")


def test_kmsg_format_from_a_file_is_untrusted_text(state: Path, tmp_path: Path) -> None:
    log = _log(tmp_path / "kmsg.txt", kmsg(record(0, serial=1), 10), kmsg(record(3, serial=2), 11))
    assert _learn(state, str(log)) == 0
    assert counts(state) == {("x86_64", 0, False): 1, ("x86_64", 3, False): 1}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["/no/such/file"], "no such file", id="missing file"),
        pytest.param(["/"], "is a directory", id="directory"),
        pytest.param(["--since", "yesterday-ish", "-"], "neither ISO 8601", id="bad --since"),
        pytest.param(["--journal", "--kmsg", "--follow"], "one kind at a time", id="follow two kinds"),
    ],
)
def test_bad_requests_are_one_line_errors(
    state: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _learn(state, *args) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_corrupt_state_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "state.db"
    bad.write_bytes(b"not sqlite" * 100)
    assert _learn(bad, "/dev/null") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: cannot use state")
    assert len(err.splitlines()) == 1


def test_filters_and_since_through_the_cli(state: Path, tmp_path: Path) -> None:
    log = _log(
        tmp_path / "syslog", syslog(record(0, serial=1, comm="a")), syslog(record(1, serial=2, comm="b"))
    )
    since = f"@{int(TS) - 10}"
    assert _learn(state, "--comm", "b", "--since", since, str(log)) == 0
    assert counts(state) == {("x86_64", 1, False): 1}


def test_status_text_and_json(state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = _log(
        tmp_path / "syslog",
        syslog(record(257, serial=1, comm="http-echo", exe="/usr/bin/http-echo")),
        syslog(record(9999, serial=2)),
        "2026-11-28T17:48:12+00:00 vm kernel: [1.0] kauditd_printk_skb: 12 callbacks suppressed\n",
    )
    assert _learn(state, str(log)) == 0
    assert "12 records lost (printk-suppressed)" in capsys.readouterr().err
    assert main(["status", "--state", str(state)]) == 0
    text = capsys.readouterr().out
    for expected in (
        "x86_64",
        "http-echo",
        "/usr/bin/http-echo",
        "x86_64 9999",
        "printk-suppressed",
        str(log),
    ):
        assert expected in text
    assert "untrusted only" in text
    assert "  unknown(9999) (x86_64): 1 record" in text.split("untrusted only")[1]  # the one spelling
    assert main(["status", "--json", "--state", str(state)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["abis"] == [{"abi": "x86_64", "syscalls": 2, "records": 2}]
    assert doc["unknown_numbers"] == [{"abi": "x86_64", "number": 9999, "name": None, "records": 1}]
    assert {s["name"] for s in doc["untrusted_only"]} == {"openat", None}
    assert doc["losses"][0]["records"] == 12
    assert doc["sources"][0]["key"] == str(log)


def test_status_without_state(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--state", str(tmp_path / "none.db")]) == 2
    assert "nothing has been learned yet" in capsys.readouterr().err


def test_reset_needs_yes_without_a_terminal(state: Path, tmp_path: Path) -> None:
    log = _log(tmp_path / "syslog", syslog(record(0)))
    assert _learn(state, str(log)) == 0
    done = subprocess.run(
        [*learn_command(state)[:3], "reset", "--state", str(state)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert b"without --yes" in done.stderr
    assert total(state) == 1
    assert main(["reset", "--yes", "--state", str(state)]) == 0
    assert total(state) == 0
    assert _learn(state, str(log)) == 0  # positions were forgotten too
    assert total(state) == 1


def test_forget(state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = _log(tmp_path / "syslog", syslog(record(0, serial=1)), syslog(record(17, serial=2)))
    assert _learn(state, str(log)) == 0
    assert main(["forget", "pread", "--state", str(state)]) == 0  # audit-userspace's name for pread64
    assert counts(state) == {("x86_64", 0, False): 1}
    assert main(["forget", "read", "--arch", "i386", "--state", str(state)]) == 1
    assert main(["forget", "0", "--arch", "amd64", "--state", str(state)]) == 0
    assert total(state) == 0
    assert main(["forget", "0", "--state", str(state)]) == 2
    assert "needs --arch" in capsys.readouterr().err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_feedback_names_each_new_syscall() -> None:
    stream = _Terminal()
    feedback = _Feedback(stream)
    feedback.learned(NewSyscall("x86_64", 257, "openat", "http-echo", True))
    feedback.learned(NewSyscall("x86_64", 999, None, "sh", False))
    feedback.progress(LearnResult(records=3, learned=2))
    feedback.clear()
    lines = stream.getvalue().splitlines()
    assert lines[0] == "+ openat (x86_64) by http-echo"
    assert lines[1] == "+ unknown(999) (x86_64) by sh  [untrusted source]"
    assert "records 3 · learned 2" in stream.getvalue()


def test_pipe_feedback_is_quiet() -> None:
    stream = io.StringIO()
    feedback = _Feedback(stream)
    feedback.learned(NewSyscall("x86_64", 257, "openat", "http-echo", True))
    feedback.note("rotated")
    feedback.progress(LearnResult(records=3))
    assert stream.getvalue() == ""


def _losses(state: Path) -> dict[tuple[str, str], tuple[int, int]]:
    from seccomp_gen.store import Store

    with Store.open(state, readonly=True) as store:
        return {(row.kind, Path(row.location).name): (row.markers, row.records) for row in store.losses()}


LOSS_LINES = Path(__file__).parent / "data" / "records" / "captured-losses-syslog.log"


def test_losses_of_a_reread_file_are_counted_once(state: Path, tmp_path: Path) -> None:
    captured = LOSS_LINES.read_text().splitlines(keepends=True)
    suppressed = [int(line.split("kauditd_printk_skb: ")[1].split()[0]) for line in captured]
    log = _log(tmp_path / "syslog", *captured, syslog(record(0, serial=3)))
    assert _learn(state, str(log)) == 0
    expected = {("printk-suppressed", "syslog"): (len(captured), sum(suppressed))}
    assert _losses(state) == expected
    assert _learn(state, "--from-start", str(log)) == 0  # the same markers again
    assert _losses(state) == expected
    log.rename(tmp_path / "syslog.1")  # a rotated copy read under its new name, from the start
    assert _learn(state, "--from-start", str(tmp_path / "syslog.1")) == 0
    assert sum(records for _, records in _losses(state).values()) == sum(suppressed)
    _log(tmp_path / "syslog.1", syslog("kauditd_printk_skb: 7 callbacks suppressed"))  # a new marker
    assert _learn(state, str(tmp_path / "syslog.1")) == 0
    assert sum(records for _, records in _losses(state).values()) == sum(suppressed) + 7


def test_losses_without_a_stamp_are_protected_by_positions_only(state: Path, tmp_path: Path) -> None:
    log = _log(tmp_path / "bare.log", "kauditd_printk_skb: 5 callbacks suppressed\n")
    assert _learn(state, str(log)) == 0
    assert _learn(state, str(log)) == 0  # the position: nothing new
    assert _losses(state) == {("printk-suppressed", "bare.log"): (1, 5)}
    assert _learn(state, "--from-start", str(log)) == 0  # nothing tells this line from a new one
    assert _losses(state) == {("printk-suppressed", "bare.log"): (2, 10)}


def _journal_entries() -> list[dict[str, str]]:
    import shutil

    exe = shutil.which("journalctl")
    if exe is None:
        pytest.skip("journalctl is not installed")
    done = subprocess.run(
        [exe, "-o", "json", "--no-pager", "_TRANSPORT=kernel", "_TRANSPORT=audit"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    entries = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    seccomp = [e for e in entries if isinstance(e.get("MESSAGE"), str) and "syscall=" in e["MESSAGE"]]
    if done.returncode != 0 or not seccomp:
        # Not need(): a host without journald (or whose journal holds no seccomp records) is normal;
        # the journalctl protocol itself is covered by the fake-journalctl tests above.
        pytest.skip("the journal of this host holds no seccomp records of the kernel or audit transport")
    return entries


def test_real_journal_is_read_trusted_and_resumed(state: Path) -> None:
    """This host's own journal through the real journalctl: what it holds is learned once, trusted."""
    import re

    entries = _journal_entries()
    wanted = {
        int(m.group(1))
        for e in entries
        if isinstance(e.get("MESSAGE"), str) and "arch=c000003e" in e["MESSAGE"]
        for m in [re.search(r" syscall=(\d+) ", e["MESSAGE"])]
        if m is not None
    }
    first = subprocess.run(learn_command(state, "--journal"), capture_output=True, timeout=120, check=False)
    assert first.returncode == 0, first.stderr
    assert b"Traceback" not in first.stderr
    learned = counts(state)
    assert {number for abi, number, _ in learned if abi in ("x86_64", "x32")} == wanted  # one AUDIT_ARCH
    assert all(trusted for _, _, trusted in learned)  # the kernel and audit transports are trusted
    from seccomp_gen.store import Store

    with Store.open(state, readonly=True) as store:
        [position] = store.positions(SourceKind.JOURNAL)
    assert position.cursor == entries[-1]["__CURSOR"]
    again = subprocess.run(learn_command(state, "--journal"), capture_output=True, timeout=120, check=False)
    assert again.returncode == 0, again.stderr
    assert "Read 0 lines" in again.stderr.decode()  # resumed after the saved cursor
    assert counts(state) == learned


# -- the state's path, the sources' error messages, losses, batching (audit of issue 4) ------------


def test_state_path_defaults_and_private_directories(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--state, else $SECCOMP_GEN_STATE, else $XDG_STATE_HOME/seccomp-gen, else ~/.local/state/seccomp-gen."""
    log = _log(tmp_path / "syslog", syslog(record(0, serial=1)))
    home, xdg, env = tmp_path / "home", tmp_path / "xdg" / "state", tmp_path / "env" / "dir" / "s.db"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    monkeypatch.delenv("SECCOMP_GEN_STATE", raising=False)
    monkeypatch.setattr(os, "umask", os.umask)  # restored by monkeypatch
    os.umask(0o022)
    default = home / ".local" / "state" / "seccomp-gen" / "state.db"
    assert main(["learn", str(log)]) == 0
    assert total(default) == 1
    for directory in (home, home / ".local", home / ".local" / "state", default.parent):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory  # every one it created
    assert stat.S_IMODE(default.stat().st_mode) == 0o600

    monkeypatch.setenv("XDG_STATE_HOME", str(xdg))
    assert main(["learn", "--from-start", str(log)]) == 0
    assert total(xdg / "seccomp-gen" / "state.db") == 1
    assert stat.S_IMODE(xdg.stat().st_mode) == 0o700

    monkeypatch.setenv("SECCOMP_GEN_STATE", str(env))
    assert main(["learn", "--from-start", str(log)]) == 0
    assert total(env) == 1
    assert stat.S_IMODE(env.parent.stat().st_mode) == 0o700
    capsys.readouterr()
    assert main(["status", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["state"] == str(env)

    chosen = tmp_path / "chosen.db"  # --state wins over the variables, on every command that has a state
    assert main(["learn", str(log), "--state", str(chosen)]) == 0
    assert total(chosen) == 1
    assert main(["status", "--json", "--state", str(chosen)]) == 0
    assert json.loads(capsys.readouterr().out)["state"] == str(chosen)
    assert main(["emit", "--state", str(chosen)]) == 0
    assert '"read"' in capsys.readouterr().out
    assert main(["forget", "read", "--state", str(chosen)]) == 0
    assert total(chosen) == 0
    assert main(["reset", "--yes", "--state", str(chosen)]) == 0
    assert f"reset {chosen}" in capsys.readouterr().err
    assert total(env) == 1  # and nothing touched the default one


def test_kmsg_without_permission_is_a_one_line_error(
    state: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """What an unprivileged user gets under kernel.dmesg_restrict=1 (open fails with EPERM)."""
    import errno

    real_open = os.open

    def refuse_kmsg(path: object, flags: int, *args: int, **kwargs: object) -> int:
        if str(path) == "/dev/kmsg":
            raise PermissionError(errno.EPERM, "Operation not permitted", str(path))
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", refuse_kmsg)
    assert _learn(state, "--kmsg") == 2
    err = capsys.readouterr().err
    assert err == (
        "error: cannot read /dev/kmsg: permission denied (run as root, or set kernel.dmesg_restrict=0)\n"
    )


LOSS_FIXES = {
    "printk-suppressed": "sysctl -w kernel.printk_ratelimit=0",
    "printk-limit": "sysctl -w kernel.printk_ratelimit=0",  # printk_ratelimit() refused it (kernel < 4.11)
    "audit-lost": "auditctl -r 0",
    "backlog-limit": "auditctl -b 8192",
    "journal-suppressed": "RateLimitIntervalSec=0",
    "kmsg-gap": "log_buf_len=16M",
    "kmsg-overwritten": "log_buf_len=16M",
}


@pytest.mark.parametrize("kind", list(LOSS_FIXES))
def test_every_kind_of_loss_is_reported_with_count_place_and_fix(kind: str) -> None:
    from seccomp_gen.events import LossKind
    from seccomp_gen.feedback import LossReport

    message = LossReport(LossKind(kind), 7, "/var/log/syslog").message()
    assert message.startswith(f"7 records lost ({kind}) in /var/log/syslog: ")
    assert LOSS_FIXES[kind] in message
    assert set(LOSS_FIXES) == {k.value for k in LossKind}  # a new kind needs its fix here too


@pytest.mark.parametrize(
    ("line", "fix"),
    [
        pytest.param(
            "audit: printk limit exceeded", "kernel.printk_ratelimit=0", id="printk limit (old kernels)"
        ),
        pytest.param("audit: rate limit exceeded", "auditctl -r 0", id="audit rate limit"),
        pytest.param("audit: backlog limit exceeded", "auditctl -b 8192", id="audit backlog"),
        pytest.param(
            "audit: audit_lost=5 audit_rate_limit=0 audit_backlog_limit=64", "auditctl -s", id="audit_lost"
        ),
    ],
)
def test_kernel_loss_lines_warn_with_the_right_fix(
    state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, fix: str
) -> None:
    log = _log(tmp_path / "syslog", syslog(line), syslog(record(0, serial=1)))
    assert _learn(state, str(log)) == 0
    err = capsys.readouterr().err
    warning = next(w for w in err.splitlines() if w.startswith("warning: "))
    assert f"in {log} so far (the summary at the end has the total): " in warning
    assert fix in warning
    assert "LOSSES: " in err.splitlines()[-1]


def test_auditd_owning_the_records_is_a_warning_naming_its_log(
    state: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from seccomp_gen import kernel

    monkeypatch.setattr(kernel, "auditd_running", lambda: True)
    quiet = _log(tmp_path / "syslog", "2026-11-28T17:48:12+00:00 vm sshd[1]: nothing to see\n")
    assert _learn(state, str(quiet)) == 0
    err = capsys.readouterr().err
    assert "warning: auditd is running" in err
    assert "seccomp-gen learn /var/log/audit/audit.log" in err
    audit_log = _log(tmp_path / "audit.log", "type=SERVICE_START msg=audit(1795888092.790:1): pid=1\n")
    assert _learn(state, str(audit_log)) == 0  # reading auditd's own log: nothing to warn about
    assert "auditd is running" not in capsys.readouterr().err
    monkeypatch.setattr(kernel, "auditd_running", lambda: False)
    assert _learn(state, "--from-start", str(quiet)) == 0
    assert "auditd is running" not in capsys.readouterr().err


def test_journal_follow_is_live_and_saves_its_cursor_on_sigint(state: Path, tmp_path: Path) -> None:
    """``learn --journal --follow``: each entry durable within a second; SIGINT keeps the cursor."""
    import signal
    import time

    from tests._learn_support import state_ready, wait_for

    fifo = tmp_path / "entries"
    os.mkfifo(fifo)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "journalctl"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path}/calls\nexec cat {fifo}\n')
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    proc = subprocess.Popen(
        learn_command(state, "--journal", "--follow"), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    writer = -1
    try:
        assert wait_for(lambda: state_ready(state), 15)
        writer = os.open(fifo, os.O_WRONLY)  # journalctl (cat) has it open for reading by now
        for n in range(1, 4):
            os.write(writer, _journal_entry(record(n, serial=n), "audit", n).encode())
            sent = time.monotonic()
            assert wait_for(lambda n=n: total(state) == n, 1.0), (  # type: ignore[misc]
                f"entry {n} not in the state {time.monotonic() - sent:.2f}s after journalctl printed it"
            )
        assert proc.poll() is None, "--follow keeps reading while journalctl runs"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
    finally:
        if writer >= 0:
            os.close(writer)
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert b"Stopped by SIGINT" in err
    assert b"Traceback" not in err
    assert counts(state) == {("x86_64", n, True): 1 for n in range(1, 4)}
    from seccomp_gen.store import Store

    with Store.open(state, readonly=True) as store:
        [position] = store.positions(SourceKind.JOURNAL)
    assert position.cursor == "s=ab;i=3"
    args = (tmp_path / "calls").read_text().split()
    assert {"-o", "json", "--follow", "--no-tail"} <= set(args)


def test_forget_takes_several_names(state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = _log(tmp_path / "syslog", *(syslog(record(n, serial=n + 1)) for n in (0, 1, 2, 257)))
    assert _learn(state, str(log)) == 0
    assert main(["forget", "read", "openat", "write", "--state", str(state)]) == 0
    assert counts(state) == {("x86_64", 2, False): 1}
    err = capsys.readouterr().err
    assert "forgot read: 1 record" in err
    assert "forgot openat: 1 record" in err
    assert main(["forget", "open", "ptrace", "--state", str(state)]) == 1  # one was never learned
    assert "'ptrace' was not learned" in capsys.readouterr().err
    assert total(state) == 0


def test_learn_dash_reads_stdin(state: Path) -> None:
    done = subprocess.run(
        learn_command(state, "-"), input=syslog(record(3, serial=1)).encode(), capture_output=True,
        timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert b"from stdin" in done.stderr
    assert counts(state) == {("x86_64", 3, False): 1}


def test_every_filter_option_through_the_cli_is_applied_and_counted(
    state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = {"comm": "web", "exe": "/srv/web", "pid": 10, "uid": 1000, "subj": "app_t"}
    variants: list[dict[str, object]] = [
        {},  # kept
        {"comm": "sh"},
        {"exe": "/bin/web"},
        {"pid": 11},
        {"uid": 0},
        {"subj": "init_t"},
        {"code": "0x50001"},  # ERRNO(EPERM): a denial, not a LOG
        {"ts": TS - 100},
        {"ts": TS + 100},
    ]
    log = _log(
        tmp_path / "syslog",
        *(syslog(record(n, serial=n + 1, **{**base, **v})) for n, v in enumerate(variants)),  # type: ignore[arg-type]
    )
    args = ["--comm", "w*", "--exe", "/srv/*", "--pid", "10", "--uid", "1000", "--subj", "app_*"]
    args += ["--action", "log", "--since", f"@{TS - 1}", "--until", f"@{TS + 1}"]
    assert _learn(state, *args, str(log)) == 0
    assert counts(state) == {("x86_64", 0, False): 1}
    reasons = {"comm": 1, "exe": 1, "pid": 1, "uid": 1, "subj": 1, "action": 1, "since": 1, "until": 1}
    assert "8 filtered out (" + ", ".join(f"{r} 1" for r in sorted(reasons)) + ")" in capsys.readouterr().err
    assert main(["status", "--json", "--state", str(state)]) == 0
    counters = json.loads(capsys.readouterr().out)["counters"]
    assert {k.split(":", 1)[1]: n for k, n in counters.items() if k.startswith("filtered:")} == reasons


def test_status_shows_positions_and_the_last_update(
    state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import time

    log = _log(tmp_path / "syslog", syslog(record(0, serial=1)), syslog(record(1, serial=2)))
    gz = tmp_path / "old.gz"
    gz.write_bytes(gzip.compress(syslog(record(2, serial=3)).encode()))
    before = time.time()
    assert _learn(state, str(log), str(gz)) == 0
    capsys.readouterr()
    assert main(["status", "--json", "--state", str(state)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert before - 1 <= doc["updated"] <= time.time()
    by_kind = {s["kind"]: s for s in doc["sources"]}
    st = log.stat()
    plain = by_kind["file"]
    assert (plain["key"], plain["inode"], plain["dev"], plain["offset"]) == (
        str(log),
        st.st_ino,
        st.st_dev,
        st.st_size,
    )
    assert plain["fingerprint_len"] == min(1024, st.st_size)
    assert len(plain["fingerprint"]) == 64
    assert (by_kind["gzip"]["cursor"], by_kind["gzip"]["complete"]) == (str(gz), True)
    assert main(["status", "--state", str(state)]) == 0
    text = capsys.readouterr().out
    assert time.strftime("last update %Y-%m-%d", time.gmtime(doc["updated"])) in text
    assert f"file {log}: offset {st.st_size} (inode {st.st_ino})" in text
    assert f"gzip {gz}: read" in text
    assert "x86_64       3 syscalls, 3 records" in text
    assert "cat              /bin/cat  3 syscalls, 3 records" in text
