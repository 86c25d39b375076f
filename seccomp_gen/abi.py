"""The ABI registry: AUDIT_ARCH value ↔ ABI name ↔ libseccomp name.

INTERFACE STUB — being implemented (issue 2). Signatures are the contract other modules use.
"""

from __future__ import annotations

from dataclasses import dataclass

X32_SYSCALL_BIT = 0x40000000


@dataclass(frozen=True, slots=True)
class Abi:
    """One syscall ABI: what a record's ``arch=`` (and for x32 the number's bit 30) selects."""

    name: str  # canonical: "x86_64", "i386", "x32", "aarch64", "arm", "mipsel", "mips64n32", ...
    audit_arch: int  # AUDIT_ARCH value as printed in arch= (x32 shares 0xC000003E with x86_64)
    libseccomp: str | None  # "SCMP_ARCH_X86_64"; None where libseccomp has no such arch
    bits: int  # 32 or 64


def all_abis() -> tuple[Abi, ...]:
    """Every supported ABI, sorted by name."""
    raise NotImplementedError


def get_abi(spelling: str) -> Abi:
    """Accept what users type: ``x86_64``, ``amd64``, ``SCMP_ARCH_X86_64``, ``c000003e``, ``arm64``.

    Raises ``UnknownAbiError`` quoting the spelling.
    """
    raise NotImplementedError


def resolve(arch: int | None, syscall: int) -> Abi | None:
    """The ABI a record was made by: ``arch=c000003e`` with bit 0x40000000 in ``syscall`` is x32.

    None when ``arch`` is None (old kernels) or no ABI has that AUDIT_ARCH value.
    """
    raise NotImplementedError
