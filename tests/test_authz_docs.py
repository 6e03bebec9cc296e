"""docs/authz.md is the policy file, rendered (regenerate with `make schema`)."""

from __future__ import annotations

from pathlib import Path

from authz.docs import render
from authz.policy import PolicyError, default_rules, parse_policy

DOC = Path(__file__).resolve().parent.parent / "docs" / "authz.md"


def test_authz_doc_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), "run `make schema` to regenerate"


def test_every_rule_cites_its_source() -> None:
    for rule in default_rules():
        assert rule.source, f"rule without a source comment: {rule}"
        key = rule.source.split()[0]
        assert key in {"LS", "SPT", "GH", "YQ", "ST", "PIPL"}, rule


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
