"""Closed sets shared by models, authorization and the GraphQL schema."""

from __future__ import annotations

import enum


class AgencyKind(enum.StrEnum):
    """The kinds of agency that take part in 控辍保学 (education bureau, schools, townships,
    village committees, police, judicial bureau, ...): one per demo user
    (``lianbao users``), each with its own rows in ``authz/policy.csv``."""

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
    TEACHING_POINT = "teaching_point"  # 教学点 (a small rural site of a primary school)
    SPECIAL_EDUCATION = "special_education"  # 特殊教育学校 (ST 2, 3)
    SECONDARY_VOCATIONAL = "secondary_vocational"  # 中等职业学校 (ST 6: spring entrants)


class Sex(enum.StrEnum):
    MALE = "male"
    FEMALE = "female"


class RegisterType(enum.StrEnum):
    """How a child is keyed: by national ID number, or otherwise ("Z-other" in the register)."""

    ID_CARD = "id_card"
    OTHER = "other"


class SpecialGroup(enum.StrEnum):
    """Children to watch (SPT 6, 9; ST 1, 7; national practice). Each value's name, the rule
    naming it and the grant it needs are data: ``workflow/reference_data/special_groups.json``.
    Stored as VARCHAR (``StrEnumType``), so a new value needs no migration."""

    LEFT_BEHIND = "left_behind"
    MIGRANT = "migrant"
    DISABLED = "disabled"
    REGISTERED_POOR = "registered_poor"
    SUBSISTENCE_ALLOWANCE = "subsistence_allowance"
    ORPHAN = "orphan"
    SINGLE_PARENT = "single_parent"
    PRISONER_CHILD = "prisoner_child"
    LEARNING_DIFFICULTY = "learning_difficulty"
    DISABLED_PARENT = "disabled_parent"  # 残疾人子女 (SPT 9)
    UNSTABLE_POVERTY_EXIT = "unstable_poverty_exit"  # 脱贫不稳定户 (SPT 9)
    SUDDEN_HARDSHIP = "sudden_hardship"  # 突发严重困难户 (SPT 9)
    RURAL_EXTREME_POVERTY = "rural_extreme_poverty"  # 农村特困救助供养 (ST 7)
    NO_DE_FACTO_CARER = "no_de_facto_carer"  # 事实无人抚养 (民发〔2019〕62号; national practice)


class EnrolmentStatus(enum.StrEnum):
    """Register (学籍) status. A dropout mark keeps the register entry (SPT 7)."""

    ENROLLED = "enrolled"
    TRANSFERRED = "transferred"
    SUSPENDED = "suspended"
    DROPOUT_MARKED = "dropout_marked"
    GRADUATED = "graduated"
    DEFERRED = "deferred"
    EXEMPT = "exempt"
    # The police recorded the child's death (ST 8: 死亡人员户籍注销); the entry is kept.
    DECEASED = "deceased"


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


class CaseStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ClosureReason(enum.StrEnum):
    """How a dropout case ends (domain brief, "A case ends when …")."""

    RETURNED = "returned"  # 复学
    STUDYING_ELSEWHERE = "studying_elsewhere"
    HOME_TEACHING = "home_teaching"  # 送教上门
    DEFERRAL_GRANTED = "deferral_granted"
    EXEMPTION_GRANTED = "exemption_granted"
    MOVED_AWAY = "moved_away"
    DECEASED = "deceased"
    REGISTER_ERROR = "register_error"


class PersuasionMethod(enum.StrEnum):
    PHONE = "phone"
    HOME_VISIT = "home_visit"
    JOINT_VISIT = "joint_visit"
    SCHOOL_TALK = "school_talk"


class PersuasionOutcome(enum.StrEnum):
    PROMISED_RETURN = "promised_return"
    REFUSED = "refused"
    UNREACHABLE = "unreachable"
    RETURNED = "returned"
    OTHER = "other"


class DropoutCause(enum.StrEnum):
    LEARNING_DIFFICULTY = "learning_difficulty"
    SCHOOL_AVERSION = "school_aversion"
    FAMILY_POVERTY = "family_poverty"
    ILLNESS_OR_DISABILITY = "illness_or_disability"
    WORKING = "working"
    EARLY_MARRIAGE = "early_marriage"
    RELIGIOUS_INSTRUCTION = "religious_instruction"
    FAMILY_NEGLECT = "family_neglect"
    OTHER = "other"


class TaskStatus(enum.StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    DONE = "done"
    CANCELLED = "cancelled"


class StepEntry(enum.StrEnum):
    """How a ladder step is entered: by its deadline passing, or by an agency's action."""

    DEADLINE = "deadline"
    ACTION = "action"


class DayKind(enum.StrEnum):
    CALENDAR = "calendar"
    SCHOOL = "school"


class CalendarDayKind(enum.StrEnum):
    """One dated exception to the week: a day off (holiday) or a day at school (a make-up
    working day on a weekend, 调休补班, or a district's own extra school day)."""

    HOLIDAY = "holiday"
    SCHOOL_DAY = "school_day"


class DocumentStatus(enum.StrEnum):
    """A legal document's life: drafted, issued (numbered, frozen), served, or voided."""

    DRAFT = "draft"
    ISSUED = "issued"
    SERVED = "served"
    VOIDED = "voided"


class ServiceMethod(enum.StrEnum):
    """How a document reached its addressee (送达方式)."""

    IN_PERSON = "in_person"  # 直接送达
    LEFT_AT_RESIDENCE = "left_at_residence"  # 留置送达
    POSTAL = "postal"  # 邮寄送达
    ENTRUSTED = "entrusted"  # 委托送达
    PUBLIC_NOTICE = "public_notice"  # 公告送达


class EmployerKind(enum.StrEnum):
    """From the credit code's first two characters (GB 32100): 91, 92, 93, else other."""

    ENTERPRISE = "enterprise"  # 企业
    INDIVIDUAL_BUSINESS = "individual_business"  # 个体工商户
    COOPERATIVE = "cooperative"  # 农民专业合作社
    OTHER = "other"


class LicenceStatus(enum.StrEnum):
    """The business licence (营业执照) as market supervision records it."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"  # 吊销
    UNLICENSED = "unlicensed"  # trading without one (禁止使用童工规定 art. 9)


class InspectionKind(enum.StrEnum):
    PLANNED = "planned"  # 定期检查
    AD_HOC = "ad_hoc"  # 不定期检查 / 巡查


class InspectionStatus(enum.StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class EnforcementKind(enum.StrEnum):
    """What the authorities order an employer of children (禁止使用童工规定 arts. 6, 9)."""

    RETURN_ORDER = "return_order"  # 责令限期送回童工
    FINE = "fine"  # 罚款
    LICENCE_REVOCATION = "licence_revocation"  # 吊销营业执照


class EnforcementStatus(enum.StrEnum):
    ISSUED = "issued"
    SERVED = "served"
    COMPLIED = "complied"  # a return order carried out (on time or late)
    OVERDUE = "overdue"  # a return order's deadline passed without compliance
    PAID = "paid"  # a fine settled
    VOIDED = "voided"


class RegisterChangeKind(enum.StrEnum):
    """A register change (学籍变动) that needs a request and an approval (ST 3)."""

    TRANSFER = "transfer"  # 转学, within the county or to another
    SUSPENSION = "suspension"  # 休学, with an end date


class RegisterChangeStatus(enum.StrEnum):
    REQUESTED = "requested"
    REFUSED = "refused"
    # A transfer to another county released by the sending side: the file has passed to the
    # receiving district, which has not yet confirmed the child's arrival.
    SENT = "sent"
    RECEIVED = "received"  # a transfer taken in by the receiving school
    APPROVED = "approved"  # a suspension under way
    ENDED = "ended"  # a suspension ended by resumption (复学)


class DeferralKind(enum.StrEnum):
    DEFERRAL = "deferral"  # 延缓入学 / 缓学 (ST 2)
    EXEMPTION = "exemption"  # 免于入学 / 免学 (ST 2, 3)


class DeferralGround(enum.StrEnum):
    ILLNESS = "illness"  # 疾病
    DISABILITY = "disability"  # 残疾
    # 确不具备接受教育能力: needs the disabled children's assessment body's finding (ST 3)
    UNABLE_TO_LEARN = "unable_to_learn"
    OTHER = "other"


class DeferralStatus(enum.StrEnum):
    AWAITING_ASSESSMENT = "awaiting_assessment"  # with the disabled federation (ST 3)
    AWAITING_DECISION = "awaiting_decision"  # with the education bureau
    GRANTED = "granted"
    REFUSED = "refused"
    ENDED = "ended"  # the end date passed: the child is expected at school again


class ReportStatus(enum.StrEnum):
    """A periodic report's life: drafted from the data, submitted by the reporting unit,
    approved or returned by the level above (四个一 reporting)."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    APPROVED = "approved"


class AccountabilityStatus(enum.StrEnum):
    """An accountability item (责任追究, SPT 8): raised by the monthly scan, then confirmed,
    dismissed with a reason, or acted on by the inspectorate; lapsed when its basis went away
    before anyone reviewed it (the cases were acted on, the tasks done)."""

    RAISED = "raised"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"
    ACTED_ON = "acted_on"
    LAPSED = "lapsed"


class SubstituteKind(enum.StrEnum):
    """Illegal substitute schooling as ST 10 names it (以“国学班”“读经班”“私塾”、“在家自学”
    等形式替代义务教育): the blacklist's kinds (黑名单)."""

    GUOXUE_BAN = "guoxue_ban"  # 国学班
    DUJING_BAN = "dujing_ban"  # 读经班
    SISHU = "sishu"  # 私塾
    HOME_STUDY = "home_study"  # 在家自学
    OTHER = "other"


class SupervisionStatus(enum.StrEnum):
    """A supervision (督导检查) once recorded: its findings being rectified, or closed (every
    finding's rectification accepted, or nothing found)."""

    RECTIFYING = "rectifying"
    CLOSED = "supervision_closed"


class RectificationStatus(enum.StrEnum):
    """A supervision finding's rectification (限期整改, ST 10): awaited from the supervised
    unit, reported by it, accepted by the inspectorate, or returned to be done again."""

    OPEN = "awaiting_rectification"
    REPORTED = "rectification_reported"
    ACCEPTED = "rectification_accepted"
    RETURNED = "rectification_returned"
