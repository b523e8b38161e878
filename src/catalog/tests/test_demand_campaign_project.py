"""Demand list (S§11), yearly review (S§16), project catalogs (S§42), review clock (S§15)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from catalog import services
from catalog.models import CampaignEntry, Demand, DemandStatus, EntryStatus
from core import deadlines
from core.errors import Conflict, Invalid, PermissionDenied
from core.rules import Rule

from .factories import publish, register

pytestmark = pytest.mark.django_db


# --- review clock ---------------------------------------------------------------------------


def test_catalog_review_due_in_five_working_days_across_national_day_s15(officer_a, reviewer):
    resource = register(officer_a)
    with time_machine.travel(
        dt.datetime(2026, 9, 30, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))), tick=False
    ):
        services.resource_submit(resource=resource, by=officer_a)
        services.resource_secrecy_confirm(resource=resource, by=officer_a, no_state_secrets=True)
    clock = deadlines.current(target=resource, rule=Rule.CATALOG_REVIEW)
    assert clock is not None
    due = clock.due_at.astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    # 国庆 2026: 1–7 October off, so five working days from 30 September end in mid-October
    assert due >= dt.date(2026, 10, 13)
    services.resource_approve(resource=resource, by=reviewer)
    assert deadlines.current(target=resource, rule=Rule.CATALOG_REVIEW) is None or (
        deadlines.current(target=resource, rule=Rule.CATALOG_REVIEW).state != "running"
    )


# --- demand list (S§11) ---------------------------------------------------------------------


def test_unit_raises_a_demand_and_named_unit_answers_with_a_resource_s11(officer_a, officer_b, reviewer):
    demand = services.demand_create(
        by=officer_b, target=officer_a.unit, title="需要常住人口信息", purpose="verification"
    )
    assert deadlines.current(target=demand, rule=Rule.DEMAND_ANSWER) is not None
    resource = publish(officer_a, reviewer)
    with pytest.raises(PermissionDenied):
        services.demand_answer(demand=demand, by=officer_b, resource=resource)
    demand = services.demand_answer(demand=demand, by=officer_a, resource=resource, answer="已登记")
    assert demand.status == DemandStatus.ANSWERED and demand.resource == resource
    with pytest.raises(Conflict):
        services.demand_refuse(demand=demand, by=officer_a, reason="晚了")


def test_refusing_a_demand_needs_reasons_s11(officer_a, officer_b):
    demand = services.demand_create(by=officer_b, target=officer_a.unit, title="需要X", purpose="reference")
    with pytest.raises(Invalid):
        services.demand_refuse(demand=demand, by=officer_a, reason="")
    demand = services.demand_refuse(demand=demand, by=officer_a, reason="属于国家秘密")
    assert demand.status == DemandStatus.REFUSED


def test_demand_bad_input_and_who_may_raise(officer_a, user_a, officer_b):
    with pytest.raises(PermissionDenied):
        services.demand_create(by=user_a, target=officer_b.unit, title="x", purpose="reference")
    with pytest.raises(Invalid):
        services.demand_create(by=officer_a, target=officer_b.unit, title="x", purpose="gossip")
    with pytest.raises(Invalid):
        services.demand_create(by=officer_a, target=officer_a.unit, title="x", purpose="reference")
    assert not Demand.objects.exists()


def test_demands_seen_by_both_units_and_center_only(
    api, officer_a, officer_b, reviewer, make_user, make_unit
):
    from accounts.roles import Role

    services.demand_create(by=officer_b, target=officer_a.unit, title="需要X", purpose="reference")
    stranger = make_user(roles=[Role.DATA_OFFICER], unit=make_unit())
    for who, n in ((officer_a, 1), (officer_b, 1), (reviewer, 1), (stranger, 0)):
        api.force_authenticate(who)
        assert api.get("/api/v1/catalog/demands/").json()["count"] == n


# --- yearly review (S§16) -------------------------------------------------------------------


@pytest.fixture
def campaign(officer_a, officer_b, reviewer):
    publish(officer_a, reviewer, name="甲资源一")
    publish(officer_a, reviewer, name="甲资源二")
    publish(officer_b, reviewer, name="乙资源", classification="31", items=[{"code": "bh", "name": "编号"}])
    return services.review_campaign_open(by=reviewer, year=2026, due_date=dt.date(2026, 10, 30))


def test_center_opens_october_review_with_every_published_resource_s16(campaign, officer_a):
    assert campaign.entries.count() == 3
    with pytest.raises(PermissionDenied):
        services.review_campaign_open(by=officer_a, year=2027, due_date=dt.date(2027, 10, 30))


def test_second_campaign_same_year_conflicts(campaign, reviewer):
    with pytest.raises(Conflict):
        services.review_campaign_open(by=reviewer, year=2026, due_date=dt.date(2026, 10, 30))


def test_units_confirm_their_own_entries_and_progress_per_unit_s16(
    campaign, officer_a, officer_b, api, reviewer
):
    from catalog.selectors import campaign_progress

    entry_b = CampaignEntry.objects.get(unit=officer_b.unit)
    with pytest.raises(PermissionDenied):
        services.review_entry_confirm(entry=entry_b, by=officer_a)
    for entry in CampaignEntry.objects.filter(unit=officer_a.unit):
        assert services.review_entry_confirm(entry=entry, by=officer_a).status == EntryStatus.CONFIRMED
    progress = {p["unit"].pk: (p["done"], p["total"]) for p in campaign_progress(campaign=campaign)}
    assert progress == {officer_a.unit_id: (2, 2), officer_b.unit_id: (0, 1)}
    api.force_authenticate(reviewer)
    body = api.get(f"/api/v1/catalog/campaigns/{campaign.pk}/").json()
    assert {p["unit"]: p["percent"] for p in body["progress"]} == {
        officer_a.unit_id: 100,
        officer_b.unit_id: 0,
    }


def test_reminders_go_to_units_with_pending_entries_and_late_units_are_flagged_s16(
    campaign, officer_a, officer_b, reviewer
):
    for entry in CampaignEntry.objects.filter(unit=officer_a.unit):
        services.review_entry_confirm(entry=entry, by=officer_a)
    assert services.review_campaign_remind(campaign=campaign, by=reviewer) == 1
    assert services.review_campaign_overdue_units(campaign=campaign, today=dt.date(2026, 10, 30)) == []
    late = services.review_campaign_overdue_units(campaign=campaign, today=dt.date(2026, 10, 31))
    assert late == [officer_b.unit]


def test_closed_campaign_refuses_confirmation(campaign, officer_b, reviewer):
    services.review_campaign_close(campaign=campaign, by=reviewer)
    with pytest.raises(Conflict):
        services.review_entry_confirm(entry=CampaignEntry.objects.get(unit=officer_b.unit), by=officer_b)


# --- project catalogs (S§42) ----------------------------------------------------------------


def test_project_preregisters_resources_and_completes_when_published_s42(officer_a, officer_b, reviewer):
    project = services.project_catalog_create(
        by=officer_a,
        name="智慧社区",
        planned=[{"name": "社区人口", "classification": "11", "sharing_type": "conditional"}],
    )
    assert not services.project_catalog_complete(project=project)
    draft = register(officer_a)
    planned = project.planned.get()
    with pytest.raises(PermissionDenied):
        services.planned_resource_link(planned=planned, by=officer_b, resource=draft)
    services.planned_resource_link(planned=planned, by=officer_a, resource=draft)
    assert not services.project_catalog_complete(project=project)
    services.resource_submit(resource=draft, by=officer_a)
    services.resource_secrecy_confirm(resource=draft, by=officer_a, no_state_secrets=True)
    services.resource_approve(resource=draft, by=reviewer)
    assert services.project_catalog_complete(project=project)
    draft.refresh_from_db()
    assert draft.project == project


def test_project_planned_entries_are_validated(officer_a):
    with pytest.raises(Invalid):
        services.project_catalog_create(
            by=officer_a,
            name="P",
            planned=[{"name": "x", "classification": "99", "sharing_type": "unconditional"}],
        )
    with pytest.raises(Invalid):
        services.project_catalog_create(by=officer_a, name="")


def test_cannot_link_another_units_resource_to_a_project(officer_a, officer_b, reviewer):
    project = services.project_catalog_create(
        by=officer_a,
        name="P",
        planned=[{"name": "x", "classification": "11", "sharing_type": "unconditional"}],
    )
    other = publish(officer_b, reviewer)
    with pytest.raises(Invalid):
        services.planned_resource_link(planned=project.planned.get(), by=officer_a, resource=other)


def test_daily_sweep_reminds_a_week_before_the_deadline_s16(campaign, officer_a):
    assert services.review_campaign_reminder_sweep(today=dt.date(2026, 10, 20)) == 0
    assert services.review_campaign_reminder_sweep(today=dt.date(2026, 10, 23)) == 2
    for entry in CampaignEntry.objects.filter(unit=officer_a.unit):
        services.review_entry_confirm(entry=entry, by=officer_a)
    assert services.review_campaign_reminder_sweep(today=dt.date(2026, 10, 29)) == 1


def test_reminder_task_is_scheduled():
    from core import jobs

    names = {p.name for p in jobs.load_schedules()}
    assert "catalog.review_campaign_reminders" in names


def test_entry_with_an_open_change_counts_as_updated_s16(campaign, officer_a):
    entry = CampaignEntry.objects.filter(unit=officer_a.unit).first()
    services.resource_change_propose(resource=entry.resource, by=officer_a, fields={"summary": "年度更新"})
    assert services.review_entry_confirm(entry=entry, by=officer_a).status == EntryStatus.UPDATED
    entry.resource.refresh_from_db()
    assert entry.resource.last_confirmed_at is not None


def test_concept_page_shows_source_and_other_holders_s20(client, officer_a, officer_b, reviewer):
    from catalog.selectors import concept_overview

    services.concept_create(
        by=reviewer,
        name="人口.身份证号+姓名",
        unit=officer_a.unit,
        identifier_kind="id_card",
        item_names=["姓名"],
    )
    publish(officer_a, reviewer)
    other = register(officer_b, name="个体户经营者信息")
    services.resource_submit(resource=other, by=officer_b, justification="登记需要现场核验")
    services.resource_secrecy_confirm(resource=other, by=officer_b, no_state_secrets=True)
    services.single_source_claim_decide(claim=other.source_claims.get(), by=reviewer, accept=True)
    services.resource_approve(resource=other, by=reviewer)
    row = concept_overview(user=officer_b)[0]
    assert row["concept"].unit == officer_a.unit
    assert [h["unit"] for h in row["holders"]] == [officer_b.unit]
    client.force_login(officer_b)
    page = client.get("/catalog/concepts/").content.decode()
    assert "人口.身份证号+姓名" in page and "个体户经营者信息" in page


def test_campaign_due_date_must_fall_in_its_year(reviewer):
    with pytest.raises(Invalid):
        services.review_campaign_open(by=reviewer, year=2026, due_date=dt.date(2027, 1, 5))
    with pytest.raises(Invalid):
        services.review_campaign_open(by=reviewer, year=2026, due_date="31/10/2026")
    assert services.review_campaign_open(by=reviewer, year=2026, due_date="2026-10-31").due_date == dt.date(
        2026, 10, 31
    )
