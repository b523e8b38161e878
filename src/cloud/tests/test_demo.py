"""The demo cloud data loads through the services, after the accounts demo."""

from __future__ import annotations

import io

import pytest

from cloud.models import ApplicationStatus, CloudApplication, Exemption, ProvisionedResource


@pytest.mark.django_db
def test_demo_cloud_data_loads_with_applications_in_various_states():
    from accounts import demo as accounts_demo
    from cloud import demo

    out = io.StringIO()
    accounts_demo.load(out)
    demo.load(out)
    statuses = set(CloudApplication.objects.values_list("status", flat=True))
    assert {
        ApplicationStatus.PRODUCTION,
        ApplicationStatus.TRIAL,
        ApplicationStatus.SUBMITTED,
        ApplicationStatus.ACCEPTED,
        ApplicationStatus.RETURNED,
        ApplicationStatus.TEST_FAILED,
        ApplicationStatus.CHANGE_PENDING,
    } <= statuses
    assert ProvisionedResource.objects.filter(released_at__isnull=True).exists()
    assert Exemption.objects.filter(status=Exemption.Status.AUTOMATIC).exists()
    assert Exemption.objects.filter(status=Exemption.Status.PENDING).exists()
