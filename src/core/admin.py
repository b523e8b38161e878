"""Django admin for core. The audit trail is read-only here too (S§35): no add, change or delete,
and only people who may read the audit trail (AUDITOR, AUDIT_ADMIN) see it at all."""

from __future__ import annotations

from django.contrib import admin

from core.audit import can_read_audit
from core.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "seq",
        "occurred_at",
        "actor_label",
        "unit_label",
        "action",
        "target_label",
        "purpose",
    )
    list_filter = ("action",)
    search_fields = ("actor_label", "action", "target_label", "target_id", "purpose", "request_id")
    date_hierarchy = "occurred_at"
    ordering = ("-id",)
    actions = None

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        return can_read_audit(request.user)

    def has_module_permission(self, request) -> bool:
        return can_read_audit(request.user)
