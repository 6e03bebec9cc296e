"""GraphQL types and queries for the reference data."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from operator import attrgetter
from typing import Any, Optional

import strawberry
from strawberry import relay

from schema.context import Info
from schema.enums import AgencyKind, JurisdictionLevel
from schema.operations import listing
from schema.shape import Mirror, MirrorNode, fetched_by, maybe, maybe_each
from workflow import reference


def _loaded_at(
    loader: str, path: str, shape: Callable[[Any], Any]
) -> Callable[[Any, Info], Awaitable[Any]]:
    key = attrgetter(path)

    async def resolve(root: Any, info: Info) -> Any:
        row = await getattr(info.context.loaders, loader).load(key(root))
        assert row is not None  # a foreign key
        return shape(row)

    return resolve


def agency_at(path: str) -> Callable[[Any, Info], Awaitable[AgencyNode]]:
    """A resolver for the agency whose id sits at ``path`` on the object (``agency_id``):
    every type that names an agency by foreign key loads it through the request's one agency
    loader, so a page of them costs one statement."""
    return _loaded_at("agency", path, lambda a: AgencyNode.from_model(a))


def jurisdiction_at(path: str) -> Callable[[Any, Info], Awaitable[JurisdictionNode]]:
    """``agency_at`` for a jurisdiction named by its code at ``path`` (``township_code``)."""
    return _loaded_at("jurisdiction", path, lambda j: JurisdictionNode.from_model(j))


@strawberry.type(name="Jurisdiction", description="A node of the administrative tree (GB/T 2260).")
class JurisdictionNode(relay.Node, Mirror):
    sources = (("jurisdiction_code", "code"),)
    jurisdiction_code: relay.NodeID[str]
    code: str = strawberry.field(description="GB/T 2260 code, or nine-digit township code.")
    name: str
    level: JurisdictionLevel
    path: str = strawberry.field(description="Codes from the province down, '/'-separated.")
    parent_code: strawberry.Private[str | None]


    @strawberry.field
    async def parent(self, info: Info) -> JurisdictionNode | None:
        if self.parent_code is None:
            return None
        parent = await info.context.loaders.jurisdiction.load(self.parent_code)
        return maybe(JurisdictionNode.from_model, parent)

    @strawberry.field
    async def children(self, info: Info) -> list[JurisdictionNode]:
        rows = await info.context.loaders.jurisdiction_children.load(self.code)
        return [JurisdictionNode.from_model(j) for j in rows]

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[JurisdictionNode | None]:
        rows = await reference.get_jurisdictions(info.context.services, list(node_ids))
        return maybe_each(cls.from_model, rows)


@fetched_by(reference.get_agencies)
@strawberry.type(name="Agency", description="An office of an agency kind, bound to a jurisdiction.")
class AgencyNode(MirrorNode):
    kind: AgencyKind
    name: str
    jurisdiction_code: strawberry.Private[str]


    jurisdiction: JurisdictionNode = strawberry.field(resolver=jurisdiction_at("jurisdiction_code"))


@fetched_by(reference.get_duties)
@strawberry.type(name="Duty", description="A duty an agency holds, citing its source rule.")
class DutyNode(relay.Node, Mirror):
    sources = (("agency", "agency_kind"),)
    duty_id: relay.NodeID[int]
    agency: AgencyKind
    code: str
    title: str
    title_en: str
    source_key: str = strawberry.field(description="Seed rule key: LS, SPT, GH, YQ or ST.")
    article: str = strawberry.field(description="Article or item, e.g. '7', '6(4)', '二(六)'.")
    quote: str = strawberry.field(description="Verbatim excerpt of the source rule.")


    @strawberry.field(description="The citation in the brief's style, e.g. 'SPT 6(4)'.")
    def citation(self) -> str:
        return f"{self.source_key} {self.article}"


@strawberry.type
class ReferenceQuery:
    @strawberry.field(description="Jurisdictions; by default the roots (provinces).")
    async def jurisdictions(
        self,
        info: Info,
        parent_code: str | None = None,
        level: JurisdictionLevel | None = None,
    ) -> list[JurisdictionNode]:
        rows = await reference.list_jurisdictions(
            info.context.services,
            parent_code=parent_code,
            level=level,
            roots_only=parent_code is None and level is None,
        )
        return [JurisdictionNode.from_model(j) for j in rows]

    @strawberry.field
    async def jurisdiction(self, info: Info, code: str) -> JurisdictionNode | None:
        (row,) = await reference.get_jurisdictions(info.context.services, [code])
        return maybe(JurisdictionNode.from_model, row)

    agencies = listing(
        AgencyNode, reference.agencies_page,
        kind=(Optional[AgencyKind], None), jurisdiction_code=(Optional[str], None),  # noqa: UP045
        description="Agencies, optionally of one kind and within a jurisdiction.",
    )

    @strawberry.field(description="The duty catalogue, optionally for one agency kind.")
    async def duties(self, info: Info, agency: AgencyKind | None = None) -> list[DutyNode]:
        rows = await reference.list_duties(info.context.services, agency)
        return [DutyNode.from_model(d) for d in rows]
