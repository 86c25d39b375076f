"""Syscall number ↔ name per ABI, from the generated tables in ``syscall_tables/``.

INTERFACE STUB — being implemented (issue 2). Numbers are as a record prints them: x32 numbers keep
bit 0x40000000, mips numbers include their 4000/5000/6000 offset, ARM-private calls are 0x0f0000+n.
"""

from __future__ import annotations

from collections.abc import Mapping

from seccomp_gen.abi import Abi


def syscall_table(abi: Abi) -> Mapping[int, str]:
    """The whole table of ``abi``: number → kernel name."""
    raise NotImplementedError


def syscall_name(abi: Abi, number: int) -> str:
    """``syscall_name(get_abi("x86_64"), 59) == "execve"``; ``UnknownSyscallError`` otherwise."""
    raise NotImplementedError


def syscall_number(abi: Abi, name: str) -> int:
    """Name → number on ``abi``; accepts audit-userspace aliases (``pread`` → ``pread64``)."""
    raise NotImplementedError


def canonical_name(name: str) -> str:
    """The kernel/libseccomp spelling of a name: ``pread`` → ``pread64``; others unchanged."""
    raise NotImplementedError
