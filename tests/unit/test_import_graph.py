"""No import circle in ``src/``: every module's imports, lazy and ``TYPE_CHECKING`` ones included, form a DAG.

A circle hidden behind a lazy import or ``TYPE_CHECKING`` still means two modules that cannot be read, tested
or moved apart. Importing ``a.b.c`` also runs ``a.b``'s ``__init__``, so an import of a submodule counts as
an import of each package above it too (except the importer's own packages, which Python has already begun).
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
# Circles another piece of work is cutting; each entry names who removes it.
_PENDING: set[frozenset[str]] = {
}


def _modules() -> dict[str, Path]:
    out = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _imported(module: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Modules of ``src/`` that ``module`` imports anywhere in its body."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            names.update(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                         for alias in node.names)
    own = {".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 2)}
    out: set[str] = set()
    for name in names:
        while name:
            if name in known and name not in own:
                out.add(name)
            name = name.rpartition(".")[0]
    return out


def _circles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            step = next(edges, None)
            if step is not None:
                if step not in index:
                    index[step] = low[step] = len(index)
                    stack.append(step)
                    on_stack.add(step)
                    work.append((step, iter(sorted(graph[step]))))
                elif step in on_stack:
                    low[node] = min(low[node], index[step])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(frozenset(component))
    return found


def _graph() -> dict[str, set[str]]:
    known = _modules()
    return {module: _imported(module, path, known) for module, path in known.items()}


def test_src_has_no_import_circle() -> None:
    graph = _graph()
    circles = [c for c in _circles(graph) if c not in _PENDING]
    described = ["; ".join(f"{m} -> {', '.join(sorted(graph[m] & c))}" for m in sorted(c)) for c in circles]
    assert not described, "import circles:\n" + "\n".join(described)


def test_the_walk_sees_a_circle_through_a_package_init() -> None:
    graph = {"p": {"q.r"}, "q": {"p"}, "q.r": set()}
    assert _circles(graph) == []  # the edge q.r -> q is added by _imported, not here
    graph["q.r"] = {"q"}
    assert _circles(graph) == [frozenset({"p", "q", "q.r"})]


def test_the_walk_counts_lazy_and_type_checking_imports(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from core.x import y\n"
                      "def f():\n    from core import z\n    import core.w.v\n")
    known = dict.fromkeys(("core", "core.x", "core.z", "core.w", "core.w.v", "core.m"), source)
    assert _imported("core.m", source, known) == {"core.x", "core.z", "core.w", "core.w.v"}
