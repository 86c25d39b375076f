"""Profile → text, for every target. Same profile, same bytes.

JSON (docker, oci) goes through the json module: fixed key order, 2-space indent, final newline.
YAML (spo, pod, kind) and the systemd drop-in come from the Jinja2 templates in
``seccomp_gen/templates/``; every YAML value passes through ``tojson`` (JSON strings are YAML
strings), and unit-file words are checked against a strict pattern, so no value can break the quoting.
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from seccomp_gen.actions import Action, ActionKind, errno_name
from seccomp_gen.errors import ProfileError
from seccomp_gen.profile import Profile, Rule

SPO_GROUP = "security-profiles-operator.x-k8s.io"
# SPO 1.0 serves SeccompProfile as v1 (cluster-scoped); operators before 1.0 know v1beta1 only.
SPO_VERSIONS = ("v1", "v1beta1")
KUBELET_PROFILES = "/var/lib/kubelet/seccomp/profiles"
SYSTEMD_MAX_ERRNO = 4095
_UNIT_WORD = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@-]*")
# Control characters, and what YAML 1.1 also takes for a line break (NEL, U+2028, U+2029): a value
# holding one would end a template's comment line and start YAML of its own.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
# Kubernetes object names: a Pod or SeccompProfile is a DNS-1123 subdomain, a container a DNS-1123 label.
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")

# systemd's own architecture names (SystemCallArchitectures=), by libseccomp architecture.
SYSTEMD_ARCH = {
    "SCMP_ARCH_X86": "x86",
    "SCMP_ARCH_X86_64": "x86-64",
    "SCMP_ARCH_X32": "x32",
    "SCMP_ARCH_ARM": "arm",
    "SCMP_ARCH_AARCH64": "arm64",
    "SCMP_ARCH_LOONGARCH64": "loongarch64",
    "SCMP_ARCH_MIPS": "mips",
    "SCMP_ARCH_MIPSEL": "mips-le",
    "SCMP_ARCH_MIPS64": "mips64",
    "SCMP_ARCH_MIPSEL64": "mips64-le",
    "SCMP_ARCH_MIPS64N32": "mips64-n32",
    "SCMP_ARCH_MIPSEL64N32": "mips64-le-n32",
    "SCMP_ARCH_PARISC": "parisc",
    "SCMP_ARCH_PARISC64": "parisc64",
    "SCMP_ARCH_PPC": "ppc",
    "SCMP_ARCH_PPC64": "ppc64",
    "SCMP_ARCH_PPC64LE": "ppc64-le",
    "SCMP_ARCH_RISCV64": "riscv64",
    "SCMP_ARCH_S390": "s390",
    "SCMP_ARCH_S390X": "s390x",
}


class Format(enum.Enum):
    """The targets ``--format`` chooses from."""

    DOCKER = "docker"
    OCI = "oci"
    SPO = "spo"
    POD = "pod"
    KIND = "kind"
    SYSTEMD = "systemd"
    OCI_ARTIFACT = "oci-artifact"  # the OCI object's text, written as an image layout by the caller


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """Names and paths the Kubernetes targets need."""

    name: str = "seccomp-gen"
    profile_path: str | None = None  # Pod localhostProfile; default profiles/<name>.json
    profiles_dir: str = "./profiles"  # kind hostPath
    image: str = "busybox"
    spo_version: str = "v1"  # one of SPO_VERSIONS

    @property
    def localhost_profile(self) -> str:
        """The ``localhostProfile`` a Pod names (relative to the kubelet's seccomp directory)."""
        return self.profile_path or f"profiles/{self.name}.json"


def libseccomp_arch(abi: str) -> str:
    """``x86_64`` → ``SCMP_ARCH_X86_64``; ``ProfileError`` where libseccomp has no such architecture."""
    from seccomp_gen.abi import get_abi

    name = get_abi(abi).libseccomp
    if name is None:
        raise ProfileError(f"libseccomp has no architecture for ABI {abi!r}")
    return str(name)


def rule_document(rule: Rule, *, comment: str | None = None) -> dict[str, Any]:
    """One ``syscalls`` entry: names, action, errnoRet, args (in that order)."""
    doc: dict[str, Any] = {"names": sorted(rule.names), "action": rule.action.kind.scmp_name}
    if rule.action.kind in (ActionKind.ERRNO, ActionKind.TRACE):
        doc["errnoRet"] = rule.action.data
    if rule.args:
        doc["args"] = [
            {"index": a.index, "value": a.value, "valueTwo": a.value_two, "op": a.op} for a in rule.args
        ]
    if comment:
        doc["comment"] = comment
    return doc


def profile_document(profile: Profile, *, comments: bool = False) -> dict[str, Any]:
    """The Docker/OCI ``linux.seccomp`` object. ``comments`` adds Docker's per-rule ``comment``."""
    doc: dict[str, Any] = {"defaultAction": profile.default_action.kind.scmp_name}
    if profile.default_action.kind is ActionKind.ERRNO:
        doc["defaultErrnoRet"] = profile.default_action.data
    doc["architectures"] = [libseccomp_arch(abi) for abi in profile.architectures]
    if profile.flags:
        doc["flags"] = sorted(profile.flags)
    doc["syscalls"] = [
        rule_document(rule, comment=_rule_comment(rule, profile) if comments else None)
        for rule in profile.rules
    ]
    return doc


def _rule_comment(rule: Rule, profile: Profile) -> str | None:
    if rule.reason:
        return rule.reason
    if len(profile.architectures) < 2 or not rule.abis or set(rule.abis) == set(profile.architectures):
        return None
    return f"observed on {', '.join(rule.abis)} only; applies wherever an architecture has the name"


def dump_json(document: Any) -> str:
    """Stable JSON text: insertion-ordered keys, 2-space indent, final newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def render(profile: Profile, fmt: Format, options: RenderOptions | None = None) -> str:
    """``profile`` as ``fmt`` text. Raises ``ProfileError`` when the target cannot express it."""
    opts = options or RenderOptions()
    if opts.spo_version not in SPO_VERSIONS:
        raise ProfileError(f"--spo-version {opts.spo_version!r}: choose one of {', '.join(SPO_VERSIONS)}")
    _check_text("name", opts.name)
    if fmt is Format.DOCKER:
        return dump_json(profile_document(profile, comments=True))
    if fmt in (Format.OCI, Format.OCI_ARTIFACT):
        return dump_json(profile_document(profile))
    if fmt is Format.SPO:
        _check_kubernetes_name(opts.name, _DNS_SUBDOMAIN, 253, "a SeccompProfile")
        return _render_spo(profile, opts)
    if fmt is Format.POD:
        _check_kubernetes_name(opts.name, _DNS_LABEL, 63, "a Pod and its container")
        _check_localhost_profile(opts.localhost_profile)
        _check_text("--image", opts.image)
        return _fill("pod.yaml.j2", name=opts.name, image=opts.image, profile_path=opts.localhost_profile)
    if fmt is Format.KIND:
        _check_text("profiles directory", opts.profiles_dir)
        _check_text("--name", opts.name)
        return _fill("kind.yaml.j2", profiles_dir=opts.profiles_dir, profile_file=f"{opts.name}.json")
    return _render_systemd(profile)


def _check_text(what: str, value: str) -> None:
    if not value or _CONTROL.search(value):
        raise ProfileError(f"{what} {value!r} is empty or has control characters")


def _check_kubernetes_name(name: str, pattern: re.Pattern[str], limit: int, what: str) -> None:
    """The API server refuses other names; say so now rather than at ``kubectl apply``."""
    if len(name) > limit or not pattern.fullmatch(name):
        raise ProfileError(
            f"--name {name!r} cannot name {what}: use at most {limit} lowercase letters, digits and '-'"
            + (" or '.'" if pattern is _DNS_SUBDOMAIN else "")
            + ", starting and ending with a letter or digit"
        )


def _check_localhost_profile(path: str) -> None:
    """Kubernetes wants a descending path relative to the kubelet's seccomp directory."""
    _check_text("profile path", path)
    if path.startswith("/") or ".." in path.split("/"):
        raise ProfileError(
            f"--profile-path {path!r}: a Pod's localhostProfile must be a path below the kubelet's "
            "seccomp directory (/var/lib/kubelet/seccomp), relative and without '..'"
        )


def _render_spo(profile: Profile, opts: RenderOptions) -> str:
    """SeccompProfile YAML. The CRD has no ``defaultErrnoRet``: runc then answers EPERM."""
    default = profile.default_action
    if default.kind is ActionKind.ERRNO and default.data != 1:
        raise ProfileError(
            f"a SeccompProfile cannot set the default errno ({errno_name(default.data)}); "
            "its runtimes answer EPERM: use --errno EPERM or --format docker"
        )
    doc = profile_document(profile)
    return _fill("spo.yaml.j2", doc=doc, name=opts.name, api_version=f"{SPO_GROUP}/{opts.spo_version}")


def _render_systemd(profile: Profile) -> str:
    """A drop-in with ``SystemCallFilter=`` (allow-list), architectures and the error number."""
    default = profile.default_action
    if default.kind not in (ActionKind.ERRNO, ActionKind.KILL_PROCESS):
        raise ProfileError(
            f"systemd can only answer denied calls with an errno or kill the process, not {default}: "
            "use --default-action errno or kill-process"
        )
    if default.kind is ActionKind.ERRNO and not 1 <= default.data <= SYSTEMD_MAX_ERRNO:
        raise ProfileError(
            f"systemd's SystemCallErrorNumber= takes errno 1-{SYSTEMD_MAX_ERRNO}, not {default.data} "
            "(it ignores the line and kills the process instead)"
        )
    if any(rule.args or rule.conditional for rule in profile.rules):
        raise ProfileError("systemd's SystemCallFilter= cannot express argument filters or conditions")
    allowed = profile.names_with(ActionKind.ALLOW) | profile.names_with(ActionKind.LOG)
    comments = _systemd_comments(profile, default)
    return _fill(
        "systemd.conf.j2",
        architectures=[_systemd_arch(abi) for abi in profile.architectures],
        names=sorted(allowed),
        errno=errno_name(default.data) if default.kind is ActionKind.ERRNO else None,
        comments=comments,
    )


def _systemd_arch(abi: str) -> str:
    name = SYSTEMD_ARCH.get(libseccomp_arch(abi))
    if name is None:
        raise ProfileError(f"systemd has no SystemCallArchitectures= name for {abi}")
    return name


def _systemd_comments(profile: Profile, default: Action) -> list[str]:
    """What the drop-in cannot say exactly, said as comments."""
    lines = []
    for rule in profile.rules:
        denied = rule.action.kind not in (ActionKind.ALLOW, ActionKind.LOG)
        if denied and rule.action != default:
            lines.append(
                f"not allowed, answered with {_describe(default)} here (the profile says "
                f"{_describe(rule.action)}): {' '.join(rule.names)}"
            )
    if profile.flags:
        lines.append(f"filter flags not expressible in a drop-in: {' '.join(profile.flags)}")
    return [_CONTROL.sub(" ", line) for line in lines]


def _describe(action: Action) -> str:
    return errno_name(action.data) if action.kind is ActionKind.ERRNO else str(action)


def _unit_word(value: object) -> str:
    text = str(value)
    if not _UNIT_WORD.fullmatch(text):
        raise ProfileError(f"{text!r} cannot be written into a systemd unit file")
    return text


@cache
def _environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("seccomp_gen", "templates"),
        autoescape=False,  # YAML and unit files, not HTML; values go through tojson / unitword
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["unitword"] = _unit_word
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": True}
    return env


def _template(name: str) -> Any:
    return _environment().get_template(name)


def _fill(template: str, **values: Any) -> str:
    """Render ``template`` with ``values``."""
    return str(_template(template).render(**values))


__all__ = [
    "Format",
    "RenderOptions",
    "dump_json",
    "libseccomp_arch",
    "profile_document",
    "render",
]
