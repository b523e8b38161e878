"""The demo district has shared data in use: loaded rows, grants of both types, audited reads."""

from io import StringIO

import pytest
from django.core.management import call_command

from core.models import AuditEvent
from datastore.models import Load
from exchange.models import AccessRequest, Grant, RecordAccess


@pytest.mark.django_db
def test_demo_loads_data_grants_and_audited_reads():
    call_command("demo_load", stdout=StringIO())
    assert set(Load.objects.values_list("status", flat=True)) == {"succeeded"}
    assert Load.objects.filter(resource__name="常住人口基本信息", rows_accepted=600).exists()
    assert {g.resource.sharing_type for g in Grant.objects.select_related("resource")} == {
        "conditional",
        "unconditional",
    }
    assert AccessRequest.objects.filter(status="provider_opinion").count() == 1
    assert AuditEvent.objects.filter(action="exchange.read.query").count() == 5
    assert RecordAccess.objects.count() == 5
