"""Printing an issued document (印发): the district's layout, the PDF, the issuer's signature.

The layout is data kept with the ladder (``reference_data/document_layouts.json``): a
district's own entry (its GB/T 2260 code) first, else its ladder's (the code it was adopted
from), else the national one. Each lists the kinds the district prints and the rules in force
there that each rests on. The PDF is set by ``workflow/infra/pdf.py`` after GB/T 9704 and
signed by the issuing agency (``workflow/infra/signing.py``); its hash is taken after signing,
so the hash and the signature cover the same bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from models.document import LegalDocument
from models.enums import DocumentStatus
from models.ladder import Ladder
from models.reference import Agency
from workflow.context import ServiceContext
from workflow.document.kinds import _basis_line, zh_date
from workflow.document.numbering import format_code
from workflow.errors import WrongStage
from workflow.infra import pdf, reference_json, signing

LAYOUTS = "document_layouts.json"
NATIONAL = "national"


@dataclass(frozen=True)
class Layout:
    """How one ladder's (or district's) documents are printed."""

    code: str
    header: str
    red: str
    cites: dict[str, list[dict[str, str]]]


@cache
def layouts() -> dict[str, Layout]:
    raw: dict[str, Any] = reference_json.load(LAYOUTS)["layouts"]
    return {
        code: Layout(
            code=code,
            header=v["header"],
            red=v["red"],
            cites={kind: k["cites"] for kind, k in v["kinds"].items()},
        )
        for code, v in raw.items()
    }


def layout_for(district_code: str, ladder: Ladder | None) -> Layout:
    """The district's own layout, else its ladder's, else the national one."""
    found = layouts()
    keys = [district_code, *((ladder.code, ladder.based_on) if ladder else ())]
    return next((found[k] for k in keys if k and k in found), found[NATIONAL])


# Where the public verification page is (``LIANBAO_PUBLIC_URL``): printed under the QR code.
_site = {"url": "http://127.0.0.1:8000"}


def configure(public_url: str) -> None:
    _site["url"] = public_url.rstrip("/")


def verify_url(code: str) -> str:
    """The URL the QR code holds: the public page with the code filled in."""
    return f"{_site['url']}/verify?code={format_code(code)}"


def _printable(doc: LegalDocument, agency: Agency, layout: Layout, text: str) -> pdf.Printable:
    assert doc.number is not None and doc.verification_code is not None
    assert doc.issued_on is not None
    site = _site["url"].split("://", 1)[-1]
    return pdf.Printable(
        issuer=agency.name,
        title=doc.title,
        number=doc.number,
        body=text,
        issued_on=zh_date(doc.issued_on),
        verification_code=format_code(doc.verification_code),
        basis=_basis_line(doc.legal_basis),
        header=layout.header.format(issuer=agency.name),
        verify_url=verify_url(doc.verification_code),
        verify_site=f"{site}/verify",
        red=layout.red,
    )


def print_signed(printable: pdf.Printable, issued: date, who: signing.Signatory) -> bytes:
    """The PDF as issued: set, then signed by ``who`` (on the documents' worker thread)."""
    return signing.sign(pdf.render(printable, issued), who, f"签发 {printable.number}")


async def freeze(
    ctx: ServiceContext,
    doc: LegalDocument,
    agency: Agency,
    today: date,
    layout: Layout,
    served_text: str,
    printed_raw: Sequence[str] = (),
) -> None:
    """Print the numbered document as served (``served_text``, which shows ``printed_raw``
    unmasked: downloading it needs their grants), sign it as its issuer, hash it, and mark it
    issued."""
    if doc.kind not in layout.cites:
        raise WrongStage(
            f"this district's document layout ({layout.code}) has no {doc.kind}",
            field="documentId",
        )
    doc.issued_on = today
    doc.fields = {**doc.fields, "printed_raw": list(printed_raw)}
    who = signing.Signatory(agency.id, agency.jurisdiction_code, agency.kind.value, agency.name)
    doc.pdf = await pdf.off_loop(
        print_signed, _printable(doc, agency, layout, served_text), today, who
    )
    doc.pdf_sha256 = hashlib.sha256(doc.pdf).hexdigest()
    doc.status = DocumentStatus.ISSUED
    doc.issued_at, doc.issued_by = ctx.clock.now(), ctx.principal.user_id
    doc.updated_at = ctx.clock.now()
