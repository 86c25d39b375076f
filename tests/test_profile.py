"""Observations → Profile: per-ABI names, filters, refusals, explicit additions; merge and diff."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seccomp_gen.abi import get_abi
from seccomp_gen.actions import Action, ActionKind
from seccomp_gen.compare import (
    allowed_by_abi,
    diff_allowlists,
    merge_observations,
    merge_profiles,
    observed_by_abi,
)
from seccomp_gen.errors import ProfileError, UnknownAbiError, UnknownSyscallError
from seccomp_gen.observations import Observation, ObservationFilter
from seccomp_gen.profile import ALLOW, BuildOptions, Profile, Rule, build_profile
from seccomp_gen.runtimes import base_names, measured_bases, runtime_base
from seccomp_gen.syscalls import syscall_number

GOLDEN = Path(__file__).parent / "golden"
EPERM = Action(ActionKind.ERRNO, 1)
ENOSYS = Action(ActionKind.ERRNO, 38)


def obs(abi: str, number: int, name: str | None, **fields: Any) -> Observation:
    values: dict[str, Any] = {
        "comm": "app",
        "exe": "/bin/app",
        "action": "LOG",
        "trusted": True,
        "count": 1,
    }
    values.update(fields)
    return Observation(abi=abi, number=number, name=name, **values)


def fixed_observations() -> list[Observation]:
    """The fixed state the golden files are made from (tests/golden/observations.json)."""
    rows = json.loads((GOLDEN / "observations.json").read_text())
    return [Observation(**row) for row in rows]


def allowed(profile: Profile) -> set[str]:
    return set(profile.names_with(ActionKind.ALLOW))


# --- per-ABI names --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("observation", "expected"),
    [
        pytest.param(obs("i386", 102, None), "socketcall", id="i386-102-is-socketcall"),
        pytest.param(obs("x86_64", 102, None), "getuid", id="x86_64-102-is-getuid"),
        pytest.param(obs("i386", 265, None), "clock_gettime", id="i386-265-is-clock_gettime"),
        pytest.param(obs("x86_64", 228, None), "clock_gettime", id="x86_64-228-is-clock_gettime"),
        pytest.param(obs("x32", 0x40000000, None), "read", id="x32-bit-kept-in-number"),
        pytest.param(obs("i386", 180, "pread"), "pread64", id="audit-alias-becomes-kernel-name"),
    ],
)
def test_numbers_are_decoded_with_their_own_abi(observation: Observation, expected: str) -> None:
    build = build_profile([observation], BuildOptions(enosys=()))
    assert allowed(build.profile) == {expected}


def test_recorded_name_is_not_trusted_over_the_table() -> None:
    build = build_profile([obs("i386", 102, "getuid")], BuildOptions(enosys=()))
    assert allowed(build.profile) == {"socketcall"}


def test_rules_are_grouped_by_the_abis_names_were_seen_on() -> None:
    observations = [obs("x86_64", 0, "read"), obs("i386", 3, "read"), obs("i386", 102, "socketcall")]
    profile = build_profile(observations, BuildOptions(enosys=())).profile
    assert profile.architectures == ("i386", "x86_64")
    assert [(r.abis, r.names) for r in profile.rules] == [
        (("i386", "x86_64"), ("read",)),
        (("i386",), ("socketcall",)),
    ]


def test_names_widened_to_another_abi_are_reported() -> None:
    observations = [obs("x86_64", 0, "read"), obs("i386", 5, "open")]
    build = build_profile(observations, BuildOptions(enosys=()))
    widened = [f.message for f in build.findings if f.code == "widened"]
    assert any("on x86_64" in m and "open" in m for m in widened)
    assert any("on i386" in m and "read" in m for m in widened)


def test_unknown_numbers_are_reported_never_emitted() -> None:
    observations = [obs("x86_64", 0, "read"), obs("x86_64", 5000, None, count=3), obs("unknown", 5, None)]
    build = build_profile(observations, BuildOptions(enosys=()))
    assert allowed(build.profile) == {"read"}
    assert [(u.abi, u.number, u.count) for u in build.unknown] == [("unknown", 5, 1), ("x86_64", 5000, 3)]


def test_default_architectures_are_the_observed_ones() -> None:
    observations = [obs("x86_64", 0, "read"), obs("i386", 3, "read")]
    assert build_profile(observations, BuildOptions()).profile.architectures == ("i386", "x86_64")


def test_observed_abi_not_requested_is_noted_and_left_out() -> None:
    observations = [obs("x86_64", 0, "read"), obs("i386", 102, "socketcall")]
    build = build_profile(observations, BuildOptions(abis=("amd64",), enosys=()))
    assert build.profile.architectures == ("x86_64",)
    assert allowed(build.profile) == {"read"}
    assert any("i386 calls observed" in f.message and "--arch i386" in f.message for f in build.findings)


# --- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("observations", "options", "message"),
    [
        pytest.param([], BuildOptions(), "no observations", id="empty-state"),
        pytest.param(
            [obs("x86_64", 0, "read")],
            BuildOptions(filter=ObservationFilter(comm=("nginx",))),
            "filters left none",
            id="all-filtered",
        ),
        pytest.param(
            [obs("x86_64", 5000, None)], BuildOptions(), "no known syscall", id="only-unknown-numbers"
        ),
        pytest.param(
            [obs("i386", 3, "read")],
            BuildOptions(abis=("x86_64",), allow=("write",)),
            "no known syscall",
            id="allow-alone-is-not-enough",
        ),
    ],
)
def test_nothing_to_allow_is_an_error(
    observations: list[Observation], options: BuildOptions, message: str
) -> None:
    with pytest.raises(ProfileError, match=message):
        build_profile(observations, options)


def test_unknown_arch_spelling_is_an_error() -> None:
    with pytest.raises(UnknownAbiError, match="vax"):
        build_profile([obs("x86_64", 0, "read")], BuildOptions(abis=("vax",)))


def test_observed_abi_without_libseccomp_is_left_out_with_a_warning() -> None:
    build = build_profile([obs("x86_64", 0, "read"), obs("alpha", 0, None)], BuildOptions(enosys=()))
    assert build.profile.architectures == ("x86_64",)
    assert [f.code for f in build.findings] == ["abi-without-libseccomp"]


def test_arch_without_libseccomp_support_is_an_error() -> None:
    with pytest.raises(ProfileError, match="alpha"):
        build_profile([obs("x86_64", 0, "read")], BuildOptions(abis=("alpha",)))


# --- filters and trust ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        pytest.param(ObservationFilter(), {"read", "write", "futex"}, id="no-filter"),
        pytest.param(ObservationFilter(comm=("app",)), {"read", "futex"}, id="comm"),
        pytest.param(ObservationFilter(comm=("a*",)), {"read", "futex"}, id="comm-glob"),
        pytest.param(ObservationFilter(exe=("/bin/other",)), {"write"}, id="exe"),
        pytest.param(ObservationFilter(action=("errno",)), {"futex"}, id="action-kind-matches-errno"),
        pytest.param(ObservationFilter(action=("LOG",)), {"read", "write"}, id="action-exact"),
        pytest.param(ObservationFilter(action=("denied",)), {"futex"}, id="action-denied-like-learn"),
        pytest.param(ObservationFilter(action=("all",)), {"read", "write", "futex"}, id="action-all"),
        pytest.param(ObservationFilter(action=("ERRNO(EPERM)",)), {"futex"}, id="action-with-errno"),
    ],
)
def test_filters_select_observations(flt: ObservationFilter, expected: set[str]) -> None:
    observations = [
        obs("x86_64", 0, "read"),
        obs("x86_64", 1, "write", comm="other", exe="/bin/other"),
        obs("x86_64", 202, "futex", action="ERRNO(EPERM)"),
    ]
    assert allowed(build_profile(observations, BuildOptions(enosys=(), filter=flt)).profile) == expected


def test_untrusted_only_names_are_kept_but_named() -> None:
    observations = [obs("x86_64", 0, "read"), obs("x86_64", 101, "ptrace", trusted=False)]
    build = build_profile(observations, BuildOptions(enosys=()))
    assert allowed(build.profile) == {"read", "ptrace"}
    assert [f.message for f in build.findings if f.code == "untrusted-only"] == [
        "seen only in lines any local user can write (syslog text): ptrace (--trusted-only leaves them out)"
    ]


def test_trusted_only_leaves_untrusted_names_out() -> None:
    observations = [
        obs("x86_64", 0, "read"),
        obs("x86_64", 0, "read", trusted=False),
        obs("x86_64", 101, "ptrace", trusted=False),
    ]
    options = BuildOptions(enosys=(), filter=ObservationFilter(trusted_only=True))
    assert allowed(build_profile(observations, options).profile) == {"read"}


def test_dropping_the_runtime_records_warns_unless_a_base_is_used() -> None:
    observations = [obs("x86_64", 0, "read"), obs("x86_64", 59, "execve", comm="runc:[2:INIT]")]
    flt = ObservationFilter(comm=("app",))
    codes = [f.code for f in build_profile(observations, BuildOptions(filter=flt)).findings]
    assert "runtime-filtered" in codes
    codes = [f.code for f in build_profile(observations, BuildOptions(filter=flt, base="runc")).findings]
    assert "runtime-filtered" not in codes


# --- explicit additions ---------------------------------------------------------------------------


def _measured(runtime: str = "runc") -> Mapping[str, Any]:
    return next(m for m in measured_bases() if m["runtime"] == runtime)


def test_a_measured_version_gets_its_measured_set() -> None:
    measured = _measured()
    options = BuildOptions(base="runc", enosys=(), runtime_versions={"runc": measured["version"]})
    build = build_profile([obs("x86_64", 0, "read")], options)
    assert allowed(build.profile) == {"read", *measured["names"]}
    base_rules = [rule for rule in build.profile.rules if rule.reason]
    assert [set(rule.names) for rule in base_rules] == [set(measured["names"]) - {"read"}]
    (note,) = [f for f in build.findings if f.code == "base"]
    assert f"runc {measured['version']}, measured over {measured['starts']} starts" in note.message


@pytest.mark.parametrize("version", ["9.9.9", None], ids=["unmeasured", "not-installed"])
def test_another_version_gets_the_spo_list_and_every_measured_set(version: str | None) -> None:
    base = runtime_base("runc", version)
    assert not base.measured
    assert set(base.names) == set(base_names("runc")[1]) | set(_measured()["names"])
    assert "Security Profiles Operator's runc-v" in base.source
    assert ("9.9.9 is not measured" if version else "no runc found here") in base.source


def test_auto_adds_the_runtime_the_records_show() -> None:
    measured = _measured()
    versions = {"runc": measured["version"]}
    seen = [obs("x86_64", 0, "read"), obs("x86_64", 59, "execve", comm="runc:[2:INIT]")]
    auto = build_profile(seen, BuildOptions(base="auto", enosys=(), runtime_versions=versions))
    forced = build_profile(seen, BuildOptions(base="runc", enosys=(), runtime_versions=versions))
    assert auto.profile == forced.profile
    assert "records of runc:[2:INIT] show that runc started the container" in str(auto.findings)
    # no runtime's records: auto adds nothing and says nothing
    plain = [obs("x86_64", 0, "read")]
    alone = build_profile(plain, BuildOptions(base="auto", enosys=(), runtime_versions=versions))
    assert allowed(alone.profile) == {"read"}
    assert [f for f in alone.findings if f.code == "base"] == []


def test_a_base_adds_only_what_was_not_observed() -> None:
    measured = _measured()
    everything = [obs("x86_64", 0, "read")] + [
        obs("x86_64", syscall_number(get_abi("x86_64"), name), name, comm="runc:[2:INIT]")
        for name in measured["names"]
    ]
    options = BuildOptions(base="auto", enosys=(), runtime_versions={"runc": measured["version"]})
    build = build_profile(everything, options)
    assert [rule for rule in build.profile.rules if rule.reason] == []
    assert "none beyond what was observed" in str(build.findings)


def test_unknown_base_is_an_error() -> None:
    with pytest.raises(ProfileError, match="'docker'"):
        build_profile([obs("x86_64", 0, "read")], BuildOptions(base="docker"))


def test_allow_adds_validated_names() -> None:
    options = BuildOptions(allow=("getpid", "pwrite"), enosys=())
    build = build_profile([obs("x86_64", 0, "read")], options)
    assert allowed(build.profile) == {"read", "getpid", "pwrite64"}
    assert any(f.code == "alias" for f in build.findings)


@pytest.mark.parametrize(
    "name",
    [pytest.param("no_such_call", id="made-up"), pytest.param("socketcall", id="not-on-x86_64")],
)
def test_allow_rejects_names_the_abis_do_not_have(name: str) -> None:
    with pytest.raises(UnknownSyscallError, match=name):
        build_profile([obs("x86_64", 0, "read")], BuildOptions(allow=(name,)))


# --- enosys, default action, flags ----------------------------------------------------------------


def test_unobserved_clone3_gets_enosys_by_default() -> None:
    profile = build_profile([obs("x86_64", 0, "read")], BuildOptions()).profile
    assert profile.rules[-1] == Rule(("clone3",), ENOSYS)


@pytest.mark.parametrize(
    ("observations", "options"),
    [
        pytest.param([obs("x86_64", 435, "clone3")], BuildOptions(), id="clone3-observed"),
        pytest.param([obs("x86_64", 0, "read")], BuildOptions(enosys=()), id="disabled"),
        pytest.param([obs("x86_64", 0, "read")], BuildOptions(default_action=ENOSYS), id="default-is-enosys"),
    ],
)
def test_no_enosys_rule(observations: list[Observation], options: BuildOptions) -> None:
    profile = build_profile(observations, options).profile
    assert all(rule.action == ALLOW for rule in profile.rules)


def test_enosys_list_is_configurable() -> None:
    profile = build_profile([obs("x86_64", 0, "read")], BuildOptions(enosys=("clone3", "faccessat2"))).profile
    assert profile.rules[-1] == Rule(("clone3", "faccessat2"), ENOSYS)


def test_log_denials_sets_the_flag() -> None:
    profile = build_profile([obs("x86_64", 0, "read")], BuildOptions(log_denials=True)).profile
    assert profile.flags == ("SECCOMP_FILTER_FLAG_LOG",)


# --- diff -----------------------------------------------------------------------------------------


def test_allowlist_of_a_profile_is_per_architecture() -> None:
    profile = Profile(EPERM, ("i386", "x86_64"), (Rule(("read", "socketcall", "arch_prctl"), ALLOW),))
    assert allowed_by_abi(profile) == {
        "i386": frozenset({"read", "socketcall", "arch_prctl"}),
        "x86_64": frozenset({"read", "arch_prctl"}),
    }


def test_diff_reports_added_and_removed_per_abi() -> None:
    a = {"x86_64": frozenset({"read", "write"}), "i386": frozenset({"read"})}
    b = {"x86_64": frozenset({"read", "openat"}), "i386": frozenset({"read"})}
    result = diff_allowlists(a, b)
    assert not result.same
    assert [(d.abi, d.added, d.removed) for d in result.abis] == [("x86_64", ("openat",), ("write",))]


def test_diff_of_equal_allowlists_is_same() -> None:
    a = observed_by_abi([obs("x86_64", 0, "read")])
    assert diff_allowlists(a, dict(a), ("ERRNO(EPERM)", "ERRNO(EPERM)")).same


def test_diff_sees_a_changed_default_action() -> None:
    a = observed_by_abi([obs("x86_64", 0, "read")])
    assert not diff_allowlists(a, a, ("ERRNO(EPERM)", "KILL_PROCESS")).same


# --- merge ----------------------------------------------------------------------------------------

_NAMES = st.sampled_from(["read", "write", "openat", "close", "clone3", "futex", "socketcall"])
_ACTIONS = st.sampled_from([ALLOW, ENOSYS, Action(ActionKind.LOG), Action(ActionKind.KILL_PROCESS)])
_RULES = st.builds(
    lambda names, action, abis: Rule(tuple(sorted(names)), action, abis=tuple(sorted(abis))),
    st.frozensets(_NAMES, min_size=1, max_size=4),
    _ACTIONS,
    st.frozensets(st.sampled_from(["x86_64", "i386"]), max_size=2),
)
_PROFILES = st.builds(
    lambda arches, rules: Profile(EPERM, tuple(sorted(arches)), tuple(rules)),
    st.frozensets(st.sampled_from(["x86_64", "i386", "aarch64"]), min_size=1),
    st.lists(_RULES, max_size=4),
)


@settings(max_examples=60, deadline=None)
@given(_PROFILES, _PROFILES, _PROFILES)
def test_merge_is_associative_commutative_idempotent(a: Profile, b: Profile, c: Profile) -> None:
    ab = merge_profiles([a, b])
    assert ab == merge_profiles([b, a])
    assert merge_profiles([ab, c]) == merge_profiles([a, merge_profiles([b, c])])
    assert merge_profiles([ab, ab]) == ab
    assert merge_profiles([a, a]) == merge_profiles([a])


@settings(max_examples=40, deadline=None)
@given(_PROFILES, _PROFILES)
def test_merge_keeps_every_allowance(a: Profile, b: Profile) -> None:
    merged = merge_profiles([a, b])
    assert allowed(merged) == allowed(a) | allowed(b)


def test_merge_refuses_different_default_actions() -> None:
    a = Profile(EPERM, ("x86_64",), (Rule(("read",), ALLOW),))
    b = Profile(Action(ActionKind.KILL_PROCESS), ("x86_64",), (Rule(("read",), ALLOW),))
    with pytest.raises(ProfileError, match="different default actions"):
        merge_profiles([a, b])


def test_merge_gives_a_name_its_most_permissive_action() -> None:
    a = Profile(EPERM, ("x86_64",), (Rule(("clone3",), ENOSYS),))
    b = Profile(EPERM, ("x86_64",), (Rule(("clone3", "read"), ALLOW),))
    assert merge_profiles([a, b]).rules == (Rule(("clone3", "read"), ALLOW, abis=("x86_64",)),)


_OBSERVATIONS = st.lists(
    st.builds(
        lambda abi, number, comm, count: obs(abi, number, None, comm=comm, count=count),
        st.sampled_from(["x86_64", "i386"]),
        st.integers(0, 5),
        st.sampled_from(["a", "b"]),
        st.integers(1, 9),
    ),
    max_size=6,
)


@settings(max_examples=60, deadline=None)
@given(_OBSERVATIONS, _OBSERVATIONS, _OBSERVATIONS)
def test_state_merge_is_associative_and_commutative(
    a: list[Observation], b: list[Observation], c: list[Observation]
) -> None:
    assert merge_observations(a, b) == merge_observations(b, a)
    assert merge_observations(merge_observations(a, b), c) == merge_observations(a, merge_observations(b, c))


def test_state_merge_adds_counts_and_widens_times() -> None:
    a = obs("x86_64", 0, "read", count=2, first_seen=10.0, last_seen=20.0)
    b = obs("x86_64", 0, "read", count=3, first_seen=5.0, last_seen=15.0)
    (merged,) = merge_observations([a], [b])
    assert (merged.count, merged.first_seen, merged.last_seen) == (5, 5.0, 20.0)


def test_the_fixed_state_builds() -> None:
    build = build_profile(fixed_observations(), BuildOptions(abis=("x86_64", "i386")))
    assert "socketcall" in allowed(build.profile)
    assert "getuid32" in allowed(build.profile)
