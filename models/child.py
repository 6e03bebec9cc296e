"""Children of compulsory-school age and their guardians.

Several columns are sensitive personal information of minors (PIPL art. 28): the national ID
number, guardians' phones, health/disability and family-income notes. They leave the server
only through the masking layer in ``authz/masking.py``.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, StrEnumType, UTCDateTime, path_index, utcnow
from models.enums import GuardianRelation, RegisterType, Sex, SpecialGroup
from models.names import NameKeyed, name_key_default


class Child(NameKeyed, Base):
    __tablename__ = "child"
    __table_args__ = (
        # With the birth date and id: a ledger gathers a district's school-age children
        # from these alone (workflow/ledger/access.py: gathered; migration 0027).
        path_index("ix_child_scope", "scope_path", "birth_date", "id"),
        path_index("ix_child_residence", "residence_path", "birth_date", "id"),
        # Matching a child without an ID number: normalised name, then birth date.
        Index("ix_child_name_key", "name_key", "birth_date"),
        # Children without an ID number are matched by name key and birth date (imports): a
        # small partial index, so that match is index lookups whatever the planner's
        # statistics know of a table a first import has just filled.
        Index("ix_child_no_id_name_birth", "name_key", "birth_date",
              postgresql_where=text("national_id IS NULL"),
              sqlite_where=text("national_id IS NULL")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    # The name's matching key (models/names.py): set with the name, never by hand.
    name_key: Mapped[str | None] = mapped_column(String(64), default=name_key_default)
    sex: Mapped[Sex] = mapped_column(StrEnumType(Sex))
    birth_date: Mapped[date] = mapped_column(Date)
    register_type: Mapped[RegisterType] = mapped_column(StrEnumType(RegisterType))
    # Unique where present; children without an ID number are keyed by ``student_no``.
    national_id: Mapped[str | None] = mapped_column(String(18), unique=True, default=None)
    student_no: Mapped[str] = mapped_column(String(32), unique=True)
    township_code: Mapped[str] = mapped_column(ForeignKey("jurisdiction.code"), index=True)
    village: Mapped[str] = mapped_column(String(64), default="")
    # The household-register or home address (户籍地址 / 居住地址).
    address: Mapped[str] = mapped_column(String(200), server_default="", default="")
    # The Casbin domain of the child's records: the school's scope path while enrolled, else
    # the home township's path. Kept here so list filters are one indexed prefix test.
    scope_path: Mapped[str] = mapped_column(String(160))
    # The second domain of the child's records: where the child lives — the village
    # committee's path when one covers the child's village, else the home township's; ''
    # when unknown. A village committee finds and reports the children living in it (LS 14)
    # whichever school they attend, and sees no others: its grant sits on this path.
    residence_path: Mapped[str] = mapped_column(String(160), server_default="")
    health_note: Mapped[str | None] = mapped_column(Text, default=None)
    family_income_note: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, server_default="1", default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    guardians: Mapped[list[Guardian]] = relationship(lazy="raise", order_by="Guardian.id")


class Guardian(NameKeyed, Base):
    __tablename__ = "guardian"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("child.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    name_key: Mapped[str | None] = mapped_column(String(64), default=name_key_default)
    relation: Mapped[GuardianRelation] = mapped_column(StrEnumType(GuardianRelation))
    phone: Mapped[str | None] = mapped_column(String(20), default=None)


class ChildGroup(Base):
    """Membership of a child in a special group to watch; a row per (child, group)."""

    __tablename__ = "child_group"
    # Filtering a task list by special group probes (group, child_id).
    __table_args__ = (Index("ix_child_group_group_child", "group", "child_id"),)

    child_id: Mapped[int] = mapped_column(ForeignKey("child.id"), primary_key=True)
    group: Mapped[SpecialGroup] = mapped_column(StrEnumType(SpecialGroup), primary_key=True)
