"""Legal documents (法律文书): draft, issue, serve, void, reissue, print, verify.

The kinds — 限期入学通知书 ``enrol_notice``, 责令限期改正通知书 ``township_order``, the
referral to the judicial bureau ``judicial_referral``, the judicial document urging return
``judicial`` (司法文书), the written dropout report ``dropout_report``, the return order for
a child labourer ``return_order`` and the penalty decision ``penalty_decision`` — their titles,
number words and fallback legal basis are data (``reference_data/documents.json``); their
wording is a Jinja2 template per kind, overridable per jurisdiction
(``workflow/infra/templates/documents/<district code>/<kind>.txt.j2``).

Issuing is a step of the case: the policy says who may issue which kind from which stage; the
case's ladder says what must exist first. A kind that a ladder *action* step names (the
referral, the judicial document) is issued only as that step, once its gate has passed, and
issuing it enters the step. A kind a *deadline* step names is issued once the case has reached
that step. Serving a document starts the deadlines anchored on it. An issued document is never
edited: it is voided with a reason and reissued under a new number.

The concept's service, in parts: ``kinds`` (the kinds, their sources and citations),
``numbering`` (文号 and verification codes), ``rendering`` (templates and text), ``query``
(reading under the policy) and ``operations`` (draft, issue, serve, void, reissue). This
module is its one public surface.
"""

from __future__ import annotations

from workflow.document.kinds import (
    CAUSE_ZH,
    LIVE,
    METHOD_ZH,
    OUTCOME_ZH,
    STAGE_ZH,
    Config,
    KindConfig,
    Source,
    citation_of,
    citations,
    config,
    kind_config,
    what_follows,
    zh_date,
    zh_numeral,
)
from workflow.document.numbering import (
    CODE_ALPHABET,
    PublicVerification,
    Verification,
    assign_number,
    format_code,
    next_number,
    normalise_code,
    printed_code,
    verify,
    verify_public,
)
from workflow.document.operations import (
    draft,
    issue,
    issue_standalone,
    mark_served,
    mark_voided,
    reissue,
    serve,
    serve_by_kind,
    void,
)
from workflow.document.printing import configure as configure_printing
from workflow.document.printing import layout_for, layouts, print_signed
from workflow.document.query import (
    DocumentFilter,
    documents_of_cases,
    documents_page,
    documents_query,
    get_documents,
    issuers,
    pdf_of,
    visible,
)
from workflow.document.rendering import (
    DRAFTED,
    TEMPLATES,
    drafted_fields,
    render,
    render_text,
    template_needs,
)

__all__ = [
    "CAUSE_ZH",
    "CODE_ALPHABET",
    "DRAFTED",
    "LIVE",
    "METHOD_ZH",
    "OUTCOME_ZH",
    "STAGE_ZH",
    "TEMPLATES",
    "Config",
    "DocumentFilter",
    "KindConfig",
    "PublicVerification",
    "Source",
    "Verification",
    "assign_number",
    "citation_of",
    "citations",
    "config",
    "configure_printing",
    "documents_of_cases",
    "documents_page",
    "documents_query",
    "draft",
    "drafted_fields",
    "format_code",
    "get_documents",
    "issue",
    "issue_standalone",
    "issuers",
    "kind_config",
    "layout_for",
    "layouts",
    "mark_served",
    "mark_voided",
    "next_number",
    "normalise_code",
    "pdf_of",
    "print_signed",
    "printed_code",
    "reissue",
    "render",
    "render_text",
    "serve",
    "serve_by_kind",
    "template_needs",
    "verify",
    "verify_public",
    "visible",
    "void",
    "what_follows",
    "zh_date",
    "zh_numeral",
]
