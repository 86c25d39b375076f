"""The ABI registry: AUDIT_ARCH value ↔ ABI name ↔ libseccomp name.

An ABI is what a seccomp record's ``arch=`` field selects (its AUDIT_ARCH value, see
include/uapi/linux/audit.h), plus, on x86_64, bit 0x40000000 of the syscall number, which marks an
x32 task. Each ABI has one generated table in ``syscall_tables/`` (see ``seccomp_gen.syscalls``).

Endianness variants are separate ABIs whenever their AUDIT_ARCH values differ (``mips``/``mipsel``,
``ppc64``/``ppc64le``, ``arm``/``armeb``, ``sh``/``shel``...): a record names exactly one of them, and
a profile lists the architectures it covers.

This module is imported on the parser's hot path: it holds plain data and dictionaries only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from seccomp_gen.errors import UnknownAbiError

X32_SYSCALL_BIT = 0x40000000
_AUDIT_ARCH_64BIT = 0x80000000
_AUDIT_ARCH_LE = 0x40000000
_EM_X86_64 = 62


@dataclass(frozen=True, slots=True)
class Abi:
    """One syscall ABI: what a record's ``arch=`` (and for x32 the number's bit 30) selects."""

    name: str  # canonical: "x86_64", "i386", "x32", "aarch64", "arm", "mipsel", "mips64n32", ...
    audit_arch: int  # AUDIT_ARCH value as printed in arch= (x32 shares 0xC000003E with x86_64)
    libseccomp: str | None  # "SCMP_ARCH_X86_64"; None where libseccomp has no such arch
    bits: int  # 32 or 64
    audit_arch_name: str = ""  # the kernel's constant: "AUDIT_ARCH_X86_64"
    aliases: tuple[str, ...] = field(default=())  # other spellings users type: "amd64", "arm64", ...

    @property
    def audit_arch_hex(self) -> str:
        """The AUDIT_ARCH value the way a record prints it: ``c000003e``."""
        return f"{self.audit_arch:08x}"

    @property
    def libseccomp_token(self) -> int | None:
        """libseccomp's ``SCMP_ARCH_*`` value: the AUDIT_ARCH value, except for x32 (no 64-bit flag)."""
        if self.libseccomp is None:
            return None
        if self.name == "x32":
            return _EM_X86_64 | _AUDIT_ARCH_LE
        return self.audit_arch

    @property
    def table_file(self) -> str:
        """File name of this ABI's generated table inside ``syscall_tables/``."""
        return f"{self.name}.tbl"


@dataclass(frozen=True, slots=True)
class UnsupportedArch:
    """An AUDIT_ARCH value of audit.h that no Linux 7.1.5 syscall table serves, and why."""

    audit_arch_name: str
    audit_arch: int
    reason: str


# AUDIT_ARCH values come from include/uapi/linux/audit.h (Linux 7.1.5, via constants.json);
# tests/test_abi.py checks every one of them against that file. libseccomp names are libseccomp's
# own (2.6): note that libseccomp calls little-endian SuperH "SCMP_ARCH_SH" and big-endian "SHEB",
# while the kernel calls them AUDIT_ARCH_SHEL and AUDIT_ARCH_SH; our ABI names follow the kernel.
_ABI_ROWS: tuple[tuple[str, str, int, int, str | None, tuple[str, ...]], ...] = (
    ("aarch64", "AARCH64", 0xC00000B7, 64, "AARCH64", ("arm64",)),
    ("alpha", "ALPHA", 0xC0009026, 64, None, ()),
    ("arcompact", "ARCOMPACT", 0x4000005D, 32, None, ("arc700", "arcle")),
    ("arcompactbe", "ARCOMPACTBE", 0x0000005D, 32, None, ("arc700be", "arcbe")),
    ("arcv2", "ARCV2", 0x400000C3, 32, None, ("arc", "archs", "arcv2le")),
    ("arcv2be", "ARCV2BE", 0x000000C3, 32, None, ("arceb", "archsbe")),
    (
        "arm",
        "ARM",
        0x40000028,
        32,
        "ARM",
        ("armhf", "armel", "armv7", "armv7l", "armv7hl", "armv6l", "arm32"),
    ),
    ("armeb", "ARMEB", 0x00000028, 32, None, ("armbe", "armv7b")),
    ("csky", "CSKY", 0x400000FC, 32, None, ()),
    ("hexagon", "HEXAGON", 0x000000A4, 32, None, ()),
    ("i386", "I386", 0x40000003, 32, "X86", ("x86", "i686", "i586", "i486", "ia32", "x86_32")),
    ("loongarch32", "LOONGARCH32", 0x40000102, 32, None, ("loong32", "la32")),
    ("loongarch64", "LOONGARCH64", 0xC0000102, 64, "LOONGARCH64", ("loong64", "la64")),
    ("m68k", "M68K", 0x00000004, 32, "M68K", ()),
    ("microblaze", "MICROBLAZE", 0x000000BD, 32, None, ()),
    ("mips", "MIPS", 0x00000008, 32, "MIPS", ("mipso32", "mipsbe", "mipseb")),
    ("mips64", "MIPS64", 0x80000008, 64, "MIPS64", ("mips64n64", "mips64be", "mips64eb")),
    ("mips64n32", "MIPS64N32", 0xA0000008, 32, "MIPS64N32", ("mipsn32", "mipsn32be")),
    ("mipsel", "MIPSEL", 0x40000008, 32, "MIPSEL", ("mipsle", "mipselo32")),
    ("mipsel64", "MIPSEL64", 0xC0000008, 64, "MIPSEL64", ("mips64el", "mips64le", "mipsel64n64")),
    ("mipsel64n32", "MIPSEL64N32", 0xE0000008, 32, "MIPSEL64N32", ("mipsn32el", "mips64n32el")),
    ("nios2", "NIOS2", 0x40000071, 32, None, ()),
    ("openrisc", "OPENRISC", 0x0000005C, 32, None, ("or1k",)),
    ("parisc", "PARISC", 0x0000000F, 32, "PARISC", ("hppa", "parisc32")),
    ("parisc64", "PARISC64", 0x8000000F, 64, "PARISC64", ("hppa64",)),
    ("ppc", "PPC", 0x00000014, 32, "PPC", ("powerpc", "ppc32")),
    ("ppc64", "PPC64", 0x80000015, 64, "PPC64", ("powerpc64", "ppc64be")),
    ("ppc64le", "PPC64LE", 0xC0000015, 64, "PPC64LE", ("ppc64el", "powerpc64le")),
    ("riscv32", "RISCV32", 0x400000F3, 32, None, ("rv32",)),
    ("riscv64", "RISCV64", 0xC00000F3, 64, "RISCV64", ("rv64",)),
    ("s390x", "S390X", 0x80000016, 64, "S390X", ()),
    ("sh", "SH", 0x0000002A, 32, "SHEB", ("sheb", "shbe")),
    ("shel", "SHEL", 0x4000002A, 32, "SH", ("shle",)),
    ("sparc", "SPARC", 0x00000002, 32, None, ("sparc32",)),
    ("sparc64", "SPARC64", 0x8000002B, 64, None, ("sparcv9",)),
    ("x32", "X86_64", 0xC000003E, 32, "X32", ("x86_x32",)),
    ("x86_64", "X86_64", 0xC000003E, 64, "X86_64", ("amd64", "x86-64", "x64")),
    ("xtensa", "XTENSA", 0x0000005E, 32, None, ()),
)

_ABIS: tuple[Abi, ...] = tuple(
    Abi(
        name=name,
        audit_arch=value,
        libseccomp=None if scmp is None else f"SCMP_ARCH_{scmp}",
        bits=bits,
        audit_arch_name=f"AUDIT_ARCH_{const}",
        aliases=aliases,
    )
    for name, const, value, bits, scmp, aliases in _ABI_ROWS
)

# Every other AUDIT_ARCH constant of audit.h: the architecture has left Linux (or lost its compat
# ABI) before 7.1.5, so no table exists and no 7.1.5 kernel prints these values.
UNSUPPORTED: tuple[UnsupportedArch, ...] = tuple(
    UnsupportedArch(f"AUDIT_ARCH_{const}", value, reason)
    for const, value, reason in (
        ("C6X", 0x4000008C, "arch/c6x was removed from Linux; 7.1.5 has no c6x syscall table"),
        ("C6XBE", 0x0000008C, "arch/c6x was removed from Linux; 7.1.5 has no c6x syscall table"),
        ("CRIS", 0x4000004C, "arch/cris was removed from Linux (4.17); 7.1.5 has no cris syscall table"),
        ("FRV", 0x00005441, "arch/frv was removed from Linux (4.17); 7.1.5 has no frv syscall table"),
        ("H8300", 0x0000002E, "arch/h8300 was removed from Linux; 7.1.5 has no h8300 syscall table"),
        ("IA64", 0xC0000032, "arch/ia64 was removed from Linux (6.7); 7.1.5 has no ia64 syscall table"),
        ("M32R", 0x00000058, "arch/m32r was removed from Linux (4.17); 7.1.5 has no m32r syscall table"),
        ("NDS32", 0x400000A7, "arch/nds32 was removed from Linux; 7.1.5 has no nds32 syscall table"),
        ("NDS32BE", 0x000000A7, "arch/nds32 was removed from Linux; 7.1.5 has no nds32 syscall table"),
        ("S390", 0x00000016, "31-bit s390 (compat) is gone: 7.1.5's s390 table has 64-bit rows only"),
        ("SH64", 0x8000002A, "64-bit SuperH (sh5) was removed from Linux; 7.1.5 has no sh64 table"),
        ("SHEL64", 0xC000002A, "64-bit SuperH (sh5) was removed from Linux; 7.1.5 has no sh64 table"),
        ("TILEGX", 0xC00000BF, "arch/tile was removed from Linux (4.17); 7.1.5 has no tile syscall table"),
        ("TILEGX32", 0x400000BF, "arch/tile was removed from Linux (4.17); 7.1.5 has no tile syscall table"),
        ("TILEPRO", 0x400000BC, "arch/tile was removed from Linux (4.17); 7.1.5 has no tile syscall table"),
        ("UNICORE", 0x4000006E, "arch/unicore32 was removed from Linux; 7.1.5 has no unicore32 table"),
    )
)


def _fold(spelling: str) -> str:
    """Case and dash insensitive key: ``X86-64`` and ``x86_64`` are the same spelling."""
    return spelling.strip().lower().replace("-", "_")


_BY_NAME: Mapping[str, Abi] = MappingProxyType({abi.name: abi for abi in _ABIS})
_BY_SPELLING: Mapping[str, Abi] = MappingProxyType(
    {_fold(s): abi for abi in _ABIS for s in (abi.name, *abi.aliases)}
    | {_fold(abi.libseccomp): abi for abi in _ABIS if abi.libseccomp is not None}
    | {_fold(abi.audit_arch_name): abi for abi in _ABIS if abi.name != "x32"}
)
# arch= value → native ABI; x32 shares x86_64's value and is told apart by the number's bit 30.
_BY_AUDIT_ARCH: Mapping[int, Abi] = MappingProxyType(
    {abi.audit_arch: abi for abi in _ABIS if abi.name != "x32"}
)
_X86_64 = _BY_NAME["x86_64"]
_X32 = _BY_NAME["x32"]
_UNSUPPORTED_BY_VALUE: Mapping[int, UnsupportedArch] = MappingProxyType(
    {u.audit_arch: u for u in UNSUPPORTED}
)
_UNSUPPORTED_BY_NAME: Mapping[str, UnsupportedArch] = MappingProxyType(
    {_fold(u.audit_arch_name): u for u in UNSUPPORTED}
    | {_fold(u.audit_arch_name.removeprefix("AUDIT_ARCH_")): u for u in UNSUPPORTED}
)
_HEX = re.compile(r"(?:0x)?([0-9a-f]{1,8})")


def all_abis() -> tuple[Abi, ...]:
    """Every supported ABI, sorted by name."""
    return _ABIS


def abi_names() -> tuple[str, ...]:
    """The canonical names of every supported ABI, sorted."""
    return tuple(_BY_NAME)


def get_abi(spelling: str) -> Abi:
    """Accept what users type: ``x86_64``, ``amd64``, ``SCMP_ARCH_X86_64``, ``c000003e``, ``arm64``.

    Also ``AUDIT_ARCH_*`` constant names and AUDIT_ARCH values with or without ``0x`` and leading
    zeros; case does not matter. A bare AUDIT_ARCH value names the native ABI (``c000003e`` is
    x86_64, never x32). Raises ``UnknownAbiError`` quoting the spelling.
    """
    key = _fold(spelling)
    abi = _BY_SPELLING.get(key)
    if abi is not None:
        return abi
    match = _HEX.fullmatch(key)
    if match is not None:
        value = int(match.group(1), 16)
        abi = _BY_AUDIT_ARCH.get(value)
        if abi is not None:
            return abi
        unsupported = _UNSUPPORTED_BY_VALUE.get(value)
    else:
        unsupported = _UNSUPPORTED_BY_NAME.get(key)
    if unsupported is not None:
        raise UnknownAbiError(
            f"ABI {spelling!r} ({unsupported.audit_arch_name}, {unsupported.audit_arch:08x}) is not "
            f"supported: {unsupported.reason}"
        )
    raise UnknownAbiError(_unknown_message(spelling, key))


def _unknown_message(spelling: str, key: str) -> str:
    import difflib  # only on the error path

    close = difflib.get_close_matches(key, list(_BY_SPELLING), n=3, cutoff=0.6)
    names = sorted({_BY_SPELLING[c].name for c in close})
    hint = f"; did you mean {', '.join(names)}?" if names else ""
    return f"unknown ABI {spelling!r}{hint} (list them: seccomp-gen syscalls --abis)"


def find_abi(audit_arch: int) -> Abi | None:
    """The native ABI of an AUDIT_ARCH value, or None when no supported ABI has it."""
    return _BY_AUDIT_ARCH.get(audit_arch)


def resolve(arch: int | None, syscall: int) -> Abi | None:
    """The ABI a record was made by: ``arch=c000003e`` with bit 0x40000000 in ``syscall`` is x32.

    None when ``arch`` is None (old kernels) or no ABI has that AUDIT_ARCH value.
    """
    if arch is None:
        return None
    abi = _BY_AUDIT_ARCH.get(arch)
    if abi is _X86_64 and syscall & X32_SYSCALL_BIT:
        return _X32
    return abi


__all__ = [
    "UNSUPPORTED",
    "X32_SYSCALL_BIT",
    "Abi",
    "UnsupportedArch",
    "abi_names",
    "all_abis",
    "find_abi",
    "get_abi",
    "resolve",
]
