"""docs/authz.md is the policy file, rendered (regenerate with `make schema`)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from authz.docs import render
from authz.policy import PolicyError, default_rules, parse_policy

DOC = Path(__file__).resolve().parent.parent / "docs" / "authz.md"


def test_authz_doc_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), "run `make schema` to regenerate"


SEEDS = DOC.parent / "seeds"


def test_every_rule_cites_its_source() -> None:
    # A rule cites one of the seed rules in docs/seeds (the five local rules and the national
    # ones excerpted there, e.g. NCL) or the privacy law.
    sources = {p.stem for p in SEEDS.glob("*.txt")} | {"PIPL"}
    assert {"LS", "SPT", "GH", "YQ", "ST", "NCL"} <= sources
    for rule in default_rules():
        assert rule.source, f"rule without a source comment: {rule}"
        key = rule.source.split()[0]
        assert key in sources, rule


def test_bad_lines_are_refused() -> None:
    for line in [
        "p, nobody, *, child, read, *, allow",
        "p, police_officer, *, child, read, *, maybe",
        "p, police_officer, *, child, read, nowhere, allow",
        "p, police_officer, *, child, read, *",
    ]:
        try:
            parse_policy(line)
        except PolicyError:
            continue
        raise AssertionError(f"accepted {line!r}")


async def test_migrate_keeps_the_shipped_policy_in_step(session: AsyncSession) -> None:
    """A release that changes policy.csv changes the rules in force; local rules stay."""
    from sqlalchemy import select

    from authz.store import current_version, ensure_default_policy
    from models.policy import AuthzRule

    assert await ensure_default_policy(session) == 0  # already in step
    shipped = (await session.execute(select(AuthzRule).where(AuthzRule.domain == "*")
                                      .limit(1))).scalar_one()
    await session.delete(shipped)
    session.add(AuthzRule(role="police_officer", domain="*", obj="child", act="delete",
                          stage="*", effect="allow", source="not in the file"))
    local = AuthzRule(role="police_officer", domain="370000/370400/370406", obj="child",
                      act="read", stage="*", effect="deny", source="ST 8 (local)")
    session.add(local)
    await session.flush()
    before = await current_version(session)
    assert await ensure_default_policy(session) == 2
    assert await current_version(session) == before + 1
    rows = (await session.execute(select(AuthzRule))).scalars().all()
    assert len([r for r in rows if r.domain == "*"]) == len(default_rules())
    assert not any(r.act == "delete" for r in rows)
    assert any(r.source == "ST 8 (local)" for r in rows)
