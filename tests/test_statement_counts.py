"""No N+1: the statements a page costs do not grow with the page size."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import cast

import pytest
from graphql import (
    GraphQLObjectType,
    Undefined,
    get_named_type,
    is_leaf_type,
    is_non_null_type,
    is_object_type,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.settings import Settings
from models.reference import Jurisdiction
from schema.root import build_schema
from tests.helpers import (
    FINDING,
    IMPORT_APPLY,
    ISSUE,
    NOW,
    REGISTER_HEADER,
    TEST_SECRET,
    Api,
    Database,
    counting,
    finding_input,
    first_school_name,
    labour_children,
    labour_setup,
    register_list,
    report,
    staged_list,
)
from workflow.accountability import scan_district
from workflow.census import open_census
from workflow.clock import FixedClock
from workflow.engine import TickReport
from workflow.imports.reading import csv_bytes
from workflow.infra import uscc
from workflow.report import open_reports

CHILDREN = """query($n: Int!) { children(first: $n) { totalCount edges { node { id name
  nationalId { value } specialGroups guardians { name phone { value } }
  enrolment { grade status school { name township { name } } } township { name } } } } }"""
CASES = """query($n: Int!) { cases(first: $n) { totalCount edges { node { id stage overdue
  child { name enrolment { school { name } } } timeline { kind } tasks { kind dueOn }
  plan { cause } persuasions { method } documents { number status } } } } }"""


async def _cost(api: Api, database: Database, query: str, n: int, user: str) -> int:
    # The token's principal is read on its first request only (api/auth.PrincipalCache):
    # warm it, so every measured page is a steady-state page.
    await api.gql("{ __typename }", user=user)
    with counting(database) as statements:
        data = await api.gql(query, {"n": n}, user=user)
    first = next(iter(data.values()))
    assert len(first["edges"]) == min(n, first["totalCount"])
    return len(statements)


async def test_children_page_costs_the_same_for_2_and_40(api: Api, database: Database) -> None:
    small = await _cost(api, database, CHILDREN, 2, "edu_officer")
    large = await _cost(api, database, CHILDREN, 40, "edu_officer")
    assert large == small, (small, large)
    assert small <= 12


async def test_cases_page_costs_the_same_for_2_and_20(
    api: Api, database: Database, clock: FixedClock
) -> None:
    data = await api.gql("{ children(first: 25) { edges { node { id } } } }")
    for i, edge in enumerate(data["children"]["edges"]):
        await report(api, clock.now().date() - timedelta(days=i % 9), user="edu_officer",
                     child=edge["node"]["id"])
    small = await _cost(api, database, CASES, 2, "edu_officer")
    large = await _cost(api, database, CASES, 20, "edu_officer")
    assert large == small, (small, large)


async def test_nodes_batches_per_type(api: Api, database: Database) -> None:
    data = await api.gql("{ children(first: 6) { edges { node { id } } } }")
    ids = [e["node"]["id"] for e in data["children"]["edges"]]
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
    with counting(database) as few:
        small = await api.gql(query, {"ids": [*ids[:2], "SnVyaXNkaWN0aW9uOjM3MDQwNg=="]})
    with counting(database) as many:
        large = await api.gql(query, {"ids": [*ids, "SnVyaXNkaWN0aW9uOjM3MDQwNg=="]})
    assert [n["id"] for n in large["nodes"]] == [*ids, "SnVyaXNkaWN0aW9uOjM3MDQwNg=="]
    assert len(small["nodes"]) == 3
    assert len(many) == len(few)


FINDINGS = """query($n: Int!) { findings(first: $n) { totalCount edges { node { id childName
  { value } nationalId { value } employer { name } inspection { title progress { open } }
  case { stage } tasks { kind } child { name } } } } }"""
INSPECTIONS = """query($n: Int!) { inspections(first: $n) { totalCount edges { node { id
  participants { agencyKind agency { name } } visits { employer { name } }
  findings { work } enforcementActions { kind document { number } findings { work } }
  progress { agencyKind open } campaign { name } } } } }"""


async def test_labour_pages_cost_the_same_for_2_and_12(
    api: Api, database: Database, sessions: async_sessionmaker[AsyncSession]
) -> None:
    state = await labour_setup(api, sessions)
    kids = await labour_children(sessions, 12)
    for i, kid in enumerate(kids):  # twelve inspections alike: a pupil found, an order issued
        planned = await api.gql("""mutation($e: ID!) { planInspection(input: {kind: AD_HOC,
            title: "复查", plannedOn: "2026-11-02", employerIds: [$e]}) { inspection { id } } }""",
                                {"e": state["employer"]["id"]}, user="hr_officer")
        inspection = planned["planInspection"]["inspection"]["id"]
        found = await api.gql(FINDING, {"in": {**finding_input(state, 0, f"count-{i}-finding"),
                                               "inspectionId": inspection,
                                               "nationalId": kid.national_id}},
                              user="police_officer")
        finding = found["recordFinding"]["finding"]["id"]
        await api.gql(ISSUE, {"kind": "RETURN_ORDER", "e": state["employer"]["id"],
                              "f": [finding]}, user="hr_officer")
    for query in (FINDINGS, INSPECTIONS):
        small = await _cost(api, database, query, 2, "edu_officer")
        large = await _cost(api, database, query, 12, "edu_officer")
        assert large == small, (query[:30], small, large)


REGISTER_EVENTS = """query($n: Int!) { children(first: $n) { totalCount edges { node { id
  registerEvents(first: 2) { totalCount pageInfo { hasNextPage endCursor }
  edges { cursor node { kind reason onDate school { name } } } } } } } }"""
MORE_EVENTS = """query($id: ID!, $after: String) { node(id: $id) { ... on Child {
  registerEvents(first: 50, after: $after) { totalCount edges { node { kind } } } } } }"""


async def test_register_events_of_2_and_12_children_cost_the_same(
    api: Api, database: Database, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """A list of children selecting each one's register history: one batched page
    statement (a window over the children's events), not one per child."""
    await _register(api, sessions)
    small = await _cost(api, database, REGISTER_EVENTS, 2, "principal")
    large = await _cost(api, database, REGISTER_EVENTS, 12, "principal")
    assert large == small, (small, large)
    data = await api.gql(REGISTER_EVENTS, {"n": 12}, user="principal")
    for edge in data["children"]["edges"]:
        events = edge["node"]["registerEvents"]
        # Each child asked for a suspension and had a deferral application recorded.
        assert events["totalCount"] >= 2
        assert len(events["edges"]) == 2
        assert events["pageInfo"]["hasNextPage"] is (events["totalCount"] > 2)
        # The page after the batched one is the rest of that child's history, and its
        # count is still the whole history's.
        whole = await api.gql(MORE_EVENTS, {"id": edge["node"]["id"]}, user="principal")
        rest = await api.gql(MORE_EVENTS, {"id": edge["node"]["id"],
                                           "after": events["pageInfo"]["endCursor"]},
                             user="principal")
        kinds = [e["node"]["kind"] for e in whole["node"]["registerEvents"]["edges"]]
        assert [e["node"]["kind"] for e in events["edges"]] == kinds[:2]
        assert [e["node"]["kind"] for e in rest["node"]["registerEvents"]["edges"]] == kinds[2:]
        assert rest["node"]["registerEvents"]["totalCount"] == events["totalCount"]


# --- every connection of Query: a page of 2 costs what a page of 12 costs ---------------------
#
# The schema is walked, so a connection added without a row in CONNECTIONS fails
# ``test_every_connection_has_a_count``. Each query selects every field of the node that takes
# no required argument, down to NODE_DEPTH levels (lists and objects alike), so a relation
# resolved one row at a time anywhere on the node shows as statements growing with the page.

NODE_DEPTH = 3


def _shape(statement: str) -> str:
    """A statement without what varies by page: savepoint names, the length of IN lists."""
    statement = re.sub(r"sa_savepoint_\d+", "sa_savepoint", statement)
    return re.sub(r"\((?:\?|\$\d+::\w+|\$\d+)(?:, (?:\?|\$\d+::\w+|\$\d+))*\)", "(…)",
                  " ".join(statement.split()))


def _selection(t: GraphQLObjectType, depth: int) -> str:
    parts: list[str] = []
    for name, f in t.fields.items():
        if any(is_non_null_type(a.type) and a.default_value is Undefined
               for a in f.args.values()):
            continue
        named = get_named_type(f.type)
        if is_leaf_type(named):
            parts.append(name)
        elif is_object_type(named) and depth > 0 and not named.name.endswith("Connection"):
            inner = _selection(cast(GraphQLObjectType, named), depth - 1)
            if inner:
                parts.append(f"{name} {{ {inner} }}")
    return " ".join(parts)


def _connections() -> dict[str, GraphQLObjectType]:
    """Query's connection fields and their node types."""
    query = build_schema()._schema.query_type
    assert query is not None
    found: dict[str, GraphQLObjectType] = {}
    for name, f in query.fields.items():
        conn = get_named_type(f.type)
        if is_object_type(conn) and conn.name.endswith("Connection"):
            edge = get_named_type(cast(GraphQLObjectType, conn).fields["edges"].type)
            node = get_named_type(cast(GraphQLObjectType, edge).fields["node"].type)
            found[name] = cast(GraphQLObjectType, node)
    return found


Seed = Callable[[Api, async_sessionmaker[AsyncSession]], Awaitable[None]]


async def _no_seed(api: Api, sessions: async_sessionmaker[AsyncSession]) -> None:
    """The demo county already has a dozen or more of these for the reader."""


async def _cases(api: Api, sessions: async_sessionmaker[AsyncSession]) -> None:
    """Fourteen absences at the principal's school: fourteen cases, each with its tasks in
    the school's queue."""
    data = await api.gql("{ children(first: 14) { edges { node { id } } } }", user="principal")
    for i, edge in enumerate(data["children"]["edges"]):
        await report(api, NOW.date() - timedelta(days=i % 9), user="principal",
                     child=edge["node"]["id"])


async def _claim_tasks(api: Api, sessions: async_sessionmaker[AsyncSession]) -> None:
    """Twelve tasks of the school's queue claimed by its principal."""
    await _cases(api, sessions)
    data = await api.gql("""{ agencyQueue(first: 12, filter: {status: OPEN}) {
        edges { node { id version } } } }""", user="principal")
    edges = data["agencyQueue"]["edges"]
    assert len(edges) == 12
    for e in edges:
        await api.gql("""mutation($t: ID!, $v: Int!) { claimTask(input: {taskId: $t,
            expectedVersion: $v}) { userErrors { code: errorCode } } }""",
                      {"t": e["node"]["id"], "v": e["node"]["version"]}, user="principal")


async def _labour(api: Api, sessions: async_sessionmaker[AsyncSession]) -> None:
    """Twelve employers, each inspected, a pupil found at each and a return order issued."""
    state = await labour_setup(api, sessions)
    kids = await labour_children(sessions, 12)
    for i, kid in enumerate(kids):
        employer = await api.gql("""mutation($c: String!, $t: String!) { registerEmployer(input:
            {creditCode: $c, name: $c, address: "山亭区某路1号", townshipCode: $t})
            { employer { id } userErrors { code: errorCode } } }""",
                                 {"c": uscc.make("92", "370406", f"MA{i:07d}"),
                                  "t": kid.township_code}, user="hr_officer")
        assert employer["registerEmployer"]["userErrors"] == [], employer
        eid = employer["registerEmployer"]["employer"]["id"]
        planned = await api.gql("""mutation($e: ID!) { planInspection(input: {kind: AD_HOC,
            title: "复查", plannedOn: "2026-11-02", employerIds: [$e]}) { inspection { id } } }""",
                                {"e": eid}, user="hr_officer")
        inspection = planned["planInspection"]["inspection"]["id"]
        found = await api.gql(FINDING, {"in": {**finding_input(state, 0, f"walk-finding-{i}"),
                                               "employerId": eid, "inspectionId": inspection,
                                               "nationalId": kid.national_id}},
                              user="police_officer")
        assert found["recordFinding"]["userErrors"] == [], found
        await api.gql(ISSUE, {"kind": "RETURN_ORDER", "e": eid,
                              "f": [found["recordFinding"]["finding"]["id"]]}, user="hr_officer")


async def _raw_reads(api: Api, sessions: async_sessionmaker[AsyncSession]) -> None:
    """Police read twelve ID numbers: twelve access-log entries."""
    await api.gql("{ children(first: 12) { edges { node { nationalId { value } } } } }",
                  user="police_officer")


async def _register(api: Api, sessions: async_sessionmaker[AsyncSession]) -> None:
    """Twelve of the principal's pupils: each asks for a suspension and has a deferral
    application recorded (issue 14)."""
    data = await api.gql("{ children(first: 12) { edges { node { id } } } }", user="principal")
    for edge in data["children"]["edges"]:
        for mutation in ("""requestSuspension(input: {childId: $c, startsOn: "2026-11-03",
                            endsOn: "2027-01-31", reason: "因病"}) { userErrors { code } }""",
                         """applyForDeferral(input: {childId: $c, kind: DEFERRAL, ground:
                            ILLNESS, appliedOn: "2026-09-02", applicantName: "家长",
                            applicantRelation: FATHER, startsOn: "2026-09-01", endsOn:
                            "2027-08-31"}) { userErrors { code } }"""):
            await api.gql(f"mutation($c: ID!) {{ {mutation} }}", {"c": edge["node"]["id"]},
                          user="principal")


async def _imports(api: Api, sessions: async_sessionmaker[AsyncSession]) -> None:
    """Twelve children without ID numbers whose second list names other guardians: two
    applied imports, twelve candidates; and twelve more staged imports."""
    school = await first_school_name(api)
    for period, guardian in (("2026-03", "甲某"), ("2026-09", "乙某")):
        rows = [[f"计数{i}", "男", "2016-06-01", "", school, "4", "1", guardian, "父亲", ""]
                for i in range(12)]
        job = await staged_list(api, "school_register", csv_bytes([REGISTER_HEADER, *rows]),
                                period=period)
        await api.gql(IMPORT_APPLY, {"id": job})
    for i in range(12):
        await register_list(api, f"列表{i}")
    bad = [[f"坏{i}", "男", "2099-01-01", "", school, "4", "1", "", "", ""] for i in range(12)]
    await staged_list(api, "school_register", csv_bytes([REGISTER_HEADER, *bad]))


async def _crosscheck(api: Api, sessions: async_sessionmaker[AsyncSession]) -> None:
    """Twelve school-age children on the police list only (each a finding with its task),
    twelve of the principal's pupils with an open case (a finding with child, school and
    case), twelve runs."""
    from datetime import date

    from workflow.infra.id_number import make

    born = date(2016, 5, 1)
    township = (await api.gql("{ me { agency { jurisdiction { code } } } }",
                              user="township_officer"))["me"]["agency"]["jurisdiction"]["code"]
    rows = [["姓名", "公民身份号码", "出生日期", "乡镇代码"]] + [
        [f"未入学{i}", make("370406", born, 700 + i), born.isoformat(), township]
        for i in range(12)]
    job = await staged_list(api, "police_household", csv_bytes(rows))
    await api.gql(IMPORT_APPLY, {"id": job})
    pupils = await api.gql("{ children(first: 12) { edges { node { id } } } }", user="principal")
    for edge in pupils["children"]["edges"]:
        await api.gql("""mutation($c: ID!) { reportAbsence(input: {childId: $c, firstAbsence:
            "2026-10-30"}) { userErrors { code } } }""", {"c": edge["node"]["id"]},
                      user="head_teacher")
    for _ in range(12):
        await api.gql("""mutation { runCrosscheck(input: {districtCode: "370406",
            asOf: "2026-09-30"}) { userErrors { code } } }""")


@pytest.fixture
def settings_factory() -> Callable[[str], Settings]:
    """The walk below selects every field three levels deep, far over the query cost limit a
    front-end lives with: this module counts statements, so it lifts that one limit."""

    def make(url: str) -> Settings:
        return Settings(database_url=url, jwt_secret=TEST_SECRET, environment="development",
                        max_query_cost=10_000_000, rate_limit_user_per_minute=0,
                        rate_limit_address_per_minute=0)

    return make


async def _reports(api: Api, sessions: async_sessionmaker[AsyncSession]) -> None:
    """The engine's report job: every school's monthly report and the county's (issue 16)."""
    async with sessions() as session:
        await open_reports(session, NOW, TickReport())
        await session.commit()


async def _dropouts(api: Api, sessions: async_sessionmaker[AsyncSession]) -> None:
    """Fourteen dropouts at the principal's school (the cases marked)."""
    await _cases(api, sessions)
    data = await api.gql("""{ cases(first: 14) { edges { node { id version } } } }""",
                         user="principal")
    for edge in data["cases"]["edges"]:
        await api.gql("""mutation($c: ID!, $v: Int!) { markDropout(input: {caseId: $c,
            expectedVersion: $v}) { userErrors { code } } }""",
                      {"c": edge["node"]["id"], "v": edge["node"]["version"]}, user="principal")


async def _accountability(api: Api, sessions: async_sessionmaker[AsyncSession]) -> None:
    """Fourteen dropouts at the principal's school, then seven months of the scan's items."""
    await _dropouts(api, sessions)
    async with sessions() as session:
        district = await session.get(Jurisdiction, "370406")
        assert district is not None
        for month in range(7):  # the same dropouts, unacted on, month after month
            await scan_district(session, district, NOW + timedelta(days=31 * month))
        await session.commit()


async def _home_visits(api: Api, sessions: async_sessionmaker[AsyncSession]) -> None:
    """Twelve home visits by the head teacher, one to each of twelve pupils (ST 5)."""
    data = await api.gql("{ children(first: 12) { edges { node { id } } } }", user="principal")
    for edge in data["children"]["edges"]:
        await api.gql("""mutation($c: ID!) { recordHomeVisit(input: {childId: $c, visitedOn:
            "2026-10-20", visitors: "班主任", met: "母亲", findings: "家庭支持孩子上学"})
            { userErrors { code } } }""", {"c": edge["node"]["id"]}, user="head_teacher")


async def _census(api: Api, sessions: async_sessionmaker[AsyncSession]) -> None:
    """The census job at the term's start: a census of the term per school (ST 7)."""
    async with sessions() as session:
        await open_census(session, NOW, TickReport())
        await session.commit()


async def _blacklist(api: Api, sessions: async_sessionmaker[AsyncSession]) -> None:
    """Twelve places of illegal substitute schooling listed by the bureau (ST 10)."""
    me = await api.gql("{ me { agency { jurisdiction { code } } } }", user="township_officer")
    township = me["me"]["agency"]["jurisdiction"]["code"]
    for i in range(12):
        await api.gql("""mutation($t: String!, $n: String!) { listSubstituteSchooling(input:
            {townshipCode: $t, name: $n, kind: SISHU, address: "东村", evidence: "走访发现",
            foundOn: "2026-11-01"}) { userErrors { code } } }""",
                      {"t": township, "n": f"私塾{i}"}, user="edu_officer")


async def _supervisions(api: Api, sessions: async_sessionmaker[AsyncSession]) -> None:
    """Twelve supervisions of the township by the inspectorate, two findings each (one
    reported rectified): findings and the supervised agency are one statement a page."""
    agency = (await api.gql("{ me { agency { id } } }", user="township_officer"))["me"]["agency"]
    for i in range(12):
        made = await api.gql("""mutation($a: ID!, $t: String!) { recordSupervision(input:
            {subjectAgencyId: $a, title: $t, visitedOn: "2026-10-30", inspectors: "林海",
            findings: [{description: "台账不全"}, {description: "劝返滞后"}]}) { supervision {
            findings { id } } } }""", {"a": agency["id"], "t": f"专项督导{i}"}, user="inspector")
        finding = made["recordSupervision"]["supervision"]["findings"][0]["id"]
        await api.gql("""mutation($f: ID!) { reportRectification(input: {supervisionFindingId: $f,
            rectification: "已补齐"}) { userErrors { code } } }""", {"f": finding},
                      user="township_officer")


# connection -> (reader, seed)
async def _corrections(api: Api, sessions: async_sessionmaker[AsyncSession]) -> None:
    """Fourteen household corrections, one police clean-up list of fourteen children."""
    data = await api.gql("{ children(first: 14) { edges { node { id } } } }")
    rows = [{"kind": "MISSING", "effectiveOn": "2026-11-01", "childId": e["node"]["id"]}
            for e in data["children"]["edges"]]
    await api.gql("""mutation($rows: [RecordHouseholdCorrectionInput!]!) {
        recordHouseholdCorrections(input: {districtCode: "370406", rows: $rows}) {
        batch { recorded } } }""", {"rows": rows}, user="police_officer")


CONNECTIONS: dict[str, tuple[str, Seed]] = {
    "agencies": ("edu_officer", _no_seed),
    "children": ("edu_officer", _no_seed),
    "schools": ("edu_officer", _no_seed),
    "cases": ("edu_officer", _cases),
    "auditTrail": ("admin", _cases),  # fourteen reports: fourteen audit rows
    "myTasks": ("principal", _claim_tasks),
    "agencyQueue": ("principal", _cases),
    "documents": ("hr_officer", _labour),
    "employers": ("hr_officer", _labour),
    "inspections": ("hr_officer", _labour),
    "findings": ("hr_officer", _labour),
    "enforcementActions": ("hr_officer", _labour),
    "users": ("admin", _no_seed),
    "accessLog": ("edu_officer", _raw_reads),
    "registerChanges": ("edu_officer", _register),
    "deferrals": ("edu_officer", _register),
    "importJobs": ("edu_officer", _imports),
    "matchCandidates": ("edu_officer", _imports),
    "importRejects": ("edu_officer", _imports),
    "reports": ("edu_officer", _reports),
    "accountabilityItems": ("inspector", _accountability),
    "substituteSchooling": ("edu_officer", _blacklist),
    "homeVisits": ("edu_officer", _home_visits),
    "homeVisitGaps": ("edu_officer", _no_seed),
    "specialNeedsCensuses": ("edu_officer", _census),
    "statisticsChildren": ("edu_officer", _no_seed),
    "crosscheckFindings": ("edu_officer", _crosscheck),
    "crosscheckRuns": ("edu_officer", _crosscheck),
    "schoolAgeLedger": ("edu_officer", _no_seed),
    "suspectedLedger": ("edu_officer", _cases),
    "dropoutLedger": ("edu_officer", _dropouts),
    "householdCorrections": ("police_officer", _corrections),
    "supervisions": ("inspector", _supervisions),
}
# Arguments a connection requires besides its page (the children behind one figure).
REQUIRED_ARGUMENTS = {"statisticsChildren": "measure: ENROLLED, "}


def test_every_connection_has_a_count() -> None:
    assert set(_connections()) == set(CONNECTIONS)


@pytest.mark.parametrize("field", sorted(CONNECTIONS))
async def test_connection_page_costs_the_same_for_2_and_12(
    api: Api, database: Database, sessions: async_sessionmaker[AsyncSession], field: str
) -> None:
    reader, seed = CONNECTIONS[field]
    await seed(api, sessions)
    node = _connections()[field]
    arguments = REQUIRED_ARGUMENTS.get(field, "")
    query = (f"query($n: Int!) {{ {field}({arguments}first: $n) {{ totalCount edges {{ node {{ "
             f"{_selection(node, NODE_DEPTH)} }} }} }} }}")
    with counting(database) as warm:  # the first request also loads the policy, once
        data = await api.gql(query, {"n": 12}, user=reader)
    assert data[field]["totalCount"] >= 12, (field, data[field]["totalCount"])
    del warm
    with counting(database) as small:
        await api.gql(query, {"n": 2}, user=reader)
    with counting(database) as large:
        data = await api.gql(query, {"n": 12}, user=reader)
    assert len(data[field]["edges"]) == 12
    # On failure, name the statements a bigger page repeats: that is the relation to batch.
    grown = Counter(map(_shape, large)) - Counter(map(_shape, small))
    assert len(large) == len(small), (field, len(small), len(large), sorted(grown)[:3])
