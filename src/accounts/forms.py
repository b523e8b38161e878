"""Forms of the accounts UI. They only shape input; rules are in the services."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from core.middleware import client_ip

from .models import Scope, Unit, User
from .roles import Role


class BootstrapMixin:
    """Bootstrap 5 classes on every widget; ``is-invalid`` where the field has errors."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput | forms.CheckboxSelectMultiple):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()

    def add_error(self, field, error):
        super().add_error(field, error)
        if field and field in self.fields:
            widget = self.fields[field].widget
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()


class LoginForm(AuthenticationForm):
    """Sign-in with a clear message when the account+IP is locked (numbers from settings)."""

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        n, minutes = settings.GOVHUB_LOCKOUT_FAILURES, settings.GOVHUB_LOCKOUT_MINUTES
        self.error_messages = {
            **self.error_messages,
            "invalid_login": _("用户名或密码错误。连续失败 %(n)d 次将锁定 %(m)d 分钟。")
            % {"n": n, "m": minutes},
            "inactive": _("该账号已停用。"),
            "locked": _("该账号因多次登录失败已被锁定，请 %(m)d 分钟后再试或联系安全管理员解锁。")
            % {"m": minutes},
        }

    def clean(self):
        from . import services

        username = self.cleaned_data.get("username")
        ip = client_ip(self.request) if self.request else None
        if username and services.active_lockout(username=username, ip=ip) is not None:
            services.login_failed(username=username, request=self.request, locked=True)
            raise forms.ValidationError(self.error_messages["locked"], code="locked")
        try:
            return super().clean()
        except forms.ValidationError:
            if username and services.active_lockout(username=username, ip=ip) is not None:
                raise forms.ValidationError(self.error_messages["locked"], code="locked")
            raise


class PasswordChangeForm(BootstrapMixin, forms.Form):
    old_password = forms.CharField(
        label=_("原密码"), widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}), strip=False
    )
    new_password = forms.CharField(
        label=_("新密码"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}), strip=False
    )
    new_password2 = forms.CharField(
        label=_("确认新密码"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}), strip=False
    )

    def clean(self):
        data = super().clean()
        if data.get("new_password") and data.get("new_password") != data.get("new_password2"):
            self.add_error("new_password2", _("两次输入的新密码不一致。"))
        return data


class UnitForm(BootstrapMixin, forms.ModelForm):
    class Meta:
        model = Unit
        fields = [
            "name",
            "short_name",
            "code",
            "kind",
            "parent",
            "uscc",
            "head_name",
            "data_officer",
            "contact_name",
            "contact_phone",
            "contact_email",
            "is_active",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # S§11: the data officer (专人) is a person of this unit; chosen once the unit exists.
        if self.instance.pk:
            self.fields["data_officer"].queryset = User.objects.filter(
                unit=self.instance, is_service_account=False, is_active=True
            )
        else:
            del self.fields["data_officer"]

    def _post_clean(self):
        """Model validation runs in the service (one place for the rules)."""


class UserCreateForm(BootstrapMixin, forms.Form):
    unit = forms.ModelChoiceField(label=_("所属单位"), queryset=Unit.objects.filter(is_active=True))
    username = forms.CharField(label=_("用户名"), max_length=150)
    full_name = forms.CharField(label=_("姓名"), max_length=50)
    email = forms.EmailField(label=_("邮箱"), required=False)
    phone = forms.CharField(label=_("手机号"), max_length=20, required=False)
    roles = forms.MultipleChoiceField(
        label=_("角色"), choices=Role.choices, required=False, widget=forms.CheckboxSelectMultiple
    )


class UserEditForm(BootstrapMixin, forms.Form):
    full_name = forms.CharField(label=_("姓名"), max_length=50)
    email = forms.EmailField(label=_("邮箱"), required=False)
    phone = forms.CharField(label=_("手机号"), max_length=20, required=False)
    is_active = forms.BooleanField(label=_("启用"), required=False)


class RoleAssignForm(BootstrapMixin, forms.Form):
    role = forms.ChoiceField(label=_("角色"), choices=Role.choices)


class UserImportForm(BootstrapMixin, forms.Form):
    file = forms.FileField(label=_("Excel 文件（.xlsx）"))


class ApiClientForm(BootstrapMixin, forms.Form):
    name = forms.CharField(label=_("客户端名称"), max_length=100)
    system_name = forms.CharField(label=_("应用系统名称"), max_length=200)
    description = forms.CharField(label=_("说明"), max_length=300, required=False)
    scopes = forms.MultipleChoiceField(
        label=_("授权范围"), choices=Scope.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    is_active = forms.BooleanField(label=_("启用"), required=False, initial=True)


class ApiTokenForm(BootstrapMixin, forms.Form):
    name = forms.CharField(label=_("令牌名称"), max_length=100, required=False)
    expires_at = forms.DateTimeField(
        label=_("到期时间"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=_("留空为 180 天，最长 365 天。"),
    )
