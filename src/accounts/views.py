"""Accounts UI: sign-in, password, login history, units, users, roles, lockouts, API clients.

Thin views: they call selectors and services and show ``DomainError`` messages beside the field
(``details.fields``) or as a banner.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import View

from core.errors import DomainError, NotFound, PermissionDenied

from . import importing, permissions, selectors, services
from .forms import (
    ApiClientForm,
    ApiTokenForm,
    LoginForm,
    PasswordChangeForm,
    RoleAssignForm,
    UnitForm,
    UserCreateForm,
    UserEditForm,
    UserImportForm,
)
from .models import LoginRecord, Scope, Unit
from .roles import Role

PAGE_SIZE = 25


def _page(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _query_without_page(request) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def _form_error(form, exc: DomainError) -> None:
    """Put a service error beside its field, or at the top of the form."""
    fields = (exc.details or {}).get("fields") or {}
    placed = False
    for name, errors in fields.items():
        if name in form.fields:
            for error in errors if isinstance(errors, list) else [errors]:
                form.add_error(name, str(error))
            placed = True
    if not placed:
        form.add_error(None, exc.message)


class DomainErrorMixin:
    """Refusals and misses from services/selectors become the Chinese 403/404 pages."""

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(exc.message)
        except NotFound:
            raise Http404


class Page(LoginRequiredMixin, DomainErrorMixin, View):
    """A signed-in page; ``allowed(user)`` is the role-level gate."""

    def allowed(self, user) -> bool:
        return True

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not self.allowed(request.user):
            raise DjangoPermissionDenied
        return super().dispatch(request, *args, **kwargs)


# --- Sign-in, sign-out, password --------------------------------------------------------------


class LoginView(auth_views.LoginView):
    """Sign-in with lockout messages; records the login history and the audit event."""

    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        services.session_login(request=self.request, user=form.get_user())
        return HttpResponseRedirect(self.get_success_url())

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["timed_out"] = self.request.GET.get("timeout") == "1"
        return ctx


class LogoutView(View):
    """POST only (CSRF-protected): sign out and record it."""

    def post(self, request):
        services.session_logout(request=request)
        return redirect("accounts:login")


class PasswordChangeView(LoginRequiredMixin, View):
    """修改密码 — also the forced first-login change."""

    template_name = "accounts/password_change.html"

    def get(self, request):
        return render(request, self.template_name, {"form": PasswordChangeForm(), "help": _policy_help()})

    def post(self, request):
        form = PasswordChangeForm(request.POST)
        if form.is_valid():
            try:
                user = services.user_change_password(
                    user=request.user,
                    old_password=form.cleaned_data["old_password"],
                    new_password=form.cleaned_data["new_password"],
                    request=request,
                )
            except DomainError as exc:
                _form_error(form, exc)
            else:
                from django.contrib.auth import update_session_auth_hash

                update_session_auth_hash(request, user)
                messages.success(request, _("密码已修改。"))
                nxt = request.GET.get("next", "")
                if nxt and url_has_allowed_host_and_scheme(nxt, {request.get_host()}):
                    return HttpResponseRedirect(nxt)
                return redirect("core:dashboard")
        return render(request, self.template_name, {"form": form, "help": _policy_help()}, status=400)


def _policy_help() -> list[str]:
    from django.contrib.auth.password_validation import password_validators_help_texts

    return password_validators_help_texts()


class MyLoginHistoryView(Page):
    """我的登录记录 (the security admin sees everyone's, with a user filter)."""

    def get(self, request):
        records = selectors.login_record_list(
            by=request.user, username=request.GET.get("username", ""), outcome=request.GET.get("outcome", "")
        )
        return render(
            request,
            "accounts/login_history.html",
            {
                "page": _page(request, records),
                "query": _query_without_page(request),
                "all_users": permissions.can_view_all_login_history(request.user),
                "outcomes": LoginRecord.Outcome.choices,
                "crumbs": [(_("登录记录"), "")],
            },
        )


# --- Units ------------------------------------------------------------------------------------


class UnitListView(Page):
    def get(self, request):
        units = selectors.unit_list(
            by=request.user, kind=request.GET.get("kind", ""), q=request.GET.get("q", "")
        )
        return render(
            request,
            "accounts/unit_list.html",
            {
                "page": _page(request, units),
                "query": _query_without_page(request),
                "kinds": Unit.Kind.choices,
                "can_manage": permissions.can_manage_units(request.user),
                "crumbs": [(_("单位"), "")],
            },
        )


class UnitEditView(Page):
    """Create (no pk) or edit a unit."""

    def allowed(self, user) -> bool:
        return permissions.can_manage_units(user)

    def _render(self, request, form, unit=None, status=200):
        title = _("编辑单位") if unit else _("新增单位")
        crumbs = [(_("单位"), reverse("accounts:unit_list")), (title, "")]
        return render(
            request,
            "accounts/form_page.html",
            {"form": form, "title": title, "crumbs": crumbs},
            status=status,
        )

    def get(self, request, pk: int | None = None):
        unit = selectors.unit_get(by=request.user, pk=pk) if pk else None
        return self._render(request, UnitForm(instance=unit), unit)

    def post(self, request, pk: int | None = None):
        unit = selectors.unit_get(by=request.user, pk=pk) if pk else None
        form = UnitForm(request.POST, instance=unit)
        if form.is_valid():
            data = {k: form.cleaned_data[k] for k in UnitForm.Meta.fields if k in form.cleaned_data}
            try:
                if unit:
                    services.unit_update(unit=unit, by=request.user, request=request, **data)
                else:
                    services.unit_create(by=request.user, request=request, **data)
            except DomainError as exc:
                _form_error(form, exc)
            else:
                messages.success(request, _("单位已保存。"))
                return redirect("accounts:unit_list")
        return self._render(request, form, unit, status=400)


# --- Users ------------------------------------------------------------------------------------


class UserListView(Page):
    def allowed(self, user) -> bool:
        return permissions.can_view_users(user)

    def get(self, request):
        g = request.GET
        active = {"1": True, "0": False}.get(g.get("active", ""))
        users = selectors.user_list(
            by=request.user,
            unit=g.get("unit") or None,
            role=g.get("role", ""),
            q=g.get("q", ""),
            active=active,
        )
        return render(
            request,
            "accounts/user_list.html",
            {
                "page": _page(request, users),
                "query": _query_without_page(request),
                "units": selectors.unit_list(by=request.user)
                if request.user.has_role(Role.SYS_ADMIN, Role.SEC_ADMIN, Role.AUDIT_ADMIN)
                else None,
                "roles": Role.choices,
                "can_manage": permissions.can_manage_users(request.user),
                "crumbs": [(_("用户"), "")],
            },
        )


class UserCreateView(Page):
    def allowed(self, user) -> bool:
        return permissions.can_manage_users(user)

    def _form(self, request, data=None):
        form = UserCreateForm(data, initial={"unit": request.user.unit_id})
        if not request.user.has_role(Role.SYS_ADMIN):
            form.fields["unit"].queryset = Unit.objects.filter(pk=request.user.unit_id)
        form.fields["roles"].choices = selectors.assignable_role_choices(by=request.user)
        if not form.fields["roles"].choices:
            del form.fields["roles"]  # 三员分立: the system admin opens accounts, roles come from SEC_ADMIN
        return form

    def _render(self, request, form, status=200):
        crumbs = [(_("用户"), reverse("accounts:user_list")), (_("新增用户"), "")]
        return render(
            request,
            "accounts/form_page.html",
            {"form": form, "title": _("新增用户"), "crumbs": crumbs},
            status=status,
        )

    def get(self, request):
        return self._render(request, self._form(request))

    def post(self, request):
        form = self._form(request, request.POST)
        if form.is_valid():
            try:
                user, initial = services.user_create(by=request.user, request=request, **form.cleaned_data)
            except DomainError as exc:
                _form_error(form, exc)
            else:
                messages.success(
                    request,
                    _("用户 %(u)s 已创建。初始密码（仅显示这一次）：%(p)s")
                    % {"u": user.username, "p": initial},
                )
                return redirect("accounts:user_detail", pk=user.pk)
        return self._render(request, form, status=400)


class UserDetailView(Page):
    """A person: edit, roles, reset password."""

    def allowed(self, user) -> bool:
        return permissions.can_view_users(user)

    def _render(self, request, person, edit_form=None, role_form=None, status=200):
        can_manage = permissions.can_manage_users(request.user, person.unit) and person.pk != request.user.pk
        can_roles = permissions.can_assign_roles(request.user, person.unit) and person.pk != request.user.pk
        if role_form is None:
            role_form = RoleAssignForm()
        role_form.fields["role"].choices = [
            (value, label)
            for value, label in selectors.assignable_role_choices(by=request.user)
            if person.unit.kind == Unit.Kind.CENTER or value not in permissions.CENTER_ONLY_ROLES
        ]
        assignable = permissions.assignable_roles(request.user)
        return render(
            request,
            "accounts/user_detail.html",
            {
                "person": person,
                "edit_form": edit_form
                or UserEditForm(
                    initial={
                        "full_name": person.full_name,
                        "email": person.email,
                        "phone": person.phone,
                        "is_active": person.is_active,
                    }
                ),
                "role_form": role_form,
                "assignments": [(a, a.role in assignable) for a in person.role_assignments.all()],
                "can_manage": can_manage,
                "can_roles": can_roles,
                "crumbs": [(_("用户"), reverse("accounts:user_list")), (str(person), "")],
            },
            status=status,
        )

    def get(self, request, pk: int):
        return self._render(request, selectors.user_get(by=request.user, pk=pk))

    def post(self, request, pk: int):
        person = selectors.user_get(by=request.user, pk=pk)
        action = request.POST.get("action")
        try:
            if action == "edit":
                form = UserEditForm(request.POST)
                if not form.is_valid():
                    return self._render(request, person, edit_form=form, status=400)
                try:
                    services.user_update(user=person, by=request.user, request=request, **form.cleaned_data)
                except (PermissionDenied, NotFound):
                    raise
                except DomainError as exc:
                    _form_error(form, exc)
                    return self._render(request, person, edit_form=form, status=400)
                messages.success(request, _("已保存。"))
            elif action == "assign":
                form = RoleAssignForm(request.POST)
                form.fields["role"].choices = Role.choices
                if not form.is_valid():
                    return self._render(request, person, role_form=form, status=400)
                try:
                    services.role_assign(
                        user=person, role=form.cleaned_data["role"], by=request.user, request=request
                    )
                except (PermissionDenied, NotFound):
                    raise
                except DomainError as exc:
                    _form_error(form, exc)
                    return self._render(request, person, role_form=form, status=400)
                messages.success(request, _("角色已授予。"))
            elif action == "revoke":
                assignment = selectors.role_assignment_get(by=request.user, pk=request.POST.get("assignment"))
                services.role_revoke(assignment=assignment, by=request.user, request=request)
                messages.success(request, _("角色已撤销。"))
            elif action == "reset_password":
                if person.pk == request.user.pk:
                    raise PermissionDenied()
                initial = services.user_reset_password(user=person, by=request.user, request=request)
                messages.warning(request, _("新的临时密码（仅显示这一次）：%(p)s") % {"p": initial})
            else:
                return HttpResponse(status=400)
        except (PermissionDenied, NotFound):
            raise
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect("accounts:user_detail", pk=person.pk)


class UserImportView(Page):
    """Bulk import from the Excel template: all rows or none, errors per row and column."""

    def allowed(self, user) -> bool:
        return permissions.can_manage_users(user)

    def _render(self, request, form, errors=None, created=None, status=200):
        crumbs = [(_("用户"), reverse("accounts:user_list")), (_("批量导入"), "")]
        return render(
            request,
            "accounts/user_import.html",
            {
                "form": form,
                "errors": errors or [],
                "created": created or [],
                "max_mb": importing.IMPORT_MAX_BYTES // (1024 * 1024),
                "crumbs": crumbs,
            },
            status=status,
        )

    def get(self, request):
        return self._render(request, UserImportForm())

    def post(self, request):
        form = UserImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return self._render(request, form, status=400)
        try:
            created = importing.user_import(by=request.user, file=form.cleaned_data["file"], request=request)
        except (PermissionDenied, NotFound):
            raise
        except DomainError as exc:
            form.add_error(None, exc.message)
            return self._render(request, form, errors=(exc.details or {}).get("errors"), status=400)
        messages.success(request, _("已导入 %(n)d 个用户。") % {"n": len(created)})
        return self._render(request, UserImportForm(), created=created)


class UserImportTemplateView(Page):
    def allowed(self, user) -> bool:
        return permissions.can_manage_users(user)

    def get(self, request):
        response = HttpResponse(importing.template_bytes(), content_type=importing.XLSX_TYPE)
        response["Content-Disposition"] = 'attachment; filename="user-import-template.xlsx"'
        return response


# --- Lockouts ---------------------------------------------------------------------------------


class LockoutListView(Page):
    def allowed(self, user) -> bool:
        return permissions.can_unlock(user)

    def get(self, request):
        lockouts = selectors.lockout_list(by=request.user, active_only=request.GET.get("active") == "1")
        return render(
            request,
            "accounts/lockout_list.html",
            {
                "page": _page(request, lockouts),
                "query": _query_without_page(request),
                "crumbs": [(_("账号锁定"), "")],
            },
        )

    def post(self, request):
        lockout = selectors.lockout_get(by=request.user, pk=request.POST.get("lockout"))
        try:
            services.lockout_release(lockout=lockout, by=request.user, request=request)
        except (PermissionDenied, NotFound):
            raise
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("已解除 %(u)s 的锁定。") % {"u": lockout.username})
        return redirect("accounts:lockout_list")


# --- API clients ------------------------------------------------------------------------------


class ApiClientListView(Page):
    def allowed(self, user) -> bool:
        return permissions.can_view_api_clients(user)

    def _render(self, request, form, status=200):
        clients = selectors.api_client_list(by=request.user, q=request.GET.get("q", ""))
        return render(
            request,
            "accounts/api_client_list.html",
            {
                "page": _page(request, clients),
                "query": _query_without_page(request),
                "form": form,
                "can_manage": permissions.can_manage_api_clients(request.user),
                "crumbs": [(_("接口客户端"), "")],
            },
            status=status,
        )

    @staticmethod
    def _form(data=None) -> ApiClientForm:
        form = ApiClientForm(data)
        del form.fields["is_active"]  # a new client starts active
        return form

    def get(self, request):
        return self._render(request, self._form())

    def post(self, request):
        if not permissions.can_manage_api_clients(request.user):
            raise DjangoPermissionDenied
        form = self._form(request.POST)
        if form.is_valid():
            data = dict(form.cleaned_data)
            data.pop("is_active", None)
            try:
                client = services.api_client_create(
                    by=request.user, unit=request.user.unit, request=request, **data
                )
            except (PermissionDenied, NotFound):
                raise
            except DomainError as exc:
                _form_error(form, exc)
            else:
                messages.success(request, _("接口客户端已登记。"))
                return redirect("accounts:api_client_detail", pk=client.pk)
        return self._render(request, form, status=400)


class ApiClientDetailView(Page):
    def allowed(self, user) -> bool:
        return permissions.can_view_api_clients(user)

    def _render(self, request, client, form=None, token_form=None, new_token: str = "", status=200):
        can_manage = permissions.can_manage_api_clients(request.user, client.unit)
        return render(
            request,
            "accounts/api_client_detail.html",
            {
                "client": client,
                "scope_labels": [Scope(s).label for s in client.scopes if s in Scope.values],
                "tokens": selectors.api_token_list(by=request.user, client=client),
                "form": form
                or ApiClientForm(
                    initial={
                        "name": client.name,
                        "system_name": client.system_name,
                        "description": client.description,
                        "scopes": client.scopes,
                        "is_active": client.is_active,
                    }
                ),
                "token_form": token_form or ApiTokenForm(),
                "new_token": new_token,
                "can_manage": can_manage,
                "can_revoke": permissions.can_revoke_tokens(request.user, client.unit),
                "crumbs": [(_("接口客户端"), reverse("accounts:api_client_list")), (str(client), "")],
            },
            status=status,
        )

    def get(self, request, pk: int):
        return self._render(request, selectors.api_client_get(by=request.user, pk=pk))

    def post(self, request, pk: int):
        client = selectors.api_client_get(by=request.user, pk=pk)
        action = request.POST.get("action")
        try:
            if action == "edit":
                form = ApiClientForm(request.POST)
                if not form.is_valid():
                    return self._render(request, client, form=form, status=400)
                try:
                    client = services.api_client_update(
                        client=client, by=request.user, request=request, **form.cleaned_data
                    )
                except (PermissionDenied, NotFound):
                    raise
                except DomainError as exc:
                    _form_error(form, exc)
                    return self._render(request, client, form=form, status=400)
                messages.success(request, _("已保存。"))
            elif action == "issue":
                token_form = ApiTokenForm(request.POST)
                if not token_form.is_valid():
                    return self._render(request, client, token_form=token_form, status=400)
                try:
                    _token, raw = services.api_token_issue(
                        client=client,
                        by=request.user,
                        request=request,
                        name=token_form.cleaned_data["name"],
                        expires_at=token_form.cleaned_data["expires_at"],
                    )
                except (PermissionDenied, NotFound):
                    raise
                except DomainError as exc:
                    _form_error(token_form, exc)
                    return self._render(request, client, token_form=token_form, status=400)
                # The secret is rendered in this response only; it is never stored in clear.
                return self._render(request, client, new_token=raw)
            elif action == "revoke":
                token = selectors.api_token_get(by=request.user, pk=request.POST.get("token"))
                services.api_token_revoke(token=token, by=request.user, request=request)
                messages.success(request, _("令牌已吊销。"))
            else:
                return HttpResponse(status=400)
        except (PermissionDenied, NotFound):
            raise
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect("accounts:api_client_detail", pk=client.pk)
