"""What every page needs: the navigation for the user's roles and the unread badge."""

from __future__ import annotations

from core.navigation import menu_for


def shell(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_menu": []}
    return {"nav_menu": menu_for(user), "current_path": request.path}
