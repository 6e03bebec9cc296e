"""The floors: each load scenario answered by hand, without GraphQL, DataLoaders or the ORM
where SQL does it better.

- ``/floor/tasks``: the task page in one SQL statement on the best plan found (the page's ids
  chosen from the index, then their rows joined to case, child and school; the exact count
  from the task tally, in the same statement), with the same token check, the same compiled
  authorization filter (``authz.filters.scope_filter``), the same masking of the child's
  name and the same fields as Lianbao's ``agencyQueue`` page.
- ``/floor/case?id=``: a case and its timeline, through the same services Lianbao calls
  (``workflow.case``: the same policy check), serialised by hand.
- ``/floor/persuade?id=``: recording a persuasion attempt through the same service (lock,
  policy, case event, audit row, one transaction), without GraphQL.

Lianbao's time over each is the price of the framework. The principal is cached per user, as
Lianbao does (api/auth.PrincipalCache).

    uvicorn bench.floor:app --port 8100
"""

from __future__ import annotations

import gc
import os
from datetime import UTC, datetime
from typing import Any

import orjson
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
from models.enums import PersuasionMethod, PersuasionOutcome
from models.school import School
from models.session import create_engine, session_factory
from models.task import Task, TaskTally
from workflow import case as case_service
from workflow.clock import SystemClock
from workflow.context import ServiceContext
from workflow.user import load_principal

settings = Settings.from_env()
engine = create_engine(os.environ.get("DATABASE_URL", settings.database_url))
sessions = session_factory(engine)
verifier = TokenVerifier(settings)
clock = SystemClock()
_state: dict[str, Any] = {}
_principals: dict[str, Principal] = {}


async def _authz() -> Authorizer:
    if "authz" not in _state:
        async with AsyncSession(engine) as session:
            rules, version = await load_policy(session)
        _state["authz"] = Authorizer(rules, version)
        gc.collect()
        gc.freeze()  # as Lianbao does once it is up
    authz: Authorizer = _state["authz"]
    return authz


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


async def _context(request: Request, session: AsyncSession) -> ServiceContext | Response:
    try:
        claims = verifier.verify_header(request.headers.get("authorization"))
    except TokenError as error:
        return JSONResponse({"error": error.reason}, status_code=401)
    authz = await _authz()
    principal = _principals.get(claims.username)
    if principal is None:
        loaded = await load_principal(session, claims.username)
        if loaded is None:
            return JSONResponse({"error": "unknown_user"}, status_code=401)
        principal = _principals[claims.username] = loaded
    return ServiceContext(session, principal, authz, clock)


async def tasks(request: Request) -> Response:
    async with sessions() as session:
        ctx = await _context(request, session)
        if isinstance(ctx, Response):
            return ctx
        authz, principal = ctx.authz, ctx.principal
        kind = principal.agency_kind
        chosen = (
            select(Task.id)
            .where(Task.agency_kind == kind,
                   scope_filter(authz, principal, "task", "read", Task.scope_path))
            .order_by(Task.due_on, Task.id)
            .limit(50)
            .subquery("chosen")
        )
        total = (
            select(func.coalesce(func.sum(TaskTally.n), 0))
            .where(TaskTally.agency_kind == kind,
                   scope_filter(authz, principal, "task", "read", TaskTally.scope_path))
            .scalar_subquery()
        )
        stmt = (
            select(Task.id, Task.kind, Task.title, Task.due_on, Task.priority, Task.status,
                   DropoutCase.stage, Child.name, Child.scope_path, School.name,
                   total.label("total"))
            .join(chosen, chosen.c.id == Task.id)
            .join(DropoutCase, DropoutCase.id == Task.case_id)
            .join(Child, Child.id == DropoutCase.child_id)
            .outerjoin(School, School.id == DropoutCase.school_id)
            .order_by(Task.due_on, Task.id)
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
    total_count = rows[0].total if rows else 0
    return _json({"data": {"agencyQueue": {"totalCount": total_count,
                                           "edges": [{"node": n} for n in out]}}})


async def case_timeline(request: Request) -> Response:
    async with sessions() as session:
        ctx = await _context(request, session)
        if isinstance(ctx, Response):
            return ctx
        case_id = int(request.query_params["id"])
        (case,) = await case_service.get_cases(ctx, [case_id])
        if case is None:
            return _json({"data": {"node": None}})
        (events,) = await case_service.timeline(ctx, [case_id])
    return _json({"data": {"node": {
        "id": request.query_params["id"], "stage": case.stage.value.upper(),
        "version": case.version,
        "timeline": [{"occurredAt": e.occurred_at.isoformat(), "kind": e.kind,
                      "fromStage": e.from_stage and e.from_stage.value.upper(),
                      "toStage": e.to_stage and e.to_stage.value.upper(),
                      "reason": e.reason, "actorUsername": e.actor_username}
                     for e in events]}}})


async def persuade(request: Request) -> Response:
    async with sessions() as session:
        ctx = await _context(request, session)
        if isinstance(ctx, Response):
            return ctx
        await case_service.record_persuasion(
            ctx, case_id=int(request.query_params["id"]), method=PersuasionMethod.PHONE,
            outcome=PersuasionOutcome.UNREACHABLE, attempted_at=datetime.now(UTC))
        await session.commit()
    return _json({"data": {"recordPersuasion": {"userErrors": []}}})


app = Starlette(routes=[
    Route("/floor/tasks", tasks, methods=["GET", "POST"]),
    Route("/floor/case", case_timeline, methods=["GET", "POST"]),
    Route("/floor/persuade", persuade, methods=["GET", "POST"]),
])
