"""Exchange pages: my grants, who uses my data, applying for access, answering and deciding."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View

from catalog.models import SharingType
from core.errors import DomainError, NotFound, PermissionDenied
from exchange import selectors, services
from exchange.forms import AccessRequestForm, DecideForm, ObtainForm, OpinionForm, ReasonForm
from exchange.permissions import can_answer_as_provider, can_manage_grant, can_request_access, is_center_staff


class NoNulMixin:
    """NUL bytes in the address or query are a clear 400 page, not a database error on PostgreSQL."""

    def dispatch(self, request, *args, **kwargs):
        from exchange.api.views import refuse_nul

        refuse_nul(request, kwargs)
        return super().dispatch(request, *args, **kwargs)


def _page(request, qs, per=25):
    return Paginator(qs, per).get_page(request.GET.get("page"))


class GrantListView(LoginRequiredMixin, NoNulMixin, View):
    """ "我的授权" (consumer), "谁在使用我的数据" (provider), all grants (center)."""

    def get(self, request):
        user = request.user
        scope = request.GET.get("scope") or ("all" if is_center_staff(user) else "mine")
        qs = selectors.grant_list(user=user)
        if scope == "mine":
            qs = qs.filter(consumer_id=user.unit_id)
        elif scope == "provided":
            qs = qs.filter(resource__provider_id=user.unit_id)
        if request.GET.get("status"):
            qs = qs.filter(status=request.GET["status"])
        return render(
            request,
            "exchange/grant_list.html",
            {"page": _page(request, qs), "scope": scope, "is_center": is_center_staff(user)},
        )


class GrantDetailView(LoginRequiredMixin, NoNulMixin, View):
    def get(self, request, pk: int):
        grant = selectors.grant_get(user=request.user, pk=pk)
        return render(
            request,
            "exchange/grant_detail.html",
            {"grant": grant, "can_manage": can_manage_grant(request.user, grant), "form": ReasonForm()},
        )

    def post(self, request, pk: int):
        grant = selectors.grant_get(user=request.user, pk=pk)
        action = request.POST.get("action")
        fn = {
            "suspend": services.grant_suspend,
            "resume": services.grant_resume,
            "revoke": services.grant_revoke,
        }.get(action)
        form = ReasonForm(request.POST)
        if fn is None or not form.is_valid():
            messages.error(request, _("请填写原因。"))
            return redirect("exchange:grant-detail", pk=pk)
        try:
            fn(grant=grant, by=request.user, reason=form.cleaned_data["reason"], request=request)
            messages.success(request, _("操作已完成。"))
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect("exchange:grant-detail", pk=pk)


class AccessApplyView(LoginRequiredMixin, NoNulMixin, View):
    """One page for both sharing types: unconditional → grant at once; conditional → request."""

    def _ctx(self, resource, form, conditional: bool):
        return {"resource": resource, "form": form, "conditional": conditional}

    @staticmethod
    def _reviewed(request, resource) -> bool:
        """A request for review (conditional sharing, or an unconditional grant revoked last);
        False for a resource that is not shared (the service refuses it either way)."""
        return selectors.access_needs_review(resource=resource, unit_id=request.user.unit_id)

    def get(self, request, code: str):
        resource = selectors.published_resource_by_code(code)
        if resource.sharing_type == SharingType.NOT_SHARED:
            return render(request, "exchange/not_shared.html", {"resource": resource}, status=409)
        if not can_request_access(request.user):
            raise NotFound()
        conditional = self._reviewed(request, resource)
        cls = AccessRequestForm if conditional else ObtainForm
        return render(
            request, "exchange/apply.html", self._ctx(resource, cls(resource=resource), conditional)
        )

    def post(self, request, code: str):
        resource = selectors.published_resource_by_code(code)
        conditional = self._reviewed(request, resource)
        cls = AccessRequestForm if conditional else ObtainForm
        form = cls(request.POST, resource=resource)
        if form.is_valid():
            d = form.cleaned_data
            try:
                if conditional:
                    req = services.access_request_submit(
                        resource=resource, by=request.user, request=request,
                        purpose_category=d["purpose_category"], purpose=d["purpose"], basis=d["basis"],
                        items=d["items"], channels=d["channels"], valid_from=d.get("valid_from"),
                        valid_to=d.get("valid_to"),
                    )  # fmt: skip
                    messages.success(request, _("申请已提交，提供单位将在 10 个工作日内答复。"))
                    return redirect("exchange:request-detail", pk=req.pk)
                grant = services.grant_obtain_unconditional(
                    resource=resource, by=request.user, request=request,
                    purpose_category=d["purpose_category"], purpose=d["purpose"], items=d["items"],
                    channels=d["channels"], valid_to=d.get("valid_to"),
                )  # fmt: skip
                messages.success(request, _("已获得共享授权。"))
                return redirect("exchange:grant-detail", pk=grant.pk)
            except DomainError as exc:
                form.add_error(None, exc.message)
        return render(request, "exchange/apply.html", self._ctx(resource, form, conditional), status=400)


class AccessRequestListView(LoginRequiredMixin, NoNulMixin, View):
    def get(self, request):
        qs = selectors.access_request_list(user=request.user)
        if request.GET.get("status"):
            qs = qs.filter(status=request.GET["status"])
        return render(request, "exchange/request_list.html", {"page": _page(request, qs)})


class AccessRequestDetailView(LoginRequiredMixin, NoNulMixin, View):
    def _render(self, request, req, opinion_form=None, decide_form=None, status=200):
        user = request.user
        return render(
            request,
            "exchange/request_detail.html",
            {
                "req": req,
                "can_opine": can_answer_as_provider(user, req.resource) and req.status == "provider_opinion",
                "can_decide": is_center_staff(user) and req.status in ("provider_opinion", "center_decision"),
                "opinion_form": opinion_form or OpinionForm(),
                "decide_form": decide_form or DecideForm(access_request=req),
            },
            status=status,
        )

    def get(self, request, pk: int):
        return self._render(request, selectors.access_request_get(user=request.user, pk=pk))

    def post(self, request, pk: int):
        req = selectors.access_request_get(user=request.user, pk=pk)
        if request.POST.get("action") == "opinion":
            form = OpinionForm(request.POST)
            if form.is_valid():
                try:
                    services.access_request_provider_opinion(
                        access_request=req, by=request.user, request=request, **form.cleaned_data
                    )
                    messages.success(request, _("意见已提交。"))
                    return redirect("exchange:request-detail", pk=pk)
                except DomainError as exc:
                    form.add_error(None, exc.message)
            return self._render(request, req, opinion_form=form, status=400)
        form = DecideForm(request.POST, access_request=req)
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.access_request_decide(
                    access_request=req, by=request.user, request=request, approve=d["approve"],
                    reason=d.get("reason", ""), items=d.get("items") or None, valid_to=d.get("valid_to"),
                )  # fmt: skip
                messages.success(request, _("决定已作出。"))
                return redirect("exchange:request-detail", pk=pk)
            except DomainError as exc:
                form.add_error(None, exc.message)
        return self._render(request, req, decide_form=form, status=400)


class UsageView(LoginRequiredMixin, NoNulMixin, View):
    """共享使用统计 with a chart (S§38 input): center, auditors, and providers for their own data."""

    DAYS = (7, 30, 90, 365)

    def get(self, request):
        import json

        from django.db.models import Sum

        try:
            days = int(request.GET.get("days", 30))
        except ValueError:
            days = 30
        days = days if days in self.DAYS else 30
        qs = selectors.usage_daily(user=request.user, days=days)
        rows = list(
            qs.values("resource__name", "consumer__name", "purpose_category", "channel")
            .annotate(calls=Sum("calls"), rows=Sum("rows"))
            .order_by("-calls")[:200]
        )
        per_day = qs.values("day").annotate(calls=Sum("calls"), rows=Sum("rows")).order_by("day")
        chart = {
            "days": [str(d["day"]) for d in per_day],
            "calls": [d["calls"] for d in per_day],
            "rows": [d["rows"] for d in per_day],
        }
        return render(
            request,
            "exchange/usage.html",
            {
                "rows": rows,
                "days": days,
                "day_choices": self.DAYS,
                "chart_json": json.dumps(chart),
                "calls_label": _("调用次数"),
                "rows_label": _("返回记录数"),
            },
        )


class WhoAccessedView(LoginRequiredMixin, NoNulMixin, View):
    """记录访问追溯 for auditors (S§35)."""

    def get(self, request):
        from accounts.permissions import can_read_audit

        if not can_read_audit(request.user):
            raise PermissionDenied()
        identifier = (request.GET.get("identifier") or "").strip()
        events = []
        if identifier:
            events = services.record_access_lookup(user=request.user, identifier=identifier, request=request)
        return render(request, "exchange/who_accessed.html", {"identifier": identifier, "events": events})
