"""Reading profiles (good and broken), libseccomp compilation per ABI, and the review's warnings."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from seccomp_gen.actions import Action, ActionKind
from seccomp_gen.errors import ProfileError
from seccomp_gen.lint import compile_profile, filter_text, review
from seccomp_gen.profile import ALLOW, Profile, Rule
from seccomp_gen.profile_read import read_profile

EPERM = Action(ActionKind.ERRNO, 1)


def profile_json(**overrides: Any) -> str:
    doc: dict[str, Any] = {
        "defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}],
    }
    doc.update(overrides)
    return json.dumps(doc)


def codes(profile: Profile) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for finding in review(profile):
        found.setdefault(finding.code, []).append(finding.message)
    return found


# --- reading --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected_rules"),
    [
        pytest.param(profile_json(), [(("read", "write"), ALLOW)], id="docker-profile"),
        pytest.param(
            json.dumps({"ociVersion": "1.0.2", "linux": {"seccomp": json.loads(profile_json())}}),
            [(("read", "write"), ALLOW)],
            id="whole-oci-config",
        ),
        pytest.param(
            profile_json(syscalls=[{"name": "read", "action": "SCMP_ACT_ALLOW"}]),
            [(("read",), ALLOW)],
            id="old-single-name",
        ),
        pytest.param(
            profile_json(syscalls=[{"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]),
            [(("clone3",), Action(ActionKind.ERRNO, 38))],
            id="errno-rule",
        ),
        pytest.param(
            profile_json(syscalls=[{"names": ["ptrace"], "action": "SCMP_ACT_ERRNO"}]),
            [(("ptrace",), EPERM)],
            id="errno-without-errnoRet-is-eperm",
        ),
        pytest.param(profile_json(syscalls=[]), [], id="empty-syscalls"),
        pytest.param(profile_json(syscalls=None), [], id="null-syscalls"),
        pytest.param(
            profile_json(syscalls=[{"names": ["kill"], "action": "SCMP_ACT_KILL"}]),
            [(("kill",), Action(ActionKind.KILL_THREAD))],
            id="old-kill-spelling",
        ),
    ],
)
def test_reads(text: str, expected_rules: list[tuple[tuple[str, ...], Action]]) -> None:
    profile = read_profile(text, "p.json").profile
    assert [(r.names, r.action) for r in profile.rules] == expected_rules


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("{", "p.json: not JSON: Expecting property name", id="truncated"),
        pytest.param("", "not JSON", id="empty-file"),
        pytest.param("[]", "the top level must be an object", id="list"),
        pytest.param("{}", "no defaultAction", id="no-default"),
        pytest.param(
            profile_json(defaultAction="SCMP_ACT_MAYBE"), "unknown action 'SCMP_ACT_MAYBE'", id="act"
        ),
        pytest.param(profile_json(defaultAction=7), "defaultAction must be a string", id="action-type"),
        pytest.param(
            profile_json(architectures="SCMP_ARCH_X86_64"), "architectures must be a list", id="arch"
        ),
        pytest.param(profile_json(architectures=["SCMP_ARCH_VAX"]), "unknown architecture", id="vax"),
        pytest.param(profile_json(syscalls={"read": 1}), "syscalls must be a list", id="syscalls-type"),
        pytest.param(
            profile_json(syscalls=[{"name": "read", "names": ["write"], "action": "SCMP_ACT_ALLOW"}]),
            "both 'name' and 'names'",
            id="name-and-names",
        ),
        pytest.param(
            profile_json(syscalls=[{"names": "read", "action": "SCMP_ACT_ALLOW"}]),
            r"syscalls\[0\]\.names must be a list",
            id="names-string",
        ),
        pytest.param(
            profile_json(syscalls=[{"names": [1], "action": "SCMP_ACT_ALLOW"}]),
            r"syscalls\[0\]\.names\[0\] must be a string",
            id="name-int",
        ),
        pytest.param(
            profile_json(syscalls=[{"names": ["read"], "action": "ALLOW"}]),
            r"syscalls\[0\]: action: unknown action 'ALLOW'",
            id="rule-action",
        ),
        pytest.param(
            profile_json(syscalls=[{"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": 70000}]),
            "does not fit in 16 bits",
            id="errno-range",
        ),
        pytest.param(
            profile_json(
                syscalls=[
                    {
                        "names": ["read"],
                        "action": "SCMP_ACT_ALLOW",
                        "args": [{"index": 9, "op": "SCMP_CMP_EQ"}],
                    }
                ]
            ),
            "not an argument index",
            id="arg-index",
        ),
        pytest.param(
            json.dumps({"ociVersion": "1.0.2", "linux": {}}), "linux.seccomp must be an object", id="oci"
        ),
    ],
)
def test_broken_profiles_are_one_line_errors(text: str, message: str) -> None:
    with pytest.raises(ProfileError, match=message) as info:
        read_profile(text, "p.json")
    assert "\n" not in str(info.value)


def test_huge_value_is_quoted_short() -> None:
    with pytest.raises(ProfileError) as info:
        read_profile(profile_json(defaultAction="X" * 100_000), "p.json")
    assert len(str(info.value)) < 200


def test_huge_profile_reads() -> None:
    names = [f"name{i}" for i in range(50_000)]
    profile = read_profile(profile_json(syscalls=[{"names": names, "action": "SCMP_ACT_ALLOW"}]), "p").profile
    assert len(profile.rules[0].names) == 50_000


def test_includes_are_flagged() -> None:
    text = profile_json(
        syscalls=[{"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64"]}}]
    )
    read = read_profile(text, "p.json")
    assert read.profile.rules[0].conditional
    assert [f.code for f in read.findings] == ["conditional"]


def test_docker_default_profile_reads_and_compiles() -> None:
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "reference" / "moby-profiles" / "seccomp" / "default.json"
    read = read_profile(path.read_text(), str(path))
    assert "x86_64" in read.profile.architectures
    compile_profile(Profile(read.profile.default_action, ("x86_64", "i386"), read.profile.rules))


# --- compiling: per-ABI numbers ---------------------------------------------------------------------


def _numbers(pfc: str, arch_id: int) -> dict[str, int]:
    """syscall name → number compared, in the ``arch`` block of libseccomp's pseudo filter code."""
    blocks = re.split(r"# filter for arch ", pfc)
    block = next(b for b in blocks if f"({arch_id})" in b.splitlines()[0])
    return {m[0]: int(m[1]) for m in re.findall(r'# filter for syscall "(\w+)" \((\d+)\)', block)}


X86_64_ID, I386_ID = 0xC000003E, 0x40000003


def test_names_resolve_per_architecture() -> None:
    profile = Profile(
        EPERM, ("i386", "x86_64"), (Rule(("getuid", "socketcall", "clock_gettime", "read"), ALLOW),)
    )
    pfc = filter_text(profile, profile.architectures)
    assert _numbers(pfc, I386_ID) == {"getuid": 24, "socketcall": 102, "clock_gettime": 265, "read": 3}
    x86_64 = _numbers(pfc, X86_64_ID)
    assert {k: v for k, v in x86_64.items() if v < 1 << 31} == {
        "getuid": 102,
        "clock_gettime": 228,
        "read": 0,
    }


def test_only_requested_architectures_are_in_the_filter() -> None:
    profile = Profile(EPERM, ("i386",), (Rule(("read",), ALLOW),))
    pfc = filter_text(profile, profile.architectures)
    assert f"({I386_ID})" in pfc
    assert f"({X86_64_ID})" not in pfc


@pytest.mark.parametrize(
    "profile",
    [
        pytest.param(Profile(EPERM, ("x86_64", "ppc64"), (Rule(("read",), ALLOW),)), id="mixed-endianness"),
    ],
)
def test_profiles_libseccomp_cannot_build_are_errors(profile: Profile) -> None:
    with pytest.raises(ProfileError, match="libseccomp"):
        compile_profile(profile)


def test_rule_equal_to_default_is_skipped_when_compiling() -> None:
    compile_profile(Profile(EPERM, ("x86_64",), (Rule(("read",), ALLOW), Rule(("ptrace",), EPERM))))


# --- review ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rules", "code", "needle"),
    [
        pytest.param((Rule(("pread", "read"), ALLOW),), "alias", "pread64", id="alias"),
        pytest.param(
            (Rule(("no_such_call", "read"), ALLOW),), "unknown-to-libseccomp", "no_such_call", id="unk"
        ),
        pytest.param((Rule(("read",), ALLOW), Rule(("read",), ALLOW)), "duplicate", "read", id="duplicate"),
        pytest.param(
            (Rule(("read",), ALLOW), Rule(("read",), Action(ActionKind.KILL_PROCESS))),
            "conflict",
            "read",
            id="conflict",
        ),
        pytest.param(
            (Rule(("read",), ALLOW), Rule(("ptrace",), EPERM)), "rule-is-default", "ptrace", id="dflt"
        ),
        pytest.param((Rule(("ptrace",), Action(ActionKind.ERRNO, 38)),), "empty-allowlist", "", id="empty"),
        pytest.param((Rule(("read", "ptrace"), ALLOW),), "risky", "ptrace: Docker", id="risky-cap"),
        pytest.param((Rule(("read", "socket"), ALLOW),), "risky", "argument values", id="risky-args"),
        pytest.param(
            (Rule(("read", "kexec_load"), ALLOW),), "risky", "does not allow it", id="not-in-docker"
        ),
        pytest.param(
            (Rule(("read", "socketcall"), ALLOW),), "not-on-architectures", "socketcall", id="not-x86_64"
        ),
    ],
)
def test_review_names_each_offender(rules: tuple[Rule, ...], code: str, needle: str) -> None:
    found = codes(Profile(EPERM, ("x86_64",), rules))
    assert code in found, found
    assert any(needle in message for message in found[code])


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        pytest.param(("SECCOMP_FILTER_FLAG_LOG",), ["flags-need-runc-1.2"], id="log"),
        pytest.param(("SECCOMP_FILTER_FLAG_BOGUS",), ["unknown-flag", "flags-need-runc-1.2"], id="bogus"),
    ],
)
def test_review_of_flags(flags: tuple[str, ...], expected: list[str]) -> None:
    profile = Profile(EPERM, ("x86_64",), (Rule(("read",), ALLOW),), flags=flags)
    assert [f.code for f in review(profile)] == expected


def test_review_of_a_plain_profile_is_quiet() -> None:
    assert review(Profile(EPERM, ("x86_64",), (Rule(("read", "write", "close"), ALLOW),))) == []


def test_arch_only_rules_of_docker_count_as_unconditional() -> None:
    assert "risky" not in codes(Profile(EPERM, ("x86_64",), (Rule(("arch_prctl", "read"), ALLOW),)))
