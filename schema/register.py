"""GraphQL for register changes (学籍变动: transfers, suspensions, graduation, vocational early
leavers) and deferrals and exemptions (缓学/免学)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import strawberry

from authz.masking import SensitiveField
from models import register as m
from schema.child import ChildNode
from schema.context import Info
from schema.enums import (
    DeferralGround,
    DeferralKind,
    DeferralStatus,
    GuardianRelation,
    RegisterChangeKind,
    RegisterChangeStatus,
)
from schema.operations import Operation, listing, operations
from schema.school import SchoolNode
from schema.sensitive import SensitiveValue, row_value
from schema.shape import RowNode, fetched_by, related, row_field
from workflow.calendar import local_date
from workflow.context import ServiceContext
from workflow.register import changes, deferrals, query


@fetched_by(query.get_changes)
@strawberry.type(name="RegisterChange", description="A transfer or suspension (学籍变动), from "
                 "request to decision.")
class RegisterChangeNode(RowNode, columns=("kind", "status")):
    row: strawberry.Private[m.RegisterChange]
    to_district_code = row_field("to_district_code", str | None,
                                 description="Another county's code, for a transfer out of it.")
    requested_on = row_field("requested_on", date)
    starts_on = row_field("starts_on", date | None)
    ends_on = row_field("ends_on", date | None)
    reason = row_field("reason", str)
    decision_reason = row_field("decision_reason", str)
    decided_on = row_field("decided_on", date | None)
    received_on = row_field("received_on", date | None)
    ended_on = row_field("ended_on", date | None)
    version = row_field("version", int)

    @strawberry.field(description="Sent and not received in the district's days (set by the "
                      "scheduled job): a suspected dropout.")
    def not_received(self) -> bool:
        return self.row.kind is RegisterChangeKind.TRANSFER and self.row.flagged_at is not None

    child = related("registered_child", "row.child_id", ChildNode,
                    description="The child, when the caller may read it.")
    from_school = related("school", "row.from_school_id", SchoolNode)
    to_school = related("school", "row.to_school_id", SchoolNode)


@fetched_by(query.get_deferrals)
@strawberry.type(name="Deferral", description="A deferral (缓学) or exemption (免学) from "
                 "school: application, assessment, decision, end date (ST 2, 3).")
class DeferralNode(RowNode, columns=("kind", "status", "applicant_name", "applicant_relation",
                                     "applied_on", "starts_on", "ends_on", "assessment_needed",
                                     "assessed_on", "decided_on", "decision_reason", "version")):
    row: strawberry.Private[m.Deferral]

    def _health(self, info: Info, value: str | None) -> SensitiveValue:
        return row_value(info, SensitiveField.HEALTH, value, self.row, "deferral",
                         also=self.row.residence_path)

    @strawberry.field(description="Why (illness, disability…): health data, withheld without "
                      "the grant.")
    def ground(self, info: Info) -> SensitiveValue:
        return self._health(info, self.row.ground.value)

    @strawberry.field(description="The evidence (certificates): withheld likewise.")
    def evidence(self, info: Info) -> SensitiveValue:
        return self._health(info, self.row.evidence or None)

    @strawberry.field(description="The disabled federation's finding: withheld likewise.")
    def assessment(self, info: Info) -> SensitiveValue:
        if self.row.assessment_confirmed is None:
            return self._health(info, None)
        finding = "unable_to_learn" if self.row.assessment_confirmed else "able_to_learn"
        note = f"{finding}: {self.row.assessment_note}" if self.row.assessment_note else finding
        return self._health(info, note)

    @strawberry.field(description="Granted and in force today.")
    def valid_today(self, info: Info) -> bool:
        today = local_date(info.context.services.clock.now())
        r = self.row
        return r.status is DeferralStatus.GRANTED and r.starts_on <= today <= r.ends_on

    child = related("registered_child", "row.child_id", ChildNode,
                    description="The child, when the caller may read it.")


@strawberry.input
class RegisterChangeFilterInput:
    kind: RegisterChangeKind | None = None
    status: RegisterChangeStatus | None = None
    child: strawberry.ID | None = None
    not_received_in: str | None = strawberry.field(
        default=None, description="A district code: its transfers out sent and not received "
        "in its days as of `on` (today by default).")
    on: date | None = None


@strawberry.input
class DeferralFilterInput:
    status: DeferralStatus | None = None
    child: strawberry.ID | None = None
    valid_on: date | None = strawberry.field(
        default=None, description="Only deferrals granted and in force on that day.")


def _by_child(cls: type) -> Callable[..., object]:
    """The service filter ``cls`` from a filter input, whose ``child`` is its ``child_id``."""
    def build(child: int | None = None, **given: Any) -> object:
        return cls(child_id=child, **given)

    return build


@strawberry.type
class RegisterQuery:
    register_changes = listing(
        RegisterChangeNode, query.changes_page,
        filter=(RegisterChangeFilterInput, _by_child(query.ChangeFilter)), ids={"child": "Child"},
        description="Transfers and suspensions the caller may see.",
    )
    deferrals = listing(
        DeferralNode, query.deferrals_page,
        filter=(DeferralFilterInput, _by_child(query.DeferralFilter)), ids={"child": "Child"},
        description="Deferrals and exemptions of children the caller may read.",
    )


@strawberry.input
class RequestTransferInput:
    child_id: strawberry.ID
    to_school: strawberry.ID | None = strawberry.field(
        default=None, description="The receiving school (in this county or another on Lianbao).")
    to_district_code: str | None = strawberry.field(
        default=None, description="A county outside Lianbao, by its six-digit code.")
    reason: str
    requested_on: date | None = None


@strawberry.input
class ApplyForDeferralInput:
    child_id: strawberry.ID
    kind: DeferralKind
    ground: DeferralGround
    applied_on: date = strawberry.field(description="The written application's date (ST 2: "
                                        "early September; the window is data per district).")
    applicant_name: str
    applicant_relation: GuardianRelation
    evidence: str = ""
    starts_on: date
    ends_on: date


async def _apply(ctx: ServiceContext, *, child_id: int, **application: Any) -> m.Deferral:
    return await deferrals.apply(ctx, child_id, deferrals.Application(**application))


# The mutations that answer the child, or the deferral, rather than the register change.
_CHILD: dict[str, Any] = {"subject": "child", "node": ChildNode}
_DEFERRAL: dict[str, Any] = {"subject": "deferral", "node": DeferralNode}


@strawberry.type
@operations("change", RegisterChangeNode, ids={
    "child_id": "Child", "change_id": "RegisterChange", "to_school": "School",
    "deferral_id": "Deferral",
})
class RegisterMutation:
    # Descriptions in schema/descriptions.toml ("Register (issue 14)").
    request_transfer = Operation(changes.request_transfer, RequestTransferInput)
    request_suspension = Operation(changes.request_suspension)
    decide_register_change = Operation(changes.decide)
    receive_transfer = Operation(changes.receive_transfer)
    resume_schooling = Operation(changes.resume)
    certify_graduation = Operation(changes.graduate, **_CHILD)
    record_early_leaving = Operation(changes.record_early_leaving, **_CHILD)
    apply_for_deferral = Operation(_apply, ApplyForDeferralInput, **_DEFERRAL)
    record_deferral_assessment = Operation(deferrals.record_assessment, **_DEFERRAL)
    decide_deferral = Operation(deferrals.decide, **_DEFERRAL)
