"""First start of a real installation (the operator guide's first step)."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Unit, User
from accounts.roles import Role
from accounts.tests.factories import make_uscc
from core.models import AuditEvent

ARGS = ["--center-name", "某区数据资源中心", "--center-code", "430102000", "--center-uscc", make_uscc(777)]


@pytest.mark.django_db
def test_bootstrap_creates_center_and_two_separate_admins_once():
    out = StringIO()
    call_command("govhub_bootstrap", *ARGS, stdout=out)
    center = Unit.objects.get(kind=Unit.Kind.CENTER)
    admin, sysadmin = User.objects.get(username="center.admin"), User.objects.get(username="sys.admin")
    assert admin.unit == sysadmin.unit == center
    assert admin.role_set == {Role.CENTER_ADMIN} and sysadmin.role_set == {Role.SYS_ADMIN}
    assert admin.must_change_password and sysadmin.must_change_password
    password = out.getvalue().split("center.admin")[1].splitlines()[0].split()[-1]
    assert admin.check_password(password)
    assert AuditEvent.objects.filter(action="accounts.user.create").count() == 2
    again = StringIO()
    call_command("govhub_bootstrap", *ARGS, stdout=again)
    assert "未做任何更改" in again.getvalue() and User.objects.count() == 2


@pytest.mark.django_db
def test_bootstrap_refuses_an_invalid_uscc_and_stores_nothing():
    with pytest.raises(CommandError):
        call_command("govhub_bootstrap", *ARGS[:4], "--center-uscc", "91430102MA4L000000", stdout=StringIO())
    assert not Unit.objects.exists() and not User.objects.exists()
