"""Generate ``syscall_tables/<abi>.tbl`` from the kernel's own syscall tables.

Usage::

    python scripts/gen_syscall_tables.py            # (re)write syscall_tables/
    python scripts/gen_syscall_tables.py --check    # exit 1 naming stale files (CI runs this)
    python scripts/gen_syscall_tables.py --source DIR --output DIR

The sources are the Linux ``.tbl`` files under ``reference/linux-syscall-tables/`` (relative
to the repository root), read as that directory's ``ABIS.md`` describes: each ABI takes the rows whose
``abi`` column is in its set, plus a number offset. ``constants.json`` there gives the AUDIT_ARCH
values and the offsets (x32: ``__X32_SYSCALL_BIT``; mips o32/n64/n32: 4000/5000/6000; ARM-private
calls at ``0x0f0000 + n``). Numbers are written the way a seccomp record prints them.

Unimplemented entries: a row the kernel's table has but no entry point implements (no entry column,
``sys_ni_syscall``, or sparc's ``sys_nis_syscall``; e.g. x86_64 ``afs_syscall``, ``tuxcall``,
``_sysctl``) is KEPT with its kernel name and marked ``unimplemented`` in a third column. A program
can still make that call and a filter still sees its number, so a record can carry it; keeping the
kernel's name lets such a record be named instead of reported as an unknown number. Whether an
entry is implemented is decided by the native entry column only (a compat column is ignored).

Output is deterministic: one file per ABI, rows sorted by number, a fixed header naming the kernel
version and each source file with its git blob id, LF line endings, trailing newline.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = REPO / "reference" / "linux-syscall-tables"
DEFAULT_OUTPUT = REPO / "syscall_tables"
SUFFIX = ".tbl"
UNIMPLEMENTED = "unimplemented"
# Entry points that only return ENOSYS; sparc's sys_nis_syscall also logs the attempt.
_NI_ENTRIES = frozenset({"sys_ni_syscall", "sys_nis_syscall"})

_X86_64 = "arch/x86/entry/syscalls/syscall_64.tbl"
_GENERIC = "scripts/syscall.tbl"
_ARM = "arch/arm/tools/syscall.tbl"
_PPC = "arch/powerpc/kernel/syscalls/syscall.tbl"
_PARISC = "arch/parisc/kernel/syscalls/syscall.tbl"
_SPARC = "arch/sparc/kernel/syscalls/syscall.tbl"
_MIPS = "arch/mips/kernel/syscalls/syscall_{}.tbl"


class GenerateError(Exception):
    """The sources are missing or disagree with the ABI registry."""


@dataclass(frozen=True, slots=True)
class Source:
    """Where one ABI's rows come from (ABIS.md): table file, abi-column set, number offset."""

    table: str
    columns: tuple[str, ...] | None  # None: every row of the table
    offset: str | None = None  # key into the offsets parsed from constants.json
    arm_private: bool = False  # add the ARM-private calls at __ARM_NR_BASE + n


def _arch_table(arch: str) -> str:
    return f"arch/{arch}/kernel/syscalls/syscall.tbl"


def _generic(*extra: str, bits: str = "32") -> Source:
    return Source(_GENERIC, ("common", bits, *extra))


_ARC = _generic("arc", "time32", "renameat", "stat64", "rlimit")
_ARM_EABI = Source(_ARM, ("common", "eabi"), arm_private=True)
_MIPS_O32 = Source(_MIPS.format("o32"), None, "o32")
_MIPS_N64 = Source(_MIPS.format("n64"), None, "n64")
_MIPS_N32 = Source(_MIPS.format("n32"), None, "n32")
_PPC64 = Source(_PPC, ("common", "nospu", "64"))
_SH = Source(_arch_table("sh"), None)

# ABI name (seccomp_gen.abi) → its rows, as ABIS.md lists them. loongarch32 is not in ABIS.md's table;
# its set is the generic 32-bit one plus memfd_secret, from arch/loongarch/kernel/Makefile.syscalls
# ("memfd_secret on both widths", PROVENANCE.md), the same rule ABIS.md gives loongarch64.
SOURCES: Mapping[str, Source] = {
    "aarch64": _generic("renameat", "rlimit", "memfd_secret", bits="64"),
    "alpha": Source(_arch_table("alpha"), None),
    "arcompact": _ARC,
    "arcompactbe": _ARC,
    "arcv2": _ARC,
    "arcv2be": _ARC,
    "arm": _ARM_EABI,
    "armeb": _ARM_EABI,
    "csky": _generic("csky", "time32", "stat64", "rlimit"),
    "hexagon": _generic("hexagon", "time32", "stat64", "rlimit", "renameat"),
    "i386": Source("arch/x86/entry/syscalls/syscall_32.tbl", ("i386",)),
    "loongarch32": _generic("memfd_secret"),
    "loongarch64": _generic("memfd_secret", bits="64"),
    "m68k": Source(_arch_table("m68k"), None),
    "microblaze": Source(_arch_table("microblaze"), None),
    "mips": _MIPS_O32,
    "mips64": _MIPS_N64,
    "mips64n32": _MIPS_N32,
    "mipsel": _MIPS_O32,
    "mipsel64": _MIPS_N64,
    "mipsel64n32": _MIPS_N32,
    "nios2": _generic("nios2", "time32", "stat64", "renameat", "rlimit"),
    "openrisc": _generic("or1k", "time32", "stat64", "rlimit", "renameat"),
    "parisc": Source(_PARISC, ("common", "32")),
    "parisc64": Source(_PARISC, ("common", "64")),
    "ppc": Source(_PPC, ("common", "nospu", "32")),
    "ppc64": _PPC64,
    "ppc64le": _PPC64,
    "riscv32": _generic("riscv", "memfd_secret"),
    "riscv64": _generic("riscv", "rlimit", "memfd_secret", bits="64"),
    "s390x": Source(_arch_table("s390"), ("common", "64")),
    "sh": _SH,
    "shel": _SH,
    "sparc": Source(_SPARC, ("common", "32")),
    "sparc64": Source(_SPARC, ("common", "64")),
    "x32": Source(_X86_64, ("common", "x32"), "x32"),
    "x86_64": Source(_X86_64, ("common", "64")),
    "xtensa": Source(_arch_table("xtensa"), None),
}


@dataclass(frozen=True, slots=True)
class Row:
    """One line of a kernel ``.tbl`` file: ``number abi name [entry [compat entry]]``."""

    number: int
    column: str
    name: str
    implemented: bool


@dataclass(frozen=True, slots=True)
class Reference:
    """What the source directory provides besides the tables."""

    kernel: str
    audit_arch: Mapping[str, int]  # AUDIT_ARCH_* → value
    offsets: Mapping[str, int]  # "x32", "o32", "n64", "n32" → number offset
    arm_private: tuple[tuple[int, str], ...]  # (number, name) of the ARM-private calls
    constants_blob: str  # git blob id of constants.json


def parse_tbl(text: str) -> list[Row]:
    """The rows of a kernel ``.tbl`` file; comments and blank lines skipped."""
    rows = []
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        if len(fields) < 3 or not fields[0].isdigit():
            raise GenerateError(f"not a syscall table row: {line!r}")
        implemented = len(fields) > 3 and fields[3] not in _NI_ENTRIES
        rows.append(Row(int(fields[0]), fields[1], fields[2], implemented))
    return rows


def read_reference(source: Path) -> Reference:
    """Kernel version (ABIS.md title), AUDIT_ARCH values and offsets (constants.json)."""
    abis_md = _read(source / "ABIS.md")
    version = re.search(r"\(Linux (\d+\.\d+(?:\.\d+)?)\)", abis_md)
    if version is None:
        raise GenerateError(f"{source / 'ABIS.md'}: no '(Linux X.Y.Z)' kernel version in it")
    constants_text = _read(source / "constants.json")
    constants = json.loads(constants_text)
    audit = _section(constants, "AUDIT_ARCH")
    offsets = _section(constants, "offsets")
    return Reference(
        kernel=version.group(1),
        audit_arch={name: int(value, 16) for name, value in audit.items()},
        offsets=_number_offsets(offsets),
        arm_private=_arm_private(offsets),
        constants_blob=_blob_id(constants_text.encode("utf-8")),
    )


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise GenerateError(f"cannot read {path}: {exc.strerror}") from exc


def _section(constants: Mapping[str, Any], prefix: str) -> Mapping[str, str]:
    for key, value in constants.items():
        if key.startswith(prefix):
            return dict(value)
    raise GenerateError(f"constants.json has no {prefix!r} section")


def _number_offsets(offsets: Mapping[str, str]) -> Mapping[str, int]:
    """``__X32_SYSCALL_BIT (x86)`` and ``__NR_Linux mips o32/n64/n32: 4000/5000/6000``."""
    result = {"x32": int(_find(offsets, "__X32_SYSCALL_BIT"), 16)}
    for key, value in offsets.items():
        if key.startswith("__NR_Linux mips"):
            abis = key.rsplit(" ", 1)[1].split("/")
            result.update(zip(abis, (int(v) for v in value.split("/")), strict=True))
    if not {"o32", "n64", "n32"} <= result.keys():
        raise GenerateError("constants.json offsets: no '__NR_Linux mips o32/n64/n32' entry")
    return result


def _arm_private(offsets: Mapping[str, str]) -> tuple[tuple[int, str], ...]:
    """``__NR_SYSCALL_BASE + 0x0f0000; breakpoint +1, ...`` with the EABI base → (number, name)."""
    base_text, _, calls = _find(offsets, "__ARM_NR_BASE").partition(";")
    base = int(_find(offsets, "__NR_SYSCALL_BASE arm EABI"), 0)
    base += int(base_text.rsplit("+", 1)[1], 16)
    pairs = re.findall(r"(\w+) \+(\d+)", calls)
    if not pairs:
        raise GenerateError("constants.json offsets: no ARM-private calls after '__ARM_NR_BASE'")
    return tuple(sorted((base + int(n), name) for name, n in pairs))


def _find(mapping: Mapping[str, str], prefix: str) -> str:
    for key, value in mapping.items():
        if key.startswith(prefix):
            return value
    raise GenerateError(f"constants.json offsets: no {prefix!r} entry")


def _blob_id(data: bytes) -> str:
    """The git blob id of ``data`` (what PROVENANCE.md lists): sha1 of ``blob <len>\\0<data>``."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def abi_rows(spec: Source, text: str, ref: Reference) -> list[Row]:
    """The rows of one ABI, numbers as a record prints them, sorted by number."""
    rows = [r for r in parse_tbl(text) if spec.columns is None or r.column in spec.columns]
    offset = 0 if spec.offset is None else ref.offsets[spec.offset]
    rows = [Row(r.number + offset, r.column, r.name, r.implemented) for r in rows]
    if spec.arm_private:
        rows += [Row(number, "arm-private", name, True) for number, name in ref.arm_private]
    rows.sort(key=lambda r: r.number)
    _check_unique(rows)
    return rows


def _check_unique(rows: Sequence[Row]) -> None:
    for attr in ("number", "name"):
        seen: set[object] = set()
        for row in rows:
            value = getattr(row, attr)
            if value in seen:
                raise GenerateError(f"two rows with {attr} {value!r} in one ABI")
            seen.add(value)


def render(abi: Any, spec: Source, data: bytes, ref: Reference) -> str:
    """The text of ``syscall_tables/<abi>.tbl``."""
    rows = abi_rows(spec, data.decode("utf-8"), ref)
    columns = "all rows" if spec.columns is None else "abi column in " + ", ".join(spec.columns)
    offset = 0 if spec.offset is None else ref.offsets[spec.offset]
    lines = [
        f"# Syscall table of the {abi.name} ABI ({abi.audit_arch_name} = {abi.audit_arch:08x}).",
        "# Generated by scripts/gen_syscall_tables.py; do not edit, run it again instead.",
        f"# abi: {abi.name}",
        f"# audit_arch: {abi.audit_arch:08x}",
        f"# kernel: {ref.kernel}",
        f"# source: linux-syscall-tables/{spec.table} (git blob {_blob_id(data)})",
        f"# rows: {columns}; number offset {offset:#x}",
    ]
    if spec.offset is not None or spec.arm_private:
        used = "__ARM_NR_BASE, the ARM-private calls" if spec.arm_private else "the number offset"
        lines.append(f"# source: linux-syscall-tables/constants.json (git blob {ref.constants_blob}; {used})")
    lines += [
        f"# {UNIMPLEMENTED}: the kernel's table has the name but no entry point (none, sys_ni_syscall",
        "#   or sys_nis_syscall); kept because a program can still make the call and a record can",
        "#   carry its number.",
        "# number<TAB>name[<TAB>unimplemented], numbers as a seccomp record prints them",
    ]
    lines += [_row_line(row) for row in rows]
    return "\n".join(lines) + "\n"


def _row_line(row: Row) -> str:
    text = f"{row.number}\t{row.name}"
    return text if row.implemented else f"{text}\t{UNIMPLEMENTED}"


def generate(source: Path) -> dict[str, str]:
    """File name → content of every table, from the sources in ``source``."""
    abi_module = _abi_module()
    ref = read_reference(source)
    abis = {abi.name: abi for abi in abi_module.all_abis()}
    if set(abis) != set(SOURCES):
        raise GenerateError(f"ABI registry and SOURCES differ: {sorted(set(abis) ^ set(SOURCES))}")
    cache: dict[str, bytes] = {}
    files = {}
    for name in sorted(abis):
        abi, spec = abis[name], SOURCES[name]
        _check_audit_arch(abi, ref)
        if spec.table not in cache:
            cache[spec.table] = _read(source / spec.table).encode("utf-8")
        files[abi.table_file] = render(abi, spec, cache[spec.table], ref)
    return files


def _abi_module() -> Any:
    """``seccomp_gen.abi``, importable also when the package is not installed."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    return importlib.import_module("seccomp_gen.abi")


def _check_audit_arch(abi: Any, ref: Reference) -> None:
    value = ref.audit_arch.get(abi.audit_arch_name)
    if value != abi.audit_arch:
        raise GenerateError(
            f"seccomp_gen/abi.py gives {abi.name} {abi.audit_arch_name} = {abi.audit_arch:08x}, "
            f"constants.json has {value if value is None else format(value, '08x')}"
        )


def stale_files(expected: Mapping[str, str], output: Path) -> list[str]:
    """Names of files in ``output`` that differ from ``expected``, are missing, or are extra."""
    present = {p.name for p in output.glob(f"*{SUFFIX}")} if output.is_dir() else set()
    stale = sorted(present - expected.keys())
    for name, text in sorted(expected.items()):
        path = output / name
        if name not in present or path.read_bytes() != text.encode("utf-8"):
            stale.append(name)
    return sorted(stale)


def write(expected: Mapping[str, str], output: Path) -> list[str]:
    """Write the changed tables, remove extra ones; returns the names touched."""
    output.mkdir(parents=True, exist_ok=True)
    touched = stale_files(expected, output)
    for name in touched:
        path = output / name
        if name in expected:
            path.write_bytes(expected[name].encode("utf-8"))
        else:
            path.unlink()
    return touched


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="linux-syscall-tables dir")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where the tables go")
    parser.add_argument("--check", action="store_true", help="exit 1 if the tables are stale")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Generate (or ``--check``) the tables; returns the exit status."""
    args = _parse_args(argv)
    try:
        expected = generate(args.source)
    except GenerateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        return _report_check(stale_files(expected, args.output), args.output)
    touched = write(expected, args.output)
    _print_lines(f"wrote {args.output / name}" for name in touched)
    print(f"{len(expected)} tables in {args.output}, {len(touched)} changed")
    return 0


def _report_check(stale: Sequence[str], output: Path) -> int:
    if not stale:
        return 0
    _print_lines((f"stale: {output / name}" for name in stale), err=True)
    print("run: python scripts/gen_syscall_tables.py", file=sys.stderr)
    return 1


def _print_lines(lines: Iterable[str], *, err: bool = False) -> None:
    for line in lines:
        print(line, file=sys.stderr if err else sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
