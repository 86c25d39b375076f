"""Issue 17, item 4: apply (and emit --into) put a profile into an OCI bundle's config.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.test_emit import make_state, run
from tests.test_profile import obs

CONFIG = {
    "ociVersion": "1.0.2-dev",
    "process": {"args": ["/bin/sh"], "cwd": "/", "noNewPrivileges": True},
    "root": {"path": "rootfs", "readonly": True},
    "hostname": "runc",
    "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
    "linux": {"namespaces": [{"type": "pid"}], "seccomp": {"defaultAction": "SCMP_ACT_LOG"}},
    "annotations": {"keep": "me", "ünïcode": "✓"},
}


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    path = tmp_path / "bundle"
    path.mkdir()
    (path / "config.json").write_text(json.dumps(CONFIG, indent="\t"))
    (path / "config.json").chmod(0o640)
    return path


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return make_state(
        tmp_path / "s.db", [obs("x86_64", 0, "read", count=3), obs("x86_64", 1, "write", count=3)]
    )


def _profile_names(config: dict[str, Any]) -> set[str]:
    seccomp = config["linux"]["seccomp"]
    return {n for rule in seccomp["syscalls"] for n in rule["names"]}


@pytest.mark.parametrize("target", ["dir", "file"])
def test_apply_replaces_only_linux_seccomp(
    capsys: pytest.CaptureFixture[str], state: Path, bundle: Path, tmp_path: Path, target: str
) -> None:
    profile = tmp_path / "p.spo.yaml"
    assert (
        run(capsys, "emit", "--state", str(state), "--format", "spo", "-o", str(profile), "--base", "none")[0]
        == 0
    )
    where = bundle if target == "dir" else bundle / "config.json"
    code, out, err = run(capsys, "apply", str(profile), str(where))
    assert code == 0, err
    assert out == ""
    assert f"wrote linux.seccomp of {bundle / 'config.json'}" in err
    config = json.loads((bundle / "config.json").read_text())
    assert {k: v for k, v in config.items() if k != "linux"} == {
        k: v for k, v in CONFIG.items() if k != "linux"
    }
    assert config["linux"]["namespaces"] == CONFIG["linux"]["namespaces"]  # type: ignore[index]
    assert config["linux"]["seccomp"]["defaultAction"] == "SCMP_ACT_ERRNO"
    assert {"read", "write"} <= _profile_names(config)
    assert list(config) == list(CONFIG)  # key order kept
    assert (bundle / "config.json").stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in bundle.iterdir()) == ["config.json"]  # no temporary left


def test_emit_into_writes_the_bundle(capsys: pytest.CaptureFixture[str], state: Path, bundle: Path) -> None:
    code, out, err = run(capsys, "emit", "--state", str(state), "--into", str(bundle), "--base", "none")
    assert code == 0, err
    assert out == ""
    assert {"read", "write"} <= _profile_names(json.loads((bundle / "config.json").read_text()))
    code, _, err = run(capsys, "emit", "--state", str(state), "--into", str(bundle), "-o", "x.json")
    assert code == 2
    assert "give one" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(
            '{"defaultAction": "SCMP_ACT_LOG"}', "no ociVersion: not an OCI runtime config", id="profile"
        ),
        pytest.param("not json", "not JSON", id="text"),
        pytest.param('["ociVersion"]', "no ociVersion", id="list"),
        pytest.param('{"ociVersion": "1.0", "linux": []}', "linux is not an object", id="linux-list"),
    ],
)
def test_a_target_that_is_not_an_oci_config_is_refused_untouched(
    capsys: pytest.CaptureFixture[str], state: Path, tmp_path: Path, content: str, message: str
) -> None:
    target = tmp_path / "config.json"
    target.write_text(content)
    profile = tmp_path / "p.json"
    assert run(capsys, "emit", "--state", str(state), "-o", str(profile), "--base", "none")[0] == 0
    code, out, err = run(capsys, "apply", str(profile), str(target))
    assert code == 2
    assert out == ""
    assert err.startswith("error: ")
    assert err.count("\n") == 1, err
    assert message in err
    assert target.read_text() == content
