"""Query cost, depth, alias and id-count limits: expensive shapes are refused before any
resolver runs, quickly and with a code naming the limit; front-end queries still pass."""

from __future__ import annotations

import base64
import re
import threading

import pytest
from graphql import parse, validate

from api.settings import Settings
from schema.limits import QueryLimits, limits_rule, query_cost
from schema.root import build_schema
from tests.helpers import Api, Database, counting
from workflow.infra import pdf

NESTED = "{ cases { edges { node { tasks { case { tasks { case { tasks { id } } } } } } } } }"
ALIASES = "{ " + " ".join(
    f"a{i}: cases(first: 100) {{ edges {{ node {{ id stage status }} }} }}" for i in range(30)
) + " }"


def gid(raw: str) -> str:
    return base64.b64encode(raw.encode()).decode()


# The tables an expensive query would read: a refusal reads none of them (only the caller's
# own user row, to authenticate). Counting statements, not seconds, so a busy machine cannot
# make the test fail or pass.
WORK_TABLES = re.compile(r"\bFROM (dropout_case|task|child|case_event|legal_document)\b")


def did_no_work(statements: list[str]) -> bool:
    return not any(WORK_TABLES.search(s) for s in statements)


async def refused(
    api: Api, database: Database, query: str, variables: dict[str, object] | None = None
) -> dict:
    with counting(database) as statements:
        errors = await api.errors(query, variables)
    assert did_no_work(statements), "refused before doing the work"
    assert len(errors) == 1, errors
    return dict(errors[0]["extensions"])


@pytest.mark.parametrize("query", [NESTED, ALIASES], ids=["nested-lists", "30-aliases"])
async def test_expensive_shapes_are_refused_with_cost_and_limit(
    api: Api, database: Database, query: str
) -> None:
    ext = await refused(api, database, query)
    assert ext["code"] == "QUERY_TOO_COSTLY"
    assert ext["limit"] == api.settings.max_query_cost
    assert ext["cost"] > ext["limit"]


async def test_page_size_from_a_variable_is_the_size_requested(
    api: Api, database: Database
) -> None:
    """Front-ends send the page size in a variable: the cost uses the value sent."""
    many = "tasks { id status dueOn case { id } agency assignee { username } }"
    query = f"query($n: Int) {{ cases(first: $n) {{ edges {{ node {{ id {many} }} }} }} }}"
    assert (await api.gql(query, {"n": 5}))["cases"] is not None
    ext = await refused(api, database, query, {"n": 100})
    assert ext["code"] == "QUERY_TOO_COSTLY" and ext["cost"] > ext["limit"]
    defaulted = query.replace("$n: Int", "$n: Int = 100")
    assert (await refused(api, database, defaulted))["code"] == "QUERY_TOO_COSTLY"


async def test_nodes_takes_a_bounded_number_of_ids(api: Api, database: Database) -> None:
    ids = [gid(f"Child:{i}") for i in range(1, 20_001)]
    with counting(database) as statements:
        errors = await api.errors("query($i: [ID!]!) { nodes(ids: $i) { id } }", {"i": ids})
    assert did_no_work(statements), "refused before looking any child up"
    assert errors[0]["extensions"]["code"] in ("QUERY_TOO_COSTLY", "TOO_MANY_IDS")
    errors = await api.errors("query($i: [ID!]!) { nodes(ids: $i) { id } }", {"i": ids[:150]})
    assert errors[0]["extensions"] == {"code": "TOO_MANY_IDS", "field": "ids",
                                       "limit": api.settings.max_node_ids, "size": 150}
    inline = ", ".join(f'"{i}"' for i in ids[:101])
    errors = await api.errors(f"{{ nodes(ids: [{inline}]) {{ id }} }}")
    assert errors[0]["extensions"]["code"] in ("TOO_MANY_IDS", "QUERY_TOO_COSTLY")
    ok = await api.gql("query($i: [ID!]!) { nodes(ids: $i) { id } }", {"i": ids[:100]})
    assert len(ok["nodes"]) == 100


async def test_depth_and_alias_limits_name_themselves(api: Api, database: Database) -> None:
    deep = "{ me { jurisdiction { " + "parent { " * 12 + "code" + " }" * 12 + " } } }"
    ext = await refused(api, database, deep)
    assert ext["code"] == "QUERY_TOO_DEEP" and ext["limit"] == api.settings.max_query_depth
    aliases = "{ " + " ".join(f"a{i}: __typename" for i in range(31)) + " }"
    ext = await refused(api, database, aliases)
    assert ext == {"code": "TOO_MANY_ALIASES", "aliases": 31, "limit": 30}


async def test_front_end_queries_fit(api: Api) -> None:
    """A work-queue page and a case page the front-end shows pass the limit."""
    await api.gql(
        """query($after: String) { cases(first: 50, after: $after) { totalCount
             pageInfo { hasNextPage endCursor }
             edges { cursor node { id version stage status firstAbsence nextDueOn overdue
               child { id name township { code } }
               tasks { id title status dueOn agency assignee { username } }
             } } } }""",
        {"after": None},
    )
    await api.gql(
        """{ myTasks(first: 50) { totalCount edges { node { id title status dueOn priority
             case { id stage child { id name } } } } } }""",
        user="head_teacher",
    )


def test_rule_is_built_once_and_cost_is_computed_from_the_document() -> None:
    """One rule class per schema (ValidationCache keys on the rules; strawberry issue 4635);
    the cost follows the model in docs/api.md."""
    schema = build_schema()
    partials = [ext for ext in schema.extensions if getattr(ext, "func", None) is not None]
    add_rules = next(p for p in partials if p.func.__name__ == "AddValidationRules")
    assert [r.__name__ for r in add_rules.args[0]] == ["QueryLimitsRule"]
    graphql_schema = schema._schema
    limits = QueryLimits()

    def cost(query: str, variables: dict[str, object] | None = None) -> int:
        return query_cost(graphql_schema, parse(query), None, variables, limits)

    assert cost("{ cases(first: 100) { edges { node { id } } } }") == 1 + 1 + 100 * 2
    assert cost("{ cases { totalCount edges { node { id } } } }") == 1 + 1 + 1 + 20 * 2
    assert cost("query($n: Int) { cases(first: $n) { edges { node { id } } } }",
                {"n": 7}) == 1 + 1 + 7 * 2
    assert cost("{ cases(first: 1) { edges { node { tasks { id } } } } }") == 1 + 1 + 1 + 1 + 10
    assert cost('query($i: [ID!]!) { nodes(ids: $i) { id } }', {"i": ["a", "b"]}) == 1 + 2
    assert cost("{ __schema { types { name fields { name } } } }") == 1
    rule = limits_rule(QueryLimits(max_depth=1))
    (error,) = validate(graphql_schema, parse("{ me { jurisdiction { code } } }"), [rule])
    assert error.extensions == {"code": "QUERY_TOO_DEEP", "depth": 2, "limit": 1}


def test_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIANBAO_MAX_QUERY_COST", "1234")
    monkeypatch.setenv("LIANBAO_MAX_NODE_IDS", "7")
    monkeypatch.setenv("LIANBAO_MAX_QUERY_DEPTH", "9")
    monkeypatch.setenv("LIANBAO_COST_LIST_SIZE", "4")
    monkeypatch.setenv("LIANBAO_JWT_SECRET", "s" * 40)
    settings = Settings.from_env()
    assert (settings.max_query_cost, settings.max_node_ids, settings.max_query_depth,
            settings.cost_list_size) == (1234, 7, 9, 4)


async def test_pdf_rendering_runs_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rendering is CPU-bound: on the loop it held every other request up meanwhile."""
    seen: dict[str, threading.Thread] = {}

    def typeset(doc: str) -> bytes:
        seen["thread"] = threading.current_thread()
        return b"%PDF-" + doc.encode()

    # Printing a document (workflow/document/printing.py) goes through off_loop.
    assert await pdf.off_loop(typeset, "fake") == b"%PDF-fake"
    assert seen["thread"] is not threading.current_thread()
