"""The floor: the task page answered by hand, with one SQL query and ``json``.

Same token check, same compiled authorization filter (``authz.filters.scope_filter``), same
rows and fields (the task, its case's stage, the child's name — masked as the policy says —
and the school's name, plus the total count) as Lianbao's ``agencyQueue`` page; none of
GraphQL, DataLoaders or the ORM. Lianbao's time over this is the price of the framework.

    uvicorn bench.floor:app --port 8100
"""

from __future__ import annotations

import json
import os
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.auth import TokenError, TokenVerifier
from api.settings import Settings
from authz.enforcer import Authorizer
from authz.filters import scope_filter
from authz.masking import SensitiveField, mask_name
from authz.principal import Principal
from authz.store import load_policy
from models.case import DropoutCase
from models.child import Child
from models.school import School
from models.session import create_engine
from models.task import Task
from workflow.user import load_principal

settings = Settings.from_env()
engine = create_engine(os.environ.get("DATABASE_URL", settings.database_url))
verifier = TokenVerifier(settings)
_state: dict[str, Any] = {}
_principals: dict[str, Principal] = {}


async def _authz() -> Authorizer:
    if "authz" not in _state:
        async with AsyncSession(engine) as session:
            rules, version = await load_policy(session)
        _state["authz"] = Authorizer(rules, version)
    authz: Authorizer = _state["authz"]
    return authz


async def tasks(request: Request) -> Response:
    try:
        claims = verifier.verify_header(request.headers.get("authorization"))
    except TokenError as error:
        return JSONResponse({"error": error.reason}, status_code=401)
    authz = await _authz()
    async with AsyncSession(engine) as session:
        principal = _principals.get(claims.username)
        if principal is None:
            loaded = await load_principal(session, claims.username)
            if loaded is None:
                return JSONResponse({"error": "unknown_user"}, status_code=401)
            principal = _principals[claims.username] = loaded
        kind = principal.agency_kind
        stmt = (
            select(Task.id, Task.kind, Task.title, Task.due_on, Task.priority, Task.status,
                   DropoutCase.stage, Child.name, Child.scope_path, School.name,
                   func.count().over().label("total"))
            .join(DropoutCase, DropoutCase.id == Task.case_id)
            .join(Child, Child.id == DropoutCase.child_id)
            .outerjoin(School, School.id == DropoutCase.school_id)
            .where(Task.agency_kind == kind,
                   scope_filter(authz, principal, "task", "read", Task.scope_path))
            .order_by(Task.due_on, Task.id)
            .limit(50)
        )
        rows = (await session.execute(stmt)).all()
    names: dict[str, bool] = {}
    out = []
    for r in rows:
        if r.scope_path not in names:
            names[r.scope_path] = authz.allowed(principal, SensitiveField.NAME.obj, "unmask",
                                                r.scope_path)
        out.append({"id": r.id, "kind": r.kind, "title": r.title, "dueOn": r.due_on.isoformat(),
                    "priority": r.priority, "status": r.status.value.upper(),
                    "case": {"stage": r.stage.value.upper()},
                    "child": {"name": r[7] if names[r.scope_path] else mask_name(r[7])},
                    "school": {"name": r[9]}})
    total = rows[0].total if rows else 0
    body = {"data": {"agencyQueue": {"totalCount": total, "edges": [{"node": n} for n in out]}}}
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/json")


app = Starlette(routes=[Route("/floor/tasks", tasks, methods=["GET", "POST"])])
