"""Permission-matrix rows for the catalog API (format: ``core/tests/matrix.py``).

Reads of the published catalog are open to every signed-in role (S§14: the catalog is published
to all units). Registration and the unit's own workflow steps belong to the unit's data officer;
reviews, authoritative sources and the yearly campaign to the center (S§15, S§16, S§20).
Object-level rules (unit A cannot touch unit B's drafts) are in ``test_api.py``.
"""

from __future__ import annotations

import io

from accounts.roles import Role
from core.tests.matrix import ALL_ROLES, CENTER_ROLES, Row

OFFICER = {Role.DATA_OFFICER}


def _officer(ctx, unit=None):
    return ctx.user(roles=[Role.DATA_OFFICER], unit=unit or ctx.home)


def _reviewer(ctx):
    return ctx.user(roles=[Role.CENTER_REVIEWER], unit=ctx.center)


def _draft(ctx, unit=None):
    from catalog.tests.factories import register

    return register(_officer(ctx, unit))


def _published(ctx, unit=None, **overrides):
    from catalog.tests.factories import publish

    return publish(_officer(ctx, unit), _reviewer(ctx), **overrides)


def _new_resource(ctx):
    from catalog.tests.factories import person_items, resource_fields

    return {"data": {**resource_fields(), "items": person_items()}}


def _own_draft(ctx):
    return {"kwargs": {"pk": _draft(ctx).pk}, "data": {"summary": "新摘要"}}


def _own_draft_submit(ctx):
    return {"kwargs": {"pk": _draft(ctx).pk, "action": "submit"}, "data": {}}


def _published_b(ctx):
    return {"kwargs": {"pk": _published(ctx, ctx.unit_b).pk}}


def _own_published_change(ctx):
    return {"kwargs": {"pk": _published(ctx).pk}, "data": {"summary": "变更后的摘要", "reason": "更新"}}


def _own_change_submit(ctx):
    from catalog import services

    officer = _officer(ctx)
    from catalog.tests.factories import publish

    resource = publish(officer, _reviewer(ctx))
    change = services.resource_change_propose(resource=resource, by=officer, fields={"summary": "改"})
    return {"kwargs": {"pk": change.pk, "action": "submit"}, "data": {}}


def _catalog(ctx):
    return {"kwargs": {"sharing_type": "unconditional"}}


def _catalog_export(ctx):
    return {"kwargs": {"sharing_type": "unconditional", "fmt": "csv"}}


def _resource_export(ctx):
    return {"kwargs": {"fmt": "xlsx"}, "query": {"q": "人口"}}


def _import(ctx):
    from catalog.excel import template_workbook

    upload = io.BytesIO(template_workbook())
    upload.name = "catalog.xlsx"
    return {"data": {"file": upload}, "format": "multipart"}


def _concept(ctx):
    return {
        "data": {
            "name": "人口.身份证号+姓名",
            "unit": ctx.unit_a.pk,
            "identifier_kind": "id_card",
            "item_names": ["姓名"],
        }
    }


def _claim(ctx):
    from catalog import services
    from catalog.models import SingleSourceClaim
    from catalog.tests.factories import register

    reviewer = _reviewer(ctx)
    concept = services.concept_create(
        by=reviewer, name="人口.身份证号", unit=ctx.unit_b, identifier_kind="id_card"
    )
    officer = _officer(ctx, ctx.unit_a)
    resource = register(officer)
    services.resource_submit(resource=resource, by=officer, justification="业务需要")
    claim = SingleSourceClaim.objects.get(resource=resource, concept=concept)
    return {"kwargs": {"pk": claim.pk}, "data": {"accept": True, "note": "同意"}}


def _demand_new(ctx):
    return {"data": {"target": ctx.unit_b.pk, "title": "需要企业登记信息", "purpose": "administrative"}}


def _demand_answer(ctx):
    from catalog import services

    asker = _officer(ctx, ctx.unit_b)
    demand = services.demand_create(by=asker, target=ctx.unit_a, title="需要人口信息", purpose="verification")
    resource = _published(ctx, ctx.unit_a)
    return {
        "kwargs": {"pk": demand.pk, "action": "answer"},
        "data": {"resource": resource.pk, "answer": "见该资源"},
    }


def _campaign_new(ctx):
    return {"data": {"year": 2026, "due_date": "2026-10-30"}}


def _campaign(ctx):
    from catalog import services

    _published(ctx, ctx.unit_a)
    campaign = services.review_campaign_open(by=_reviewer(ctx), year=2026, due_date="2026-10-30")
    return {"kwargs": {"pk": campaign.pk}, "data": {}}


def _entry(ctx):
    from catalog import services

    _published(ctx)
    campaign = services.review_campaign_open(by=_reviewer(ctx), year=2026, due_date="2026-10-30")
    return {"kwargs": {"pk": campaign.entries.get().pk}, "data": {}}


def _project_new(ctx):
    return {
        "data": {
            "name": "智慧社区项目",
            "planned": [{"name": "社区人口信息", "classification": "11", "sharing_type": "conditional"}],
        }
    }


def _planned_link(ctx):
    from catalog import services

    officer = _officer(ctx)
    project = services.project_catalog_create(
        by=officer,
        name="智慧社区项目",
        planned=[{"name": "人口", "classification": "11", "sharing_type": "unconditional"}],
    )
    resource = _published(ctx)
    return {"kwargs": {"pk": project.planned.get().pk}, "data": {"resource": resource.pk}}


ROWS: list[Row] = [
    Row("catalog-api:resource-list", "GET", allowed=ALL_ROLES),
    Row("catalog-api:resource-list", "POST", allowed=OFFICER, setup=_new_resource),
    Row("catalog-api:resource-detail", "GET", allowed=ALL_ROLES, setup=_published_b),
    Row("catalog-api:resource-detail", "PATCH", allowed=OFFICER, setup=_own_draft),
    Row("catalog-api:resource-detail", "DELETE", allowed=OFFICER, setup=_own_draft),
    Row("catalog-api:resource-action", "POST", allowed=OFFICER, setup=_own_draft_submit),
    Row("catalog-api:resource-changes", "GET", allowed=ALL_ROLES, setup=_published_b),
    Row("catalog-api:resource-changes", "POST", allowed=OFFICER, setup=_own_published_change),
    Row("catalog-api:resource-claims", "GET", allowed=ALL_ROLES, setup=_published_b),
    Row("catalog-api:change-action", "POST", allowed=OFFICER, setup=_own_change_submit),
    Row("catalog-api:search", "GET", allowed=ALL_ROLES),
    Row("catalog-api:catalog", "GET", allowed=ALL_ROLES, setup=_catalog),
    Row("catalog-api:catalog-export", "GET", allowed=ALL_ROLES, setup=_catalog_export),
    Row("catalog-api:template", "GET", allowed=ALL_ROLES),
    Row("catalog-api:resource-export", "GET", allowed=ALL_ROLES, setup=_resource_export),
    Row("catalog-api:import", "POST", allowed=OFFICER, setup=_import),
    Row("catalog-api:concepts", "GET", allowed=ALL_ROLES),
    Row("catalog-api:concepts", "POST", allowed=CENTER_ROLES, setup=_concept),
    Row("catalog-api:claim-decide", "POST", allowed=CENTER_ROLES, setup=_claim),
    Row("catalog-api:demands", "GET", allowed=ALL_ROLES),
    Row("catalog-api:demands", "POST", allowed={Role.DATA_OFFICER, Role.UNIT_ADMIN}, setup=_demand_new),
    Row(
        "catalog-api:demand-action", "POST", allowed={Role.DATA_OFFICER, *CENTER_ROLES}, setup=_demand_answer
    ),
    Row("catalog-api:campaigns", "GET", allowed=ALL_ROLES),
    Row("catalog-api:campaigns", "POST", allowed=CENTER_ROLES, setup=_campaign_new),
    Row("catalog-api:campaign-detail", "GET", allowed=ALL_ROLES, setup=_campaign),
    Row("catalog-api:campaign-remind", "POST", allowed=CENTER_ROLES, setup=_campaign),
    Row("catalog-api:entry-confirm", "POST", allowed=OFFICER, setup=_entry),
    Row("catalog-api:projects", "GET", allowed=ALL_ROLES),
    Row("catalog-api:projects", "POST", allowed=OFFICER, setup=_project_new),
    Row("catalog-api:planned-link", "POST", allowed=OFFICER, setup=_planned_link),
]
