"""record and run on a host command: the filter goes in between fork and exec, records come back live."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from seccomp_gen import sandbox
from seccomp_gen.cli import main
from seccomp_gen.errors import SandboxError
from seccomp_gen.events import LossEvent
from tests.realpath import need_kmsg

SCRIPT = """\
import os, sys
path = os.path.join(sys.argv[1], "made-by-the-script")
os.mkdir(path)
with open(os.path.join(path, "note"), "w") as fh:
    fh.write("hello")
print(open(os.path.join(path, "note")).read())
"""


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "work.py"
    path.write_text(SCRIPT)
    return path


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


@pytest.mark.realpath
def test_record_then_run_round_trip(tmp_path: Path, script: Path, capsys: pytest.CaptureFixture[str]) -> None:
    need_kmsg()
    state = tmp_path / "state.db"
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    command = [sys.executable, str(script), str(out_dir)]
    assert main(["record", "--state", str(state), "--fix-ratelimit", "--", *command]) == 0
    err = capsys.readouterr().err
    assert "+ mkdir (x86_64)" in err or "+ mkdirat (x86_64)" in err

    assert main(["emit", "--state", str(state), "--log-denials", "--output", str(tmp_path / "p.json")]) == 0
    profile = json.loads((tmp_path / "p.json").read_text())
    capsys.readouterr()

    second = tmp_path / "again"
    second.mkdir()
    rerun = [sys.executable, str(script), str(second)]
    assert main(["run", "--profile", str(tmp_path / "p.json"), "--", *rerun]) == 0
    assert "nothing denied" in capsys.readouterr().err

    for rule in profile["syscalls"]:
        rule["names"] = [n for n in rule["names"] if n not in ("mkdir", "mkdirat")]
    (tmp_path / "no-mkdir.json").write_text(json.dumps(profile))
    third = tmp_path / "third"
    third.mkdir()
    status = main(
        ["run", "--profile", str(tmp_path / "no-mkdir.json"), "--", sys.executable, str(script), str(third)]
    )
    err = capsys.readouterr().err
    assert status == 1  # PermissionError from os.mkdir
    assert "denied by" in err
    assert " mkdir ERRNO" in err or " mkdirat ERRNO" in err


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
