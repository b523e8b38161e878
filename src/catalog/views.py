"""Catalog UI: search, the three catalogs, registration, the review steps, Excel import,
single source, demands, yearly review and project catalogs. Thin: selectors and services only;
service errors are shown as banners or beside the fields."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views import View

from core import deadlines
from core.errors import DomainError, NotFound, PermissionDenied
from core.rules import Rule

from . import excel, permissions, selectors, services
from .filters import ResourceFilterSet
from .forms import (
    CampaignForm,
    ConceptForm,
    DataItemForm,
    DataItemFormSet,
    DemandForm,
    ImportForm,
    ProjectForm,
    ResourceForm,
)
from .models import (
    CampaignEntry,
    ChangeStatus,
    ResourceStatus,
    ReviewCampaign,
    SharingType,
    SingleSourceClaim,
)
from .services import ITEM_FIELDS, RESOURCE_FIELDS
from .workflow import EDITABLE

PAGE_SIZE = 20


class Page(LoginRequiredMixin, View):
    """A signed-in page; service refusals and misses become the Chinese 403/404 pages."""

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(exc.message)
        except NotFound:
            raise Http404


def _page(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _query_without_page(request) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def _error_list(exc: DomainError) -> list[str]:
    """Human lines for a service error (all problems, not only the first)."""
    errors = (exc.details or {}).get("errors")
    if not errors:
        return [exc.message]
    lines = []
    for e in errors:
        if "sheet" in e:
            lines.append(_("%(sheet)s 表第 %(row)s 行“%(column)s”：%(message)s") % e)
        elif e.get("item") is not None:
            lines.append(_("第 %(n)s 个信息项：%(message)s") % {"n": e["item"] + 1, "message": e["message"]})
        else:
            lines.append(e["message"])
    return lines


class ResourceSearchView(Page):
    """目录检索: Chinese full-text search over the published catalog with facets."""

    def get(self, request):
        base = selectors.resource_list(user=request.user).filter(status=ResourceStatus.PUBLISHED)
        fs = ResourceFilterSet(request.GET, queryset=base)
        result = selectors.resource_search_page(
            user=request.user,
            query=request.GET.get("q", ""),
            queryset=fs.qs if fs.is_valid() else base.none(),
            sort=request.GET.get("sort", "relevance"),
            page=request.GET.get("page"),
            page_size=PAGE_SIZE,
        )
        ctx = {
            "filter": fs,
            "page": result.page,
            "facets": result.facets,
            "q": request.GET.get("q", ""),
            "query": _query_without_page(request),
            "sort": request.GET.get("sort", "relevance"),
        }
        template = "catalog/_results.html" if getattr(request, "htmx", False) else "catalog/search.html"
        return render(request, template, ctx)


class CatalogView(Page):
    """One of the three published catalogs (S§14) with its exports."""

    sharing_type = SharingType.UNCONDITIONAL

    def get(self, request):
        qs = selectors.catalog_list(user=request.user, sharing_type=self.sharing_type)
        fs = ResourceFilterSet(request.GET, queryset=qs)
        qs = fs.qs if fs.is_valid() else qs.none()
        api_type = self.sharing_type.replace("_", "-")
        return render(
            request,
            "catalog/catalog.html",
            {
                "title": SharingType(self.sharing_type).label,
                "sharing_type": self.sharing_type,
                "page": _page(request, qs),
                "filter": fs,
                "query": _query_without_page(request),
                "export_csv": f"/api/v1/catalog/catalogs/{api_type}/export.csv",
                "export_xlsx": f"/api/v1/catalog/catalogs/{api_type}/export.xlsx",
            },
        )


class MyResourcesView(Page):
    """本单位目录 (S§18: the unit's data-asset register); center staff see every entry."""

    def get(self, request):
        qs = selectors.resource_list(user=request.user)
        export = request.GET.copy()
        export.pop("page", None)
        if not permissions.is_center_staff(request.user):
            qs = qs.filter(provider_id=request.user.unit_id)
            export["provider"] = str(request.user.unit_id)
        fs = ResourceFilterSet(request.GET, queryset=qs)
        qs = fs.qs if fs.is_valid() else qs.none()
        return render(
            request,
            "catalog/mine.html",
            {
                "page": _page(request, qs),
                "filter": fs,
                "query": _query_without_page(request),
                "can_register": permissions.can_register(request.user, request.user.unit),
                "export_query": export.urlencode(),
            },
        )


def _initial_from(data: dict) -> tuple[dict, list[dict]]:
    fields = {f: data.get(f) for f in RESOURCE_FIELDS if f != "is_classified"}
    items = [{f: i.get(f) for f in ITEM_FIELDS} for i in data.get("items", [])]
    return fields, items


class ResourceFormView(Page):
    """Register a resource, edit a draft, or propose a change to a published one (same form)."""

    def _target(self, request, pk):
        if pk is None:
            if not permissions.can_register(request.user, request.user.unit):
                raise PermissionDenied()
            return None, None
        resource = selectors.resource_get(user=request.user, pk=pk)
        if not permissions.can_register(request.user, resource.provider_id):
            raise PermissionDenied()
        change = None
        if resource.status == ResourceStatus.PUBLISHED:
            change = resource.versions.filter(status__in=["draft", "returned"]).first()
        elif resource.status not in EDITABLE:
            raise PermissionDenied(message=_("该资源当前状态不能修改。"))
        return resource, change

    def get(self, request, pk=None):
        resource, change = self._target(request, pk)
        if resource is None:
            form, formset = ResourceForm(), DataItemFormSet(prefix="items")
        else:
            data = change.snapshot if change else services.resource_snapshot(resource)
            fields, items = _initial_from(data)
            form = ResourceForm(initial=fields)
            formset = DataItemFormSet(prefix="items", initial=items)
        return self._render(request, resource, form, formset, [])

    def post(self, request, pk=None):
        resource, _change = self._target(request, pk)
        form = ResourceForm(request.POST)
        formset = DataItemFormSet(request.POST, prefix="items")
        if not (form.is_valid() and formset.is_valid()):
            return self._render(request, resource, form, formset, [])
        fields = {k: v for k, v in form.cleaned_data.items() if k in RESOURCE_FIELDS}
        reason = form.cleaned_data.get("reason", "")
        items = [
            {k: v for k, v in f.cleaned_data.items() if k in ITEM_FIELDS}
            for f in formset.forms
            if f.cleaned_data and not f.is_blank()
        ]
        try:
            if resource is None:
                resource = services.resource_create(by=request.user, fields=fields, items=items)
                messages.success(request, _("已保存为草稿。"))
            elif resource.status == ResourceStatus.PUBLISHED:
                services.resource_change_propose(
                    resource=resource, by=request.user, fields=fields, items=items, reason=reason
                )
                messages.success(request, _("变更已保存，提交保密审查和中心审核后生效。"))
            else:
                services.resource_update(resource=resource, by=request.user, fields=fields, items=items)
                messages.success(request, _("已保存。"))
        except (PermissionDenied, NotFound):
            raise
        except DomainError as exc:
            return self._render(request, resource, form, formset, _error_list(exc))
        return redirect("catalog:resource_detail", pk=resource.pk)

    def _render(self, request, resource, form, formset, errors):
        return render(
            request,
            "catalog/resource_form.html",
            {"resource": resource, "form": form, "formset": formset, "errors": errors},
            status=400 if errors else 200,
        )


class ItemRowView(Page):
    """HTMX: one more empty data item row."""

    def get(self, request):
        try:
            index = max(0, min(int(request.GET.get("index", "0")), 199))
        except ValueError:
            index = 0
        form = DataItemForm(prefix=f"items-{index}")
        return render(request, "catalog/_item_row.html", {"f": form})


class ResourceDetailView(Page):
    """资源详情: metadata, data items, sharing conditions, versions, and the workflow actions
    the signed-in user may take."""

    def get(self, request, pk):
        resource = selectors.resource_get(user=request.user, pk=pk)
        user = request.user
        own = permissions.can_register(user, resource.provider_id)
        open_change = None
        if permissions.can_see_unpublished(user, resource.provider_id):
            open_change = resource.versions.exclude(
                status__in=[ChangeStatus.PUBLISHED, ChangeStatus.CANCELLED]
            ).first()
        ctx = {
            "resource": resource,
            "items": resource.items.all(),
            "versions": selectors.change_list(user=user, resource=resource).filter(
                status=ChangeStatus.PUBLISHED
            ),
            "open_change": open_change,
            "claims": selectors.claim_list(user=user, resource=resource),
            "can_edit": own and resource.status in (*EDITABLE, ResourceStatus.PUBLISHED),
            "can_submit": own and resource.status in EDITABLE,
            "can_delete": own and resource.status in EDITABLE and not resource.first_published_at,
            "can_secrecy": permissions.can_secrecy_review(user, resource.provider_id),
            "can_review": permissions.can_review(user),
            "can_withdraw": permissions.can_withdraw(user, resource.provider_id)
            and resource.status == ResourceStatus.PUBLISHED,
            "own": own,
            "review_clock": deadlines.current(target=resource, rule=Rule.CATALOG_REVIEW)
            if resource.status == ResourceStatus.SUBMITTED
            else None,
            "overlaps": services.single_source_overlaps(
                provider=resource.provider, items=services.resource_snapshot(resource)["items"]
            )
            if own and resource.status in EDITABLE
            else [],
        }
        return render(request, "catalog/resource_detail.html", ctx)

    def post(self, request, pk):
        resource = selectors.resource_get(user=request.user, pk=pk)
        by, p = request.user, request.POST
        action = p.get("action", "")
        try:
            change = None
            if action.startswith("change_"):
                change = selectors.change_get(user=by, pk=p.get("change"))
                if change.resource_id != resource.pk:
                    raise NotFound()
            if action == "submit":
                services.resource_submit(resource=resource, by=by, justification=p.get("justification", ""))
            elif action == "secrecy_confirm":
                services.resource_secrecy_confirm(
                    resource=resource, by=by, no_state_secrets=bool(p.get("no_state_secrets"))
                )
            elif action == "secrecy_reject":
                services.resource_secrecy_reject(resource=resource, by=by, reason=p.get("reason", ""))
            elif action == "approve":
                services.resource_approve(
                    resource=resource,
                    by=by,
                    confirm_legal_basis=bool(p.get("confirm_legal_basis")),
                    note=p.get("note", ""),
                )
            elif action == "return":
                services.resource_return(resource=resource, by=by, reason=p.get("reason", ""))
            elif action == "withdraw":
                services.resource_withdraw(resource=resource, by=by, reason=p.get("reason", ""))
            elif action == "delete":
                services.resource_delete(resource=resource, by=by)
                messages.success(request, _("草稿已删除。"))
                return redirect("catalog:mine")
            elif action == "change_submit":
                services.resource_change_submit(
                    change=change, by=by, justification=p.get("justification", "")
                )
            elif action == "change_secrecy_confirm":
                services.resource_change_secrecy_confirm(
                    change=change, by=by, no_state_secrets=bool(p.get("no_state_secrets"))
                )
            elif action == "change_approve":
                services.resource_change_approve(
                    change=change, by=by, confirm_legal_basis=bool(p.get("confirm_legal_basis"))
                )
            elif action == "change_return":
                services.resource_change_return(change=change, by=by, reason=p.get("reason", ""))
            elif action == "change_cancel":
                services.resource_change_cancel(change=change, by=by)
            elif action == "claim_decide":
                claim = get_object_or_404(SingleSourceClaim, pk=p.get("claim"), resource=resource)
                services.single_source_claim_decide(
                    claim=claim, by=by, accept=p.get("accept") == "1", note=p.get("note", "")
                )
            else:
                raise NotFound()
            messages.success(request, _("操作已完成。"))
        except (PermissionDenied, NotFound):
            raise
        except DomainError as exc:
            for line in _error_list(exc):
                messages.error(request, line)
        return redirect("catalog:resource_detail", pk=resource.pk)


class ReviewQueueView(Page):
    """目录审核: what awaits my review (center) or my unit's secrecy review."""

    def get(self, request):
        return render(request, "catalog/review.html", {"queue": selectors.review_queue(user=request.user)})


class ImportView(Page):
    """批量导入: template download and upload, with every row error listed."""

    def get(self, request):
        if not permissions.can_register(request.user, request.user.unit):
            raise PermissionDenied()
        return render(request, "catalog/import.html", {"form": ImportForm(), "errors": []})

    def post(self, request):
        form = ImportForm(request.POST, request.FILES)
        errors: list[dict] = []
        if form.is_valid():
            try:
                created = excel.resource_import(by=request.user, upload=form.cleaned_data["file"])
                messages.success(request, _("已导入 %(n)s 个资源（草稿）。") % {"n": len(created)})
                return redirect("catalog:mine")
            except (PermissionDenied, NotFound):
                raise
            except DomainError as exc:
                errors = (exc.details or {}).get("errors") or []
                if not errors:
                    form.add_error(None, exc.message)
                else:
                    form.add_error(None, _("导入失败，未保存任何资源。请修改下列错误后重新上传。"))
        return render(request, "catalog/import.html", {"form": form, "errors": errors}, status=400)


class ConceptView(Page):
    """一数一源: each concept, its authoritative source and the other units holding it."""

    def get(self, request, form=None):
        return render(
            request,
            "catalog/concepts.html",
            {
                "rows": selectors.concept_overview(user=request.user),
                "form": form or ConceptForm(),
                "can_manage": permissions.can_manage_concepts(request.user),
            },
        )

    def post(self, request):
        form = ConceptForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.concept_create(
                    by=request.user,
                    name=d["name"],
                    unit=d["unit"],
                    identifier_kind=d["identifier_kind"],
                    item_names=[
                        n.strip() for n in d["item_names"].replace("，", ",").split(",") if n.strip()
                    ],
                    description=d["description"],
                )
                messages.success(request, _("已登记权威数据来源。"))
                return redirect("catalog:concepts")
            except (PermissionDenied, NotFound):
                raise
            except DomainError as exc:
                form.add_error(None, exc.message)
        return self.get(request, form=form)


class DemandView(Page):
    """数据需求 (S§11): my unit's needs and the needs addressed to it."""

    def get(self, request, form=None):
        return render(
            request,
            "catalog/demands.html",
            {
                "page": _page(request, selectors.demand_list(user=request.user)),
                "form": form or DemandForm(),
                "can_raise": permissions.can_raise_demand(request.user),
                "query": _query_without_page(request),
            },
        )

    def post(self, request):
        form = DemandForm(request.POST)
        if form.is_valid():
            try:
                services.demand_create(by=request.user, **form.cleaned_data)
                messages.success(request, _("数据需求已提出。"))
                return redirect("catalog:demands")
            except (PermissionDenied, NotFound):
                raise
            except DomainError as exc:
                form.add_error(None, exc.message)
        return self.get(request, form=form)


class DemandDetailView(Page):
    def get(self, request, pk):
        demand = selectors.demand_get(user=request.user, pk=pk)
        own_resources = selectors.resource_list(user=request.user).filter(
            provider_id=demand.target_id, status=ResourceStatus.PUBLISHED
        )
        return render(
            request,
            "catalog/demand_detail.html",
            {
                "demand": demand,
                "can_answer": permissions.can_answer_demand(request.user, demand.target_id)
                and demand.status == "open",
                "resources": own_resources,
                "clock": deadlines.current(target=demand, rule=Rule.DEMAND_ANSWER)
                if demand.status == "open"
                else None,
            },
        )

    def post(self, request, pk):
        demand = selectors.demand_get(user=request.user, pk=pk)
        try:
            if request.POST.get("action") == "refuse":
                services.demand_refuse(demand=demand, by=request.user, reason=request.POST.get("answer", ""))
            else:
                resource = None
                if request.POST.get("resource"):
                    resource = selectors.resource_get(user=request.user, pk=request.POST["resource"])
                services.demand_answer(
                    demand=demand, by=request.user, resource=resource, answer=request.POST.get("answer", "")
                )
            messages.success(request, _("已答复。"))
        except (PermissionDenied, NotFound):
            raise
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect("catalog:demand_detail", pk=demand.pk)


class CampaignView(Page):
    """年度梳理 (S§16): campaigns; the center opens October's."""

    def get(self, request, form=None):
        return render(
            request,
            "catalog/campaigns.html",
            {
                "campaigns": ReviewCampaign.objects.all(),
                "form": form or CampaignForm(),
                "can_manage": permissions.can_manage_campaign(request.user),
            },
        )

    def post(self, request):
        form = CampaignForm(request.POST)
        if form.is_valid():
            try:
                campaign = services.review_campaign_open(by=request.user, **form.cleaned_data)
                return redirect("catalog:campaign_detail", pk=campaign.pk)
            except (PermissionDenied, NotFound):
                raise
            except DomainError as exc:
                form.add_error(None, exc.message)
        return self.get(request, form=form)


class CampaignDetailView(Page):
    def get(self, request, pk):
        campaign = get_object_or_404(ReviewCampaign, pk=pk)
        progress = selectors.campaign_progress(campaign=campaign)
        if not permissions.is_center_staff(request.user):
            progress = [p for p in progress if p["unit"].pk == request.user.unit_id]
        return render(
            request,
            "catalog/campaign_detail.html",
            {
                "campaign": campaign,
                "progress": progress,
                "entries": selectors.campaign_entries(user=request.user, campaign=campaign),
                "can_manage": permissions.can_manage_campaign(request.user),
                "overdue": services.review_campaign_overdue_units(campaign=campaign),
            },
        )

    def post(self, request, pk):
        campaign = get_object_or_404(ReviewCampaign, pk=pk)
        try:
            if request.POST.get("action") == "remind":
                n = services.review_campaign_remind(campaign=campaign, by=request.user)
                messages.success(request, _("已提醒 %(n)s 个单位。") % {"n": n})
            else:
                entry = get_object_or_404(CampaignEntry, pk=request.POST.get("entry"), campaign=campaign)
                services.review_entry_confirm(entry=entry, by=request.user)
                messages.success(request, _("已确认。"))
        except (PermissionDenied, NotFound):
            raise
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect("catalog:campaign_detail", pk=campaign.pk)


class ProjectView(Page):
    """项目资源目录 (S§42): pre-registered resource lists of projects."""

    def get(self, request, form=None):
        projects = [
            {"project": p, "complete": services.project_catalog_complete(project=p)}
            for p in selectors.project_list(user=request.user)
        ]
        own_resources = selectors.resource_list(user=request.user).filter(provider_id=request.user.unit_id)
        return render(
            request,
            "catalog/projects.html",
            {
                "projects": projects,
                "form": form or ProjectForm(),
                "can_create": permissions.can_register(request.user, request.user.unit),
                "own_resources": own_resources,
            },
        )

    def post(self, request):
        if request.POST.get("action") == "link":
            planned = selectors.planned_resource_get(user=request.user, pk=request.POST.get("planned"))
            try:
                resource = selectors.resource_get(user=request.user, pk=request.POST.get("resource"))
                services.planned_resource_link(planned=planned, by=request.user, resource=resource)
                messages.success(request, _("已关联。"))
            except (PermissionDenied, NotFound):
                raise
            except DomainError as exc:
                messages.error(request, exc.message)
            return redirect("catalog:projects")
        form = ProjectForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.project_catalog_create(
                    by=request.user,
                    name=d["name"],
                    project_code=d["project_code"],
                    app_system_name=d["app_system_name"],
                    planned=[
                        {
                            "name": d["planned_name"],
                            "classification": d["planned_classification"],
                            "sharing_type": d["planned_sharing_type"],
                        }
                    ],
                )
                messages.success(request, _("项目资源目录已登记。"))
                return redirect("catalog:projects")
            except (PermissionDenied, NotFound):
                raise
            except DomainError as exc:
                form.add_error(None, exc.message)
        return self.get(request, form=form)
