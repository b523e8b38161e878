"""Datastore UI: resources to load, upload, load history with live progress (HTMX polling),
rejected values download, quality summary, source-data-changed record. Thin: selectors and
services only."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from core.errors import DomainError, NotFound, PermissionDenied

from . import exports, selectors, services
from .forms import SourceChangeForm, UploadForm
from .permissions import can_load, can_view_loads


class Page(LoginRequiredMixin, View):
    """A signed-in page; service refusals and misses become the Chinese 403/404 pages."""

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(exc.message)
        except NotFound:
            raise Http404


class DatastoreHomeView(Page):
    """The resources whose data the user looks after, with their last load and freshness."""

    def get(self, request):
        resources = selectors.resource_list(user=request.user)
        page = Paginator(resources, 30).get_page(request.GET.get("page"))
        return render(request, "datastore/home.html", {"page": page})


class ResourceDataView(Page):
    """One resource: quality summary, upload form, load history, source-data-changed."""

    def get(self, request, pk, form=None):
        resource = selectors.resource_get(user=request.user, resource_id=pk)
        context = {
            "resource": resource,
            "quality": selectors.quality_summary(user=request.user, resource=resource),
            "can_load": can_load(request.user, resource),
            "form": form or UploadForm(),
            "change_form": SourceChangeForm(),
        }
        if can_view_loads(request.user, resource):
            context["loads"] = selectors.load_list(user=request.user, resource=resource)[:20]
        return render(request, "datastore/resource.html", context)


class LoadUploadView(Page):
    def post(self, request, pk):
        resource = selectors.resource_get(user=request.user, resource_id=pk)
        form = UploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return ResourceDataView().get(request, pk, form=form)
        try:
            load = services.load_create(
                resource=resource,
                by=request.user,
                upload=form.cleaned_data["file"],
                file_name=form.cleaned_data["file"].name,
                mode=form.cleaned_data["mode"],
                sheet=form.cleaned_data.get("sheet") or "",
                reject_threshold=form.cleaned_data.get("reject_threshold"),
            )
        except PermissionDenied:
            raise
        except DomainError as exc:
            form.add_error("file", exc.message)
            return ResourceDataView().get(request, pk, form=form)
        messages.success(request, _("文件已接收，正在后台加载。"))
        return redirect("datastore:load", pk=load.pk)


class SourceChangeView(Page):
    def post(self, request, pk):
        resource = selectors.resource_get(user=request.user, resource_id=pk)
        form = SourceChangeForm(request.POST)
        note = form.cleaned_data.get("note", "") if form.is_valid() else ""
        try:
            services.source_change_report(resource=resource, by=request.user, note=note)
            messages.success(request, _("已登记源数据变更：请在 2 个工作日内完成数据更新。"))
        except PermissionDenied:
            raise
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect("datastore:resource", pk=pk)


class LoadDetailView(Page):
    def get(self, request, pk):
        load = selectors.load_get(user=request.user, load_id=pk)
        rejects = selectors.load_rejects(user=request.user, load=load)[:50]
        context = {"load": load, "rejects": rejects, "can_load": can_load(request.user, load.resource)}
        return render(request, "datastore/load.html", context)


class LoadProgressView(Page):
    """HTMX fragment polled every 2 s while the load runs (stops polling when finished)."""

    def get(self, request, pk):
        load = selectors.load_get(user=request.user, load_id=pk)
        return render(request, "datastore/_progress.html", {"load": load})


class LoadRetryView(Page):
    def post(self, request, pk):
        load = selectors.load_get(user=request.user, load_id=pk)
        try:
            services.load_retry(load=load, by=request.user)
            messages.success(request, _("已重新提交加载。"))
        except PermissionDenied:
            raise
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect(reverse("datastore:load", kwargs={"pk": pk}))


class LoadRejectDownloadView(Page):
    def get(self, request, pk, fmt):
        load = selectors.load_get(user=request.user, load_id=pk)
        if fmt not in ("csv", "xlsx"):
            raise Http404
        return exports.rejects_response(load, selectors.load_rejects(user=request.user, load=load), fmt)
