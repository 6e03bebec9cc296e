"""GraphQL for the three comparisons (四查三比对): the runs and their counts, the findings
under the policy, starting a run and the verifier's answer (铁脚板摸排)."""

from __future__ import annotations

import datetime as dt

import strawberry

from authz.masking import SensitiveField
from models import crosscheck as m
from schema.case import CaseNode
from schema.child import ChildNode
from schema.context import Info
from schema.enums import FindingKind, SpecialGroup
from schema.operations import Operation, listing, operations
from schema.school import SchoolNode
from schema.sensitive import SensitiveValue, row_value
from schema.shape import RowNode, fetched_by, related, row_field
from schema.task import TaskType
from workflow import crosscheck as service
from workflow.child import GROUP_FIELD


@strawberry.type(description="How many of one source's records a run matched by each rule.")
class MatchingCounts:
    source: str = strawberry.field(description="The list: police_household or school_roster.")
    linked: int = strawberry.field(description="Matched before the run (when applied).")
    national_id: int = strawberry.field(description="Matched by the ID number in this run.")
    name_birth_guardian: int = strawberry.field(
        description="Matched by normalised name, birth date and guardian in this run.")
    candidates: int = strawberry.field(
        description="Uncertain: children offered to the verifier, not merged.")
    unmatched: int = strawberry.field(description="No child on the register could be them.")


@strawberry.type(description="One comparison's findings after a run.")
class FindingCounts:
    kind: FindingKind
    found: int = strawberry.field(description="People the comparison finds as of the date.")
    new: int = strawberry.field(description="Findings this run made.")
    changed: int = strawberry.field(description="Findings whose data changed (reopened "
                                    "when resolved).")
    cleared_now: int = strawberry.field(description="Open findings this run no longer found.")
    open: int = strawberry.field(description="Open findings of the district after the run.")
    resolved: int
    cleared: int


@strawberry.type(description="Watched children by special group and schooling status.")
class GroupStatusCount:
    group: SpecialGroup
    status: str = strawberry.field(description="enrolled, suspended, deferred, exempt, "
                                   "transferred, graduated, dropout_marked, dropout (an open "
                                   "case) or unregistered.")
    count: int


@fetched_by(service.get_runs)
@strawberry.type(name="CrosscheckRun", description="One run of the comparisons for a "
                 "district as of a date.")
class CrosscheckRunNode(RowNode, columns=("district_code", "as_of", "trigger", "started_at",
                                          "finished_at")):
    row: strawberry.Private[m.CrosscheckRun]

    @strawberry.field(description="Records matched per source and rule.")
    def matching(self) -> list[MatchingCounts]:
        return [MatchingCounts(source=source, **counts)
                for source, counts in self.row.counts.get("matching", {}).items()]

    @strawberry.field(description="Per comparison: found, new, changed, cleared, open.")
    def findings(self) -> list[FindingCounts]:
        out = []
        for kind, c in self.row.counts.get("findings", {}).items():
            out.append(FindingCounts(kind=FindingKind(kind), **c))
        return out

    @strawberry.field(description="Verification tasks this run created.")
    def tasks_created(self) -> int:
        return int(self.row.counts.get("tasks_created", 0))

    @strawberry.field(description="Every watched child's schooling status, by group.")
    def special_groups(self) -> list[GroupStatusCount]:
        return [GroupStatusCount(group=SpecialGroup(r["group"]), status=r["status"],
                                 count=r["count"])
                for r in self.row.counts.get("special_groups", [])]


@fetched_by(service.get_findings)
@strawberry.type(name="CrosscheckFinding", description="A person a comparison disagrees "
                 "about, and what the door-to-door check found.")
class CrosscheckFindingNode(RowNode, columns=("kind", "status", "outcome", "district_code",
                                              "township_code", "birth_date")):
    row: strawberry.Private[m.CrosscheckFinding]
    priority = row_field("priority", bool, description="A poor or monitored household or a "
                         "watched group: verified first.")
    elsewhere_district_code = row_field(
        "elsewhere_district_code", str | None,
        description="On the register of this other district (the finding says where).")
    first_seen_on = row_field("first_seen_on", dt.date)
    last_seen_on = row_field("last_seen_on", dt.date, description="The as-of date of the "
                             "run that last changed the finding.")
    version = row_field("version", int, description="Send it back when resolving.")
    child = related("registered_child", "row.child_id", ChildNode,
                    description="The child on the register, if matched and visible.")
    school = related("school", "row.school_id", SchoolNode)
    case = related("case", "row.case_id", CaseNode, description="The dropout case.")
    task = related("task", "row.task_id", TaskType, description="The verification task.")

    def _show(self, info: Info, fld: SensitiveField, value: str | None) -> SensitiveValue:
        return row_value(info, fld, value, self.row, "crosscheck_finding")

    @strawberry.field(description="The name the list gave (masked without the name grant).")
    def name(self, info: Info) -> str:
        return self._show(info, SensitiveField.NAME, self.row.name).value or ""

    @strawberry.field
    def household_no(self, info: Info) -> str | None:
        return self._show(info, SensitiveField.NATIONAL_ID, self.row.household_no).value

    @strawberry.field(description="The ID number the list gave.")
    def national_id(self, info: Info) -> SensitiveValue:
        return self._show(info, SensitiveField.NATIONAL_ID, self.row.national_id)

    @strawberry.field(description="Special groups; poverty and health groups need their grant.")
    def groups(self, info: Info) -> list[SpecialGroup]:
        shown = []
        for raw in self.row.groups:
            group = SpecialGroup(raw)
            fld = GROUP_FIELD.get(group)
            if fld is None or not self._show(info, fld, raw).masked:
                shown.append(group)
        return shown

    @strawberry.field(description="Children who may be this person (uncertain matches), as "
                      "far as the caller may see them.")
    async def candidates(self, info: Info) -> list[ChildNode]:
        found = await info.context.loaders.registered_child.load_many(
            self.row.candidate_child_ids)
        return [ChildNode.from_model(c) for c in found if c is not None]

    @strawberry.field(description="What the outcome links, as JSON text (school_id, "
                      "child_id, deferral_id, district_code, case_id, note).")
    def outcome_detail(self) -> str:
        import json

        return json.dumps(self.row.outcome_detail, ensure_ascii=False, sort_keys=True)


@strawberry.type
class CrosscheckQuery:
    crosscheck_runs = listing(
        CrosscheckRunNode, service.runs_page,
        filter=service.RunFilter, filter_name="CrosscheckRunFilterInput",
        description="Runs of the comparisons the caller may read, newest first.",
    )
    crosscheck_findings = listing(
        CrosscheckFindingNode, service.findings_page,
        filter=service.FindingFilter, filter_name="CrosscheckFindingFilterInput",
        description="Findings of the comparisons the caller may read.",
    )


@strawberry.type
@operations("crosscheck_finding", CrosscheckFindingNode,
            ids={"crosscheck_finding_id": "CrosscheckFinding", "child_id": "Child",
                 "deferral_id": "Deferral"})
class CrosscheckMutation:
    run_crosscheck = Operation(
        service.run_crosscheck,
        description="Run the three comparisons for a district as of a date.",
        subject="crosscheck_run", node=CrosscheckRunNode,
    )
    resolve_verification = Operation(
        service.resolve_verification,
        description="What the door-to-door check found, and what follows from it.",
    )
