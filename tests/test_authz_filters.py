"""The compiled SQL filter agrees with Casbin's ``enforce()`` on every combination.

A generated policy (allow and deny lines, domain-restricted and stage-bounded ones) and a
generated set of principals are checked against a table holding one row for every
(domain, object kind, stage) combination: the rows the SQL filter returns must be exactly
those for which ``enforce()`` says yes.
"""

from __future__ import annotations

import random

from sqlalchemy import Column, Integer, MetaData, String, Table, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from authz.enforcer import Authorizer
from authz.filters import scope_branches, scope_filter
from authz.policy import Rule
from authz.principal import Grant, Principal
from models.enums import AgencyKind, CaseStage

PROVINCE = "370000"
DISTRICTS = [f"{PROVINCE}/3704/3704{d:02d}" for d in (1, 6)]
TOWNSHIPS = [f"{d}/{d[-6:]}{t:03d}" for d in DISTRICTS for t in (100, 101, 102)]
SCHOOLS = [f"{t}/school:{s}" for t in TOWNSHIPS for s in (1, 2)]
DOMAINS = [PROVINCE, *DISTRICTS, *TOWNSHIPS, *SCHOOLS]
KINDS = ["case:dropout", "finding"]
ROLES = ["education_officer", "police_officer", "township_officer", "judicial_officer"]
STAGES = [None, *CaseStage]


def _policy(rng: random.Random) -> list[Rule]:
    rules = []
    for _ in range(40):
        rules.append(
            Rule(
                role=rng.choice(ROLES),
                domain=rng.choice(["*", "*", "*", *DISTRICTS, *TOWNSHIPS]),
                obj=rng.choice(KINDS),
                act="read",
                stage=rng.choice(["*", "*", *[s.value for s in CaseStage]]),
                effect="deny" if rng.random() < 0.2 else "allow",
                source="generated",
            )
        )
    return rules


def _principals(rng: random.Random) -> list[Principal]:
    people = []
    for i in range(12):
        grants = tuple(
            Grant(rng.choice(ROLES), rng.choice(DOMAINS[:-len(SCHOOLS)]), "370406")
            for _ in range(rng.randint(1, 3))
        )
        people.append(
            Principal(i + 1, f"u{i}", f"u{i}", 1, AgencyKind.EDUCATION, "x", DISTRICTS[0],
                      "370406", grants)
        )
    return people


async def test_sql_filter_matches_enforce(conn: AsyncConnection) -> None:
    rng = random.Random(20261122)
    table = Table(
        "authz_probe", MetaData(),
        Column("id", Integer, primary_key=True),
        Column("scope", String(160)),
        Column("kind", String(32)),
        Column("stage", Integer),
    )
    await conn.run_sync(table.create)
    rows = []
    for scope in DOMAINS:
        for kind in KINDS:
            for stage in STAGES:
                rows.append({"id": len(rows) + 1, "scope": scope, "kind": kind,
                             "stage": 0 if stage is None else stage.ordinal})
    await conn.execute(table.insert(), rows)
    stage_of = {0: None, **{s.ordinal: s for s in CaseStage}}

    checked = mismatches = 0
    for round_ in range(5):
        authz = Authorizer(_policy(rng), version=round_)
        for principal in _principals(rng):
            for kind in KINDS:
                clause = scope_filter(authz, principal, kind, "read", table.c.scope, table.c.stage)
                got = set(
                    (await conn.execute(
                        select(table.c.id).where(table.c.kind == kind, clause)
                    )).scalars()
                )
                # Its branches (one index range each, for a UNION) give the same rows.
                branches = scope_branches(authz, principal, kind, "read", table.c.scope,
                                          table.c.stage)
                branched = set() if not branches else set((await conn.execute(
                    select(table.c.id).where(table.c.kind == kind, or_(*branches))
                )).scalars())
                assert branched == got
                for row in rows:
                    if row["kind"] != kind:
                        continue
                    want = authz.allowed(principal, kind, "read", row["scope"],
                                         stage_of[row["stage"]])
                    checked += 1
                    if want != (row["id"] in got):
                        mismatches += 1
    assert checked > 10_000
    assert mismatches == 0
    await conn.run_sync(table.drop)
