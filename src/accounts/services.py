"""Every write in accounts: units, users, roles, login security, API clients and tokens.

Each service takes keyword-only arguments, runs in one transaction, locks what it changes,
checks the actor's permission (``accounts.permissions``), changes, writes the audit event in the
same transaction and notifies.
"""

from __future__ import annotations

import hashlib
import secrets
import string
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from core import audit
from core.errors import Conflict, Invalid, PermissionDenied, from_validation_error
from core.middleware import client_ip
from core.notify import notify

from . import permissions as perms
from .errors import AccountsError
from .models import ApiClient, ApiToken, Lockout, LoginRecord, RoleAssignment, Scope, Unit, User
from .roles import SEPARATED_ADMIN_ROLES, Role

#: API tokens live at most this long (等保: credentials expire); default when not given.
TOKEN_MAX_DAYS = 365
TOKEN_DEFAULT_DAYS = 180
TOKEN_PREFIX = "ghk_"
#: Scopes that give the client's service user a role beyond UNIT_USER.
SCOPE_ROLES = {Scope.DATASTORE_PUSH: Role.DATA_OFFICER}

UNIT_FIELDS = (
    "name",
    "short_name",
    "code",
    "kind",
    "parent",
    "uscc",
    "head_name",
    "contact_name",
    "contact_phone",
    "contact_email",
    "is_active",
)
USER_EDIT_FIELDS = ("full_name", "email", "phone", "is_active")


def _deny(message: str | None = None) -> PermissionDenied:
    return PermissionDenied(AccountsError.NOT_ALLOWED, message or _("您没有执行此操作的权限。"))


def _full_clean(obj: Any, code: AccountsError, exclude: list[str] | None = None) -> None:
    try:
        obj.full_clean(exclude=exclude)
    except ValidationError as exc:
        raise from_validation_error(exc, code)


def _request_meta(request: Any) -> tuple[str | None, str]:
    if request is None:
        return None, ""
    return client_ip(request), (request.META.get("HTTP_USER_AGENT", "") or "")[:300]


def generate_initial_password() -> str:
    """A temporary password that satisfies the policy (shown once; must be changed at first login)."""
    alphabet = string.ascii_letters + string.digits
    body = "".join(secrets.choice(alphabet) for _ in range(10))
    return (
        secrets.choice(string.ascii_uppercase)
        + secrets.choice(string.ascii_lowercase)
        + secrets.choice(string.digits)
        + secrets.choice("#$%&*+-=?@")
        + body
    )


# --- Units ------------------------------------------------------------------------------------


@transaction.atomic
def unit_create(*, by: User, request: Any = None, **fields: Any) -> Unit:
    """Register a unit (S§11). Its USCC is checked per GB 32100-2015."""
    if not perms.can_manage_units(by):
        raise _deny()
    unit = Unit(**{k: v for k, v in fields.items() if k in UNIT_FIELDS})
    _full_clean(unit, AccountsError.UNIT_INVALID, exclude=["data_officer"])
    unit.save()
    audit.record(action="accounts.unit.create", actor=by, target=unit, request=request)
    return unit


@transaction.atomic
def unit_update(*, unit: Unit, by: User, request: Any = None, **fields: Any) -> Unit:
    """Change a unit's data (name, USCC, head, contacts, active flag, data officer)."""
    if not perms.can_manage_units(by):
        raise _deny()
    unit = Unit.objects.select_for_update().get(pk=unit.pk)
    changed = {}
    for key, value in fields.items():
        if key not in UNIT_FIELDS and key != "data_officer":
            continue
        old = getattr(unit, key)
        if old != value:
            changed[key] = [str(old) if old is not None else None, str(value) if value is not None else None]
            setattr(unit, key, value)
    if unit.data_officer is not None and unit.data_officer.unit_id != unit.pk:
        raise Invalid(
            AccountsError.UNIT_INVALID,
            _("数据专员必须是本单位的人员。"),
            {"fields": {"data_officer": [_("数据专员必须是本单位的人员。")]}},
        )
    if unit.parent_id and unit.parent_id == unit.pk:
        raise Invalid(AccountsError.UNIT_INVALID, _("上级单位不能是本单位。"))
    _full_clean(unit, AccountsError.UNIT_INVALID)
    unit.save()
    audit.record(
        action="accounts.unit.update", actor=by, target=unit, request=request, details={"changed": changed}
    )
    return unit


# --- Users ------------------------------------------------------------------------------------


def _check_username_free(username: str) -> None:
    if User.objects.filter(username__iexact=username).exists():
        message = _("用户名“%(u)s”已被使用。") % {"u": username}
        raise Invalid(AccountsError.USERNAME_TAKEN, message, {"fields": {"username": [message]}})


def _check_role_fits(*, user: User, role: str, by: User) -> None:
    if role not in Role.values:
        raise Invalid(AccountsError.USER_INVALID, _("未知角色：%(r)s") % {"r": role})
    if role not in perms.assignable_roles(by):
        raise _deny(_("您不能授予“%(r)s”角色。") % {"r": Role(role).label})
    if role in perms.CENTER_ONLY_ROLES and user.unit.kind != Unit.Kind.CENTER:
        raise Invalid(
            AccountsError.ROLE_NOT_ALLOWED_FOR_UNIT,
            _("“%(r)s”角色只能授予区数据资源中心的人员。") % {"r": Role(role).label},
        )


def _check_separation(*, user: User, role: str) -> None:
    """三员分立: no account holds two of SYS_ADMIN / SEC_ADMIN / AUDIT_ADMIN."""
    if role not in SEPARATED_ADMIN_ROLES:
        return
    held = set(user.role_assignments.values_list("role", flat=True)) & SEPARATED_ADMIN_ROLES
    held.discard(role)
    if held:
        raise Conflict(
            AccountsError.SEPARATION_OF_DUTIES,
            _("三员分立：该账号已担任“%(held)s”，不能再担任“%(r)s”。")
            % {"held": Role(next(iter(held))).label, "r": Role(role).label},
        )


@transaction.atomic
def user_create(
    *,
    by: User,
    unit: Unit,
    username: str,
    full_name: str,
    email: str = "",
    phone: str = "",
    roles: list[str] | tuple[str, ...] = (),
    password: str | None = None,
    request: Any = None,
) -> tuple[User, str]:
    """Open an account in ``unit``. Returns the user and the initial password (shown once).

    New accounts must change the password at first login (等保 level 3).
    """
    if not perms.can_manage_users(by, unit):
        raise _deny(_("您只能管理本单位的用户。"))
    if roles and not perms.can_assign_roles(by, unit):
        raise _deny(_("您没有授予角色的权限。"))
    username = (username or "").strip()
    _check_username_free(username)
    user = User(unit=unit, username=username, full_name=full_name, email=email, phone=phone)
    user.must_change_password = True
    initial = password or generate_initial_password()
    try:
        password_validation.validate_password(initial, user)
    except ValidationError as exc:
        raise Invalid(
            AccountsError.PASSWORD_INVALID,
            exc.messages[0],
            {"fields": {"password": exc.messages}},
        )
    user.set_password(initial)
    _full_clean(user, AccountsError.USER_INVALID)
    for role in roles:
        _check_role_fits(user=user, role=role, by=by)
    if len(set(roles) & SEPARATED_ADMIN_ROLES) > 1:
        raise Conflict(
            AccountsError.SEPARATION_OF_DUTIES,
            _("三员分立：同一账号不能同时担任系统管理员、安全管理员、审计管理员中的两个。"),
        )
    user.save()
    for role in dict.fromkeys(roles):
        RoleAssignment.objects.create(user=user, role=role, granted_by=by)
    user.clear_role_cache()
    audit.record(
        action="accounts.user.create",
        actor=by,
        target=user,
        unit=unit,
        request=request,
        details={"roles": list(roles)},
    )
    return user, initial


@transaction.atomic
def user_update(*, user: User, by: User, request: Any = None, **fields: Any) -> User:
    """Change a person's name, contacts or active flag (deactivate instead of delete)."""
    user = User.objects.select_for_update().select_related("unit").get(pk=user.pk)
    if not perms.can_manage_users(by, user.unit) or user.is_service_account:
        raise _deny(_("您只能管理本单位的用户。"))
    if user.pk == by.pk and fields.get("is_active") is False:
        raise Invalid(AccountsError.USER_INVALID, _("不能停用自己的账号。"))
    changed = {}
    for key in USER_EDIT_FIELDS:
        if key in fields and getattr(user, key) != fields[key]:
            changed[key] = [getattr(user, key), fields[key]]
            setattr(user, key, fields[key])
    _full_clean(user, AccountsError.USER_INVALID)
    user.save()
    audit.record(
        action="accounts.user.update", actor=by, target=user, unit=user.unit, request=request, details=changed
    )
    return user


@transaction.atomic
def user_reset_password(*, user: User, by: User, request: Any = None) -> str:
    """Give a person a new temporary password (shown once); they must change it at next login."""
    user = User.objects.select_for_update().select_related("unit").get(pk=user.pk)
    if not perms.can_manage_users(by, user.unit) or user.is_service_account:
        raise _deny(_("您只能管理本单位的用户。"))
    initial = generate_initial_password()
    user.set_password(initial)
    user.must_change_password = True
    user.save()
    audit.record(
        action="accounts.user.reset_password", actor=by, target=user, unit=user.unit, request=request
    )
    notify(event="accounts.user.password_reset", users=[user], title=_("您的密码已被管理员重置"))
    return initial


@transaction.atomic
def user_change_password(*, user: User, old_password: str, new_password: str, request: Any = None) -> User:
    """A person changes the own password (policy: accounts.passwords; history of 5)."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.check_password(old_password or ""):
        message = _("原密码不正确。")
        raise Invalid(AccountsError.PASSWORD_WRONG, message, {"fields": {"old_password": [message]}})
    try:
        password_validation.validate_password(new_password or "", user)
    except ValidationError as exc:
        raise Invalid(
            AccountsError.PASSWORD_INVALID, exc.messages[0], {"fields": {"new_password": exc.messages}}
        )
    user.set_password(new_password)
    user.must_change_password = False
    user.save()
    audit.record(action="accounts.user.change_password", actor=user, target=user, request=request)
    return user


# --- Roles ------------------------------------------------------------------------------------


@transaction.atomic
def role_assign(*, user: User, role: str, by: User, request: Any = None) -> RoleAssignment:
    """Give ``role`` to ``user``. 三员分立 is checked here and guarded by a DB constraint."""
    user = User.objects.select_for_update().select_related("unit").get(pk=user.pk)
    if not perms.can_assign_roles(by, user.unit):
        raise _deny(_("您没有为该单位人员授予角色的权限。"))
    if user.pk == by.pk:
        raise _deny(_("不能修改自己的角色。"))
    if user.is_service_account:
        raise Invalid(AccountsError.USER_INVALID, _("接口服务账号的角色由其授权范围决定。"))
    _check_role_fits(user=user, role=role, by=by)
    if user.role_assignments.filter(role=role).exists():
        raise Conflict(AccountsError.ROLE_ALREADY_HELD, _("该用户已拥有此角色。"))
    _check_separation(user=user, role=role)
    try:
        with transaction.atomic():
            assignment = RoleAssignment.objects.create(user=user, role=role, granted_by=by)
    except IntegrityError:
        raise Conflict(
            AccountsError.SEPARATION_OF_DUTIES,
            _("三员分立：同一账号不能同时担任系统管理员、安全管理员、审计管理员中的两个。"),
        )
    user.clear_role_cache()
    audit.record(
        action="accounts.role.assign",
        actor=by,
        target=user,
        unit=user.unit,
        request=request,
        details={"role": role},
    )
    notify(
        event="accounts.role.assigned",
        users=[user],
        title=_("您获得了新角色：%(r)s") % {"r": Role(role).label},
    )
    return assignment


@transaction.atomic
def role_revoke(*, assignment: RoleAssignment, by: User, request: Any = None) -> None:
    """Take a role away from a person."""
    assignment = RoleAssignment.objects.select_for_update().select_related("user__unit").get(pk=assignment.pk)
    user = assignment.user
    if not perms.can_assign_roles(by, user.unit):
        raise _deny(_("您没有为该单位人员撤销角色的权限。"))
    if user.pk == by.pk:
        raise _deny(_("不能修改自己的角色。"))
    if assignment.role not in perms.assignable_roles(by):
        raise _deny(_("您不能撤销“%(r)s”角色。") % {"r": assignment.get_role_display()})
    if user.is_service_account:
        raise Invalid(AccountsError.USER_INVALID, _("接口服务账号的角色由其授权范围决定。"))
    role = assignment.role
    assignment.delete()
    user.clear_role_cache()
    audit.record(
        action="accounts.role.revoke",
        actor=by,
        target=user,
        unit=user.unit,
        request=request,
        details={"role": role},
    )


# --- Login security ---------------------------------------------------------------------------


def active_lockout(*, username: str, ip: str | None, at: datetime | None = None) -> Lockout | None:
    """The lock in force for this account+IP, if any."""
    at = at or timezone.now()
    return (
        Lockout.objects.filter(username=username, ip=ip, released_at__isnull=True, locked_until__gt=at)
        .order_by("-locked_at")
        .first()
    )


def _record_login(*, username: str, outcome: str, user: User | None, request: Any) -> LoginRecord:
    ip, agent = _request_meta(request)
    return LoginRecord.objects.create(
        user=user, username=username[:150], outcome=outcome, ip=ip, user_agent=agent
    )


@transaction.atomic
def login_failed(*, username: str, request: Any = None, locked: bool = False) -> Lockout | None:
    """Record a failed sign-in; lock account+IP after GOVHUB_LOCKOUT_FAILURES failures within
    GOVHUB_LOCKOUT_MINUTES. Returns the lockout if this failure caused (or met) one."""
    username = (username or "")[:150]
    user = User.objects.filter(username=username).first()
    ip, _agent = _request_meta(request)
    now = timezone.now()
    outcome = LoginRecord.Outcome.LOCKED if locked else LoginRecord.Outcome.BAD_PASSWORD
    _record_login(username=username, outcome=outcome, user=user, request=request)
    audit.record(
        action="accounts.session.login_failed",
        actor=user,
        request=request,
        target_type="accounts.user",
        target_id=user.pk if user else "",
        target_label=username,
        details={"reason": outcome},
    )
    if locked:
        return active_lockout(username=username, ip=ip, at=now)
    window_start = now - timedelta(minutes=settings.GOVHUB_LOCKOUT_MINUTES)
    resets = [window_start]
    last_success = LoginRecord.objects.filter(
        username=username, ip=ip, outcome=LoginRecord.Outcome.SUCCESS
    ).aggregate(t=Max("occurred_at"))["t"]
    last_lock = Lockout.objects.filter(username=username, ip=ip).aggregate(t=Max("locked_at"))["t"]
    resets += [t for t in (last_success, last_lock) if t is not None]
    failures = LoginRecord.objects.filter(
        username=username, ip=ip, outcome=LoginRecord.Outcome.BAD_PASSWORD, occurred_at__gt=max(resets)
    ).count()
    if failures < settings.GOVHUB_LOCKOUT_FAILURES:
        return None
    lockout = Lockout.objects.create(
        username=username,
        ip=ip,
        user=user,
        locked_at=now,
        locked_until=now + timedelta(minutes=settings.GOVHUB_LOCKOUT_MINUTES),
    )
    audit.record(
        action="accounts.lockout.lock",
        actor=user,
        target=lockout,
        request=request,
        details={"username": username, "ip": ip, "failures": failures},
    )
    notify(
        event="accounts.lockout.locked",
        roles=[Role.SEC_ADMIN],
        title=_("账号 %(u)s 因多次登录失败被锁定") % {"u": username},
        url="/accounts/lockouts/",
    )
    return lockout


@transaction.atomic
def session_login(*, request: Any, user: User) -> User:
    """Sign a person in (session) and record it in the login history and the audit trail."""
    from django.contrib.auth import login

    login(request, user)
    request.session["govhub_last_activity"] = timezone.now().timestamp()
    _record_login(username=user.username, outcome=LoginRecord.Outcome.SUCCESS, user=user, request=request)
    audit.record(action="accounts.session.login", actor=user, target=user, request=request)
    return user


@transaction.atomic
def session_logout(*, request: Any, reason: str = LoginRecord.Outcome.LOGOUT) -> None:
    """Sign out (by the person, or by the idle timeout) and record it."""
    from django.contrib.auth import logout

    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        _record_login(username=user.username, outcome=reason, user=user, request=request)
        verb = "idle_timeout" if reason == LoginRecord.Outcome.IDLE_TIMEOUT else "logout"
        audit.record(action=f"accounts.session.{verb}", actor=user, target=user, request=request)
    logout(request)


@transaction.atomic
def lockout_release(*, lockout: Lockout, by: User, request: Any = None) -> Lockout:
    """A security admin ends a lockout before it expires."""
    if not perms.can_unlock(by):
        raise _deny(_("只有安全管理员可以解除锁定。"))
    lockout = Lockout.objects.select_for_update().get(pk=lockout.pk)
    if not lockout.is_active():
        raise Conflict(AccountsError.LOCKOUT_NOT_ACTIVE, _("该锁定已解除或已过期。"))
    lockout.released_at = timezone.now()
    lockout.released_by = by
    lockout.save(update_fields=["released_at", "released_by"])
    audit.record(
        action="accounts.lockout.release",
        actor=by,
        target=lockout,
        request=request,
        details={"username": lockout.username, "ip": lockout.ip},
    )
    if lockout.user_id:
        notify(event="accounts.lockout.released", users=[lockout.user], title=_("您的账号锁定已解除"))
    return lockout


def access_denied(*, request: Any, status: int) -> None:
    """Record a refused request (403) in the audit trail (等保: permission denials are audited)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return
    audit.record(
        action="accounts.access.denied",
        actor=user,
        api_client=getattr(request, "api_client", None),
        request=request,
        details={"method": request.method, "path": request.path[:300], "status": status},
    )


# --- API clients and tokens ------------------------------------------------------------------


def _clean_scopes(scopes: Any) -> list[str]:
    if not isinstance(scopes, list | tuple):
        raise Invalid(AccountsError.API_CLIENT_INVALID, _("授权范围必须是列表。"))
    unknown = sorted({str(s) for s in scopes} - set(Scope.values))
    if unknown:
        message = _("未知的授权范围：%(s)s") % {"s": "、".join(unknown)}
        raise Invalid(AccountsError.API_CLIENT_INVALID, message, {"fields": {"scopes": [message]}})
    return sorted(set(scopes))


def _sync_service_user(client: ApiClient) -> None:
    """The service user mirrors the client: same unit, active flag, roles from the scopes."""
    user = client.service_user
    user.unit = client.unit
    user.is_active = client.is_active and client.unit.is_active
    user.full_name = str(client.name)[:50]
    user.save(update_fields=["unit", "is_active", "full_name"])
    wanted = {Role.UNIT_USER} | {role for scope, role in SCOPE_ROLES.items() if scope in client.scopes}
    user.role_assignments.exclude(role__in=wanted).delete()
    for role in wanted:
        RoleAssignment.objects.get_or_create(user=user, role=role)
    user.clear_role_cache()


@transaction.atomic
def api_client_create(
    *,
    by: User,
    unit: Unit,
    name: str,
    system_name: str,
    scopes: list[str] | None = None,
    description: str = "",
    request: Any = None,
) -> ApiClient:
    """Register one of the unit's application systems as an API client (系统对接, S§31)."""
    if not perms.can_manage_api_clients(by, unit):
        raise _deny(_("您只能为本单位登记接口客户端。"))
    client = ApiClient(
        unit=unit,
        name=name,
        system_name=system_name,
        description=description,
        scopes=_clean_scopes(scopes or []),
        created_by=by,
    )
    if ApiClient.objects.filter(unit=unit, name=name).exists():
        message = _("本单位已有同名的接口客户端。")
        raise Invalid(AccountsError.API_CLIENT_INVALID, message, {"fields": {"name": [message]}})
    _full_clean(client, AccountsError.API_CLIENT_INVALID)
    client.save()
    user = User(
        unit=unit,
        username=f"api-{client.pk}",
        full_name=str(name)[:50],
        must_change_password=False,
        is_service_account=True,
    )
    user.set_unusable_password()
    user.save()
    client.service_user = user
    client.save(update_fields=["service_user"])
    _sync_service_user(client)
    audit.record(action="accounts.api_client.create", actor=by, target=client, unit=unit, request=request)
    return client


@transaction.atomic
def api_client_update(*, client: ApiClient, by: User, request: Any = None, **fields: Any) -> ApiClient:
    """Rename, re-scope or (de)activate a client. Deactivation stops all its tokens at once."""
    client = ApiClient.objects.select_for_update().select_related("unit").get(pk=client.pk)
    if not perms.can_manage_api_clients(by, client.unit):
        raise _deny(_("您只能管理本单位的接口客户端。"))
    changed = {}
    for key in ("name", "system_name", "description", "scopes", "is_active"):
        if key not in fields:
            continue
        value = _clean_scopes(fields[key]) if key == "scopes" else fields[key]
        if getattr(client, key) != value:
            changed[key] = [getattr(client, key), value]
            setattr(client, key, value)
    if ApiClient.objects.filter(unit=client.unit, name=client.name).exclude(pk=client.pk).exists():
        message = _("本单位已有同名的接口客户端。")
        raise Invalid(AccountsError.API_CLIENT_INVALID, message, {"fields": {"name": [message]}})
    _full_clean(client, AccountsError.API_CLIENT_INVALID, exclude=["service_user"])
    client.save()
    _sync_service_user(client)
    audit.record(
        action="accounts.api_client.update",
        actor=by,
        target=client,
        unit=client.unit,
        request=request,
        details=changed,
    )
    return client


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@transaction.atomic
def api_token_issue(
    *,
    client: ApiClient,
    by: User,
    name: str = "",
    scopes: list[str] | None = None,
    expires_at: datetime | None = None,
    request: Any = None,
) -> tuple[ApiToken, str]:
    """Issue a token. Returns the stored token and the secret, which is never shown again."""
    client = ApiClient.objects.select_for_update().select_related("unit").get(pk=client.pk)
    if not perms.can_manage_api_clients(by, client.unit):
        raise _deny(_("您只能为本单位的接口客户端签发令牌。"))
    if not client.is_active:
        raise Conflict(AccountsError.API_CLIENT_INVALID, _("接口客户端已停用，不能签发令牌。"))
    scopes = _clean_scopes(scopes if scopes is not None else client.scopes)
    outside = sorted(set(scopes) - set(client.scopes))
    if outside:
        message = _("令牌的授权范围不能超出客户端的授权范围：%(s)s") % {"s": "、".join(outside)}
        raise Invalid(AccountsError.TOKEN_INVALID, message, {"fields": {"scopes": [message]}})
    now = timezone.now()
    expires_at = expires_at or now + timedelta(days=TOKEN_DEFAULT_DAYS)
    if expires_at <= now or expires_at > now + timedelta(days=TOKEN_MAX_DAYS):
        message = _("到期时间须在现在之后、%(n)d 天之内。") % {"n": TOKEN_MAX_DAYS}
        raise Invalid(AccountsError.TOKEN_INVALID, message, {"fields": {"expires_at": [message]}})
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        client=client,
        name=name,
        prefix=raw[: len(TOKEN_PREFIX) + 6],
        token_hash=hash_token(raw),
        scopes=scopes,
        expires_at=expires_at,
        created_by=by,
    )
    audit.record(
        action="accounts.api_token.issue",
        actor=by,
        target=token,
        unit=client.unit,
        api_client=client,
        request=request,
        details={"prefix": token.prefix, "scopes": scopes, "expires_at": expires_at.isoformat()},
    )
    return token, raw


@transaction.atomic
def api_token_revoke(*, token: ApiToken, by: User, request: Any = None) -> ApiToken:
    """Revoke a token at once (its unit's managers, or the security admin)."""
    token = ApiToken.objects.select_for_update().select_related("client__unit").get(pk=token.pk)
    if not perms.can_revoke_tokens(by, token.client.unit):
        raise _deny(_("您没有吊销该令牌的权限。"))
    if token.revoked_at is not None:
        raise Conflict(AccountsError.TOKEN_ALREADY_REVOKED, _("该令牌已被吊销。"))
    token.revoked_at = timezone.now()
    token.revoked_by = by
    token.save(update_fields=["revoked_at", "revoked_by"])
    audit.record(
        action="accounts.api_token.revoke",
        actor=by,
        target=token,
        unit=token.client.unit,
        api_client=token.client,
        request=request,
    )
    return token


def api_token_touch(*, token: ApiToken, ip: str | None) -> None:
    """Keep "last used" current without a write on every call (at most once a minute per IP)."""
    now = timezone.now()
    if token.last_used_at and token.last_used_ip == ip and now - token.last_used_at < timedelta(minutes=1):
        return
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now, last_used_ip=ip)
    token.last_used_at, token.last_used_ip = now, ip
