"""Read profiles in every format the project writes or meets: Docker/Kubernetes JSON, OCI
``config.json`` (whole, or its ``linux.seccomp``), Security Profiles Operator YAML, a systemd
drop-in, an OCI artifact layout, a kubelet ``localhost/`` reference. ``read_profile`` gives a
``Profile`` and the findings reading made; a file that is none of these is a ``ProfileError``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG
from typing import Any

from seccomp_gen import libseccomp
from seccomp_gen.actions import Action, ActionKind
from seccomp_gen.errors import ProfileError, SeccompGenError
from seccomp_gen.profile import ArgCondition, Finding, Profile, Rule, Severity

_ACTIONS = {kind.scmp_name: kind for kind in ActionKind} | {"SCMP_ACT_KILL": ActionKind.KILL_THREAD}
_QUOTE_MAX = 60
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
MAX_PROFILE_BYTES = 4 << 20  # 200 times Docker's default profile; bounds the time check spends too
SQLITE_MAGIC = b"SQLite format 3\x00"


# --- reading --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReadProfile:
    """A profile read from a file, with what reading it noticed."""

    profile: Profile
    findings: tuple[Finding, ...]


def load_profile(path: Path) -> ReadProfile:
    """Read the profile file at ``path`` (see ``read_profile_text``; an OCI artifact layout directory is
    read through its one seccomp layer) and parse it (``read_profile``)."""
    from seccomp_gen.artifact import is_layout, read_layout

    if is_layout(path):
        return read_profile(read_layout(path), display_path(path))
    text = read_profile_text(path)
    referenced = _referenced_profile(text, path)
    if referenced is not None:
        return load_profile(referenced)
    return read_profile(text, display_path(path))


KUBELET_SECCOMP = Path("/var/lib/kubelet/seccomp")


def _referenced_profile(text: str, path: Path) -> Path | None:
    """The profile file a Pod manifest's ``localhostProfile`` names, found where it would be read.

    The kubelet reads it under /var/lib/kubelet/seccomp; beside a manifest (emit --format pod writes
    ``profiles/NAME.json``) it is looked for relative to the manifest's directory and its parent. None
    for anything that is not such a manifest; ``ProfileError`` when the file is nowhere.
    """
    if "localhostProfile" not in text or text.lstrip().startswith("{"):
        return None
    import yaml

    try:
        data = _safe_yaml(text)
    except (yaml.YAMLError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("kind") != "Pod":
        return None
    names = sorted(set(_localhost_profiles(data)))
    if len(names) != 1:
        raise ProfileError(
            f"{display_path(path)}: a Pod naming {len(names)} localhost profiles "
            f"({', '.join(names) or 'none'}): check each profile file itself"
        )
    tried = [KUBELET_SECCOMP / names[0], path.parent / names[0], path.parent.parent / names[0]]
    found = next((candidate for candidate in tried if candidate.is_file()), None)
    if found is None:
        raise ProfileError(
            f"{display_path(path)}: the Pod's localhost profile {names[0]!r} is not at "
            + ", ".join(str(t) for t in tried)
        )
    return found


def _localhost_profiles(node: Any) -> list[str]:
    """Every ``seccompProfile.localhostProfile`` under ``node`` (the Pod's and its containers')."""
    found: list[str] = []
    if isinstance(node, dict):
        profile = node.get("seccompProfile")
        if isinstance(profile, dict) and isinstance(profile.get("localhostProfile"), str):
            found.append(profile["localhostProfile"])
        for value in node.values():
            found += _localhost_profiles(value)
    elif isinstance(node, list):
        for value in node:
            found += _localhost_profiles(value)
    return found


def display_path(path: Path) -> str:
    """``path`` for a message: as is, or quoted when it holds a newline or another control character."""
    text = str(path)
    return repr(text) if _CONTROL.search(text) else text


def read_profile_text(path: Path) -> str:
    """The text of a profile file: at most ``MAX_PROFILE_BYTES`` of UTF-8, not a state database.

    A pipe (``check <(...)``) reads like a file. Raises ``ProfileError`` with one line that names the
    file: missing, a directory, unreadable, too large, a state, not UTF-8.
    """
    try:
        with path.open("rb") as handle:
            info = os.fstat(handle.fileno())
            too_big = S_ISREG(info.st_mode) and info.st_size > MAX_PROFILE_BYTES
            data = b"" if too_big else handle.read(MAX_PROFILE_BYTES + 1)
    except OSError as exc:
        raise ProfileError(f"{str(path)!r}: cannot read: {exc.strerror}") from None
    if too_big or len(data) > MAX_PROFILE_BYTES:
        raise ProfileError(
            f"{str(path)!r} is larger than {MAX_PROFILE_BYTES >> 20} MiB: too large for a seccomp profile "
            "(Docker's default profile is 20 KiB)"
        )
    if data.startswith(SQLITE_MAGIC):
        raise ProfileError(f"{str(path)!r} is a state database, not a profile")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProfileError(f"{str(path)!r}: not UTF-8 text (byte {exc.start})") from None


def read_profile(text: str, source: str) -> ReadProfile:
    """Parse Docker profile JSON or an OCI config (whole or ``linux.seccomp``); ``ProfileError`` if bad.

    Like Docker, a rule may name its calls with ``names`` (a list) or the older ``name`` (one string),
    not both. Strings with control characters and numbers outside their kernel type are refused.
    """
    if _looks_like_systemd(text):
        return ReadProfile(_systemd_profile(text, source), ())
    if not text.lstrip().startswith(("{", "[")):
        data = _yaml_profile(text, source)
        if data is not None:
            return _read_object(data, source)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProfileError(f"{source}: not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise ProfileError(f"{source}: JSON nested too deeply") from None
    except ValueError as exc:  # an integer of more digits than int() converts
        raise ProfileError(f"{source}: not a usable JSON number: {_quote(str(exc))}") from None
    return _read_object(data, source)


def _read_object(data: Any, source: str) -> ReadProfile:
    obj = _seccomp_object(_expect(data, dict, source, "the top level"), source)
    findings: list[Finding] = []
    default_action = _action(obj, source, "defaultAction", "defaultErrnoRet", required=True)
    profile = Profile(
        default_action=default_action,
        architectures=_architectures(obj, source, findings),
        rules=tuple(_rules(obj, source, findings)),
        flags=tuple(_strings(obj.get("flags") or [], source, "flags")),
    )
    return ReadProfile(profile, tuple(findings))


SPO_GROUP = "security-profiles-operator.x-k8s.io/"


def _safe_yaml(text: str) -> Any:
    """YAML as plain data (PyYAML's safe loader, its C one where built)."""
    import yaml

    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _yaml_profile(text: str, source: str) -> dict[str, Any] | None:
    """An SPO SeccompProfile (v1 or v1beta1, as written or as ``kubectl get -o yaml`` shows it) as a
    Docker-shaped object; None when the text is not YAML of that kind (then it is read as JSON)."""
    import yaml

    try:
        data = _safe_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ProfileError(
            f"{source}: neither JSON nor YAML: {getattr(exc, 'problem', None) or exc}{where}"
        ) from None
    except RecursionError:
        raise ProfileError(f"{source}: YAML nested too deeply") from None
    if not isinstance(data, dict) or "kind" not in data:
        return None
    api = str(data.get("apiVersion", ""))
    if data.get("kind") == "Cluster" and api.startswith("kind.x-k8s.io/"):
        raise ProfileError(
            f"{source}: a kind cluster config mounts a directory of profiles and holds none: check a "
            "profile file in that directory"
        )
    if data.get("kind") != "SeccompProfile" or not api.startswith(SPO_GROUP):
        raise ProfileError(
            f"{source}: a {_quote(data.get('kind'))} of {_quote(api)}, not a Security Profiles Operator "
            "SeccompProfile (apiVersion security-profiles-operator.x-k8s.io/v1 or v1beta1)"
        )
    spec = _expect(data.get("spec"), dict, source, "spec")
    if "defaultAction" not in spec:
        raise ProfileError(f"{source}: spec has no defaultAction")
    return dict(spec)


_SYSTEMD_KEYS = ("SystemCallFilter=", "SystemCallArchitectures=", "SystemCallErrorNumber=")


def _looks_like_systemd(text: str) -> bool:
    return any(line.lstrip().startswith(_SYSTEMD_KEYS) for line in text.splitlines()[:200])


def _systemd_profile(text: str, source: str) -> Profile:
    """A unit drop-in's allowlist: ``SystemCallFilter=`` names (lines add up), its architectures and errno.

    What seccomp-gen writes is an allowlist of names; a deny list (``~``), groups (``@system-service``)
    or an empty assignment (which resets the list) are refused rather than half-read.
    """
    from seccomp_gen.actions import errno_number

    names: list[str] = []
    arches: list[str] = []
    errno: str | None = None
    by_systemd = {name: token for token, name in _systemd_arch_names().items()}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        words = value.split()
        if key == "SystemCallFilter":
            if not words or words[0].startswith("~") or any(w.startswith("@") for w in words):
                raise ProfileError(
                    f"{source}:{number}: SystemCallFilter= must list syscall names to allow (a deny list, "
                    "@groups or an empty reset are not read)"
                )
            names.extend(w.split(":", 1)[0] for w in words)  # name:errno gives that name its own errno
        elif key == "SystemCallArchitectures":
            for word in words:
                token = "native" if word == "native" else by_systemd.get(word)
                if token is None:
                    raise ProfileError(f"{source}:{number}: unknown SystemCallArchitectures= name {word!r}")
                arches.append(token)
        elif key == "SystemCallErrorNumber":
            errno = value.strip()
    if not names:
        raise ProfileError(f"{source}: no SystemCallFilter= names")
    default = Action(ActionKind.KILL_PROCESS)  # systemd kills on a filtered call without an errno
    if errno is not None:
        try:
            default = Action(ActionKind.ERRNO, errno_number(errno))
        except (KeyError, ValueError):
            raise ProfileError(
                f"{source}: SystemCallErrorNumber={errno}: not an errno name or number"
            ) from None
    abis = []
    for token in arches:
        if token == "native":
            from seccomp_gen.abi import find_abi
            from seccomp_gen.kernel import native_audit_arch

            found = find_abi(native_audit_arch())
            if found is not None:
                abis.append(found.name)
            continue
        abis.append(next(a.name for a in _all_abis() if a.libseccomp == token))
    allow = Rule(tuple(sorted(set(names))), Action(ActionKind.ALLOW))
    return Profile(default_action=default, architectures=tuple(dict.fromkeys(abis)), rules=(allow,))


def _systemd_arch_names() -> dict[str, str]:
    from seccomp_gen.render import SYSTEMD_ARCH

    return dict(SYSTEMD_ARCH)


def _all_abis() -> tuple[Any, ...]:
    from seccomp_gen.abi import all_abis

    return all_abis()


def _quote(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= _QUOTE_MAX else text[: _QUOTE_MAX - 3] + "..."


def _expect(value: Any, kind: type, source: str, where: str) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        names = {dict: "an object", list: "a list", str: "a string", int: "an integer"}
        raise ProfileError(f"{source}: {where} must be {names[kind]}, not {_quote(value)}")
    return value


def _seccomp_object(data: dict[str, Any], source: str) -> dict[str, Any]:
    """The seccomp object itself, out of a whole OCI config when that is what we were given."""
    if "linux" in data or "ociVersion" in data:
        linux = _expect(data.get("linux"), dict, source, "linux")
        return _expect(linux.get("seccomp"), dict, source, "linux.seccomp")  # type: ignore[no-any-return]
    if "defaultAction" not in data:
        raise ProfileError(f"{source}: no defaultAction: not a seccomp profile or OCI config")
    return data


def _action(obj: Mapping[str, Any], source: str, key: str, errno_key: str, *, required: bool) -> Action:
    spelled = obj.get(key)
    if spelled is None and not required:
        raise ProfileError(f"{source}: {key} is missing")
    kind = _ACTIONS.get(_expect(spelled, str, source, key))
    if kind is None:
        raise ProfileError(f"{source}: {key}: unknown action {_quote(spelled)}")
    data = 0
    if kind in (ActionKind.ERRNO, ActionKind.TRACE):
        raw = obj.get(errno_key)
        data = 1 if raw is None and kind is ActionKind.ERRNO else 0 if raw is None else raw
        _expect(data, int, source, errno_key)
        if not 0 <= data <= 0xFFFF:
            raise ProfileError(f"{source}: {errno_key} {data} does not fit in 16 bits")
    return Action(kind, data)


def _text(value: Any, source: str, where: str) -> str:
    """A string without control characters or lone surrogates (no name or architecture has those)."""
    text: str = _expect(value, str, source, where)
    if _CONTROL.search(text):
        raise ProfileError(f"{source}: {where} {_quote(text)} has control characters or invalid Unicode")
    return text


def _strings(value: Any, source: str, where: str) -> list[str]:
    items = _expect(value, list, source, where)
    return [_text(item, source, f"{where}[{i}]") for i, item in enumerate(items)]


def _unsigned(value: Any, bits: int, source: str, where: str) -> int:
    number: int = _expect(value, int, source, where)
    if not 0 <= number < 1 << bits:
        raise ProfileError(f"{source}: {where} {_quote(number)} is not an unsigned {bits}-bit number")
    return number


# Architectures runtimes accept in profiles (libseccomp's names); some have no table here.
_SCMP_ARCHES = frozenset(
    (
        "SCMP_ARCH_NATIVE",
        "SCMP_ARCH_X86",
        "SCMP_ARCH_X86_64",
        "SCMP_ARCH_X32",
        "SCMP_ARCH_ARM",
        "SCMP_ARCH_AARCH64",
        "SCMP_ARCH_LOONGARCH64",
        "SCMP_ARCH_M68K",
        "SCMP_ARCH_MIPS",
        "SCMP_ARCH_MIPS64",
        "SCMP_ARCH_MIPS64N32",
        "SCMP_ARCH_MIPSEL",
        "SCMP_ARCH_MIPSEL64",
        "SCMP_ARCH_MIPSEL64N32",
        "SCMP_ARCH_PARISC",
        "SCMP_ARCH_PARISC64",
        "SCMP_ARCH_PPC",
        "SCMP_ARCH_PPC64",
        "SCMP_ARCH_PPC64LE",
        "SCMP_ARCH_RISCV64",
        "SCMP_ARCH_S390",
        "SCMP_ARCH_S390X",
        "SCMP_ARCH_SH",
        "SCMP_ARCH_SHEB",
    )
)


def _architectures(obj: Mapping[str, Any], source: str, findings: list[Finding]) -> tuple[str, ...]:
    spelled = _strings(obj.get("architectures") or [], source, "architectures")
    spelled += _arch_map(obj, source, findings)
    abis = [abi for spelling in spelled if (abi := _abi_of(spelling, source, findings)) is not None]
    if not abis:
        native = libseccomp.native_abi()
        findings.append(
            Finding(Severity.NOTE, "no-architectures", f"no architectures listed: checked for {native} only")
        )
        abis.append(native)
    return tuple(sorted(set(abis)))


def _arch_map(obj: Mapping[str, Any], source: str, findings: list[Finding]) -> list[str]:
    """Docker's ``archMap``: like Docker, take the entry of this host's architecture."""
    from seccomp_gen.abi import get_abi

    native = get_abi(libseccomp.native_abi()).libseccomp
    for i, raw in enumerate(_expect(obj.get("archMap") or [], list, source, "archMap")):
        entry = _expect(raw, dict, source, f"archMap[{i}]")
        main = _text(entry.get("architecture"), source, f"archMap[{i}].architecture")
        subs = _strings(entry.get("subArchitectures") or [], source, f"archMap[{i}].subArchitectures")
        if main == native:
            findings.append(
                Finding(
                    Severity.NOTE,
                    "arch-map",
                    f"archMap: checked for this host's entry ({', '.join([main, *subs])}), as Docker does",
                )
            )
            return [main, *subs]
    return []


def _abi_of(spelling: str, source: str, findings: list[Finding]) -> str | None:
    from seccomp_gen.abi import get_abi

    try:
        return str(get_abi(spelling).name)
    except SeccompGenError:
        if spelling in _SCMP_ARCHES:
            findings.append(
                Finding(Severity.NOTE, "arch-skipped", f"{spelling}: no syscall table here; not checked")
            )
            return None
        raise ProfileError(f"{source}: unknown architecture {_quote(spelling)}") from None


def _rules(obj: Mapping[str, Any], source: str, findings: list[Finding]) -> list[Rule]:
    syscalls = obj.get("syscalls")
    rules = []
    for i, raw in enumerate(_expect(syscalls if syscalls is not None else [], list, source, "syscalls")):
        where = f"syscalls[{i}]"
        entry = _expect(raw, dict, source, where)
        if "name" in entry and "names" in entry:
            raise ProfileError(f"{source}: {where} has both 'name' and 'names': use one")
        if "name" in entry:
            names = [_text(entry["name"], source, f"{where}.name")]
        else:
            names = _strings(entry.get("names") or [], source, f"{where}.names")
        if not names:
            findings.append(Finding(Severity.WARNING, "empty-rule", f"{where} names no syscall"))
        action = _action(entry, f"{source}: {where}", "action", "errnoRet", required=True)
        conditional = bool(entry.get("includes") or entry.get("excludes"))
        if conditional:
            findings.append(
                Finding(
                    Severity.WARNING,
                    "conditional",
                    f"{where} ({', '.join(names)}) has includes/excludes: only Docker and Podman apply "
                    "those; runc and containerd apply the rule unconditionally",
                )
            )
        rules.append(Rule(tuple(names), action, args=_args(entry, source, where), conditional=conditional))
    return rules


def _args(entry: Mapping[str, Any], source: str, where: str) -> tuple[ArgCondition, ...]:
    args = []
    for j, raw in enumerate(_expect(entry.get("args") or [], list, source, f"{where}.args")):
        at = f"{where}.args[{j}]"
        arg = _expect(raw, dict, source, at)
        op = _expect(arg.get("op"), str, source, f"{at}.op")
        if op not in libseccomp.OPERATORS:
            raise ProfileError(f"{source}: {at}.op: unknown operator {_quote(op)}")
        index = _expect(arg.get("index"), int, source, f"{at}.index")
        value = _unsigned(arg.get("value", 0), 64, source, f"{at}.value")
        two = _unsigned(arg.get("valueTwo", 0), 64, source, f"{at}.valueTwo")
        if not 0 <= index <= 5:
            raise ProfileError(f"{source}: {at}.index {index} is not an argument index (0-5)")
        args.append(ArgCondition(index, op, value, two))
    return tuple(args)


__all__ = [
    "MAX_PROFILE_BYTES",
    "SQLITE_MAGIC",
    "ReadProfile",
    "display_path",
    "load_profile",
    "read_profile",
    "read_profile_text",
]
