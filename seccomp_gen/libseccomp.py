"""What the INSTALLED libseccomp knows: its version, its architectures, its syscall names.

Our tables come from the kernel; the libseccomp on the machine may be older (Debian 12 ships 2.5.4)
and then lacks newer syscalls and whole architectures (loongarch64, m68k, sh). A profile that names
something libseccomp cannot resolve fails to load in runc/Docker, so the emitter asks here first.

It also builds filters: ``build_filter`` is the one builder, for ``check``'s and ``emit``'s
compilation and for the filter ``record``/``run`` load, so that what is checked is what runs.
pyseccomp (and through it libseccomp) is imported on first use only, here and nowhere else.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from seccomp_gen.abi import Abi
from seccomp_gen.errors import ProfileError

if TYPE_CHECKING:
    from seccomp_gen.actions import Action
    from seccomp_gen.profile import ArgCondition, Profile, Rule

BINDING = "pyseccomp"  # the Python module that loads libseccomp (doctor names it)
_ALLOW = 0x7FFF0000
NR_SCMP_ERROR = -1  # what seccomp_syscall_resolve_name_arch returns for a name it does not know
# libseccomp's enum scmp_compare, by the names profiles use
OPERATORS = {
    "SCMP_CMP_NE": 1,
    "SCMP_CMP_LT": 2,
    "SCMP_CMP_LE": 3,
    "SCMP_CMP_EQ": 4,
    "SCMP_CMP_GE": 5,
    "SCMP_CMP_GT": 6,
    "SCMP_CMP_MASKED_EQ": 7,
}


class _Version(ctypes.Structure):
    _fields_ = (("major", ctypes.c_uint), ("minor", ctypes.c_uint), ("micro", ctypes.c_uint))


@cache
def version() -> tuple[int, int, int] | None:
    """The installed libseccomp's version, ``(2, 5, 4)``; None when it cannot be loaded or asked."""
    library = _load_library()
    if library is None or not hasattr(library, "seccomp_version"):
        return None
    library.seccomp_version.argtypes = ()
    library.seccomp_version.restype = ctypes.POINTER(_Version)
    found = library.seccomp_version()
    if not found:
        return None
    return (found.contents.major, found.contents.minor, found.contents.micro)


def _load_library() -> ctypes.CDLL | None:
    for name in ("libseccomp.so.2", ctypes.util.find_library("seccomp")):
        if name is None:
            continue
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    return None


def _pyseccomp() -> Any:
    """pyseccomp, or None when it (or libseccomp under it) cannot be loaded."""
    try:
        import pyseccomp
    except (ImportError, RuntimeError, OSError):
        return None
    return pyseccomp


@cache
def supports(abi: Abi) -> bool:
    """Whether the installed libseccomp can build a filter for ``abi``."""
    token = abi.libseccomp_token
    lib = _pyseccomp()
    if token is None or lib is None:
        return False
    probe = lib.SyscallFilter(_ALLOW)
    try:
        # A filter starts with the native arch; drop it so that an arch of the other
        # endianness (which libseccomp refuses to mix with it) can be tried on its own.
        probe.remove_arch(lib.Arch.NATIVE)
        probe.add_arch(token)
    except OSError:
        return False
    return True


def libseccomp_number(abi: Abi, name: str) -> int | None:
    """The number the installed libseccomp gives ``name`` on ``abi``; None when it does not know it.

    Numbers are as a record prints them (libseccomp also includes the x32 bit and mips offsets).
    None too when libseccomp lacks the ABI or knows the name only as a pseudo-syscall (not on it).
    """
    if not supports(abi):
        return None
    number = int(_pyseccomp().resolve_syscall(abi.libseccomp_token, name))
    return number if number >= 0 else None


def libseccomp_knows(abi: Abi, name: str) -> bool:
    """Whether the installed libseccomp accepts ``name`` in a rule for ``abi``.

    True also for a name libseccomp resolves to a pseudo-syscall (a negative number): a socket or
    IPC call it routes through ``socketcall``/``ipc`` on i386, s390x, ppc and mips (2.5), or a call
    the ABI does not have at all, which it accepts and leaves out of the filter.
    """
    if not supports(abi):
        return False
    return int(_pyseccomp().resolve_syscall(abi.libseccomp_token, name)) != NR_SCMP_ERROR


def libseccomp_name(abi: Abi, number: int) -> str | None:
    """The name the installed libseccomp gives ``number`` on ``abi``; None when it has none."""
    if not supports(abi):
        return None
    try:
        raw = _pyseccomp().resolve_syscall(abi.libseccomp_token, number)
    except ValueError:
        return None
    return bytes(raw).decode("ascii")


def native_token() -> int:
    """libseccomp's ``SCMP_ARCH_*`` value of this machine (the same number as its AUDIT_ARCH)."""
    import pyseccomp

    return int(pyseccomp.system_arch())


def native_abi() -> str:
    """The name of the ABI libseccomp reports as this machine's (``x86_64``)."""
    from seccomp_gen.abi import all_abis

    native = native_token()
    for abi in all_abis():
        if abi.libseccomp and abi.libseccomp_token == native:
            return abi.name
    raise ProfileError(f"no ABI matches libseccomp's native architecture {native:#x}")


def arch_token(abi: str) -> int:
    """libseccomp's ``SCMP_ARCH_*`` value for an ABI; ``ProfileError`` where libseccomp has none."""
    from seccomp_gen.abi import get_abi

    token = get_abi(abi).libseccomp_token
    if token is None:
        raise ProfileError(f"libseccomp has no architecture for ABI {abi!r}")
    return token


def resolve(abi: str, name: str) -> int:
    """libseccomp's number for ``name`` on ``abi``: -1 when unknown, other negatives where absent."""
    import pyseccomp

    return int(pyseccomp.resolve_syscall(arch_token(abi), name))


def version_text() -> str:
    """The installed libseccomp's version, e.g. ``2.5.4`` (``unknown`` when it cannot say)."""
    found = version()
    return "unknown" if found is None else ".".join(str(part) for part in found)


def build_filter(profile: Profile, abis: Sequence[str] | None = None) -> Any:
    """The filter runc loads for ``profile`` on ``abis`` (default: the profile's architectures, or the
    native one when it lists none), as a pyseccomp ``SyscallFilter``; ``ProfileError`` naming the
    failing part when libseccomp refuses it.

    As runc builds it: rules equal to the default action are skipped (libseccomp refuses them),
    Docker's conditional rules (``includes``/``excludes``, which only Docker and Podman apply) are
    left out, names libseccomp does not know are skipped, and each rule goes in with the native
    number, which libseccomp translates per architecture by name.
    """
    import pyseccomp

    chosen = tuple(profile.architectures if abis is None else abis)
    try:
        flt = pyseccomp.SyscallFilter(profile.default_action.code)
    except OSError as exc:
        raise ProfileError(f"libseccomp rejects the default action {profile.default_action}: {exc}") from None
    tokens = [arch_token(abi) for abi in chosen]
    native = native_token()
    try:
        if tokens and native not in tokens:
            # First: a filter holds one byte order, and the native one would refuse s390x on x86_64.
            flt.remove_arch(native)
        for token in tokens:
            if token != native:
                flt.add_arch(token)
    except OSError as exc:
        where = ", ".join(chosen)
        raise ProfileError(
            f"libseccomp {version_text()} cannot build a filter for {where}: {exc.strerror}"
        ) from None
    added: set[tuple[str, Action, tuple[ArgCondition, ...]]] = set()
    for rule in profile.rules:
        if rule.action != profile.default_action and not rule.conditional:
            _add_rule(flt, rule, chosen, added)
    return flt


def _add_rule(
    flt: Any, rule: Rule, abis: Sequence[str], added: set[tuple[str, Action, tuple[ArgCondition, ...]]]
) -> None:
    """Add each name of ``rule`` once: libseccomp takes time quadratic in repeats of the same rule
    (a 14 MB profile repeating four names ran for minutes), and a repeat changes nothing."""
    import pyseccomp

    args = [pyseccomp.Arg(a.index, OPERATORS[a.op], a.value, a.value_two) for a in rule.args]
    for name in rule.names:
        key = (name, rule.action, rule.args)
        if key in added:
            continue
        added.add(key)
        number = int(pyseccomp.resolve_syscall(pyseccomp.Arch.NATIVE, name))
        if number == NR_SCMP_ERROR:
            continue
        try:
            flt.add_rule(rule.action.code, number, *args)
        except (OSError, ValueError) as exc:
            raise ProfileError(
                f"libseccomp rejects the rule for {name} ({rule.action}) on {', '.join(abis)}: {exc}"
            ) from None


def log_filter() -> Any:
    """A filter that logs every call and denies none (``record``)."""
    import pyseccomp

    return pyseccomp.SyscallFilter(pyseccomp.LOG)


def set_flags(flt: Any, *, log_denials: bool | None = None, no_new_privs: bool | None = None) -> None:
    """``SECCOMP_FILTER_FLAG_LOG`` (log what the filter denies) and no_new_privs on load, where given."""
    import pyseccomp

    if log_denials is not None:
        flt.set_attr(pyseccomp.Attr.CTL_LOG, int(log_denials))
    if no_new_privs is not None:
        flt.set_attr(pyseccomp.Attr.CTL_NNP, int(no_new_privs))


def export_bpf(flt: Any) -> bytes:
    """The filter's BPF program as the kernel would load it."""
    import tempfile

    with tempfile.TemporaryFile() as sink:
        flt.export_bpf(sink)
        sink.seek(0)
        return sink.read()


def export_pfc(flt: Any) -> str:
    """libseccomp's pseudo filter code for the filter: what it compares, per architecture."""
    import tempfile

    with tempfile.TemporaryFile() as sink:
        flt.export_pfc(sink)
        sink.seek(0)
        return sink.read().decode()


__all__ = [
    "BINDING",
    "NR_SCMP_ERROR",
    "OPERATORS",
    "arch_token",
    "build_filter",
    "export_bpf",
    "export_pfc",
    "libseccomp_knows",
    "libseccomp_name",
    "libseccomp_number",
    "log_filter",
    "native_abi",
    "native_token",
    "resolve",
    "set_flags",
    "supports",
    "version",
    "version_text",
]
