"""Cloud pages: the unit view, the center view, and one step posted through the detail page."""

from __future__ import annotations

import pytest

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from cloud.models import ApplicationStatus, CloudApplication
from cloud.tests.factories import application_in, owner, reviewer, standard_catalog, submit


@pytest.mark.django_db
def test_unit_view_lists_my_systems_applications_and_resources(client):
    catalog = standard_catalog()
    unit_user = owner()
    app = submit(unit_user, catalog)
    client.force_login(unit_user)
    page = client.get("/cloud/").content.decode()
    assert app.system.name in page and f"YS{app.pk:06d}" in page
    detail = client.get(f"/cloud/applications/{app.pk}/").content.decode()
    assert "提交申请" in detail and "办理进程" in detail
    assert "do-accept" not in detail  # the unit cannot accept its own application


@pytest.mark.django_db
def test_center_view_shows_queue_pools_and_accepts_through_the_page(client):
    app = application_in(ApplicationStatus.SUBMITTED, unit=owner().unit)
    center_user = reviewer()
    client.force_login(center_user)
    page = client.get("/cloud/center/").content.decode()
    assert f"YS{app.pk:06d}" in page and "计算池" in page
    resp = client.post(f"/cloud/applications/{app.pk}/", {"action": "accept"})
    assert resp.status_code == 302
    assert CloudApplication.objects.get(pk=app.pk).status == ApplicationStatus.ACCEPTED
    # a refused step shows the service's message, nothing changes
    resp = client.post(f"/cloud/applications/{app.pk}/", {"action": "reject", "reasons": ""}, follow=True)
    assert "须说明理由" in resp.content.decode()
    assert CloudApplication.objects.get(pk=app.pk).status == ApplicationStatus.ACCEPTED


@pytest.mark.django_db
def test_unit_user_cannot_open_the_center_view_nor_another_units_application(client):
    app = application_in(ApplicationStatus.SUBMITTED, unit=owner().unit)
    stranger = UserFactory(roles=[Role.SYSTEM_OWNER])
    client.force_login(stranger)
    assert client.get("/cloud/center/").status_code == 403
    assert client.get(f"/cloud/applications/{app.pk}/").status_code == 404
    assert client.post(f"/cloud/applications/{app.pk}/", {"action": "resubmit"}).status_code == 404


@pytest.mark.django_db
def test_apply_through_the_form(client):
    catalog = standard_catalog()
    unit_user = owner()
    client.force_login(unit_user)
    resp = client.post(
        "/cloud/systems/new/", {"name": "智慧社区平台", "protection_level": 2, "sso_status": "not_started"}
    )
    assert resp.status_code == 302
    system = unit_user.unit.app_systems.get()
    resp = client.post(
        "/cloud/applications/new/",
        {
            "system": system.pk,
            "construction_plan": "方案",
            "self_test_report": "报告",
            f"qty_{catalog['host'].pk}": "2",
        },
    )
    assert resp.status_code == 302, resp.content.decode()[:500]
    app = CloudApplication.objects.get()
    assert app.lines.get().quantity == 2
    resp = client.post(
        "/cloud/applications/new/",
        {"system": system.pk, "construction_plan": "方案", "self_test_report": "报告"},
    )
    assert "已有办理中的政务云申请" in resp.content.decode()


@pytest.mark.django_db
def test_dashboard_shows_the_cloud_queue_to_the_center(client):
    app = application_in(ApplicationStatus.SUBMITTED, unit=owner().unit)
    client.force_login(reviewer())
    page = client.get("/").content.decode()
    assert "政务云待办" in page and f"YS{app.pk:06d}" in page


@pytest.mark.django_db
def test_materials_are_listed_and_downloadable_on_the_page(client):
    import io

    from cloud import services
    from cloud.tests.factories import minimal_pdf

    app = application_in(ApplicationStatus.SUBMITTED, unit=owner().unit)
    att = services.cloud_application_attach(
        application=app, by=app.created_by, upload=io.BytesIO(minimal_pdf()), filename="建设方案.pdf"
    )
    client.force_login(reviewer())
    page = client.get(f"/cloud/applications/{app.pk}/").content.decode()
    assert "建设方案.pdf" in page
    resp = client.get(f"/cloud/applications/{app.pk}/attachments/{att.pk}/")
    assert resp.status_code == 200 and b"".join(resp.streaming_content).startswith(b"%PDF-")
    client.force_login(owner())
    assert client.get(f"/cloud/applications/{app.pk}/attachments/{att.pk}/").status_code == 404
