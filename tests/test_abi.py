"""The ABI registry: every AUDIT_ARCH of audit.h is covered, spellings resolve, records resolve."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from seccomp_gen.abi import UNSUPPORTED, X32_SYSCALL_BIT, Abi, all_abis, find_abi, get_abi, resolve
from seccomp_gen.errors import UnknownAbiError

REPO = Path(__file__).resolve().parent.parent
CONSTANTS = REPO / "reference" / "linux-syscall-tables" / "constants.json"


def _audit_arches() -> dict[str, int]:
    constants = json.loads(CONSTANTS.read_text())
    section = next(value for key, value in constants.items() if key.startswith("AUDIT_ARCH"))
    return {name: int(value, 16) for name, value in section.items()}


AUDIT_ARCHES = _audit_arches()


@pytest.mark.parametrize(("const", "value"), [pytest.param(c, v, id=c) for c, v in AUDIT_ARCHES.items()])
def test_every_audit_arch_maps_to_an_abi_or_is_unsupported_with_a_reason(const: str, value: int) -> None:
    supported = [abi for abi in all_abis() if abi.audit_arch_name == const]
    unsupported = [u for u in UNSUPPORTED if u.audit_arch_name == const]
    assert bool(supported) != bool(unsupported), "exactly one of the two"
    for abi in supported:
        assert abi.audit_arch == value
        assert find_abi(value) is not None
    for entry in unsupported:
        assert entry.audit_arch == value
        assert entry.reason
        assert find_abi(value) is None


def test_registry_lists_nothing_audit_h_does_not_have() -> None:
    assert {abi.audit_arch_name for abi in all_abis()} <= AUDIT_ARCHES.keys()
    assert {u.audit_arch_name for u in UNSUPPORTED} <= AUDIT_ARCHES.keys()


def test_all_abis_sorted_and_unique() -> None:
    names = [abi.name for abi in all_abis()]
    assert names == sorted(set(names))


def test_only_x32_shares_an_audit_arch() -> None:
    by_value: dict[int, list[str]] = {}
    for abi in all_abis():
        by_value.setdefault(abi.audit_arch, []).append(abi.name)
    assert {tuple(names) for names in by_value.values() if len(names) > 1} == {("x32", "x86_64")}


def test_no_spelling_names_two_abis() -> None:
    seen: dict[str, str] = {}
    for abi in all_abis():
        for spelling in (abi.name, *abi.aliases, abi.libseccomp or abi.name):
            key = spelling.lower().replace("-", "_")
            assert seen.setdefault(key, abi.name) == abi.name, spelling


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        pytest.param("x86_64", "x86_64", id="canonical"),
        pytest.param("amd64", "x86_64", id="debian name"),
        pytest.param("x86-64", "x86_64", id="dash"),
        pytest.param("X64", "x86_64", id="case"),
        pytest.param("SCMP_ARCH_X86_64", "x86_64", id="libseccomp"),
        pytest.param("scmp_arch_x32", "x32", id="libseccomp x32 lower case"),
        pytest.param("c000003e", "x86_64", id="audit arch is the native abi, not x32"),
        pytest.param("0xC000003E", "x86_64", id="audit arch 0x upper"),
        pytest.param("AUDIT_ARCH_AARCH64", "aarch64", id="audit constant"),
        pytest.param("arm64", "aarch64", id="arm64"),
        pytest.param("armhf", "arm", id="armhf"),
        pytest.param("armv7l", "arm", id="uname armv7l"),
        pytest.param("40000028", "arm", id="arm audit arch"),
        pytest.param("28", "armeb", id="leading zeros dropped"),
        pytest.param("i686", "i386", id="i686"),
        pytest.param("SCMP_ARCH_X86", "i386", id="libseccomp x86 is i386"),
        pytest.param("ppc64el", "ppc64le", id="debian ppc64el"),
        pytest.param("mips64el", "mipsel64", id="debian mips64el"),
        pytest.param("mipsn32el", "mipsel64n32", id="n32 little endian"),
        pytest.param("SCMP_ARCH_MIPSEL64N32", "mipsel64n32", id="libseccomp mips n32"),
        pytest.param("a0000008", "mips64n32", id="n32 audit arch"),
        pytest.param("loong64", "loongarch64", id="debian loong64"),
        pytest.param("riscv64", "riscv64", id="riscv64"),
        pytest.param("SCMP_ARCH_SH", "shel", id="libseccomp sh is little endian"),
        pytest.param("SCMP_ARCH_SHEB", "sh", id="libseccomp sheb is the kernel's sh"),
        pytest.param("hppa", "parisc", id="hppa"),
        pytest.param("or1k", "openrisc", id="or1k"),
        pytest.param(" s390x ", "s390x", id="surrounding blanks"),
    ],
)
def test_get_abi_accepts_what_users_type(spelling: str, expected: str) -> None:
    assert get_abi(spelling).name == expected


@pytest.mark.parametrize(
    ("spelling", "quoted", "hint"),
    [
        pytest.param("x87_64", "'x87_64'", "did you mean", id="typo gets suggestions"),
        pytest.param("ia64", "'ia64'", "was removed from Linux", id="retired arch gets the reason"),
        pytest.param("c0000032", "'c0000032'", "AUDIT_ARCH_IA64", id="retired audit arch value"),
        pytest.param("AUDIT_ARCH_S390", "'AUDIT_ARCH_S390'", "31-bit", id="s390 compat gone"),
        pytest.param("deadbeef", "'deadbeef'", "unknown ABI", id="hex nobody uses"),
        pytest.param("", "''", "unknown ABI", id="empty"),
    ],
)
def test_get_abi_rejects_quoting_the_spelling(spelling: str, quoted: str, hint: str) -> None:
    with pytest.raises(UnknownAbiError) as info:
        get_abi(spelling)
    message = str(info.value)
    assert quoted in message
    assert hint in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("arch", "number", "expected"),
    [
        pytest.param(0xC000003E, 59, "x86_64", id="x86_64"),
        pytest.param(0xC000003E, X32_SYSCALL_BIT | 59, "x32", id="x32 bit"),
        pytest.param(0x40000003, 11, "i386", id="i386 compat task"),
        pytest.param(0x40000028, 0x0F0005, "arm", id="arm private call"),
        pytest.param(0xC00000B7, 221, "aarch64", id="aarch64"),
        pytest.param(0x40000008, 4011, "mipsel", id="mipsel o32"),
        pytest.param(0xE0000008, 6057, "mipsel64n32", id="mips n32"),
        pytest.param(0x400000C3, 221, "arcv2", id="arc hs"),
        pytest.param(0xC0000102, 221, "loongarch64", id="loongarch64"),
        pytest.param(0x40000102, 221, "loongarch32", id="loongarch32"),
    ],
)
def test_resolve(arch: int, number: int, expected: str) -> None:
    abi = resolve(arch, number)
    assert abi is not None
    assert abi.name == expected


@pytest.mark.parametrize(
    ("arch", "number"),
    [
        pytest.param(None, 59, id="old kernel without arch="),
        pytest.param(0xC0000032, 1024, id="retired ia64"),
        pytest.param(0xDEADBEEF, 1, id="garbage"),
        pytest.param(0x4000003E, 0, id="libseccomp's x32 token is no audit arch"),
    ],
)
def test_resolve_unknown_is_none(arch: int | None, number: int) -> None:
    assert resolve(arch, number) is None


def test_x32_bit_only_selects_x32_on_x86_64() -> None:
    assert resolve(0xC00000B7, X32_SYSCALL_BIT | 1) == get_abi("aarch64")


def test_libseccomp_tokens_match_pyseccomp() -> None:
    """Our token for each SCMP_ARCH_* name equals pyseccomp's own constant of that name."""
    import pyseccomp

    checked = 0
    for abi in all_abis():
        if abi.libseccomp is None:
            assert abi.libseccomp_token is None
            continue
        constant = getattr(pyseccomp.Arch, abi.libseccomp.removeprefix("SCMP_ARCH_"), None)
        if constant is not None:
            assert abi.libseccomp_token == constant, abi.name
            checked += 1
    assert checked >= 18


@pytest.mark.parametrize("abi", [pytest.param(a, id=a.name) for a in all_abis()])
def test_bits_follow_the_audit_arch_64bit_flag(abi: Abi) -> None:
    # x32 and mips n32 are 32-bit ABIs on a 64-bit audit arch; all others follow __AUDIT_ARCH_64BIT.
    expected = 32 if abi.name in {"x32", "mips64n32", "mipsel64n32"} else (64 if abi.audit_arch >> 31 else 32)
    assert abi.bits == expected


def test_audit_arch_hex_is_as_printed() -> None:
    assert get_abi("x86_64").audit_arch_hex == "c000003e"
    assert get_abi("m68k").audit_arch_hex == "00000004"


def test_importing_abi_stays_light() -> None:
    code = (
        "import sys, seccomp_gen.abi\n"
        "heavy = ('pyseccomp', 'typer', 'ctypes', 'sqlite3', 'jinja2', 'json', 'seccomp_gen.syscalls')\n"
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert done.stdout.strip() == ""
