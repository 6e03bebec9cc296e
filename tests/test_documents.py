"""Legal documents end to end over HTTP: the ST ladder walked with numbered documents, the
PDF's text, serving that starts deadlines, voiding and reissuing, verification, who may do
what, bad input, and gapless numbering under 50 concurrent issues on PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pypdf
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry import relay

from authz.enforcer import Authorizer
from authz.errors import Forbidden
from authz.policy import default_rules
from models.access_log import SensitiveAccess
from models.audit import AuditEvent
from models.case import CaseStepDue, DropoutCase
from models.child import Child
from models.document import LegalDocument
from models.reference import Agency
from models.school import Enrolment
from models.task import Task
from tests.helpers import MONDAY_MORNING, Api, acting_as, report, scratch_postgres
from workflow import case as case_service
from workflow import document, engine
from workflow.calendar import LOCAL
from workflow.clock import FixedClock
from workflow.jobs import SCHEDULED_JOBS

DOC = """id kind title status number version addressee body deadlineDays pdfUrl pdfSha256
  verificationCode servedOn replacesId legalBasis { sourceKey article quote source citation }
  issuer { name } case { id stage nextDueOn }"""
DRAFT = f"""mutation($case: ID!, $kind: String!, $days: Int, $facts: String! = "") {{
  draftDocument(input: {{caseId: $case, kind: $kind, deadlineDays: $days, facts: $facts}})
  {{ document {{ {DOC} }} userErrors {{ code: errorCode field message }} }} }}"""
ISSUE = f"""mutation($doc: ID!) {{ issueDocument(input: {{documentId: $doc}})
  {{ document {{ {DOC} }} userErrors {{ code: errorCode field message }} }} }}"""
SERVE = f"""mutation($doc: ID!, $on: Date!) {{ serveDocument(input: {{documentId: $doc,
  servedOn: $on, method: IN_PERSON, servedTo: "监护人 本人签收"}})
  {{ document {{ {DOC} }} userErrors {{ code: errorCode field message }} }} }}"""
VOID = f"""mutation($doc: ID!, $reason: String!) {{ voidDocument(input: {{documentId: $doc,
  reason: $reason}}) {{ document {{ {DOC} }} userErrors {{ code: errorCode field message }} }} }}"""
REISSUE = f"""mutation($doc: ID!) {{ reissueDocument(input: {{documentId: $doc,
  reason: "监护人姓名有误"}}) {{ document {{ {DOC} }}
  userErrors {{ code: errorCode field message }} }} }}"""
VERIFY = """query($code: String!, $sha: String) { verifyDocument(code: $code, pdfSha256: $sha)
  { genuine valid number status voidReason hashMatches issuer } }"""
MARK = """mutation($case: ID!, $v: Int!) { markDropout(input: {caseId: $case,
  expectedVersion: $v}) { case { stage } userErrors { code: errorCode } } }"""
CASE = """query($id: ID!) { node(id: $id) { ... on DropoutCase { stage stepPosition nextDueOn
  version documents { number status kind } timeline { kind reason } } } }"""
NUMBER = re.compile(r"^(\S+?)〔(\d{4})〕(\d+)号$")


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 2, 0, tzinfo=LOCAL)


async def _tick(sessions: async_sessionmaker[AsyncSession], clock: FixedClock) -> None:
    async with sessions() as s:
        await engine.tick(s, clock.now(), SCHEDULED_JOBS)
        await s.commit()


async def _ok(api: Api, query: str, variables: dict[str, Any], user: str) -> dict[str, Any]:
    data = await api.gql(query, variables, user=user)
    (payload,) = data.values()
    assert payload["userErrors"] == [], payload["userErrors"]
    document: dict[str, Any] = payload["document"]
    return document


async def _error(api: Api, query: str, variables: dict[str, Any], user: str) -> str:
    """The code of a refusal, whether a userError or a top-level error."""
    body = (await api.post(query, variables, user=user)).json()
    if body.get("errors"):
        code: str = body["errors"][0]["extensions"]["code"]
        return code
    (payload,) = body["data"].values()
    assert payload["userErrors"], payload
    code = payload["userErrors"][0]["code"]
    return code


async def _pdf_text(api: Api, url: str, user: str) -> tuple[str, bytes]:
    response = await api.client.get(url, headers={"Authorization": f"Bearer {api.token(user)}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    return "".join(page.extract_text() for page in reader.pages), response.content


async def _download_follows_the_policy(
    api: Api, sessions: async_sessionmaker[AsyncSession], clock: FixedClock,
    notice: dict[str, Any],
) -> None:
    """The served copy names the child, so: the file is named by its number, each download is
    a line in the access log, and a reader without the grant to see the name gets none."""
    response = await api.client.get(
        notice["pdfUrl"], headers={"Authorization": f"Bearer {api.token('township_officer')}"})
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('inline; filename="document-')
    assert f"filename*=UTF-8''{quote(notice['number'] + '.pdf', safe='')}" in disposition
    async with sessions() as s:
        doc_id = (await s.execute(select(LegalDocument.id).where(
            LegalDocument.number == notice["number"]))).scalar_one()
        logged = (await s.execute(select(SensitiveAccess.username, SensitiveAccess.field).where(
            SensitiveAccess.record_type == "legal_document_pdf",
            SensitiveAccess.record_id == doc_id))).all()
        assert logged.count(("township_officer", "name")) == 2, "both downloads are logged"
        narrowed = Authorizer([r for r in default_rules() if not (
            r.role == "township_officer" and r.obj == "field:name")])
        ctx = await acting_as(s, "township_officer", narrowed, clock)
        principal = ctx.principal
        with pytest.raises(Forbidden):
            await document.pdf_of(ctx, doc_id)
        # Still readable on screen, masked: only the unmasked copy needs the grant.
        assert narrowed.allowed(principal, "document:enrol_notice", "read",
                                principal.agency_scope, None)


async def _case_at_enrol_notice(
    api: Api, clock: FixedClock, sessions: async_sessionmaker[AsyncSession]
) -> tuple[str, date]:
    day0 = clock.now().date()
    case = (await report(api, day0))["case"]
    marked = await api.gql(MARK, {"case": case["id"], "v": case["version"]}, user="principal")
    assert marked["markDropout"][
        "userErrors"
    ] == []
    clock.current = _at(day0 + timedelta(days=15))
    await _tick(sessions, clock)
    node = (await api.gql(CASE, {"id": case["id"]}))["node"]
    assert node["stage"] == "ENROL_NOTICE"
    return case["id"], day0


async def _enrol_notice_drafted(
    api: Api, clock: FixedClock, sessions: async_sessionmaker[AsyncSession]
) -> tuple[str, dict[str, Any]]:
    """A case at the enrol-notice step and the notice the education bureau drafted on it."""
    case_id, _ = await _case_at_enrol_notice(api, clock, sessions)
    return case_id, await _ok(api, DRAFT, {"case": case_id, "kind": "enrol_notice"},
                              "edu_officer")


async def test_the_st_ladder_with_its_documents(
    api: Api, clock: FixedClock, sessions: async_sessionmaker[AsyncSession]
) -> None:
    # 限期入学通知书: drafted and issued by the education bureau, numbered, printable.
    case_id, draft = await _enrol_notice_drafted(api, clock, sessions)
    today = clock.now().date()
    assert draft["status"] == "DRAFT" and draft["number"] is None and draft["pdfUrl"] is None
    assert draft["deadlineDays"] == 10, "the ladder's township_order step waits 10 days"
    notice = await _ok(api, ISSUE, {"doc": draft["id"]}, "edu_officer")
    assert notice["status"] == "ISSUED"
    match = NUMBER.match(notice["number"])
    assert match and match.group(1) == "山教体入通" and match.group(2) == str(today.year)
    # 山亭区's own rule says nothing of the notice: it cites national law, not Shapotou's rule.
    assert [(b["sourceKey"], b["citation"]) for b in notice["legalBasis"]] == [
        ("MPL", "第八十三条"), ("CEL", "第五条")]
    text, raw = await _pdf_text(api, notice["pdfUrl"], "township_officer")
    assert hashlib.sha256(raw).hexdigest() == notice["pdfSha256"]
    async with sessions() as s:
        real = (await s.execute(
            select(Child.name, Child.national_id)
            .join(DropoutCase, DropoutCase.child_id == Child.id)
            .join(LegalDocument, LegalDocument.case_id == DropoutCase.id)
            .where(LegalDocument.number == notice["number"]))).one()
    masked = real.name[0] + "*" * (len(real.name) - 1)
    flat = text.replace("\n", "")
    # The copy served on the guardians names their child in full (addressee and body); the
    # text on screen stays masked for every agency reading the document.
    assert f"{real.name}的父母或者其他法定监护人" in flat and masked not in flat
    assert f"子女{real.name}（" in flat
    assert masked in notice["body"] and real.name not in notice["body"]
    await _download_follows_the_policy(api, sessions, clock, notice)
    assert notice["number"] in flat
    assert "限期入学通知书" in flat and "沙坡头" not in flat and "（项）" not in flat
    assert "《中华人民共和国未成年人保护法》第八十三条" in flat, "the provision as numbered"
    assert "对尚未完成义务教育的辍学未成年学生" in flat, "the legal basis, quoted"
    assert real.national_id not in flat and real.national_id[-4:] in flat

    # Serving it starts the township order's deadline: served date + 10 days.
    served_on = today
    served = await _ok(api, SERVE, {"doc": notice["id"], "on": served_on.isoformat()},
                       "township_officer")
    assert served["status"] == "SERVED"
    assert served["case"]["nextDueOn"] == (served_on + timedelta(days=10)).isoformat()
    clock.current = _at(served_on + timedelta(days=9))
    await _tick(sessions, clock)
    assert (await api.gql(CASE, {"id": case_id}))["node"]["stage"] == "ENROL_NOTICE"
    clock.current = _at(served_on + timedelta(days=10))
    await _tick(sessions, clock)
    assert (await api.gql(CASE, {"id": case_id}))["node"]["stage"] == "TOWNSHIP_ORDER"

    # 责令限期改正: the township orders, cites the notice it follows, serves.
    order = await _ok(api, ISSUE, {"doc": (await _ok(api, DRAFT, {
        "case": case_id, "kind": "township_order"}, "township_officer"))["id"]},
        "township_officer")
    assert notice["number"] in order["body"]
    assert order["number"].startswith("山城责改〔")
    order_served = clock.now().date()
    await _ok(api, SERVE, {"doc": order["id"], "on": order_served.isoformat()},
              "township_officer")

    # The referral is an action step: not before the order's deadline has passed.
    referral = await _ok(api, DRAFT, {"case": case_id, "kind": "judicial_referral"},
                         "township_officer")
    assert referral["addressee"] == "山亭区司法局"
    assert await _error(api, ISSUE, {"doc": referral["id"]}, "township_officer") == "WRONG_STAGE"
    # …and the judicial bureau cannot act on a case nobody referred (it cannot even see it).
    assert await _error(api, DRAFT, {"case": case_id, "kind": "judicial"},
                        "judicial_officer") == "NOT_FOUND"
    clock.current = _at(order_served + timedelta(days=10))
    referral = await _ok(api, ISSUE, {"doc": referral["id"]}, "township_officer")
    assert referral["case"]["stage"] == "REFERRED_TO_JUDICIAL"

    # 司法文书: only the judicial bureau, only now; issuing enters the judicial step.
    for user in ("township_officer", "edu_officer", "police_officer"):
        assert await _error(api, DRAFT, {"case": case_id, "kind": "judicial"}, user) in {
            "FORBIDDEN", "NOT_FOUND"}
    # Drafted without deadlineDays (the ST ladder fixes none): the configured default, never
    # "None日内".
    judicial = await _ok(api, DRAFT, {"case": case_id, "kind": "judicial"}, "judicial_officer")
    assert judicial["deadlineDays"] == 10 and "自本文书送达之日起10日内" in judicial["body"]
    judicial = await _ok(api, ISSUE, {"doc": judicial["id"]}, "judicial_officer")
    assert judicial["number"].startswith("山司教督〔") and judicial["case"]["stage"] == (
        "JUDICIAL_DOCUMENT")
    assert referral["number"] in judicial["body"]
    text, _ = await _pdf_text(api, judicial["pdfUrl"], "judicial_officer")
    assert judicial["number"] in text.replace("\n", "")
    assert real.name in text and masked not in text, "served on the guardians: in full"
    assert "依法发放相关司法文书，敦促辍学学生尽早复学" in text.replace("\n", "")

    timeline = (await api.gql(CASE, {"id": case_id}))["node"]["timeline"]
    kinds = [e["kind"] for e in timeline]
    assert kinds.count("document_issued") == 4 and kinds.count("document_served") == 2
    async with sessions() as s:
        ops = (await s.execute(select(AuditEvent.operation).where(
            AuditEvent.record_type == "legal_document"))).scalars().all()
    assert {"draft_document", "issue_document", "serve_document"} <= set(ops)


async def test_void_withdraws_deadlines_and_reissue_numbers_anew(
    api: Api, clock: FixedClock, sessions: async_sessionmaker[AsyncSession]
) -> None:
    case_id, draft = await _enrol_notice_drafted(api, clock, sessions)
    today = clock.now().date()
    notice = await _ok(api, ISSUE, {"doc": draft["id"]}, "edu_officer")
    await _ok(api, SERVE, {"doc": notice["id"], "on": today.isoformat()}, "township_officer")
    seq = int(NUMBER.match(notice["number"]).group(3))  # type: ignore[union-attr]

    # A second notice while one is in force: refused.
    again = await _ok(api, DRAFT, {"case": case_id, "kind": "enrol_notice"}, "edu_officer")
    assert await _error(api, ISSUE, {"doc": again["id"]}, "edu_officer") == "DUPLICATE"
    # An issued document is never issued twice, nor served twice.
    assert await _error(api, ISSUE, {"doc": notice["id"]}, "edu_officer") == "WRONG_STAGE"
    assert await _error(api, SERVE, {"doc": notice["id"], "on": today.isoformat()},
                        "township_officer") == "WRONG_STAGE"

    new = await _ok(api, REISSUE, {"doc": notice["id"]}, "edu_officer")
    assert new["status"] == "ISSUED" and new["replacesId"] == notice["id"]
    assert int(NUMBER.match(new["number"]).group(3)) == seq + 1  # type: ignore[union-attr]
    async with sessions() as s:
        pending = (await s.execute(select(CaseStepDue).where(
            CaseStepDue.reached_at.is_(None)))).scalars().all()
    node = (await api.gql(CASE, {"id": case_id}))["node"]
    assert node["nextDueOn"] is None, "the voided notice's deadline is withdrawn"
    assert not [p for p in pending if p.due_on == today + timedelta(days=10)]
    statuses = {d["number"]: d["status"] for d in node["documents"] if d["number"]}
    assert statuses[notice["number"]] == "VOIDED" and statuses[new["number"]] == "ISSUED"

    old = (await api.gql(VERIFY, {"code": notice["verificationCode"]}, user="police_officer"))
    assert old["verifyDocument"] == {
        "genuine": True, "valid": False, "number": notice["number"], "status": "VOIDED",
        "voidReason": "监护人姓名有误", "hashMatches": None, "issuer": "山亭区教育和体育局"}
    ok = (await api.gql(VERIFY, {"code": new["verificationCode"].lower(),
                                 "sha": new["pdfSha256"]}, user="market_officer"))
    assert ok["verifyDocument"]["valid"] and ok["verifyDocument"]["hashMatches"]
    bad = (await api.gql(VERIFY, {"code": new["verificationCode"], "sha": "0" * 64},
                         user="market_officer"))
    assert bad["verifyDocument"]["hashMatches"] is False
    forged = (await api.gql(VERIFY, {"code": "ZZZZZZZZZZZZ"}, user="market_officer"))
    assert forged["verifyDocument"] == {"genuine": False, "valid": False, "number": None,
                                         "status": None, "voidReason": None,
                                         "hashMatches": None, "issuer": None}

    # Served again, the reissued notice restarts the deadline.
    served = await _ok(api, SERVE, {"doc": new["id"], "on": today.isoformat()},
                       "township_officer")
    assert served["case"]["nextDueOn"] == (today + timedelta(days=10)).isoformat()


async def test_documents_are_listed_by_case_and_agency_as_the_policy_says(
    api: Api, clock: FixedClock, sessions: async_sessionmaker[AsyncSession]
) -> None:
    case_id, _ = await _case_at_enrol_notice(api, clock, sessions)
    report_draft = await _ok(api, DRAFT, {"case": case_id, "kind": "dropout_report",
                                          "facts": "家长带其外出务工。"}, "principal")
    report_doc = await _ok(api, ISSUE, {"doc": report_draft["id"]}, "principal")
    # Reported to the education bureau and, at the same time, to the township (SPT 7 "由学校
    # 上报教育主管部门，同时上报乡镇人民政府"; ST 4; GH 三(二); YQ 三(一)2).
    async with sessions() as s:
        real = (await s.execute(
            select(Child.name, Child.national_id, Agency.name.label("township"))
            .join(DropoutCase, DropoutCase.child_id == Child.id)
            .join(LegalDocument, LegalDocument.case_id == DropoutCase.id)
            .join(Agency, (Agency.jurisdiction_code == DropoutCase.township_code)
                  & (Agency.kind == "township"))
            .where(LegalDocument.number == report_doc["number"]))).one()
    assert report_doc["addressee"] == f"山亭区教育和体育局、{real.township}"
    assert "家长带其外出务工" in report_doc["body"] and "辍学标注" in report_doc["body"]
    # Both may see names (SPT 4, SPT 5); only the bureau may see ID numbers (ST 1): the one
    # text they both read carries the name whole and the ID number masked.
    assert real.name in report_doc["body"]
    assert real.national_id not in report_doc["body"]
    assert real.national_id[-4:] in report_doc["body"]
    await _ok(api, ISSUE, {"doc": (await _ok(api, DRAFT, {"case": case_id,
              "kind": "enrol_notice"}, "edu_officer"))["id"]}, "edu_officer")
    listing = """query($case: ID, $mine: Boolean! = false) { documents(filter: {caseId: $case,
      issuedByMyAgency: $mine}) { totalCount edges { node { kind number } } } }"""
    seen = {}
    for user in ("edu_officer", "principal", "township_officer", "judicial_officer",
                 "market_officer"):
        data = await api.gql(listing, {"case": case_id}, user=user)
        seen[user] = sorted(e["node"]["kind"] for e in data["documents"]["edges"])
    assert seen == {
        "edu_officer": ["dropout_report", "enrol_notice"],
        "principal": ["dropout_report"],
        "township_officer": ["dropout_report", "enrol_notice"],
        "judicial_officer": [],
        "market_officer": [],
    }
    mine = await api.gql(listing, {"case": None, "mine": True}, user="principal")
    assert [e["node"]["number"] for e in mine["documents"]["edges"]] == [report_doc["number"]]
    # Both addressees print it; the PDF route refuses those who may not read the document,
    # and anonymous callers.
    for reader in ("edu_officer", "township_officer"):
        text, _ = await _pdf_text(api, report_doc["pdfUrl"], reader)
        assert report_doc["number"] in text.replace("\n", "")
    denied = await api.client.get(report_doc["pdfUrl"], headers={
        "Authorization": f"Bearer {api.token('judicial_officer')}"})
    assert denied.status_code == 404 and denied.json()["code"] == "NOT_FOUND"
    assert (await api.client.get(report_doc["pdfUrl"])).status_code == 401


async def test_bad_input_is_refused_with_codes_and_writes_nothing(
    api: Api, clock: FixedClock, sessions: async_sessionmaker[AsyncSession]
) -> None:
    case_id, _ = await _case_at_enrol_notice(api, clock, sessions)
    today = clock.now().date()
    assert await _error(api, DRAFT, {"case": case_id, "kind": "love_letter"},
                        "edu_officer") == "BAD_INPUT"
    assert await _error(api, DRAFT, {"case": case_id, "kind": "enrol_notice", "days": 30},
                        "edu_officer") == "BAD_INPUT", "the ladder fixes 10 days"
    # A township order before the case reached that step.
    order = await _ok(api, DRAFT, {"case": case_id, "kind": "township_order"},
                      "township_officer")
    assert await _error(api, ISSUE, {"doc": order["id"]}, "township_officer") == "WRONG_STAGE"
    notice = await _ok(api, ISSUE, {"doc": (await _ok(api, DRAFT, {
        "case": case_id, "kind": "enrol_notice"}, "edu_officer"))["id"]}, "edu_officer")
    tomorrow = (today + timedelta(days=1)).isoformat()
    assert await _error(api, SERVE, {"doc": notice["id"], "on": tomorrow},
                        "township_officer") == "BAD_INPUT"
    assert await _error(api, VOID, {"doc": notice["id"], "reason": " "},
                        "edu_officer") == "BAD_INPUT"
    # Only the drafting agency issues its draft, and only agencies with the grant act at all.
    draft = await _ok(api, DRAFT, {"case": case_id, "kind": "dropout_report"}, "principal")
    assert await _error(api, ISSUE, {"doc": draft["id"]}, "edu_officer") == "FORBIDDEN"
    assert await _error(api, ISSUE, {"doc": "bm90IGEgZG9j"}, "edu_officer") == "BAD_INPUT"
    async with sessions() as s:
        issued = (await s.execute(select(LegalDocument.number).where(
            LegalDocument.number.is_not(None)))).scalars().all()
        served = (await s.execute(select(LegalDocument).where(
            LegalDocument.served_on.is_not(None)))).scalars().all()
    assert issued == [notice["number"]] and served == []


@pytest.mark.postgres_only
async def test_fifty_concurrent_issues_get_fifty_consecutive_numbers(
    tmp_path: Path, authorizer: Authorizer
) -> None:
    now, clock = MONDAY_MORNING, FixedClock(MONDAY_MORNING)
    async with scratch_postgres(tmp_path, children=120) as db:
        async with AsyncSession(db, expire_on_commit=False) as s:
            ctx = await acting_as(s, "principal", authorizer, clock)
            principal = ctx.principal
            # Fifty pupils of the principal's school, each with a case marked as a dropout
            # and a written report drafted: fifty drafts of one agency, waiting to be issued.
            model = (await s.execute(
                select(Child).where(Child.scope_path == principal.agency_scope).limit(1)
            )).scalar_one()
            enrolment = (await s.execute(
                select(Enrolment).where(Enrolment.child_id == model.id))).scalar_one()
            drafts: list[int] = []
            for i in range(50):
                child = Child(name=f"孙{i}", sex=model.sex, birth_date=model.birth_date,
                              register_type=model.register_type, student_no=f"T{i:05d}",
                              township_code=model.township_code, scope_path=model.scope_path)
                s.add(child)
                await s.flush()
                s.add(Enrolment(child_id=child.id, school_id=enrolment.school_id,
                                grade=enrolment.grade, status=enrolment.status,
                                status_since=enrolment.status_since))
                await s.flush()
                case = await case_service.report_absence(ctx, child_id=child.id,
                                                         first_absence=now.date())
                await case_service.mark_dropout(ctx, case_id=case.id, expected_version=None)
                doc = await document.draft(ctx, case_id=case.id, kind="dropout_report")
                drafts.append(doc.id)
            await s.commit()
        assert len(drafts) == 50

        async def issue(document_id: int) -> str:
            async with AsyncSession(db, expire_on_commit=False) as s:
                doc = await document.issue(
                    await acting_as(s, "principal", authorizer, clock), document_id=document_id)
                await s.commit()
                assert doc.number is not None
                return doc.number

        numbers = await asyncio.gather(*(issue(d) for d in drafts))
        seqs = sorted(int(NUMBER.match(n).group(3)) for n in numbers)  # type: ignore[union-attr]
        assert seqs == list(range(1, 51)), seqs
        assert len(set(numbers)) == 50


async def test_the_printed_code_verifies(
    api: Api, clock: FixedClock, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """The code as printed on the PDF (with hyphens) verifies, and so does what a reader types
    from it: spaces, lower case, full width, O/I/L for 0/1."""
    _, draft = await _enrol_notice_drafted(api, clock, sessions)
    notice = await _ok(api, ISSUE, {"doc": draft["id"]}, "edu_officer")
    text, _ = await _pdf_text(api, notice["pdfUrl"], "edu_officer")
    found = re.search(r"核验码：([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})", text.replace("\n", ""))
    assert found, text
    printed = found.group(1)
    assert notice["verificationCode"] == printed, "the API shows the code as printed"
    typed = [
        printed,
        printed.replace("-", " ").lower(),
        printed.replace("-", ""),
        "".join(chr(ord(c) + 0xFEE0) for c in printed),  # full-width
        printed.replace("0", "O").replace("1", "l"),
        f"  {printed.replace('-', '—')} ",
    ]
    for code in typed:
        got = (await api.gql(VERIFY, {"code": code}, user="market_officer"))["verifyDocument"]
        assert got["genuine"] and got["valid"] and got["number"] == notice["number"], code
    wrong = printed[:-1] + ("2" if printed[-1] != "2" else "3")
    assert not (await api.gql(VERIFY, {"code": wrong}, user="market_officer"))[
        "verifyDocument"]["genuine"]


SERVED_BY_KIND = """mutation($case: ID!, $kind: String!, $on: Date!) { recordDocumentServed(
  input: {caseId: $case, documentKind: $kind, servedOn: $on, servedTo: "监护人 张某"})
  { case { stage nextDueOn } userErrors { code: errorCode field message } } }"""


async def test_no_deadline_runs_from_a_document_never_issued_or_served_before_its_issue(
    api: Api, clock: FixedClock, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """The deprecated recordDocumentServed used to start the township order's deadline from a
    notice that was never issued, back-dated at will; the next tick then moved the case on."""
    case_id, day0 = await _case_at_enrol_notice(api, clock, sessions)
    today = clock.now().date()
    back_dated = (day0 + timedelta(days=1)).isoformat()
    refused = (await api.gql(SERVED_BY_KIND, {"case": case_id, "kind": "enrol_notice",
                                              "on": back_dated}, user="township_officer"))
    assert refused["recordDocumentServed"]["userErrors"][0]["code"] == "WRONG_STAGE"
    async with sessions() as s:
        dues = (await s.execute(select(CaseStepDue).join(
            DropoutCase, DropoutCase.id == CaseStepDue.case_id).where(
            CaseStepDue.position == 5))).scalars().all()
    assert dues == [], "no deadline was started"
    clock.current = _at(today + timedelta(days=11))
    await _tick(sessions, clock)
    assert (await api.gql(CASE, {"id": case_id}))["node"]["stage"] == "ENROL_NOTICE"

    # Issued today: serving it before today is refused on both paths, as is the future.
    notice = await _ok(api, ISSUE, {"doc": (await _ok(api, DRAFT, {
        "case": case_id, "kind": "enrol_notice"}, "edu_officer"))["id"]}, "edu_officer")
    issued_on = clock.now().date()
    before = (issued_on - timedelta(days=1)).isoformat()
    future = (issued_on + timedelta(days=1)).isoformat()
    for on in (before, future):
        assert await _error(api, SERVE, {"doc": notice["id"], "on": on},
                            "township_officer") == "BAD_INPUT", on
        old = await api.gql(SERVED_BY_KIND, {"case": case_id, "kind": "enrol_notice",
                                             "on": on}, user="township_officer")
        assert old["recordDocumentServed"]["userErrors"][0]["code"] == "BAD_INPUT", on
    # On the issue date, through the deprecated path: it serves the issued notice itself.
    ok = await api.gql(SERVED_BY_KIND, {"case": case_id, "kind": "enrol_notice",
                                        "on": issued_on.isoformat()}, user="township_officer")
    assert ok["recordDocumentServed"]["userErrors"] == []
    assert ok["recordDocumentServed"]["case"]["nextDueOn"] == (
        issued_on + timedelta(days=10)).isoformat()
    async with sessions() as s:
        doc = (await s.execute(select(LegalDocument).where(
            LegalDocument.number == notice["number"]))).scalar_one()
    assert doc.status == "served" and doc.served_on == issued_on


async def _tasks_of(sessions: async_sessionmaker[AsyncSession], case_gid: str) -> dict[str, Task]:
    case_id = int(relay.GlobalID.from_id(case_gid).node_id)
    async with sessions() as s:
        rows = (await s.execute(select(Task).where(Task.case_id == case_id))).scalars().all()
    return {t.kind: t for t in rows}


async def test_the_act_that_answers_a_ladder_task_closes_it_and_no_breach_follows(
    api: Api, clock: FixedClock, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Issuing and serving the notice, issuing and serving the judicial document close the
    tasks that asked for them (task_answers.json), in the same transaction, audited; the
    engine then records no breach for them however late it runs."""
    case_id, _ = await _case_at_enrol_notice(api, clock, sessions)
    named = ("issue_enrol_notice", "serve_enrol_notice", "review_referral",
             "serve_judicial_document")
    tasks = await _tasks_of(sessions, case_id)
    assert tasks["issue_enrol_notice"].status == "open"
    assert tasks["serve_enrol_notice"].status == "open"

    notice = await _ok(api, ISSUE, {"doc": (await _ok(api, DRAFT, {
        "case": case_id, "kind": "enrol_notice"}, "edu_officer"))["id"]}, "edu_officer")
    tasks = await _tasks_of(sessions, case_id)
    assert tasks["issue_enrol_notice"].status == "done"
    assert tasks["issue_enrol_notice"].outcome == f"{notice['title']} {notice['number']}"
    assert tasks["serve_enrol_notice"].status == "open", "issuing is not serving"
    served_on = clock.now().date()
    await _ok(api, SERVE, {"doc": notice["id"], "on": served_on.isoformat()},
              "township_officer")
    assert (await _tasks_of(sessions, case_id))["serve_enrol_notice"].status == "done"

    clock.current = _at(served_on + timedelta(days=10))
    await _tick(sessions, clock)
    order = await _ok(api, ISSUE, {"doc": (await _ok(api, DRAFT, {
        "case": case_id, "kind": "township_order"}, "township_officer"))["id"]},
        "township_officer")
    await _ok(api, SERVE, {"doc": order["id"], "on": clock.now().date().isoformat()},
              "township_officer")
    clock.current = _at(clock.now().date() + timedelta(days=10))
    await _ok(api, ISSUE, {"doc": (await _ok(api, DRAFT, {
        "case": case_id, "kind": "judicial_referral"}, "township_officer"))["id"]},
        "township_officer")
    assert (await _tasks_of(sessions, case_id))["review_referral"].status == "open"
    judicial = await _ok(api, ISSUE, {"doc": (await _ok(api, DRAFT, {
        "case": case_id, "kind": "judicial", "days": 7}, "judicial_officer"))["id"]},
        "judicial_officer")
    tasks = await _tasks_of(sessions, case_id)
    assert tasks["review_referral"].status == "done"
    assert tasks["serve_judicial_document"].status == "open"
    await _ok(api, SERVE, {"doc": judicial["id"], "on": clock.now().date().isoformat()},
              "judicial_officer")
    tasks = await _tasks_of(sessions, case_id)
    assert all(tasks[k].status == "done" and tasks[k].completed_at is not None for k in named)

    # Long after every due date: the engine records no breach for work that was done.
    clock.current = _at(clock.now().date() + timedelta(days=60))
    await _tick(sessions, clock)
    tasks = await _tasks_of(sessions, case_id)
    assert [k for k in named if tasks[k].breached_at is not None] == []
    breached_ids = {t.id for t in tasks.values() if t.breached_at is not None}
    assert breached_ids.isdisjoint({tasks[k].id for k in named})
    async with sessions() as s:
        audited = (await s.execute(select(AuditEvent.change).where(
            AuditEvent.operation == "answer_tasks"))).scalars().all()
    assert {k for change in audited for k in change["kinds"]} >= set(named)


def test_every_agency_a_document_goes_to_may_read_it() -> None:
    """A document kind's addressee roles (recipient and copies) are granted to read it: the
    policy and the addressee data cannot drift apart again."""
    from authz.policy import default_rules
    from workflow.document import config

    readers = {(r.role, r.obj) for r in default_rules()
               if r.act == "read" and r.effect == "allow"}
    for kind in config().kinds.values():
        roles = ([kind.recipient_role] if kind.recipient_role else []) + list(kind.copy_roles)
        assert len(kind.copy_roles) == len(kind.copies_to), kind.code
        for role in roles:
            assert (role, f"document:{kind.code}") in readers, (kind.code, role)
