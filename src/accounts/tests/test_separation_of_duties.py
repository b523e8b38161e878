"""三员分立 (GB/T 22239 level 3) and who may manage units, users and roles (S§34-36)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from accounts import permissions, services
from accounts.models import RoleAssignment, Unit
from accounts.roles import Role
from core.errors import Conflict, Invalid, PermissionDenied
from core.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def sec_admin(center, make_user):
    return make_user(unit=center, roles=[Role.SEC_ADMIN])


@pytest.mark.parametrize(
    ("held", "wanted"),
    [
        (Role.SYS_ADMIN, Role.SEC_ADMIN),
        (Role.SYS_ADMIN, Role.AUDIT_ADMIN),
        (Role.SEC_ADMIN, Role.AUDIT_ADMIN),
        (Role.AUDIT_ADMIN, Role.SYS_ADMIN),
    ],
)
def test_no_account_holds_two_separated_admin_roles_sod(center, make_user, sec_admin, held, wanted):
    person = make_user(unit=center, roles=[held])
    events = AuditEvent.objects.count()
    with pytest.raises(Conflict) as exc:
        services.role_assign(user=person, role=wanted, by=sec_admin)
    assert exc.value.code == "accounts.separation_of_duties"
    assert "三员分立" in exc.value.message
    assert set(person.role_assignments.values_list("role", flat=True)) == {held}
    assert AuditEvent.objects.count() == events


def test_database_refuses_a_second_separated_admin_role_sod(center, make_user):
    person = make_user(unit=center, roles=[Role.SYS_ADMIN])
    with pytest.raises(IntegrityError), transaction.atomic():
        RoleAssignment.objects.create(user=person, role=Role.AUDIT_ADMIN)


def test_user_create_refuses_two_separated_admin_roles_sod(center, make_user):
    sys_admin = make_user(unit=center, roles=[Role.SYS_ADMIN])
    sec = make_user(unit=center, roles=[Role.SEC_ADMIN])
    # SYS_ADMIN cannot give roles at all; SEC_ADMIN cannot create accounts: separation holds.
    with pytest.raises(PermissionDenied):
        services.user_create(by=sys_admin, unit=center, username="x1", full_name="甲", roles=[Role.SEC_ADMIN])
    with pytest.raises(PermissionDenied):
        services.user_create(by=sec, unit=center, username="x2", full_name="乙")


def test_separated_admin_may_hold_an_ordinary_role_too(center, make_user, sec_admin):
    person = make_user(unit=center, roles=[Role.SYS_ADMIN])
    services.role_assign(user=person, role=Role.UNIT_USER, by=sec_admin)
    assert person.role_assignments.count() == 2


def test_system_admin_cannot_read_the_audit_trail_but_auditors_can(center, make_user, make_unit):
    assert not permissions.can_read_audit(make_user(unit=center, roles=[Role.SYS_ADMIN]))
    assert not permissions.can_read_audit(make_user(unit=center, roles=[Role.SEC_ADMIN]))
    assert not permissions.can_read_audit(make_user(unit=center, roles=[Role.CENTER_ADMIN]))
    assert permissions.can_read_audit(make_user(unit=center, roles=[Role.AUDIT_ADMIN]))
    oversight = make_unit(kind=Unit.Kind.OVERSIGHT)
    assert permissions.can_read_audit(make_user(unit=oversight, roles=[Role.AUDITOR]))


def test_audit_admin_cannot_change_users_or_permissions(center, make_user, make_unit):
    audit_admin = make_user(unit=center, roles=[Role.AUDIT_ADMIN])
    person = make_user(unit=make_unit())
    assert not permissions.can_manage_users(audit_admin)
    assert not permissions.can_assign_roles(audit_admin)
    with pytest.raises(PermissionDenied):
        services.user_update(user=person, by=audit_admin, full_name="改名")
    with pytest.raises(PermissionDenied):
        services.role_assign(user=person, role=Role.DATA_OFFICER, by=audit_admin)
    person.refresh_from_db()
    assert person.full_name != "改名"
    assert not person.role_assignments.exists()


def test_system_admin_manages_accounts_but_not_roles(center, make_user, make_unit):
    sys_admin = make_user(unit=center, roles=[Role.SYS_ADMIN])
    unit = make_unit()
    user, initial = services.user_create(by=sys_admin, unit=unit, username="newbie", full_name="新人")
    assert user.must_change_password and user.check_password(initial)
    with pytest.raises(PermissionDenied):
        services.role_assign(user=user, role=Role.DATA_OFFICER, by=sys_admin)


def test_security_admin_cannot_change_own_roles(sec_admin):
    with pytest.raises(PermissionDenied):
        services.role_assign(user=sec_admin, role=Role.UNIT_USER, by=sec_admin)


def test_center_roles_only_for_center_people(make_user, make_unit, sec_admin):
    person = make_user(unit=make_unit())
    for role in (Role.CENTER_ADMIN, Role.CENTER_REVIEWER, Role.SYS_ADMIN):
        with pytest.raises(Invalid) as exc:
            services.role_assign(user=person, role=role, by=sec_admin)
        assert exc.value.code == "accounts.role_not_allowed_for_unit"
    assert not person.role_assignments.exists()


def test_unit_admin_manages_only_own_unit_users_s41(make_user, make_unit):
    unit_a, unit_b = make_unit(), make_unit()
    admin_a = make_user(unit=unit_a, roles=[Role.UNIT_ADMIN])
    person_b = make_user(unit=unit_b)
    assert permissions.can_manage_users(admin_a, unit_a)
    assert not permissions.can_manage_users(admin_a, unit_b)
    with pytest.raises(PermissionDenied):
        services.user_create(by=admin_a, unit=unit_b, username="intruder", full_name="外单位")
    with pytest.raises(PermissionDenied):
        services.user_update(user=person_b, by=admin_a, is_active=False)
    with pytest.raises(PermissionDenied):
        services.role_assign(user=person_b, role=Role.UNIT_USER, by=admin_a)
    person_b.refresh_from_db()
    assert person_b.is_active


@pytest.mark.parametrize("role", [Role.UNIT_ADMIN, Role.CENTER_ADMIN, Role.SEC_ADMIN, Role.AUDITOR])
def test_unit_admin_gives_only_ordinary_unit_roles_s17(make_user, make_unit, role):
    unit = make_unit()
    admin = make_user(unit=unit, roles=[Role.UNIT_ADMIN])
    person = make_user(unit=unit)
    with pytest.raises(PermissionDenied):
        services.role_assign(user=person, role=role, by=admin)
    services.role_assign(user=person, role=Role.DATA_OFFICER, by=admin)
    assert set(person.role_assignments.values_list("role", flat=True)) == {Role.DATA_OFFICER}


def test_role_assign_and_revoke_are_audited(center, make_user, make_unit, sec_admin):
    person = make_user(unit=make_unit())
    assignment = services.role_assign(user=person, role=Role.SYSTEM_OWNER, by=sec_admin)
    services.role_revoke(assignment=assignment, by=sec_admin)
    actions = list(AuditEvent.objects.filter(target_id=str(person.pk)).values_list("action", flat=True))
    assert "accounts.role.assign" in actions and "accounts.role.revoke" in actions
    assert not person.role_assignments.exists()


def test_assigning_a_role_twice_is_a_conflict(make_user, make_unit, sec_admin):
    person = make_user(unit=make_unit(), roles=[Role.UNIT_USER])
    with pytest.raises(Conflict):
        services.role_assign(user=person, role=Role.UNIT_USER, by=sec_admin)


def test_center_staff_helpers(center, make_user, make_unit):
    reviewer = make_user(unit=center, roles=[Role.CENTER_REVIEWER])
    admin = make_user(unit=center, roles=[Role.CENTER_ADMIN])
    outsider = make_user(unit=make_unit(), roles=[Role.CENTER_ADMIN])  # mis-seeded: not the center
    assert permissions.is_center_staff(reviewer) and permissions.is_center_reviewer(reviewer)
    assert permissions.is_center_admin(admin) and not permissions.is_center_reviewer(admin)
    assert not permissions.is_center_staff(outsider)
