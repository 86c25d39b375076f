"""Profiles as values: observations → ``Profile`` (``seccomp_gen.compare`` diffs and merges them).
Pure policy, no I/O.

How names meet architectures. A Docker/OCI profile lists ``architectures`` and rules of syscall
*names*; runc and libseccomp resolve every name once per listed architecture and skip it where that
architecture has no such call. So ``socketcall`` (i386 only) costs nothing on x86_64, and ``getuid`` is
102 on x86_64 but 24 on i386. What such a profile cannot say is "allow ``open`` on i386 only": Docker's
``includes.arches`` selects rules by the *host's* architecture (the daemon's GOARCH), not by the ABI
of a call, and runc/containerd ignore ``includes`` altogether. So a name observed on one requested ABI
is allowed on every requested ABI that has it; ``build_profile`` groups names into one rule per set of
ABIs they were observed on (readable, diffable) and reports the names that this widens.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from seccomp_gen.actions import Action, ActionKind
from seccomp_gen.errors import ProfileError, UnknownAbiError, UnknownSyscallError
from seccomp_gen.observations import Observation, ObservationFilter
from seccomp_gen.runtimes import BASE_AUTO, RUNTIME_COMMS, detect_runtime, runtime_base

ALLOW = Action(ActionKind.ALLOW)
ENOSYS = 38
EPERM = 1
DEFAULT_ENOSYS = ("clone3",)
FLAG_LOG = "SECCOMP_FILTER_FLAG_LOG"


class Severity(enum.Enum):
    """How loud a finding is: warnings fail ``--strict``, notes never do."""

    NOTE = "note"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing worth telling the user about a profile, naming the offender."""

    severity: Severity
    code: str  # stable identifier, e.g. "unknown-to-libseccomp", "risky"
    message: str

    def __str__(self) -> str:
        return f"{self.severity.value}: {self.message}"


@dataclass(frozen=True, slots=True)
class ArgCondition:
    """One argument comparison of a rule (only profiles read from files have these)."""

    index: int
    op: str  # "SCMP_CMP_EQ", ...
    value: int
    value_two: int = 0


@dataclass(frozen=True, slots=True)
class Rule:
    """Names sharing one action; ``abis`` records where the names were observed (documentation only)."""

    names: tuple[str, ...]
    action: Action
    abis: tuple[str, ...] = ()
    args: tuple[ArgCondition, ...] = ()
    conditional: bool = False  # Docker's includes/excludes: applied only by Docker/Podman
    reason: str = ""  # why the names are there, when not observed (a runtime's base): a comment


@dataclass(frozen=True, slots=True)
class Profile:
    """A seccomp policy: default action, architectures (ABI names), rules, filter flags."""

    default_action: Action
    architectures: tuple[str, ...]
    rules: tuple[Rule, ...]
    flags: tuple[str, ...] = ()

    def names_with(self, kind: ActionKind) -> frozenset[str]:
        """Every name some unconditional, argument-free rule gives ``kind``."""
        return frozenset(
            name
            for rule in self.rules
            if rule.action.kind is kind and not rule.args and not rule.conditional
            for name in rule.names
        )


@dataclass(frozen=True, slots=True)
class BuildOptions:
    """What ``seccomp-gen emit`` asks for (see its ``--help``)."""

    abis: tuple[str, ...] = ()  # requested ABIs (canonical names); empty: the observed ones
    default_action: Action = field(default_factory=lambda: Action(ActionKind.ERRNO, EPERM))
    enosys: tuple[str, ...] = DEFAULT_ENOSYS
    base: str | None = None  # "runc" / "crun" / "auto" (the runtime the records show); None: none
    # the runtimes installed here and their versions ({"runc": "1.1.5"}): picks the measured base
    runtime_versions: Mapping[str, str | None] = field(default_factory=dict)
    allow: tuple[str, ...] = ()
    log_denials: bool = False
    filter: ObservationFilter = field(default_factory=ObservationFilter)


@dataclass(frozen=True, slots=True)
class UnknownNumber:
    """A number no table knows: reported with its count, never emitted."""

    abi: str
    number: int
    count: int


@dataclass(frozen=True, slots=True)
class Build:
    """The result of ``build_profile``: the profile and what the user should hear about it."""

    profile: Profile
    findings: tuple[Finding, ...]
    unknown: tuple[UnknownNumber, ...]
    counts: Mapping[tuple[str, str], int]  # (abi, name) → records, for the emitted names


# --- syscall knowledge (tables via seccomp_gen.syscalls, libseccomp via lint) -------------------


def _abi(spelling: str) -> Any:
    from seccomp_gen.abi import get_abi

    return get_abi(spelling)


def canonical_abi(spelling: str) -> str:
    """``amd64`` → ``x86_64``; raises ``UnknownAbiError`` quoting the spelling."""
    return str(_abi(spelling).name)


def name_exists(abi: str, name: str) -> bool:
    """True when ``name`` is a syscall of ``abi`` in our tables."""
    from seccomp_gen.syscalls import syscall_number

    try:
        syscall_number(_abi(abi), name)
    except (UnknownSyscallError, UnknownAbiError):
        return False
    return True


def canonical_syscall(name: str) -> str:
    """The kernel/libseccomp spelling (``pread`` → ``pread64``)."""
    from seccomp_gen.syscalls import canonical_name

    return canonical_name(name)


# --- observations → profile ---------------------------------------------------------------------


def build_profile(observations: Sequence[Observation], options: BuildOptions) -> Build:
    """Build the minimal profile allowing what ``observations`` show, shaped by ``options``.

    Raises ``ProfileError`` when nothing is left to allow (empty state, or filtered out): a
    deny-all profile is never produced by accident.
    """
    findings: list[Finding] = []
    kept = _apply_filter(observations, options, findings)
    unknown = _unknown_numbers(kept)
    by_abi = names_by_abi(kept)
    abis = _requested_abis(options, by_abi, findings)
    extra = _explicit_names(options, abis, findings)
    names = {abi: set(by_abi.get(abi, ())) for abi in abis}
    if not any(names.values()):
        raise ProfileError(_nothing_left_message(observations, kept, abis, options.filter))
    _note_untrusted(kept, abis, findings)
    if not options.abis:
        _warn_untrusted_abis(kept, abis, findings)
    _note_widened(names, abis, findings)
    rules = _allow_rules(names, extra, abis)
    rules += _base_rule(observations, options, rules, abis, findings)
    rules += _enosys_rule(options, rules, abis, findings)
    profile = Profile(
        default_action=options.default_action,
        architectures=tuple(sorted(abis)),
        rules=tuple(rules),
        flags=(FLAG_LOG,) if options.log_denials else (),
    )
    return Build(profile, tuple(findings), unknown, _counts(kept, abis))


def _apply_filter(
    observations: Sequence[Observation], options: BuildOptions, findings: list[Finding]
) -> list[Observation]:
    flt = options.filter
    kept = [obs for obs in observations if flt.keeps(obs)]
    dropped_runtime = sorted(
        {obs.comm for obs in observations if obs.comm in RUNTIME_COMMS and not flt.keeps(obs)}
    )
    if dropped_runtime and options.base is None:
        findings.append(
            Finding(
                Severity.WARNING,
                "runtime-filtered",
                "the filters dropped the container runtime's own records ("
                + ", ".join(dropped_runtime)
                + "): the profile may not let the runtime start the container; add --base runc|crun",
            )
        )
    if flt.trusted_only:
        kept = [obs for obs in kept if obs.trusted]
    return kept


@cache
def _decode(abi: str, number: int, recorded: str | None) -> str | None:
    """The name of ``number`` on ``abi`` from our tables; the recorded name when no table knows it."""
    from seccomp_gen.syscalls import syscall_name

    if abi.startswith("unknown"):
        return None
    try:
        return syscall_name(_abi(abi), number)
    except (UnknownSyscallError, UnknownAbiError):
        return None if recorded is None else canonical_syscall(recorded)


def observed_name(obs: Observation) -> str | None:
    """The kernel name an observation stands for, decoded with its own ABI (None: unknown number)."""
    return _decode(obs.abi, obs.number, obs.name)


def _unknown_numbers(observations: Iterable[Observation]) -> tuple[UnknownNumber, ...]:
    totals: dict[tuple[str, int], int] = defaultdict(int)
    for obs in observations:
        if observed_name(obs) is None:
            totals[(obs.abi, obs.number)] += obs.count
    return tuple(UnknownNumber(abi, num, count) for (abi, num), count in sorted(totals.items()))


def names_by_abi(observations: Iterable[Observation]) -> dict[str, set[str]]:
    by_abi: dict[str, set[str]] = defaultdict(set)
    for obs in observations:
        name = observed_name(obs)
        if name is not None:
            by_abi[obs.abi].add(name)
    return dict(by_abi)


def _requested_abis(
    options: BuildOptions, by_abi: Mapping[str, set[str]], findings: list[Finding]
) -> tuple[str, ...]:
    requested = tuple(sorted({canonical_abi(a) for a in options.abis}))
    for abi in requested:
        if _abi(abi).libseccomp is None:
            raise ProfileError(f"libseccomp has no architecture for ABI {abi!r}; no profile can cover it")
    if not requested:
        requested = tuple(abi for abi in sorted(by_abi) if _abi(abi).libseccomp is not None)
        for abi in sorted(set(by_abi) - set(requested)):
            findings.append(
                Finding(
                    Severity.WARNING,
                    "abi-without-libseccomp",
                    f"{abi} calls observed, but libseccomp has no such architecture: left out",
                )
            )
    for abi in sorted(set(by_abi) - set(requested)):
        if _abi(abi).libseccomp is None and not options.abis:
            continue
        findings.append(
            Finding(
                Severity.NOTE,
                "abi-not-requested",
                f"{abi} calls observed; add --arch {abi}? ({len(by_abi[abi])} names left out)",
            )
        )
    return requested


def _explicit_names(options: BuildOptions, abis: Sequence[str], findings: list[Finding]) -> set[str]:
    """Names from ``--allow``, validated against the requested ABIs' tables."""
    extra: set[str] = set()
    for given in options.allow:
        name = canonical_syscall(given)
        if not any(name_exists(abi, name) for abi in abis):
            raise UnknownSyscallError(f"--allow {given!r}: no syscall of that name on {', '.join(abis)}")
        if name != given:
            findings.append(Finding(Severity.NOTE, "alias", f"--allow {given}: using the kernel name {name}"))
        extra.add(name)
    return extra


def _base_rule(
    observations: Sequence[Observation],
    options: BuildOptions,
    rules: Sequence[Rule],
    abis: Sequence[str],
    findings: list[Finding],
) -> list[Rule]:
    """The runtime's own needs that the observations do not show, as one commented rule."""
    if options.base is None:
        return []
    if options.base == BASE_AUTO:
        detected = detect_runtime(observations)
        if detected is None:
            return []
        runtime, comm = detected
        why = f"--base auto: records of {comm} show that {runtime} started the container; added"
    else:
        runtime, why = options.base, f"--base {options.base}: added"
    base = runtime_base(runtime, options.runtime_versions.get(runtime))
    allowed = {name for rule in rules if rule.action == ALLOW and not rule.args for name in rule.names}
    added = sorted(
        name for name in base.names if name not in allowed and any(name_exists(abi, name) for abi in abis)
    )
    shown = ", ".join(added) if added else "none beyond what was observed"
    findings.append(Finding(Severity.NOTE, "base", f"{why} {runtime}'s own needs ({base.source}): {shown}"))
    if not added:
        return []
    reason = f"{runtime}'s own init needs these under the filter ({base.source})"
    return [Rule(tuple(added), ALLOW, abis=tuple(abis), reason=reason)]


def _nothing_left_message(
    observations: Sequence[Observation],
    kept: Sequence[Observation],
    abis: Sequence[str],
    flt: ObservationFilter,
) -> str:
    if not observations:
        return "nothing to emit: the state has no observations (run seccomp-gen learn first)"
    if not kept and (flt.container or flt.pod):
        have = sorted({o.container for o in observations if o.container})
        listed = ", ".join(have[:10]) + (f" and {len(have) - 10} more" if len(have) > 10 else "")
        asked = ", ".join((*flt.container, *(f"pod {p}" for p in flt.pod)))
        return (
            f"nothing to emit: no observation of {asked}; the state has "
            + (
                f"containers {listed}"
                if have
                else "no attributed containers (learn them live: --kmsg --follow)"
            )
            + " (seccomp-gen status lists them)"
        )
    if not kept:
        return f"nothing to emit: the filters left none of the {len(observations)} observations"
    return f"nothing to emit: no known syscall was observed on {', '.join(abis) or 'any ABI'}"


def _note_untrusted(kept: Sequence[Observation], abis: Sequence[str], findings: list[Finding]) -> None:
    named = [(o, observed_name(o)) for o in kept if o.abi in abis]
    trusted = {(o.abi, name) for o, name in named if o.trusted and name}
    only = sorted({name for o, name in named if name and not o.trusted and (o.abi, name) not in trusted})
    if only and not trusted:
        findings.append(
            Finding(
                Severity.WARNING,
                "untrusted-only",
                f"every call ({len(only)} names) was seen only in lines any local user can write (syslog "
                "text, a file, stdin): learn from /dev/kmsg (--kmsg), journald (--journal) or auditd's log "
                "for records only the kernel writes (--trusted-only would leave everything out)",
            )
        )
    elif only:
        findings.append(
            Finding(
                Severity.WARNING,
                "untrusted-only",
                "seen only in lines any local user can write (syslog text): "
                + ", ".join(only)
                + " (--trusted-only leaves them out)",
            )
        )


def _warn_untrusted_abis(kept: Sequence[Observation], abis: Sequence[str], findings: list[Finding]) -> None:
    """An ABI the profile covers only because of lines anyone can write: one forged i386 record would
    otherwise open a whole second syscall table with nothing but a note."""
    if len(abis) < 2:
        return  # the one ABI there is: the untrusted-only warning already names what rests on syslog text
    trusted = {o.abi for o in kept if o.trusted}
    for abi in abis:
        if abi not in trusted:
            findings.append(
                Finding(
                    Severity.WARNING,
                    "abi-untrusted-only",
                    f"{abi} is covered only because of lines any local user can write (syslog text): "
                    f"name the ABIs with --arch, or --trusted-only",
                )
            )


def _note_widened(names: Mapping[str, set[str]], abis: Sequence[str], findings: list[Finding]) -> None:
    for abi in abis:
        wider = sorted(
            name
            for other in abis
            if other != abi
            for name in names[other]
            if name not in names[abi] and name_exists(abi, name)
        )
        if wider:
            findings.append(
                Finding(
                    Severity.NOTE,
                    "widened",
                    f"also allowed on {abi} though observed only on other ABIs (a profile cannot limit "
                    f"a name to one architecture): {', '.join(sorted(set(wider)))}",
                )
            )


def _allow_rules(names: Mapping[str, set[str]], extra: set[str], abis: Sequence[str]) -> list[Rule]:
    """One ALLOW rule per set of ABIs the names were observed on; explicit names count as all."""
    where: dict[str, set[str]] = defaultdict(set)
    for abi, abi_names in names.items():
        for name in abi_names:
            where[name].add(abi)
    for name in extra:
        where[name].update(abis)
    groups: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for name, seen in where.items():
        groups[tuple(sorted(seen))].append(name)
    order = sorted(groups, key=lambda key: (-len(key), key))
    return [Rule(tuple(sorted(groups[key])), ALLOW, abis=key) for key in order]


def _enosys_rule(
    options: BuildOptions, rules: Sequence[Rule], abis: Sequence[str], findings: list[Finding]
) -> list[Rule]:
    """Unobserved ``clone3`` (etc.) returns ENOSYS so the C library falls back to the older call."""
    from seccomp_gen.syscalls import numbers_of

    allowed = {name for rule in rules for name in rule.names}
    wanted = sorted({canonical_syscall(n) for n in options.enosys} - allowed)
    for name in wanted:
        if not numbers_of(name):
            raise UnknownSyscallError(f"--enosys {name!r}: no architecture has a syscall of that name")
    absent = [name for name in wanted if not any(name_exists(abi, name) for abi in abis)]
    if absent:
        findings.append(
            Finding(Severity.NOTE, "enosys-absent", f"--enosys: no {', '.join(absent)} on {', '.join(abis)}")
        )
    wanted = [name for name in wanted if name not in absent]
    if not wanted or options.default_action == Action(ActionKind.ERRNO, ENOSYS):
        return []
    findings.append(
        Finding(Severity.NOTE, "enosys", f"unobserved {', '.join(wanted)} answered with ENOSYS (--enosys)")
    )
    return [Rule(tuple(wanted), Action(ActionKind.ERRNO, ENOSYS))]


def _counts(kept: Sequence[Observation], abis: Sequence[str]) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for obs in kept:
        name = observed_name(obs)
        if name and obs.abi in abis:
            counts[(obs.abi, name)] += obs.count
    return dict(sorted(counts.items()))


__all__ = [
    "ALLOW",
    "DEFAULT_ENOSYS",
    "FLAG_LOG",
    "ArgCondition",
    "Build",
    "BuildOptions",
    "Finding",
    "Profile",
    "Rule",
    "Severity",
    "UnknownNumber",
    "build_profile",
    "canonical_abi",
    "names_by_abi",
]
