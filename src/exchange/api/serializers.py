from __future__ import annotations

from rest_framework import serializers

from exchange.models import AccessRequest, Grant, PurposeCategory


class GrantSerializer(serializers.ModelSerializer):
    resource_code = serializers.CharField(source="resource.code", read_only=True)
    resource_name = serializers.CharField(source="resource.name", read_only=True)
    consumer_name = serializers.CharField(source="consumer.name", read_only=True)
    provider_name = serializers.CharField(source="resource.provider.name", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = Grant
        fields = [
            "id",
            "resource",
            "resource_code",
            "resource_name",
            "provider_name",
            "consumer",
            "consumer_name",
            "items",
            "row_filter",
            "purpose_category",
            "purpose",
            "channels",
            "allow_plain",
            "api_client_ids",
            "valid_from",
            "valid_to",
            "status",
            "status_display",
            "status_reason",
            "created_at",
        ]
        read_only_fields = fields


class AccessRequestSerializer(serializers.ModelSerializer):
    resource_code = serializers.CharField(source="resource.code", read_only=True)
    resource_name = serializers.CharField(source="resource.name", read_only=True)
    consumer_name = serializers.CharField(source="consumer.name", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = AccessRequest
        fields = [
            "id",
            "resource",
            "resource_code",
            "resource_name",
            "consumer",
            "consumer_name",
            "purpose_category",
            "purpose",
            "basis",
            "items",
            "channels",
            "api_client_ids",
            "valid_from",
            "valid_to",
            "status",
            "status_display",
            "provider_agrees",
            "provider_opinion",
            "provider_opinion_at",
            "decision_reason",
            "decided_at",
            "created_at",
        ]
        read_only_fields = fields


class ObtainSerializer(serializers.Serializer):
    resource = serializers.CharField(help_text="资源代码")
    items = serializers.ListField(child=serializers.CharField(max_length=40), max_length=500)
    purpose_category = serializers.ChoiceField(choices=PurposeCategory.choices)
    purpose = serializers.CharField(max_length=300)
    channels = serializers.ListField(child=serializers.CharField(max_length=30), max_length=10)
    valid_to = serializers.DateField(required=False)
    api_client_ids = serializers.ListField(child=serializers.IntegerField(), required=False, max_length=50)


class SubmitSerializer(ObtainSerializer):
    basis = serializers.CharField(max_length=2000)
    valid_from = serializers.DateField(required=False)


class OpinionSerializer(serializers.Serializer):
    agrees = serializers.BooleanField()
    opinion = serializers.CharField(max_length=2000, allow_blank=True, required=False, default="")


class DecideSerializer(serializers.Serializer):
    approve = serializers.BooleanField()
    reason = serializers.CharField(max_length=2000, allow_blank=True, required=False, default="")
    items = serializers.ListField(child=serializers.CharField(max_length=40), required=False, max_length=500)
    valid_to = serializers.DateField(required=False)
    row_filter = serializers.DictField(required=False)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class NarrowSerializer(ReasonSerializer):
    items = serializers.ListField(child=serializers.CharField(max_length=40), required=False, max_length=500)
    valid_to = serializers.DateField(required=False)


class RenewSerializer(serializers.Serializer):
    valid_to = serializers.DateField()


class WebhookCreateSerializer(serializers.Serializer):
    # Not URLField: intranet hosts without a domain (``http://qzj-node:8080/…``) are legitimate
    # targets; ``webhooks.webhook_create`` checks the scheme, host and absence of credentials.
    url = serializers.CharField(max_length=500)


class WebhookSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    grant = serializers.IntegerField(source="grant_id")
    url = serializers.URLField()
    active = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class DeliverySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    webhook = serializers.IntegerField(source="webhook_id")
    event = serializers.CharField()
    status = serializers.CharField()
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField()
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
