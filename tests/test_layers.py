"""The project's modules import only downwards and never in a circle.

Layer order (docs/architecture.md): ``api`` → ``schema`` → ``workflow`` → ``authz`` →
``models``; a module may import its own layer or any layer below it. Every import counts,
at the top of a module or inside a function (a lazy import hides a circle, it does not
remove one). Only imports under ``if TYPE_CHECKING:`` are left out: they never run, and
type annotations may name each other both ways (mypy resolves them).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("models", "authz", "workflow", "schema", "api")  # lowest first


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for layer in LAYERS
        for path in sorted((ROOT / layer).rglob("*.py"))
    }


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement under ``node``, at any depth, outside TYPE_CHECKING blocks."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield from _imports(other)
            continue
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        yield from _imports(child)


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".")
    if path.name != "__init__.py":
        package.pop()
    base = package[: len(package) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph() -> dict[str, set[str]]:
    """Module → the project modules it imports (``from a import b`` counts ``a.b`` when
    ``b`` is a module, else ``a``)."""
    modules = project_modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in _imports(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                source = _resolve(name, path, node)
                targets = [
                    f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source
                    for alias in node.names
                ]
            for target in targets:
                # ``import a.b.c`` names a.b.c; find the deepest project module it names.
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_graph_sees_lazy_imports() -> None:
    # The walk must find imports inside functions, or the other tests could not fail.
    graph = import_graph()
    assert graph, "no project modules found"
    assert "models.session" in graph
    assert any(graph.values())


def test_no_import_runs_up_the_layers() -> None:
    graph = import_graph()
    upward = sorted(
        f"{source} -> {target}"
        for source, targets in graph.items()
        for target in targets
        if LAYERS.index(target.split(".")[0]) > LAYERS.index(source.split(".")[0])
    )
    assert upward == []


def test_no_import_circles() -> None:
    # Back-references between GraphQL types go through schema/backrefs.py, not imports.
    assert _cycles(import_graph()) == []


def test_the_checks_catch_a_circle_and_an_upward_import() -> None:
    graph = {"workflow.a": {"workflow.b"}, "workflow.b": {"workflow.a"}, "authz.c": set()}
    assert _cycles(graph) == [["workflow.a", "workflow.b"]]
    source = "def f():\n    from workflow.a import x\nif TYPE_CHECKING:\n    import api.app\n"
    tree = ast.parse(source)
    assert [n.module for n in _imports(tree) if isinstance(n, ast.ImportFrom)] == ["workflow.a"]
