"""The public verification page ``/verify`` (issue 17): no account, plain HTML, the code as
printed or typed (hyphens, spaces, any case) or from the QR code's URL; genuine, voided or
unknown with the issuer, number, kind and date and nothing personal; rate-limited per
address; and, in a real browser (Debian's chromium through selenium), usable without
JavaScript. Also the start-up refusal without a usable font."""

from __future__ import annotations

import asyncio
import re
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api import checks
from api.app import create_app
from api.settings import Settings
from authz.enforcer import Authorizer
from models.document import LegalDocument
from models.enums import AgencyKind, DocumentStatus
from models.reference import Agency
from tests.helpers import TEST_SECRET, Api, Database, migrate_and_seed, running, server_env
from workflow.clock import FixedClock
from workflow.document import format_code
from workflow.infra import signing

PAGE_STATUS = re.compile(r'data-status="(\w+)"')


async def _issued(sessions: async_sessionmaker[AsyncSession]) -> tuple[LegalDocument, str]:
    """An issued document on record, as issuing leaves it (the page reads only the record;
    issuing itself is tested in tests/test_documents.py), and its issuer's name."""
    async with sessions() as s:
        agency = (await s.execute(select(Agency).where(
            Agency.kind == AgencyKind.EDUCATION).order_by(Agency.id))).scalars().first()
        assert agency is not None
        doc = LegalDocument(
            kind="enrol_notice", scope_path=agency.scope_path, status=DocumentStatus.ISSUED,
            title="限期入学通知书", issuer_agency_id=agency.id, issuer_agency_kind=agency.kind,
            addressee="王小明的父母或者其他法定监护人", number="山教体入通〔2026〕99号",
            number_year=2026, number_seq=99, verification_code="WF6KXNHV8A9Q",
            issued_on=date(2026, 11, 2), pdf_sha256="0" * 64)
        s.add(doc)
        await s.commit()
        return doc, agency.name


def _status(html: str) -> str:
    found = PAGE_STATUS.search(html)
    assert found, html
    return found.group(1)


async def test_a_code_as_printed_or_typed_verifies_and_says_nothing_personal(
    api: Api, sessions: async_sessionmaker[AsyncSession]
) -> None:
    doc, issuer = await _issued(sessions)
    code = doc.verification_code
    assert code is not None
    printed = format_code(code)
    for typed in (printed, printed.lower(), " ".join(printed.split("-")), code,
                  f" {printed[:7]} {printed[7:]} "):
        response = await api.client.get("/verify", params={"code": typed})
        assert response.status_code == 200 and "text/html" in response.headers["content-type"]
        html = response.text
        assert _status(html) == "genuine", typed
        assert doc.number and doc.number in html and issuer in html and doc.title in html
        assert doc.issued_on is not None and doc.issued_on.isoformat() in html
        assert doc.addressee not in html, "nothing of whom it is addressed to"
        assert "<script" not in html, "works without JavaScript"
        assert 'name="viewport"' in html, "readable on a phone"
    # Voided: the same code says so (the voiding, not the signature, decides validity).
    async with sessions() as s:
        await s.execute(update(LegalDocument).where(LegalDocument.id == doc.id)
                        .values(status=DocumentStatus.VOIDED))
        await s.commit()
    html = (await api.client.get("/verify", params={"code": printed})).text
    assert _status(html) == "voided" and doc.number in html


async def test_an_unknown_code_is_unknown_and_the_form_stands_alone(api: Api) -> None:
    for typed in ("0000-0000-0000", "not a code", "<script>alert(1)</script>"):
        response = await api.client.get("/verify", params={"code": typed})
        assert response.status_code == 200 and _status(response.text) == "unknown"
        assert "<script>alert" not in response.text, "what was typed is escaped"
    blank = await api.client.get("/verify")
    assert blank.status_code == 200 and '<form method="get" action="/verify">' in blank.text
    assert "data-status" not in blank.text


async def test_verification_is_rate_limited_per_address(
    database: Database, sessions: async_sessionmaker[AsyncSession],
    settings_factory: Callable[[str], Settings], authorizer: Authorizer, clock: FixedClock,
) -> None:
    settings = settings_factory(database.url).model_copy(
        update={"verify_rate_limit_per_minute": 6})
    app = create_app(settings, engine=database.engine, sessions=sessions, authz=authorizer,
                     clock=clock, check_schema=False)
    statuses = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as client:
        for _ in range(7):
            statuses.append((await client.get("/verify", params={"code": "0000"})).status_code)
        limited = await client.get("/verify", params={"code": "0000"})
        # The empty form costs nothing: reading the page is not guessing a code.
        assert (await client.get("/verify")).status_code == 200
        other = httpx.ASGITransport(app=app, client=("203.0.113.9", 1234))
        async with httpx.AsyncClient(transport=other, base_url="http://testserver") as second:
            assert (await second.get("/verify", params={"code": "0000"})).status_code == 200
    assert statuses[:5] == [200] * 5, "a burst of five"
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert _status(limited.text) == "unknown" and "稍后" in limited.text


def test_production_refuses_to_start_without_a_usable_font(tmp_path: Path) -> None:
    latin = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/x.db", environment="production",
                     pdf_font_dir="/usr/share/fonts/truetype/dejavu", pdf_font_family="DejaVu Sans",
                     jwt_public_key_file=__file__, signing_keys_dir=str(tmp_path),
                     public_url="https://lianbao.example")
    problems = checks.problems(latin)
    assert any("no Chinese glyphs" in p for p in problems), problems
    with pytest.raises(RuntimeError, match="no Chinese glyphs"):
        create_app(latin, check_schema=False)
    missing = latin.model_copy(update={"pdf_font_dir": str(tmp_path / "none")})
    assert any("is not a folder" in p for p in checks.problems(missing))
    unsigned = latin.model_copy(update={
        "pdf_font_dir": "/usr/share/fonts/opentype/noto", "pdf_font_family": "Noto Serif CJK SC",
        "signing_keys_dir": None, "public_url": "http://x"})
    found = checks.document_problems(unsigned)
    assert [p.split(":")[0] for p in found] == ["LIANBAO_SIGNING_KEYS_DIR", "LIANBAO_PUBLIC_URL"]
    good = unsigned.model_copy(update={"signing_keys_dir": str(tmp_path),
                                       "public_url": "https://lianbao.example"})
    assert checks.document_problems(good) == []
    assert checks.document_problems(Settings(pdf_font_family="DejaVu Sans", jwt_secret=TEST_SECRET))


# --- in a real browser ------------------------------------------------------------------------

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run")


def _browser(profile: str) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--window-size=390,844"):
        options.add_argument(flag)
    # No JavaScript at all: the page must work without it.
    options.add_experimental_option(
        "prefs", {"profile.managed_default_content_settings.javascript": 2})
    service = Service(shutil.which("chromedriver") or "/usr/bin/chromedriver")
    return webdriver.Chrome(options=options, service=service)


def _answer(browser: Any) -> Any:
    """The answer once the submitted form's page has loaded. A click does not wait for the
    navigation it starts (newer chromedrivers return at once), so the answer is awaited, as a
    person would wait for the page, rather than looked for on the page being left."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(browser, 30).until(
            expected_conditions.presence_of_element_located((By.ID, "result")))
    except TimeoutException:
        raise AssertionError(
            f"no answer at {browser.current_url}: {browser.page_source[:2000]}") from None


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("chromedriver"), reason="apt-get install chromium-driver")
async def test_the_page_in_chromium_submits_a_typed_code_and_reads_the_answer(
    tmp_path: Path,
) -> None:
    from selenium.webdriver.common.by import By

    db = tmp_path / "verify.db"
    env = server_env(f"sqlite+aiosqlite:///{db}", {"LIANBAO_TICK_INTERVAL": "0"})
    await asyncio.to_thread(migrate_and_seed, env)
    with sqlite3.connect(db) as conn:
        code, number = conn.execute(
            "SELECT verification_code, number FROM legal_document WHERE number IS NOT NULL "
            "ORDER BY id LIMIT 1").fetchone()
    with running(env, 1) as (port,), tempfile.TemporaryDirectory() as profile:
        browser = await asyncio.to_thread(_browser, profile)
        try:
            def typed_and_submitted() -> tuple[str, str]:
                browser.get(f"http://127.0.0.1:{port}/verify")
                field = browser.find_element(By.ID, "code")
                field.send_keys(" ".join(format_code(code).lower().split("-")))
                browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
                result = _answer(browser)
                return result.get_attribute("data-status"), result.text

            status, text = await asyncio.to_thread(typed_and_submitted)
            assert status == "genuine" and number in text and "真实有效" in text

            def scanned() -> str:  # the QR code's URL, opened as a phone's camera would
                browser.get(
                    f"http://127.0.0.1:{port}/verify?code={format_code(code)}")
                return str(_answer(browser).get_attribute("data-status"))

            assert await asyncio.to_thread(scanned) == "genuine"
        finally:
            await asyncio.to_thread(browser.quit)


def test_without_its_key_an_agency_cannot_sign(tmp_path: Path) -> None:
    """Production (no generated keys): an agency whose key is not in the folder cannot issue,
    and the error names the file to put there."""
    previous = signing.keys_dir()
    signing.configure(tmp_path, generate=False)
    try:
        who = signing.Signatory(3, "370406", "judicial", "山亭区司法局")
        with pytest.raises(signing.SigningKeyMissing, match=r"370406-judicial\.pem"):
            signing.sign(b"%PDF-1.7", who, "签发")
    finally:
        signing.configure(previous, generate=True)
