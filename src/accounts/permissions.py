"""Who may do what in accounts — plain functions other apps call too.

三员分立 (GB/T 22239 level 3): the system admin (SYS_ADMIN) manages accounts but cannot read the
audit trail; the security admin (SEC_ADMIN) manages roles, permissions and unlocks; the audit
admin (AUDIT_ADMIN) reads the audit trail and can change neither users nor permissions.
"""

from __future__ import annotations

from typing import Any

from .roles import CENTER_ROLES, SEPARATED_ADMIN_ROLES, Role

#: Roles a unit admin may give to people of the own unit.
ORDINARY_UNIT_ROLES = frozenset({Role.DATA_OFFICER, Role.UNIT_USER, Role.SYSTEM_OWNER, Role.SECURITY_OFFICER})

#: Roles that only people of the center may hold.
CENTER_ONLY_ROLES = CENTER_ROLES | SEPARATED_ADMIN_ROLES


def _ok(user: Any) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_active)


def _same_unit(user: Any, unit: Any) -> bool:
    unit_id = getattr(unit, "pk", unit)
    return unit is None or user.unit_id == unit_id


def is_center_staff(user: Any) -> bool:
    """Staff of the district Data Resource Center: a center unit AND a center role."""
    return _ok(user) and user.unit.kind == "center" and user.has_role(*CENTER_ROLES)


def is_center_admin(user: Any) -> bool:
    return _ok(user) and user.unit.kind == "center" and user.has_role(Role.CENTER_ADMIN)


def is_center_reviewer(user: Any) -> bool:
    return _ok(user) and user.unit.kind == "center" and user.has_role(Role.CENTER_REVIEWER)


def can_read_audit(user: Any) -> bool:
    """Only auditors and the audit admin read the audit trail (S§35; never SYS_ADMIN)."""
    return _ok(user) and user.has_role(Role.AUDITOR, Role.AUDIT_ADMIN)


def can_manage_units(user: Any) -> bool:
    """Register and edit units: the center admin and the system admin."""
    return _ok(user) and (is_center_admin(user) or user.has_role(Role.SYS_ADMIN))


def can_view_users(user: Any, unit: Any = None) -> bool:
    """List people: SYS/SEC/AUDIT admins everywhere, a unit admin in the own unit."""
    if not _ok(user):
        return False
    if user.has_role(*SEPARATED_ADMIN_ROLES):
        return True
    return user.has_role(Role.UNIT_ADMIN) and _same_unit(user, unit)


def can_manage_users(user: Any, unit: Any = None) -> bool:
    """Create, edit, deactivate accounts: SYS_ADMIN anywhere, UNIT_ADMIN in the own unit only.

    With ``unit=None`` the answer is "may manage users of some unit".
    """
    if not _ok(user):
        return False
    if user.has_role(Role.SYS_ADMIN):
        return True
    return user.has_role(Role.UNIT_ADMIN) and _same_unit(user, unit)


def can_assign_roles(user: Any, unit: Any = None) -> bool:
    """Give or take roles: SEC_ADMIN anywhere, UNIT_ADMIN in the own unit (ordinary roles only)."""
    if not _ok(user):
        return False
    if user.has_role(Role.SEC_ADMIN):
        return True
    return user.has_role(Role.UNIT_ADMIN) and _same_unit(user, unit)


def assignable_roles(user: Any) -> frozenset[str]:
    """The roles ``user`` may give (or take)."""
    if not _ok(user):
        return frozenset()
    if user.has_role(Role.SEC_ADMIN):
        return frozenset(Role.values)
    if user.has_role(Role.UNIT_ADMIN):
        return ORDINARY_UNIT_ROLES
    return frozenset()


def can_unlock(user: Any) -> bool:
    """Release a login lockout: the security admin."""
    return _ok(user) and user.has_role(Role.SEC_ADMIN)


def can_view_all_login_history(user: Any) -> bool:
    return _ok(user) and user.has_role(Role.SEC_ADMIN)


def can_manage_api_clients(user: Any, unit: Any = None) -> bool:
    """Register the unit's systems as API clients and issue tokens: unit admin or system owner
    of that unit."""
    return _ok(user) and user.has_role(Role.UNIT_ADMIN, Role.SYSTEM_OWNER) and _same_unit(user, unit)


def can_view_api_clients(user: Any, unit: Any = None) -> bool:
    """See clients and tokens (never the token itself): the managers, and the security admin."""
    return can_manage_api_clients(user, unit) or (_ok(user) and user.has_role(Role.SEC_ADMIN))


def can_revoke_tokens(user: Any, unit: Any = None) -> bool:
    """Revoke a token: its unit's managers, and the security admin anywhere (incident response)."""
    return can_view_api_clients(user, unit)
