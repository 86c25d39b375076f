"""Fixtures for the real path: a busybox OCI bundle, a lifted printk rate limit, rsyslogd, the CLI.

Everything here needs root, runc, busybox-static and a readable /dev/kmsg; without them the tests
skip with the reason (and fail under SECCOMP_GEN_REQUIRE_REAL=1, as in CI).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.bundle import Bundle, build_bundle
from tests.realpath import need_kmsg, need_program, need_root

SYSLOG = Path("/var/log/syslog")
SEEN_TIMEOUT = 15.0


def seccomp_gen(
    *args: str, input: str | None = None, check: bool = True, state: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a user would (a subprocess of the installed entry point); ``state`` is given as
    $SECCOMP_GEN_STATE, so that the command line is exactly the user's."""
    env = None if state is None else {**os.environ, "SECCOMP_GEN_STATE": str(state)}
    done = subprocess.run(
        [sys.executable, "-m", "seccomp_gen", *args],
        input=input,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if check and done.returncode != 0:
        pytest.fail(f"seccomp-gen {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
    return done


def emitted(state: Path, *extra: str) -> dict[str, Any]:
    """``seccomp-gen emit`` of ``state`` as parsed JSON."""
    return dict(json.loads(seccomp_gen("emit", "--state", str(state), *extra).stdout))


def allowed_names(profile: dict[str, Any]) -> set[str]:
    """Every name an SCMP_ACT_ALLOW rule of a Docker/OCI profile lists."""
    return {n for rule in profile["syscalls"] if rule["action"] == "SCMP_ACT_ALLOW" for n in rule["names"]}


@pytest.fixture(scope="session")
def real_host() -> None:
    """Root, runc, busybox and a kernel that logs SCMP_ACT_LOG, readable live."""
    need_root()
    need_kmsg()
    need_program("runc")
    need_program("busybox")


@pytest.fixture(scope="session")
def bundle(real_host: None, tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    """The busybox workload bundle, built once per session in a temp dir."""
    busybox = need_program("busybox")
    return build_bundle(tmp_path_factory.mktemp("oci") / "bundle", busybox=busybox, runc=need_program("runc"))


@pytest.fixture(scope="session")
def printk_unlimited(real_host: None) -> Iterator[None]:
    """Lift kernel.printk_ratelimit for the e2e tests (records are dropped otherwise); restore it."""
    from seccomp_gen import kernel

    with kernel.rate_limit_lifted():
        yield


@pytest.fixture(scope="session")
def rsyslog(real_host: None) -> Iterator[Path]:
    """A syslog daemon writing kernel lines to /var/log/syslog: the running one, or one started here."""
    from seccomp_gen import kernel

    rsyslogd = need_program("rsyslogd")
    if kernel.syslog_daemon() is not None:
        yield SYSLOG
        return
    proc = subprocess.Popen([rsyslogd, "-n", "-iNONE"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(SYSLOG.exists, "rsyslogd to create /var/log/syslog")
        yield SYSLOG
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def wait_for(condition: Any, what: str, timeout: float = SEEN_TIMEOUT) -> None:
    """Poll ``condition()`` until true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


def quiet_syslog_tail(syslog: Path, lines: int = 12) -> None:
    """Push records out of ``tail -f``'s first ten lines: log markers and wait until they are written."""
    tag = f"seccomp-gen-e2e-{os.getpid()}-{time.monotonic_ns()}"
    for i in range(lines):
        subprocess.run(["logger", "-t", tag, f"marker {i}"], check=True, timeout=10)
    wait_for(lambda: f"marker {lines - 1}" in _last_line(syslog), "the syslog markers")


def _last_line(path: Path) -> str:
    with path.open("rb") as fh:
        fh.seek(max(0, path.stat().st_size - 4096))
        tail = fh.read().decode(errors="replace").splitlines()
    return tail[-1] if tail else ""


class Learner:
    """A ``seccomp-gen learn`` running in the background (in its own process group)."""

    def __init__(self, command: list[str] | str, *, shell: bool = False) -> None:
        self.proc = subprocess.Popen(
            command,
            shell=shell,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    def stop(self, sig: int = signal.SIGINT) -> tuple[int, str]:
        """Signal the whole group (``tail`` too), then collect the exit status and stderr."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)
        _, err = self.proc.communicate(timeout=30)
        return self.proc.returncode, err
