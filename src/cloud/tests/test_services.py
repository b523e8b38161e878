"""Cloud lifecycle through the services (C§2-20)."""

from __future__ import annotations

import pytest

from cloud.models import ApplicationStatus
from cloud.tests.factories import advance, owner, reviewer, standard_catalog, submit


@pytest.mark.django_db
def test_whole_lifecycle_smoke():
    catalog = standard_catalog()
    unit_user = owner()
    center_user = reviewer()
    app = submit(unit_user, catalog, host=2, disk=1)
    app = advance(app, ApplicationStatus.PRODUCTION, center_user=center_user, unit_user=unit_user)
    assert app.status == ApplicationStatus.PRODUCTION
