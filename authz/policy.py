"""Reading and checking policy lines.

The shipped default is ``authz/policy.csv``: one grant a line, each with a trailing comment
naming its source rule. The same lines live in the database (``authz_rule``) once migrated,
where administrators change them through the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from authz.roles import ROLES
from models.enums import CaseStage

DEFAULT_POLICY_FILE = Path(__file__).with_name("policy.csv")
MODEL_FILE = Path(__file__).with_name("model.conf")

EFFECTS = ("allow", "deny")


class PolicyError(ValueError):
    pass


@dataclass(frozen=True)
class Rule:
    """One ``p`` line: role may (or may not) do action on object, in domain, from stage on."""

    role: str
    domain: str
    obj: str
    act: str
    stage: str
    effect: str
    source: str = ""

    def as_casbin(self) -> list[str]:
        return [self.role, self.domain, self.obj, self.act, self.stage, self.effect]

    def validate(self) -> None:
        if self.role not in ROLES:
            raise PolicyError(f"unknown role {self.role!r}")
        if self.effect not in EFFECTS:
            raise PolicyError(f"effect must be allow or deny, not {self.effect!r}")
        if self.stage != "*" and self.stage not in {s.value for s in CaseStage}:
            raise PolicyError(f"unknown stage {self.stage!r}")
        for value in (self.domain, self.obj, self.act):
            # The SQL adapters join values with ", "; a comma would corrupt the rule.
            if not value or "," in value or value.strip() != value:
                raise PolicyError(f"bad policy value {value!r}")

    @property
    def stage_ordinal(self) -> int:
        return 0 if self.stage == "*" else CaseStage(self.stage).ordinal


def parse_policy(text: str) -> list[Rule]:
    rules: list[Rule] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line, _, comment = raw.partition("#")
        line = line.strip()
        if not line:
            continue
        parts = [p.strip() for p in line.split(",")]
        if parts[0] != "p" or len(parts) != 7:
            raise PolicyError(f"line {lineno}: expected 'p, role, domain, obj, act, stage, eft'")
        role, domain, obj, act, stage, effect = parts[1:]
        rule = Rule(role, domain, obj, act, stage, effect, source=comment.strip())
        try:
            rule.validate()
        except PolicyError as exc:
            raise PolicyError(f"line {lineno}: {exc}") from exc
        rules.append(rule)
    return rules


def default_rules() -> list[Rule]:
    return parse_policy(DEFAULT_POLICY_FILE.read_text(encoding="utf-8"))
