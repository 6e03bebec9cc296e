"""A case with its timeline as one statement that builds its JSON in PostgreSQL (issue 19):
the persisted ``CaseTimeline`` operation
(``workflow/reference_data/persisted/CaseTimeline.graphql``).

The same answer as ``node(id:)`` on the normal path, from the same sources: the case only
where ``visible`` (the compiled ``case:dropout``/``read`` policy filter ``get_cases``
applies; otherwise ``node`` is null), its events oldest first as ``timeline`` reads them.
The case's key is the statement's one parameter (``$1``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, Text, cast, literal_column, select

from models.case import CaseEvent, DropoutCase
from models.enums import CaseStage
from workflow.case.query import visible
from workflow.context import ServiceContext
from workflow.json_sql import Spelling, agg, global_id, obj, utc_iso

CASE_TYPE = "DropoutCase"


def statement(ctx: ServiceContext, spell: Spelling) -> Select[Any]:
    """``{"data": {"node": …}}`` for the case whose key is ``$1``."""
    event = obj(
        ("occurredAt", utc_iso(CaseEvent.occurred_at)),
        ("kind", CaseEvent.kind),
        ("fromStage", spell.enum(CaseEvent.from_stage, CaseStage)),
        ("toStage", spell.enum(CaseEvent.to_stage, CaseStage)),
        ("reason", CaseEvent.reason),
        ("actorUsername", CaseEvent.actor_username),
    )
    timeline = (select(agg(event, CaseEvent.id)).where(CaseEvent.case_id == DropoutCase.id)
                .scalar_subquery())
    node = (
        select(obj(
            ("id", global_id(CASE_TYPE, DropoutCase.id)),
            ("stage", spell.enum(DropoutCase.stage, CaseStage)),
            ("version", DropoutCase.version),
            ("timeline", timeline),
        ))
        .where(DropoutCase.id == literal_column("$1::integer"), visible(ctx))
        .scalar_subquery()
    )
    return select(cast(obj(("data", obj(("node", node)))), Text))
