"""Profile → text: golden files for every format, parseable output, determinism, refusals.

Regenerate the golden files after an intended change with
``SECCOMP_GEN_UPDATE_GOLDEN=1 python -m pytest tests/test_render.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from seccomp_gen.actions import Action, ActionKind
from seccomp_gen.errors import ProfileError
from seccomp_gen.lint import compile_profile
from seccomp_gen.observations import Observation
from seccomp_gen.profile import ALLOW, BuildOptions, Profile, Rule, build_profile
from seccomp_gen.profile_read import read_profile
from seccomp_gen.render import Format, RenderOptions, render
from tests.test_profile import fixed_observations, obs

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("SECCOMP_GEN_UPDATE_GOLDEN") == "1"
SUFFIX = {
    Format.DOCKER: "json",
    Format.OCI: "json",
    Format.SPO: "yaml",
    Format.POD: "yaml",
    Format.KIND: "yaml",
    Format.SYSTEMD: "conf",
}
OPTIONS = RenderOptions(name="demo-app")
# oci-artifact renders the OCI text, which the CLI writes as an image layout (tests/test_artifact.py)
TEXT_FORMATS = [f for f in Format if f is not Format.OCI_ARTIFACT]


def fixed_profile() -> Profile:
    # as test_emit's golden run: the state has runc's records, so its base (of a fixed version) is in
    options = BuildOptions(abis=("x86_64", "i386"), base="auto", runtime_versions={"runc": "1.1.5"})
    return build_profile(fixed_observations(), options).profile


def rendered(fmt: Format) -> str:
    return render(fixed_profile(), fmt, OPTIONS)


@pytest.mark.parametrize("fmt", TEXT_FORMATS, ids=[f.value for f in TEXT_FORMATS])
def test_golden(fmt: Format) -> None:
    path = GOLDEN / f"emit.{fmt.value}.{SUFFIX[fmt]}"
    text = rendered(fmt)
    if UPDATE:
        path.write_text(text)
    assert text == path.read_text(), f"{path.name} changed: SECCOMP_GEN_UPDATE_GOLDEN=1 to accept"


@pytest.mark.parametrize("fmt", TEXT_FORMATS, ids=[f.value for f in TEXT_FORMATS])
def test_rendering_twice_gives_the_same_bytes(fmt: Format) -> None:
    assert rendered(fmt) == rendered(fmt)


@pytest.mark.parametrize("fmt", TEXT_FORMATS, ids=[f.value for f in TEXT_FORMATS])
def test_text_ends_with_one_newline(fmt: Format) -> None:
    text = rendered(fmt)
    assert text.endswith("\n")
    assert not text.endswith("\n\n")


@pytest.mark.parametrize("fmt", [Format.DOCKER, Format.OCI], ids=["docker", "oci"])
def test_json_outputs_read_back_and_compile(fmt: Format) -> None:
    read = read_profile(rendered(fmt), fmt.value).profile
    original = fixed_profile()
    assert read.default_action == original.default_action
    assert read.architectures == original.architectures
    assert [(r.names, r.action) for r in read.rules] == [(r.names, r.action) for r in original.rules]
    compile_profile(read)


def test_docker_json_shape() -> None:
    doc = json.loads(rendered(Format.DOCKER))
    assert list(doc) == ["defaultAction", "defaultErrnoRet", "architectures", "syscalls"]
    assert (doc["defaultAction"], doc["defaultErrnoRet"]) == ("SCMP_ACT_ERRNO", 1)
    assert doc["architectures"] == ["SCMP_ARCH_X86", "SCMP_ARCH_X86_64"]
    for rule in doc["syscalls"]:
        assert rule["names"] == sorted(rule["names"])


def test_oci_output_has_no_docker_extensions() -> None:
    doc = json.loads(rendered(Format.OCI))
    assert all(set(rule) <= {"names", "action", "errnoRet", "args"} for rule in doc["syscalls"])


def _yaml(fmt: Format) -> Any:
    return yaml.safe_load(rendered(fmt))


def test_spo_yaml_is_a_seccomp_profile_with_the_same_rules() -> None:
    doc = _yaml(Format.SPO)
    assert doc["apiVersion"] == "security-profiles-operator.x-k8s.io/v1"  # SPO 1.0; --spo-version v1beta1
    assert (doc["kind"], doc["metadata"]["name"]) == ("SeccompProfile", "demo-app")
    oci = json.loads(rendered(Format.OCI))
    assert doc["spec"]["syscalls"] == [
        {k: v for k, v in rule.items() if k in ("names", "action", "errnoRet")} for rule in oci["syscalls"]
    ]
    assert doc["spec"]["architectures"] == oci["architectures"]


def test_pod_yaml_points_at_the_localhost_profile() -> None:
    doc = _yaml(Format.POD)
    assert doc["kind"] == "Pod"
    assert doc["spec"]["securityContext"]["seccompProfile"] == {
        "type": "Localhost",
        "localhostProfile": "profiles/demo-app.json",
    }


def test_kind_yaml_mounts_the_profiles_directory() -> None:
    doc = _yaml(Format.KIND)
    assert doc["kind"] == "Cluster"
    assert doc["nodes"][0]["extraMounts"] == [
        {"hostPath": "./profiles", "containerPath": "/var/lib/kubelet/seccomp/profiles"}
    ]


@pytest.mark.parametrize(
    "tricky",
    [
        pytest.param('a"b', id="quote"),
        pytest.param("a: b #c", id="yaml-syntax"),
        pytest.param("{x}", id="flow-mapping"),
    ],
)
def test_values_cannot_break_the_yaml(tricky: str) -> None:
    text = render(fixed_profile(), Format.POD, RenderOptions(name="demo", profile_path=tricky, image=tricky))
    doc = yaml.safe_load(text)
    assert doc["spec"]["securityContext"]["seccompProfile"]["localhostProfile"] == tricky
    assert doc["spec"]["containers"][0]["image"] == tricky


def test_newline_in_a_value_is_refused() -> None:
    with pytest.raises(ProfileError, match="control characters"):
        render(fixed_profile(), Format.POD, RenderOptions(profile_path="a\nb"))


def test_systemd_drop_in_lines() -> None:
    lines = rendered(Format.SYSTEMD).splitlines()
    settings = dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
    assert settings["SystemCallArchitectures"] == "x86 x86-64"
    assert settings["SystemCallErrorNumber"] == "EPERM"
    assert "socketcall" in settings["SystemCallFilter"].split()
    assert "[Service]" in lines


@pytest.mark.parametrize(
    ("fmt", "profile", "message"),
    [
        pytest.param(
            Format.SYSTEMD,
            Profile(Action(ActionKind.TRAP), ("x86_64",), (Rule(("read",), ALLOW),)),
            "not TRAP",
            id="systemd-trap",
        ),
        pytest.param(
            Format.SYSTEMD,
            Profile(Action(ActionKind.ERRNO, 1), ("m68k",), (Rule(("read",), ALLOW),)),
            "m68k",
            id="systemd-arch-without-name",
        ),
        pytest.param(
            Format.SPO,
            Profile(Action(ActionKind.ERRNO, 38), ("x86_64",), (Rule(("read",), ALLOW),)),
            "ENOSYS",
            id="spo-default-errno",
        ),
    ],
)
def test_targets_refuse_what_they_cannot_express(fmt: Format, profile: Profile, message: str) -> None:
    with pytest.raises(ProfileError, match=message):
        render(profile, fmt)


def test_kill_process_default_has_no_errno() -> None:
    profile = Profile(Action(ActionKind.KILL_PROCESS), ("x86_64",), (Rule(("read",), ALLOW),))
    assert "defaultErrnoRet" not in json.loads(render(profile, Format.DOCKER))
    assert "SystemCallErrorNumber" not in render(profile, Format.SYSTEMD)


_RANDOM_OBSERVATIONS = st.lists(
    st.builds(
        lambda abi, number: obs(abi, number | (0x40000000 if abi == "x32" else 0), None),
        st.sampled_from(["x86_64", "i386", "x32"]),
        st.integers(0, 460),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=40, deadline=None)
@given(_RANDOM_OBSERVATIONS, st.sampled_from(["errno", "kill"]))
def test_every_emitted_profile_compiles(observations: list[Observation], default: str) -> None:
    action = Action(ActionKind.ERRNO, 1) if default == "errno" else Action(ActionKind.KILL_PROCESS)
    observations = [obs("x86_64", 0, "read"), *observations]  # never empty: emit would refuse
    profile = build_profile(observations, BuildOptions(default_action=action)).profile
    compile_profile(profile)
    for fmt in (Format.DOCKER, Format.OCI):
        compile_profile(read_profile(render(profile, fmt), fmt.value).profile)
