"""Browser forms of the cloud app. They only parse input; the services decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from cloud.models import AttachmentKind, Exemption, SsoStatus

_TEXT = {"class": "form-control"}
_AREA = {"class": "form-control", "rows": 3}


class SystemForm(forms.Form):
    name = forms.CharField(label=_("系统名称"), max_length=200, widget=forms.TextInput(attrs=_TEXT))
    description = forms.CharField(label=_("系统简介"), required=False, widget=forms.Textarea(attrs=_AREA))
    protection_level = forms.TypedChoiceField(
        label=_("等保级别"),
        coerce=int,
        choices=[(i, _("%(n)s 级") % {"n": i}) for i in range(1, 6)],
        initial=2,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    filing_certificate_no = forms.CharField(
        label=_("等保备案证明编号"),
        required=False,
        max_length=60,
        widget=forms.TextInput(attrs=_TEXT),
        help_text=_("等保四级及以上必填（C§34）；四级及以上系统自动登记为不上云例外（C§4）。"),
    )
    filing_date = forms.DateField(
        label=_("备案日期"),
        required=False,
        widget=forms.DateInput(attrs={"class": "form-control", "type": "date"}),
    )
    is_classified = forms.BooleanField(
        label=_("涉密系统"), required=False, help_text=_("涉密系统不适用本办法，不能登记（C§2）。")
    )
    sso_status = forms.ChoiceField(
        label=_("统一认证接入"),
        choices=SsoStatus.choices,
        widget=forms.Select(attrs={"class": "form-select"}),
    )


class ApplicationForm(forms.Form):
    """C§10 materials; the product quantities are read from ``qty_<product id>`` inputs."""

    system = forms.TypedChoiceField(
        label=_("应用系统"), coerce=int, widget=forms.Select(attrs={"class": "form-select"})
    )
    construction_plan = forms.CharField(label=_("应用系统建设方案"), widget=forms.Textarea(attrs=_AREA))
    self_test_report = forms.CharField(label=_("性能和安全自测报告"), widget=forms.Textarea(attrs=_AREA))

    def __init__(self, *args, systems=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["system"].choices = [(s.pk, s.name) for s in systems]


class ExemptionForm(forms.Form):
    system = forms.TypedChoiceField(
        label=_("应用系统"), coerce=int, widget=forms.Select(attrs={"class": "form-select"})
    )
    kind = forms.ChoiceField(
        label=_("类别"), choices=Exemption.Kind.choices, widget=forms.Select(attrs={"class": "form-select"})
    )
    legal_basis = forms.CharField(label=_("法律法规依据"), widget=forms.Textarea(attrs=_AREA))
    reason = forms.CharField(label=_("理由"), required=False, widget=forms.Textarea(attrs=_AREA))

    def __init__(self, *args, systems=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["system"].choices = [(s.pk, s.name) for s in systems]


class MigrationForm(forms.Form):
    system = forms.TypedChoiceField(
        label=_("应用系统"), coerce=int, widget=forms.Select(attrs={"class": "form-select"})
    )
    target_date = forms.DateField(
        label=_("计划迁移日期"), widget=forms.DateInput(attrs={"class": "form-control", "type": "date"})
    )
    backup_plan = forms.CharField(label=_("迁移前数据备份措施（C§20）"), widget=forms.Textarea(attrs=_AREA))

    def __init__(self, *args, systems=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["system"].choices = [(s.pk, s.name) for s in systems]


ATTACHMENT_KINDS = [(k, v) for k, v in AttachmentKind.choices if k != AttachmentKind.SIGNED_AGREEMENT]
