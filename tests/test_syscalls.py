"""Number ↔ name lookups, audit-userspace aliases, the table loader, libseccomp and the CLI command."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from seccomp_gen import libseccomp, syscalls
from seccomp_gen.abi import all_abis, get_abi
from seccomp_gen.cli import main
from seccomp_gen.errors import UnknownSyscallError
from seccomp_gen.syscalls import (
    AUDIT_ALIASES,
    FALLBACK_ALIASES,
    canonical_name,
    is_implemented,
    load_table,
    lookup_name,
    names_of,
    numbers_of,
    syscall_name,
    syscall_number,
    syscall_table,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - 3.10
    tomllib = None

REPO = Path(__file__).resolve().parent.parent

# execve's number on each ABI family, as a record prints it (facts from the kernel's tables).
EXECVE = [
    pytest.param("x86_64", 59, id="x86_64"),
    pytest.param("x32", 0x40000000 | 520, id="x32 uses its own compat execve row 520"),
    pytest.param("i386", 11, id="i386"),
    pytest.param("aarch64", 221, id="aarch64 generic table"),
    pytest.param("riscv64", 221, id="riscv64"),
    pytest.param("arm", 11, id="arm eabi"),
    pytest.param("mips", 4011, id="mips o32 offset"),
    pytest.param("mipsel64", 5057, id="mips n64 offset"),
    pytest.param("mips64n32", 6057, id="mips n32 offset"),
    pytest.param("ppc64le", 11, id="ppc64le"),
    pytest.param("s390x", 11, id="s390x"),
    pytest.param("alpha", 59, id="alpha"),
    pytest.param("sparc64", 59, id="sparc64"),
]


@pytest.mark.parametrize(("abi", "number"), EXECVE)
def test_number_to_name(abi: str, number: int) -> None:
    assert syscall_name(get_abi(abi), number) == "execve"
    assert lookup_name(get_abi(abi), number) == "execve"


@pytest.mark.parametrize(("abi", "number"), EXECVE)
def test_name_to_number(abi: str, number: int) -> None:
    assert syscall_number(get_abi(abi), "execve") == number


@pytest.mark.parametrize(
    ("abi", "number", "name"),
    [
        pytest.param("arm", 983045, "set_tls", id="arm private set_tls"),
        pytest.param("arm", 0x0F0002, "cacheflush", id="arm private cacheflush"),
        pytest.param("x86_64", 184, "tuxcall", id="unimplemented kept"),
        pytest.param("x86_64", 471, "rseq_slice_yield", id="newest in 7.1.5"),
        pytest.param("x32", 0x40000000 | 0, "read", id="x32 keeps the bit"),
        pytest.param("i386", 102, "socketcall", id="multiplexer"),
        pytest.param("aarch64", 79, "newfstatat", id="generic 64-bit row"),
        pytest.param("riscv32", 62, "llseek", id="generic 32-bit row"),
        pytest.param("riscv64", 258, "riscv_hwprobe", id="riscv private row"),
        pytest.param("arcv2", 244, "cacheflush", id="arc private row"),
        pytest.param("alpha", 20, "getxpid", id="alpha's own name"),
    ],
)
def test_known_numbers(abi: str, number: int, name: str) -> None:
    assert syscall_table(get_abi(abi))[number] == name


@pytest.mark.parametrize(
    ("abi", "number"),
    [
        pytest.param("x86_64", 999, id="past the end"),
        pytest.param("x86_64", 0x40000000, id="x32 number on x86_64"),
        pytest.param("x32", 0, id="x32 without its bit"),
        pytest.param("mips", 11, id="mips without offset"),
        pytest.param("arm", 0x0F0007, id="past the arm private calls"),
        pytest.param("i386", -1, id="negative"),
    ],
)
def test_unknown_number(abi: str, number: int) -> None:
    with pytest.raises(UnknownSyscallError, match=rf"no syscall number {number} on ABI '{abi}'"):
        syscall_name(get_abi(abi), number)
    assert lookup_name(get_abi(abi), number) is None


def test_unknown_name_quotes_it() -> None:
    with pytest.raises(UnknownSyscallError, match="no syscall named 'frobnicate' on ABI 'aarch64'"):
        syscall_number(get_abi("aarch64"), "frobnicate")
    with pytest.raises(UnknownSyscallError, match="'open'"):
        syscall_number(get_abi("aarch64"), "open")


@pytest.mark.parametrize("abi", [pytest.param(a, id=a.name) for a in all_abis()])
def test_round_trip(abi: object) -> None:
    assert isinstance(abi, type(get_abi("x86_64")))
    table = load_table(abi)
    assert len(table.names) == len(table.numbers) > 250
    for number, name in table.names.items():
        assert syscall_number(abi, name) == number


# --- audit-userspace aliases -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("abi", "alias", "number"),
    [
        pytest.param("x86_64", "pread", 17, id="x86_64 pread"),
        pytest.param("x86_64", "pwrite", 18, id="x86_64 pwrite"),
        pytest.param("aarch64", "pread", 67, id="aarch64 pread"),
        pytest.param("s390x", "pwrite", 181, id="s390x pwrite"),
        pytest.param("aarch64", "newfstat", 80, id="aarch64 newfstat"),
        pytest.param("i386", "madvise1", 219, id="i386 madvise1"),
        pytest.param("i386", "sys_kexec_load", 283, id="i386 sys_kexec_load"),
        pytest.param("ppc", "perf_counter_open", 319, id="ppc perf_counter_open"),
        pytest.param("arm", "newselect", 142, id="arm newselect"),
        pytest.param("arm", "sysctl", 149, id="arm sysctl"),
        pytest.param("x86_64", "timerfd", 283, id="x86_64 timerfd is timerfd_create"),
        pytest.param("s390x", "timerfd", 317, id="s390x has a timerfd of its own"),
        pytest.param("arm", "llseek", 140, id="arm llseek is _llseek"),
        pytest.param("riscv32", "llseek", 62, id="generic llseek is itself"),
        pytest.param("arm", "sync_file_range", 341, id="arm sync_file_range"),
        pytest.param("arm", "fadvise64_64", 270, id="arm fadvise64_64"),
        pytest.param("i386", "fadvise64_64", 272, id="i386 fadvise64_64 is itself"),
    ],
)
def test_audit_userspace_spellings(abi: str, alias: str, number: int) -> None:
    assert syscall_number(get_abi(abi), alias) == number


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("pread", "pread64", id="alias"),
        pytest.param("pread64", "pread64", id="kernel name unchanged"),
        pytest.param("timerfd", "timerfd", id="abi-dependent alias needs the abi"),
        pytest.param("openat", "openat", id="noop"),
    ],
)
def test_canonical_name(name: str, expected: str) -> None:
    assert canonical_name(name) == expected


def test_canonical_name_with_abi() -> None:
    assert canonical_name("timerfd", get_abi("x86_64")) == "timerfd_create"
    assert canonical_name("timerfd", get_abi("mips")) == "timerfd"
    assert canonical_name("pread", get_abi("arm")) == "pread64"


def test_global_aliases_hide_no_kernel_name() -> None:
    every_name = {name for abi in all_abis() for name in load_table(abi).numbers}
    assert sorted(set(AUDIT_ALIASES) & every_name) == []
    assert set(AUDIT_ALIASES.values()) <= every_name
    assert set(FALLBACK_ALIASES.values()) <= every_name


def test_kernel_spelling_is_libseccomp_spelling() -> None:
    """The targets of the aliases are names libseccomp knows (where it has the ABI)."""
    for alias, target in AUDIT_ALIASES.items():
        abi = next(a for a in all_abis() if libseccomp.supports(a) and target in load_table(a).numbers)
        assert libseccomp.libseccomp_knows(abi, target), (alias, target)


def test_is_implemented() -> None:
    x86_64 = get_abi("x86_64")
    assert is_implemented(x86_64, "read")
    assert is_implemented(x86_64, "pread")
    assert not is_implemented(x86_64, "tuxcall")
    assert not is_implemented(x86_64, "frobnicate")
    assert "afs_syscall" in load_table(x86_64).unimplemented


def test_numbers_and_names_across_abis() -> None:
    openat = numbers_of("openat")
    assert openat["x86_64"] == 257
    assert openat["aarch64"] == 56
    assert openat["mips"] == 4288
    assert "open" not in load_table(get_abi("aarch64")).numbers
    assert "aarch64" not in numbers_of("open")
    assert names_of(59)["x86_64"] == "execve"
    assert names_of(59)["i386"] == "oldolduname"


# --- the loader ------------------------------------------------------------------------------------


@pytest.fixture
def fresh_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty table cache for one test (monkeypatch puts the real one back)."""
    monkeypatch.setattr(syscalls, "_CACHE", {})


def test_tables_come_from_the_source_tree_in_an_editable_install() -> None:
    assert syscalls.tables_dir() == REPO / "syscall_tables"


def test_package_copy_wins_as_in_a_wheel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_cache: None
) -> None:
    packaged = tmp_path / "seccomp_gen" / "syscall_tables"
    shutil.copytree(REPO / "syscall_tables", packaged)
    text = (packaged / "x86_64.tbl").read_text().replace("59\texecve\n", "59\texecve_from_wheel\n")
    (packaged / "x86_64.tbl").write_text(text)
    monkeypatch.setattr(syscalls, "_PACKAGE_TABLES", packaged)
    assert syscalls.tables_dir() == packaged
    assert syscall_name(get_abi("x86_64"), 59) == "execve_from_wheel"


def test_wheel_layout_matches_the_loader() -> None:
    """pyproject force-includes syscall_tables where the loader looks first."""
    if tomllib is None:
        pytest.skip("tomllib needs Python 3.11")
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    include = config["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert include["syscall_tables"] == "seccomp_gen/syscall_tables"
    package_dir = Path(syscalls.__file__).resolve().parent
    assert package_dir / "syscall_tables" == syscalls._PACKAGE_TABLES


def test_each_table_is_read_once(monkeypatch: pytest.MonkeyPatch, fresh_cache: None) -> None:
    reads: list[str] = []
    real = syscalls._parse

    def counting(abi: object, text: str) -> object:
        reads.append(getattr(abi, "name", ""))
        return real(abi, text)  # type: ignore[arg-type]

    monkeypatch.setattr(syscalls, "_parse", counting)
    for _ in range(3):
        syscall_name(get_abi("x86_64"), 0)
        syscall_number(get_abi("aarch64"), "read")
    assert reads == ["x86_64", "aarch64"]


# --- the installed libseccomp ------------------------------------------------------------------


def test_libseccomp_version() -> None:
    version = libseccomp.version()
    assert version is not None
    assert len(version) == 3
    assert version >= (2, 4, 0)


@pytest.mark.parametrize(
    ("abi", "name", "expected"),
    [
        pytest.param("x86_64", "read", 0, id="x86_64 read"),
        pytest.param("x32", "read", 0x40000000, id="x32 with its bit"),
        pytest.param("mips", "read", 4003, id="mips with its offset"),
        pytest.param("arm", "set_tls", 983045, id="arm private"),
        pytest.param("x86_64", "frobnicate", None, id="unknown name"),
        pytest.param("x86_64", "socketcall", None, id="not on this abi"),
        pytest.param("sparc64", "read", None, id="abi libseccomp lacks"),
    ],
)
def test_libseccomp_number(abi: str, name: str, expected: int | None) -> None:
    assert libseccomp.libseccomp_number(get_abi(abi), name) == expected


def test_libseccomp_knows() -> None:
    assert libseccomp.libseccomp_knows(get_abi("x86_64"), "openat")
    assert not libseccomp.libseccomp_knows(get_abi("x86_64"), "frobnicate")
    assert not libseccomp.libseccomp_knows(get_abi("xtensa"), "read")
    assert libseccomp.libseccomp_name(get_abi("aarch64"), 56) == "openat"
    assert libseccomp.libseccomp_name(get_abi("aarch64"), 100_000) is None


# --- the CLI ---------------------------------------------------------------------------------------


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["syscalls", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    ("args", "out"),
    [
        pytest.param(["59", "--arch", "x86_64"], "execve\n", id="number to name"),
        pytest.param(["0x3b", "--arch", "amd64"], "execve\n", id="hex number, alias"),
        pytest.param(["execve", "--arch", "SCMP_ARCH_X86_64"], "59\n", id="name to number"),
        pytest.param(["pread", "-a", "c000003e"], "17\n", id="audit alias, audit arch"),
        pytest.param(["983045", "--arch", "arm"], "set_tls\n", id="arm private"),
        pytest.param(["read", "--arch", "x32"], "1073741824\n", id="x32 number as printed"),
        pytest.param(["0X3B", "--arch", "x86_64"], "execve\n", id="hex upper case"),
        pytest.param(["059", "--arch", "x86_64"], "execve\n", id="decimal with a leading zero"),
        pytest.param([" 59 ", "--arch", "x86_64"], "execve\n", id="blanks around"),
    ],
)
def test_cli_lookup(args: list[str], out: str, capsys: pytest.CaptureFixture[str]) -> None:
    said = "note: pread is audit-userspace's spelling of pread64\n" if args[0] == "pread" else ""
    assert _run(args, capsys) == (0, out, said)


def test_cli_name_on_every_abi(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["openat"], capsys)
    assert code == 0
    rows = [line.split() for line in out.splitlines()]
    assert rows[0] == ["ABI", "NUMBER"]
    assert ["x86_64", "257"] in rows
    assert ["aarch64", "56"] in rows
    assert ["mipsel64n32", "6251"] in rows
    assert len(rows) == 1 + len(all_abis())


def test_cli_alias_shows_which_name_it_stands_for(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["timerfd"], capsys)
    assert code == 0
    rows = [line.split() for line in out.splitlines()]
    assert rows[0] == ["ABI", "NUMBER", "NAME"]
    assert ["x86_64", "283", "timerfd_create"] in rows
    assert ["s390x", "317", "timerfd"] in rows
    _, out, _ = _run(["pread"], capsys)
    assert out.splitlines()[0].split() == ["ABI", "NUMBER"], "one name everywhere: no NAME column"


def test_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["openat", "--json"], capsys)
    assert code == 0
    doc = json.loads(out)
    assert doc["name"] == "openat"
    assert doc["numbers"]["arm"] == 322
    code, out, _ = _run(["59", "-a", "x86_64", "--json"], capsys)
    assert json.loads(out) == {"abi": "x86_64", "number": 59, "name": "execve"}


def test_cli_list(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["--arch", "aarch64", "--list"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "0\tio_setup"
    assert "18\tlookup_dcookie\tunimplemented" in lines
    assert len(lines) == len(load_table(get_abi("aarch64")).names)
    code, out, _ = _run(["--arch", "arm64", "--list", "--json"], capsys)
    doc = json.loads(out)
    assert doc["kernel"] == "7.1.5"
    assert doc["syscalls"][0] == {"number": 0, "name": "io_setup", "implemented": True}


def test_cli_abis(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["--abis", "--json"], capsys)
    assert code == 0
    doc = json.loads(out)
    assert [row["name"] for row in doc] == [abi.name for abi in all_abis()]
    assert {"name": "x86_64", "audit_arch": "c000003e", "libseccomp": "SCMP_ARCH_X86_64"}.items() <= doc[
        -2
    ].items()
    code, out, _ = _run(["--abis"], capsys)
    assert out.splitlines()[0].split() == ["ABI", "ARCH", "LIBSECCOMP", "BITS", "ALIASES"]


@pytest.mark.parametrize(
    ("args", "quoted"),
    [
        pytest.param(["59", "--arch", "x87_64"], "'x87_64'", id="bad abi"),
        pytest.param(["999", "--arch", "x86_64"], "999", id="bad number"),
        pytest.param(["frobnicate"], "'frobnicate'", id="bad name everywhere"),
        pytest.param(["open", "-a", "aarch64"], "'open'", id="name the abi lacks"),
        pytest.param(["4294967295"], "'4294967295'", id="number no abi has"),
        pytest.param(["--list"], "--list needs --arch", id="list without arch"),
        pytest.param([], "give a syscall number or name", id="nothing asked"),
        pytest.param(["--json"], "give a syscall number or name", id="only --json"),
        # Python's other integer spellings are no syscall numbers: read as names, found nowhere
        pytest.param(["1_0", "-a", "x86_64"], "'1_0'", id="underscore is no number"),
        pytest.param(["0b11", "-a", "x86_64"], "'0b11'", id="binary is no number"),
        pytest.param(["0o7", "-a", "x86_64"], "'0o7'", id="octal is no number"),
        pytest.param(
            ["\u0665\u0669", "-a", "x86_64"], "'\u0665\u0669'", id="arabic-indic digits are no number"
        ),
        pytest.param(["0x", "-a", "x86_64"], "'0x'", id="bare 0x"),
        pytest.param(["a\nb"], "'a\\nb'", id="newline stays inside the quoted name"),
        # a request that would silently drop part of itself
        pytest.param(
            ["openat", "--list", "-a", "x86_64"], "give it no syscall (got 'openat')", id="list and name"
        ),
        pytest.param(["--abis", "-a", "x86_64"], "--abis lists every ABI", id="abis and arch"),
        pytest.param(["59", "--abis"], "--abis lists every ABI", id="abis and number"),
        pytest.param(["--list", "-a", "ia64"], "AUDIT_ARCH_IA64", id="list of a retired abi"),
        # usage errors: Click's own, made one line by the CLI
        pytest.param(["59", "60"], "unexpected extra argument", id="two syscalls"),
        pytest.param(["59", "--arch"], "'--arch' requires an argument", id="arch without a value"),
        pytest.param(["--bogus"], "No such option: --bogus", id="unknown option"),
        pytest.param(["-1", "-a", "x86_64"], "No such option: -1", id="negative number reads as an option"),
    ],
)
def test_cli_errors_are_one_line_exit_2(
    args: list[str], quoted: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(args, capsys)
    assert (code, out) == (2, "")
    assert err.startswith("error: ")
    assert quoted in err
    assert err.count("\n") == 1
