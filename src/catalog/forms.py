"""Browser forms of the catalog: shape only; the services enforce the rules."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Unit

from .models import (
    Channel,
    Classification,
    DataType,
    IdentifierKind,
    OpenAttribute,
    Purpose,
    ResourceFormat,
    Sensitivity,
    SharingType,
    UpdateCycle,
)


class ResourceForm(forms.Form):
    name = forms.CharField(label=_("资源名称"), max_length=200)
    classification = forms.ChoiceField(label=_("资源分类"), choices=Classification.choices)
    format = forms.ChoiceField(label=_("资源格式"), choices=ResourceFormat.choices)
    sharing_type = forms.ChoiceField(label=_("共享类型"), choices=SharingType.choices)
    sharing_conditions = forms.CharField(
        label=_("共享条件"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("有条件共享时必填。"),
    )
    not_shared_basis = forms.CharField(
        label=_("不予共享依据"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("不予共享时必填，须引用法律、行政法规或政策（S§14）。"),
    )
    open_attribute = forms.ChoiceField(
        label=_("开放属性"), choices=OpenAttribute.choices, initial=OpenAttribute.NOT_OPEN
    )
    update_cycle = forms.ChoiceField(
        label=_("更新周期"), choices=UpdateCycle.choices, initial=UpdateCycle.DAILY
    )
    channels = forms.MultipleChoiceField(
        label=_("共享方式"), choices=Channel.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    summary = forms.CharField(label=_("资源摘要"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    keywords = forms.CharField(label=_("关键词"), required=False, max_length=300)
    app_system_name = forms.CharField(label=_("关联应用系统"), required=False, max_length=200)
    contact_name = forms.CharField(label=_("联系人"), required=False, max_length=50)
    contact_phone = forms.CharField(label=_("联系电话"), required=False, max_length=30)
    reason = forms.CharField(label=_("变更说明"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class DataItemForm(forms.Form):
    code = forms.CharField(label=_("信息项代码"), max_length=100, required=False)
    name = forms.CharField(label=_("信息项名称"), max_length=100, required=False)
    data_type = forms.ChoiceField(label=_("数据类型"), choices=DataType.choices, initial=DataType.STRING)
    length = forms.IntegerField(label=_("长度"), required=False, min_value=0)
    required = forms.BooleanField(label=_("必填"), required=False)
    is_key = forms.BooleanField(label=_("主键项"), required=False)
    identifier_kind = forms.ChoiceField(label=_("标识类型"), choices=IdentifierKind.choices, required=False)
    sensitivity = forms.ChoiceField(
        label=_("敏感级别"), choices=Sensitivity.choices, initial=Sensitivity.INTERNAL
    )
    description = forms.CharField(label=_("说明"), max_length=300, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if isinstance(field, forms.BooleanField):
                field.widget.attrs["class"] = "form-check-input"
            elif isinstance(field, forms.ChoiceField):
                field.widget.attrs["class"] = "form-select form-select-sm"
            else:
                field.widget.attrs["class"] = "form-control form-control-sm"
            field.widget.attrs["aria-label"] = str(field.label)
            field.widget.attrs["data-field"] = name

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {}) or {}
        return not (data.get("code") or data.get("name"))


DataItemFormSet = forms.formset_factory(DataItemForm, extra=3, max_num=200)


class ImportForm(forms.Form):
    file = forms.FileField(label=_("已填写的模板（.xlsx）"))


class DemandForm(forms.Form):
    target = forms.ModelChoiceField(
        label=_("提供单位"), queryset=Unit.objects.filter(kind=Unit.Kind.UNIT, is_active=True)
    )
    title = forms.CharField(label=_("需求名称"), max_length=200)
    purpose = forms.ChoiceField(label=_("使用用途"), choices=Purpose.choices)
    description = forms.CharField(
        label=_("需求描述"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class ConceptForm(forms.Form):
    name = forms.CharField(label=_("数据概念"), max_length=100, help_text=_("如 人口.身份证号+姓名"))
    unit = forms.ModelChoiceField(label=_("权威来源单位"), queryset=Unit.objects.filter(kind=Unit.Kind.UNIT))
    identifier_kind = forms.ChoiceField(label=_("标识类型"), choices=IdentifierKind.choices, required=False)
    item_names = forms.CharField(
        label=_("信息项名称"), required=False, help_text=_("多个用逗号分隔，如 姓名")
    )
    description = forms.CharField(label=_("说明"), required=False, max_length=300)


class CampaignForm(forms.Form):
    year = forms.IntegerField(label=_("年度"), min_value=2019, max_value=2100)
    due_date = forms.DateField(label=_("截止日期"), widget=forms.DateInput(attrs={"type": "date"}))


class ProjectForm(forms.Form):
    name = forms.CharField(label=_("项目名称"), max_length=200)
    project_code = forms.CharField(label=_("项目编号"), max_length=50, required=False)
    app_system_name = forms.CharField(label=_("关联应用系统"), max_length=200, required=False)
    planned_name = forms.CharField(label=_("预登记资源名称"), max_length=200)
    planned_classification = forms.ChoiceField(label=_("资源分类"), choices=Classification.choices)
    planned_sharing_type = forms.ChoiceField(label=_("共享类型"), choices=SharingType.choices)
