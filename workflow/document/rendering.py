"""A document's text: the Jinja template per kind and district
(``workflow/infra/templates/documents/``), filled from the case, the child (masked as the
recipient may see it) and the documents already served.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta
from sqlalchemy import select

from authz.enforcer import Authorizer
from authz.masking import SensitiveField, mask_id_number, mask_name
from models.case import CasePlan, DropoutCase, PersuasionAttempt
from models.child import Child
from models.document import LegalDocument
from models.ladder import Ladder
from models.reference import Agency
from models.school import School
from workflow.calendar import local_date
from workflow.context import ServiceContext
from workflow.document.kinds import (
    _AGENCY_ZH,
    CAUSE_ZH,
    LIVE,
    METHOD_ZH,
    OUTCOME_ZH,
    STAGE_ZH,
    KindConfig,
    _deadline_days,
    _step_for,
    citations,
    kind_config,
    what_follows,
    zh_date,
)
from workflow.errors import InvalidInput
from workflow.infra import pdf

TEMPLATES = Path(pdf.__file__).resolve().parent / "templates" / "documents"


def _printable(value: Any) -> Any:
    """Every ``{{ … }}`` of a template passes here. StrictUndefined catches a name the
    context lacks; this catches one it holds as None or "", which would print "None" or leave
    a gap in a legal text ("自本文书送达之日起None日内"). Optional parts are guarded with
    ``{% if %}`` in the template; anything else printed must have a value."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise jinja2.UndefinedError("a document template printed an empty value")
    return value


@cache
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        finalize=_printable,
        autoescape=False,  # plain text; the PDF writer escapes for its own markup
        keep_trailing_newline=False,
    )


# Values a drafter supplies (or data defaults), by the name templates use and the input field.
DRAFTED = {"deadline_days": "deadlineDays", "amount": "amount"}


@cache
def template_needs(district_code: str, kind: str) -> frozenset[str]:
    """The names the district's template of ``kind`` (with what it includes) prints or tests."""
    env = _templates()
    template = _template(district_code, kind)
    assert env.loader is not None and template.name is not None
    names: set[str] = set()
    pending, done = [template.name], set()
    while pending:
        name = pending.pop()
        done.add(name)
        ast = env.parse(env.loader.get_source(env, name)[0])
        names |= jinja2.meta.find_undeclared_variables(ast)
        pending += [
            str(ref) for ref in jinja2.meta.find_referenced_templates(ast)
            if ref is not None and ref not in done
        ]
    return frozenset(names)


def drafted_fields(
    ladder: Ladder,
    cfg: KindConfig,
    district_code: str,
    *,
    deadline_days: int | None,
    amount: int | None,
) -> dict[str, int | None]:
    """The drafter's values a document keeps: the period (the ladder's, else the one asked,
    else the kind's configured default) and the amount. A value the district's template
    prints is required: missing, it is refused here with the input field to fill in, rather
    than printed as "None" at issue."""
    values = {"deadline_days": _deadline_days(ladder, cfg, deadline_days), "amount": amount}
    needs = template_needs(district_code, cfg.code)
    for name, input_field in DRAFTED.items():
        if name in needs and values[name] is None:
            raise InvalidInput(
                f"a {cfg.code} states its {input_field}: give one", field=input_field
            )
    return values


def _template(district_code: str, kind: str) -> jinja2.Template:
    """The district's wording of a kind, else the default one."""
    return _templates().select_template([f"{district_code}/{kind}.txt.j2", f"{kind}.txt.j2"])


# --- rendering -------------------------------------------------------------------------


def _recipient_may(
    authz: Authorizer, roles: Sequence[str], fld: SensitiveField, case: DropoutCase
) -> bool:
    """Whether every agency a document goes to may see ``fld`` of this child: the text shows
    no more than its least entitled reader is entitled to, whoever prints it."""
    if not roles:
        return False
    return all(
        authz.role_allowed(role, fld.obj, "unmask", case.scope_path, case.stage)
        for role in roles
    )


def _child_as_seen(
    ctx: ServiceContext, cfg: KindConfig, child: Child, case: DropoutCase
) -> tuple[str, str]:
    """The child's name and ID number as the document's recipients may read them: a document
    printed for an agency without the unmask grant carries the masked values."""
    role = (cfg.recipient_role, *cfg.copy_roles) if cfg.recipient_role else ()
    name = (
        child.name
        if _recipient_may(ctx.authz, role, SensitiveField.NAME, case)
        else mask_name(child.name)
    )
    if child.national_id is None:
        national_id = "无"
    elif _recipient_may(ctx.authz, role, SensitiveField.NATIONAL_ID, case):
        national_id = child.national_id
    else:
        national_id = mask_id_number(child.national_id)
    return name, national_id


@dataclass(frozen=True)
class Rendered:
    """A document's text twice: ``body`` as every agency reading it on screen may see it
    (the child as masked as its least entitled recipient), ``served`` as printed on the copy
    served on the addressee (a notice to the guardians names their child in full), with the
    sensitive fields ``served`` prints unmasked (downloading the PDF needs their grants) and
    the rules cited."""

    body: str
    served: str
    printed_raw: tuple[str, ...]
    basis: list[dict[str, Any]]


def _served_child(
    cfg: KindConfig, child: Child, seen: tuple[str, str]
) -> tuple[tuple[str, str], tuple[str, ...]]:
    """The child as the served copy prints it: in full for the guardians (their own child;
    the ID number stays masked, which the notice does not need), else as seen."""
    name, national_id = (child.name, seen[1]) if cfg.addressee == "guardian" else seen
    raw = [
        fld.value
        for fld, shown, value in (
            (SensitiveField.NAME, name, child.name),
            (SensitiveField.NATIONAL_ID, national_id, child.national_id),
        )
        if shown == value
    ]
    return (name, national_id), tuple(raw)


async def _persuasions(ctx: ServiceContext, case: DropoutCase) -> list[dict[str, str]]:
    """The case's persuasion attempts, oldest first, in the document's words."""
    persuasions = (
        (
            await ctx.session.execute(
                select(PersuasionAttempt)
                .where(PersuasionAttempt.case_id == case.id)
                .order_by(PersuasionAttempt.attempted_at)
            )
        )
        .scalars()
        .all()
    )
    return [
        {
            "date": zh_date(local_date(p.attempted_at)),
            "agency": _AGENCY_ZH.get(p.agency_kind, "有关部门") if p.agency_kind else "有关部门",
            "method": METHOD_ZH.get(p.method.value, p.method.value),
            "outcome": OUTCOME_ZH.get(p.outcome.value, p.outcome.value),
        }
        for p in persuasions
    ]


async def render(
    ctx: ServiceContext,
    doc: LegalDocument,
    case: DropoutCase,
    ladder: Ladder,
    *,
    number: str,
    issued_on: date,
) -> Rendered:
    """The document's text (on screen and as served) and the rules it cites, from the case as
    it stands now."""
    cfg = kind_config(doc.kind)
    child = await ctx.session.get_one(Child, case.child_id)
    school = await ctx.session.get(School, case.school_id) if case.school_id else None
    seen = _child_as_seen(ctx, cfg, child, case)
    served, printed_raw = _served_child(cfg, child, seen)
    step = _step_for(ladder, doc.kind)
    basis_rows = (
        [{"source_key": step.basis_key, "article": step.basis_article, "quote": step.basis_quote}]
        if step is not None and step.basis_quote
        else []
    )
    basis = citations(doc.kind, case.district_code, basis_rows)
    attempts = await _persuasions(ctx, case)
    plan = (
        await ctx.session.execute(select(CasePlan).where(CasePlan.case_id == case.id))
    ).scalar_one_or_none()
    earlier = await live_documents(ctx, case.id)
    referral = earlier.get("judicial_referral")
    context = {
        "number": number,
        "title": doc.title,
        "issued_on": zh_date(issued_on),
        "addressee": doc.addressee,
        "child": {"name": seen[0], "national_id": seen[1]},
        "school_name": school.name if school else "原就读学校",
        "case": {"first_absence": zh_date(case.day0), "stage": STAGE_ZH[case.stage]},
        "deadline_days": doc.fields.get("deadline_days"),
        "amount": doc.fields.get("amount"),
        "facts": doc.fields.get("facts") or "",
        "basis": basis,
        "persuasions": attempts,
        "plan": {
            "cause": CAUSE_ZH.get(plan.cause.value, plan.cause.value),
            "measures": plan.measures,
            "responsible_person": plan.responsible_person,
        }
        if plan
        else None,
        "served_notice": earlier.get("enrol_notice"),
        "served_order": earlier.get("township_order"),
        "referral": referral,
        "then": what_follows(ladder, doc.kind),
    }
    served_context = {
        **context,
        "child": {"name": served[0], "national_id": served[1]},
        # The default addressee names the guardians by the child's masked name: served, in full.
        "addressee": doc.addressee.replace(f"{seen[0]}的", f"{served[0]}的", 1),
    }
    return Rendered(
        body=render_text(case.district_code, doc.kind, context),
        served=render_text(case.district_code, doc.kind, served_context),
        printed_raw=printed_raw,
        basis=basis,
    )


def render_text(district_code: str, kind: str, context: dict[str, Any]) -> str:
    """The district's wording of ``kind`` filled in; a missing or empty value fails here."""
    return _template(district_code, kind).render(context).strip()


async def live_documents(ctx: ServiceContext, case_id: int) -> dict[str, dict[str, str]]:
    """The live documents already on the case, by kind: later documents cite them."""
    rows = (
        await ctx.session.execute(
            select(LegalDocument.kind, LegalDocument.number, LegalDocument.served_on, Agency.name)
            .join(Agency, Agency.id == LegalDocument.issuer_agency_id)
            .where(LegalDocument.case_id == case_id, LegalDocument.status.in_(LIVE))
        )
    ).all()
    return {
        kind: {
            "number": number or "",
            "issuer": issuer,
            "served_on": zh_date(served) if served else "（未送达）",
        }
        for kind, number, served, issuer in rows
    }
