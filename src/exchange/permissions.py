"""Who may do what in the exchange (S§29, S§34-36)."""

from __future__ import annotations

from accounts.permissions import is_center_staff  # noqa: F401 — one definition, re-exported
from accounts.roles import Role

CONSUMER_ROLES = (Role.UNIT_USER, Role.DATA_OFFICER, Role.UNIT_ADMIN)


def can_request_access(user) -> bool:
    """A unit's users ask for data on behalf of their unit."""
    return bool(
        user and user.is_authenticated and user.unit.kind == "unit" and user.has_role(*CONSUMER_ROLES)
    )


def can_answer_as_provider(user, resource) -> bool:
    """The provider unit's data officer (or unit admin) gives the provider's opinion (S§29)."""
    return bool(
        user
        and user.is_authenticated
        and user.unit_id == resource.provider_id
        and user.has_role(Role.DATA_OFFICER, Role.UNIT_ADMIN)
    )


def can_manage_grant(user, grant) -> bool:
    """Center staff manage all grants; the provider's data officer may suspend, narrow or revoke
    grants on its own resources. Lifting a suspension is the center's (``grant_resume``)."""
    return is_center_staff(user) or can_answer_as_provider(user, grant.resource)


def can_read_usage(user, resource=None) -> bool:
    if is_center_staff(user) or (
        user and user.is_authenticated and user.has_role(Role.AUDITOR, Role.AUDIT_ADMIN)
    ):
        return True
    return bool(
        resource is not None
        and user.is_authenticated
        and user.unit_id == resource.provider_id
        and user.has_role(Role.DATA_OFFICER, Role.UNIT_ADMIN)
    )


def can_read_shared_data(user) -> bool:
    """Reading another unit's rows needs a consumer role as well as the unit's grant (least
    privilege: security officers, system owners and administrators hold no data-reading role)."""
    return bool(user and user.is_authenticated and user.has_role(*CONSUMER_ROLES))
