"""Podman, the other everyday consumer of Docker-format JSON, runs what emit writes (issue 17, item 5).

The busybox workload runs under ``podman --runtime runc --cgroup-manager=cgroupfs run --security-opt
seccomp=FILE --rootfs DIR`` (Debian's podman on this kind of host; crun refuses its hybrid cgroups):
once under the tutorial's audit.json while its own records (by audit session) are read from the kernel
log, then under the profile emitted from them, which must print the same, and under the tutorial's
violation.json, which must fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from seccomp_gen._exec_under_filter import new_audit_session
from seccomp_gen.sandbox import KmsgTap
from tests.e2e.bundle import AUDIT_PROFILE, VIOLATION_PROFILE, build_bundle, expected_output
from tests.realpath import need_program

pytestmark = [pytest.mark.realpath, pytest.mark.usefixtures("printk_unlimited")]

STARTS = 10


def _podman(rootfs: Path, profile: Path) -> subprocess.Popen[str]:
    command = [
        need_program("podman"),
        "--runtime",
        need_program("runc"),
        "--cgroup-manager=cgroupfs",
        "run",
        "--rm",
        "--network",
        "none",
        "--ulimit",
        "nofile=1024:1024",
        "--ulimit",
        "nproc=1024:1024",
        "--security-opt",
        f"seccomp={profile}",
        "--rootfs",
        str(rootfs),
        "/bin/sh",
        "/bin/workload.sh",
    ]
    return subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=new_audit_session,  # noqa: PLW1509 - writes one /proc file, then execs
    )


def _session(pid: int) -> int:
    return int(Path(f"/proc/{pid}/sessionid").read_text())


def test_podman_runs_the_emitted_docker_profile(real_host: None, tmp_path: Path) -> None:
    bundle = build_bundle(tmp_path / "bundle", busybox=need_program("busybox"), runc=need_program("runc"))
    rootfs = bundle.path / "rootfs"
    audit, violation = tmp_path / "audit.json", tmp_path / "violation.json"
    audit.write_text(json.dumps(AUDIT_PROFILE))
    violation.write_text(json.dumps(VIOLATION_PROFILE))
    tap = KmsgTap()
    tap.start()
    try:
        proc = _podman(rootfs, audit)
        session = _session(proc.pid)
        out, err = proc.communicate(timeout=120)
        time.sleep(0.5)
    finally:
        records, losses = tap.stop()
    assert proc.returncode == 0, err
    assert out == expected_output()
    assert not losses
    mine = [r.line for r in records if r.event.ses == session]
    assert any(b'comm="runc:[2:INIT]"' in line for line in mine)  # Podman's runc path leaves runc's init
    (tmp_path / "records.kmsg").write_bytes(b"".join(mine))
    env = {**os.environ, "SECCOMP_GEN_STATE": str(tmp_path / "state.db")}
    for argv in (["learn", str(tmp_path / "records.kmsg")], ["emit", "-o", str(tmp_path / "profile.json")]):
        done = subprocess.run(
            [sys.executable, "-m", "seccomp_gen", *argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
    for _ in range(STARTS):
        proc = _podman(rootfs, tmp_path / "profile.json")
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert out == expected_output()
    proc = _podman(rootfs, violation)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode != 0
    assert out == ""
