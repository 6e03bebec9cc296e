"""The suite's own layout: no test module imports another; every test that starts a process
is marked ``slow``.

A helper that two test modules need lives in tests/helpers.py (or is a conftest fixture);
importing it from a test module instead ties the two modules' lifetimes together and makes
pytest collect one module's tests under another's name. The check reads every import,
including those inside functions, with ``ast``.

A test that starts a server process (``subprocess`` or the helpers that wrap it) takes
seconds: marked ``slow``, it still runs in ``make test`` and can be skipped with
``-m "not slow"`` while iterating.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _imported_modules(path: Path) -> set[str]:
    """Every module named by an import anywhere in the file, as a dotted name."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.level:  # ``from .test_x import y`` / ``from . import test_x``
                found.add(f"tests.{node.module}")
            else:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level:
            found.update(f"tests.{alias.name}" for alias in node.names)
    return found


def _test_module_imports(path: Path) -> list[str]:
    return sorted(
        name for name in _imported_modules(path)
        if name.startswith(("tests.test_", "tests.conftest")) or name.startswith("test_")
    )


def test_no_test_module_imports_another() -> None:
    offenders = {
        path.name: imports
        for path in sorted(TESTS.glob("test_*.py"))
        if (imports := _test_module_imports(path))
    }
    assert offenders == {}, f"import from tests/helpers.py instead: {offenders}"


def test_the_check_sees_every_import_form(tmp_path: Path) -> None:
    """The check itself can fail: each way of importing a test module is caught."""
    forms = [
        "from tests.test_cases import report",
        "import tests.test_cases",
        "from tests import test_cases",
        "from .test_cases import report",
        "from . import test_cases",
        "from tests.conftest import Api",
        "def f():\n    from tests.test_child_labour import labour_setup\n",
    ]
    for i, form in enumerate(forms):
        probe = tmp_path / f"test_probe_{i}.py"
        probe.write_text(form + "\n", encoding="utf-8")
        assert _test_module_imports(probe), form
    clean = tmp_path / "test_clean.py"
    clean.write_text("from tests.helpers import report\nimport pytest\n", encoding="utf-8")
    assert _test_module_imports(clean) == []


def _is_slow_mark(node: ast.expr) -> bool:
    """``pytest.mark.slow`` (possibly inside a list of marks)."""
    if isinstance(node, ast.List | ast.Tuple):
        return any(_is_slow_mark(e) for e in node.elts)
    return isinstance(node, ast.Attribute) and node.attr == "slow"


def _names_in(fn: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(fn) if isinstance(n, ast.Name)}


def _spawning(tree: ast.Module, starters: set[str]) -> tuple[dict[str, ast.AST], set[str]]:
    """The module's top-level functions, and those that start a process: they use one of
    ``starters`` or call a function of the module that does."""
    functions: dict[str, ast.AST] = {
        n.name: n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    spawning: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name, fn in functions.items():
            if name not in spawning and _names_in(fn) & (starters | spawning):
                spawning.add(name)
                changed = True
    return functions, spawning


def process_starters() -> set[str]:
    """``subprocess`` and every helper in tests/helpers.py that (through others) uses it."""
    tree = ast.parse((TESTS / "helpers.py").read_text(encoding="utf-8"))
    return {"subprocess", *_spawning(tree, {"subprocess"})[1]}


def unmarked_process_tests(path: Path) -> list[str]:
    """Tests in ``path`` that start a process (themselves, through a helper function of the
    module, or through a fixture of the module) and are not marked slow."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    if any(
        isinstance(n, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in n.targets)
        and _is_slow_mark(n.value)
        for n in tree.body
    ):
        return []
    functions, spawning = _spawning(tree, process_starters())
    out = []
    for name, fn in functions.items():
        if not name.startswith("test_"):
            continue
        assert isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef)
        via_fixture = any(a.arg in spawning for a in fn.args.args)
        if (name in spawning or via_fixture) and not any(
            _is_slow_mark(d) for d in fn.decorator_list
        ):
            out.append(name)
    return out


def test_every_process_starting_test_is_marked_slow() -> None:
    offenders = {
        path.name: names
        for path in sorted(TESTS.glob("test_*.py"))
        if path.name != Path(__file__).name and (names := unmarked_process_tests(path))
    }
    assert offenders == {}, f"mark these @pytest.mark.slow: {offenders}"


def test_the_slow_check_can_fail(tmp_path: Path) -> None:
    probe = tmp_path / "test_probe.py"
    probe.write_text(
        "import subprocess\nimport pytest\nfrom tests.helpers import servers\n\n"
        "@pytest.fixture\ndef up():\n    yield from servers('x', 1)\n\n"
        "def _run():\n    subprocess.run(['true'])\n\n"
        "def test_direct():\n    _run()\n\n"
        "def test_fixture(up):\n    pass\n\n"
        "@pytest.mark.slow\ndef test_marked():\n    _run()\n\n"
        "def test_fast():\n    assert True\n",
        encoding="utf-8",
    )
    assert unmarked_process_tests(probe) == ["test_direct", "test_fixture"]
    probe.write_text("import pytest\npytestmark = pytest.mark.slow\n"
                     "def test_x():\n    import subprocess\n", encoding="utf-8")
    assert unmarked_process_tests(probe) == []
