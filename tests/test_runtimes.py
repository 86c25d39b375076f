"""Issue 13, item 3: the installed runtimes, their versions, and what their seccomp support allows."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from seccomp_gen import doctor
from seccomp_gen.cli import main
from seccomp_gen.runtimes import Feature, Runtime, describe, installed, parse_version
from tests.realpath import need_program
from tests.test_emit import make_state
from tests.test_profile import fixed_observations


@pytest.mark.parametrize(
    ("text", "version"),
    [
        pytest.param(
            "runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1\nspec: 1.0.2-dev", "1.1.5", id="debian runc"
        ),
        pytest.param("crun version 1.26\ncommit: abc\n+SYSTEMD +SECCOMP", "1.26", id="crun"),
        pytest.param("podman version 4.3.1", "4.3.1", id="podman"),
        pytest.param("something else", None, id="no version"),
    ],
)
def test_parse_version(text: str, version: str | None) -> None:
    assert parse_version(text) == version


@pytest.mark.parametrize(
    ("runtime", "feature", "supported"),
    [
        pytest.param(Runtime("runc", "/x", "1.1.5"), Feature.FLAGS, False, id="runc 1.1 refuses flags"),
        pytest.param(Runtime("runc", "/x", "1.2.0"), Feature.FLAGS, True, id="runc 1.2 applies flags"),
        pytest.param(Runtime("runc", "/x", "1.1.5"), Feature.NOTIFY, True, id="runc 1.1 notify"),
        pytest.param(Runtime("runc", "/x", "0.1.1"), Feature.DEFAULT_ERRNO, False, id="old runc errno"),
        pytest.param(Runtime("crun", "/x", "1.26"), Feature.FLAGS, True, id="crun flags"),
        pytest.param(Runtime("podman", "/x", "4.3.1"), Feature.FLAGS, None, id="podman: its runtime's"),
        pytest.param(Runtime("runc", "/x", None), Feature.FLAGS, None, id="no version"),
    ],
)
def test_supports(runtime: Runtime, feature: Feature, supported: bool | None) -> None:
    assert runtime.supports(feature) is supported


def test_describe() -> None:
    assert describe(Runtime("runc", "/x", "1.1.5")) == "runc 1.1.5: flags no, defaultErrnoRet yes, notify yes"


def _runc_version() -> str:
    out = subprocess.run(
        [need_program("runc"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    found = re.match(r"runc version (\d+\.\d+\.\d+)", out)
    assert found is not None, out
    return found[1]


@pytest.mark.realpath
def test_doctor_lists_the_installed_runc_with_its_version() -> None:
    version = _runc_version()
    [row] = [row for row in doctor.diagnose() if row.name == "runc"]
    assert row.detail.startswith(f"runc {version}: flags ")
    assert [r.version for r in installed(("runc",))] == [version]


@pytest.mark.realpath
def test_log_denials_warns_where_runc_refuses_flags(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    version = _runc_version()
    state = make_state(tmp_path / "state.db", fixed_observations())
    args = ["emit", "--state", str(state), "--arch", "x86_64", "--log-denials"]
    assert main(args) == 0
    err = capsys.readouterr().err
    old = tuple(int(p) for p in version.split(".")) < (1, 2)
    assert (f"which runc {version} here refuses" in err) == old
    if old:
        assert main([*args, "--strict", "--allow", "clone,socket"]) == 1
        assert "--strict: nothing written" in capsys.readouterr().err
