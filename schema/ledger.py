"""GraphQL for the three ledgers (三个台账): each a connection with filters, its entries
showing the child masked as in every list, and the fixed export query of each built from its
columns (``reference_data/ledgers.json``) for the export route (``api/files.py``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from enum import Enum
from typing import Any, Optional

import strawberry

from models.case import PersuasionAttempt
from schema.case import CaseNode, PersuasionType
from schema.child import ChildNode
from schema.context import Info
from schema.crosscheck import CrosscheckFindingNode
from schema.enums import (
    CaseStage,
    ClosureReason,
    DropoutCause,
    LedgerStatus,
    SpecialGroup,
    SuspicionReason,
)
from schema.languages import CHINESE, label
from schema.operations import arguments
from schema.pagination import Connection, page_request, selects_total, to_connection
from schema.school import SchoolNode
from schema.shape import related, row_field
from workflow import ledger as service
from workflow.context import ServiceContext
from workflow.ledger import rules
from workflow.ledger.rules import LedgerKind
from workflow.pagination import Page, PageRequest

EXPORT_PAGE = 100  # rows per page of an export (the API's page-size cap)


async def _child(info: Info, child_id: int, stage: CaseStage | None = None) -> ChildNode | None:
    """An entry's child through the loader that reads children under ``child read``
    (``workflow.child.visible``): a ledger grant gives the row (its status, school, township:
    what the inspectorate counts), never the child's details, nor the guardians and enrolment
    its node loads trusting its caller. Null for a child the caller may not read; one batched
    statement per page."""
    found = await info.context.loaders.registered_child.load(child_id)
    return None if found is None else ChildNode.from_model(found, stage=stage)


async def _person(info: Info, finding_id: int) -> CrosscheckFindingNode | None:
    """A person on no register as its finding shows it, through the loader that reads
    findings under their own policy (``crosscheck_finding read``): as for a child, the
    ledger's grant gives the row, not the person's details."""
    found = await info.context.loaders.crosscheck_finding.load(finding_id)
    return None if found is None else CrosscheckFindingNode.from_model(found)


def person_field() -> Any:
    """An entry's ``person``: the household list's person on no register (an open finding of
    适龄未入学 with no child row), null for an entry of a child or a person the caller may
    not read."""

    async def resolve(root: Any, info: Info) -> CrosscheckFindingNode | None:
        return None if root.row.person is None else await _person(info, root.row.person.id)

    return strawberry.field(resolver=resolve, description=(
        "A person on no register (适龄未入学: on a household list, matched to no child): "
        "the comparisons' finding, masked as the findings list masks it; its verification "
        "task places it. Null for an entry of a child, or when the caller may not read "
        "findings."))


def _stage(root: Any) -> CaseStage | None:
    """The stage the child is masked at: a dropout entry's case's (as the case shows it)."""
    case = getattr(root.row, "case", None)
    return None if case is None else case.stage


def child_field(description: str) -> Any:
    """An entry's ``child`` (``_child``), null for a child the caller may not read."""

    async def resolve(root: Any, info: Info) -> ChildNode | None:
        if root.row.child is None:  # a person on no register (``person``)
            return None
        return await _child(info, root.row.child.id, _stage(root))

    return strawberry.field(resolver=resolve, description=description)


def group_titles_field() -> Any:
    """An entry's ``specialGroupTitles``: the child's groups the caller may see (as
    ``specialGroups`` masks them) in the county's words; none for an unreadable child."""

    async def resolve(root: Any, info: Info) -> list[str]:
        person = getattr(root.row, "person", None)
        if person is not None:
            found = await _person(info, person.id)
            return [] if found is None else [_title("SpecialGroup", g)
                                             for g in found.groups(info)]
        node = await _child(info, root.row.child.id, _stage(root))
        return [] if node is None else [_title("SpecialGroup", g)
                                        for g in await node.shown_groups(info)]

    return strawberry.field(resolver=resolve, description="The child's special groups the "
                            "caller may see, as the county's sheet names them.")


def _title(enum: str, value: Enum) -> str:
    """A value as the county's sheets name it: the enum's Chinese label, whatever the
    request's language (the sheets go up in Chinese)."""
    return label(enum, value.name, CHINESE) or value.name


@strawberry.type(name="SchoolAgeLedgerEntry",
                 description="A child of school age and where it stands (适龄儿童台账).")
class SchoolAgeEntryType:
    row: strawberry.Private[service.SchoolAgeEntry]

    child = child_field("The child, masked as in every list of children; its "
                        "registerEvents are the entry's history. Null when the caller may not "
                        "read the child, or for a person on no register.")
    person = person_field()

    special_group_titles = group_titles_field()

    status = row_field("status", LedgerStatus)

    @strawberry.field(description="The status as the county's sheet names it.")
    def status_title(self) -> str:
        return _title("LedgerStatus", self.row.status)

    since = row_field("since", date | None, description="Since when the register entry has "
                      "its status; null for a child on no register.")
    school = related("school", "row.place.school_id", SchoolNode)
    school_name = row_field("place.school_name", str | None)
    grade = row_field("place.grade", int | None)
    township_name = row_field("place.township_name", str,
                              description="The home township (户籍所在乡镇).")


@strawberry.type(name="SuspectedLedgerEntry",
                 description="A suspected dropout (疑似辍学学生台账) and why.")
class SuspectedEntryType:
    row: strawberry.Private[service.SuspectedEntry]

    child = child_field("The child, masked as in every list; its registerEvents "
                        "are the entry's history. Null when the caller may not read the child, "
                        "or for a person on no register.")
    person = person_field()

    special_group_titles = group_titles_field()

    reasons = row_field("reasons", list[SuspicionReason])

    @strawberry.field(description="The reasons as the county's sheet names them.")
    def reason_titles(self) -> list[str]:
        return [_title("SuspicionReason", r) for r in self.row.reasons]

    since = row_field("since", date | None, description="When the child was first suspected.")
    school = related("school", "row.place.school_id", SchoolNode)
    school_name = row_field("place.school_name", str | None)
    grade = row_field("place.grade", int | None)
    township_name = row_field("place.township_name", str,
                              description="The home township (户籍所在乡镇).")


def _persuasion(p: PersuasionAttempt) -> PersuasionType:
    return PersuasionType(attempted_at=p.attempted_at, method=p.method, outcome=p.outcome,
                          agency_kind=p.agency_kind, participants=p.participants, note=p.note)


@strawberry.type(name="DropoutLedgerEntry",
                 description="A confirmed dropout (辍学学生台账): the case, every persuasion, "
                 "and when and why it was closed off (动态销号).")
class DropoutEntryType:
    row: strawberry.Private[service.DropoutEntry]

    child = child_field("The child, masked as in every list; null when the "
                        "caller may not read the child.")

    special_group_titles = group_titles_field()

    case = related("case", "row.case.id", CaseNode,
                   description="The case with its timeline (the entry's history), when the "
                   "caller may read cases.")
    first_absence = row_field("case.day0", date)
    stage = row_field("case.stage", CaseStage)

    @strawberry.field(description="The stage as the county's sheet names it.")
    def stage_title(self) -> str:
        return _title("CaseStage", self.row.case.stage)
    cause = row_field("cause", DropoutCause | None, description="From the case's plan.")

    @strawberry.field(description="The cause as the county's sheet names it.")
    def cause_title(self) -> str | None:
        return None if self.row.cause is None else _title("DropoutCause", self.row.cause)

    @strawberry.field(description="Every persuasion attempt (劝返), oldest first.")
    def persuasions(self) -> list[PersuasionType]:
        return [_persuasion(p) for p in self.row.persuasions]

    @strawberry.field(description="How many persuasion attempts are on record.")
    def persuasion_count(self) -> int:
        return len(self.row.persuasions)

    @strawberry.field(description="The attempts in one line (date, method, outcome).")
    def persuasion_summary(self) -> str:
        return "；".join(
            f"{p.attempted_at.date().isoformat()} {_title('PersuasionMethod', p.method)}"
            f" {_title('PersuasionOutcome', p.outcome)}" for p in self.row.persuasions)

    @strawberry.field(description="Closed off (销号): the child is back or otherwise placed.")
    def closed(self) -> bool:
        return self.row.case.closed_at is not None

    closed_at = row_field("case.closed_at", datetime | None)
    closed_on = row_field("closed_on", date | None)
    closure_reason = row_field("case.closure_reason", ClosureReason | None)

    @strawberry.field(description="Why it was closed off, as the county's sheet names it.")
    def closure_title(self) -> str | None:
        reason = self.row.case.closure_reason
        return None if reason is None else _title("ClosureReason", reason)

    school = related("school", "row.place.school_id", SchoolNode)
    school_name = row_field("place.school_name", str | None)
    grade = row_field("place.grade", int | None)
    township_name = row_field("place.township_name", str,
                              description="The home township (户籍所在乡镇).")


@strawberry.input(description="What every ledger filters by.")
class LedgerFilterFields:
    jurisdiction_code: str | None = strawberry.field(
        default=None, description="A district (its domain) or a township (its home children).")
    school: strawberry.ID | None = strawberry.field(default=None,
                                                    description="The School's global id.")
    grade: int | None = None
    special_group: SpecialGroup | None = strawberry.field(
        default=None, description="A group that reveals poverty or health filters only "
        "children whose field the caller may unmask.")
    since: date | None = strawberry.field(default=None,
                                          description="The entry's date on or after this day.")
    until: date | None = strawberry.field(default=None,
                                          description="The entry's date on or before this day.")


@strawberry.input(name="SchoolAgeLedgerFilter")
class SchoolAgeFilterInput(LedgerFilterFields):
    status: LedgerStatus | None = None


@strawberry.input(name="SuspectedLedgerFilter")
class SuspectedFilterInput(LedgerFilterFields):
    reason: SuspicionReason | None = None


@strawberry.input(name="DropoutLedgerFilter")
class DropoutFilterInput(LedgerFilterFields):
    closed: bool | None = strawberry.field(
        default=None, description="Closed off (true) or still open (false); both when absent.")


def _service_filter(cls: type, given: object | None) -> Any:
    kwargs = arguments(given, {"school": "School"})
    kwargs["school_id"] = kwargs.pop("school", None)
    return cls(**kwargs)


PageFn = Callable[..., Awaitable[Page[Any]]]


async def _page(info: Info, fn: PageFn, f: object, first: int | None,
                after: str | None) -> Page[Any]:
    request: PageRequest = page_request(info, first, after)
    ctx: ServiceContext = info.context.services
    return await fn(ctx, f, request, counted=selects_total(info))


def _ledger(entry: Any, page: PageFn, service_filter: type, filter_input: type,
            description: str) -> Any:
    """A ledger's list field: its filter input as the service's filter, a page of ``entry``
    (counted only when the query asks for ``totalCount``)."""

    async def resolve(info: Info, filter: Any = None, first: int | None = None,
                      after: str | None = None) -> Any:
        f = _service_filter(service_filter, filter)
        return to_connection(await _page(info, page, f, first, after), lambda e: entry(row=e))

    resolve.__annotations__ = {
        "info": Info, "filter": Optional[filter_input],  # noqa: UP045
        "first": Optional[int], "after": Optional[str],  # noqa: UP045
        "return": Connection[entry],
    }
    return strawberry.field(resolver=resolve, description=description)


@strawberry.type
class LedgerQuery:
    school_age_ledger = _ledger(
        SchoolAgeEntryType, service.school_age_page, service.SchoolAgeFilter,
        SchoolAgeFilterInput, "适龄儿童台账: every child of school age the caller may read, "
        "with its status, from the register, deferrals and cases; then the persons on no "
        "register the comparisons found (适龄未入学, `person`).")
    suspected_ledger = _ledger(
        SuspectedEntryType, service.suspected_page, service.SuspectedFilter,
        SuspectedFilterInput, "疑似辍学学生台账: children with an open absence case, a "
        "transfer out not received or an open finding of the comparisons, not marked dropped "
        "out; then the persons on no register the comparisons found (适龄未入学, `person`).")
    dropout_ledger = _ledger(
        DropoutEntryType, service.dropout_page, service.DropoutFilter, DropoutFilterInput,
        "辍学学生台账: every case that reached the dropout report, open or closed off, with "
        "its persuasion attempts.")


# --- exports ----------------------------------------------------------------------------

FIELDS = {
    LedgerKind.SCHOOL_AGE: ("schoolAgeLedger", "SchoolAgeLedgerFilter"),
    LedgerKind.SUSPECTED: ("suspectedLedger", "SuspectedLedgerFilter"),
    LedgerKind.DROPOUT: ("dropoutLedger", "DropoutLedgerFilter"),
}


def _selection(paths: list[str]) -> str:
    """The GraphQL selection of dotted paths (``child.nationalId.value``)."""
    tree: dict[str, Any] = {}
    for path in paths:
        node = tree
        for part in path.split("."):
            node = node.setdefault(part, {})

    def render(node: dict[str, Any]) -> str:
        return " ".join(k if not v else f"{k} {{ {render(v)} }}" for k, v in node.items())

    return render(tree)


def _column_key(path: str) -> str:
    """The column an export row has for a path: a sensitive value's ``value`` is shown in its
    field's own column (``workflow/exports.flatten``)."""
    return path.removesuffix(".value")


def export_request(
    kind: LedgerKind,
) -> tuple[str, dict[str, str], str, dict[str, Any], dict[str, str]]:
    """A ledger's export: the fixed GraphQL query (paged by ``$after``, filtered by
    ``$filter``), the column titles by column, the file's name, how the columns that hold an
    enum's value are shown (its Chinese label: the sheets go up in Chinese), and the column
    that fills each column where its own value is empty (``Column.otherwise``)."""
    book = rules.ledger(kind)
    name, filter_type = FIELDS[kind]
    paths = [c.field for c in book.columns] + [c.otherwise for c in book.columns
                                                if c.otherwise]
    query = (
        f"query LedgerExport($filter: {filter_type}, $after: String) {{ {name}(filter: $filter,"
        f" first: {EXPORT_PAGE}, after: $after) {{ edges {{ node {{ {_selection(paths)} }} }}"
        " pageInfo { hasNextPage endCursor } } }"
    )
    titles = {_column_key(c.field): c.title for c in book.columns}
    shown = {_column_key(c.field): _shown(c.labels) for c in book.columns if c.labels}
    otherwise = {_column_key(c.field): _column_key(c.otherwise)
                 for c in book.columns if c.otherwise}
    return query, titles, f"ledger-{kind.value}", shown, otherwise


def _shown(enum: str) -> Any:
    """An enum's value (its GraphQL name) as the county's sheet words it."""
    return lambda name: label(enum, name, CHINESE) or name
