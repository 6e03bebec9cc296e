"""GraphQL types and queries for children, guardians and the register."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry

from authz.masking import SensitiveField
from models import child as m
from schema.backrefs import provides
from schema.context import Info
from schema.enums import CaseStage, EnrolmentStatus, RegisterType, Sex, SpecialGroup
from schema.pagination import Connection, page_request, to_connection
from schema.reference import JurisdictionNode, jurisdiction_at
from schema.school import SchoolNode, school_key
from schema.sensitive import SensitiveValue
from schema.shape import RowNode, fetched_by, row_field
from workflow import child as service

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
        shown = info.context.guard.show(
            fld,
            value,
            record_type="child",
            record_id=self.row.id,
            domain=self.row.scope_path,
            stage=self.stage,
            also=self.row.residence_path,
        )
        return SensitiveValue.of(shown)

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
        )


@strawberry.type
class ChildQuery:
    @strawberry.field(description="Children the caller may see, filtered in the database.")
    async def children(
        self,
        info: Info,
        school: Annotated[
            strawberry.ID | None, strawberry.argument(description="The School's global id.")
        ] = None,
        school_id: Annotated[
            int | None,
            strawberry.argument(
                deprecation_reason="A raw database key: use school, the School's global id."
            ),
        ] = None,
        township_code: str | None = None,
        special_group: SpecialGroup | None = None,
        status: EnrolmentStatus | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[ChildNode]:
        services = info.context.services
        page = await service.children_page(
            services,
            service.ChildFilter(
                school_id=school_key(school, school_id, "school"),
                township_code=township_code,
                special_group=special_group,
                status=status,
            ),
            page_request(info, first, after),
        )
        return to_connection(page, ChildNode.from_model)
