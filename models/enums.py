"""Closed sets shared by models, authorization and the GraphQL schema."""

from __future__ import annotations

import enum


class AgencyKind(enum.StrEnum):
    """Agency codes from the domain brief (shared/domain.md)."""

    EDUCATION = "education"
    SCHOOL = "school"
    TOWNSHIP = "township"
    VILLAGE = "village"
    POLICE = "police"
    CIVIL_AFFAIRS = "civil_affairs"
    HUMAN_RESOURCES = "human_resources"
    MARKET_SUPERVISION = "market_supervision"
    JUDICIAL = "judicial"
    YOUTH_LEAGUE = "youth_league"
    WOMENS_FEDERATION = "womens_federation"
    DISABLED_FEDERATION = "disabled_federation"
    POVERTY_OFFICE = "poverty_office"
    INSPECTORATE = "inspectorate"
    UNITED_FRONT = "united_front"
    CYBERSPACE = "cyberspace"
    LAW_ENFORCEMENT = "law_enforcement"


class JurisdictionLevel(enum.StrEnum):
    PROVINCE = "province"
    CITY = "city"
    DISTRICT = "district"
    TOWNSHIP = "township"


class SchoolKind(enum.StrEnum):
    PRIMARY = "primary"
    JUNIOR = "junior"
    NINE_YEAR = "nine_year"


class Sex(enum.StrEnum):
    MALE = "male"
    FEMALE = "female"


class RegisterType(enum.StrEnum):
    """How a child is keyed: by national ID number, or otherwise ("Z-other" in the register)."""

    ID_CARD = "id_card"
    OTHER = "other"


class SpecialGroup(enum.StrEnum):
    """Children to watch (SPT 6, 9; ST 1, 7)."""

    LEFT_BEHIND = "left_behind"
    MIGRANT = "migrant"
    DISABLED = "disabled"
    REGISTERED_POOR = "registered_poor"
    SUBSISTENCE_ALLOWANCE = "subsistence_allowance"
    ORPHAN = "orphan"
    SINGLE_PARENT = "single_parent"
    PRISONER_CHILD = "prisoner_child"
    LEARNING_DIFFICULTY = "learning_difficulty"


class EnrolmentStatus(enum.StrEnum):
    """Register (学籍) status. A dropout mark keeps the register entry (SPT 7)."""

    ENROLLED = "enrolled"
    TRANSFERRED = "transferred"
    SUSPENDED = "suspended"
    DROPOUT_MARKED = "dropout_marked"
    GRADUATED = "graduated"
    DEFERRED = "deferred"
    EXEMPT = "exempt"


class GuardianRelation(enum.StrEnum):
    FATHER = "father"
    MOTHER = "mother"
    GRANDFATHER = "grandfather"
    GRANDMOTHER = "grandmother"
    OTHER = "other"


class CaseStage(enum.StrEnum):
    """Canonical case stages, ordered, shared by every ladder.

    Policies grant "from stage S on" by comparing ``ordinal``; a ladder step names the stage it
    enters, so each county's variant maps onto the same scale.
    """

    REPORTED = "reported"
    SCHOOL_PERSUASION = "school_persuasion"
    DROPOUT_REPORTED = "dropout_reported"
    ENROL_NOTICE = "enrol_notice"
    TOWNSHIP_ORDER = "township_order"
    REFERRED_TO_JUDICIAL = "referred_to_judicial"
    JUDICIAL_DOCUMENT = "judicial_document"
    LEGAL_ACTION = "legal_action"
    CLOSED = "closed"

    @property
    def ordinal(self) -> int:
        return _STAGE_ORDER[self]


_STAGE_ORDER = {stage: i + 1 for i, stage in enumerate(CaseStage)}
