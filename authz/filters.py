"""Compiling the policy into one SQL WHERE clause for list queries.

Casbin answers one request at a time; a list of 200,000 cases cannot be enforced row by row.
Every dimension but the record's place and stage is finite and known when the query is built
(object kind, action), so for a principal we take each (grant domain, rule) pair that can
apply and turn it into ``scope covers grant AND scope covers rule domain AND stage >= from``;
allow terms are OR-ed, deny terms subtracted. The result matches ``enforce()`` on every
combination (tests/test_authz_filters.py) and is applied before ORDER BY / LIMIT.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, not_, or_, true
from sqlalchemy.orm import InstrumentedAttribute

from authz.enforcer import Authorizer
from authz.principal import Principal
from models.inline import inline

Column = ColumnElement[str] | InstrumentedAttribute[str]
IntColumn = ColumnElement[int] | InstrumentedAttribute[int]


def escape_like(value: str) -> str:
    """A literal for LIKE with ``escape="\\"``: ``%`` and ``_`` match only themselves."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def covers(scope: Column, domain: str) -> ColumnElement[bool]:
    """SQL for ``domain_covers(scope, domain)``: equal, or below on a whole path segment.

    The first term, ``LIKE 'domain%'``, is one index range (the scope indexes use
    ``varchar_pattern_ops``) that the exact test then narrows to whole segments; without
    it PostgreSQL answers the OR with a bitmap of two index scans, which must visit the
    table's pages, instead of one index-only range scan."""
    if domain == "*":
        return true()
    return and_(scope.like(*_like(domain, "%")), or_(*at_or_below(scope, domain)))


def at_or_below(scope: Column, domain: str) -> list[ColumnElement[bool]]:
    """``covers(scope, domain)`` as its two cases: the domain itself, and below it on a whole
    segment. Each is one index range the planner sizes from the column's statistics, where
    ``covers`` (a prefix test AND the two cases) multiplies two selectivities and takes a
    district's 20,000 children for one row."""
    return [scope == inline(domain), scope.like(*_like(domain, "/%"))]


def _like(domain: str, tail: str) -> tuple[ColumnElement[str], str | None]:
    """The LIKE pattern ``domain`` + ``tail`` and its escape character. SQLite serves a LIKE
    from an index only without an ESCAPE clause: name one only when the domain holds a
    character that needs it (real domains never do)."""
    prefix = escape_like(domain)
    return inline(prefix + tail), ("\\" if prefix != domain else None)


def scope_filter(
    authz: Authorizer,
    principal: Principal,
    obj: str,
    act: str,
    scope: Column,
    stage: IntColumn | None = None,
) -> ColumnElement[bool]:
    """The rows of ``obj`` this principal may ``act`` on, as one boolean SQL expression."""
    allow, deny = _compiled(authz, principal, obj, act, scope, stage)
    if not allow:
        return false()
    clause = or_(*(and_(covers(scope, grant), *terms) for grant, terms in allow))
    if deny:
        clause = and_(clause, not_(or_(*deny)))
    return clause


def scope_branches(
    authz: Authorizer,
    principal: Principal,
    obj: str,
    act: str,
    scope: Column,
    stage: IntColumn | None = None,
) -> list[ColumnElement[bool]]:
    """``scope_filter`` as terms whose OR it is, each on one index range of ``scope``
    (``at_or_below``), for a statement that gathers the rows of each range and unites them
    (``UNION``): each branch an index-only range scan sized right, where one OR is a bitmap
    of the table's pages. No term: nothing is granted."""
    allow, deny = _compiled(authz, principal, obj, act, scope, stage)
    refused = [not_(or_(*deny))] if deny else []
    return [and_(case, *terms, *refused)
            for grant, terms in allow
            for case in ([true()] if grant == "*" else at_or_below(scope, grant))]


def _compiled(
    authz: Authorizer,
    principal: Principal,
    obj: str,
    act: str,
    scope: Column,
    stage: IntColumn | None,
) -> tuple[list[tuple[str, list[ColumnElement[bool]]]], list[ColumnElement[bool]]]:
    """Each allow rule as (its grant's domain, its other terms), and each deny rule as one
    term: the rule's domain and stage."""
    allow: list[tuple[str, list[ColumnElement[bool]]]] = []
    deny: list[ColumnElement[bool]] = []
    for grant_domain, rule in authz.rules_for(principal, obj, act):
        terms = []
        if rule.domain != "*":
            terms.append(covers(scope, rule.domain))
        if rule.stage != "*":
            if stage is None:
                # A stage-bounded rule on an object without stages can never match.
                continue
            terms.append(stage >= rule.stage_ordinal)
        if rule.effect == "allow":
            allow.append((grant_domain, terms))
        else:
            deny.append(and_(covers(scope, grant_domain), *terms))
    return allow, deny
