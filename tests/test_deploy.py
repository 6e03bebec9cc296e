"""The deployment files in deploy/ (issue 18), exercised as far as this machine allows.

There is no container engine here, so the image is not built: its Python layer's command is
replayed (pip resolves and builds the project exactly as the Containerfile's ``RUN pip
install .`` does), every ``COPY`` source must exist, and the compose file's settings must be
settings the server knows. The systemd units go through ``systemd-analyze verify`` (with the
install paths pointed at this checkout). The backup and restore scripts run for real against
the local PostgreSQL: dump a seeded database, restore it into a scratch one, compare.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml
from sqlalchemy import make_url, text

from api.settings import Settings
from models.audit import AuditEvent
from models.session import create_engine, session_factory
from tests.helpers import IN_CI, _pg_url, pg_admin, pg_available, scratch_postgres

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
CONTAINERFILE = DEPLOY / "Containerfile"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", CONTAINERFILE.read_text())
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def test_containerfile_is_sound() -> None:
    steps = _instructions()
    base = next(args for word, args in steps if word == "FROM")
    assert ":" in base and not base.endswith(":latest"), "pin the base image"
    for word, args in steps:
        if word == "COPY":
            *sources, _ = args.split()
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
        if word == "RUN" and "apt-get install" in args:
            assert "--no-install-recommends" in args and "rm -rf /var/lib/apt/lists" in args
    users = [args for word, args in steps if word == "USER"]
    assert users and users[-1] not in ("root", "0"), "the server must not run as root"
    copied = {args.split()[0] for word, args in steps if word == "COPY"}
    # Every package setuptools ships is copied into the image.
    for package in ("api", "authz", "models", "schema", "workflow", "migrations"):
        assert package in copied, package


@pytest.mark.slow
def test_containerfile_python_layer_resolves(tmp_path: Path) -> None:
    """The image's ``pip install .``, replayed: every pinned dependency resolves and the
    project builds (``--dry-run``: nothing is installed; ``--ignore-installed``: as in the
    image's empty interpreter)."""
    run = next(args for word, args in _instructions() if word == "RUN" and "pip install" in args)
    pip_args = run.split("&&")[0].split()
    assert pip_args[:2] == ["pip", "install"] and pip_args[-1] == "."
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
         *pip_args[2:-1], "."],
        cwd=ROOT, capture_output=True, text=True, timeout=540,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Would install" in result.stdout and "lianbao-0.1.0" in result.stdout


def test_compose_file_runs_workers_behind_one_address() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert {"db", "migrate", "app", "nginx"} <= set(services)
    app = services["app"]
    assert app["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    command = " ".join(app["command"])
    assert "lianbao check-config" in command
    workers = re.search(r"--workers (\d+)", command)
    assert workers and int(workers.group(1)) > 1
    assert "ports" not in app, "only nginx is published"
    assert services["nginx"]["ports"]
    nginx = (DEPLOY / "nginx.conf").read_text()
    assert re.search(r"server\s+app:8000;", nginx), "nginx must proxy to the app service"
    for volume in services["nginx"]["volumes"]:
        assert (DEPLOY / volume.split(":")[0]).is_file()
    # Every setting named in the file is one the server knows (a typo would stop it).
    known = set(Settings.env_names().values())
    for name in ("migrate", "app"):
        env = services[name]["environment"]
        for variable in env:
            # Any LIANBAO_* variable that is not a setting stops the server (api/settings.py).
            if variable.startswith("LIANBAO_"):
                assert variable in known, f"{name}: {variable} is not a Lianbao setting"
    assert "DATABASE_URL" in services["app"]["environment"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze missing")
@pytest.mark.slow
def test_systemd_units_verify(tmp_path: Path) -> None:
    lianbao = Path(sys.executable).parent / "lianbao"
    for unit in sorted((DEPLOY / "systemd").iterdir()):
        body = unit.read_text()
        # Installed paths pointed at this checkout; users that exist on any machine.
        body = body.replace("/opt/lianbao/venv/bin/lianbao", str(lianbao))
        body = body.replace("/opt/lianbao/deploy/", f"{DEPLOY}/")
        body = re.sub(r"^(User|Group)=lianbao$", r"\1=root", body, flags=re.M)
        body = body.replace("EnvironmentFile=/", "EnvironmentFile=-/")
        (tmp_path / unit.name).write_text(body)
    units = sorted(str(p) for p in tmp_path.iterdir())
    result = subprocess.run(["systemd-analyze", "verify", *units],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


TABLES = (
    "SELECT table_name FROM information_schema.tables "
    "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name"
)


async def _snapshot(url: str) -> tuple[dict[str, int], list[tuple[object, ...]]]:
    engine = create_engine(url, pool=False)
    try:
        async with engine.connect() as conn:
            tables = [r[0] for r in await conn.execute(text(TABLES))]
            counts = {
                t: int((await conn.execute(text(f'SELECT count(*) FROM "{t}"'))).scalar_one())
                for t in tables
            }
            audit = [tuple(r) for r in await conn.execute(
                text("SELECT * FROM audit_event ORDER BY id"))]
    finally:
        await engine.dispose()
    return counts, audit


@pytest.mark.postgres_only
@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="pg_dump missing")
@pytest.mark.slow
async def test_backup_and_restore_scripts(tmp_path: Path) -> None:
    reason = await pg_available()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"PostgreSQL unavailable in CI: {reason}")
        pytest.skip(f"PostgreSQL unavailable: {reason}")
    async with scratch_postgres(tmp_path, children=50) as engine:
        source = engine.url.render_as_string(hide_password=False)
        async with session_factory(engine)() as session:
            for i in range(3):  # an audit trail to carry over, with its JSON columns
                session.add(AuditEvent(actor_username="restore_test", operation=f"op{i}",
                                       record_type="case", record_ids=[i],
                                       change={"stage": ["a", "b"], "n": i}))
            await session.commit()
        backup = await asyncio.to_thread(
            subprocess.run,
            ["sh", str(DEPLOY / "backup.sh"), _libpq(source)],
            env={"PATH": "/usr/bin:/bin", "BACKUP_DIR": str(tmp_path / "backups")},
            capture_output=True, text=True, timeout=120,
        )
        assert backup.returncode == 0, backup.stderr
        dump = Path(backup.stdout.strip())
        assert dump.parent == tmp_path / "backups"
        assert await asyncio.to_thread(dump.is_file)
        target_name = f"lianbao_restore_{uuid.uuid4().hex[:8]}"
        await pg_admin(f'CREATE DATABASE "{target_name}"')
        target = _pg_url(target_name)
        try:
            restore = await asyncio.to_thread(
                subprocess.run,
                ["sh", str(DEPLOY / "restore.sh"), str(dump), _libpq(target)],
                env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=120,
            )
            assert restore.returncode == 0, restore.stderr
            assert "restored:" in restore.stdout
            before, audit_before = await _snapshot(source)
            after, audit_after = await _snapshot(target)
        finally:
            await pg_admin(f'DROP DATABASE IF EXISTS "{target_name}" WITH (FORCE)')
    assert after == before
    assert before["audit_event"] > 0 and audit_after == audit_before
