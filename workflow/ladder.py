"""Ladders: the shipped variants of the five seed rules, and each district's versions.

The templates live in ``reference_data/ladders.json``; each seed's variant is installed as
version 1 for its own district, and any district adopts a template or defines its own
ladder, which creates a new version (never an edit in place: running cases keep theirs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from models.enums import AgencyKind, CaseStage, DayKind, StepEntry
from models.ladder import Ladder, LadderStep, LadderTask
from models.reference import Jurisdiction
from workflow import audit
from workflow.context import ServiceContext
from workflow.errors import InvalidInput, NotFound
from workflow.infra import reference_json

DOCUMENT_KINDS = (
    "enrol_notice",
    "township_order",
    "judicial_referral",
    "judicial",
    "dropout_report",
    "return_order",
    "penalty_decision",
)


@cache
def templates() -> dict[str, dict[str, Any]]:
    rows: list[dict[str, Any]] = reference_json.load("ladders.json")
    return {row["code"]: row for row in rows}


@dataclass(frozen=True)
class TaskSpec:
    agency: AgencyKind
    kind: str
    title: str
    due_days: int


@dataclass(frozen=True)
class StepSpec:
    code: str
    stage: CaseStage
    entry: StepEntry
    anchor: str
    offset_days: int
    day_kind: DayKind
    document: str | None
    basis_key: str
    basis_article: str
    basis_quote: str
    tasks: tuple[TaskSpec, ...]


def parse_steps(raw_steps: Sequence[dict[str, Any]]) -> list[StepSpec]:
    """Validate a ladder's steps (from a template or a client) into specs."""
    steps: list[StepSpec] = []
    try:
        for i, raw in enumerate(raw_steps):
            basis = raw.get("legal_basis") or {}
            tasks = tuple(
                TaskSpec(
                    AgencyKind(t["agency"]),
                    str(t["kind"]),
                    str(t["title"]),
                    int(t.get("due_days", 1)),
                )
                for t in raw.get("tasks", [])
            )
            step = StepSpec(
                code=str(raw["code"]),
                stage=CaseStage(raw["stage"]),
                entry=StepEntry(raw.get("enter", "deadline")),
                anchor=str(raw.get("anchor", "day0")),
                offset_days=int(raw.get("offset_days", 0)),
                day_kind=DayKind(raw.get("day_kind", "calendar")),
                document=raw.get("document"),
                basis_key=str(basis.get("source_key", "")),
                basis_article=str(basis.get("article", "")),
                basis_quote=str(basis.get("quote", "")),
                tasks=tasks,
            )
            _check_step(i, step, steps)
            steps.append(step)
    except (KeyError, ValueError, TypeError) as exc:
        raise InvalidInput(f"ladder step {len(steps) + 1}: {exc}", field="steps") from exc
    if not steps:
        raise InvalidInput("a ladder needs at least one step", field="steps")
    return steps


def _check_step(i: int, step: StepSpec, before: list[StepSpec]) -> None:
    if step.stage is CaseStage.CLOSED:
        raise ValueError("no step enters the closed stage; closing is an action")
    if before and step.stage.ordinal < before[-1].stage.ordinal:
        raise ValueError(f"stage {step.stage} comes before {before[-1].stage}")
    if i == 0 and (step.anchor != "day0" or step.entry is not StepEntry.DEADLINE):
        raise ValueError("the first step is entered on day 0")
    if step.anchor not in ("day0", "previous") and not (
        step.anchor.startswith("served:") and step.anchor[7:] in DOCUMENT_KINDS
    ):
        raise ValueError(f"unknown anchor {step.anchor!r}")
    if step.document is not None and step.document not in DOCUMENT_KINDS:
        raise ValueError(f"unknown document kind {step.document!r}")
    if step.offset_days < 0 or any(t.due_days < 0 for t in step.tasks):
        raise ValueError("day counts cannot be negative")
    if not step.basis_key or not step.basis_article:
        raise ValueError("each step cites its legal basis (source key and article)")
    if any(s.code == step.code for s in before):
        raise ValueError(f"duplicate step code {step.code!r}")


def _ladder_row(
    jurisdiction_code: str,
    version: int,
    code: str,
    name: str,
    description: str,
    based_on: str | None,
    steps: Sequence[StepSpec],
    created_by: int | None,
) -> Ladder:
    ladder = Ladder(
        jurisdiction_code=jurisdiction_code,
        version=version,
        code=code,
        name=name,
        description=description,
        based_on=based_on,
        created_by=created_by,
    )
    ladder.steps = [
        LadderStep(
            position=i + 1,
            code=s.code,
            stage=s.stage,
            entry=s.entry,
            anchor=s.anchor,
            offset_days=s.offset_days,
            day_kind=s.day_kind,
            document_kind=s.document,
            basis_key=s.basis_key,
            basis_article=s.basis_article,
            basis_quote=s.basis_quote,
            tasks=[
                LadderTask(agency_kind=t.agency, kind=t.kind, title=t.title, due_days=t.due_days)
                for t in s.tasks
            ],
        )
        for i, s in enumerate(steps)
    ]
    return ladder


def _template_version(
    code: str, tpl: dict[str, Any]
) -> tuple[str, str, str, str | None, list[StepSpec]]:
    """A template's code, name, description, basis (itself) and steps: a new ladder version
    as both the seeding and ``adoptLadder`` install it."""
    return code, tpl["name"], tpl.get("description", ""), code, parse_steps(tpl["steps"])


async def install_templates(session: AsyncSession) -> int:
    """Give each seed's district its own variant as version 1 (idempotent)."""
    installed = 0
    for code, tpl in templates().items():
        district = tpl["jurisdiction"]
        if await session.get(Jurisdiction, district) is None:
            continue
        has = await session.execute(
            select(Ladder.id).where(Ladder.jurisdiction_code == district).limit(1)
        )
        if has.first() is not None:
            continue
        session.add(_ladder_row(district, 1, *_template_version(code, tpl), None))
        installed += 1
    await session.flush()
    return installed


async def ancestors(session: AsyncSession, code: str) -> list[str]:
    """The jurisdiction and its ancestors, nearest first."""
    path = (
        await session.execute(select(Jurisdiction.path).where(Jurisdiction.code == code))
    ).scalar_one_or_none()
    if path is None:
        raise NotFound("no such jurisdiction", field="jurisdictionCode")
    return list(reversed(path.split("/")))


def template_ladder(template: str) -> Ladder:
    """A shipped ladder template as an unsaved row of its own district (no database): what
    specimen documents are printed against."""
    tpl = templates()[template]
    return _ladder_row(tpl["jurisdiction"], 1, template, tpl["name"], tpl.get("description", ""),
                       template, parse_steps(tpl["steps"]), None)


async def current_ladder(session: AsyncSession, jurisdiction_code: str) -> Ladder:
    """The newest version in force for the jurisdiction or its nearest ancestor."""
    codes = await ancestors(session, jurisdiction_code)
    rows = (
        (
            await session.execute(
                select(Ladder)
                .options(selectinload(Ladder.steps).selectinload(LadderStep.tasks))
                .where(Ladder.jurisdiction_code.in_(codes))
                .order_by(Ladder.version.desc())
            )
        )
        .scalars()
        .all()
    )
    for code in codes:
        for ladder in rows:
            if ladder.jurisdiction_code == code:
                return ladder
    raise NotFound("no ladder is configured for this jurisdiction", field="jurisdictionCode")


async def get_ladder(session: AsyncSession, ladder_id: int) -> Ladder:
    ladder = (
        await session.execute(
            select(Ladder)
            .options(selectinload(Ladder.steps).selectinload(LadderStep.tasks))
            .where(Ladder.id == ladder_id)
        )
    ).scalar_one_or_none()
    if ladder is None:
        raise NotFound("no such ladder", field="ladderId")
    return ladder


async def read_current(ctx: ServiceContext, jurisdiction_code: str) -> Ladder:
    ctx.authz.require(ctx.principal, "ladder", "read", ctx.principal.agency_scope)
    return await current_ladder(ctx.session, jurisdiction_code)


async def _managed(ctx: ServiceContext, jurisdiction_code: str) -> Jurisdiction:
    """The jurisdiction whose ladder changes, if the caller manages ladders there: asked
    before the template, name or steps are judged, so a caller without the right learns
    nothing from the validation."""
    j = await ctx.session.get(Jurisdiction, jurisdiction_code)
    if j is None:
        raise NotFound("no such jurisdiction", field="jurisdictionCode")
    ctx.authz.require(ctx.principal, "ladder", "manage", j.path)
    return j


async def _new_version(
    ctx: ServiceContext,
    j: Jurisdiction,
    code: str,
    name: str,
    description: str,
    based_on: str | None,
    steps: Sequence[StepSpec],
) -> Ladder:
    latest = (
        await ctx.session.execute(
            select(func.max(Ladder.version)).where(Ladder.jurisdiction_code == j.code)
        )
    ).scalar_one()
    ladder = _ladder_row(
        j.code, (latest or 0) + 1, code, name, description, based_on, steps, ctx.principal.user_id
    )
    ladder.created_at = ctx.clock.now()
    await audit.insert(ctx, "set_ladder", ladder, {
        "jurisdiction": j.code,
        "version": ladder.version,
        "based_on": based_on,
        "steps": [
            [s.code, s.stage.value, s.anchor, s.offset_days, s.day_kind.value] for s in steps
        ],
    })
    return await get_ladder(ctx.session, ladder.id)


async def adopt_template(ctx: ServiceContext, jurisdiction_code: str, template: str) -> Ladder:
    j = await _managed(ctx, jurisdiction_code)
    tpl = templates().get(template)
    if tpl is None:
        raise InvalidInput(
            f"no template {template!r}; have {sorted(templates())}", field="template"
        )
    return await _new_version(ctx, j, *_template_version(template, tpl))


async def define_ladder(
    ctx: ServiceContext, jurisdiction_code: str, name: str, steps: Sequence[dict[str, Any]]
) -> Ladder:
    j = await _managed(ctx, jurisdiction_code)
    if not name.strip():
        raise InvalidInput("a ladder needs a name", field="name")
    return await _new_version(ctx, j, "custom", name.strip(), "", None, parse_steps(steps))
