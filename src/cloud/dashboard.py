"""Dashboard panels: the center's cloud queue by deadline; the unit's cloud to-dos and reminders."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from cloud import selectors
from cloud.models import ApplicationStatus
from cloud.permissions import can_act_for_unit, can_review
from core.dashboard import register


@register
def cloud_panels(user) -> list[dict]:
    if can_review(user):
        queue = list(selectors.center_queue(user=user)[:10])
        pools = [p for p in selectors.pool_capacity_list(user=user) if p.needs_expansion]
        items = [
            {
                "label": f"YS{a.pk:06d} {a.system.name} · {a.get_status_display()}",
                "url": f"/cloud/applications/{a.pk}/",
                "note": _("时限 %(due)s") % {"due": timezone.localtime(a.due_at).strftime("%Y-%m-%d %H:%M")}
                if a.due_at
                else "",
            }
            for a in queue
        ]
        items += [
            {
                "label": _("资源池 %(name)s 已分配 %(p)s%%，请扩容") % {"name": p.pool.name, "p": p.percent},
                "url": "/cloud/center/",
            }
            for p in pools
        ]
        return [{"title": _("政务云待办"), "items": items, "count": len(queue), "url": "/cloud/center/"}]
    if can_act_for_unit(user, user.unit_id):
        waiting = selectors.cloud_application_list(user=user).filter(
            status__in=[ApplicationStatus.RETURNED, ApplicationStatus.TEST_FAILED]
        )
        items = [
            {
                "label": f"{a.system.name} · {a.get_status_display()}",
                "url": f"/cloud/applications/{a.pk}/",
                "note": a.review_reasons,
            }
            for a in waiting
        ]
        items += [
            {"label": _("迁移计划：%(name)s 需要处理") % {"name": m.system.name}, "url": "/cloud/"}
            for m in selectors.migration_attention(user=user)
        ]
        if items:
            return [{"title": _("政务云待办"), "items": items, "count": len(items), "url": "/cloud/"}]
    return []
