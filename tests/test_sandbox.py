"""record and run on a host command: the filter goes in between fork and exec, records come back live."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from seccomp_gen import sandbox
from seccomp_gen.cli import main
from seccomp_gen.errors import SandboxError
from seccomp_gen.events import LossEvent
from seccomp_gen.kernel import RateLimit
from tests.realpath import need_kmsg


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param(sandbox.FilterSpec(sandbox.Mode.LOG), ["--log"], id="record"),
        pytest.param(
            sandbox.FilterSpec(sandbox.Mode.PROFILE, Path("p.json")), ["--profile", "p.json"], id="run"
        ),
        pytest.param(
            sandbox.FilterSpec(sandbox.Mode.PROFILE, Path("p.json"), log_denials=False),
            ["--profile", "p.json", "--no-log-denials"],
            id="run-quiet",
        ),
    ],
)
def test_wrapper_argv(spec: sandbox.FilterSpec, expected: list[str]) -> None:
    argv = sandbox.wrapper_argv(spec, ["echo", "--", "hi"], 7)
    assert argv[:5] == [sys.executable, "-m", "seccomp_gen._exec_under_filter", "--status-fd", "7"]
    assert argv[5:] == [*expected, "--", "echo", "--", "hi"]


class _NullTap:
    origin: Path | None = None

    def __init__(self) -> None:
        self.loss_after: list[int] = []

    def start(self) -> None:
        pass

    def stop(self) -> tuple[list[sandbox.Record], list[LossEvent]]:
        return [], []


@pytest.mark.parametrize(
    ("command", "message"),
    [
        pytest.param([], "no command given", id="empty"),
        pytest.param(["/nonexistent/tool"], "command not found: '/nonexistent/tool'", id="missing"),
    ],
)
def test_commands_that_cannot_run_are_clear_errors(command: list[str], message: str) -> None:
    with pytest.raises(SandboxError, match=message):
        sandbox.run_under_filter(sandbox.FilterSpec(sandbox.Mode.LOG), command, _NullTap())


def test_bad_profile_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profile = tmp_path / "p.json"
    profile.write_text('{"defaultAction": "SCMP_ACT_NOPE"}')
    assert main(["run", "--profile", str(profile), "--", "true"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot build the filter")
    assert "SCMP_ACT_NOPE" in err


def test_missing_profile_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--profile", str(tmp_path / "absent.json"), "--", "true"]) == 2
    assert "no such profile" in capsys.readouterr().err


def test_exit_status_is_the_commands(tmp_path: Path) -> None:
    outcome = sandbox.run_under_filter(
        sandbox.FilterSpec(sandbox.Mode.LOG), [sys.executable, "-c", "raise SystemExit(7)"], _NullTap()
    )
    assert outcome.returncode == 7


AUDITD_LINE = (
    "type=SECCOMP msg=audit(1795888061.010:{serial}): auid=0 uid=0 gid=0 ses={ses} subj=unconfined "
    'pid=4242 comm="mkdir" exe="/usr/bin/mkdir" sig=0 arch=c000003e syscall=83 compat=0 ip=0x40828e '
    "code=0x7ffc0000\n"
)


def test_audit_log_tap_reads_only_what_was_appended(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_text(AUDITD_LINE.format(serial=1, ses=7))
    tap = sandbox.AuditLogTap(log)
    tap.start()
    with log.open("a") as fh:
        fh.write(AUDITD_LINE.format(serial=2, ses=7))
        fh.write("type=SYSCALL msg=audit(1795888061.010:3): arch=c000003e syscall=59 success=yes\n")
        fh.write(AUDITD_LINE.format(serial=4, ses=8))
    records, losses = tap.stop()
    assert [(r.event.serial, r.event.ses) for r in records] == [(2, 7), (4, 8)]
    assert losses == []


def test_records_from_roots_audit_log_are_learned_as_trusted(tmp_path: Path) -> None:
    from seccomp_gen.store import Store

    log = tmp_path / "audit.log"
    log.write_text(AUDITD_LINE.format(serial=9, ses=3))
    log.chmod(0o600)
    tap = sandbox.AuditLogTap(log)
    tap.start()
    with log.open("a") as fh:
        fh.write(AUDITD_LINE.format(serial=10, ses=3))
    records, _ = tap.stop()
    outcome = sandbox.Outcome(0, 3, tuple(records), (), origin=log)
    sandbox.learn_outcome(outcome, tmp_path / "state.db")
    with Store.open(tmp_path / "state.db", readonly=True) as store:
        (obs,) = store.observations()
    assert (obs.name, obs.comm, obs.count) == ("mkdir", "mkdir", 1)
    assert obs.trusted is (log.stat().st_uid == 0)


@dataclass(frozen=True, slots=True)
class Host:
    """What the kernel module reports, for the precondition table."""

    logged: tuple[str, ...] | None = ("log",)
    auditd: bool = False
    kmsg: bool = True
    limit: tuple[int, int] = (0, 10)


@pytest.mark.parametrize(
    ("host", "outcome"),
    [
        pytest.param(Host(), [], id="ready"),
        pytest.param(Host(limit=(5, 10)), "warning: --fix-ratelimit", id="rate-limited"),
        pytest.param(Host(logged=("errno",)), "error: actions_logged", id="log-not-logged"),
        pytest.param(Host(logged=None), "error: actions_logged", id="old-kernel"),
        pytest.param(Host(kmsg=False), "error: cannot read /dev/kmsg", id="kmsg-unreadable"),
        pytest.param(Host(auditd=True, kmsg=False, limit=(5, 10)), [], id="auditd-owns-records"),
    ],
)
def test_record_preconditions(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, host: Host, outcome: list[str] | str
) -> None:
    from seccomp_gen import kernel

    audit_log = tmp_path / "audit.log"
    audit_log.write_text("")
    monkeypatch.setattr(kernel, "AUDIT_LOG", audit_log)
    monkeypatch.setattr(kernel, "actions_logged", lambda: host.logged)
    monkeypatch.setattr(kernel, "auditd_running", lambda: host.auditd)
    monkeypatch.setattr(kernel, "kmsg_readable", lambda: host.kmsg)
    monkeypatch.setattr(kernel, "rate_limit", lambda: kernel.RateLimit(*host.limit))
    if isinstance(outcome, list):
        assert sandbox.check_record_preconditions(fix_ratelimit=False) == outcome
        return
    kind, _, text = outcome.partition(": ")
    if kind == "warning":
        (warning,) = sandbox.check_record_preconditions(fix_ratelimit=False)
        assert text in warning
        assert sandbox.check_record_preconditions(fix_ratelimit=True) == []
    else:
        with pytest.raises(SandboxError, match=text):
            sandbox.check_record_preconditions(fix_ratelimit=False)


class _FakeTap:
    """A tap that reports what the test gives it, as if the kernel log had held it."""

    origin: Path | None = None

    def __init__(self, losses: list[LossEvent]) -> None:
        self.losses = losses
        self.loss_after = [0] * len(losses)

    def start(self) -> None:
        pass

    def stop(self) -> tuple[list[sandbox.Record], list[LossEvent]]:
        return [], self.losses


def _fake_host(monkeypatch: pytest.MonkeyPatch, tap: sandbox.Tap, limit: tuple[int, int] = (0, 10)) -> None:
    from seccomp_gen import kernel

    monkeypatch.setattr(sandbox, "check_record_preconditions", lambda fix_ratelimit: [])
    monkeypatch.setattr(sandbox, "default_tap", lambda: tap)
    monkeypatch.setattr(kernel, "rate_limit", lambda: kernel.RateLimit(*limit))


def test_record_and_run_exit_with_the_commands_status(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _fake_host(monkeypatch, _NullTap())
    command = [sys.executable, "-c", "raise SystemExit(77)"]
    assert main(["record", "--state", str(tmp_path / "s.db"), "--", *command]) == 77
    assert main(["run", "--profile", str(_allow_all(tmp_path)), "--", *command]) == 77
    capsys.readouterr()


def test_record_exit_status_of_a_killed_command_is_128_plus_the_signal(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _fake_host(monkeypatch, _NullTap())
    command = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"]
    assert main(["record", "--state", str(tmp_path / "s.db"), "--", *command]) == 128 + 15


def _allow_all(tmp_path: Path) -> Path:
    profile = tmp_path / "allow.json"
    profile.write_text('{"defaultAction": "SCMP_ACT_ALLOW"}')
    return profile


def test_record_and_run_report_lost_records(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from seccomp_gen.events import LossKind

    lost = [
        LossEvent(LossKind.PRINTK_SUPPRESSED, 652, text="kauditd_printk_skb: 652 callbacks suppressed\n"),
        LossEvent(LossKind.KMSG_OVERWRITTEN, None, text="kmsg: ring buffer overwritten"),
    ]
    _fake_host(monkeypatch, _FakeTap(lost))
    assert main(["record", "--state", str(tmp_path / "s.db"), "--", "true"]) == 0
    assert main(["run", "--profile", str(_allow_all(tmp_path)), "--", "true"]) == 0
    err = capsys.readouterr().err.splitlines()
    for line in (
        "warning: 652 record(s) lost (printk-suppressed): kauditd_printk_skb: 652 callbacks suppressed",
        "warning: an unknown number of record(s) lost (kmsg-overwritten): kmsg: ring buffer overwritten",
    ):
        assert err.count(line) == 2, err


@pytest.mark.parametrize(
    ("origin", "limit", "window"),
    [
        pytest.param(None, (5, 10), 5.0, id="kmsg-limited"),
        pytest.param(None, (0, 10), None, id="kmsg-unlimited"),
        pytest.param(None, None, None, id="sysctl-unreadable"),
        pytest.param(None, (3600, 10), None, id="interval-too-long-to-wait"),
        pytest.param(Path("/var/log/audit/audit.log"), (5, 10), None, id="auditd-not-rate-limited"),
    ],
)
def test_loss_window(origin: Path | None, limit: tuple[int, int] | None, window: float | None) -> None:
    from seccomp_gen import kernel

    tap = _NullTap()
    tap.origin = origin
    assert sandbox.loss_window(tap, kernel.RateLimit(*limit) if limit else None) == window


@pytest.fixture
def rate_limited() -> Iterator[RateLimit]:
    """printk's rate limit as Debian ships it, with a 1 s interval; the host's own is restored after."""
    from seccomp_gen import kernel

    need_kmsg()
    saved = kernel.rate_limit()
    assert saved is not None
    limit = kernel.RateLimit(1, 10)
    kernel.set_rate_limit(limit)
    try:
        yield limit
    finally:
        kernel.set_rate_limit(saved)


@pytest.mark.realpath
def test_fix_ratelimit_lifts_the_limit_for_the_command_only(
    rate_limited: RateLimit, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from seccomp_gen import kernel

    command = ["cat", "/proc/sys/kernel/printk_ratelimit", "/proc/sys/kernel/printk_ratelimit_burst"]
    out = tmp_path / "seen"
    wrapped = ["sh", "-c", f'"$@" > {out}', "sh", *command]
    assert main(["record", "--state", str(tmp_path / "s.db"), "--fix-ratelimit", "--", *wrapped]) == 0
    err = capsys.readouterr().err
    assert out.read_text().split() == ["0", str(kernel.UNLIMITED_BURST)]  # lifted while it ran
    assert kernel.rate_limit() == rate_limited  # and restored
    assert "lost" not in err
    assert "warning" not in err
    recorded = int(err.rsplit("recorded ", 1)[1].split()[0])
    assert recorded > rate_limited.burst  # more than printk would have let through


@pytest.mark.realpath
def test_record_under_the_rate_limit_warns_first_and_reports_what_the_kernel_dropped(
    rate_limited: RateLimit, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    command = [sys.executable, "-c", "import os; [os.getpid() for _ in range(3)]"]
    assert main(["record", "--state", str(tmp_path / "s.db"), "--", *command]) == 0
    err = capsys.readouterr().err.splitlines()
    assert "--fix-ratelimit" in err[0]
    assert err[0].startswith("warning: kernel.printk_ratelimit=1 (burst 10)")
    lost = [line for line in err if "record(s) lost (printk-suppressed)" in line]
    assert all(line.endswith("callbacks suppressed") and "kauditd_printk_skb: " in line for line in lost)
    assert lost, err
    dropped = sum(int(line.split()[1]) for line in lost)
    recorded = int(err[-1].split("recorded ", 1)[1].split()[0])
    assert recorded <= rate_limited.burst
    assert dropped > 0


CAPTURED = Path(__file__).resolve().parent / "data" / "captured"


class _RecordsTap(_NullTap):
    """A tap that hands back real kernel lines (captured on this machine), parsed as the kmsg tap does."""

    def __init__(self, lines: list[bytes]) -> None:
        super().__init__()
        self.lines = lines

    def stop(self) -> tuple[list[sandbox.Record], list[LossEvent]]:
        from seccomp_gen.events import SeccompEvent
        from seccomp_gen.records import Format, RecordParser

        parser = RecordParser(Format.KMSG)
        records = []
        for line in self.lines:
            event = parser.feed_line(line.decode())
            if isinstance(event, SeccompEvent):
                records.append(sandbox.Record(event, line))
        return records, []


def test_run_groups_denials_and_says_how_to_learn_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Real denials of the e2e workload (httpd killed at socket(); a kill-thread mkdir), their session as
    # the run's; plus a LOG record of the same session, which is not a denial.
    lines = [
        *(CAPTURED / "kill-wget-socket.kmsg").read_bytes().splitlines(keepends=True),
        *(CAPTURED / "kill-thread-mkdir.kmsg").read_bytes().splitlines(keepends=True),
        *(CAPTURED / "audit.kmsg").read_bytes().splitlines(keepends=True)[:1],
    ]
    denied = [line for line in lines if b"code=0x7ffc0000" not in line]
    lines += denied[-1:] * 2  # the mkdir denial twice more: three identical records, one line
    assert len(denied) < len(lines)
    denied += denied[-1:] * 2
    _fake_host(monkeypatch, _RecordsTap(lines))
    monkeypatch.setattr(sandbox, "_spawn", lambda spec, command: (137, 4294967295))
    assert main(["run", "--profile", str(_allow_all(tmp_path)), "--", "true"]) == 137
    err = capsys.readouterr().err.splitlines()
    heading = next(i for i, line in enumerate(err) if line.startswith("denied by "))
    (tmp_path / "denied.kmsg").write_bytes(b"".join(denied))
    assert main(["explain", str(tmp_path / "denied.kmsg")]) == 0
    explained = capsys.readouterr().out.splitlines()
    assert err[heading] == f"denied by {tmp_path / 'allow.json'}: {len(denied)} record(s)"
    groups, hint = err[heading + 1 : -1], err[-1]
    counts = [int(line.split("x", 1)[0]) for line in groups]
    assert sum(counts) == len(denied) == len(explained)
    assert counts == sorted(counts, reverse=True)
    assert len(groups) == len(set(groups)) < len(denied)  # identical denials are one line
    assert any("socket (x86_64) KILL_PROCESS by" in line for line in groups)
    assert hint == "to allow what it needs, learn it: seccomp-gen record -- true, then seccomp-gen emit"


def test_a_drop_count_printed_before_the_commands_first_record_is_not_the_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from seccomp_gen.events import LossKind

    lines = (CAPTURED / "audit.kmsg").read_bytes().splitlines(keepends=True)[:3]
    tap = _RecordsTap(lines)
    earlier = LossEvent(LossKind.PRINTK_SUPPRESSED, 20, text="kauditd_printk_skb: 20 callbacks suppressed")
    during = LossEvent(LossKind.PRINTK_SUPPRESSED, 1183, text="kauditd_printk_skb: 1183 callbacks suppressed")
    gap = LossEvent(LossKind.KMSG_GAP, 2, text="kmsg: 2 missed")
    monkeypatch.setattr(tap, "stop", lambda: (_RecordsTap.stop(tap)[0], [earlier, gap, during]))
    # As the kernel printed them: the 20 just before the run's first record, the 1183 after its second.
    tap.loss_after = [0, 0, 2]
    monkeypatch.setattr(sandbox, "_spawn", lambda spec, command: (0, 4294967295))
    outcome = sandbox.run_under_filter(sandbox.FilterSpec(sandbox.Mode.LOG), ["true"], tap)
    assert len(outcome.records) == 3
    assert outcome.losses == (gap, during)
    assert outcome.notes == (
        "the kernel also reported 20 record(s) dropped before the command's first record "
        "(not of this run, not counted)",
    )


@pytest.mark.parametrize(("auditd", "tap"), [(True, sandbox.AuditLogTap), (False, sandbox.KmsgTap)])
def test_records_are_read_where_the_kernel_sends_them(
    monkeypatch: pytest.MonkeyPatch, auditd: bool, tap: type
) -> None:
    from seccomp_gen import kernel

    monkeypatch.setattr(kernel, "auditd_running", lambda: auditd)
    chosen = sandbox.default_tap()
    assert isinstance(chosen, tap)
    assert chosen.origin == (kernel.AUDIT_LOG if auditd else None)
