"""The house rules CONTRIBUTING.md states, pinned: no import cycle, no module past ~500 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "seccomp_gen"
# "One concept per module": a module past this has grown a second one (CONTRIBUTING.md says ~500).
MODULE_LINES_MAX = 520


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported(path: Path, name: str) -> set[str]:
    """Every ``seccomp_gen`` module ``path`` imports, at any depth (``TYPE_CHECKING`` and functions too)."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.add(module)
            # `from seccomp_gen import abi` names a module, not an attribute
            found.update(f"{module}.{a.name}" for a in node.names)
    return {m for m in found if m.startswith("seccomp_gen") and m != name}


def _graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: _imported(path, name) & files.keys() for name, path in files.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def _without_package_parents(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    # A submodule importing its package's __init__ (or the other way round) is how packages work.
    return {
        name: {d for d in deps if not name.startswith(d + ".") and not d.startswith(name + ".")}
        for name, deps in graph.items()
    }


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_module_imports_itself_back() -> None:
    graph = _without_package_parents(_graph())
    assert "seccomp_gen.records" in graph["seccomp_gen.learner"]  # the graph sees real imports
    assert _cycle(graph) is None


@pytest.mark.parametrize(
    "path", sorted(PACKAGE.rglob("*.py")), ids=lambda path: str(path.relative_to(PACKAGE))
)
def test_no_module_outgrows_one_concept(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MODULE_LINES_MAX, (
        f"{path.relative_to(PACKAGE)}: {lines} lines, over {MODULE_LINES_MAX}: split it along its concepts"
    )
