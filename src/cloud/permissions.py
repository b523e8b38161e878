"""Who may do what in the cloud app (C§6-8): plain functions used by services and selectors."""

from __future__ import annotations

from typing import Any

from accounts.models import Unit
from accounts.permissions import is_center_staff  # noqa: F401 — one definition, re-exported
from accounts.roles import Role


def is_oversight_reader(user: Any) -> bool:
    """Auditors of an oversight office read everything, change nothing."""
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.unit.kind == Unit.Kind.OVERSIGHT
        and user.has_role(Role.AUDITOR)
    )


def sees_all(user: Any) -> bool:
    return is_center_staff(user) or is_oversight_reader(user)


def can_view_unit(user: Any, unit_id: int) -> bool:
    """Center staff and auditors see every unit; everyone else only their own unit."""
    return sees_all(user) or (getattr(user, "unit_id", None) == unit_id)


def can_act_for_unit(user: Any, unit_id: int) -> bool:
    """System owners and unit admins of the owning unit apply, change and terminate (C§8, C§10)."""
    return bool(
        getattr(user, "is_authenticated", False)
        and user.unit_id == unit_id
        and user.unit.kind == Unit.Kind.UNIT
        and user.has_role(Role.SYSTEM_OWNER, Role.UNIT_ADMIN)
    )


def can_review(user: Any) -> bool:
    """Accept, review, test, agree, reclaim, decide exemptions (C§11-15, C§19, C§3-4)."""
    return is_center_staff(user)
