"""CLI commands: syscalls (issue 2)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

import typer

from seccomp_gen.abi import Abi, all_abis, get_abi
from seccomp_gen.errors import SeccompGenError, UnknownSyscallError
from seccomp_gen.syscalls import (
    canonical_name,
    load_table,
    names_of,
    numbers_of,
    syscall_name,
    syscall_number,
)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("syscalls")(syscalls)


def syscalls(
    query: Annotated[
        str | None,
        typer.Argument(help="A syscall number (59, 0x3b) or name (openat, pread).", show_default=False),
    ] = None,
    arch: Annotated[
        str | None,
        typer.Option(
            "--arch",
            "-a",
            help="ABI: x86_64, amd64, arm64, SCMP_ARCH_X86_64, c000003e, ... (default: every ABI).",
            show_default=False,
        ),
    ] = None,
    list_table: Annotated[bool, typer.Option("--list", help="Print the whole table of --arch.")] = False,
    abis: Annotated[bool, typer.Option("--abis", help="List the known ABIs and their spellings.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> int:
    """Look syscalls up in the per-ABI tables (Linux 7.1.5): number to name, name to number.

    Examples:

        seccomp-gen syscalls 59 --arch x86_64        # execve

        seccomp-gen syscalls openat                   # its number on every ABI

        seccomp-gen syscalls --arch aarch64 --list    # the whole aarch64 table

        seccomp-gen syscalls --abis --json            # the ABI registry
    """
    _check_combination(query, arch, list_table=list_table, abis=abis)
    abi = None if arch is None else get_abi(arch)
    if abis:
        _emit(_abis_doc(), _abis_text(), as_json=as_json)
    elif list_table:
        if abi is None:
            raise SeccompGenError("--list needs --arch (e.g. seccomp-gen syscalls --arch x86_64 --list)")
        _emit(_table_doc(abi), _table_text(abi), as_json=as_json)
    elif query is None:
        raise SeccompGenError("give a syscall number or name, --list with --arch, or --abis")
    else:
        query = query.strip()
        _emit(*_lookup(query, abi), as_json=as_json)
        if _parse_number(query) is None and canonical_name(query) != query:
            typer.echo(f"note: {query} is audit-userspace's spelling of {canonical_name(query)}", err=True)
    return 0


def _check_combination(query: str | None, arch: str | None, *, list_table: bool, abis: bool) -> None:
    """Refuse a request that would silently drop part of itself (``openat --list`` printed a table)."""
    if abis and (query is not None or arch is not None or list_table):
        raise SeccompGenError("--abis lists every ABI: give it no syscall, --arch or --list")
    if list_table and query is not None:
        raise SeccompGenError(f"--list prints the whole table of --arch: give it no syscall (got {query!r})")


def _emit(doc: Any, text: Sequence[str], *, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(doc, indent=2))
    else:
        for line in text:
            typer.echo(line)


_NUMBER = re.compile(r"[0-9]+|0[xX][0-9a-fA-F]+")


def _parse_number(query: str) -> int | None:
    """``59`` and ``0x3b`` are numbers (as records and the kernel's headers write them); anything else
    is a name. Python's other integer forms (``1_0``, ``0o7``, ``0b11``, non-ASCII digits) are not."""
    if _NUMBER.fullmatch(query) is None:
        return None
    return int(query, 0 if query[:2].lower() == "0x" else 10)


def _lookup(query: str, abi: Abi | None) -> tuple[Any, list[str]]:
    number = _parse_number(query)
    if abi is not None and number is not None:
        name = syscall_name(abi, number)
        return {"abi": abi.name, "number": number, "name": name}, [name]
    if abi is not None:
        number = syscall_number(abi, query)
        return {"abi": abi.name, "number": number, "name": canonical_name(query)}, [str(number)]
    if number is not None:
        names = names_of(number)
        if not names:
            raise UnknownSyscallError(f"no ABI has a syscall number {query!r}")
        return {"number": number, "names": names}, _columns(("ABI", "NAME"), names)
    numbers = numbers_of(query)
    if not numbers:
        raise UnknownSyscallError(f"no ABI has a syscall named {query!r}")
    doc: dict[str, Any] = {"name": canonical_name(query), "numbers": numbers}
    rows = {abi: str(number) for abi, number in numbers.items()}
    # An audit-userspace spelling can stand for different kernel names per ABI (timerfd): say which.
    names = {abi: canonical_name(query, get_abi(abi)) for abi in numbers}
    if len(set(names.values())) <= 1:
        return doc, _columns(("ABI", "NUMBER"), rows)
    doc["names"] = names
    width = max(len("NUMBER"), *(len(number) for number in rows.values()))
    rows = {abi: f"{number:<{width}}  {names[abi]}" for abi, number in rows.items()}
    return doc, _columns(("ABI", f"{'NUMBER':<{width}}  NAME"), rows)


def _columns(header: tuple[str, str], rows: Mapping[str, str]) -> list[str]:
    width = max(len(header[0]), *(len(key) for key in rows))
    return [f"{header[0]:<{width}}  {header[1]}"] + [
        f"{key:<{width}}  {value}" for key, value in rows.items()
    ]


def _table_doc(abi: Abi) -> dict[str, Any]:
    table = load_table(abi)
    rows = [
        {"number": number, "name": name, "implemented": name not in table.unimplemented}
        for number, name in sorted(table.names.items())
    ]
    return {"abi": abi.name, "audit_arch": abi.audit_arch_hex, "kernel": table.kernel, "syscalls": rows}


def _table_text(abi: Abi) -> list[str]:
    table = load_table(abi)
    return [
        f"{number}\t{name}" + ("\tunimplemented" if name in table.unimplemented else "")
        for number, name in sorted(table.names.items())
    ]


def _abis_doc() -> list[dict[str, Any]]:
    return [
        {
            "name": abi.name,
            "audit_arch": abi.audit_arch_hex,
            "audit_arch_name": abi.audit_arch_name,
            "libseccomp": abi.libseccomp,
            "bits": abi.bits,
            "aliases": list(abi.aliases),
        }
        for abi in all_abis()
    ]


def _abis_text() -> list[str]:
    rows = [
        (abi.name, abi.audit_arch_hex, abi.libseccomp or "-", str(abi.bits), " ".join(abi.aliases))
        for abi in all_abis()
    ]
    header = ("ABI", "ARCH", "LIBSECCOMP", "BITS", "ALIASES")
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in (header, *rows)
    ]
