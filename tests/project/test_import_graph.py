"""The package's import graph has no cycle: between subpackages, nor between modules.

Read from the source with `ast`, function-level imports included: a lazy import hides a cycle
from the interpreter at start-up, not from the design (the clinic and the service each imported
the other, one of them lazily).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "formcheck"

# None: pose/detector.py holds the MediaPipe adapter that landmarker.py and parallel.py both use.
KNOWN_MODULE_CYCLES: list[set[str]] = []


def _modules(root: Path = PACKAGE) -> dict[str, Path]:
    """Dotted module name -> file, packages named by their folder."""
    out = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules that `name` imports anywhere in its file (the nearest known module of each)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            # `from formcheck.pose import landmarker` imports the module landmarker, not just the package
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                out.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return out


def _unit(module: str, modules: dict[str, Path]) -> str:
    """The subpackage a module belongs to (formcheck.clinic), or the top-level module itself (formcheck.cli)."""
    top = ".".join(module.split(".")[:2])
    return top if top in modules else module


def _graphs(modules: dict[str, Path]) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    by_module = {name: _imports(name, path, modules) for name, path in modules.items()}
    by_unit: dict[str, set[str]] = {}
    for name, targets in by_module.items():
        unit = _unit(name, modules)
        by_unit.setdefault(unit, set()).update(_unit(t, modules) for t in targets if _unit(t, modules) != unit)
    return by_module, by_unit


def _describe(cycles: Iterable[set[str]], graph: dict[str, set[str]]) -> str:
    lines = []
    for cycle in cycles:
        edges = sorted(f"{a} -> {b}" for a in cycle for b in graph[a] if b in cycle)
        lines.append("; ".join(edges))
    return "\n".join(lines)


def test_no_import_cycle_between_subpackages():
    _, by_unit = _graphs(_modules())
    cycles = _cycles(by_unit)
    assert not cycles, "import cycles between subpackages:\n" + _describe(cycles, by_unit)


def test_no_import_cycle_between_modules():
    by_module, _ = _graphs(_modules())
    cycles = [c for c in _cycles(by_module) if c not in KNOWN_MODULE_CYCLES]
    assert not cycles, "import cycles between modules:\n" + _describe(cycles, by_module)


@pytest.mark.parametrize("lazy", [False, True])
def test_a_cycle_is_found_through_relative_and_function_level_imports(tmp_path, lazy):
    """The walk sees `from . import x` and imports inside functions (what hid the clinic <-> service cycle)."""
    root = tmp_path / "formcheck"
    for package in ("a", "b"):
        (root / package).mkdir(parents=True)
        (root / package / "__init__.py").write_text("")
    (root / "__init__.py").write_text("")
    (root / "a" / "one.py").write_text("from ..b import two\n")
    body = "def later():\n    from formcheck.a.one import x\n" if lazy else "from formcheck.a import one\n"
    (root / "b" / "two.py").write_text(body)
    by_module, by_unit = _graphs(_modules(root))
    assert _cycles(by_unit) == [{"formcheck.a", "formcheck.b"}]
    assert _cycles(by_module) == [{"formcheck.a.one", "formcheck.b.two"}]
