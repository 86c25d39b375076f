"""Review and compile profiles: what ``seccomp-gen check`` and every ``emit`` run on a profile
(``seccomp_gen.profile_read`` reads it). ``review`` names every offender: names the installed
libseccomp does not know (runc drops them silently), audit-userspace aliases, duplicates and
conflicts, rules equal to the default action, an empty allowlist, and syscalls Docker's default
profile does not allow unconditionally. ``compile_profile`` builds the filter with libseccomp for
each architecture and for all of them together (what runc loads); a profile that does not compile
raises ``ProfileError``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

from seccomp_gen import libseccomp
from seccomp_gen.actions import Action, ActionKind, errno_name
from seccomp_gen.errors import ProfileError
from seccomp_gen.profile import Finding, Profile, Severity, canonical_syscall, name_exists

# --- libseccomp (through seccomp_gen.libseccomp, the one module that loads it) ----------------------


def libseccomp_knows(name: str, abis: Sequence[str]) -> bool:
    """True when the installed libseccomp has ``name`` on at least one of ``abis``'s tables."""
    return any(libseccomp.resolve(abi, name) != libseccomp.NR_SCMP_ERROR for abi in abis)


def compile_profile(profile: Profile) -> None:
    """Build the filter with libseccomp per architecture and all together, as runc would (the filter
    ``run`` loads: ``seccomp_gen.libseccomp.build_filter``). Raises ``ProfileError`` naming the
    failing part."""
    for abi in profile.architectures:
        _compile(profile, (abi,))
    if len(profile.architectures) > 1:
        _compile(profile, profile.architectures)


def filter_text(profile: Profile, abis: Sequence[str]) -> str:
    """libseccomp's pseudo filter code for ``profile`` on ``abis``: what the filter compares, per arch."""
    return libseccomp.export_pfc(libseccomp.build_filter(profile, abis))


def _compile(profile: Profile, abis: Sequence[str]) -> None:
    flt = libseccomp.build_filter(profile, abis)
    try:
        libseccomp.export_bpf(flt)
    except OSError as exc:
        where = ", ".join(abis)
        raise ProfileError(f"libseccomp cannot generate the filter for {where}: {exc.strerror}") from None


# --- review ---------------------------------------------------------------------------------------


@cache
def docker_default() -> Mapping[str, Any]:
    """Docker's default profile, digested (``seccomp_gen/data/docker_default.json``)."""
    text = resources.files("seccomp_gen").joinpath("data/docker_default.json").read_text()
    data: Mapping[str, Any] = json.loads(text)
    return data


def review(
    profile: Profile, on_purpose: frozenset[str] = frozenset(), observed: frozenset[str] = frozenset()
) -> list[Finding]:
    """Every warning and note about ``profile``, each naming its offender.

    ``on_purpose``: names the user allowed deliberately (``emit --allow``); that Docker's default
    limits them is then a note, not a warning, so ``--strict`` can pass once a risk is accepted.
    ``observed``: names the workload was seen to call; one Docker allows for some argument values
    (``clone`` without namespace flags, ``socket`` but not of every family) is then a note too: the
    workload needs it, and a profile of names cannot limit its arguments. What Docker allows only
    with a capability (``mount``, ``bpf``, ``setns``...) stays a warning, observed or not.
    """
    findings: list[Finding] = []
    findings += _review_names(profile)
    findings += _review_duplicates(profile)
    findings += _review_defaults(profile)
    findings += _review_risky(profile, on_purpose, observed)
    findings += _review_flags(profile)
    return findings


_KNOWN_FLAGS = frozenset(
    {
        "SECCOMP_FILTER_FLAG_TSYNC",
        "SECCOMP_FILTER_FLAG_LOG",
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
    }
)


def _review_flags(profile: Profile) -> list[Finding]:
    """Flags: unknown ones are errors in runc; any at all make runc before 1.2 refuse the profile."""
    findings = [
        Finding(Severity.WARNING, "unknown-flag", f"{flag} is not a seccomp filter flag runtimes know")
        for flag in profile.flags
        if flag not in _KNOWN_FLAGS
    ]
    if profile.flags:
        findings.append(
            Finding(
                Severity.NOTE,
                "flags-need-runc-1.2",
                f"flags ({', '.join(profile.flags)}) need runc >= 1.2 or crun: runc 1.1 (Debian 12) refuses "
                "the profile with 'seccomp flags are not yet supported by runc'",
            )
        )
    return findings


def _review_names(profile: Profile) -> list[Finding]:
    findings = []
    version = libseccomp.version_text()
    for name in sorted({n for rule in profile.rules for n in rule.names}):
        canonical = canonical_syscall(name)
        if canonical != name:
            findings.append(
                Finding(
                    Severity.WARNING,
                    "alias",
                    f"{name} is audit-userspace's spelling; the kernel and libseccomp call it {canonical}",
                )
            )
        elif not libseccomp_knows(name, profile.architectures):
            findings.append(
                Finding(
                    Severity.WARNING,
                    "unknown-to-libseccomp",
                    f"{name} is unknown to the installed libseccomp {version} on "
                    f"{', '.join(profile.architectures)}: runc drops it silently",
                )
            )
        elif not any(name_exists(abi, name) for abi in profile.architectures):
            findings.append(
                Finding(
                    Severity.WARNING,
                    "not-on-architectures",
                    f"{name} is not a syscall of {', '.join(profile.architectures)}",
                )
            )
    return findings


def _review_duplicates(profile: Profile) -> list[Finding]:
    actions: dict[str, list[Action]] = defaultdict(list)
    for rule in profile.rules:
        if not rule.args and not rule.conditional:
            for name in rule.names:
                actions[name].append(rule.action)
    findings = []
    for name, acts in sorted(actions.items()):
        if len(set(acts)) > 1:
            spelled = ", ".join(sorted({str(a) for a in acts}))
            findings.append(
                Finding(
                    Severity.WARNING,
                    "conflict",
                    f"{name} has conflicting actions ({spelled}): libseccomp keeps the first",
                )
            )
        elif len(acts) > 1:
            findings.append(Finding(Severity.WARNING, "duplicate", f"{name} is listed {len(acts)} times"))
    return findings


def _review_defaults(profile: Profile) -> list[Finding]:
    findings = []
    for rule in profile.rules:
        if rule.action == profile.default_action and rule.names:
            findings.append(
                Finding(
                    Severity.WARNING,
                    "rule-is-default",
                    f"the rule for {', '.join(rule.names)} repeats the default action "
                    f"{_spell(rule.action)}: runc skips it",
                )
            )
    if profile.default_action == Action(ActionKind.ERRNO, 0):
        findings.append(
            Finding(
                Severity.WARNING,
                "errno-zero",
                "the default action SCMP_ACT_ERRNO(0) makes every denied call return 0, as if it had "
                "succeeded without running",
            )
        )
    allowing = {ActionKind.ALLOW, ActionKind.LOG}
    if profile.default_action.kind not in allowing:
        named = [n for rule in profile.rules if rule.action.kind in allowing for n in rule.names]
        if not named:
            findings.append(
                Finding(Severity.WARNING, "empty-allowlist", "the profile allows no syscall at all")
            )
        elif not any(
            libseccomp.resolve(abi, n) >= 0 for n in dict.fromkeys(named) for abi in profile.architectures
        ):
            findings.append(
                Finding(
                    Severity.WARNING,
                    "empty-allowlist",
                    f"none of the allowed names is a syscall libseccomp {libseccomp.version_text()} knows on "
                    f"{', '.join(profile.architectures)}: here the profile denies everything",
                )
            )
    return findings


def _spell(action: Action) -> str:
    if action.kind is ActionKind.ERRNO:
        return f"{action.kind.scmp_name}({errno_name(action.data)})"
    return action.kind.scmp_name


_BY_ARGUMENTS = "only for some argument values"


def _review_risky(profile: Profile, on_purpose: frozenset[str], observed: frozenset[str]) -> list[Finding]:
    docker = docker_default()
    unconditional = set(docker["unconditional"])
    conditional: Mapping[str, str] = docker["conditional"]
    allowed = profile.names_with(ActionKind.ALLOW) | profile.names_with(ActionKind.LOG)
    findings = []
    for name in sorted(allowed - unconditional):
        why = conditional.get(name)
        detail = f"allows it only conditionally ({why})" if why else "does not allow it"
        if name in on_purpose:
            message = f"{name}: Docker's default profile {detail}; allowed on purpose (--allow)"
            findings.append(Finding(Severity.NOTE, "risky", message))
        elif name in observed and why and _BY_ARGUMENTS in why:
            message = (
                f"{name}: observed; Docker's default profile {detail}, a profile of names allows every value"
            )
            findings.append(Finding(Severity.NOTE, "conditional-observed", message))
        else:
            findings.append(Finding(Severity.WARNING, "risky", f"{name}: Docker's default profile {detail}"))
    return findings


def validate(
    profile: Profile, on_purpose: frozenset[str] = frozenset(), observed: frozenset[str] = frozenset()
) -> list[Finding]:
    """Compile (``ProfileError`` when libseccomp cannot) and review ``profile`` (see ``review``)."""
    compile_profile(profile)
    return review(profile, on_purpose, observed)


__all__ = [
    "compile_profile",
    "docker_default",
    "filter_text",
    "libseccomp_knows",
    "review",
    "validate",
]
