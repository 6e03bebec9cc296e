"""GraphQL for register changes (学籍变动: transfers, suspensions, graduation, vocational early
leavers) and deferrals and exemptions (缓学/免学)."""

from __future__ import annotations

from datetime import date

import strawberry
from strawberry import relay

from authz.masking import SensitiveField
from models import register as m
from models.child import Child
from schema.child import ChildNode, ChildPayload
from schema.context import Info
from schema.enums import (
    DeferralGround,
    DeferralKind,
    DeferralStatus,
    GuardianRelation,
    RegisterChangeKind,
    RegisterChangeStatus,
)
from schema.ids import node_id, optional_node_id
from schema.mutation import UserError, mutate
from schema.pagination import Connection, page_request, to_connection
from schema.school import SchoolNode
from schema.sensitive import SensitiveValue
from schema.shape import fetched_by, row_field
from workflow.calendar import local_date
from workflow.context import ServiceContext
from workflow.register import changes, deferrals, query


async def _child(info: Info, child_id: int) -> ChildNode | None:
    row = await info.context.loaders.registered_child.load(child_id)
    return ChildNode.from_model(row) if row is not None else None


async def _school(info: Info, school_id: int | None) -> SchoolNode | None:
    if school_id is None:
        return None
    row = await info.context.loaders.school.load(school_id)
    return SchoolNode.from_model(row) if row is not None else None


@fetched_by(query.get_changes)
@strawberry.type(name="RegisterChange", description="A transfer or suspension (学籍变动), from "
                 "request to decision.")
class RegisterChangeNode(relay.Node):
    change_id: relay.NodeID[int]
    row: strawberry.Private[m.RegisterChange]

    @classmethod
    def from_model(cls, c: m.RegisterChange) -> RegisterChangeNode:
        return cls(change_id=c.id, row=c)

    kind = row_field("kind", RegisterChangeKind)
    status = row_field("status", RegisterChangeStatus)
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

    @strawberry.field(description="The child, when the caller may read it.")
    async def child(self, info: Info) -> ChildNode | None:
        return await _child(info, self.row.child_id)

    @strawberry.field
    async def from_school(self, info: Info) -> SchoolNode | None:
        return await _school(info, self.row.from_school_id)

    @strawberry.field
    async def to_school(self, info: Info) -> SchoolNode | None:
        return await _school(info, self.row.to_school_id)


@fetched_by(query.get_deferrals)
@strawberry.type(name="Deferral", description="A deferral (缓学) or exemption (免学) from "
                 "school: application, assessment, decision, end date (ST 2, 3).")
class DeferralNode(relay.Node):
    deferral_id: relay.NodeID[int]
    row: strawberry.Private[m.Deferral]

    @classmethod
    def from_model(cls, d: m.Deferral) -> DeferralNode:
        return cls(deferral_id=d.id, row=d)

    kind = row_field("kind", DeferralKind)
    status = row_field("status", DeferralStatus)
    applicant_name = row_field("applicant_name", str)
    applicant_relation = row_field("applicant_relation", GuardianRelation)
    applied_on = row_field("applied_on", date)
    starts_on = row_field("starts_on", date)
    ends_on = row_field("ends_on", date)
    assessment_needed = row_field("assessment_needed", bool)
    assessed_on = row_field("assessed_on", date | None)
    decided_on = row_field("decided_on", date | None)
    decision_reason = row_field("decision_reason", str)
    version = row_field("version", int)

    def _health(self, info: Info, value: str | None) -> SensitiveValue:
        shown = info.context.guard.show(
            SensitiveField.HEALTH, value, record_type="deferral", record_id=self.row.id,
            domain=self.row.scope_path, also=self.row.residence_path,
        )
        return SensitiveValue.of(shown)

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

    @strawberry.field(description="The child, when the caller may read it.")
    async def child(self, info: Info) -> ChildNode | None:
        return await _child(info, self.row.child_id)


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


@strawberry.type
class RegisterQuery:
    @strawberry.field(description="Transfers and suspensions the caller may see.")
    async def register_changes(
        self, info: Info, filter: RegisterChangeFilterInput | None = None,
        first: int | None = None, after: str | None = None,
    ) -> Connection[RegisterChangeNode]:
        f = filter or RegisterChangeFilterInput()
        page = await query.changes_page(
            info.context.services,
            query.ChangeFilter(kind=f.kind, status=f.status,
                               child_id=optional_node_id(f.child, "Child", "child"),
                               not_received_in=f.not_received_in,
                               on=f.on or local_date(info.context.services.clock.now())),
            page_request(info, first, after),
        )
        return to_connection(page, RegisterChangeNode.from_model)

    @strawberry.field(description="Deferrals and exemptions of children the caller may read.")
    async def deferrals(
        self, info: Info, filter: DeferralFilterInput | None = None,
        first: int | None = None, after: str | None = None,
    ) -> Connection[DeferralNode]:
        f = filter or DeferralFilterInput()
        page = await query.deferrals_page(
            info.context.services,
            query.DeferralFilter(status=f.status, valid_on=f.valid_on,
                                 child_id=optional_node_id(f.child, "Child", "child")),
            page_request(info, first, after),
        )
        return to_connection(page, DeferralNode.from_model)


@strawberry.type
class RegisterChangePayload:
    change: RegisterChangeNode | None
    user_errors: list[UserError]


@strawberry.type
class DeferralPayload:
    deferral: DeferralNode | None
    user_errors: list[UserError]


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
class RequestSuspensionInput:
    child_id: strawberry.ID
    starts_on: date
    ends_on: date
    reason: str


@strawberry.input
class DecideRegisterChangeInput:
    change_id: strawberry.ID
    expected_version: int | None = None
    approve: bool
    reason: str = strawberry.field(default="", description="Required for a refusal.")
    decided_on: date | None = None
    grade: int | None = strawberry.field(
        default=None, description="The grade at the receiving school (default: the same).")
    class_no: int = 1


@strawberry.input
class ReceiveTransferInput:
    change_id: strawberry.ID
    expected_version: int | None = None
    received_on: date | None = None
    grade: int | None = None
    class_no: int = 1


@strawberry.input
class ResumeSchoolingInput:
    change_id: strawberry.ID
    expected_version: int | None = None
    resumed_on: date


@strawberry.input
class CertifyGraduationInput:
    child_id: strawberry.ID
    graduated_on: date


@strawberry.input
class RecordEarlyLeavingInput:
    child_id: strawberry.ID
    left_on: date
    reason: str


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


@strawberry.input
class RecordDeferralAssessmentInput:
    deferral_id: strawberry.ID
    expected_version: int | None = None
    confirmed: bool = strawberry.field(description="The child is found unable to learn.")
    assessed_on: date
    note: str = ""


@strawberry.input
class DecideDeferralInput:
    deferral_id: strawberry.ID
    expected_version: int | None = None
    grant: bool
    reason: str = strawberry.field(default="", description="Required for a refusal.")
    ends_on: date | None = None


def _change(gid: strawberry.ID) -> int:
    return node_id(gid, "RegisterChange", "changeId")


def _deferral(gid: strawberry.ID) -> int:
    return node_id(gid, "Deferral", "deferralId")


def _child_id(gid: strawberry.ID) -> int:
    return node_id(gid, "Child", "childId")


@strawberry.type
class RegisterMutation:
    @strawberry.mutation(description="The sending school asks to transfer a pupil (转学).")
    async def request_transfer(self, info: Info, input: RequestTransferInput
                               ) -> RegisterChangePayload:
        async def op(ctx: ServiceContext) -> m.RegisterChange:
            return await changes.request_transfer(
                ctx, child_id=_child_id(input.child_id),
                to_school_id=optional_node_id(input.to_school, "School", "toSchool"),
                to_district_code=input.to_district_code, reason=input.reason,
                requested_on=input.requested_on)

        return await mutate(info, RegisterChangePayload, RegisterChangeNode.from_model, op)

    @strawberry.mutation(description="The school asks to suspend a pupil's schooling (休学).")
    async def request_suspension(self, info: Info, input: RequestSuspensionInput
                                 ) -> RegisterChangePayload:
        async def op(ctx: ServiceContext) -> m.RegisterChange:
            return await changes.request_suspension(
                ctx, child_id=_child_id(input.child_id), starts_on=input.starts_on,
                ends_on=input.ends_on, reason=input.reason)

        return await mutate(info, RegisterChangePayload, RegisterChangeNode.from_model, op)

    @strawberry.mutation(description="Approve or refuse a transfer (the receiving school or the "
                         "bureau; out of the county the sending bureau) or a suspension (the "
                         "bureau).")
    async def decide_register_change(self, info: Info, input: DecideRegisterChangeInput
                                     ) -> RegisterChangePayload:
        async def op(ctx: ServiceContext) -> m.RegisterChange:
            return await changes.decide(
                ctx, change_id=_change(input.change_id), expected_version=input.expected_version,
                approve=input.approve, reason=input.reason, decided_on=input.decided_on,
                grade=input.grade, class_no=input.class_no)

        return await mutate(info, RegisterChangePayload, RegisterChangeNode.from_model, op)

    @strawberry.mutation(description="A transfer from another county arrived (转入).")
    async def receive_transfer(self, info: Info, input: ReceiveTransferInput
                               ) -> RegisterChangePayload:
        async def op(ctx: ServiceContext) -> m.RegisterChange:
            return await changes.receive_transfer(
                ctx, change_id=_change(input.change_id), expected_version=input.expected_version,
                received_on=input.received_on, grade=input.grade, class_no=input.class_no)

        return await mutate(info, RegisterChangePayload, RegisterChangeNode.from_model, op)

    @strawberry.mutation(description="The pupil is back from a suspension (复学).")
    async def resume_schooling(self, info: Info, input: ResumeSchoolingInput
                               ) -> RegisterChangePayload:
        async def op(ctx: ServiceContext) -> m.RegisterChange:
            return await changes.resume(
                ctx, change_id=_change(input.change_id), expected_version=input.expected_version,
                resumed_on=input.resumed_on)

        return await mutate(info, RegisterChangePayload, RegisterChangeNode.from_model, op)

    @strawberry.mutation(description="The compulsory-education certificate: refused without the "
                         "full years on the register (LS 10(5)).")
    async def certify_graduation(self, info: Info, input: CertifyGraduationInput
                                 ) -> ChildPayload:
        async def op(ctx: ServiceContext) -> Child:
            return await changes.graduate(ctx, child_id=_child_id(input.child_id),
                                          graduated_on=input.graduated_on)

        return await mutate(info, ChildPayload, ChildNode.from_model, op)

    @strawberry.mutation(description="A vocational spring entrant left (ST 6): tasks to persuade "
                         "and follow the child.")
    async def record_early_leaving(self, info: Info, input: RecordEarlyLeavingInput
                                   ) -> ChildPayload:
        async def op(ctx: ServiceContext) -> Child:
            return await changes.record_early_leaving(
                ctx, child_id=_child_id(input.child_id), left_on=input.left_on,
                reason=input.reason)

        return await mutate(info, ChildPayload, ChildNode.from_model, op)

    @strawberry.mutation(description="Record a guardian's written application for deferral or "
                         "exemption (ST 2).")
    async def apply_for_deferral(self, info: Info, input: ApplyForDeferralInput
                                 ) -> DeferralPayload:
        async def op(ctx: ServiceContext) -> m.Deferral:
            return await deferrals.apply(ctx, _child_id(input.child_id), deferrals.Application(
                kind=input.kind, ground=input.ground, applied_on=input.applied_on,
                applicant_name=input.applicant_name,
                applicant_relation=input.applicant_relation, evidence=input.evidence,
                starts_on=input.starts_on, ends_on=input.ends_on))

        return await mutate(info, DeferralPayload, DeferralNode.from_model, op)

    @strawberry.mutation(description="The disabled federation's assessment (ST 3).")
    async def record_deferral_assessment(self, info: Info, input: RecordDeferralAssessmentInput
                                         ) -> DeferralPayload:
        async def op(ctx: ServiceContext) -> m.Deferral:
            return await deferrals.record_assessment(
                ctx, deferral_id=_deferral(input.deferral_id),
                expected_version=input.expected_version, confirmed=input.confirmed,
                assessed_on=input.assessed_on, note=input.note)

        return await mutate(info, DeferralPayload, DeferralNode.from_model, op)

    @strawberry.mutation(description="The bureau grants or refuses a deferral or exemption.")
    async def decide_deferral(self, info: Info, input: DecideDeferralInput) -> DeferralPayload:
        async def op(ctx: ServiceContext) -> m.Deferral:
            return await deferrals.decide(
                ctx, deferral_id=_deferral(input.deferral_id),
                expected_version=input.expected_version, grant=input.grant,
                reason=input.reason, ends_on=input.ends_on)

        return await mutate(info, DeferralPayload, DeferralNode.from_model, op)
