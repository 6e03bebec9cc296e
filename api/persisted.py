"""Persisted queries (issue 19): the front-ends' known operations, sent by their hash.

The protocol is Apollo's automatic persisted queries: a request carries
``extensions.persistedQuery = {"version": 1, "sha256Hash": "<hex>"}``, with or without the
``query`` text. The operations Lianbao knows are the ones shipped in
``workflow/reference_data/persisted/manifest.json`` (each ``.graphql`` file beside it, by the
SHA-256 of its text): a hash alone answers one of those, and a hash sent with its text
registers nothing else, so no client can make the server hold its own documents.

- hash alone, not in the manifest: ``PERSISTED_QUERY_NOT_FOUND`` (the client then sends the
  text with it, as Apollo's link does);
- a text whose SHA-256 is not the hash, a malformed extension: ``PERSISTED_QUERY_INVALID``;
- a text with its right hash, not in the manifest: run as any query (the normal path).

A manifest operation that has a planned answer (``planned`` in the manifest) is answered by
one statement that builds the JSON in PostgreSQL (``workflow/task_page.py``,
``workflow/case/page.py``), compiled once per principal and policy generation, from the same
policy filter and masking rules as the normal path; byte for byte the normal path's answer
(``tests/test_persisted.py``). Anything a plan does not cover (SQLite, other variables, a
page size beyond the cap, an id of another type, a caller without an agency) runs the
operation's text on the normal path, which answers or refuses it as it would any query.

A planned mutation (``record_persuasion``: ``RecordPersuasion``, which asks only for
``userErrors``) calls the same service in the same transaction as its resolver would
(``schema.mutation.transact``), without GraphQL execution around it, over POST only. Its
arguments are taken only where the normal path would take them as they are (the same
``Date``/``DateTime`` parse, text checks and enum names); anything else, and a refusal by
the service that is not a ``userError`` (``Forbidden``, a fault of its statements: rolled
back), runs on the normal path. A failure in or after the commit is never run again.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson
import strawberry
from starlette.requests import Request
from starlette.responses import Response
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.schema.base import BaseSchema
from strawberry.types.enum import StrawberryEnumDefinition

from api import http as edge
from api import metrics
from authz.errors import LianbaoError
from authz.principal import Principal
from models.enums import CaseStage, PersuasionMethod, PersuasionOutcome, TaskStatus
from schema.ids import node_id
from schema.inputs import check_text, parse_datetime, text_limit
from schema.mutation import transact
from workflow import case as case_service
from workflow import task_page
from workflow.context import ServiceContext
from workflow.errors import InvalidInput
from workflow.infra import reference_json
from workflow.infra.events import LocalBus
from workflow.json_sql import Plans, Spelling, compile_text, fetch_text
from workflow.pagination import DEFAULT_PAGE

MANIFEST = "persisted/manifest.json"
NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
INVALID = "PERSISTED_QUERY_INVALID"
# The request's state key under which the endpoint leaves a persisted operation's text for
# the normal path (``LianbaoGraphQL.execute_operation`` puts it where the query goes).
QUERY_KEY = "lianbao.persisted_query"
_HASH = re.compile(r"[0-9a-f]{64}")
log = logging.getLogger("lianbao.persisted")
# Enums whose GraphQL names the planned statements write.
SPELLED: tuple[type[StrEnum], ...] = (TaskStatus, CaseStage)
# Plans that write: answered over POST only (a mutation over GET is the normal path's 405).
MUTATIONS = frozenset({"record_persuasion"})
_PERSUASION_NEEDS = frozenset({"caseId", "method", "outcome", "attemptedAt"})
_PERSUASION_TAKES = _PERSUASION_NEEDS | {"participants", "note"}


@dataclass(frozen=True)
class PersistedOperation:
    name: str
    text: str
    sha256: str
    planned: str | None


class PersistedQueryError(Exception):
    """A refused persisted query: its code and Apollo's message for it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def load_manifest() -> dict[str, PersistedOperation]:
    """The shipped operations by hash; a file whose text does not hash to the manifest's
    value stops the server at start (a stale manifest would answer nothing)."""
    raw = reference_json.load(MANIFEST)
    found: dict[str, PersistedOperation] = {}
    for entry in raw["operations"]:
        text = reference_json.path(f"persisted/{entry['file']}").read_text(encoding="utf-8")
        digest = hashlib.sha256(text.encode()).hexdigest()
        if digest != entry["sha256"]:
            raise RuntimeError(f"{MANIFEST}: {entry['file']} hashes to {digest}")
        found[digest] = PersistedOperation(entry["name"], text, digest, entry.get("planned"))
    return found


def persisted_extension(data: Any) -> dict[str, Any] | None:
    """The request's ``extensions.persistedQuery``, if it sent one."""
    if not isinstance(data, dict):
        return None
    extensions = data.get("extensions")
    if not isinstance(extensions, dict) or "persistedQuery" not in extensions:
        return None
    ext = extensions["persistedQuery"]
    if not isinstance(ext, dict):
        raise PersistedQueryError(INVALID, "persistedQuery must be an object")
    return ext


def resolve(
    manifest: Mapping[str, PersistedOperation], data: dict[str, Any], ext: dict[str, Any]
) -> PersistedOperation | None:
    """The manifest operation a request names, or None for a verified text of its own."""
    digest = ext.get("sha256Hash")
    if ext.get("version") != 1 or not isinstance(digest, str) or not _HASH.fullmatch(digest):
        raise PersistedQueryError(INVALID, "unsupported persisted query")
    query = data.get("query")
    if query is None:
        known = manifest.get(digest)
        if known is None:
            raise PersistedQueryError(NOT_FOUND, "PersistedQueryNotFound")
        return known
    if not isinstance(query, str) or hashlib.sha256(query.encode()).hexdigest() != digest:
        raise PersistedQueryError(INVALID, "provided sha does not match query")
    return manifest.get(digest)


def enum_names(schema: BaseSchema, enum: type[StrEnum]) -> dict[str, str]:
    """An enum's GraphQL names by stored value, from the built schema (its one source)."""
    definition = schema.get_type_by_name(enum.__name__)
    assert isinstance(definition, StrawberryEnumDefinition), enum
    return {str(value.value): value.name for value in definition.values}


class Persisted:
    """The endpoint's side of persisted queries: resolving hashes, and the planned answers."""

    def __init__(
        self, schema: BaseSchema, max_page_size: int, bus: LocalBus | None = None
    ) -> None:
        self.manifest = load_manifest()
        self.spelling = Spelling({e: enum_names(schema, e) for e in SPELLED})
        self.max_page_size = max_page_size
        self.plans = Plans()
        self.bus = bus
        # GraphQL name -> member, from the built schema as for the spelling above.
        self.methods = {name: PersuasionMethod(value)
                        for value, name in enum_names(schema, PersuasionMethod).items()}
        self.outcomes = {name: PersuasionOutcome(value)
                         for value, name in enum_names(schema, PersuasionOutcome).items()}

    async def request_data(self, request: Request) -> dict[str, Any] | None:
        """The request's decoded body (or GET parameters) when it carries a persisted query;
        None otherwise, without decoding a body that cannot (the common case)."""
        if request.method == "GET":
            raw = request.query_params.get("extensions")
            if raw is None or "persistedQuery" not in raw:
                return None
            data: dict[str, Any] = dict(request.query_params)
            for key in ("extensions", "variables"):
                if data.get(key):
                    data[key] = edge.decode_json(data[key])
            return data
        body = await request.body()
        if b"persistedQuery" not in body or "json" not in request.headers.get("content-type", ""):
            return None  # nor an upload's form data, whose parts the normal path reads
        decoded = edge.decode_json(body)
        return decoded if isinstance(decoded, dict) else None

    async def respond(
        self, request: Request, services: ServiceContext, media_type: str
    ) -> Response | None:
        """The answer to a persisted query the endpoint gives without GraphQL (a planned
        one, or a refusal), or None to run the request on the normal path."""
        try:
            body = await self.answer(request, services)
        except PersistedQueryError as error:
            # A request error, before execution: 200 with application/json, 400 with
            # graphql-response+json, as the other request errors (docs/api.md).
            status = 400 if media_type == edge.GRAPHQL_RESPONSE_JSON else 200
            return edge.error_response(status, error.message, error.code, media_type)
        return None if body is None else Response(body, media_type=media_type)

    async def answer(self, request: Request, services: ServiceContext) -> bytes | None:
        """The planned answer's bytes, or None to run the request on the normal path (after
        leaving a manifest operation's text where the query goes). Raises
        ``PersistedQueryError`` for a refused hash."""
        data = await self.request_data(request)
        if data is None:
            return None
        ext = persisted_extension(data)
        if ext is None:
            return None
        operation = resolve(self.manifest, data, ext)
        if operation is None:
            return None
        request.scope.setdefault("state", {})[QUERY_KEY] = operation.text
        name = data.get("operationName")
        if operation.planned is None or name not in (None, operation.name):
            return None
        if operation.planned in MUTATIONS and request.method != "POST":
            return None
        started = time.perf_counter()
        body = await self._planned(operation, data.get("variables") or {}, services)
        if body is not None:
            metrics.record_operation(operation.name, "ok", time.perf_counter() - started, [])
            state = request.scope["state"]
            state["lianbao.operation"] = operation.name
            state["lianbao.metrics_recorded"] = True
        return body

    async def _planned(
        self, operation: PersistedOperation, variables: Any, ctx: ServiceContext
    ) -> bytes | None:
        if not isinstance(variables, dict):
            return None
        if operation.planned == "record_persuasion":
            return await self._persuade(variables, ctx)
        dialect = ctx.session.get_bind().dialect
        if dialect.name != "postgresql":
            return None
        key: tuple[Any, ...]
        if operation.planned == "task_page":
            first = self._page_size(variables, ctx.principal)
            if first is None:
                return None
            key = ("task_page", ctx.authz.generation, ctx.principal, first)
            sql = self.plans.text(key, lambda: compile_text(
                task_page.statement(ctx, first, self.spelling), dialect))
            text = await fetch_text(ctx.session, sql)
        elif operation.planned == "case_timeline":
            case_id = _case_key(variables["id"]) if set(variables) == {"id"} else None
            if case_id is None:
                return None
            key = ("case_timeline", ctx.authz.generation, ctx.principal)
            sql = self.plans.text(key, lambda: compile_text(
                case_service.timeline_statement(ctx, self.spelling), dialect))
            text = await fetch_text(ctx.session, sql, case_id)
        else:
            return None
        if text is None:
            return None
        # PostgreSQL's JSON text has spaces after its separators; re-encoded, the bytes are
        # the normal path's (orjson, the same encoder as api/app.encode_response).
        return orjson.dumps(orjson.loads(text))

    async def _persuade(self, variables: dict[str, Any], ctx: ServiceContext) -> bytes | None:
        """``RecordPersuasion`` answered by its service in the mutation's one transaction; the
        bytes the normal path gives for its selection (``userErrors { field message code }``)."""
        arguments = self._persuasion_arguments(variables)
        if arguments is None:
            return None

        written: list[bool] = []

        async def persuade(c: ServiceContext) -> object:
            attempt = await case_service.record_persuasion(c, **arguments)
            written.append(True)
            return attempt

        try:
            _, errors = await transact(ctx, persuade, self.bus)
        except Exception:
            if written:
                # Failed in or after the commit: the write may be kept, so it is not run
                # again; the endpoint answers the fault with its code.
                raise
            # Refused by the service (FORBIDDEN, a fault of its statements), rolled back by
            # transact, nothing kept or published: the normal path runs it again and refuses
            # it as it refuses the text.
            log.info("planned RecordPersuasion refused; answered by the normal path",
                     exc_info=True)
            return None
        return orjson.dumps({"data": {"recordPersuasion": {"userErrors": [
            {"field": e.field, "message": e.message, "code": e.code} for e in errors]}}})

    def _persuasion_arguments(self, variables: dict[str, Any]) -> dict[str, Any] | None:
        """The service's arguments where the normal path takes the input as it is; None for
        anything it would coerce, refuse or read otherwise."""
        given = variables.get("input")
        if set(variables) != {"input"} or not isinstance(given, dict):
            return None
        if not _PERSUASION_NEEDS <= set(given) <= _PERSUASION_TAKES:
            return None
        texts = {name: given.get(name, "") for name in ("caseId", "participants", "note")}
        method = self.methods.get(given["method"]) if isinstance(given["method"], str) else None
        outcome = (self.outcomes.get(given["outcome"]) if isinstance(given["outcome"], str)
                   else None)
        if method is None or outcome is None or not all(
                isinstance(v, str) for v in texts.values()):
            return None
        try:
            for name, value in texts.items():
                check_text(value, name, text_limit(name))
            attempted_at = parse_datetime(given["attemptedAt"])
        except (LianbaoError, StrawberryInputCoercionError):
            return None
        case_id = _case_key(texts["caseId"])
        if case_id is None:
            return None
        return {"case_id": case_id, "method": method, "outcome": outcome,
                "attempted_at": attempted_at, "participants": texts["participants"],
                "note": texts["note"]}

    def _page_size(self, variables: dict[str, Any], principal: Principal) -> int | None:
        """``first`` as the normal path would take it, or None where it would refuse it or
        the plan does not apply (no agency kind: nothing visible, counted otherwise)."""
        if principal.agency_kind is None or set(variables) - {"first"}:
            return None
        first = variables.get("first")
        if first is None:
            return DEFAULT_PAGE
        if type(first) is not int or not 0 <= first <= self.max_page_size:
            return None
        return first


def _case_key(value: object) -> int | None:
    """The case key of a ``DropoutCase`` global id; None for anything else (the normal path
    then answers another type's node, or refuses a malformed id)."""
    if not isinstance(value, str):
        return None
    try:
        return node_id(strawberry.ID(value), case_service.CASE_TYPE, "id")
    except InvalidInput:
        return None
