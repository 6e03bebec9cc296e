"""The child-labour fine, without a database (禁止使用童工规定, "NCL").

Art. 6: 5,000 yuan per child per month of use; an employer that ignores the order to send the
child home pays 10,000 yuan per child per month from the order on. Art. 9: an unlicensed
employer pays double. A repeat offence doubles it again (a local setting: no rule fixes it).
``enforcement.fine_for`` reads the rates from ``reference_data/child_labour.json`` through
``labour_rules``; these tests state the expected yuan themselves, so a changed rate or a
changed formula fails here.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.employer import Employer
from models.enforcement import EnforcementAction
from models.enums import AgencyKind, EnforcementKind, LicenceStatus
from models.finding import LabourFinding
from workflow import labour_rules
from workflow.enforcement import fine_for, months_between
from workflow.infra import reference_json

FOUND = date(2026, 11, 2)
RULES = labour_rules.rules_for("370406")  # 山亭区: the national default


def _finding(fid: int, months: int) -> LabourFinding:
    """A child found on FOUND after ``months`` whole 30-day months of work."""
    return LabourFinding(id=fid, found_on=FOUND,
                         employed_since=FOUND - timedelta(days=30 * months - 1))


def _employer(licence: LicenceStatus = LicenceStatus.ACTIVE) -> Employer:
    return Employer(licence_status=licence)


def _ignored_order(served: date, complied: date | None = None) -> EnforcementAction:
    return EnforcementAction(escalated=True, served_on=served, complied_on=complied)


def _fine(rows: list[LabourFinding], *, licence: LicenceStatus = LicenceStatus.ACTIVE,
          orders: dict[int, EnforcementAction] | None = None, repeat: bool = False,
          today: date = FOUND) -> tuple[int, dict[str, Any]]:
    return fine_for(RULES, _employer(licence), rows, orders or {}, repeat, today)


def test_the_rates_are_the_national_standards() -> None:
    assert RULES.fine_per_child_month == 5000  # NCL art. 6 ¶1
    assert RULES.overdue_per_child_month == 10000  # NCL art. 6 ¶1, 逾期仍不送交
    assert RULES.unlicensed_multiplier == 2  # NCL art. 9, 加一倍罚款
    assert RULES.repeat_multiplier == 2  # local setting


def test_months_of_use_count_each_started_month_whole() -> None:
    assert months_between(FOUND, FOUND) == 1, "found on the first day: one month"
    assert months_between(FOUND - timedelta(days=29), FOUND) == 1  # 30 days
    assert months_between(FOUND - timedelta(days=30), FOUND) == 2  # day 31 starts month 2
    assert months_between(FOUND - timedelta(days=89), FOUND) == 3
    assert months_between(FOUND, FOUND - timedelta(days=5)) == 1, "never less than one"


def test_per_child_per_month() -> None:
    """Art. 6: one child for one month 5,000; two children, one for three months: 20,000."""
    assert _fine([_finding(1, 1)])[0] == 5000
    total, workings = _fine([_finding(1, 1), _finding(2, 3)])
    assert total == 5000 + 3 * 5000
    assert [(c["finding_id"], c["months"], c["amount"]) for c in workings["children"]] == [
        (1, 1, 5000), (2, 3, 15000)]
    assert workings["factor"] == 1 and workings["minimum"] == total


def test_a_child_without_a_start_date_counts_one_month() -> None:
    row = LabourFinding(id=1, found_on=FOUND, employed_since=None)
    assert _fine([row])[0] == 5000


def test_after_an_ignored_order_10000_per_child_per_month_from_service() -> None:
    """Art. 6: 逾期仍不将童工送交 … 从责令限期改正之日起 … 每月处1万元: counted from the
    served order to compliance (or today while the child is still there)."""
    served = FOUND + timedelta(days=1)
    still_there = _fine([_finding(1, 1)], orders={1: _ignored_order(served)},
                        today=served + timedelta(days=40))
    assert still_there[0] == 5000 + 2 * 10000
    assert still_there[1]["children"][0]["overdue_months"] == 2
    complied = _fine([_finding(1, 1)],
                     orders={1: _ignored_order(served, served + timedelta(days=10))},
                     today=served + timedelta(days=200))
    assert complied[0] == 5000 + 10000, "compliance stops the count"


def test_an_order_that_was_not_ignored_adds_nothing() -> None:
    on_time = EnforcementAction(escalated=False, served_on=FOUND, complied_on=FOUND)
    unserved = EnforcementAction(escalated=True, served_on=None, complied_on=None)
    assert _fine([_finding(1, 1)], orders={1: on_time}, today=FOUND + timedelta(days=90))[0] \
        == 5000
    assert _fine([_finding(1, 1)], orders={1: unserved}, today=FOUND + timedelta(days=90))[0] \
        == 5000


def test_unlicensed_or_revoked_pays_double() -> None:
    """Art. 9: 无营业执照、被依法吊销营业执照的单位 … 加一倍罚款."""
    for licence in (LicenceStatus.UNLICENSED, LicenceStatus.REVOKED):
        total, workings = _fine([_finding(1, 2)], licence=licence)
        assert total == 2 * 2 * 5000, licence
        assert workings["unlicensed"] is True and workings["factor"] == 2


def test_a_repeat_offence_doubles_and_stacks_with_unlicensed() -> None:
    assert _fine([_finding(1, 1)], repeat=True)[0] == 10000
    served = FOUND + timedelta(days=1)
    total, workings = _fine([_finding(1, 1)], licence=LicenceStatus.UNLICENSED, repeat=True,
                            orders={1: _ignored_order(served)}, today=served + timedelta(days=5))
    assert total == 4 * (5000 + 10000)
    assert workings["factor"] == 4 and workings["repeat_offence"] is True


@given(months=st.lists(st.integers(min_value=1, max_value=36), min_size=1, max_size=8),
       unlicensed=st.booleans(), repeat=st.booleans())
def test_the_fine_is_the_sum_of_its_workings(
    months: list[int], unlicensed: bool, repeat: bool
) -> None:
    """Whatever the case, the total is the children's amounts, each per month at the rate
    times the factor, and never below 5,000 per child (the art. 6 minimum)."""
    rows = [_finding(i + 1, m) for i, m in enumerate(months)]
    licence = LicenceStatus.UNLICENSED if unlicensed else LicenceStatus.ACTIVE
    total, workings = _fine(rows, licence=licence, repeat=repeat)
    factor = (2 if unlicensed else 1) * (2 if repeat else 1)
    assert workings["factor"] == factor
    assert [c["months"] for c in workings["children"]] == months
    assert total == sum(c["amount"] for c in workings["children"]) == 5000 * factor * sum(months)
    assert total >= 5000 * len(rows)


def test_fines_go_to_the_labour_department_except_in_genhe() -> None:
    """禁止使用童工规定 art. 6 gives fines to the labour department (human resources); GH 二(七)
    gives them to market supervision in 根河 only. Licence revocation stays with market
    supervision everywhere (art. 6: 工商行政管理部门吊销其营业执照)."""
    national = labour_rules.rules_for("370406")
    genhe = labour_rules.rules_for("150785")
    assert national.action(EnforcementKind.FINE).agency is AgencyKind.HUMAN_RESOURCES
    assert {(b["source_key"], b["article"]) for b in national.action(EnforcementKind.FINE).basis} \
        == {("NCL", "6")}
    assert genhe.action(EnforcementKind.FINE).agency is AgencyKind.MARKET_SUPERVISION
    assert ("GH", "二(七)") in {
        (b["source_key"], b["article"]) for b in genhe.action(EnforcementKind.FINE).basis
    }
    for rules in (national, genhe, labour_rules.rules_for("640502")):
        assert rules.action(EnforcementKind.LICENCE_REVOCATION).agency is (
            AgencyKind.MARKET_SUPERVISION
        )
        fining = rules.action(EnforcementKind.FINE).agency.value
        # Whoever fines gets the tasks a fine completes, on a finding and after an ignored order.
        for follow_up in (*rules.on_finding, *rules.on_overdue):
            if "fine" in follow_up.completed_by:
                assert follow_up.agency == fining, (rules.district_code, follow_up.kind)


def _numbers(node: Any, where: str = "") -> list[str]:
    """Paths of numbers that stand bare, not as {value, basis} (task due days and priorities
    are scheduling, not rates)."""
    if isinstance(node, dict):
        if "value" in node:
            return []
        return [
            p
            for k, v in node.items()
            if k not in ("due_days", "priority")
            for p in _numbers(v, f"{where}.{k}")
        ]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _numbers(v, f"{where}[{i}]")]
    return [where] if isinstance(node, int | float) and not isinstance(node, bool) else []


def test_every_labour_number_states_its_basis() -> None:
    """A rate, factor or deadline cites the rule that fixes it or says it is a local setting
    (the repeat factor and the return deadline: no rule fixes them)."""
    raw = reference_json.load("child_labour.json")
    assert _numbers(raw) == []
    fine = raw["default"]["fine"]
    assert fine["repeat_multiplier"]["basis"] == labour_rules.LOCAL_SETTING
    assert fine["unlicensed_multiplier"]["basis"][0]["article"] == "9"
    assert raw["districts"]["640502"]["return_order"]["deadline_days"] == {
        "value": 5, "basis": labour_rules.LOCAL_SETTING
    }
    docs = (Path(__file__).resolve().parent.parent / "docs" / "child_labour.md").read_text(
        encoding="utf-8"
    )
    assert "local setting" in docs
    with pytest.raises(ValueError, match="cites no basis"):
        labour_rules._setting({"value": 3}, "fine.repeat_multiplier")
    with pytest.raises(ValueError, match="must be"):
        labour_rules._setting(3, "fine.repeat_multiplier")
