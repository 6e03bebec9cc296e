"""The demo's child-labour campaign (employers, inspections, a finding, a served return
order), written through the same services as the API."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from authz.enforcer import Authorizer
from models.case import DropoutCase
from models.child import Child
from models.employer import Employer
from models.enums import (
    AgencyKind,
    CaseStatus,
    EnforcementKind,
    InspectionKind,
    ServiceMethod,
)
from models.inspection import Inspection
from models.reference import Agency, Jurisdiction
from workflow import employer as employers
from workflow import enforcement, finding, inspection
from workflow.calendar import local_date
from workflow.clock import FixedClock
from workflow.context import ServiceContext
from workflow.demo.seed import DISTRICT
from workflow.infra import uscc
from workflow.user import load_principal

DEMO_EMPLOYERS = [
    ("92", "山亭区老张家常菜馆", "北京路18号"),
    ("91", "枣庄鑫源五金加工有限公司", "工业园区兴业路6号"),
    ("92", "山亭区阿强汽车修理部", "府前路112号"),
    ("92", "山亭区花开服装加工坊", "翼云路33号"),
    ("91", "枣庄顺达物流有限公司", "物流园A区"),
    ("92", "山亭区金鼎建材经营部", "环城西路9号"),
]


async def _register_employers(
    session: AsyncSession, as_hr: ServiceContext
) -> list[Employer]:
    """The demo employers on the register, spread over 山亭's townships."""
    townships = list(
        (
            await session.execute(
                select(Jurisdiction.code)
                .where(Jurisdiction.parent_code == DISTRICT)
                .order_by(Jurisdiction.code)
            )
        ).scalars()
    )
    registered = []
    for i, (prefix, name, street) in enumerate(DEMO_EMPLOYERS):
        registered.append(
            await employers.register(
                as_hr,
                credit_code=uscc.make(prefix, DISTRICT, f"MA{i + 1:07d}"),
                name=name,
                address=f"山亭区{street}",
                township_code=townships[i % len(townships)],
                legal_representative="（演示）",
            )
        )
    return registered


async def _plan_inspections(
    session: AsyncSession, as_hr: ServiceContext, registered: list[Employer], today: date
) -> Inspection:
    """A campaign with two joint inspections: one under way (returned), one planned."""
    campaign = await inspection.create_campaign(
        as_hr,
        name=f"{today.year}年冬季用工专项检查",
        starts_on=today - timedelta(days=7),
        ends_on=today + timedelta(days=53),
    )
    partners = list(
        (
            await session.execute(
                select(Agency.id).where(
                    Agency.jurisdiction_code == DISTRICT,
                    Agency.kind.in_(
                        [
                            AgencyKind.POLICE,
                            AgencyKind.MARKET_SUPERVISION,
                            AgencyKind.CIVIL_AFFAIRS,
                        ]
                    ),
                )
            )
        ).scalars()
    )
    joined = [inspection.ParticipantIn(agency_id=a) for a in partners]
    under_way = await inspection.plan(
        as_hr,
        kind=InspectionKind.PLANNED,
        title="餐饮、加工行业用工检查（第一批）",
        planned_on=today - timedelta(days=1),
        employer_ids=[e.id for e in registered[:3]],
        participants=joined,
        campaign_id=campaign.id,
    )
    await inspection.start(as_hr, inspection_id=under_way.id, expected_version=None)
    await inspection.plan(
        as_hr,
        kind=InspectionKind.PLANNED,
        title="餐饮、加工行业用工检查（第二批）",
        planned_on=today + timedelta(days=14),
        employer_ids=[e.id for e in registered[3:]],
        participants=joined,
        campaign_id=campaign.id,
    )
    return under_way


async def _working_pupil(session: AsyncSession, today: date) -> Child:
    """A pupil of 山亭 (the employers are there) aged 14–16 with no open case."""
    open_cases = select(DropoutCase.child_id).where(DropoutCase.status == CaseStatus.OPEN)
    district_path = (
        await session.execute(select(Jurisdiction.path).where(Jurisdiction.code == DISTRICT))
    ).scalar_one()
    return (
        await session.execute(
            select(Child)
            .where(
                Child.national_id.is_not(None),
                Child.scope_path.startswith(district_path),
                Child.birth_date > date(today.year - 16, today.month, 1),
                Child.birth_date < date(today.year - 14, today.month, 1),
                Child.id.not_in(open_cases),
            )
            .order_by(Child.id)
            .limit(1)
        )
    ).scalar_one()


async def seed_demo_labour(session: AsyncSession, authz: Authorizer, now: datetime) -> int:
    """A child-labour campaign in the demo county, through the same services as the API:
    employers on the register, an inspection under way that found a pupil working (so a
    case, each agency's task and a served return order exist), and one planned."""
    hr = await load_principal(session, "hr_officer")
    police = await load_principal(session, "police_officer")
    if hr is None or police is None:
        raise RuntimeError("the demo users are missing")
    clock = FixedClock(now)
    as_hr = ServiceContext(session, hr, authz, clock, request_id="seed-demo")
    as_police = ServiceContext(session, police, authz, clock, request_id="seed-demo")
    today = local_date(now)
    registered = await _register_employers(session, as_hr)
    under_way = await _plan_inspections(session, as_hr, registered, today)
    pupil = await _working_pupil(session, today)
    found = await finding.record(
        as_police,
        finding.FindingIn(
            employer_id=registered[0].id,
            inspection_id=under_way.id,
            found_on=today - timedelta(days=1),
            national_id=pupil.national_id,
            work="后厨帮工、传菜",
            hours_per_day=9,
            employed_since=today - timedelta(days=40),
            conditions="午晚两班，晚间工作至21时",
            idempotency_key="seed-demo-finding-1",
            evidence=(finding.Evidence(kind="photo", description="现场照片（演示）"),),
        ),
    )
    order = await enforcement.issue(
        as_hr,
        kind=EnforcementKind.RETURN_ORDER,
        employer_id=registered[0].id,
        finding_ids=[found.id],
    )
    await enforcement.serve(
        as_hr,
        action_id=order.id,
        served_on=today,
        method=ServiceMethod.IN_PERSON,
        served_to="经营者本人",
    )
    await session.flush()
    return len(registered)
