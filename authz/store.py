"""Policy storage in the database and keeping every server process in step.

Rules live in ``authz_rule`` (seeded from ``authz/policy.csv`` when empty). Each change bumps
``policy_version`` in the same transaction and, on PostgreSQL, sends ``NOTIFY lianbao_policy``
(delivered on commit). ``PolicySync`` reloads a process's ``Authorizer`` when notified, and
polls the version every few seconds as a safety net for missed notifications (reconnects,
SQLite, where there is no NOTIFY and the writer reloads its own process directly).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from authz.enforcer import Authorizer
from authz.policy import Rule, default_rules
from models.base import utcnow
from models.listen import Listener
from models.policy import AuthzRule, PolicyVersion

log = logging.getLogger("lianbao.authz")

CHANNEL = "lianbao_policy"


def to_rule(row: AuthzRule) -> Rule:
    return Rule(row.role, row.domain, row.obj, row.act, row.stage, row.effect, row.source)


async def ensure_default_policy(session: AsyncSession) -> int:
    """Make the shipped rules (domain ``*``) in the database equal ``authz/policy.csv``.

    Runs on every ``lianbao migrate``: a release that changes the policy file changes the
    policy in force. Rules administrators added for their own domains are left alone.
    Returns the number of rules added or removed (0 when already in step).
    """
    wanted = {tuple(r.as_casbin()): r for r in default_rules()}
    rows = (
        await session.execute(select(AuthzRule).where(AuthzRule.domain == "*"))
    ).scalars().all()
    have = {(r.role, r.domain, r.obj, r.act, r.stage, r.effect): r for r in rows}
    stale = [row for key, row in have.items() if key not in wanted]
    fresh = [rule for key, rule in wanted.items() if key not in have]
    for row in stale:
        await session.delete(row)
    if fresh:
        await session.execute(
            insert(AuthzRule),
            [
                {"role": r.role, "domain": r.domain, "obj": r.obj, "act": r.act,
                 "stage": r.stage, "effect": r.effect, "source": r.source[:200]}
                for r in fresh
            ],
        )
    for key, row in have.items():
        if key in wanted and row.source != wanted[key].source[:200]:
            row.source = wanted[key].source[:200]
    if stale or fresh:
        await session.flush()
        await bump_version(session)
    return len(stale) + len(fresh)


async def load_policy(session: AsyncSession) -> tuple[list[Rule], int]:
    rows = (await session.execute(select(AuthzRule).order_by(AuthzRule.id))).scalars().all()
    return [to_rule(r) for r in rows], await current_version(session)


async def current_version(session: AsyncSession) -> int:
    version = (
        await session.execute(select(PolicyVersion.version).where(PolicyVersion.id == 1))
    ).scalar_one_or_none()
    return version or 0


async def bump_version(session: AsyncSession) -> int:
    """Bump in the caller's transaction; on PostgreSQL the NOTIFY goes out on commit."""
    await session.execute(
        update(PolicyVersion)
        .where(PolicyVersion.id == 1)
        .values(version=PolicyVersion.version + 1, changed_at=utcnow())
    )
    version = await current_version(session)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_notify(:c, :v)"), {"c": CHANNEL, "v": str(version)})
    return version


class PolicySync:
    """Keeps one process's authorizer at the database's policy version.

    On PostgreSQL it wakes on ``NOTIFY lianbao_policy`` through the process's shared
    ``Listener`` (``models/listen.py``), which reconnects after a dropped connection and then
    wakes this sync once, since a notification may have been missed. The version poll stays
    as the last safety net.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        authz: Authorizer,
        poll_seconds: float = 2.0,
        listener: Listener | None = None,
    ) -> None:
        self.engine = engine
        self.authz = authz
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        if listener is None and engine.dialect.name == "postgresql":
            listener = Listener(engine)
        self.listener = listener
        if listener is not None:
            listener.add_handler(CHANNEL, lambda _payload: self._wake.set())
            listener.on_reconnect(self._wake.set)

    async def refresh(self, *, force: bool = False) -> bool:
        """Reload when the stored version differs from the loaded one. True if reloaded."""
        async with AsyncSession(self.engine) as session:
            version = await current_version(session)
            if version == self.authz.version and not force:
                return False
            rules, version = await load_policy(session)
        self.authz.reload(rules, version)
        log.info("policy reloaded", extra={"status": version})
        return True

    async def run(self) -> None:
        if self.listener is not None:
            await self.listener.start()
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
                self._wake.clear()
                try:
                    await self.refresh()
                except Exception:  # the next poll tries again; never kill the server
                    log.exception("policy refresh failed")
        finally:
            if self.listener is not None:
                await asyncio.shield(self.listener.stop())
