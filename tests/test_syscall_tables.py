"""The generated tables: fresh (``--check``), deterministic, and number-by-number equal to two oracles.

Oracles: the ``system-calls`` package (generated from hrw/syscalls-table, headers-based) and libseccomp
(the installed one through pyseccomp, and its newest syscalls.csv from reference/). Every
difference that is real is listed below with its reason; anything else fails.
"""

from __future__ import annotations

import csv
import importlib
import importlib.util
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from seccomp_gen import libseccomp
from seccomp_gen.abi import Abi, all_abis, get_abi
from seccomp_gen.syscalls import load_table, tables_dir

REPO = Path(__file__).resolve().parent.parent
REFERENCE = REPO / "reference"
SOURCE = REFERENCE / "linux-syscall-tables"
KERNEL = "7.1.5"
ABIS = [pytest.param(abi, id=abi.name) for abi in all_abis()]


def _generator() -> ModuleType:
    name = "gen_syscall_tables"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / "gen_syscall_tables.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the class is built
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    return _generator()


@pytest.fixture(scope="module")
def generated(gen: ModuleType) -> dict[str, str]:
    result: dict[str, str] = gen.generate(SOURCE)
    return result


# --- freshness and determinism -------------------------------------------------------------------


def test_check_passes_on_the_committed_tables(gen: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    assert gen.main(["--check"]) == 0
    assert capsys.readouterr().err == ""


def test_generating_twice_gives_the_same_bytes(gen: ModuleType, generated: dict[str, str]) -> None:
    assert gen.generate(SOURCE) == generated


def test_one_file_per_abi(generated: dict[str, str]) -> None:
    assert sorted(generated) == sorted(abi.table_file for abi in all_abis())
    assert sorted(p.name for p in (REPO / "syscall_tables").glob("*.tbl")) == sorted(generated)


@pytest.mark.parametrize(
    ("edit", "stale"),
    [
        pytest.param(lambda d: (d / "x86_64.tbl").write_text("59\texecve\n"), "x86_64.tbl", id="edited"),
        pytest.param(lambda d: (d / "arm.tbl").unlink(), "arm.tbl", id="missing"),
        pytest.param(lambda d: (d / "ia64.tbl").write_text(""), "ia64.tbl", id="extra"),
    ],
)
def test_check_fails_naming_the_stale_file(
    gen: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: Any, stale: str
) -> None:
    out = tmp_path / "tables"
    assert gen.main(["--output", str(out)]) == 0
    assert gen.main(["--check", "--output", str(out)]) == 0
    edit(out)
    capsys.readouterr()
    assert gen.main(["--check", "--output", str(out)]) == 1
    assert f"stale: {out / stale}" in capsys.readouterr().err.splitlines()


def test_regenerating_repairs_a_stale_copy(gen: ModuleType, tmp_path: Path) -> None:
    out = tmp_path / "tables"
    shutil.copytree(REPO / "syscall_tables", out)
    (out / "aarch64.tbl").write_text("tampered\n")
    assert gen.main(["--output", str(out)]) == 0
    assert (out / "aarch64.tbl").read_bytes() == (REPO / "syscall_tables" / "aarch64.tbl").read_bytes()


def test_missing_source_is_one_line_error(
    gen: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert gen.main(["--check", "--source", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot read ")
    assert str(tmp_path) in err
    assert err.count("\n") == 1


@pytest.mark.parametrize("abi", ABIS)
def test_table_is_stamped_with_kernel_and_source(abi: Abi) -> None:
    table = load_table(abi)
    assert table.kernel == KERNEL
    assert table.sources
    for source in table.sources:
        relative = source.split(" (")[0].removeprefix("linux-syscall-tables/")
        assert (SOURCE / relative).is_file(), source
    text = (tables_dir() / abi.table_file).read_text()
    assert f"# audit_arch: {abi.audit_arch:08x}\n" in text
    rows = [line for line in text.splitlines() if not line.startswith("#")]
    numbers = [int(row.split("\t")[0]) for row in rows]
    assert numbers == sorted(set(numbers)), "rows sorted by number, no duplicates"


def test_x86_64_source_blob_matches_provenance() -> None:
    # PROVENANCE.md lists this git blob id for the kernel's syscall_64.tbl.
    assert "(git blob 524155d655da15478e81117a7b547cf3b172ad82)" in load_table(get_abi("x86_64")).sources[0]


def test_arm_table_equals_arm64_compat_table(gen: ModuleType) -> None:
    """arm64 runs AArch32 tasks with its own copy of the table: it must give the same numbers."""
    compat = gen.parse_tbl((SOURCE / "arch/arm64/tools/syscall_32.tbl").read_text())
    arm = load_table(get_abi("arm")).names
    private = {number: name for number, name in arm.items() if number >= 0x0F0000}
    assert {row.number: row.name for row in compat} == {n: v for n, v in arm.items() if n not in private}
    assert private == {
        0x0F0001: "breakpoint",
        0x0F0002: "cacheflush",
        0x0F0003: "usr26",
        0x0F0004: "usr32",
        0x0F0005: "set_tls",
        0x0F0006: "get_tls",
    }


@pytest.mark.parametrize(
    ("left", "right"),
    [
        pytest.param("mips", "mipsel", id="mips o32"),
        pytest.param("mips64", "mipsel64", id="mips n64"),
        pytest.param("mips64n32", "mipsel64n32", id="mips n32"),
        pytest.param("ppc64", "ppc64le", id="ppc64"),
        pytest.param("arm", "armeb", id="arm"),
        pytest.param("sh", "shel", id="superh"),
        pytest.param("arcv2", "arcompactbe", id="arc"),
    ],
)
def test_endianness_variants_share_numbers(left: str, right: str) -> None:
    assert load_table(get_abi(left)).names == load_table(get_abi(right)).names


# --- oracle 1: the system-calls package ---------------------------------------------------------

# ABI → system-calls' arch name where they differ (it has one table per kernel table, not per
# endianness, and no separate ARC ISAs).
SYSTEM_CALLS_ARCH = {
    "aarch64": "arm64",
    "arcompact": "arc",
    "arcompactbe": "arc",
    "arcv2": "arc",
    "arcv2be": "arc",
    "armeb": "arm",
    "mips": "mipso32",
    "mipsel": "mipso32",
    "mipsel64": "mips64",
    "mipsel64n32": "mips64n32",
    "ppc": "powerpc",
    "ppc64": "powerpc64",
    "ppc64le": "powerpc64",
    "shel": "sh",
}
_USELIB = "hrw/syscalls-table lists uselib as removed; the 7.1.5 table still routes it to sys_uselib"
_SFR2 = "system-calls uses the C header's name (__ARCH_WANT_SYNC_FILE_RANGE2); the .tbl row says otherwise"
_ALPHA = "alpha's unistd.h adds C aliases for its own names; the .tbl row is the kernel's name"
_MIPS_UNUSED = "o32 placeholder row that still has an entry point; hrw omits placeholders"
# (abi, name only we have, name only system-calls has) → reason. Names the kernel's table has but
# implements nowhere (marked unimplemented) are not listed: hrw leaves all of those out.
SYSTEM_CALLS_DIFFERENCES: Mapping[tuple[str, str | None, str | None], str] = {
    **{
        (abi, "uselib", None): _USELIB
        for abi in (
            *("alpha", "arm", "armeb", "i386", "m68k", "microblaze", "mips", "mipsel", "ppc", "ppc64"),
            *("ppc64le", "s390x", "sh", "shel", "sparc", "sparc64", "xtensa"),
        )
    },
    ("arm", "arm_sync_file_range", "sync_file_range2"): _SFR2,
    ("armeb", "arm_sync_file_range", "sync_file_range2"): _SFR2,
    ("csky", "sync_file_range", "sync_file_range2"): _SFR2,
    ("hexagon", "sync_file_range", "sync_file_range2"): _SFR2,
    ("alpha", "getxgid", "getgid"): _ALPHA,
    ("alpha", "getxpid", "getpid"): _ALPHA,
    ("alpha", "getxuid", "getuid"): _ALPHA,
    ("alpha", "shmat", "osf_shmat"): _ALPHA,
    ("alpha", "umount2", "umount"): _ALPHA,
    **{(abi, name, None): _MIPS_UNUSED for abi in ("mips", "mipsel") for name in ("unused59", "unused109")},
}


def _system_calls_table(abi: Abi) -> dict[str, int]:
    arch = SYSTEM_CALLS_ARCH.get(abi.name, abi.name)
    module = importlib.import_module(f"system_calls.tables.{arch}")
    return dict(getattr(module, f"syscalls_{arch}"))


@pytest.mark.parametrize("abi", ABIS)
def test_numbers_agree_with_system_calls(abi: Abi) -> None:
    theirs = _system_calls_table(abi)
    table = load_table(abi)
    ours = table.numbers
    assert {n: (ours[n], theirs[n]) for n in ours.keys() & theirs.keys() if ours[n] != theirs[n]} == {}
    found: set[tuple[str, str | None, str | None]] = set()
    for name in sorted(theirs.keys() - ours.keys()):
        found.add((abi.name, table.names.get(theirs[name]), name))
    for name in sorted(ours.keys() - theirs.keys() - table.unimplemented):
        if not any(key[:2] == (abi.name, name) for key in found):
            found.add((abi.name, name, None))
    unexplained = sorted(key for key in found if key not in SYSTEM_CALLS_DIFFERENCES)
    assert unexplained == [], "(abi, ours, theirs) differences with no reason listed"


def test_system_calls_differences_are_all_still_real() -> None:
    for abi_name, ours, theirs in SYSTEM_CALLS_DIFFERENCES:
        abi = get_abi(abi_name)
        table, other = load_table(abi), _system_calls_table(abi)
        if theirs is None:  # a name only we have
            assert ours in table.numbers
            assert ours not in other
        else:  # system-calls names our number differently (it may list ours as well)
            assert theirs not in table.numbers
            assert table.names[other[theirs]] == ours


# --- oracle 2: libseccomp --------------------------------------------------------------------------

# Syscalls newer than the libseccomp this suite meets (Debian's 2.5.4, tables of Linux 5.x/6.0):
# libseccomp does not know the names at all. A newer libseccomp knows more; that cannot fail here.
NEWER_THAN_LIBSECCOMP = frozenset(
    {
        *("cachestat", "fchmodat2", "file_getattr", "file_setattr", "futex_requeue", "futex_wait"),
        *("futex_waitv", "futex_wake", "getxattrat", "listmount", "listns", "listxattrat"),
        *("lsm_get_self_attr", "lsm_list_modules", "lsm_set_self_attr", "map_shadow_stack", "memfd_secret"),
        *("mseal", "open_tree_attr", "process_mrelease", "removexattrat", "riscv_hwprobe"),
        *("rseq_slice_yield", "set_mempolicy_home_node", "setxattrat", "statmount", "uprobe", "uretprobe"),
    }
)
# Kernel placeholder rows (mips) that libseccomp leaves out of its tables.
PLACEHOLDERS = frozenset(
    {"reserved82", "reserved177", "reserved193", "reserved221"}
    | {f"unused{n}" for n in (18, 28, 59, 84, 109, 150)}
)


def _libseccomp_abis() -> list[Any]:
    return [pytest.param(abi, id=abi.name) for abi in all_abis() if libseccomp.supports(abi)]


# ABIs libseccomp has no architecture for (neither the installed one nor syscalls.csv at v7.1.0-rc4):
# no libseccomp comparison exists for them; the system-calls package above is their oracle.
_NO_ARCH = "libseccomp has no such architecture"
NO_LIBSECCOMP: Mapping[str, str] = {
    **dict.fromkeys(("alpha", "csky", "hexagon", "microblaze", "nios2", "openrisc", "xtensa"), _NO_ARCH),
    **dict.fromkeys(("arcompact", "arcompactbe", "arcv2", "arcv2be"), _NO_ARCH + " (ARC)"),
    "armeb": "libseccomp has little-endian arm only; armeb's numbers equal arm's (test above)",
    "loongarch32": "libseccomp has loongarch64 only",
    "riscv32": "libseccomp has riscv64 only",
    **dict.fromkeys(("sparc", "sparc64"), _NO_ARCH + " (sparc)"),
}
# libseccomp architectures newer than some libseccomp the suite may meet (Debian 12 ships 2.5.4): the
# installed library is compared only when it is at least this version; syscalls.csv always is.
LIBSECCOMP_SINCE: Mapping[str, tuple[int, int, int]] = {
    "riscv64": (2, 5, 0),
    "loongarch64": (2, 6, 0),
    "m68k": (2, 6, 0),
    "sh": (2, 6, 0),
    "shel": (2, 6, 0),
}
# Compared with syscalls.csv through their endianness twin (same numbers: see
# test_endianness_variants_share_numbers).
CSV_BY_TWIN = {
    "mipsel": "mips",
    "mipsel64": "mips64",
    "mipsel64n32": "mips64n32",
    "ppc64le": "ppc64",
    "shel": "sh",
}


def test_abis_without_libseccomp_are_listed_with_a_reason() -> None:
    assert {abi.name for abi in all_abis() if abi.libseccomp is None} == NO_LIBSECCOMP.keys()
    columns = set(_csv_header())
    for name in NO_LIBSECCOMP:
        assert not libseccomp.supports(get_abi(name)), name
        assert name not in columns, name


def test_installed_libseccomp_supports_exactly_its_abis() -> None:
    installed = libseccomp.version()
    assert installed is not None
    for abi in all_abis():
        if abi.libseccomp is not None:
            expected = installed >= LIBSECCOMP_SINCE.get(abi.name, (2, 4, 0))
            assert libseccomp.supports(abi) == expected, (abi.name, installed)


def test_every_libseccomp_abi_is_compared_with_syscalls_csv() -> None:
    compared = {abi_name for abi_name, _ in CSV_COLUMNS.values()}
    assert set(CSV_BY_TWIN.values()) <= compared
    assert {abi.name for abi in all_abis() if abi.libseccomp is not None} == compared | CSV_BY_TWIN.keys()


@pytest.mark.parametrize("abi", _libseccomp_abis())
def test_numbers_agree_with_installed_libseccomp(abi: Abi) -> None:
    table = load_table(abi)
    unknown = []
    for name, number in table.numbers.items():
        theirs = libseccomp.libseccomp_number(abi, name)
        if theirs is not None:
            assert theirs == number, name
        elif not libseccomp.libseccomp_knows(abi, name):
            unknown.append(name)
    assert sorted(set(unknown) - NEWER_THAN_LIBSECCOMP - PLACEHOLDERS - table.unimplemented) == []
    for number, name in table.names.items():
        theirs_name = libseccomp.libseccomp_name(abi, number)
        assert theirs_name in (None, name), number


# libseccomp's newest table (syscalls.csv at v7.1.0-rc4): its column → our ABI and the offset its
# numbers lack (it stores mips numbers without 4000/5000/6000 and x32 without the x32 bit).
CSV_COLUMNS = {
    "x86": ("i386", 0),
    "x86_64": ("x86_64", 0),
    "x32": ("x32", 0x40000000),
    "arm": ("arm", 0),
    "aarch64": ("aarch64", 0),
    "loongarch64": ("loongarch64", 0),
    "m68k": ("m68k", 0),
    "mips": ("mips", 4000),
    "mips64": ("mips64", 5000),
    "mips64n32": ("mips64n32", 6000),
    "parisc": ("parisc", 0),
    "parisc64": ("parisc64", 0),
    "ppc": ("ppc", 0),
    "ppc64": ("ppc64", 0),
    "riscv64": ("riscv64", 0),
    "s390x": ("s390x", 0),
    "sh": ("sh", 0),
}
CSV_DIFFERENCES = {
    ("loongarch64", "memfd_secret"): "loongarch gained memfd_secret after libseccomp's v7.1.0-rc4 update",
    **{(abi, name): "placeholder row" for abi in ("mips", "mips64", "mips64n32") for name in PLACEHOLDERS},
}


def _csv_header() -> list[str]:
    with (REFERENCE / "libseccomp" / "src" / "syscalls.csv").open(newline="") as handle:
        return next(csv.reader(handle))


def _csv_numbers(column: str, offset: int) -> dict[str, int]:
    with (REFERENCE / "libseccomp" / "src" / "syscalls.csv").open(newline="") as handle:
        rows = list(csv.reader(handle))
    index = rows[0].index(column)
    return {row[0]: int(row[index]) + offset for row in rows[1:] if row[index] != "PNR"}


@pytest.mark.parametrize(("column", "target"), [pytest.param(c, t, id=c) for c, t in CSV_COLUMNS.items()])
def test_numbers_agree_with_libseccomp_csv(column: str, target: tuple[str, int]) -> None:
    abi_name, offset = target
    theirs = _csv_numbers(column, offset)
    ours = load_table(get_abi(abi_name)).numbers
    assert {n: (ours[n], theirs[n]) for n in ours.keys() & theirs.keys() if ours[n] != theirs[n]} == {}
    assert sorted(theirs.keys() - ours.keys()) == []
    assert sorted(n for n in ours.keys() - theirs.keys() if (abi_name, n) not in CSV_DIFFERENCES) == []
