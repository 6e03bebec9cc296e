"""The suite's own layout: no test module imports another.

A helper that two test modules need lives in tests/helpers.py (or is a conftest fixture);
importing it from a test module instead ties the two modules' lifetimes together and makes
pytest collect one module's tests under another's name. The check reads every import,
including those inside functions, with ``ast``.
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
