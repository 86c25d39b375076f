"""The real-path gate: a missing part skips with its reason, and CI's variable turns that into a failure."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from tests import realpath

CI = Path(__file__).resolve().parent.parent / ".ci" / "run"


def test_missing_part_skips_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(realpath, "REQUIRE_REAL", False)
    with pytest.raises(pytest.skip.Exception, match="needs no-such-tool-here"):
        realpath.need_program("no-such-tool-here")


def test_under_require_real_a_missing_part_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(realpath, "REQUIRE_REAL", True)
    with pytest.raises(pytest.fail.Exception, match=r"SECCOMP_GEN_REQUIRE_REAL=1\): needs no-such-tool-here"):
        realpath.need_program("no-such-tool-here")


def test_present_part_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(realpath, "REQUIRE_REAL", True)
    realpath.need(True, "never shown")
    assert realpath.need_program("sh").endswith("/sh")


def test_ci_requires_the_real_path_and_installs_its_parts() -> None:
    lines = [line.strip() for line in CI.read_text().splitlines()]
    assert "export SECCOMP_GEN_REQUIRE_REAL=1" in lines
    (command,) = [line for line in lines if line.startswith("apt-get update && apt-get install -y ")]
    install = shlex.split(command.split(" && ")[1])
    assert {"runc", "busybox-static", "rsyslog", "libseccomp2"} <= set(install[3:])
    assert command.endswith("python -m pytest")  # the whole suite, the real-path tests included
