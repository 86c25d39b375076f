"""doctor and the host facts under it: each check's verdict and fix, and the facts read from files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seccomp_gen import doctor, kernel
from seccomp_gen.cli import main
from seccomp_gen.doctor import Check, Status
from seccomp_gen.errors import SandboxError

ALL_ACTIONS = ("kill_process", "kill_thread", "trap", "errno", "user_notif", "trace", "log")


@pytest.mark.parametrize(
    ("actions", "status", "fix_has"),
    [
        pytest.param(ALL_ACTIONS, Status.OK, "", id="log-logged"),
        pytest.param(("kill_process", "errno"), Status.FAIL, "kill_process errno log", id="log-missing"),
        pytest.param((), Status.FAIL, '="log"', id="empty"),
        pytest.param(None, Status.FAIL, "upgrade", id="kernel-without-sysctl"),
    ],
)
def test_actions_logged(actions: tuple[str, ...] | None, status: Status, fix_has: str) -> None:
    row = doctor.check_actions_logged(actions)
    assert row.status is status
    assert fix_has in row.fix


@pytest.mark.parametrize(
    ("limit", "auditd", "status"),
    [
        pytest.param(kernel.RateLimit(0, 10), False, Status.OK, id="lifted"),
        pytest.param(kernel.RateLimit(5, 10), False, Status.WARN, id="debian-default"),
        pytest.param(kernel.RateLimit(5, 10), True, Status.INFO, id="auditd-owns-records"),
        pytest.param(None, False, Status.WARN, id="unreadable"),
    ],
)
def test_rate_limit(limit: kernel.RateLimit | None, auditd: bool, status: Status) -> None:
    row = doctor.check_rate_limit(limit, auditd=auditd)
    assert row.status is status
    if status is Status.WARN and limit is not None:
        assert "printk_ratelimit=0" in row.fix


def test_auditd_running_points_at_audit_log() -> None:
    row = doctor.check_auditd(True)
    assert row.status is Status.INFO
    assert "audit.log" in row.detail
    assert row.fix == "seccomp-gen learn /var/log/audit/audit.log"


@pytest.mark.parametrize(
    ("rows", "auditd", "status"),
    [
        pytest.param([Check("/dev/kmsg", Status.OK, "")], False, Status.OK, id="kmsg"),
        pytest.param([Check("/dev/kmsg", Status.WARN, "")], True, Status.OK, id="auditd-log"),
        pytest.param([Check("syslog", Status.OK, "")], False, Status.OK, id="syslog"),
        pytest.param(
            [Check("/dev/kmsg", Status.WARN, ""), Check("syslog", Status.INFO, "")],
            False,
            Status.FAIL,
            id="none",
        ),
    ],
)
def test_some_source(rows: list[Check], auditd: bool, status: Status) -> None:
    assert doctor.check_some_source(rows, auditd=auditd).status is status


def test_libseccomp_missing_newer_syscalls_is_a_warning() -> None:
    info = kernel.LibseccompInfo("2.5.4", "x86_64", 456, "futex_requeue", ("statmount", "listmount"))
    pyseccomp_row, row = doctor.check_libseccomp(lambda: info)
    assert pyseccomp_row.status is Status.OK
    assert row.status is Status.WARN
    assert "futex_requeue (456)" in row.detail
    assert "statmount" in row.detail


def test_libseccomp_that_cannot_load_fails() -> None:
    def broken() -> kernel.LibseccompInfo:
        raise SandboxError("cannot load libseccomp")

    (row,) = doctor.check_libseccomp(broken)
    assert row.status is Status.FAIL
    assert not doctor.ready([row])


def test_real_libseccomp_is_probed() -> None:
    info = kernel.libseccomp_info()
    assert info.version.count(".") == 2
    assert info.newest_number > 400  # every libseccomp since 2.5 names io_uring_setup (425) and later


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        pytest.param("*.*;auth,authpriv.none\t\t-/var/log/syslog\n", ["/var/log/syslog"], id="debian-syslog"),
        pytest.param("kern.*\t\t\t\t-/var/log/kern.log\n", ["/var/log/kern.log"], id="kern-log"),
        pytest.param("*.info;mail.none;authpriv.none /var/log/messages\n", ["/var/log/messages"], id="rhel"),
        pytest.param("mail.*\t-/var/log/mail.log\n", [], id="other-facility"),
        pytest.param("*.*;kern.none /var/log/nokern\n", [], id="kern-excluded"),
        pytest.param("*.emerg\t:omusrmsg:*\n", [], id="not-a-file"),
        pytest.param("# kern.* /var/log/kern.log\n$FileOwner root\n", [], id="comments-and-directives"),
    ],
)
def test_kernel_syslog_files(tmp_path: Path, config: str, expected: list[str]) -> None:
    conf = tmp_path / "rsyslog.conf"
    conf.write_text(config)
    assert [str(p) for p in kernel.kernel_syslog_files((conf, tmp_path / "missing.d"))] == expected


def test_sysctls_read_from_files(tmp_path: Path) -> None:
    (tmp_path / "logged").write_text("kill_process log\n")
    (tmp_path / "interval").write_text("5\n")
    (tmp_path / "burst").write_text("10\n")
    assert kernel.actions_logged(tmp_path / "logged") == ("kill_process", "log")
    assert kernel.actions_logged(tmp_path / "absent") is None
    assert kernel.rate_limit(tmp_path / "interval", tmp_path / "burst") == kernel.RateLimit(5, 10)
    assert kernel.rate_limit(tmp_path / "absent", tmp_path / "burst") is None


def test_find_process_matches_the_exact_command_name(tmp_path: Path) -> None:
    for pid, comm in ((30, "kauditd"), (812, "auditd"), (900, "rsyslogd")):
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "comm").write_text(comm + "\n")
    (tmp_path / "self").mkdir()
    assert kernel.find_process("auditd", tmp_path) == 812
    assert kernel.syslog_daemon(tmp_path) == "rsyslogd"
    assert not kernel.journald_running(tmp_path)


def test_cli_doctor_lists_every_check(capsys: pytest.CaptureFixture[str]) -> None:
    rows = doctor.diagnose()
    status = main(["doctor"])
    out = capsys.readouterr().out
    assert status == (0 if doctor.ready(rows) else 1)
    for row in rows:
        assert row.name in out


def test_cli_doctor_json(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["doctor", "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert payload["ready"] is (status == 0)
    assert {c["check"] for c in payload["checks"]} >= {
        "kernel.seccomp.actions_logged",
        "/dev/kmsg",
        "libseccomp",
    }


@pytest.mark.parametrize(
    ("running", "journalctl", "status", "detail_has"),
    [
        pytest.param(True, "/usr/bin/journalctl", Status.OK, "learn --journal", id="running"),
        pytest.param(False, "/usr/bin/journalctl", Status.INFO, "not running", id="installed-only"),
        pytest.param(False, None, Status.INFO, "not installed", id="absent"),
    ],
)
def test_journald_row(running: bool, journalctl: str | None, status: Status, detail_has: str) -> None:
    row = doctor.check_journald(running, journalctl)
    assert (row.name, row.status) == ("journald", status)
    assert detail_has in row.detail


@pytest.mark.parametrize(
    ("daemon", "files", "status", "detail_has"),
    [
        pytest.param(
            "rsyslogd",
            (Path("/var/log/syslog"), Path("/var/log/kern.log")),
            Status.OK,
            "rsyslogd writes kernel lines to /var/log/syslog, /var/log/kern.log",
            id="rsyslog-files",
        ),
        pytest.param("rsyslogd", (), Status.INFO, "no file receives kernel lines", id="no-kern-file"),
        pytest.param(None, (Path("/var/log/syslog"),), Status.INFO, "no syslog daemon", id="not-running"),
    ],
)
def test_syslog_row_names_the_files_kernel_lines_go_to(
    daemon: str | None, files: tuple[Path, ...], status: Status, detail_has: str
) -> None:
    row = doctor.check_syslog(daemon, files)
    assert row.status is status
    assert detail_has in row.detail


def test_kmsg_row() -> None:
    assert doctor.check_kmsg(True).status is Status.OK
    row = doctor.check_kmsg(False)
    assert row.status is Status.WARN
    assert "dmesg_restrict=0" in row.fix


def test_kmsg_readable_reads_the_device(tmp_path: Path) -> None:
    readable = tmp_path / "kmsg"
    readable.write_text("")
    assert kernel.kmsg_readable(readable)
    assert not kernel.kmsg_readable(tmp_path / "absent")


def test_pyseccomp_that_cannot_be_imported_says_how_to_install_it() -> None:
    def missing() -> kernel.LibseccompInfo:
        raise ModuleNotFoundError("No module named 'pyseccomp'", name="pyseccomp")

    (row,) = doctor.check_libseccomp(missing)
    assert row.status is Status.FAIL
    assert "pip install pyseccomp" in row.fix


def test_doctor_fails_with_each_fix_when_learning_cannot_work(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A host whose kernel does not log SCMP_ACT_LOG and whose records nobody can read.
    monkeypatch.setattr(kernel, "actions_logged", lambda: ("kill_process", "errno"))
    monkeypatch.setattr(kernel, "rate_limit", lambda: kernel.RateLimit(5, 10))
    monkeypatch.setattr(kernel, "auditd_running", lambda: False)
    monkeypatch.setattr(kernel, "journald_running", lambda: False)
    monkeypatch.setattr(kernel, "journalctl_path", lambda: None)
    monkeypatch.setattr(kernel, "syslog_daemon", lambda: None)
    monkeypatch.setattr(kernel, "kmsg_readable", lambda: False)
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out.splitlines()
    fixes = [line.strip() for line in out if line.strip().startswith("fix: ")]
    assert 'fix: sysctl -w kernel.seccomp.actions_logged="kill_process errno log"' in fixes
    assert "fix: sysctl -w kernel.printk_ratelimit=0 (or: seccomp-gen record --fix-ratelimit)" in fixes
    assert "fix: run as root, or sysctl -w kernel.dmesg_restrict=0" in fixes
    assert any(line.startswith("FAIL  records readable from") for line in out)
    assert main(["doctor", "--json"]) == 1
    payload = json.loads(capsys.readouterr().out)
    assert payload["ready"] is False
    failed = {c["check"] for c in payload["checks"] if c["status"] == "fail"}
    assert failed == {"kernel.seccomp.actions_logged", "records readable from"}


@pytest.mark.parametrize(
    ("accel", "env", "status", "expected"),
    [
        pytest.param(True, "", Status.OK, ("C accelerator", ""), id="built"),
        pytest.param(False, "", Status.WARN, ("was not built", "python3-dev"), id="not-built"),
        pytest.param(False, "1", Status.INFO, ("SECCOMP_GEN_PURE_PYTHON is set", ""), id="turned-off"),
    ],
)
def test_parser_row(
    accel: bool, env: str, status: Status, expected: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    detail_has, fix_has = expected
    from seccomp_gen import _fastpath

    monkeypatch.setattr(_fastpath, "ACCEL", object() if accel else None)
    monkeypatch.setenv("SECCOMP_GEN_PURE_PYTHON", env)
    row = doctor.check_parser()
    assert (row.name, row.status) == ("parser", status)
    assert detail_has in row.detail
    assert fix_has in row.fix
    assert doctor.ready([row])  # a slower parser still learns


# --- the kernel log buffer (issue 13, item 4) ---------------------------------------------------


@pytest.mark.parametrize(
    ("seen", "status", "detail_has"),
    [
        pytest.param(None, Status.INFO, "no state here", id="no-state"),
        pytest.param(doctor.Seen("s.db", 338, 1.0, 0), Status.WARN, "at the 338 records/s", id="fast"),
        pytest.param(doctor.Seen("s.db", 600, 3600.0, 0), Status.OK, "records/s s.db shows", id="slow"),
        pytest.param(doctor.Seen("s.db", 10, 3600.0, 59), Status.WARN, "lost 59 records", id="lost"),
    ],
)
def test_log_buffer_is_judged_by_the_rate_seen(
    seen: doctor.Seen | None, status: Status, detail_has: str
) -> None:
    row = doctor.check_log_buffer(128 * 1024, seen)
    assert row.status is status
    assert "128 KiB: about 512 seccomp records" in row.detail
    assert detail_has in row.detail
    if status is Status.WARN:
        assert "log_buf_len=" in row.fix


def test_log_buffer_size_is_read_from_the_kernel() -> None:
    size = kernel.log_buffer_size()
    assert size is not None
    assert size >= 4096
    assert size & (size - 1) == 0  # log_buf_len is a power of two


def test_doctor_reads_the_rate_from_the_state(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The shipped recording: 338 records within about a second, so 128 KiB holds seconds of them."""
    state = tmp_path / "example.db"
    recording = Path(__file__).resolve().parent.parent / "examples" / "recording" / "busybox-http.kmsg"
    assert main(["learn", "--state", str(state), str(recording)]) == 0
    capsys.readouterr()
    seen = doctor.seen_in(state)
    assert seen is not None
    assert seen.records == 338
    assert seen.seconds < 5
    main(["doctor", "--json", "--state", str(state)])
    rows = {row["check"]: row for row in json.loads(capsys.readouterr().out)["checks"]}
    size = kernel.log_buffer_size()
    assert size is not None
    expected = "warn" if size // doctor.RECORD_BYTES / (338 / max(seen.seconds, 1)) < 60 else "ok"
    assert rows["kernel log buffer"]["status"] == expected
