"""Chinese and English (schema/languages.py): the gettext catalogue is complete for the code's
messages and the schema's enum values, and over HTTP ``Accept-Language`` chooses the words
of top-level errors, ``userErrors``, the edge's refusals and enum labels, never the codes."""

from __future__ import annotations

import ast
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from babel.messages.pofile import read_po
from graphql import GraphQLEnumType
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api import http as edge
from api.settings import Settings
from schema import languages
from schema.root import build_schema
from tests.helpers import NOW, REPORT, ROOT, Api, pupil_of_principal

LAYERS = ("api", "schema", "workflow", "authz", "models")
# Callables whose argument at this position is a message a client reads; every subclass of
# LianbaoError (the coded errors) is added to them by the scan below.
CARRIERS = {
    "GraphQLError": 0, "Fault": 1, "RequestRejected": 1, "error_response": 1, "_error": 0,
    "_refuse": 0, "InvalidIdNumber": 1, "InvalidCreditCode": 1, "PolicyError": 0,
}
# Where a plain ValueError's words reach the client ("ladder step 2: …", school days).
VALUE_ERROR_MODULES = {"workflow/ladder.py", "workflow/calendar.py"}
PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def _trees() -> dict[str, ast.Module]:
    return {
        str(path.relative_to(ROOT)): ast.parse(path.read_text(encoding="utf-8"))
        for layer in LAYERS for path in (ROOT / layer).rglob("*.py")
    }


def _error_classes(trees: dict[str, ast.Module]) -> set[str]:
    found, grown = {"LianbaoError"}, True
    while grown:
        grown = False
        for tree in trees.values():
            for node in ast.walk(tree):
                if (isinstance(node, ast.ClassDef) and node.name not in found
                        and any(isinstance(b, ast.Name) and b.id in found for b in node.bases)):
                    found.add(node.name)
                    grown = True
    return found


def _template(node: ast.expr) -> str | None:
    """A message as written: a literal, or an f-string with ``{}`` where values go."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _template(node.left), _template(node.right)
        return None if left is None or right is None else left + right
    return None


def _messages_of(call: ast.Call, carriers: dict[str, int]) -> list[ast.expr]:
    func = call.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    found: list[ast.expr] = []
    position = carriers.get(name or "")
    if position is not None and len(call.args) > position:
        found.append(call.args[position])
    for keyword in call.keywords:
        if keyword.arg == "not_found" or (keyword.arg == "message" and name == "UserError"):
            found.append(keyword.value)
    if name == "check_version" and len(call.args) > 2:
        found.append(call.args[2])  # "the case", put into the CONFLICT message
    return found


def code_messages() -> dict[str, str]:
    """Every message the code raises for a client, as a skeleton (``{}`` for values) → where."""
    trees = _trees()
    carriers = {name: 0 for name in _error_classes(trees)} | CARRIERS
    found: dict[str, str] = {}
    for where, tree in trees.items():
        own = carriers | ({"ValueError": 0} if where in VALUE_ERROR_MODULES else {})
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                for message in _messages_of(node, own):
                    text = _template(message)
                    if text is not None:
                        found.setdefault(text, f"{where}:{node.lineno}")
    return found


def _catalogue() -> list[tuple[str | None, str, str, bool]]:
    with languages.CATALOGUE.open("rb") as fh:
        po = read_po(fh)
    return [(m.context, str(m.id), str(m.string or ""), m.fuzzy) for m in po if m.id]


def test_every_message_of_the_code_is_in_the_catalogue() -> None:
    known = {PLACEHOLDER.sub("{}", msgid) for context, msgid, _, _ in _catalogue() if not context}
    messages = code_messages()
    assert len(messages) > 200  # the scan still finds the raises
    missing = {m: where for m, where in messages.items() if m not in known}
    assert not missing, (
        "messages without a Chinese translation; add them to "
        f"{languages.CATALOGUE.relative_to(ROOT)} (placeholders as {{name}}): {missing}"
    )


def test_every_translation_is_there_and_keeps_its_placeholders() -> None:
    entries = _catalogue()
    assert entries
    for context, msgid, msgstr, fuzzy in entries:
        assert msgstr and not fuzzy, f"untranslated or fuzzy: {context} {msgid!r}"
        assert re.search(r"[\u4e00-\u9fff]", msgstr), f"not Chinese: {msgid!r} → {msgstr!r}"
        wanted = sorted(PLACEHOLDER.findall(msgid))
        assert sorted(PLACEHOLDER.findall(msgstr)) == wanted, f"placeholders of {msgid!r}"


def test_every_enum_value_has_a_label_and_every_label_an_enum_value() -> None:
    schema = build_schema()._schema
    values = {
        f"{name}.{value}"
        for name, named in schema.type_map.items()
        if isinstance(named, GraphQLEnumType) and not name.startswith("__")
        for value in named.values
    }
    labelled = {context for context, _, _, _ in _catalogue() if context}
    assert values - labelled == set(), "enum values without a label"
    assert labelled - values == set(), "labels of enum values that do not exist"


def test_values_inside_messages_are_translated_too() -> None:
    assert languages.translate("first may be at most 100", "zh-CN") == "first 最大为 100"
    assert languages.translate("the inspection is in_progress", "zh-CN") == "该检查状态为“进行中”"
    assert (languages.translate("the case changed since you read it (version 3, now 4)", "zh-CN")
            == "该个案在您读取后已被修改（您读取的是第 3 版，现为第 4 版）")
    nested = "ladder step 2: stage reported comes before school_persuasion"
    chinese = "督促流程第 2 步：阶段“缺勤报告”排在“学校劝返”之前"
    assert languages.translate(nested, "zh-CN") == chinese
    assert languages.translate("something new", "zh-CN") == "something new"
    assert languages.translate("no such case", "en") == "no such case"


def test_accept_language_negotiation() -> None:
    assert edge.negotiate_language(None, "en") == "en"
    assert edge.negotiate_language("zh-CN,zh;q=0.9,en;q=0.8", "en") == "zh-CN"
    assert edge.negotiate_language("zh-TW", "en") == "zh-CN"
    assert edge.negotiate_language("en-GB,zh;q=0.5", "zh-CN") == "en"
    assert edge.negotiate_language("fr, en;q=0.1", "zh-CN") == "en"
    assert edge.negotiate_language("fr, *;q=0.5", "zh-CN") == "zh-CN"
    assert edge.negotiate_language("en;q=0, zh;q=0.2", "en") == "zh-CN"
    assert edge.negotiate_language("de", "en") == "en"


def test_chinese_is_the_default_in_production_only() -> None:
    assert Settings(environment="production").default_language == "zh-CN"
    assert Settings(environment="development").default_language == "en"
    assert Settings(environment="development", language="zh-CN").default_language == "zh-CN"


async def test_the_middleware_speaks_the_default_and_says_so() -> None:
    async def refuse(request: Request) -> Response:
        return edge.error_response(404, "no such case", "NOT_FOUND", edge.APPLICATION_JSON)

    app = Starlette(routes=[Route("/", refuse)],
                    middleware=[Middleware(edge.LanguageMiddleware, default="zh-CN")])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        chinese = await client.get("/")
        english = await client.get("/", headers={"Accept-Language": "en-US"})
    assert chinese.json()["errors"][0]["message"] == "没有该个案"
    assert chinese.headers["content-language"] == "zh-CN"
    assert english.json()["errors"][0]["message"] == "no such case"
    assert english.headers["content-language"] == "en"
    assert languages.current() == "en"  # nothing leaks out of the request


async def _both(api: Api, query: str, variables: dict[str, Any] | None = None,
                user: str | None = "edu_officer") -> tuple[Any, Any]:
    zh = await api.post(query, variables, user=user, headers={"Accept-Language": "zh-CN"})
    en = await api.post(query, variables, user=user, headers={"Accept-Language": "en"})
    assert zh.headers["content-language"] == "zh-CN"
    assert en.headers["content-language"] == "en"
    return zh.json(), en.json()


async def test_top_level_errors_follow_accept_language(api: Api) -> None:
    zh, en = await _both(api, "{ cases(first: -1) { totalCount } }")
    (zh_error,), (en_error,) = zh["errors"], en["errors"]
    assert en_error["message"] == "first must not be negative"
    assert zh_error["message"] == "first 不能为负数"
    assert zh_error["extensions"] == en_error["extensions"]
    assert zh_error["extensions"]["code"] == "BAD_INPUT"


async def test_validation_errors_are_translated_per_request(api: Api) -> None:
    """graphql-core caches validation errors across requests: Chinese for one must not turn
    the next, English, request's answer Chinese."""
    query = "{ me { nope } }"
    for _ in range(2):
        zh, en = await _both(api, query)
        assert zh["errors"][0]["message"] == "类型“Me”上没有字段“nope”。"
        assert en["errors"][0]["message"] == "Cannot query field 'nope' on type 'Me'."


async def test_edge_refusals_follow_accept_language(api: Api) -> None:
    zh, en = await _both(api, "{ me { username } }", user=None)
    (zh_error,), (en_error,) = zh["errors"], en["errors"]
    assert zh_error["extensions"]["code"] == en_error["extensions"]["code"] == "UNAUTHENTICATED"
    assert en_error["message"] == "an Authorization: Bearer token is required"
    assert zh_error["message"] == "需要在 Authorization 请求头中提供 Bearer 令牌"


async def test_user_errors_follow_accept_language(api: Api) -> None:
    child = await pupil_of_principal(api)
    tomorrow = (NOW + timedelta(days=1)).date().isoformat()
    zh, en = await _both(api, REPORT, {"child": child, "day0": tomorrow}, user="head_teacher")
    zh_payload = zh["data"]["reportAbsence"]
    en_payload = en["data"]["reportAbsence"]
    assert en_payload["userErrors"] == [{"field": "firstAbsence", "code": "BAD_INPUT",
                                         "message": "the first absence cannot be in the future"}]
    assert zh_payload["userErrors"] == [{"field": "firstAbsence", "code": "BAD_INPUT",
                                         "message": "首次缺勤日期不能晚于今天"}]


async def test_enum_labels_follow_accept_language(api: Api) -> None:
    query = '{ enumLabels(enum: "CaseStage") { enum value label } }'
    zh, en = await _both(api, query)
    zh_labels = {e["value"]: e["label"] for e in zh["data"]["enumLabels"]}
    en_labels = {e["value"]: e["label"] for e in en["data"]["enumLabels"]}
    assert zh_labels["SCHOOL_PERSUASION"] == "学校劝返"
    assert en_labels["SCHOOL_PERSUASION"] == "School persuasion"
    assert list(zh_labels) == list(en_labels) == [
        "REPORTED", "SCHOOL_PERSUASION", "DROPOUT_REPORTED", "ENROL_NOTICE", "TOWNSHIP_ORDER",
        "REFERRED_TO_JUDICIAL", "JUDICIAL_DOCUMENT", "LEGAL_ACTION", "CLOSED",
    ]
    every = await api.gql("{ enumLabels { enum value label } }")
    assert len({(e["enum"], e["value"]) for e in every["enumLabels"]}) > 130
    bad = await api.errors('{ enumLabels(enum: "Nope") { label } }')
    assert bad[0]["extensions"] == {"code": "BAD_INPUT", "field": "enum"}


def test_the_catalogue_is_package_data() -> None:
    """``pip install .`` (the container image) ships the catalogue and the descriptions."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"locale/*/LC_MESSAGES/*.po"' in text and '"descriptions.toml"' in text
    assert Path(languages.CATALOGUE).is_relative_to(ROOT / "schema")
