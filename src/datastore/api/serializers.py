"""Serializers of the datastore API: translate HTTP to service arguments and loads to JSON."""

from __future__ import annotations

from rest_framework import serializers

from ..models import Load, LoadMode, LoadReject, SourceChange


class LoadSerializer(serializers.ModelSerializer):
    resource_name = serializers.CharField(source="resource.name", read_only=True)
    created_by_name = serializers.SerializerMethodField()
    progress_percent = serializers.IntegerField(read_only=True)

    class Meta:
        model = Load
        fields = [
            "id",
            "resource",
            "resource_name",
            "status",
            "mode",
            "source",
            "file_name",
            "file_size",
            "checksum",
            "sheet_name",
            "encoding",
            "delimiter",
            "reject_threshold",
            "rows_read",
            "rows_accepted",
            "rows_rejected",
            "rows_inserted",
            "rows_updated",
            "rows_deleted",
            "rows_unchanged",
            "progress_rows",
            "progress_percent",
            "version",
            "error_code",
            "error_message",
            "attempts",
            "created_by_name",
            "created_at",
            "started_at",
            "finished_at",
            "duration_ms",
        ]
        read_only_fields = fields

    def get_created_by_name(self, obj: Load) -> str:
        return str(obj.created_by) if obj.created_by_id else ""


class LoadUploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True)
    mode = serializers.ChoiceField(choices=LoadMode.choices, default=LoadMode.UPSERT)
    sheet = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    reject_threshold = serializers.DecimalField(
        required=False, allow_null=True, max_digits=5, decimal_places=4, min_value=0, max_value=1
    )


class PushSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=LoadMode.choices, default=LoadMode.UPSERT)
    rows = serializers.ListField(child=serializers.DictField(), allow_empty=False)


class RejectSerializer(serializers.ModelSerializer):
    class Meta:
        model = LoadReject
        fields = ["line", "column", "reason", "value"]


class SourceChangeInputSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class SourceChangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = SourceChange
        fields = ["id", "resource", "note", "reported_at", "met_by_load", "met_at"]
