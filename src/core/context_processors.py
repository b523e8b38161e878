"""What every page needs: the navigation for the user's roles and the unread badge."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from core.navigation import menu_for

try:
    GOVHUB_VERSION = version("govhub")
except PackageNotFoundError:  # running from a source tree that was never installed
    GOVHUB_VERSION = "dev"


def _mark_active(menu: list[dict], path: str) -> list[dict]:
    """Mark the one entry whose URL is the longest prefix of the current path."""
    best = None
    for group in menu:
        for item in group["items"]:
            url = item["url"]
            if (url == path or (url != "/" and path.startswith(url))) and (
                best is None or len(url) > len(best["url"])
            ):
                best = item
    for group in menu:
        for item in group["items"]:
            item["active"] = item is best
    return menu


def shell(request):
    user = getattr(request, "user", None)
    base = {"govhub_version": GOVHUB_VERSION, "current_path": request.path}
    if user is None or not user.is_authenticated:
        return {**base, "nav_menu": [], "shell_roles": []}
    roles = [str(r.get_role_display()) for r in user.role_assignments.all()]
    return {
        **base,
        "nav_menu": _mark_active(menu_for(user), request.path),
        "shell_roles": roles,
        "calendar_banner_years": _calendar_banner_years(user),
        "unread_notification_count": lambda: _unread_notifications(user),
    }


def _unread_notifications(user) -> int:
    """The header badge (core/notifications/_badge.html); counted only when a page shows it."""
    from core.notify import notification_unread_count

    return notification_unread_count(user=user)


def _calendar_banner_years(user) -> list[int]:
    """Years for the banner "20XX 年节假日安排尚未确认" (center admin; core/calendar/banner.html)."""
    from core import calendar

    return calendar.years_without_data() if calendar.can_manage_calendar(user) else []
