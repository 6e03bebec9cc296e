"""No module over 600 lines and no function over 80 in the project's layers.

Size is a proxy a reviewer can check without reading: a module that grows past it holds
more than one concept's part, a function past it does several steps that want names. The
one exception is a set-based SQL builder (one statement over many rows, whose parts only
make sense together); its docstring must say so with ``Set-based SQL builder:`` and why.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("api", "schema", "workflow", "authz", "models")
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80
EXCEPTION_MARK = "Set-based SQL builder:"


def _modules() -> list[Path]:
    return [path for layer in LAYERS for path in sorted((ROOT / layer).rglob("*.py"))]


def long_modules(paths: list[Path]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}: {n} lines"
        for path in paths
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    ]


def long_functions(source: str, where: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        assert node.end_lineno is not None
        start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        length = node.end_lineno - start + 1
        if length <= MAX_FUNCTION_LINES:
            continue
        if EXCEPTION_MARK in (ast.get_docstring(node) or ""):
            continue
        found.append(f"{where}:{node.lineno} {node.name}: {length} lines")
    return found


def test_no_module_over_the_limit() -> None:
    assert long_modules(_modules()) == []


def test_no_function_over_the_limit() -> None:
    found = [
        problem
        for path in _modules()
        for problem in long_functions(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    ]
    assert found == []


def test_the_check_counts_and_honours_the_mark() -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES))
    assert long_functions(f"def long():\n{body}", "m.py") == [
        f"m.py:1 long: {MAX_FUNCTION_LINES + 1} lines"
    ]
    marked = f'def long():\n    """{EXCEPTION_MARK} one INSERT … SELECT."""\n{body}'
    assert long_functions(marked, "m.py") == []
    half = "".join(body.splitlines(keepends=True)[: MAX_FUNCTION_LINES // 2])
    assert long_functions(f"def short():\n{half}", "m.py") == []
