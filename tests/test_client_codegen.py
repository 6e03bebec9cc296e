"""The SDL is usable by a code generator: ariadne-codegen builds a typed Python client from
``schema.graphql`` and README's example operations, and that client runs each of them against
a real server (with Chinese messages and labels when it asks for them).

ariadne-codegen pins a graphql-core older than strawberry's, so it lives in a virtual
environment of its own in a cache folder outside the repository (like the Node.js audit's
package); the generated client needs only httpx and pydantic, which that environment has.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ROOT, migrate_and_seed, running, server_env, token

# A real server process and a generator run: seconds each.
pytestmark = pytest.mark.slow

ARIADNE_CODEGEN_VERSION = "0.19.0"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "lianbao"

# Runs inside the generator's environment, with the generated package on its path.
SCRIPT = textwrap.dedent('''
    import asyncio, json, sys
    from datetime import date, timedelta

    from lianbao_client import Client, ReportAbsenceInput, TaskOrder

    async def main(url, officer, teacher):
        def client(bearer, language):
            return Client(url=url, headers={"Authorization": f"Bearer {bearer}",
                                            "Accept-Language": language})
        bureau, school = client(officer, "en"), client(teacher, "zh-CN")
        me = await bureau.me()
        first = await bureau.open_cases(first=2)
        second = await bureau.open_cases(first=2, after=first.cases.page_info.end_cursor)
        pupils = await school.pupils(first=20)
        yesterday = date.today() - timedelta(days=1)
        refused = await school.report_absence(ReportAbsenceInput(
            child_id=pupils.children.edges[0].node.id,
            first_absence=(date.today() + timedelta(days=3)).isoformat()))
        reported = None
        for edge in pupils.children.edges:  # the first pupil without an open case
            answer = await school.report_absence(ReportAbsenceInput(
                child_id=edge.node.id, first_absence=yesterday.isoformat(), note="连续两天未到校"))
            if answer.report_absence.case is not None:
                reported = answer.report_absence.case
                break
        queue = await school.agency_queue(order_by=TaskOrder.DUE, first=5)
        labels = await school.enum_labels(enum="CaseStage")
        print(json.dumps({
            "me": {"username": me.me.username, "agency": me.me.agency.kind.value,
                   "roles": [r.role for r in me.me.roles]},
            "total": first.cases.total_count,
            "pages": [[e.node.id for e in first.cases.edges],
                      [e.node.id for e in second.cases.edges]],
            "stages": [e.node.stage.value for e in first.cases.edges],
            "pupil_masked": pupils.children.edges[0].node.national_id.masked,
            "refused": [e.model_dump() for e in refused.report_absence.user_errors],
            "reported": None if reported is None else {
                "stage": reported.stage.value, "tasks": len(reported.tasks)},
            "queue": queue.agency_queue.total_count,
            "labels": {l.value: l.label for l in labels.enum_labels},
        }, ensure_ascii=False))

    asyncio.run(main(*sys.argv[1:]))
''')


def _codegen_python() -> Path:
    """The generator's own environment (created on first use, reused after)."""
    target = CACHE / f"ariadne-codegen-{ARIADNE_CODEGEN_VERSION}"
    python = target / "bin" / "python"
    if not (target / "bin" / "ariadne-codegen").exists():
        subprocess.run([sys.executable, "-m", "venv", str(target)], check=True, timeout=120)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             f"ariadne-codegen=={ARIADNE_CODEGEN_VERSION}"],
            check=True, timeout=300, capture_output=True,
        )
    return python


def readme_operations() -> str:
    """The ```graphql block of README's "Example operations" section."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("## Example operations")
    section = text[start:text.index("\n## ", start + 1)]
    blocks = re.findall(r"```graphql\n(.*?)```", section, re.DOTALL)
    assert blocks, "README's Example operations section has no ```graphql block"
    return "\n".join(blocks)


@pytest.fixture(scope="module")
def client_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The client ariadne-codegen generates from schema.graphql and README's operations."""
    out = tmp_path_factory.mktemp("client")
    (out / "operations.graphql").write_text(readme_operations(), encoding="utf-8")
    (out / "pyproject.toml").write_text(textwrap.dedent(f"""
        [tool.ariadne-codegen]
        schema_path = "{ROOT / 'schema.graphql'}"
        queries_path = "operations.graphql"
        target_package_name = "lianbao_client"
        target_package_path = "."
    """), encoding="utf-8")
    python = _codegen_python()
    subprocess.run([str(python.parent / "ariadne-codegen"), "--config", "pyproject.toml",
                    "client"], cwd=out, check=True, timeout=120, capture_output=True)
    return out


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('codegen') / 'lianbao.db'}"
    env = server_env(url, {"LIANBAO_TICK_INTERVAL": "0"})
    migrate_and_seed(env, children=50)
    with running(env, 1) as (port,):
        yield f"http://127.0.0.1:{port}/graphql"


def test_the_generated_client_has_a_method_per_operation(client_package: Path) -> None:
    client = (client_package / "lianbao_client" / "client.py").read_text(encoding="utf-8")
    names = re.findall(r"^(?:query|mutation) (\w+)", readme_operations(), re.MULTILINE)
    assert len(names) >= 6
    for name in names:
        method = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
        assert f"async def {method}(" in client, name
    # The descriptions reach the generated code as docstrings.
    inputs = (client_package / "lianbao_client" / "input_types.py").read_text(encoding="utf-8")
    assert "opens a dropout case on day 0" in inputs


def test_readme_operations_run_through_the_generated_client(
    client_package: Path, server: str
) -> None:
    (client_package / "run.py").write_text(SCRIPT, encoding="utf-8")
    out = subprocess.run(
        [str(_codegen_python()), "run.py", server, token("edu_officer"), token("head_teacher")],
        cwd=client_package, check=True, capture_output=True, text=True, timeout=120,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    assert result["me"]["username"] == "edu_officer"
    assert result["me"]["agency"] == "EDUCATION"
    assert result["total"] > 2
    first, second = result["pages"]
    assert len(first) == len(second) == 2 and not set(first) & set(second)
    assert all(stage != "CLOSED" for stage in result["stages"])
    assert isinstance(result["pupil_masked"], bool)
    assert result["refused"] == [{"field": "firstAbsence", "code": "BAD_INPUT",
                                  "message": "首次缺勤日期不能晚于今天"}]
    assert result["reported"] is not None and result["reported"]["stage"] == "REPORTED"
    assert result["queue"] >= 1
    assert result["labels"]["SCHOOL_PERSUASION"] == "学校劝返"
