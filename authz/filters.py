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
    prefix = escape_like(domain)
    # SQLite serves a LIKE from an index only without an ESCAPE clause: name one only when
    # the domain holds a character that needs it (real domains never do).
    escape = "\\" if prefix != domain else None
    return and_(
        scope.like(inline(prefix + "%"), escape=escape),
        or_(scope == inline(domain), scope.like(inline(prefix + "/%"), escape=escape)),
    )


def scope_filter(
    authz: Authorizer,
    principal: Principal,
    obj: str,
    act: str,
    scope: Column,
    stage: IntColumn | None = None,
) -> ColumnElement[bool]:
    """The rows of ``obj`` this principal may ``act`` on, as one boolean SQL expression."""
    allow: list[ColumnElement[bool]] = []
    deny: list[ColumnElement[bool]] = []
    for grant_domain, rule in authz.rules_for(principal, obj, act):
        terms = [covers(scope, grant_domain)]
        if rule.domain != "*":
            terms.append(covers(scope, rule.domain))
        if rule.stage != "*":
            if stage is None:
                # A stage-bounded rule on an object without stages can never match.
                continue
            terms.append(stage >= rule.stage_ordinal)
        (allow if rule.effect == "allow" else deny).append(and_(*terms))
    if not allow:
        return false()
    clause = or_(*allow)
    if deny:
        clause = and_(clause, not_(or_(*deny)))
    return clause
