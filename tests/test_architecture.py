"""The shape of the package: no import cycles under gradcheck/, and properties that never import upward.

The import graph is read from the source with ``ast``: an edge ``a → b`` for every ``import b`` or ``from b import
x`` in module ``a`` (``from package import submodule`` is an edge to the submodule), at module level or inside a
function alike; imports under ``if TYPE_CHECKING:`` are left out, since they never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import gradcheck

PACKAGE = Path(gradcheck.__file__).resolve().parent
#: What a property may never import: the public API, the renderers, the runner and the command line.
FORBIDDEN_FOR_PROPERTIES = ("gradcheck.api", "gradcheck.report", "gradcheck.checklist.runner", "gradcheck.cli")


def _modules() -> dict[str, Path]:
    found = {}
    for file in PACKAGE.rglob("*.py"):
        parts = ["gradcheck", *file.relative_to(PACKAGE).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = file
    return found


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _absolute(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base.pop()
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports_of(module: str, file: Path) -> set[str]:
    """The gradcheck modules that ``module`` imports anywhere in its body (TYPE_CHECKING blocks excepted)."""
    found: set[str] = set()
    is_package = file.name == "__init__.py"

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for stmt in child.orelse:
                    visit_one(stmt)
                continue
            visit_one(child)

    def visit_one(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in MODULES)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, node, is_package)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in MODULES else base)
        visit(node)

    visit(ast.parse(file.read_text(encoding="utf-8")))
    return {m for m in found if m in MODULES and m != module}


GRAPH = {name: _imports_of(name, file) for name, file in MODULES.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of ``graph`` (as a path that ends where it starts), or [] when it is acyclic."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def walk(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := walk(nxt)):
                return found
        path.pop()
        state[node] = 2
        return []

    for start in sorted(graph):
        if start not in state and (found := walk(start)):
            return found
    return []


def test_the_graph_reader_sees_imports_of_every_form() -> None:
    # Known edges, one per form: module-level from-import, function-level import, relative-free submodule import.
    assert "gradcheck.results" in GRAPH["gradcheck.api"]
    assert "gradcheck.checklist.runner" in GRAPH["gradcheck"]  # inside __getattr__
    assert "gradcheck.kinds.declarations" in GRAPH["gradcheck.kinds"]  # inside _load_builtin
    assert "gradcheck.properties.registry" in GRAPH["gradcheck.properties.contract"]


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_under_gradcheck() -> None:
    cycle = _cycle(GRAPH)
    assert not cycle, "import cycle: " + " → ".join(cycle)


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("gradcheck.properties.")))
def test_properties_never_import_the_api_renderers_runner_or_cli(module: str) -> None:
    bad = sorted(m for m in GRAPH[module] for f in FORBIDDEN_FOR_PROPERTIES if m == f or m.startswith(f + "."))
    assert not bad, f"{module} imports {bad}: properties return records; rendering and running happen elsewhere"
