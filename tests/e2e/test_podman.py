"""Podman, the other everyday consumer of Docker-format JSON, runs what emit writes (issue 17, item 5).

The busybox workload runs under ``podman --runtime runc --cgroup-manager=cgroupfs run --security-opt
seccomp=FILE --rootfs DIR`` (Debian's podman on this kind of host; crun refuses its hybrid cgroups):
once under the tutorial's audit.json while its own records (by audit session) are read from the kernel
log, then under the profile emitted from them, which must print the same, and under the tutorial's
violation.json, which must fail.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from seccomp_gen.sandbox import KmsgTap
from tests.e2e.bundle import (
    AUDIT_PROFILE,
    VIOLATION_PROFILE,
    build_bundle,
    expected_output,
    run_in_new_session,
)
from tests.e2e.conftest import seccomp_gen
from tests.realpath import need_program

pytestmark = [pytest.mark.realpath, pytest.mark.usefixtures("printk_unlimited")]

STARTS = 10


def _podman(rootfs: Path, profile: Path) -> tuple[subprocess.CompletedProcess[str], int | None]:
    podman, runc = need_program("podman"), need_program("runc")
    options = ["--cgroup-manager=cgroupfs", "run", "--rm", "--network", "none"]
    limits = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
    command = [podman, "--runtime", runc, *options, *limits, "--security-opt", f"seccomp={profile}"]
    return run_in_new_session([*command, "--rootfs", str(rootfs), "/bin/sh", "/bin/workload.sh"], timeout=120)


def test_podman_runs_the_emitted_docker_profile(real_host: None, tmp_path: Path) -> None:
    bundle = build_bundle(tmp_path / "bundle", busybox=need_program("busybox"), runc=need_program("runc"))
    rootfs = bundle.path / "rootfs"
    audit, violation = tmp_path / "audit.json", tmp_path / "violation.json"
    audit.write_text(json.dumps(AUDIT_PROFILE))
    violation.write_text(json.dumps(VIOLATION_PROFILE))
    tap = KmsgTap()
    tap.start()
    try:
        done, session = _podman(rootfs, audit)
        time.sleep(0.5)
    finally:
        records, losses = tap.stop()
    assert done.returncode == 0, done.stderr
    assert done.stdout == expected_output()
    assert not losses
    mine = [r.line for r in records if session is not None and r.event.ses == session]
    assert any(b'comm="runc:[2:INIT]"' in line for line in mine)  # Podman's runc path leaves runc's init
    (tmp_path / "records.kmsg").write_bytes(b"".join(mine))
    state = tmp_path / "state.db"
    seccomp_gen("learn", str(tmp_path / "records.kmsg"), state=state)
    seccomp_gen("emit", "-o", str(tmp_path / "profile.json"), state=state)
    for _ in range(STARTS):
        done, _ = _podman(rootfs, tmp_path / "profile.json")
        assert done.returncode == 0, done.stderr
        assert done.stdout == expected_output()
    done, _ = _podman(rootfs, violation)
    assert done.returncode != 0
    assert done.stdout == ""
