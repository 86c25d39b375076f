"""Profiles and states side by side: each ABI's allowlist, their differences, their union. Pure.

``diff`` and ``merge`` read what they compare elsewhere (``profile_read``, ``store``); this module
only compares values. A merge is a union: associative, commutative and idempotent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from seccomp_gen.actions import Action, ActionKind
from seccomp_gen.errors import ProfileError
from seccomp_gen.observations import Observation
from seccomp_gen.profile import Profile, Rule, name_exists, names_by_abi


def allowed_by_abi(
    profile: Profile, exists: Callable[[str, str], bool] = name_exists
) -> dict[str, frozenset[str]]:
    """For each architecture, the names its filter lets through (ALLOW or LOG, any conditions)."""
    permissive = {ActionKind.ALLOW, ActionKind.LOG}
    names = {n for rule in profile.rules if rule.action.kind in permissive for n in rule.names}
    return {abi: frozenset(n for n in names if exists(abi, n)) for abi in profile.architectures}


def observed_by_abi(observations: Iterable[Observation]) -> dict[str, frozenset[str]]:
    """For each ABI, the names observed on it (known numbers only)."""
    return {abi: frozenset(names) for abi, names in sorted(names_by_abi(observations).items())}


@dataclass(frozen=True, slots=True)
class AbiDiff:
    """What B adds to and removes from A on one ABI."""

    abi: str
    added: tuple[str, ...]
    removed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ProfileDiff:
    """The differences between two allowlists, per ABI, plus changed default actions."""

    abis: tuple[AbiDiff, ...]
    default_actions: tuple[str, str] | None = None

    @property
    def same(self) -> bool:
        """True when nothing differs."""
        return self.default_actions is None and not any(d.added or d.removed for d in self.abis)


def diff_allowlists(
    a: Mapping[str, frozenset[str]],
    b: Mapping[str, frozenset[str]],
    defaults: tuple[str, str] | None = None,
) -> ProfileDiff:
    """Per ABI, names only in ``b`` (added) and only in ``a`` (removed)."""
    diffs = []
    for abi in sorted(set(a) | set(b)):
        left, right = a.get(abi, frozenset()), b.get(abi, frozenset())
        if left != right:
            diffs.append(AbiDiff(abi, tuple(sorted(right - left)), tuple(sorted(left - right))))
    changed = defaults if defaults is not None and defaults[0] != defaults[1] else None
    return ProfileDiff(tuple(diffs), changed)


def _signed(code: int) -> int:
    """The kernel ranks actions by their code as a signed 32-bit value: bigger is more permissive."""
    return code - (1 << 32) if code & 0x80000000 else code


def merge_profiles(profiles: Sequence[Profile]) -> Profile:
    """Union of allowlists: associative, commutative and idempotent.

    Default actions must agree (``ProfileError`` otherwise). A name that rules give different
    actions gets the most permissive one, the way the kernel ranks actions, so an allowance from any
    input survives. Rules with argument filters or Docker conditions are refused: their union is not
    a name set.
    """
    if not profiles:
        raise ProfileError("nothing to merge")
    defaults = {p.default_action for p in profiles}
    if len(defaults) > 1:
        spelled = ", ".join(sorted(str(d) for d in defaults))
        raise ProfileError(f"cannot merge profiles with different default actions: {spelled}")
    best: dict[str, Action] = {}
    where: dict[str, set[str]] = defaultdict(set)
    for profile in profiles:
        for rule in profile.rules:
            if rule.args or rule.conditional:
                raise ProfileError(
                    f"cannot merge a rule with argument filters or conditions ({', '.join(rule.names)})"
                )
            for name in rule.names:
                old = best.get(name)
                if old is None or _signed(rule.action.code) > _signed(old.code):
                    best[name] = rule.action
                where[name].update(rule.abis or profile.architectures)
    return Profile(
        default_action=profiles[0].default_action,
        architectures=tuple(sorted({a for p in profiles for a in p.architectures})),
        rules=_regroup(best, where),
        flags=tuple(sorted({f for p in profiles for f in p.flags})),
    )


def _regroup(best: Mapping[str, Action], where: Mapping[str, set[str]]) -> tuple[Rule, ...]:
    groups: dict[tuple[Action, tuple[str, ...]], list[str]] = defaultdict(list)
    for name, action in best.items():
        groups[(action, tuple(sorted(where[name])))].append(name)

    def order(key: tuple[Action, tuple[str, ...]]) -> tuple[int, int, tuple[str, ...]]:
        action, abis = key
        return (-_signed(action.code), -len(abis), abis)

    return tuple(Rule(tuple(sorted(groups[key])), key[0], abis=key[1]) for key in sorted(groups, key=order))


def merge_observations(*states: Sequence[Observation]) -> list[Observation]:
    """Union of several states' observations; the same aggregate key adds its counts.

    ``first_seen`` takes the earliest and ``last_seen`` the latest time. Counts add up, so merging
    two different nodes gives fleet-wide counts (merging a state with itself doubles them).
    """
    merged: dict[tuple[str, int, str, str, str, bool, str], Observation] = {}
    for observations in states:
        for obs in observations:
            key = obs.key
            old = merged.get(key)
            merged[key] = obs if old is None else _combine(old, obs)
    return [merged[key] for key in sorted(merged)]


def _combine(a: Observation, b: Observation) -> Observation:
    def pick(x: float | None, y: float | None, f: Callable[[float, float], float]) -> float | None:
        return y if x is None else x if y is None else f(x, y)

    return replace(
        a,
        name=a.name or b.name,
        count=a.count + b.count,
        first_seen=pick(a.first_seen, b.first_seen, min),
        last_seen=pick(a.last_seen, b.last_seen, max),
        sample_pid=a.sample_pid if a.sample_pid is not None else b.sample_pid,
    )
