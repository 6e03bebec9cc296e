"""Reference data: jurisdictions (行政区划), agencies and the duty catalogue."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, StrEnumType, path_index
from models.enums import AgencyKind, JurisdictionLevel


class Jurisdiction(Base):
    """A node of the administrative tree: province → city → district → township.

    ``path`` lists the codes from the province down ("370000/370400/370406/370406101"). It is
    the Casbin domain of everything inside the jurisdiction, so a grant on a district covers its
    townships by a prefix match that SQL can evaluate with an index.
    """

    __tablename__ = "jurisdiction"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    level: Mapped[JurisdictionLevel] = mapped_column(StrEnumType(JurisdictionLevel))
    parent_code: Mapped[str | None] = mapped_column(
        ForeignKey("jurisdiction.code"), index=True, default=None
    )
    path: Mapped[str] = mapped_column(String(128), unique=True)

    parent: Mapped[Jurisdiction | None] = relationship(remote_side=[code], lazy="raise")


class Agency(Base):
    """One office of an agency kind, bound to the jurisdiction it acts in.

    Schools and village committees are agencies too (a teacher is a member of one). Their
    ``scope_path`` extends the jurisdiction path with the agency itself, so a school's grants
    cover only its own pupils.
    """

    __tablename__ = "agency"
    __table_args__ = (
        UniqueConstraint("jurisdiction_code", "kind", "name"),
        path_index("ix_agency_scope", "scope_path"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[AgencyKind] = mapped_column(StrEnumType(AgencyKind), index=True)
    name: Mapped[str] = mapped_column(String(128))
    short_name: Mapped[str] = mapped_column(String(32), default="")
    jurisdiction_code: Mapped[str] = mapped_column(ForeignKey("jurisdiction.code"), index=True)
    scope_path: Mapped[str] = mapped_column(String(160))

    jurisdiction: Mapped[Jurisdiction] = relationship(lazy="raise")


class Duty(Base):
    """One duty an agency holds under a source rule (seed key + article), with a verbatim quote."""

    __tablename__ = "duty"
    __table_args__ = (UniqueConstraint("agency_kind", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_kind: Mapped[AgencyKind] = mapped_column(StrEnumType(AgencyKind), index=True)
    code: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(128))
    title_en: Mapped[str] = mapped_column(String(160))
    source_key: Mapped[str] = mapped_column(String(8))
    article: Mapped[str] = mapped_column(String(32))
    quote: Mapped[str] = mapped_column(Text)
