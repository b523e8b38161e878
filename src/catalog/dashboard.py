"""Dashboard panel: catalog entries awaiting my review (secrecy review or center review)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from core.dashboard import register

from .selectors import review_queue


@register
def catalog_review_panel(user) -> list[dict]:
    queue = review_queue(user=user)
    items = [
        {"label": f"{r.name}", "url": f"/catalog/resources/{r.pk}/", "note": r.get_status_display()}
        for r in queue["resources"]
    ]
    items += [
        {
            "label": _("变更：%(name)s") % {"name": c.resource.name},
            "url": f"/catalog/resources/{c.resource_id}/",
        }
        for c in queue["changes"]
    ]
    items += [
        {
            "label": _("一数一源说明：%(name)s") % {"name": c.resource.name},
            "url": f"/catalog/resources/{c.resource_id}/",
        }
        for c in queue["claims"]
    ]
    if not items:
        return []
    return [
        {"title": _("待我审核的目录"), "items": items[:20], "count": len(items), "url": "/catalog/review/"}
    ]
