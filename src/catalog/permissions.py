"""Who may do what in the catalog (S§11, S§14-17, S§37). Plain functions; services and
selectors call them."""

from __future__ import annotations

from typing import Any

from accounts.models import Unit
from accounts.permissions import is_center_staff  # noqa: F401 — one definition, re-exported
from accounts.roles import Role


def is_unit_officer(user: Any, unit: Unit | int | None) -> bool:
    """The unit's data officer (S§11 专人) — registers and maintains the unit's catalog."""
    unit_id = getattr(unit, "pk", unit)
    return bool(
        user
        and user.is_authenticated
        and unit_id
        and user.unit_id == unit_id
        and user.has_role(Role.DATA_OFFICER)
    )


def can_register(user: Any, unit: Unit | int | None) -> bool:
    """Register or edit resources of ``unit`` (its own data officer only)."""
    return is_unit_officer(user, unit)


def can_secrecy_review(user: Any, unit: Unit | int | None) -> bool:
    """S§37: the provider's data officer (or unit admin) confirms there are no state secrets."""
    unit_id = getattr(unit, "pk", unit)
    return bool(
        user
        and user.is_authenticated
        and unit_id
        and user.unit_id == unit_id
        and user.has_role(Role.DATA_OFFICER, Role.UNIT_ADMIN)
    )


def can_review(user: Any) -> bool:
    """S§15: the center reviews and publishes catalog entries."""
    return is_center_staff(user)


def can_withdraw(user: Any, unit: Unit | int | None) -> bool:
    return is_unit_officer(user, unit) or is_center_staff(user)


def can_manage_concepts(user: Any) -> bool:
    """S§20, S§26: the center designates authoritative sources and decides duplicates."""
    return is_center_staff(user)


def can_raise_demand(user: Any) -> bool:
    """S§11: a unit raises its data needs through its data officer or unit admin."""
    return bool(user and user.is_authenticated and user.has_role(Role.DATA_OFFICER, Role.UNIT_ADMIN))


def can_answer_demand(user: Any, target_unit: Unit | int | None) -> bool:
    return is_unit_officer(user, target_unit) or is_center_staff(user)


def can_manage_campaign(user: Any) -> bool:
    """S§16: the center opens the October review."""
    return is_center_staff(user)


def can_see_unpublished(user: Any, unit: Unit | int | None) -> bool:
    """Drafts and reviews are seen only by the provider's officers and the center."""
    return is_center_staff(user) or can_secrecy_review(user, unit)
