"""Specimen documents (样张): every kind as a district would print it, from sample values in
the shapes the services hand to templates. Reviewers see what a parent or an employer
receives (``lianbao specimen``, ``make doc-images``), ``bench/render.py`` times printing them,
and the tests render every kind of every district from them.

The sample child is masked as on screen (``context``); ``served`` prints it as the copy served
on the guardians does, in full. Names, numbers and the ID are invented.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from models.enums import EnforcementKind
from models.ladder import Ladder
from workflow.document.kinds import citations, kind_config, what_follows
from workflow.document.printing import layout_for, print_signed
from workflow.document.rendering import drafted_fields, render_text
from workflow.errors import InvalidInput
from workflow.infra import pdf, signing
from workflow.labour_rules import rules_for
from workflow.ladder import template_ladder as ladder_template
from workflow.ladder import templates

ENFORCEMENT = {"return_order": EnforcementKind.RETURN_ORDER,
               "penalty_decision": EnforcementKind.FINE,
               "licence_revocation": EnforcementKind.LICENCE_REVOCATION}


def given(ladder: Ladder, kind: str, district: str, overdue: bool) -> list[dict[str, str]]:
    """The rows the services hand to ``citations``: the ladder step's, or the labour rules'."""
    if kind in ENFORCEMENT:
        rules = rules_for(district)
        rows = list(rules.action(ENFORCEMENT[kind]).basis)
        return rows + list(rules.overdue_basis) if overdue and kind == "penalty_decision" else rows
    step = next((s for s in ladder.steps if s.document_kind == kind), None)
    if step is None or not step.basis_quote:
        return []
    return [{"source_key": step.basis_key, "article": step.basis_article,
             "quote": step.basis_quote}]


def context(ladder: Ladder, kind: str, district: str, full: bool) -> dict[str, Any]:
    """What the services put before a template: the drafter's values through the same
    function drafting uses, the rest as a case or an inspection would give it (optional parts
    present when ``full``, absent otherwise)."""
    cfg = kind_config(kind)
    basis = citations(kind, district, given(ladder, kind, district, full))
    common = {"number": "山教体入通〔2026〕3号", "title": cfg.title,
              "issued_on": "二〇二六年十一月二日", "basis": basis,
              "facts": "经核实，该生随父母外出。" if full else ""}
    if kind in ENFORCEMENT:
        rules = rules_for(district)
        fine = kind == "penalty_decision"
        return {
            **common, "addressee": "山亭区张记餐馆",
            "employer": {"name": "山亭区张记餐馆", "credit_code": "92370406MA3C8Q2X1X",
                         "address": "山亭区北京路18号"},
            "children": [{"name": "张*", "national_id": "3704**********1234", "age": 14,
                          "work": "后厨洗碗", "found_on": "二〇二六年十一月二日"}],
            "deadline_days": rules.return_deadline_days if kind == "return_order" else None,
            "amount": 20000 if fine else None,
            "calculation": {
                "children": [{"months": 2, "rate": 5000, "overdue_months": 1 if full else 0,
                              "overdue_rate": 10000}],
                "unlicensed": full, "repeat_offence": full,
            } if fine else {"repeat_offence": full, "licence_before": "valid"},
        }
    fields = drafted_fields(ladder, cfg, district, deadline_days=None, amount=None)
    served = {"number": "山城责改〔2026〕1号", "issuer": "山城街道办事处",
              "served_on": "二〇二六年十一月二日"}
    return {
        **common, "addressee": "张*的父母或者其他法定监护人",
        "child": {"name": "张*", "national_id": "3704**********1234"},
        "school_name": "山亭区第一中学",
        "case": {"first_absence": "二〇二六年十月一日", "stage": "限期入学通知"},
        **fields,
        "persuasions": [{"date": "二〇二六年十月二日", "agency": "学校", "method": "家访",
                         "outcome": "拒绝"}] if full else [],
        "plan": {"cause": "厌学", "measures": "结对帮扶", "responsible_person": "刘芳"}
        if full else None,
        "served_notice": served if full else None,
        "served_order": served if full else None,
        "referral": served if full else None,
        "then": what_follows(ladder, kind),
    }


def issuable(ladder: Ladder, kind: str) -> bool:
    cfg = kind_config(kind)
    return not cfg.needs_ladder_step or any(s.document_kind == kind for s in ladder.steps)


SPECIMEN_CHILD = {"name": "张小明", "national_id": "3704**********1234"}
SPECIMEN_DAY = date(2026, 11, 2)


def served(ladder: Ladder, kind: str, district: str) -> dict[str, Any]:
    """The full specimen as served: a notice to the guardians names their child in full."""
    values = context(ladder, kind, district, True)
    if kind_config(kind).addressee == "guardian":
        values = {**values, "child": SPECIMEN_CHILD,
                  "addressee": f"{SPECIMEN_CHILD['name']}的父母或者其他法定监护人"}
    return values


def template_ladder(district: str) -> Ladder:
    """The shipped ladder of ``district`` (reference_data/ladders.json), without a database."""
    code = next((c for c, t in templates().items() if t["jurisdiction"] == district), None)
    if code is None:
        raise InvalidInput(f"no shipped ladder for {district}", field="district")
    return ladder_template(code)


def printable(ladder: Ladder, kind: str, district: str, issuer: str) -> pdf.Printable:
    """The specimen of ``kind`` in ``district``, issued by ``issuer``, ready to set."""
    # 样 marks the number as a specimen's: no agency numbers its documents so.
    values = {**served(ladder, kind, district),
              "number": f"样{kind_config(kind).number_word}〔2026〕1号"}
    layout = layout_for(district, ladder)
    return pdf.Printable(
        issuer=issuer, title=values["title"], number=values["number"],
        body=render_text(district, kind, values), issued_on="2026年11月2日",
        verification_code="WF6K-XNHV-8A9Q",
        basis="；".join(f"{b['source']}{b['citation']}" for b in values["basis"]),
        header=layout.header.format(issuer=issuer),
        verify_url="https://lianbao.example.gov.cn/verify?code=WF6K-XNHV-8A9Q",
        verify_site="lianbao.example.gov.cn/verify", red=layout.red)


def specimen_pdf(ladder: Ladder, kind: str, district: str, issuer: str) -> bytes:
    """The specimen as a signed PDF, as issuing prints it."""
    who = signing.Signatory(0, district, "specimen", issuer)
    return print_signed(printable(ladder, kind, district, issuer), SPECIMEN_DAY, who)
