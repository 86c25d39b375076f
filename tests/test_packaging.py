"""The package as users get it: the wheel ships every syscall table and works from wherever it is
installed, the editable install reads the source tree's tables, and the runtime needs only typer,
pyseccomp, jinja2 and PyYAML."""

from __future__ import annotations

import ast
import email.message
import email.parser
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from seccomp_gen import __version__
from seccomp_gen.abi import all_abis
from tests.realpath import need

REPO = Path(__file__).resolve().parent.parent
TABLES = REPO / "syscall_tables"
# issue 2: "typer, pyseccomp, jinja2 (and nothing you can avoid)"; issue 17 added a YAML reader
RUNTIME = {"jinja2", "pyseccomp", "pyyaml", "typer"}
IMPORTED = {"jinja2", "pyseccomp", "yaml", "typer"}  # PyYAML's module is yaml
_BUILD = "import sys; from hatchling.build import build_wheel; print(build_wheel(sys.argv[1]))"
# What an installed copy reports about itself: where it lives, where it reads tables, two lookups.
_PROBE = (
    "import json, seccomp_gen, seccomp_gen.syscalls as s; from seccomp_gen.abi import get_abi; "
    "print(json.dumps([seccomp_gen.__file__, str(s.tables_dir()), s.syscall_name(get_abi('arm'), 983045), "
    "s.syscall_number(get_abi('mipsel64n32'), 'openat'), sorted(p.name for p in s.tables_dir().iterdir())]))"
)


def _run(argv: list[str], cwd: Path, **env: str) -> str:
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"} | env
    done = subprocess.run(argv, cwd=cwd, env=environment, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built from this tree by the build backend pyproject names (hatchling, a test extra)."""
    out = tmp_path_factory.mktemp("dist")
    name = _run([sys.executable, "-c", _BUILD, str(out)], REPO).strip().splitlines()[-1]
    return out / name


def _metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return email.parser.Parser().parsestr(archive.read(name).decode("utf-8"))


def test_wheel_ships_every_table_byte_for_byte(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        shipped = {
            name.rsplit("/", 1)[1]: archive.read(name)
            for name in archive.namelist()
            if name.startswith("seccomp_gen/syscall_tables/")
        }
    assert shipped == {abi.table_file: (TABLES / abi.table_file).read_bytes() for abi in all_abis()}


def test_wheel_metadata(wheel: Path) -> None:
    metadata = _metadata(wheel)
    assert metadata["Name"] == "seccomp-gen"
    assert metadata["Version"] == __version__
    assert metadata["Requires-Python"] == ">=3.10"
    runtime = {
        re.split(r"[ <>=!~;\[]", requirement, maxsplit=1)[0].lower()
        for requirement in metadata.get_all("Requires-Dist") or []
        if "extra ==" not in requirement
    }
    assert runtime == RUNTIME
    with zipfile.ZipFile(wheel) as archive:
        entry_points = next(n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt"))
        assert "seccomp-gen = seccomp_gen.cli:main" in archive.read(entry_points).decode().splitlines()


def test_installed_wheel_reads_its_own_tables(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:  # a pure-Python wheel installs by unpacking it
        archive.extractall(site)
    packaged = site / "seccomp_gen" / "syscall_tables"
    module, tables, set_tls, openat, files = json.loads(
        _run([sys.executable, "-c", _PROBE], tmp_path, PYTHONPATH=str(site))
    )
    assert Path(module).parent == site / "seccomp_gen"
    assert Path(tables) == packaged
    assert (set_tls, openat) == ("set_tls", 6251)  # arm private 0x0f0005; syscall_n32.tbl: openat 251, + 6000
    assert files == sorted(abi.table_file for abi in all_abis())
    # The CLI of the installed copy answers from the wheel's tables, not from this source tree.
    table = packaged / "x86_64.tbl"
    table.write_text(table.read_text().replace("\n59\texecve\n", "\n59\texecve_from_the_wheel\n"))
    argv = [sys.executable, "-m", "seccomp_gen", "syscalls", "59", "--arch", "x86_64"]
    assert _run(argv, tmp_path, PYTHONPATH=str(site)) == "execve_from_the_wheel\n"


def _editable() -> bool:
    try:
        text = importlib.metadata.distribution("seccomp-gen").read_text("direct_url.json")
    except importlib.metadata.PackageNotFoundError:
        return False
    return text is not None and json.loads(text).get("dir_info", {}).get("editable", False) is True


def test_editable_install_reads_the_source_tree(tmp_path: Path) -> None:
    # The README installs with `pip install -e`; CI (SECCOMP_GEN_REQUIRE_REAL=1) must have done so.
    need(_editable(), "needs the README's editable install: pip install -e '.[test]'")
    # No copy inside the package: it would win over the generated tables and --check would not see it.
    assert not (REPO / "seccomp_gen" / "syscall_tables").exists()
    module, tables, set_tls, openat, files = json.loads(_run([sys.executable, "-c", _PROBE], tmp_path))
    assert Path(module).parent == REPO / "seccomp_gen"
    assert Path(tables) == TABLES
    assert (set_tls, openat) == ("set_tls", 6251)
    assert files == sorted(abi.table_file for abi in all_abis())
    script = Path(sys.executable).parent / "seccomp-gen"
    command = str(script) if script.exists() else shutil.which("seccomp-gen")
    assert command is not None, "the console script seccomp-gen is not installed"
    assert _run([command, "syscalls", "59", "--arch", "x86_64"], tmp_path) == "execve\n"
    assert _run([command, "--version"], tmp_path) == f"seccomp-gen {__version__}\n"


def test_runtime_imports_only_the_declared_dependencies() -> None:
    imported = set()
    for path in (REPO / "seccomp_gen").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    assert imported - set(sys.stdlib_module_names) - {"seccomp_gen"} == IMPORTED


_ACCEL_PROBE = (
    "from seccomp_gen import _fastpath; from seccomp_gen.records import RecordParser; "
    "print(_fastpath.ACCEL.__file__ if _fastpath.ACCEL else None); print(_fastpath.accelerator_status()); "
    "print(RecordParser().feed_chunk(open(0, 'rb').read())[0].comm)"
)
_RECORD = (
    b"audit: type=1326 audit(1795888524.926:4081): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=26871 "
    b'comm="sh" exe="/bin/busybox" sig=0 arch=c000003e syscall=110 compat=0 ip=0x7fc30aaf34f7 '
    b"code=0x7ffc0000\n"
)


def _probe_accelerator(site: Path, cwd: Path) -> list[str]:
    environment = {key: value for key, value in os.environ.items() if key != "SECCOMP_GEN_PURE_PYTHON"}
    done = subprocess.run(
        [sys.executable, "-c", _ACCEL_PROBE],
        cwd=cwd,
        env=environment | {"PYTHONPATH": str(site)},
        input=_RECORD,
        capture_output=True,
        check=True,
    )
    return done.stdout.decode().splitlines()


def test_wheel_ships_the_c_accelerator_and_uses_it(wheel: Path, tmp_path: Path) -> None:
    need(shutil.which("cc") is not None, "needs a C compiler to build the accelerator (apt-get install gcc)")
    module = "seccomp_gen/_accel" + str(sysconfig.get_config_var("EXT_SUFFIX"))
    with zipfile.ZipFile(wheel) as archive:
        assert module in archive.namelist()
        archive.extractall(tmp_path / "site")
    assert not wheel.name.endswith("-none-any.whl")  # a compiled module: a platform wheel
    built, status, comm = _probe_accelerator(tmp_path / "site", tmp_path)
    assert Path(built) == tmp_path / "site" / module
    assert (status, comm) == ("C accelerator (seccomp_gen._accel)", "sh")


def test_without_a_compiler_the_wheel_is_pure_python_and_works(tmp_path: Path) -> None:
    out = tmp_path / "dist"
    out.mkdir()
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"} | {"CC": "false"}
    done = subprocess.run(
        [sys.executable, "-c", _BUILD, str(out)],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "building without the C accelerator" in done.stderr
    assert "apt-get install gcc python3-dev" in done.stderr
    wheel = out / done.stdout.strip().splitlines()[-1]
    assert wheel.name.endswith("-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert not [
            name for name in archive.namelist() if "_accel" in name and not name.endswith((".c", ".pyi"))
        ]
        archive.extractall(tmp_path / "site")
    built, status, comm = _probe_accelerator(tmp_path / "site", tmp_path)
    assert built == "None"
    assert status.startswith("pure Python: seccomp_gen._accel was not built")
    assert comm == "sh"
