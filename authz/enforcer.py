"""The one enforcement path.

``Authorizer`` wraps a Casbin enforcer built from the policy rules. Role links (``g``) come
from the principal, which is loaded from the database on every request, so a revoked grant
is never honoured from a stale cache. Rules (``p``) are reloaded when the policy version
changes (see ``authz/store.py``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

import casbin
from casbin.model import Model

from authz.errors import Forbidden
from authz.policy import MODEL_FILE, Rule
from authz.principal import Principal
from models.enums import CaseStage


def domain_covers(request_domain: str, pattern: str) -> bool:
    """True when ``request_domain`` is ``pattern`` or lies below it (whole path segments)."""
    return pattern == "*" or request_domain == pattern or request_domain.startswith(pattern + "/")


def stage_from(request_stage: Any, policy_stage: str) -> bool:
    if policy_stage == "*":
        return True
    return int(request_stage) >= CaseStage(policy_stage).ordinal


def stage_ordinal(stage: CaseStage | None) -> int:
    return 0 if stage is None else stage.ordinal


DECISION_CACHE_SIZE = 100_000
"""Remembered decisions, all dropped at once when full: simpler than an LRU, and refilling
costs one ``enforce()`` per distinct question."""


class Authorizer:
    def __init__(self, rules: Iterable[Rule], version: int = 0) -> None:
        self._lock = threading.Lock()
        self._links: dict[str, frozenset[tuple[str, str]]] = {}
        self._decisions: dict[tuple[Any, ...], bool] = {}
        self.version = version
        # Counts this process's reloads: what is derived from the policy in force (cached
        # principals, api/auth.PrincipalCache) is keyed on it. Unlike ``version`` it moves
        # whenever a reload happens, even to a version number seen before.
        self.generation = 0
        self.rules: tuple[Rule, ...] = ()
        self._enforcer = self._build(rules)

    def _build(self, rules: Iterable[Rule]) -> casbin.Enforcer:
        model = Model()
        model.load_model_from_text(MODEL_FILE.read_text(encoding="utf-8"))
        enforcer = casbin.Enforcer(model)
        enforcer.add_function("domain_covers", domain_covers)
        enforcer.add_function("stage_from", stage_from)
        enforcer.add_named_domain_matching_func("g", domain_covers)
        # Role names use no patterns; the default matcher would scan every role per link.
        enforcer.get_role_manager().matching_func = None
        self.rules = tuple(rules)
        if self.rules:
            enforcer.add_policies([r.as_casbin() for r in self.rules])
        self._links = {}
        return enforcer

    def reload(self, rules: Iterable[Rule], version: int) -> None:
        enforcer = self._build(rules)
        with self._lock:
            self._enforcer = enforcer
            self._decisions = {}
            self.version = version
            self.generation += 1

    def _sync(self, principal: Principal) -> None:
        """Make the enforcer's role links for this user exactly the principal's grants."""
        wanted = frozenset((g.role, g.domain) for g in principal.grants)
        have = self._links.get(principal.subject)
        if have == wanted:
            return
        if have:
            self._enforcer.remove_grouping_policies(
                [[principal.subject, role, dom] for role, dom in have]
            )
        if wanted:
            self._enforcer.add_grouping_policies(
                [[principal.subject, role, dom] for role, dom in wanted]
            )
        self._links[principal.subject] = wanted

    def allowed(
        self, principal: Principal, obj: str, act: str, domain: str, stage: CaseStage | None = None
    ) -> bool:
        if not principal.grants or not domain:
            return False
        # A decision depends only on the policy (a reload clears this) and on the subject's
        # grants, which are part of the key: casbin's matcher costs about a millisecond per
        # call, and a page of 50 rows in 30 schools would otherwise pay it 30 times per request.
        key = (principal.subject, principal.grants, obj, act, domain, stage_ordinal(stage))
        return self._decide(key, principal.subject, principal)

    def role_allowed(
        self, role: str, obj: str, act: str, domain: str, stage: CaseStage | None = None
    ) -> bool:
        """Whether a holder of ``role`` granted on ``domain`` may act: for parties that are not
        signed in, such as the agency a document is addressed to. casbin links a name to itself,
        so the role stands as its own subject without a grouping row."""
        return self._decide((f"role:{role}", (), obj, act, domain, stage_ordinal(stage)), role)

    def _decide(
        self, key: tuple[Any, ...], subject: str, principal: Principal | None = None
    ) -> bool:
        """A remembered decision, or casbin's (key: who, grants, obj, act, domain, stage)."""
        _, _, obj, act, domain, stage = key
        with self._lock:
            decision = self._decisions.get(key)
            if decision is None:
                if principal is not None:
                    self._sync(principal)
                decision = bool(self._enforcer.enforce(subject, domain, obj, act, stage))
                if len(self._decisions) >= DECISION_CACHE_SIZE:
                    self._decisions.clear()
                self._decisions[key] = decision
            return decision

    def require(
        self, principal: Principal, obj: str, act: str, domain: str, stage: CaseStage | None = None
    ) -> None:
        """Raise ``Forbidden`` unless allowed. The message names the action, never the record."""
        if not self.allowed(principal, obj, act, domain, stage):
            raise Forbidden(f"not allowed to {act} {obj}")

    def rules_for(self, principal: Principal, obj: str, act: str) -> list[tuple[str, Rule]]:
        """(grant domain, rule) pairs that can apply to this principal for obj/act."""
        by_role: dict[str, list[Rule]] = {}
        for rule in self.rules:
            if rule.obj == obj and rule.act == act:
                by_role.setdefault(rule.role, []).append(rule)
        return [(g.domain, r) for g in principal.grants for r in by_role.get(g.role, [])]
