"""The HTTP edge of /graphql: the offline GraphiQL IDE, media types and status codes, strict
request decoding, an unreachable database, and no schema hints in production.

Everything goes through the ASGI app over HTTP, as a client would see it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sqlite3
from collections.abc import AsyncIterator, Callable
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import httpx
import pytest
import pytest_asyncio
from graphql import GraphQLError
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api import http as edge
from api.app import create_app
from api.auth import issue_dev_token
from api.settings import Settings
from authz.enforcer import Authorizer
from models.faults import is_database_unavailable
from schema.errors import coded
from tests.helpers import TEST_SECRET, Api, Database
from workflow.clock import FixedClock

ME = "{ me { username } }"
GRAPHQL_RESPONSE = "application/graphql-response+json"
# Where a page could pull code, styles or fonts from another host.
CDN_HOSTS = ("unpkg.com", "jsdelivr", "cdnjs", "googleapis", "gstatic", "esm.sh", "skypack")


def _client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


@pytest_asyncio.fixture
async def offline() -> AsyncIterator[httpx.AsyncClient]:
    """An app whose database does not exist: the IDE and its assets need none."""
    settings = Settings(database_url="sqlite+aiosqlite:////nonexistent-dir/x.db",
                        jwt_secret=TEST_SECRET)
    async with _client(create_app(settings, check_schema=False)) as client:
        yield client


# --- 1. GraphiQL, served from Lianbao itself ------------------------------------------------


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str, str | None]] = []  # (tag, url, integrity)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("src", "href"):
            url = values.get(name)
            if url is not None:
                self.refs.append((tag, url, values.get("integrity")))


def _sri(content: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(content).digest()).decode()


def _local(url: str) -> bool:
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc and not url.startswith("//")


async def test_graphiql_page_and_every_asset_come_from_this_server(
    offline: httpx.AsyncClient,
) -> None:
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    page = await offline.get("/graphql", headers={"Accept": browser})
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"  # no inline or eval'd script, no other host
    assert directives["connect-src"] == "'self'"
    assert not re.search(r"https?://", page.text), "the page names another host"

    parser = _Refs()
    parser.feed(page.text)
    scripts = [url for tag, url, _ in parser.refs if tag == "script"]
    styles = [url for tag, url, _ in parser.refs if tag == "link" and url.endswith(".css")]
    assert len(scripts) >= 5 and len(styles) >= 2  # react, react-dom, graphiql, explorer, ours
    assert "<script>" not in page.text  # the CSP forbids inline scripts: there are none

    seen: dict[str, bytes] = {}

    async def load(url: str) -> bytes:
        assert _local(url), f"{url} is not on this server"
        if url not in seen:
            response = await offline.get(url)
            assert response.status_code == 200, url
            seen[url] = response.content
        return seen[url]

    for _tag, url, integrity in parser.refs:
        if url.startswith("data:"):
            continue
        content = await load(url)
        if integrity:  # the browser refuses a file whose bytes differ from the published ones
            assert _sri(content) == integrity, url
    for url in scripts + styles:
        text = (await load(url)).decode("utf-8")
        # Absolute URLs do occur in the bundles (XML namespaces, links in error messages), but
        # none on a CDN or font host, from where code or styles could be fetched.
        hosts = {h.lower() for h in re.findall(r"(?:https?:)?//([A-Za-z0-9.-]+\.[a-z]{2,})", text)}
        assert not [h for h in hosts if any(cdn in h for cdn in CDN_HOSTS)], url
        references = re.findall(r"sourceMappingURL=([^\s*]+)", text)
        if url.endswith(".css"):
            references += re.findall(r"url\(\s*['\"]?([^'\")]+)", text)
            references += re.findall(r"@import\s+['\"]([^'\"]+)", text)
        for ref in references:
            if ref.startswith("data:"):
                continue
            target = urljoin(url, ref)
            content = await load(target)
            if ref.endswith(".map"):
                assert json.loads(content)["version"] == 3
    assert any(url.endswith(".map") for url in seen), "the source maps were checked"


async def test_ide_is_off_in_production_mode() -> None:
    settings = Settings(database_url="sqlite+aiosqlite:////nonexistent-dir/x.db",
                        jwt_secret=TEST_SECRET, graphiql=False)
    async with _client(create_app(settings, check_schema=False)) as client:
        page = await client.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 401  # no IDE: a GraphQL request without a token
        assert page.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        asset = await client.get("/static/graphiql/vendor/graphiql/graphiql.min.js")
        assert asset.status_code == 404


# --- 2. GraphQL over HTTP: media types and status codes -------------------------------------


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "application/json"),
        ("", "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE}, application/json;q=0.9", GRAPHQL_RESPONSE),
        (f"application/json, {GRAPHQL_RESPONSE};q=0.5", "application/json"),
        (f"{GRAPHQL_RESPONSE};q=0", "application/json"),
        ("text/plain", "application/json"),
    ],
)
def test_media_type_negotiation(accept: str | None, expected: str) -> None:
    assert edge.negotiate(accept) == expected


async def _post(api: Api, body: Any, accept: str | None, *, raw: bytes | None = None,
                user: str = "edu_officer") -> httpx.Response:
    headers = {"Authorization": f"Bearer {api.token(user)}", "Content-Type": "application/json"}
    if accept is not None:
        headers["Accept"] = accept
    content = raw if raw is not None else json.dumps(body).encode()
    return await api.client.post("/graphql", content=content, headers=headers)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"query": "{"}, "GRAPHQL_PARSE_FAILED"),
        ({"query": "{ noSuchField }"}, "GRAPHQL_VALIDATION_FAILED"),
        # About the document's variables, not their values: a validation failure.
        ({"query": "query Q($x: Int) { me { username } }"}, "GRAPHQL_VALIDATION_FAILED"),
        # Variables that do not coerce (null for a non-null, an unknown enum value, where
        # graphql-core keeps the enum's exception as the original error): bad input, a 400
        # like any request error, never INTERNAL (docs/api.md).
        ({"query": "query Q($id: ID!) { node(id: $id) { id } }", "variables": {"id": None}},
         "BAD_INPUT"),
        ({"query": "query Q($s: CaseStage) { cases(filter: {stage: $s}) { totalCount } }",
          "variables": {"s": "NO_SUCH_STAGE"}}, "BAD_INPUT"),
    ],
)
async def test_request_errors_are_4xx_without_data_for_graphql_response_json(
    api: Api, body: dict[str, Any], code: str
) -> None:
    new = await _post(api, body, GRAPHQL_RESPONSE)
    assert new.status_code == 400, new.text
    assert new.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert "data" not in new.json()
    assert new.json()["errors"][0]["extensions"]["code"] == code
    legacy = await _post(api, body, "application/json")
    assert legacy.status_code == 200, legacy.text  # the spec keeps application/json at 200
    assert legacy.headers["content-type"].startswith("application/json")
    assert "data" not in legacy.json()
    assert legacy.json()["errors"][0]["extensions"]["code"] == code


async def test_success_and_execution_errors_are_200_with_data(api: Api) -> None:
    ok = await _post(api, {"query": ME}, GRAPHQL_RESPONSE)
    assert ok.status_code == 200
    assert ok.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert ok.json() == {"data": {"me": {"username": "edu_officer"}}}
    # A resolver's refusal happens during execution: 200, with the data entry.
    failed = await _post(api, {"query": "{ agencies(first: -1) { totalCount } }"},
                         GRAPHQL_RESPONSE)
    assert failed.status_code == 200, failed.text
    assert "data" in failed.json()
    assert failed.json()["errors"][0]["extensions"]["code"] == "BAD_INPUT"


async def test_malformed_requests_are_coded_json_not_plain_text(api: Api) -> None:
    token = {"Authorization": f"Bearer {api.token('edu_officer')}"}
    mutation = await api.client.get(
        "/graphql", params={"query": "mutation { __typename }"},
        headers={**token, "Accept": GRAPHQL_RESPONSE},
    )
    assert mutation.status_code == 405
    assert mutation.headers["allow"] == "POST"
    assert mutation.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    for response in (
        await api.client.get("/graphql", headers={**token, "Accept": "*/*"}),  # no query
        await api.client.post("/graphql", content=b"{}", headers=token),  # no content type
        await _post(api, None, GRAPHQL_RESPONSE, raw=b'{ "not json'),
        await _post(api, {"query": 1}, "application/json"),
    ):
        assert response.status_code == 400, response.text
        assert response.headers["content-type"].startswith("application/")
        assert "data" not in response.json()
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


# --- 6. Strict decoding of the body and the GET parameters ----------------------------------


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b'{"query": "{ me { username } }", "x": "\xff\xfe"}', "INVALID_ENCODING"),
        (b'{"query": "{ me { username } }", "variables": {"a": "\\ud800"}}', "INVALID_ENCODING"),
        (b'{"query": "{ me { username } \\udfff }"}', "INVALID_ENCODING"),
        (b"[" * 100_000 + b"]" * 100_000, "BAD_REQUEST"),
        (b'{"query": "{ me { username } }", "variables": {"a": ' + b"[" * 100_000 + b"}",
         "BAD_REQUEST"),
        (b'{"query": "{ me { username } }", "variables": {"a": ' + b"[" * 500 + b"]" * 500
         + b"}", "BAD_REQUEST"),
    ],
)
async def test_bad_bodies_are_400_with_a_code(api: Api, raw: bytes, code: str) -> None:
    for accept in (GRAPHQL_RESPONSE, "application/json"):
        response = await _post(api, None, accept, raw=raw)
        assert response.status_code == 400, response.text
        (error,) = response.json()["errors"]
        assert error["extensions"]["code"] == code


@pytest.mark.parametrize(
    ("query_string", "code"),
    [
        ("query=%FF%FE", "INVALID_ENCODING"),
        ("query=" + quote("{ me { username } }") + "&variables=" + quote('{"a": "\\ud800"}'),
         "INVALID_ENCODING"),
        ("query=" + quote("{ me { username } }") + "&variables=" + quote("[" * 20_000),
         "BAD_REQUEST"),
        ("query=" + quote("{ me { username } }") + "&extensions=" + quote("{" * 1000),
         "BAD_REQUEST"),
    ],
)
async def test_bad_get_parameters_are_400_with_a_code(
    api: Api, query_string: str, code: str
) -> None:
    response = await api.client.get(
        f"/graphql?{query_string}", headers={"Authorization": f"Bearer {api.token('edu_officer')}"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == code


async def test_valid_non_ascii_text_still_passes(api: Api) -> None:
    # A surrogate *pair* is one astral character, and Chinese text is ordinary UTF-8.
    body = ('{"query": "query Q($s: String) { employers(filter: {search: $s}) { totalCount } }",'
            ' "variables": {"s": "\\ud83d\\ude00 山亭"}}').encode()
    response = await _post(api, None, GRAPHQL_RESPONSE, raw=body)
    assert response.status_code == 200, response.text
    assert "errors" not in response.json()
    get = await api.client.get(
        "/graphql", params={"query": '{ employers(filter: {search: "山亭"}) { totalCount } }'},
        headers={"Authorization": f"Bearer {api.token('edu_officer')}"},
    )
    assert get.status_code == 200, get.text
    assert "errors" not in get.json()


# --- 3. The database cannot be reached ------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere",
        "sqlite+aiosqlite:////nonexistent-dir/lianbao.db",
    ],
)
@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE, "application/json", None])
async def test_unreachable_database_is_a_retryable_503(url: str, accept: str | None) -> None:
    settings = Settings(database_url=url, jwt_secret=TEST_SECRET)
    headers = {"Authorization": f"Bearer {issue_dev_token(settings, 'edu_officer')}"}
    if accept:
        headers["Accept"] = accept
    async with _client(create_app(settings, check_schema=False)) as client:
        response = await client.post("/graphql", json={"query": ME}, headers=headers)
        get = await client.get("/graphql", params={"query": ME}, headers=headers)
        pdf = await client.get("/documents/1/pdf", headers=headers)
    assert pdf.status_code == 503, pdf.text
    assert pdf.headers["retry-after"]
    assert pdf.json()["code"] == "DATABASE_UNAVAILABLE" and pdf.json()["retryable"] is True
    for r in (response, get):
        assert r.status_code == 503, r.text
        assert int(r.headers["retry-after"]) > 0
        assert r.headers["content-type"].startswith(accept or "application/json")
        assert r.json() == {
            "errors": [
                {
                    "message": "the database is unavailable at the moment; retry shortly",
                    "extensions": {"code": "DATABASE_UNAVAILABLE", "retryable": True},
                }
            ]
        }


def _dbapi(error: Exception) -> sa_exc.DBAPIError:
    return sa_exc.OperationalError("SELECT 1", {}, error)


class _FakeSqliteError(Exception):
    __module__ = "sqlite3"


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (ConnectionRefusedError(111, "Connect call failed"), True),
        (OSError("Multiple exceptions: [Errno 111] Connect call failed"), True),
        (TimeoutError(), True),
        (sa_exc.TimeoutError("QueuePool limit reached"), True),
        (_dbapi(_FakeSqliteError("unable to open database file")), True),
        (_dbapi(sqlite3.OperationalError("database is locked")), True),
        (_dbapi(_FakeSqliteError("no such table: app_user")), False),  # unmigrated: a fault
        (sa_exc.ProgrammingError("SELECT", {}, Exception("syntax error")), False),
        (FileNotFoundError(2, "no such file"), False),
        (KeyError("x"), False),
        (ValueError("x"), False),
    ],
)
def test_database_unavailable_is_told_apart_from_faults(
    error: BaseException, unavailable: bool
) -> None:
    assert is_database_unavailable(error) is unavailable


def test_a_resolver_losing_the_database_gets_the_retryable_code() -> None:
    lost = GraphQLError("x", path=["me"], original_error=ConnectionResetError(104, "reset"))
    assert coded(lost).extensions == {"code": "DATABASE_UNAVAILABLE", "retryable": True}
    bug = GraphQLError("x", path=["me"], original_error=KeyError("x"))
    assert coded(bug).extensions == {"code": "INTERNAL"}


@pytest.mark.parametrize(
    ("failure", "status", "extensions"),
    [
        (ConnectionResetError(104, "Connection reset by peer"), 503,
         {"code": "DATABASE_UNAVAILABLE", "retryable": True}),
        (KeyError("bug"), 500, {"code": "INTERNAL"}),
    ],
)
async def test_access_log_failure_withholds_the_result(
    database: Database,
    sessions: async_sessionmaker[AsyncSession],
    authorizer: Authorizer,
    clock: FixedClock,
    settings_factory: Callable[[str], Settings],
    monkeypatch: pytest.MonkeyPatch,
    failure: Exception,
    status: int,
    extensions: dict[str, Any],
) -> None:
    """An unmasked read whose access-log row cannot be written is withheld: a retryable 503
    when the database is gone, a 500 for a fault; never the data with a 200."""
    from workflow import access_log

    async def fail(*args: Any, **kwargs: Any) -> None:
        raise failure

    monkeypatch.setattr(access_log, "write", fail)
    settings = settings_factory(database.url)
    app = create_app(settings, engine=database.engine, sessions=sessions, authz=authorizer,
                     clock=clock, check_schema=False)
    query = "{ children(first: 1) { edges { node { nationalId { value } } } } }"
    async with _client(app) as client:
        response = await client.post(
            "/graphql", json={"query": query},
            headers={"Authorization": f"Bearer {issue_dev_token(settings, 'police_officer')}"},
        )
    assert response.status_code == status, response.text
    assert ("retry-after" in response.headers) is (status == 503)
    assert response.json()["data"] is None
    assert response.json()["errors"][0]["extensions"] == extensions


async def test_a_fault_outside_graphql_is_a_coded_json_500(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> None:
        raise KeyError("lianbao")

    monkeypatch.setattr("api.state.load_principal", broken)
    response = await _post(api, {"query": ME}, GRAPHQL_RESPONSE)
    assert response.status_code == 500
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert response.json() == {
        "errors": [{"message": "internal error", "extensions": {"code": "INTERNAL"}}]
    }


async def test_a_fault_before_execution_is_500_not_a_request_error(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("validation crashed")

    monkeypatch.setattr("schema.root._validate", broken)
    for accept in (GRAPHQL_RESPONSE, "application/json"):
        response = await _post(api, {"query": "{ me { username agency { name } } }"}, accept)
        assert response.status_code == 500, response.text
        assert "data" not in response.json()
        assert response.json()["errors"][0]["extensions"] == {"code": "INTERNAL"}
        assert "crashed" not in response.text


# --- 5. No "Did you mean …?" when introspection is off --------------------------------------

MISSPELT = [
    ({"query": "{ mee { username } }"}, "me"),
    ({"query": "{ cases(frist: 1) { totalCount } }"}, "first"),
    ({"query": "query Q($f: CaseFiltrInput) { __typename }"}, "CaseFilterInput"),
    ({"query": "{ cases(filter: {stag: DROPOUT}) { totalCount } }"}, "stage"),
    ({"query": "query Q($f: CaseFilterInput) { cases(filter: $f) { totalCount } }",
      "variables": {"f": {"stag": "DROPOUT"}}}, "stage"),
]


@pytest.mark.parametrize(("body", "hint"), MISSPELT)
async def test_production_gives_no_suggestions(
    database: Database,
    sessions: async_sessionmaker[AsyncSession],
    authorizer: Authorizer,
    clock: FixedClock,
    body: dict[str, Any],
    hint: str,
) -> None:
    for introspection in (True, False):
        settings = Settings(database_url=database.url, jwt_secret=TEST_SECRET,
                            introspection=introspection)
        app = create_app(settings, engine=database.engine, sessions=sessions, authz=authorizer,
                         clock=clock, check_schema=False)
        async with _client(app) as client:
            response = await client.post(
                "/graphql", json=body,
                headers={"Authorization": f"Bearer {issue_dev_token(settings, 'edu_officer')}"},
            )
        messages = " ".join(e["message"] for e in response.json()["errors"])
        if introspection:  # the development schema is public: the hint helps
            assert "Did you mean" in messages and f"'{hint}'" in messages, messages
        else:
            assert "Did you mean" not in messages, messages
            assert f"'{hint}'" not in messages, messages
