"""Issue 17, item 3: emit --format oci-artifact writes a KEP-6061 OCI layout that reads back and copies."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from seccomp_gen.artifact import MAX_SYSCALL_ENTRIES, SECCOMP_MEDIA_TYPE, size_warnings
from tests.realpath import need_program
from tests.test_emit import make_state, run
from tests.test_profile import obs


@pytest.fixture
def layout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    state = make_state(
        tmp_path / "s.db", [obs("x86_64", 0, "read", count=3), obs("x86_64", 1, "write", count=3)]
    )
    out = tmp_path / "layout"
    code, stdout, err = run(
        capsys,
        "emit",
        "--state",
        str(state),
        "--format",
        "oci-artifact",
        "-o",
        str(out),
        "--name",
        "demo",
        "--base",
        "none",
    )
    assert code == 0, err
    assert stdout == ""
    return out


def _blob(layout: Path, digest: str) -> bytes:
    data = (layout / "blobs" / "sha256" / digest.split(":", 1)[1]).read_bytes()
    assert f"sha256:{hashlib.sha256(data).hexdigest()}" == digest
    return data


def test_the_layout_is_one_seccomp_artifact(layout: Path) -> None:
    assert json.loads((layout / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads((layout / "index.json").read_text())
    (entry,) = index["manifests"]
    assert entry["annotations"] == {"org.opencontainers.image.ref.name": "demo"}
    manifest = json.loads(_blob(layout, entry["digest"]))
    assert entry["size"] == len(_blob(layout, entry["digest"]))
    assert manifest["artifactType"] == manifest["config"]["mediaType"] == SECCOMP_MEDIA_TYPE
    assert _blob(layout, manifest["config"]["digest"]) == b"{}"
    (layer,) = manifest["layers"]
    assert layer["mediaType"] == "application/json"
    profile = json.loads(_blob(layout, layer["digest"]))
    assert profile["defaultAction"] == "SCMP_ACT_ERRNO"
    assert {n for rule in profile["syscalls"] for n in rule["names"]} >= {"read", "write"}


def test_check_and_diff_read_the_layout(
    layout: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "check", str(layout))[0] == 0
    layer = tmp_path / "layer.json"
    manifest = json.loads(
        _blob(layout, json.loads((layout / "index.json").read_text())["manifests"][0]["digest"])
    )
    layer.write_bytes(_blob(layout, manifest["layers"][0]["digest"]))
    assert run(capsys, "diff", str(layout), str(layer))[0] == 0


def test_a_layout_is_never_written_over_something(
    layout: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    state = make_state(tmp_path / "t.db", [obs("x86_64", 0, "read", count=3)])
    code, _, err = run(capsys, "emit", "--state", str(state), "--format", "oci-artifact", "-o", str(layout))
    assert code == 2
    assert "directory" in err  # refused before any work: -o names a new directory for a layout
    code, _, err = run(capsys, "emit", "--state", str(state), "--format", "oci-artifact")
    assert code == 2
    assert "give it with -o NEW_DIR" in err


def test_size_limits_are_warned() -> None:
    entries = [{"names": [f"n{i}"], "action": "SCMP_ACT_ALLOW"} for i in range(MAX_SYSCALL_ENTRIES + 1)]
    assert any("129 syscalls entries" in w for w in size_warnings(json.dumps({"syscalls": entries})))
    assert any("over 1 MiB" in w for w in size_warnings(json.dumps({"syscalls": [], "pad": "x" * 1_100_000})))
    assert size_warnings(json.dumps({"syscalls": entries[:3]})) == []


@pytest.mark.realpath
def test_skopeo_copies_the_layout(layout: Path, tmp_path: Path) -> None:
    skopeo = need_program("skopeo")
    done = subprocess.run(
        [skopeo, "copy", f"oci:{layout}:demo", f"dir:{tmp_path / 'copied'}"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "copied" / "manifest.json").read_text())
    assert manifest["artifactType"] == SECCOMP_MEDIA_TYPE
