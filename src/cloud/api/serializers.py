"""Serializers of the cloud API: output shapes and input parsing only; rules live in services."""

from __future__ import annotations

from rest_framework import serializers

from cloud import selectors, services
from cloud.models import (
    AppSystem,
    ChangeRequest,
    CloudApplication,
    CloudAttachment,
    CloudProduct,
    Exemption,
    MigrationPlan,
    ProvisionedResource,
    RequestLine,
    TestEvaluation,
)


class ProductSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)

    class Meta:
        model = CloudProduct
        fields = [
            "id",
            "code",
            "name",
            "kind",
            "kind_display",
            "vcpu",
            "memory_gb",
            "storage_gb",
            "bandwidth_mbps",
            "ip_count",
            "spec",
            "unit_price_month",
        ]
        read_only_fields = ["id"]


class PoolCapacitySerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pool.id")
    name = serializers.CharField(source="pool.name")
    kind = serializers.CharField(source="pool.kind")
    unit = serializers.CharField(source="pool.unit_label")
    total = serializers.IntegerField()
    allocated = serializers.IntegerField()
    used = serializers.IntegerField()
    free = serializers.IntegerField()
    percent = serializers.IntegerField()
    needs_expansion = serializers.BooleanField()


class SystemSerializer(serializers.ModelSerializer):
    owner_name = serializers.CharField(source="owner.name", read_only=True)
    cloud_status_display = serializers.CharField(source="get_cloud_status_display", read_only=True)

    class Meta:
        model = AppSystem
        fields = [
            "id",
            "owner",
            "owner_name",
            "name",
            "description",
            "protection_level",
            "filing_certificate_no",
            "filing_date",
            "is_classified",
            "cloud_status",
            "cloud_status_display",
            "sso_status",
            "resources",
            "created_at",
        ]
        read_only_fields = ["owner", "cloud_status", "created_at"]


class SystemInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    protection_level = serializers.IntegerField()
    filing_certificate_no = serializers.CharField(required=False, allow_blank=True, default="", max_length=60)
    filing_date = serializers.DateField(required=False, allow_null=True, default=None)
    is_classified = serializers.BooleanField(required=False, default=False)
    sso_status = serializers.ChoiceField(
        choices=["not_started", "in_progress", "integrated"], required=False, default="not_started"
    )
    resource_ids = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)


class SystemUpdateSerializer(serializers.Serializer):
    description = serializers.CharField(required=False, allow_blank=True)
    protection_level = serializers.IntegerField(required=False)
    filing_certificate_no = serializers.CharField(required=False, allow_blank=True, max_length=60)
    filing_date = serializers.DateField(required=False, allow_null=True)
    is_classified = serializers.BooleanField(required=False)
    sso_status = serializers.ChoiceField(choices=["not_started", "in_progress", "integrated"], required=False)


class LineSerializer(serializers.ModelSerializer):
    product_code = serializers.CharField(source="product.code", read_only=True)
    product_name = serializers.CharField(source="product.name", read_only=True)

    class Meta:
        model = RequestLine
        fields = [
            "id",
            "product",
            "product_code",
            "product_name",
            "quantity",
            "approved_quantity",
            "is_active",
        ]


class LineInputSerializer(serializers.Serializer):
    product = serializers.IntegerField()
    quantity = serializers.IntegerField()


class AttachmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = CloudAttachment
        fields = ["id", "kind", "filename", "file_type", "size", "uploaded_at"]


class ResourceSerializer(serializers.ModelSerializer):
    product_code = serializers.CharField(source="product.code", read_only=True)
    application = serializers.IntegerField(source="application_id", read_only=True)
    system = serializers.CharField(source="application.system.name", read_only=True)
    unit = serializers.CharField(source="application.unit.name", read_only=True)

    class Meta:
        model = ProvisionedResource
        fields = [
            "id",
            "application",
            "system",
            "unit",
            "product_code",
            "external_id",
            "host_name",
            "ip",
            "vcpu",
            "memory_gb",
            "storage_gb",
            "bandwidth_mbps",
            "provisioned_at",
            "released_at",
        ]


class EvaluationSerializer(serializers.ModelSerializer):
    class Meta:
        model = TestEvaluation
        fields = ["id", "passed", "performance", "security", "evaluated_at"]


class ChangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = ChangeRequest
        fields = [
            "id",
            "lines",
            "reason",
            "is_major",
            "major_reasons",
            "status",
            "requested_at",
            "decided_at",
            "note",
        ]


class ApplicationListSerializer(serializers.ModelSerializer):
    system_name = serializers.CharField(source="system.name", read_only=True)
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = CloudApplication
        fields = [
            "id",
            "system",
            "system_name",
            "unit",
            "unit_name",
            "status",
            "status_display",
            "round",
            "submitted_at",
            "due_at",
            "due_rule",
        ]


class ApplicationSerializer(ApplicationListSerializer):
    lines = serializers.SerializerMethodField()
    timeline = serializers.SerializerMethodField()
    attachments = AttachmentSerializer(many=True, read_only=True)
    evaluations = EvaluationSerializer(many=True, read_only=True)
    changes = ChangeSerializer(many=True, read_only=True)
    resources = serializers.SerializerMethodField()
    allowed_actions = serializers.SerializerMethodField()
    waiting_on = serializers.SerializerMethodField()
    trial_earliest_end = serializers.SerializerMethodField()
    agreement_no = serializers.SerializerMethodField()

    class Meta(ApplicationListSerializer.Meta):
        fields = [
            *ApplicationListSerializer.Meta.fields,
            "construction_plan",
            "self_test_report",
            "review_reasons",
            "trial_started_at",
            "trial_earliest_end",
            "production_at",
            "terminated_at",
            "offboarding_confirmed",
            "backup_confirmed",
            "agreement_no",
            "lines",
            "timeline",
            "attachments",
            "evaluations",
            "changes",
            "resources",
            "allowed_actions",
            "waiting_on",
        ]

    def get_lines(self, obj) -> list[dict]:
        return LineSerializer(obj.lines.filter(is_active=True).select_related("product"), many=True).data

    def get_timeline(self, obj) -> list[dict]:
        return selectors.application_timeline(obj)

    def get_resources(self, obj) -> list[dict]:
        return ResourceSerializer(obj.provisioned.filter(released_at__isnull=True), many=True).data

    def get_allowed_actions(self, obj) -> list[str]:
        return selectors.next_actions(obj)

    def get_waiting_on(self, obj) -> str:
        return selectors.waiting_on(obj)

    def get_trial_earliest_end(self, obj) -> str | None:
        end = services.trial_earliest_end(obj)
        return end.isoformat() if end else None

    def get_agreement_no(self, obj) -> str | None:
        agreement = obj.agreements.first()
        return agreement.agreement_no if agreement else None


class ApplicationInputSerializer(serializers.Serializer):
    system = serializers.IntegerField()
    construction_plan = serializers.CharField(allow_blank=True)
    self_test_report = serializers.CharField(allow_blank=True)
    lines = LineInputSerializer(many=True)


class ExemptionSerializer(serializers.ModelSerializer):
    system_name = serializers.CharField(source="system.name", read_only=True)
    unit_name = serializers.CharField(source="system.owner.name", read_only=True)

    class Meta:
        model = Exemption
        fields = [
            "id",
            "system",
            "system_name",
            "unit_name",
            "kind",
            "legal_basis",
            "reason",
            "certificate_no",
            "status",
            "requested_at",
            "decided_at",
            "decision_note",
        ]


class ExemptionInputSerializer(serializers.Serializer):
    system = serializers.IntegerField()
    kind = serializers.CharField()
    legal_basis = serializers.CharField(allow_blank=True)
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class MigrationSerializer(serializers.ModelSerializer):
    system_name = serializers.CharField(source="system.name", read_only=True)
    flags = serializers.SerializerMethodField()

    class Meta:
        model = MigrationPlan
        fields = [
            "id",
            "system",
            "system_name",
            "target_date",
            "backup_plan",
            "status",
            "went_live_on",
            "keep_until",
            "retired_resource_list",
            "retired_submitted_at",
            "flags",
        ]

    def get_flags(self, obj) -> dict[str, bool]:
        return selectors.migration_flags(obj)


class MigrationInputSerializer(serializers.Serializer):
    system = serializers.IntegerField()
    target_date = serializers.DateField()
    backup_plan = serializers.CharField(allow_blank=True)


class ActionInputSerializer(serializers.Serializer):
    """Body of ``POST /applications/<id>/<action>/`` — each action reads the fields it needs."""

    note = serializers.CharField(required=False, allow_blank=True)
    reasons = serializers.CharField(
        required=False, allow_blank=True, help_text="return / reject / refuse: required"
    )
    approved = serializers.JSONField(required=False, help_text="approve: {line id: approved quantity}")
    passed = serializers.BooleanField(required=False, help_text="test")
    performance = serializers.CharField(required=False, allow_blank=True, help_text="test")
    security = serializers.CharField(required=False, allow_blank=True, help_text="test")
    lines = serializers.JSONField(
        required=False, help_text="resubmit / change: the full configuration, [{product, quantity}]"
    )
    reason = serializers.CharField(required=False, allow_blank=True, help_text="change")
    construction_plan = serializers.CharField(required=False, allow_blank=True)
    self_test_report = serializers.CharField(required=False, allow_blank=True)
    offboarding_confirmed = serializers.BooleanField(required=False, help_text="terminate (C§15)")
    backup_confirmed = serializers.BooleanField(required=False, help_text="terminate (C§15)")
