"""The house's layering, read from the source: every import in src/shouwang (also those
inside functions and under TYPE_CHECKING), as a graph of modules. No module imports, directly
or through others, a module that imports it back; no app imports an app above it."""

from __future__ import annotations

import ast
from pathlib import Path

import shouwang

ROOT = Path(shouwang.__file__).parent
# Ground floor first (docs/architecture.md, "Layers").
LAYERS = [
    "core",
    "devices",
    "alerts",
    "quarantine",
    "passes",
    "patrol",
    "reporting",
    "masks",
    "runtime",
]


def _modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()

    def known(name: str) -> str:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name

    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [known(a.name) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                targets = [known(f"{base}.{a.name}") or known(base) for a in node.names]
            else:
                continue
            graph[name].update(t for t in targets if t and t != name)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def _layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


def test_no_import_cycles() -> None:
    assert _cycles(_graph()) == []


def test_no_app_imports_an_app_above_it() -> None:
    upward = [
        (source, target)
        for source, targets in _graph().items()
        for target in targets
        if (a := _layer(source)) is not None and (b := _layer(target)) is not None and b > a
    ]
    assert upward == []


def test_the_checks_can_fail() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _layer("shouwang.core.models") < _layer("shouwang.runtime.worker")  # type: ignore[operator]
