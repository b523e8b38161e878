"""Browser pages for the inbox (通知) and background jobs (后台任务). Thin: every read goes through
``core.notify`` / ``core.jobs`` selectors, every change through their services; HTMX requests get
partials, plain requests a redirect."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views import View

from core import jobs, notify
from core.errors import DomainError, NotFound
from core.navigation import NavItem, register

PAGE_SIZE = 30

register(NavItem(_("我的通知"), "core:notification-list", group=_("个人"), order=880))
register(NavItem(_("后台任务"), "core:job-list", group=_("个人"), order=885))


def _is_htmx(request) -> bool:
    return bool(getattr(request, "htmx", False))


class NotificationListView(LoginRequiredMixin, View):
    """我的通知: newest first, unread filter, mark read / mark all read."""

    def get(self, request):
        unread = request.GET.get("unread") == "1"
        qs = notify.notification_list(user=request.user, unread_only=unread)
        page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
        return render(
            request,
            "core/notifications/list.html",
            {
                "page": page,
                "unread_only": unread,
                "unread_count": notify.notification_unread_count(user=request.user),
            },
        )


class NotificationReadView(LoginRequiredMixin, View):
    def post(self, request, pk: int):
        try:
            n = notify.notification_mark_read(notification=pk, by=request.user)
        except NotFound:
            raise Http404
        if _is_htmx(request):
            response = render(request, "core/notifications/_row.html", {"n": n})
            response["HX-Trigger"] = "notifications-changed"
            return response
        target = request.POST.get("next", "")
        if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            return HttpResponseRedirect(target)
        return HttpResponseRedirect(reverse("core:notification-list"))


class NotificationReadAllView(LoginRequiredMixin, View):
    def post(self, request):
        count = notify.notification_mark_all_read(by=request.user)
        if _is_htmx(request):
            response = NotificationListView().get(request)
            response["HX-Trigger"] = "notifications-changed"
            return response
        messages.success(request, _("已将 {} 条通知标为已读。").format(count))
        return HttpResponseRedirect(reverse("core:notification-list"))


class NotificationBadgeView(LoginRequiredMixin, View):
    """The header badge, refreshed by HTMX."""

    def get(self, request):
        return render(
            request,
            "core/notifications/_badge.html",
            {"unread_notification_count": notify.notification_unread_count(user=request.user)},
        )


class NotificationPreferencesView(LoginRequiredMixin, View):
    """通知设置: the inbox always receives; email per category."""

    def get(self, request):
        prefs = notify.notification_preferences(user=request.user)
        return render(request, "core/notifications/preferences.html", {"prefs": prefs})

    def post(self, request):
        chosen = set(request.POST.getlist("email"))
        for pref in notify.notification_preferences(user=request.user):
            wanted = pref["category"] in chosen
            if wanted != pref["email"]:
                notify.notification_preference_set(by=request.user, category=pref["category"], email=wanted)
        messages.success(request, _("通知设置已保存。"))
        return HttpResponseRedirect(reverse("core:notification-preferences"))


class JobListView(LoginRequiredMixin, View):
    """后台任务: runs the user may see."""

    def get(self, request):
        page = Paginator(jobs.job_list(user=request.user).select_related("created_by"), PAGE_SIZE).get_page(
            request.GET.get("page")
        )
        return render(request, "core/jobs/list.html", {"page": page})


def _job_or_404(request, pk: int):
    try:
        return jobs.job_get(user=request.user, pk=pk)
    except NotFound:
        raise Http404


class JobDetailView(LoginRequiredMixin, View):
    def get(self, request, pk: int):
        return render(request, "core/jobs/detail.html", {"run": _job_or_404(request, pk)})


class JobProgressView(LoginRequiredMixin, View):
    """The progress partial the detail page polls; it stops polling once the job has finished."""

    def get(self, request, pk: int):
        return render(request, "core/jobs/_progress.html", {"run": _job_or_404(request, pk)})


class JobRetryView(LoginRequiredMixin, View):
    def post(self, request, pk: int):
        try:
            jobs.job_retry(run=pk, by=request.user)
        except NotFound:
            raise Http404
        except DomainError as err:
            messages.error(request, err.message)
        else:
            messages.success(request, _("后台任务已重新排队。"))
        return HttpResponseRedirect(reverse("core:job-detail", kwargs={"pk": pk}))


urlpatterns = [
    path("notifications/", NotificationListView.as_view(), name="notification-list"),
    path("notifications/<int:pk>/read/", NotificationReadView.as_view(), name="notification-read"),
    path("notifications/read-all/", NotificationReadAllView.as_view(), name="notification-read-all"),
    path("notifications/badge/", NotificationBadgeView.as_view(), name="notification-badge"),
    path(
        "notifications/preferences/", NotificationPreferencesView.as_view(), name="notification-preferences"
    ),
    path("jobs/", JobListView.as_view(), name="job-list"),
    path("jobs/<int:pk>/", JobDetailView.as_view(), name="job-detail"),
    path("jobs/<int:pk>/progress/", JobProgressView.as_view(), name="job-progress"),
    path("jobs/<int:pk>/retry/", JobRetryView.as_view(), name="job-retry"),
]
