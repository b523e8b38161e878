"""One FilterSet per listable model, shared by the UI lists and the API (NetBox). Filters narrow
what the selectors already scoped to the caller; they never widen it."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from accounts.models import Unit
from cloud.models import (
    ApplicationStatus,
    AppSystem,
    CloudApplication,
    CloudStatus,
    Exemption,
    MigrationPlan,
    ProvisionedResource,
    SsoStatus,
)


class AppSystemFilterSet(django_filters.FilterSet):
    owner = django_filters.ModelChoiceFilter(queryset=Unit.objects.all(), label=_("所属单位"))
    cloud_status = django_filters.ChoiceFilter(choices=CloudStatus.choices, label=_("上云状态"))
    sso_status = django_filters.ChoiceFilter(choices=SsoStatus.choices, label=_("统一认证接入"))
    protection_level = django_filters.NumberFilter(label=_("等保级别"))

    class Meta:
        model = AppSystem
        fields = ["owner", "cloud_status", "sso_status", "protection_level"]


class CloudApplicationFilterSet(django_filters.FilterSet):
    unit = django_filters.ModelChoiceFilter(queryset=Unit.objects.all(), label=_("申请单位"))
    status = django_filters.ChoiceFilter(choices=ApplicationStatus.choices, label=_("状态"))
    system = django_filters.NumberFilter(field_name="system_id", label=_("应用系统"))

    class Meta:
        model = CloudApplication
        fields = ["unit", "status", "system"]


class ProvisionedResourceFilterSet(django_filters.FilterSet):
    application = django_filters.NumberFilter(field_name="application_id", label=_("申请"))
    kind = django_filters.CharFilter(field_name="product__kind", label=_("产品类别"))

    class Meta:
        model = ProvisionedResource
        fields = ["application", "kind"]


class ExemptionFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Exemption.Status.choices, label=_("状态"))
    kind = django_filters.ChoiceFilter(choices=Exemption.Kind.choices, label=_("类别"))

    class Meta:
        model = Exemption
        fields = ["status", "kind"]


class MigrationPlanFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=MigrationPlan.Status.choices, label=_("状态"))

    class Meta:
        model = MigrationPlan
        fields = ["status"]


def apply(filterset_class, request, queryset):
    """Filter ``queryset`` by the request's query string; a bad value is a clear 400, not a 500."""
    from core.errors import Invalid

    filterset = filterset_class(
        request.GET if hasattr(request, "GET") else request.query_params, queryset=queryset
    )
    if not filterset.is_valid():
        errors = {field: [str(e) for e in errs] for field, errs in filterset.errors.items()}
        raise Invalid("cloud.invalid_filter", _("筛选条件无效。"), {"fields": errors})
    return filterset.qs
