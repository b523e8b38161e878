from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from catalog.models import Channel
from exchange.models import PurposeCategory


class ObtainForm(forms.Form):
    """Unconditional: state purpose and data items (S§29)."""

    items = forms.MultipleChoiceField(label=_("信息项"), widget=forms.CheckboxSelectMultiple)
    purpose_category = forms.ChoiceField(label=_("用途类别"), choices=PurposeCategory.choices)
    purpose = forms.CharField(
        label=_("用途说明"), max_length=300, widget=forms.TextInput(attrs={"class": "form-control"})
    )
    channels = forms.MultipleChoiceField(
        label=_("共享方式"), choices=Channel.choices, widget=forms.CheckboxSelectMultiple
    )
    valid_to = forms.DateField(
        label=_("使用截止日期"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}),
    )

    def __init__(self, *args, resource=None, **kwargs):
        super().__init__(*args, **kwargs)
        if resource is not None:
            self.fields["items"].choices = [(i.code, f"{i.name}（{i.code}）") for i in resource.items.all()]
            offered = set(resource.channels or Channel.values)
            self.fields["channels"].choices = [c for c in Channel.choices if c[0] in offered]
        self.fields["purpose_category"].widget.attrs["class"] = "form-select"


class AccessRequestForm(ObtainForm):
    """Conditional: purpose, legal or duty basis, items, period, channels (S§29, S§31)."""

    basis = forms.CharField(
        label=_("法律或职责依据"), widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"})
    )
    valid_from = forms.DateField(
        label=_("开始日期"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}),
    )


class OpinionForm(forms.Form):
    agrees = forms.TypedChoiceField(
        label=_("意见"),
        choices=[("1", _("同意共享")), ("0", _("不同意共享"))],
        coerce=lambda v: v == "1",
        widget=forms.RadioSelect,
    )
    opinion = forms.CharField(
        label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"})
    )


class DecideForm(forms.Form):
    approve = forms.TypedChoiceField(
        label=_("决定"),
        choices=[("1", _("批准")), ("0", _("不予批准"))],
        coerce=lambda v: v == "1",
        widget=forms.RadioSelect,
    )
    items = forms.MultipleChoiceField(
        label=_("批准的信息项"), required=False, widget=forms.CheckboxSelectMultiple
    )
    valid_to = forms.DateField(
        label=_("批准截止日期"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}),
    )
    reason = forms.CharField(
        label=_("理由"), required=False, widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"})
    )

    def __init__(self, *args, access_request=None, **kwargs):
        super().__init__(*args, **kwargs)
        if access_request is not None:
            names = dict(access_request.resource.items.values_list("code", "name"))
            self.fields["items"].choices = [(c, f"{names.get(c, c)}（{c}）") for c in access_request.items]
            self.fields["items"].initial = list(access_request.items)
            self.fields["valid_to"].initial = access_request.valid_to


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("原因"), max_length=300, widget=forms.TextInput(attrs={"class": "form-control"})
    )
