"""GraphQL types and queries for children, guardians and the register."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Annotated, Any, Optional

import strawberry
from strawberry import relay

from authz.masking import SensitiveField
from models import child as m
from models import school as ms
from schema.backrefs import provides
from schema.context import Info
from schema.enums import (
    CaseStage,
    EnrolmentStatus,
    GuardianRelation,
    RegisterType,
    Sex,
    SpecialGroup,
)
from schema.ids import node_id
from schema.operations import Operation, listing, operations
from schema.pagination import Connection, page_request, to_connection
from schema.reference import JurisdictionNode, jurisdiction_at
from schema.school import SchoolNode, school_key
from schema.sensitive import SensitiveValue, row_value
from schema.shape import RowNode, fetched_by, related, row_field
from workflow import child as service
from workflow.context import ServiceContext
from workflow.pagination import Page, PageRequest
from workflow.register import pupils

# Declared as a method (not a resolver field) to keep the field where the SDL has it.
_township = jurisdiction_at("row.township_code")


@strawberry.type(name="Guardian")
class GuardianType:
    id_: strawberry.Private[int]
    child_id: strawberry.Private[int]
    scope: strawberry.Private[str]
    stage: strawberry.Private[CaseStage | None]
    name: str
    relation: str
    phone_raw: strawberry.Private[str | None]
    residence: strawberry.Private[str] = ""

    @strawberry.field(description="The guardian's global id (what updateGuardian takes).")
    def id(self) -> strawberry.ID:
        return strawberry.ID(relay.to_base64("Guardian", self.id_))

    @strawberry.field
    def phone(self, info: Info) -> SensitiveValue:
        shown = info.context.guard.show(
            SensitiveField.GUARDIAN_PHONE,
            self.phone_raw,
            record_type="guardian",
            record_id=self.id_,
            domain=self.scope,
            stage=self.stage,
            also=self.residence,
        )
        return SensitiveValue.of(shown)


@strawberry.type(name="Enrolment", description="The child's register entry (学籍).")
class EnrolmentType:
    school: SchoolNode
    grade: int
    class_no: int
    status: EnrolmentStatus
    status_since: date
    started_on: date | None = strawberry.field(
        description="First day of the child's compulsory schooling on the register (LS 10(5)).")
    spring_entrant: bool = strawberry.field(
        description="Entered a vocational school in the spring of the last junior year (ST 6).")


@strawberry.type(name="RegisterEvent", description="A dated change of the child's register "
                 "history: of its entry's status or of the register data (学籍档案).")
class RegisterEventType:
    row: strawberry.Private[ms.RegisterEvent]

    kind = row_field("kind", str, description="status, child_created, child_changed, "
                     "guardian_added, enrolled, transfer_requested, deferral_granted, …")
    on_date = row_field("on_date", date)
    from_status = row_field("from_status", EnrolmentStatus | None)
    to_status = row_field("to_status", EnrolmentStatus | None)
    reason = row_field("reason", str)
    detail = row_field("detail", Any, graphql_type=strawberry.scalars.JSON,
                       description="What changed: field names, never sensitive values.")
    recorded_at = row_field("recorded_at", datetime)

    school = related("school", "row.school_id", SchoolNode)


@provides
@fetched_by(service.get_children)
@strawberry.type(name="Child", description="A child of compulsory-school age.")
class ChildNode(RowNode):
    row: strawberry.Private[m.Child]
    # Reached through a case, the case's stage counts ("from stage S on" unmask grants).
    stage: strawberry.Private[CaseStage | None] = None

    @classmethod
    def from_model(cls, c: m.Child, stage: CaseStage | None = None) -> ChildNode:
        return cls(key=c.id, row=c, stage=stage)

    def _show(self, info: Info, fld: SensitiveField, value: str | None) -> SensitiveValue:
        return row_value(info, fld, value, self.row, "child", stage=self.stage,
                         also=self.row.residence_path)

    @strawberry.field(description="Full name, or surname and stars without the name grant.")
    def name(self, info: Info) -> str:
        return self._show(info, SensitiveField.NAME, self.row.name).value or ""

    sex = row_field("sex", Sex)
    birth_date = row_field("birth_date", date)

    @strawberry.field(description="Age in whole years today.")
    def age(self, info: Info) -> int:
        today = info.context.services.clock.now().date()
        b = self.row.birth_date
        return today.year - b.year - ((today.month, today.day) < (b.month, b.day))

    register_type = row_field("register_type", RegisterType)

    @strawberry.field(description="National ID number (GB 11643).")
    def national_id(self, info: Info) -> SensitiveValue:
        return self._show(info, SensitiveField.NATIONAL_ID, self.row.national_id)

    @strawberry.field(
        description="Register number; it embeds the ID number, so it is masked alike."
    )
    def student_no(self, info: Info) -> SensitiveValue:
        return self._show(info, SensitiveField.NATIONAL_ID, self.row.student_no)

    village = row_field("village", str)
    address = row_field("address", str, description="The household-register or home address.")
    version = row_field("version", int, description="Optimistic version: send it back when "
                        "changing the child.")

    household_corrections = related(
        "child_household_corrections", "row.id", "HouseholdCorrectionNode", many=True,
        lazy="schema.household")

    @strawberry.field(description="The child's register history, oldest first.")
    async def register_events(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[RegisterEventType]:
        page = await info.context.loaders.register_events.load(
            (self.row.id, page_request(info, first, after)))
        return to_connection(page, lambda e: RegisterEventType(row=e))

    @strawberry.field
    async def township(self, info: Info) -> JurisdictionNode:
        return await _township(self, info)

    @strawberry.field(description="Health or disability details (withheld without the grant).")
    def health_note(self, info: Info) -> SensitiveValue:
        return self._show(info, SensitiveField.HEALTH, self.row.health_note)

    @strawberry.field(description="Family income or poverty registration (withheld likewise).")
    def family_income_note(self, info: Info) -> SensitiveValue:
        return self._show(info, SensitiveField.FAMILY_INCOME, self.row.family_income_note)

    @strawberry.field(description="Groups to watch; poverty and health groups need their grant.")
    async def special_groups(self, info: Info) -> list[SpecialGroup]:
        return await self.shown_groups(info)

    async def shown_groups(self, info: Info) -> list[SpecialGroup]:
        """The child's groups the caller may see (``specialGroups``; the ledgers' titles)."""
        groups = await info.context.loaders.child_groups.load(self.row.id)
        guard = info.context.guard
        shown = []
        for g in groups:
            fld = service.GROUP_FIELD.get(g)
            if (
                fld is None
                or guard.show(
                    fld,
                    g.value,
                    record_type="child",
                    record_id=self.row.id,
                    domain=self.row.scope_path,
                    stage=self.stage,
                    also=self.row.residence_path,
                ).masked
                is False
            ):
                shown.append(g)
        return shown

    @strawberry.field
    async def guardians(self, info: Info) -> list[GuardianType]:
        rows = await info.context.loaders.guardians.load(self.row.id)
        return [
            GuardianType(
                id_=g.id,
                child_id=g.child_id,
                scope=self.row.scope_path,
                residence=self.row.residence_path,
                stage=self.stage,
                name=g.name,
                relation=g.relation.value,
                phone_raw=g.phone,
            )
            for g in rows
        ]

    @strawberry.field
    async def enrolment(self, info: Info) -> EnrolmentType | None:
        view = await info.context.loaders.enrolment.load(self.row.id)
        if view is None:
            return None
        s = view.school
        return EnrolmentType(
            school=SchoolNode.from_model(s),
            grade=view.enrolment.grade,
            class_no=view.enrolment.class_no,
            status=view.enrolment.status,
            status_since=view.enrolment.status_since,
            started_on=view.enrolment.started_on,
            spring_entrant=view.enrolment.spring_entrant,
        )


async def _children_page(
    ctx: ServiceContext, request: PageRequest, *, school: strawberry.ID | None,
    school_id: int | None, **given: Any,
) -> Page[m.Child]:
    """The children page for the list's arguments: ``school`` or the deprecated ``schoolId``."""
    school_filter = service.ChildFilter(school_id=school_key(school, school_id, "school"), **given)
    return await service.children_page(ctx, school_filter, request)


@strawberry.type
class ChildQuery:
    children = listing(
        ChildNode, _children_page,
        school=(Annotated[Optional[strawberry.ID],  # noqa: UP045
                          strawberry.argument(description="The School's global id.")], None),
        school_id=(Annotated[Optional[int], strawberry.argument(  # noqa: UP045
            deprecation_reason="A raw database key: use school, the School's global id.")], None),
        township_code=(Optional[str], None),  # noqa: UP045
        special_group=(Optional[SpecialGroup], None),  # noqa: UP045
        status=(Optional[EnrolmentStatus], None),  # noqa: UP045
        description="Children the caller may see, filtered in the database.",
    )


@strawberry.input(description="A guardian as entered with the child or added later.")
class GuardianInput:
    name: str
    relation: GuardianRelation
    phone: str | None = None

    def value(self) -> tuple[str, GuardianRelation, str | None]:
        return self.name, self.relation, self.phone


@strawberry.input(description="The child's details; on a change, only those sent change.")
class ChildDetailsInput:
    name: str | None = None
    sex: Sex | None = None
    birth_date: date | None = None
    register_type: RegisterType | None = strawberry.field(
        default=None, description="ID_CARD needs nationalId; OTHER (\"Z-other\") has none.")
    national_id: str | None = strawberry.field(default=None, description="GB 11643, checked.")
    township_code: str | None = None
    village: str | None = None
    address: str | None = None

    def value(self) -> pupils.ChildDetails:
        return pupils.ChildDetails(
            name=self.name, sex=self.sex, birth_date=self.birth_date,
            register_type=self.register_type, national_id=self.national_id,
            township_code=self.township_code, village=self.village, address=self.address,
        )


@strawberry.input(description="Where the child is enrolled.")
class PlacementInput:
    school: strawberry.ID
    grade: int | None = strawberry.field(default=None, description="Default: the first.")
    class_no: int = 1
    enrolled_on: date | None = None
    started_on: date | None = strawberry.field(
        default=None, description="First day of compulsory schooling (default: enrolledOn).")

    def value(self) -> pupils.Placement:
        return pupils.Placement(node_id(self.school, "School", "school"), self.grade,
                                self.class_no, self.enrolled_on, self.started_on)


@strawberry.input
class CreateChildInput:
    details: ChildDetailsInput
    placement: PlacementInput | None = strawberry.field(
        default=None, description="Enrol at once (a school registering a new pupil).")
    guardians: list[GuardianInput] = strawberry.field(default_factory=list)


@strawberry.input
class UpdateChildInput:
    child_id: strawberry.ID
    expected_version: int | None = None
    details: ChildDetailsInput


@strawberry.input
class AddGuardianInput:
    child_id: strawberry.ID
    guardian: GuardianInput


@strawberry.input
class EnrolChildInput:
    child_id: strawberry.ID
    placement: PlacementInput
    spring_entrant: bool = strawberry.field(
        default=False, description="A last-year junior pupil entering a vocational school in "
        "spring (ST 6); the junior school stays on the entry.")


def _value(given: Any) -> Any:
    """A nested input as its service value (its ``value()``), lists item by item."""
    if isinstance(given, list):
        return [_value(v) for v in given]
    return given.value() if hasattr(given, "value") else given


def _values(call: Callable[..., Awaitable[m.Child]]) -> Callable[..., Awaitable[m.Child]]:
    """``call`` with its nested inputs (details, placement, guardians) as service values."""
    async def run(ctx: ServiceContext, **given: Any) -> m.Child:
        return await call(ctx, **{k: _value(v) for k, v in given.items()})

    return run


async def _add_guardian(
    ctx: ServiceContext, *, child_id: int, guardian: tuple[str, GuardianRelation, str | None]
) -> m.Child:
    return await pupils.add_guardian(ctx, child_id, *guardian)


@strawberry.type
@operations("child", ChildNode, ids={"child_id": "Child", "guardian_id": "Guardian"})
class ChildMutation:
    # Descriptions in schema/descriptions.toml ("Register (issue 14)").
    create_child = Operation(_values(pupils.create_child), CreateChildInput)
    update_child = Operation(_values(pupils.update_child), UpdateChildInput)
    add_guardian = Operation(_values(_add_guardian), AddGuardianInput)
    update_guardian = Operation(pupils.update_guardian)
    remove_guardian = Operation(pupils.remove_guardian)
    enrol_child = Operation(_values(pupils.enrol_child), EnrolChildInput)
