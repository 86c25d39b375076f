"""runc accepts what emit writes: the OCI object (and the Docker one) as a bundle's linux.seccomp."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seccomp_gen.abi import get_abi
from seccomp_gen.cli import main
from seccomp_gen.errors import UnknownSyscallError
from seccomp_gen.lint import docker_default
from seccomp_gen.observations import Observation
from seccomp_gen.syscalls import syscall_number
from tests.e2e.bundle import build_bundle, expected_output
from tests.realpath import need_program, need_root
from tests.test_emit import make_state


def _broad_state(path: Path) -> Path:
    """A state in which the workload's calls were surely observed: Docker's unconditional allowlist.

    Docker allows ``clone`` and ``socket`` only for some arguments; the workload forks and serves
    HTTP, so they are observed here too.
    """
    abi = get_abi("x86_64")
    observations = []
    for name in [*docker_default()["unconditional"], "clone", "socket"]:
        try:
            number = syscall_number(abi, name)
        except UnknownSyscallError:
            continue
        observations.append(Observation("x86_64", number, name, "sh", "/bin/busybox", "LOG", True, 1))
    return make_state(path, observations)


@pytest.mark.realpath
@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--format", "docker", "--arch", "x86_64", "--arch", "i386"], id="docker-two-arches"),
        pytest.param(["--format", "oci", "--errno", "ENOSYS", "--base", "runc"], id="oci-enosys-default"),
    ],
)
def test_runc_runs_the_workload_under_the_emitted_profile(tmp_path: Path, args: list[str]) -> None:
    need_root()
    runc = need_program("runc")
    busybox = need_program("busybox")
    profile = tmp_path / "profile.json"
    state = _broad_state(tmp_path / "state.db")
    assert main(["emit", "--state", str(state), "-o", str(profile), *args]) == 0
    bundle = build_bundle(tmp_path / "bundle", busybox=busybox, runc=runc)
    bundle.set_seccomp(json.loads(profile.read_text()))
    done = bundle.run()
    assert done.returncode == 0, done.stderr
    assert done.stdout == expected_output()


def _runc_version(runc: str) -> tuple[int, int]:
    import re
    import subprocess

    out = subprocess.run([runc, "--version"], capture_output=True, text=True, check=True, timeout=30).stdout
    found = re.search(r"runc version (\d+)\.(\d+)", out)
    assert found is not None, out
    return int(found[1]), int(found[2])


@pytest.mark.realpath
def test_log_denials_flag_needs_runc_1_2(tmp_path: Path) -> None:
    """runc 1.1 (Debian 12) refuses any seccomp ``flags``; 1.2 applies SECCOMP_FILTER_FLAG_LOG."""
    need_root()
    runc = need_program("runc")
    busybox = need_program("busybox")
    profile = tmp_path / "profile.json"
    state = _broad_state(tmp_path / "state.db")
    assert main(["emit", "--state", str(state), "-o", str(profile), "--format", "oci", "--log-denials"]) == 0
    bundle = build_bundle(tmp_path / "bundle", busybox=busybox, runc=runc)
    bundle.set_seccomp(json.loads(profile.read_text()))
    done = bundle.run()
    if _runc_version(runc) < (1, 2):
        assert done.returncode != 0
        assert "seccomp flags are not yet supported" in done.stderr
    else:
        assert done.returncode == 0, done.stderr
        assert done.stdout == expected_output()
