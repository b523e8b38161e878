"""Forms of the datastore UI (the services do the checking)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import LoadMode


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("数据文件"), help_text=_("CSV（UTF-8 或 GBK，逗号/制表符/竖线分隔）、XLSX 或 JSON Lines")
    )
    mode = forms.ChoiceField(label=_("加载方式"), choices=LoadMode.choices, initial=LoadMode.UPSERT)
    sheet = forms.CharField(
        label=_("工作表名称"), required=False, max_length=100, help_text=_("XLSX 可选，默认第一个工作表")
    )
    reject_threshold = forms.DecimalField(
        label=_("拒绝率阈值"),
        required=False,
        min_value=0,
        max_value=1,
        max_digits=5,
        decimal_places=4,
        initial="0.01",
        help_text=_("超过该比例的行被拒绝时，整个加载失败且不应用任何数据；0.01 表示 1%"),
    )


class SourceChangeForm(forms.Form):
    note = forms.CharField(label=_("变更说明"), required=False, max_length=500)
