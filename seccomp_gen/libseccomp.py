"""What the INSTALLED libseccomp knows: its version, its architectures, its syscall names.

Our tables come from the kernel; the libseccomp on the machine may be older (Debian 12 ships 2.5.4)
and then lacks newer syscalls and whole architectures (loongarch64, m68k, sh). A profile that names
something libseccomp cannot resolve fails to load in runc/Docker, so the emitter asks here first.

pyseccomp (and through it libseccomp) is imported on first use only.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache
from typing import Any

from seccomp_gen.abi import Abi

_ALLOW = 0x7FFF0000
_NR_SCMP_ERROR = -1  # what seccomp_syscall_resolve_name_arch returns for a name it does not know


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
    return int(_pyseccomp().resolve_syscall(abi.libseccomp_token, name)) != _NR_SCMP_ERROR


def libseccomp_name(abi: Abi, number: int) -> str | None:
    """The name the installed libseccomp gives ``number`` on ``abi``; None when it has none."""
    if not supports(abi):
        return None
    try:
        raw = _pyseccomp().resolve_syscall(abi.libseccomp_token, number)
    except ValueError:
        return None
    return bytes(raw).decode("ascii")


__all__ = ["libseccomp_knows", "libseccomp_name", "libseccomp_number", "supports", "version"]
