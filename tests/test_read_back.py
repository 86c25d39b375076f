"""Issue 17, item 1: every format emit writes, check/diff/merge read back, to the same allowlist per ABI."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seccomp_gen.actions import Action, ActionKind
from seccomp_gen.compare import allowed_by_abi
from seccomp_gen.errors import ProfileError
from seccomp_gen.profile import ALLOW, Profile, Rule
from seccomp_gen.profile_read import read_profile
from seccomp_gen.render import Format, RenderOptions, render
from tests.test_emit import run

READABLE = (Format.DOCKER, Format.OCI, Format.SPO, Format.SYSTEMD)
NAMES = ("read", "write", "openat", "close", "mmap", "futex", "socketcall", "getuid32", "clone", "exit_group")


@settings(max_examples=60, deadline=None)
@given(
    names=st.sets(st.sampled_from(NAMES), min_size=1),
    abis=st.sets(st.sampled_from(["x86_64", "i386", "aarch64"]), min_size=1),
    errno=st.sampled_from([1, 38, 13]),
    fmt=st.sampled_from(READABLE),
    spo_version=st.sampled_from(["v1", "v1beta1"]),
)
def test_every_format_reads_back_to_the_same_allowlist(
    names: set[str], abis: set[str], errno: int, fmt: Format, spo_version: str
) -> None:
    if fmt is Format.SPO:
        errno = 1  # a SeccompProfile has no defaultErrnoRet: its runtimes answer EPERM
    profile = Profile(
        default_action=Action(ActionKind.ERRNO, errno),
        architectures=tuple(sorted(abis)),
        rules=(Rule(tuple(sorted(names)), ALLOW),),
    )
    text = render(profile, fmt, RenderOptions(name="demo", spo_version=spo_version))
    back = read_profile(text, f"emitted.{fmt.value}").profile
    assert allowed_by_abi(back) == allowed_by_abi(profile)
    assert back.default_action == profile.default_action


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n", "a 'Pod' of 'v1', not a Security", id="pod"
        ),
        pytest.param(
            "apiVersion: security-profiles-operator.x-k8s.io/v1\nkind: SeccompProfile\nspec: {}\n",
            "spec has no defaultAction",
            id="spo-without-default",
        ),
        pytest.param("key: [unclosed\n", "neither JSON nor YAML", id="broken-yaml"),
        pytest.param("[Service]\nSystemCallFilter=~@mount\n", "deny list, @groups", id="systemd-deny-list"),
        pytest.param(
            "[Service]\nSystemCallFilter=@system-service\n", "deny list, @groups", id="systemd-group"
        ),
        pytest.param(
            "[Service]\nSystemCallFilter=read\nSystemCallArchitectures=vax\n",
            "unknown SystemCallArchitectures",
            id="arch",
        ),
        pytest.param(
            "[Service]\nSystemCallFilter=read\nSystemCallErrorNumber=EWHAT\n", "not an errno", id="errno"
        ),
    ],
)
def test_what_cannot_be_read_is_one_clear_error(text: str, message: str) -> None:
    with pytest.raises(ProfileError, match=message):
        read_profile(text, "input")


def test_kubectl_get_yaml_form_is_read() -> None:
    """What the cluster gives back: status, managedFields, a namespace (v1beta1) and all."""
    text = """apiVersion: security-profiles-operator.x-k8s.io/v1beta1
kind: SeccompProfile
metadata:
  name: demo
  namespace: default
  managedFields:
  - apiVersion: security-profiles-operator.x-k8s.io/v1beta1
    manager: kubectl
spec:
  architectures: [SCMP_ARCH_X86_64]
  defaultAction: SCMP_ACT_ERRNO
  syscalls:
  - action: SCMP_ACT_ALLOW
    names: [read, write]
status:
  status: Installed
  localhostProfile: operator/default/demo.json
"""
    profile = read_profile(text, "cluster.yaml").profile
    assert allowed_by_abi(profile) == {"x86_64": frozenset({"read", "write"})}


def test_check_diff_and_merge_take_the_shipped_yaml_and_drop_in(capsys: pytest.CaptureFixture[str]) -> None:
    emitted = Path(__file__).resolve().parent.parent / "examples" / "emitted"
    spo, systemd = emitted / "busybox-http.spo.yaml", emitted / "busybox-http.systemd.conf"
    oci = emitted / "busybox-http.oci.json"
    for path in (spo, systemd):
        code, _, err = run(capsys, "check", str(path))
        assert code == 0, err
    assert run(capsys, "diff", str(spo), str(oci))[0] == 0
    assert run(capsys, "diff", str(systemd), str(oci))[0] == 0
    code, out, _ = run(capsys, "merge", str(spo), str(oci), "--format", "spo")
    assert code == 0
    assert out.splitlines()[2] == 'apiVersion: "security-profiles-operator.x-k8s.io/v1"'


def test_a_pod_manifest_is_read_through_its_localhost_profile(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Pod names profiles/NAME.json: found under the kubelet directory or beside the manifest."""
    emitted = Path(__file__).resolve().parent.parent / "examples" / "emitted"
    assert run(capsys, "diff", str(emitted / "fine-pod.yaml"), str(emitted / "busybox-http.oci.json"))[0] == 0
    lonely = tmp_path / "pod.yaml"
    lonely.write_text((emitted / "fine-pod.yaml").read_text())
    code, _, err = run(capsys, "check", str(lonely))
    assert code == 2
    assert (
        "the Pod's localhost profile 'profiles/fine-grained.json' is not at /var/lib/kubelet/seccomp/" in err
    )
    code, _, err = run(capsys, "check", str(emitted / "kind.yaml"))
    assert code == 2
    assert "a kind cluster config mounts a directory of profiles and holds none" in err
