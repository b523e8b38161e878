"""One FilterSet per listable model, shared by the UI lists and the API (NetBox)."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from accounts.models import Unit

from .models import (
    Classification,
    Demand,
    DemandStatus,
    OpenAttribute,
    Resource,
    ResourceFormat,
    ResourceStatus,
    SharingType,
    UpdateCycle,
)


class ResourceFilterSet(django_filters.FilterSet):
    """Facet filters of the catalog; the free-text query ``q`` is applied by the search selector."""

    provider = django_filters.ModelChoiceFilter(queryset=Unit.objects.all(), label=_("提供单位"))
    classification = django_filters.ChoiceFilter(choices=Classification.choices, label=_("资源分类"))
    sharing_type = django_filters.ChoiceFilter(choices=SharingType.choices, label=_("共享类型"))
    open_attribute = django_filters.ChoiceFilter(choices=OpenAttribute.choices, label=_("开放属性"))
    update_cycle = django_filters.ChoiceFilter(choices=UpdateCycle.choices, label=_("更新周期"))
    format = django_filters.ChoiceFilter(choices=ResourceFormat.choices, label=_("资源格式"))
    status = django_filters.ChoiceFilter(choices=ResourceStatus.choices, label=_("状态"))

    class Meta:
        model = Resource
        fields = [
            "provider",
            "classification",
            "sharing_type",
            "open_attribute",
            "update_cycle",
            "format",
            "status",
        ]


class DemandFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=DemandStatus.choices, label=_("状态"))

    class Meta:
        model = Demand
        fields = ["status", "requester", "target"]
