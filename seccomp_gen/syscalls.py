"""Syscall number ↔ name per ABI, from the generated tables in ``syscall_tables/``.

Numbers are as a record prints them: x32 numbers keep bit 0x40000000, mips numbers include their
4000/5000/6000 offset, ARM-private calls are 0x0f0000+n. Names are the kernel's (and libseccomp's):
``pread64``, never audit-userspace's ``pread``; ``canonical_name`` maps such aliases.

A table is read on first use of its ABI and cached; every lookup after that is one dictionary access.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import NamedTuple

from seccomp_gen.abi import Abi, all_abis, resolve
from seccomp_gen.errors import UnknownSyscallError

_PACKAGE_TABLES = Path(__file__).resolve().parent / "syscall_tables"  # in a wheel (force-include)
_REPO_TABLES = Path(__file__).resolve().parent.parent / "syscall_tables"  # source tree, editable install
_UNIMPLEMENTED = "unimplemented"

# audit-userspace (ausearch -i, auditd's lib/*_table.h) spells some syscalls differently from the
# kernel's tables and libseccomp. These were found by comparing audit-userspace's x86_64, i386,
# aarch64, arm, ppc and s390x tables with ours number by number; the kernel spellings agree with
# libseccomp's syscalls.csv and hrw/syscalls-table.
#
# AUDIT_ALIASES: the alias is no kernel name on any ABI, so mapping it can never hide a real syscall
# (tests/test_syscalls.py checks this against every table).
AUDIT_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "madvise1": "madvise",  # i386 219, listed twice by audit
        "newfstat": "fstat",  # aarch64 80 (the entry point is sys_newfstat)
        "newselect": "_newselect",  # arm 142
        "perf_counter_open": "perf_event_open",  # ppc 319, the name before Linux 2.6.32
        "pread": "pread64",  # x86_64 17, aarch64 67, ppc 179, s390x 180
        "pwrite": "pwrite64",  # x86_64 18, aarch64 68, ppc 180, s390x 181
        "sys_kexec_load": "kexec_load",  # i386 283
        "sysctl": "_sysctl",  # arm 149
    }
)
# FALLBACK_ALIASES: the alias IS a kernel name on some ABIs (mips and s390x have a dead "timerfd",
# the generic 32-bit table has "llseek"), so it is mapped only on an ABI whose table lacks it.
FALLBACK_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "fadvise64_64": "arm_fadvise64_64",  # arm 270
        "llseek": "_llseek",  # arm 140
        "sync_file_range": "arm_sync_file_range",  # arm 341
        "timerfd": "timerfd_create",  # x86_64 283, i386 322, ppc 306: the name before Linux 2.6.25
    }
)


@dataclass(frozen=True, slots=True)
class SyscallTable:
    """One ABI's generated table, with its provenance."""

    abi: Abi
    names: Mapping[int, str]  # number → kernel name
    numbers: Mapping[str, int]  # kernel name → number
    unimplemented: frozenset[str]  # names the kernel's table has with no entry point
    kernel: str  # Linux version the table was generated from: "7.1.5"
    sources: tuple[str, ...]  # the kernel files it was generated from


_CACHE: dict[str, SyscallTable] = {}


def tables_dir() -> Path:
    """The directory the tables are read from: the package's copy (wheel), else the source tree's."""
    if _PACKAGE_TABLES.is_dir():
        return _PACKAGE_TABLES
    return _REPO_TABLES


def load_table(abi: Abi) -> SyscallTable:
    """The table of ``abi``, read once and cached."""
    table = _CACHE.get(abi.name)
    if table is None:
        table = _parse(abi, (tables_dir() / abi.table_file).read_text(encoding="utf-8"))
        _CACHE[abi.name] = table
    return table


def _parse(abi: Abi, text: str) -> SyscallTable:
    names: dict[int, str] = {}
    unimplemented = set()
    kernel = ""
    sources = []
    for line in text.splitlines():
        if line.startswith("#"):
            key, _, value = line[1:].strip().partition(": ")
            if key == "kernel":
                kernel = value
            elif key == "source":
                sources.append(value)
            continue
        fields = line.split("\t")
        names[int(fields[0])] = fields[1]
        if len(fields) > 2 and fields[2] == _UNIMPLEMENTED:
            unimplemented.add(fields[1])
    numbers = {name: number for number, name in names.items()}
    return SyscallTable(
        abi=abi,
        names=MappingProxyType(names),
        numbers=MappingProxyType(numbers),
        unimplemented=frozenset(unimplemented),
        kernel=kernel,
        sources=tuple(sources),
    )


def syscall_table(abi: Abi) -> Mapping[int, str]:
    """The whole table of ``abi``: number → kernel name."""
    return load_table(abi).names


def syscall_name(abi: Abi, number: int) -> str:
    """``syscall_name(get_abi("x86_64"), 59) == "execve"``; ``UnknownSyscallError`` otherwise."""
    name = load_table(abi).names.get(number)
    if name is None:
        raise UnknownSyscallError(f"no syscall number {number} on ABI {abi.name!r}")
    return name


def lookup_name(abi: Abi, number: int) -> str | None:
    """Like ``syscall_name`` but None for a number the table does not have (hot path: no exception)."""
    return load_table(abi).names.get(number)


def syscall_number(abi: Abi, name: str) -> int:
    """Name → number on ``abi``; accepts audit-userspace aliases (``pread`` → ``pread64``)."""
    numbers = load_table(abi).numbers
    number = numbers.get(canonical_name(name, abi))
    if number is None:
        raise UnknownSyscallError(f"no syscall named {name!r} on ABI {abi.name!r}")
    return number


def canonical_name(name: str, abi: Abi | None = None) -> str:
    """The kernel/libseccomp spelling of a name: ``pread`` → ``pread64``; others unchanged.

    With ``abi``, also the aliases that are only safe where the ABI's table lacks the alias itself:
    ``timerfd`` is ``timerfd_create`` on x86_64 but a syscall of its own on s390x.
    """
    name = AUDIT_ALIASES.get(name, name)
    if abi is None:
        return name
    numbers = load_table(abi).numbers
    if name not in numbers:
        fallback = FALLBACK_ALIASES.get(name)
        if fallback is not None and fallback in numbers:
            return fallback
    return name


def is_implemented(abi: Abi, name: str) -> bool:
    """False for a name the table lists with no entry point (``afs_syscall``), or does not list."""
    table = load_table(abi)
    name = canonical_name(name, abi)
    return name in table.numbers and name not in table.unimplemented


def numbers_of(name: str) -> dict[str, int]:
    """ABI name → number of ``name`` on every ABI that has it (loads every table)."""
    found = {}
    for abi in all_abis():
        number = load_table(abi).numbers.get(canonical_name(name, abi))
        if number is not None:
            found[abi.name] = number
    return found


def names_of(number: int) -> dict[str, str]:
    """ABI name → kernel name of syscall ``number`` on every ABI whose table has it."""
    found = {}
    for abi in all_abis():
        name = load_table(abi).names.get(number)
        if name is not None:
            found[abi.name] = name
    return found


UNKNOWN_ABI = "unknown"  # the ABI of records without arch=


class Resolved(NamedTuple):
    """What a record's (``arch=``, ``syscall=``) are: the one answer every command gives."""

    arch: int | None  # the AUDIT_ARCH value; None when the record had no arch= (old kernels)
    number: int  # as the record printed it (x32 keeps bit 0x40000000)
    abi: Abi | None  # None: no arch=, or an arch= no ABI has
    name: str | None  # None: no ABI, or a number its table lacks

    @property
    def abi_key(self) -> str:
        """The ABI as the state keeps it: its name, ``unknown`` without arch=, else ``unknown-XXXXXXXX``."""
        if self.abi is not None:
            return self.abi.name
        return UNKNOWN_ABI if self.arch is None else f"{UNKNOWN_ABI}-{self.arch:08x}"

    @property
    def label(self) -> str:
        """The name, or ``unknown(N)`` (``syscall_label``)."""
        return syscall_label(self.name, self.number)


@functools.lru_cache(maxsize=65_536)  # bounded: a forged log may name any (arch, number)
def resolve_syscall(arch: int | None, number: int) -> Resolved:
    """The ABI (``abi.resolve``: x32 by its bit) and the name of a record's syscall."""
    abi = resolve(arch, number)
    return Resolved(arch, number, abi, None if abi is None else lookup_name(abi, number))


def syscall_label(name: str | None, number: int) -> str:
    """How a syscall is shown to the user: ``openat``, or ``unknown(999)`` for a number without a name."""
    return name if name is not None else f"unknown({number})"


__all__ = [
    "AUDIT_ALIASES",
    "FALLBACK_ALIASES",
    "UNKNOWN_ABI",
    "Resolved",
    "SyscallTable",
    "canonical_name",
    "is_implemented",
    "load_table",
    "lookup_name",
    "names_of",
    "numbers_of",
    "resolve_syscall",
    "syscall_label",
    "syscall_name",
    "syscall_number",
    "syscall_table",
    "tables_dir",
]
