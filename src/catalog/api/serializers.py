"""Translate HTTP ↔ services: shape and types here, rules in the services."""

from __future__ import annotations

from rest_framework import serializers

from ..models import (
    AuthoritativeConcept,
    CampaignEntry,
    Channel,
    DataItem,
    Demand,
    PlannedResource,
    ProjectCatalog,
    Resource,
    ResourceVersion,
    ReviewCampaign,
    SingleSourceClaim,
)
from ..services import ITEM_FIELDS


class DataItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = DataItem
        fields = ["id", "position", *ITEM_FIELDS]


class DataItemInputSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=100)
    name = serializers.CharField(max_length=200)
    data_type = serializers.CharField(required=False, default="string")
    length = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=100000)
    precision = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=100)
    required = serializers.BooleanField(required=False, default=False)
    is_key = serializers.BooleanField(required=False, default=False)
    identifier_kind = serializers.CharField(required=False, default="", allow_blank=True)
    sensitivity = serializers.CharField(required=False, default="internal")
    description = serializers.CharField(required=False, default="", allow_blank=True, max_length=300)


class ResourceInputSerializer(serializers.Serializer):
    """Input of create / update / change proposal. Only given fields are passed on."""

    name = serializers.CharField(max_length=200, required=False)
    summary = serializers.CharField(required=False, allow_blank=True)
    classification = serializers.CharField(required=False)
    format = serializers.CharField(required=False)
    sharing_type = serializers.CharField(required=False)
    sharing_conditions = serializers.CharField(required=False, allow_blank=True)
    not_shared_basis = serializers.CharField(required=False, allow_blank=True)
    open_attribute = serializers.CharField(required=False)
    update_cycle = serializers.CharField(required=False)
    channels = serializers.ListField(child=serializers.ChoiceField(choices=Channel.choices), required=False)
    app_system_name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    keywords = serializers.CharField(required=False, allow_blank=True, max_length=300)
    contact_name = serializers.CharField(required=False, allow_blank=True, max_length=50)
    contact_phone = serializers.CharField(required=False, allow_blank=True, max_length=30)
    is_classified = serializers.BooleanField(required=False)
    items = DataItemInputSerializer(many=True, required=False)
    reason = serializers.CharField(required=False, allow_blank=True)

    def split(self) -> tuple[dict, list | None, str]:
        data = dict(self.validated_data)
        items = data.pop("items", None)
        reason = data.pop("reason", "")
        return data, [dict(i) for i in items] if items is not None else None, reason


class CatalogResourceSerializer(serializers.ModelSerializer):
    provider_name = serializers.CharField(source="provider.name", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    sharing_type_display = serializers.CharField(source="get_sharing_type_display", read_only=True)
    classification_display = serializers.CharField(source="get_classification_display", read_only=True)

    class Meta:
        model = Resource
        fields = [
            "id",
            "code",
            "name",
            "provider",
            "provider_name",
            "summary",
            "classification",
            "classification_display",
            "format",
            "sharing_type",
            "sharing_type_display",
            "sharing_conditions",
            "not_shared_basis",
            "open_attribute",
            "update_cycle",
            "channels",
            "app_system_name",
            "keywords",
            "contact_name",
            "contact_phone",
            "is_classified",
            "status",
            "status_display",
            "version",
            "return_reason",
            "withdrawn_reason",
            "first_published_at",
            "data_updated_at",
            "updated_at",
        ]


class CatalogResourceDetailSerializer(CatalogResourceSerializer):
    items = DataItemSerializer(many=True, read_only=True)

    class Meta(CatalogResourceSerializer.Meta):
        fields = [*CatalogResourceSerializer.Meta.fields, "items"]


class ResourceVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ResourceVersion
        fields = [
            "id",
            "resource",
            "number",
            "status",
            "snapshot",
            "diff",
            "reason",
            "return_reason",
            "created_at",
            "published_at",
        ]


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, required=False, default="")


class SubmitSerializer(serializers.Serializer):
    justification = serializers.CharField(allow_blank=True, required=False, default="")


class SecrecySerializer(serializers.Serializer):
    no_state_secrets = serializers.BooleanField(required=False, default=False)
    note = serializers.CharField(allow_blank=True, required=False, default="")


class ApproveSerializer(serializers.Serializer):
    confirm_legal_basis = serializers.BooleanField(required=False, default=False)
    note = serializers.CharField(allow_blank=True, required=False, default="")


class ConceptSerializer(serializers.ModelSerializer):
    unit_name = serializers.CharField(source="unit.name", read_only=True)

    class Meta:
        model = AuthoritativeConcept
        fields = ["id", "name", "unit", "unit_name", "identifier_kind", "item_names", "description"]


class ClaimSerializer(serializers.ModelSerializer):
    class Meta:
        model = SingleSourceClaim
        fields = ["id", "resource", "concept", "justification", "status", "decision_note", "decided_at"]


class ClaimDecideSerializer(serializers.Serializer):
    accept = serializers.BooleanField()
    note = serializers.CharField(allow_blank=True, required=False, default="")


class DemandSerializer(serializers.ModelSerializer):
    class Meta:
        model = Demand
        fields = [
            "id",
            "requester",
            "target",
            "title",
            "description",
            "purpose",
            "status",
            "resource",
            "answer",
            "created_at",
            "answered_at",
        ]
        read_only_fields = ["requester", "status", "resource", "answer", "created_at", "answered_at"]


class DemandAnswerSerializer(serializers.Serializer):
    resource = serializers.IntegerField(required=False, allow_null=True)
    answer = serializers.CharField(allow_blank=True, required=False, default="")


class CampaignSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReviewCampaign
        fields = ["id", "year", "due_date", "status", "opened_at"]
        read_only_fields = ["status", "opened_at"]


class CampaignEntrySerializer(serializers.ModelSerializer):
    resource_name = serializers.CharField(source="resource.name", read_only=True)

    class Meta:
        model = CampaignEntry
        fields = ["id", "campaign", "resource", "resource_name", "unit", "status", "done_at"]


class PlannedResourceSerializer(serializers.ModelSerializer):
    class Meta:
        model = PlannedResource
        fields = ["id", "name", "classification", "sharing_type", "summary", "resource"]
        read_only_fields = ["resource"]


class ProjectSerializer(serializers.ModelSerializer):
    planned = PlannedResourceSerializer(many=True, read_only=True)

    class Meta:
        model = ProjectCatalog
        fields = ["id", "unit", "name", "project_code", "app_system_name", "planned", "created_at"]
        read_only_fields = ["unit", "created_at"]


class CatalogActionInputSerializer(serializers.Serializer):
    """Body of a workflow action; which fields count depends on the action."""

    justification = serializers.CharField(required=False, allow_blank=True, help_text="submit: 一数一源理由")
    no_state_secrets = serializers.BooleanField(required=False, help_text="secrecy-confirm: 不涉及国家秘密")
    confirm_legal_basis = serializers.BooleanField(required=False, help_text="approve: 确认不予共享依据")
    reason = serializers.CharField(
        required=False, allow_blank=True, help_text="return / withdraw / secrecy-reject"
    )
    note = serializers.CharField(required=False, allow_blank=True)


class CatalogImportInputSerializer(serializers.Serializer):
    file = serializers.FileField()


class CatalogImportResultSerializer(serializers.Serializer):
    created = serializers.ListField(child=serializers.DictField())


class SearchResultSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    results = CatalogResourceSerializer(many=True)
    facets = serializers.DictField()


class LinkInputSerializer(serializers.Serializer):
    resource = serializers.IntegerField()


class RemindResultSerializer(serializers.Serializer):
    reminded_units = serializers.IntegerField()
