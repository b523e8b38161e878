"""Who may do what in the data store (plain functions the services and selectors call)."""

from __future__ import annotations

from typing import Any

from accounts.permissions import is_center_admin, is_center_staff  # noqa: F401 — one definition, re-exported
from accounts.roles import Role
from catalog.models import Resource


def can_load(user: Any, resource: Resource) -> bool:
    """S§23-24: the provider unit's data officer loads its data; the center admin may too."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if is_center_admin(user):
        return True
    return bool(user.unit_id == resource.provider_id and user.has_role(Role.DATA_OFFICER))


def can_view_loads(user: Any, resource: Resource) -> bool:
    """Load history and rejects: the provider's data officer and unit admin, and center staff."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if is_center_staff(user):
        return True
    return bool(user.unit_id == resource.provider_id and user.has_role(Role.DATA_OFFICER, Role.UNIT_ADMIN))


def can_view_quality(user: Any, resource: Resource) -> bool:
    """The quality summary holds figures, not rows: any signed-in user who can see the published
    catalog entry; the provider and center staff also before publication."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return resource.status == "published" or can_view_loads(user, resource)
