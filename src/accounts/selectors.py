"""Every read in accounts, scoped to what the acting user may see (object level).

A role that may not list something at all gets ``PermissionDenied``; an object outside the
actor's scope is ``NotFound`` (its existence does not leak).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from core.errors import NotFound, PermissionDenied

from . import permissions as perms
from .errors import AccountsError
from .models import ApiClient, ApiToken, Lockout, LoginRecord, RoleAssignment, Unit, User
from .roles import SEPARATED_ADMIN_ROLES, Role


def _get(queryset: QuerySet, pk: Any) -> Any:
    try:
        return queryset.get(pk=int(pk))
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise NotFound()


# --- Units ------------------------------------------------------------------------------------


def unit_list(*, by: User, kind: str = "", q: str = "", active: bool | None = None) -> QuerySet[Unit]:
    """Every signed-in person sees the list of units (names are needed to request and share)."""
    qs = Unit.objects.select_related("parent", "data_officer")
    if kind:
        qs = qs.filter(kind=kind)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(short_name__icontains=q) | Q(code__icontains=q))
    if active is not None:
        qs = qs.filter(is_active=active)
    return qs.order_by("code")


def unit_get(*, by: User, pk: Any) -> Unit:
    return _get(unit_list(by=by), pk)


# --- Users ------------------------------------------------------------------------------------


def user_list(
    *, by: User, unit: Any = None, role: str = "", q: str = "", active: bool | None = None
) -> QuerySet[User]:
    """People the actor may see: admins of the 三员 everywhere, a unit admin the own unit.
    Service accounts of API clients are never listed here."""
    if not perms.can_view_users(by):
        raise PermissionDenied(AccountsError.NOT_ALLOWED)
    qs = User.objects.filter(is_service_account=False).select_related("unit")
    if not by.has_role(*SEPARATED_ADMIN_ROLES):
        qs = qs.filter(unit_id=by.unit_id)
    if unit:
        qs = qs.filter(unit_id=getattr(unit, "pk", unit))
    if role:
        qs = qs.filter(role_assignments__role=role)
    if q:
        qs = qs.filter(Q(username__icontains=q) | Q(full_name__icontains=q) | Q(email__icontains=q))
    if active is not None:
        qs = qs.filter(is_active=active)
    return qs.prefetch_related("role_assignments").distinct().order_by("unit__code", "username")


def user_get(*, by: User, pk: Any) -> User:
    """One person: oneself always; others within the actor's user scope."""
    if str(pk) == str(by.pk):
        return User.objects.select_related("unit").get(pk=by.pk)
    if not perms.can_view_users(by):
        raise NotFound()
    return _get(user_list(by=by), pk)


# --- Roles ------------------------------------------------------------------------------------


def role_assignment_list(*, by: User, user: Any = None, role: str = "") -> QuerySet[RoleAssignment]:
    """Role assignments of the people the actor may see."""
    visible = user_list(by=by)
    qs = RoleAssignment.objects.filter(user__in=visible).select_related("user__unit", "granted_by")
    if user:
        qs = qs.filter(user_id=getattr(user, "pk", user))
    if role:
        qs = qs.filter(role=role)
    return qs.order_by("user__username", "role")


def role_assignment_get(*, by: User, pk: Any) -> RoleAssignment:
    return _get(role_assignment_list(by=by), pk)


def assignable_role_choices(*, by: User) -> list[tuple[str, str]]:
    allowed = perms.assignable_roles(by)
    return [(value, label) for value, label in Role.choices if value in allowed]


# --- Login history and lockouts --------------------------------------------------------------


def login_record_list(
    *, by: User, user: Any = None, username: str = "", outcome: str = ""
) -> QuerySet[LoginRecord]:
    """我的登录记录: one's own sign-ins; the security admin sees everyone's."""
    qs = LoginRecord.objects.select_related("user")
    if perms.can_view_all_login_history(by):
        if user:
            qs = qs.filter(user_id=getattr(user, "pk", user))
        if username:
            qs = qs.filter(username__icontains=username)
    else:
        qs = qs.filter(Q(user_id=by.pk) | Q(user__isnull=True, username=by.username))
    if outcome:
        qs = qs.filter(outcome=outcome)
    return qs.order_by("-occurred_at", "-id")


def lockout_list(*, by: User, active_only: bool = False) -> QuerySet[Lockout]:
    """Lockouts, for the security admin."""
    if not perms.can_unlock(by):
        raise PermissionDenied(AccountsError.NOT_ALLOWED)
    qs = Lockout.objects.select_related("user", "released_by")
    if active_only:
        from django.utils import timezone

        qs = qs.filter(released_at__isnull=True, locked_until__gt=timezone.now())
    return qs.order_by("-locked_at", "-id")


def lockout_get(*, by: User, pk: Any) -> Lockout:
    return _get(lockout_list(by=by), pk)


# --- API clients and tokens ------------------------------------------------------------------


def api_client_list(*, by: User, unit: Any = None, q: str = "") -> QuerySet[ApiClient]:
    """A unit's clients for its admins and system owners; all clients for the security admin."""
    if not perms.can_view_api_clients(by):
        raise PermissionDenied(AccountsError.NOT_ALLOWED)
    qs = ApiClient.objects.select_related("unit", "service_user")
    if not by.has_role(Role.SEC_ADMIN):
        qs = qs.filter(unit_id=by.unit_id)
    if unit:
        qs = qs.filter(unit_id=getattr(unit, "pk", unit))
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(system_name__icontains=q))
    return qs.order_by("unit__code", "name")


def api_client_get(*, by: User, pk: Any) -> ApiClient:
    if not perms.can_view_api_clients(by):
        raise NotFound()
    return _get(api_client_list(by=by), pk)


def api_token_list(*, by: User, client: Any = None) -> QuerySet[ApiToken]:
    """Tokens (hash never exposed) of the clients the actor may see."""
    qs = ApiToken.objects.filter(client__in=api_client_list(by=by)).select_related("client__unit")
    if client:
        qs = qs.filter(client_id=getattr(client, "pk", client))
    return qs.order_by("-created_at", "-id")


def api_token_get(*, by: User, pk: Any) -> ApiToken:
    if not perms.can_view_api_clients(by):
        raise NotFound()
    return _get(api_token_list(by=by), pk)
