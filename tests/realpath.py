"""Gatekeeping for tests that need the real parts: root, the kernel log, runc, busybox, rsyslog.

On a machine without them these tests skip with the reason. ``.ci/run`` installs what they need
and sets ``SECCOMP_GEN_REQUIRE_REAL=1``, which turns every such skip into a failure, so CI always
proves the real path.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REQUIRE_REAL = os.environ.get("SECCOMP_GEN_REQUIRE_REAL") == "1"


def need(condition: bool, reason: str) -> None:
    """Skip (or, under SECCOMP_GEN_REQUIRE_REAL=1, fail) unless ``condition`` holds."""
    if condition:
        return
    if REQUIRE_REAL:
        pytest.fail(f"real-path test cannot run (SECCOMP_GEN_REQUIRE_REAL=1): {reason}")
    pytest.skip(reason)


def need_root() -> None:
    """The test installs filters, reads /dev/kmsg or changes sysctls: it needs root."""
    need(os.geteuid() == 0, "needs root")


def need_program(name: str) -> str:
    """Return the path of ``name`` on PATH, or skip/fail."""
    path = shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None)
    need(path is not None, f"needs {name} (apt-get install {name})")
    assert path is not None
    return path


def need_kmsg() -> None:
    """The test reads the live kernel log."""
    need_root()
    need(os.access("/dev/kmsg", os.R_OK), "needs a readable /dev/kmsg")
    logged = Path("/proc/sys/kernel/seccomp/actions_logged")
    need(
        logged.exists() and "log" in logged.read_text().split(),
        "needs kernel.seccomp.actions_logged to include 'log'",
    )
