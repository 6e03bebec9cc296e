"""Accountability items (责任追究, SPT 8; GH 三(六); ST 10).

The monthly scan raises an item when a rule of the district's data fires for a unit (the
district, a school, a township) in a month, with the evidence it rests on: the cases, the
overdue tasks, since when. One item per rule, unit and month: the scan may run twice and in
several processes. The inspectorate reviews each one.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, JsonDoc, StrEnumType, UTCDateTime, utcnow
from models.enums import AccountabilityStatus
from models.report import Reviewed, once_per_period


class AccountabilityItem(Reviewed, Base):
    __tablename__ = "accountability_item"
    __table_args__ = once_per_period("accountability_item", "rule_code", "subject_path",
                                     "month", path="subject_path")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("jurisdiction.code"), index=True)
    rule_code: Mapped[str] = mapped_column(String(48))
    # The unit held to account: its kind (district, school, township) and its scope path,
    # the item's domain (a township sees its own items, the inspectorate every one).
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_path: Mapped[str] = mapped_column(String(160))
    subject_name: Mapped[str] = mapped_column(String(128))
    # The first day of the month the scan raised it for.
    month: Mapped[date] = mapped_column(Date)
    # Which month in a row the rule has fired for this unit (约谈, 通报批评, 处分 …).
    month_in_row: Mapped[int] = mapped_column(Integer, default=1)
    consequence: Mapped[str] = mapped_column(String(200))
    since: Mapped[date] = mapped_column(Date)
    evidence: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    status: Mapped[AccountabilityStatus] = mapped_column(
        StrEnumType(AccountabilityStatus), default=AccountabilityStatus.RAISED
    )
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __mapper_args__ = {"version_id_col": Reviewed.version}  # noqa: RUF012


class AccountabilityScan(Base):
    """The monthly scan of a district, claimed once: the first process to insert the row
    scans, any other (or a second tick the same month) finds it there and does not."""

    __tablename__ = "accountability_scan"

    district_code: Mapped[str] = mapped_column(ForeignKey("jurisdiction.code"), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    scanned_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    items: Mapped[int] = mapped_column(Integer, default=0)
