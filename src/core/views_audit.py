"""The auditor's pages (S§35): the audit trail with filters, keyset paging, export, chain status.

Only AUDITOR and AUDIT_ADMIN see these pages (the system admin and everyone else get 403).
Reading is itself audited. URL patterns live here and are included by ``core/urls.py``.
"""

from __future__ import annotations

import json

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views import View

from core import audit, dashboard
from core.api.audit import AuditEventFilterSet
from core.errors import NotFound
from core.navigation import NavItem, register

PAGE_SIZE = 50
#: Filters shown first; the id-based ones sit under "更多条件".
PRIMARY_FIELDS = ("actor_name", "unit_name", "action", "target", "purpose", "since", "until")

#: An unchained event older than this means the chainer is not running (it runs every few seconds).
CHAINER_STALE_SECONDS = 120

register(
    NavItem(_("审计记录"), "core:audit-list", visible=audit.can_read_audit, group=_("安全与审计"), order=700)
)


@dashboard.register
def audit_chain_panel(user) -> list[dict]:
    """For auditors, the audit admin and the security admin: a broken chain or a stalled chainer.
    Nothing when all is well (a panel nobody has to act on is noise)."""
    from accounts.roles import Role

    reader = audit.can_read_audit(user)
    if not (reader or (user.is_authenticated and user.has_role(Role.SEC_ADMIN))):
        return []
    status = audit.chain_status()
    url = reverse("core:audit-list") if reader else ""
    items = []
    if status.verified_ok is False:
        items.append(
            {"label": _("审计链校验失败"), "note": status.verified_message, "level": "danger", "url": url}
        )
    age = status.pending_age_seconds
    if age is not None and age > CHAINER_STALE_SECONDS:
        oldest = timezone.localtime(status.oldest_pending_at).strftime("%Y-%m-%d %H:%M:%S")
        items.append(
            {
                "label": _("审计链接程序可能未运行"),
                "note": _("%(n)s 条事件待链接，最早 %(t)s") % {"n": status.pending, "t": oldest},
                "level": "warning",
                "url": url,
            }
        )
    if not items:
        return []
    level = "danger" if status.verified_ok is False else "warning"
    return [
        {"title": _("审计链"), "count": len(items), "level": level, "items": items, "url": url, "order": 5}
    ]


class _AuditReaderMixin(LoginRequiredMixin):
    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not audit.can_read_audit(request.user):
            raise DjangoPermissionDenied
        return super().dispatch(request, *args, **kwargs)


class AuditEventListView(_AuditReaderMixin, View):
    """审计记录列表：筛选、按编号倒序的游标分页、导出、审计链状态。"""

    def get(self, request):
        qs = audit.audit_event_list(user=request.user)
        params = request.GET.copy()
        before = params.pop("before", [""])[-1]
        fs = AuditEventFilterSet(params, queryset=qs)
        status = audit.chain_status()  # before this read is itself recorded
        events, has_next, used = [], False, {}
        if fs.is_valid():
            qs = fs.qs
            used = {k: str(v) for k, v in fs.form.cleaned_data.items() if v not in (None, "")}
            if before.isdigit():
                qs = qs.filter(id__lt=int(before))
            events = list(qs.order_by("-id")[: PAGE_SIZE + 1])
            has_next = len(events) > PAGE_SIZE
            events = events[:PAGE_SIZE]
            audit.record_read(
                user=request.user,
                request=request,
                action="core.audit.read",
                details={"filters": used, "returned": len(events), "page": "ui"},
            )
        for key in [k for k, v in params.items() if v == ""]:
            params.pop(key)
        query = params.urlencode()
        context = {
            "crumbs": [(_("审计记录"), None)],
            "filter": fs,
            "primary_fields": PRIMARY_FIELDS,
            "more_used": any(k not in PRIMARY_FIELDS for k in params),
            "events": events,
            "has_next": has_next,
            "next_before": events[-1].pk if events else None,
            "is_first_page": not before,
            "query": query,
            "status": status,
            "export_csv": reverse("core-api:audit-event-export-csv") + (f"?{query}" if query else ""),
            "export_xlsx": reverse("core-api:audit-event-export-xlsx") + (f"?{query}" if query else ""),
        }
        template = "core/audit/_table.html" if getattr(request, "htmx", False) else "core/audit/list.html"
        return render(request, template, context)


class AuditEventDetailView(_AuditReaderMixin, View):
    """一条审计事件的全部字段与哈希。"""

    def get(self, request, pk: int):
        try:
            event = audit.audit_event_get(user=request.user, event_id=pk)
        except NotFound:
            from django.http import Http404

            raise Http404
        audit.record_read(user=request.user, request=request, action="core.audit.read", target=event)
        context = {
            "event": event,
            "details_json": json.dumps(event.details, ensure_ascii=False, indent=2, sort_keys=True),
            "crumbs": [(_("审计记录"), reverse("core:audit-list")), (f"#{event.pk}", None)],
        }
        return render(request, "core/audit/detail.html", context)


urlpatterns = [
    path("", AuditEventListView.as_view(), name="audit-list"),
    path("<int:pk>/", AuditEventDetailView.as_view(), name="audit-detail"),
]
