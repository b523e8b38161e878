"""Cloud pages: the unit's view (systems, applications with their timeline, resources) and the
center's view (queue by deadline, pool capacity, overdue list). Thin: every act is a service."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from cloud import filters, permissions, selectors, services
from cloud.agreement import build_docx
from cloud.forms import ATTACHMENT_KINDS, ApplicationForm, ExemptionForm, MigrationForm, SystemForm
from cloud.models import ApplicationStatus, CloudProduct, Exemption, MigrationPlan
from cloud.transitions import Action
from core.errors import DomainError, PermissionDenied
from core.rules import Rule

CENTER_ACTIONS = {
    Action.ACCEPT,
    Action.RETURN,
    Action.APPROVE,
    Action.REJECT,
    Action.TEST_PASS,
    Action.TEST_FAIL,
    Action.SIGN_AGREEMENT,
    Action.GO_LIVE,
    Action.COMPLETE_CHANGE,
    Action.APPROVE_MAJOR_CHANGE,
    Action.REFUSE_CHANGE,
    Action.APPROVE_TERMINATION,
    Action.REFUSE_TERMINATION,
    Action.RECLAIM,
}
UNIT_ACTIONS = {Action.RESUBMIT, Action.RETEST, Action.REQUEST_CHANGE, Action.REQUEST_TERMINATION}


def _error(request, exc: DomainError) -> None:
    messages.error(request, exc.message)


def _flag(value: Any) -> bool:
    return str(value).lower() in {"1", "true", "yes", "on"}


def _lines_from_post(post, products) -> list[dict]:
    lines = []
    for product in products:
        raw = (post.get(f"qty_{product.pk}") or "").strip()
        if raw and raw != "0":
            lines.append({"product": product.pk, "quantity": raw})
    return lines


class CloudHomeView(LoginRequiredMixin, View):
    """我的政务云: my systems, my applications (status, current deadline), my resources, reminders."""

    def get(self, request):
        user = request.user
        return render(
            request,
            "cloud/home.html",
            {
                "systems": selectors.app_system_list(user=user),
                "applications": filters.apply(
                    filters.CloudApplicationFilterSet, request, selectors.cloud_application_list(user=user)
                )[:100],
                "resources": selectors.provisioned_resource_list(user=user)[:200],
                "exemptions": selectors.exemption_list(user=user)[:50],
                "migrations": [
                    (m, selectors.migration_flags(m)) for m in selectors.migration_list(user=user)[:50]
                ],
                "can_act": permissions.can_act_for_unit(user, user.unit_id),
                "is_center": permissions.can_review(user),
                "now": timezone.now(),
            },
        )


class CenterView(LoginRequiredMixin, View):
    """政务云管理（中心）: queue by deadline, pool capacity (C§27), overdue list, exemptions to decide."""

    def get(self, request):
        user = request.user
        if not permissions.can_review(user):
            raise PermissionDenied()
        return render(
            request,
            "cloud/center.html",
            {
                "queue": selectors.center_queue(user=user)[:200],
                "pools": selectors.pool_capacity_list(user=user),
                "overdue": selectors.overdue_applications(user=user),
                "migrations": selectors.migration_attention(user=user),
                "exemptions": selectors.exemption_list(user=user).filter(status=Exemption.Status.PENDING),
            },
        )

    def post(self, request):
        exemption = selectors.exemption_get(user=request.user, pk=int(request.POST.get("exemption") or 0))
        try:
            services.exemption_decide(
                exemption=exemption,
                by=request.user,
                approve=request.POST.get("decision") == "approve",
                note=request.POST.get("note", ""),
            )
            messages.success(request, _("例外申请已处理。"))
        except DomainError as exc:
            _error(request, exc)
        return redirect("cloud:center")


class SystemCreateView(LoginRequiredMixin, View):
    """登记应用系统 (C§5)."""

    def get(self, request):
        return render(request, "cloud/form.html", {"form": SystemForm(), "title": _("登记应用系统")})

    def post(self, request):
        form = SystemForm(request.POST)
        if form.is_valid():
            try:
                services.app_system_register(by=request.user, **form.cleaned_data)
                messages.success(request, _("应用系统已登记。"))
                return redirect("cloud:home")
            except DomainError as exc:
                form.add_error(None, exc.message)
        return render(request, "cloud/form.html", {"form": form, "title": _("登记应用系统")})


class ApplicationCreateView(LoginRequiredMixin, View):
    """提出政务云使用申请 (C§10): materials, product quantities, attachments."""

    def _context(self, request, form):
        return {
            "form": form,
            "products": CloudProduct.objects.filter(is_active=True),
            "kinds": ATTACHMENT_KINDS,
        }

    def _systems(self, request):
        return selectors.app_system_list(user=request.user).filter(owner_id=request.user.unit_id)

    def get(self, request):
        form = ApplicationForm(systems=self._systems(request), initial={"system": request.GET.get("system")})
        return render(request, "cloud/application_form.html", self._context(request, form))

    def post(self, request):
        form = ApplicationForm(request.POST, systems=self._systems(request))
        products = CloudProduct.objects.filter(is_active=True)
        if form.is_valid():
            files = [
                (request.POST.get("attachment_kind") or "other", f.name, f)
                for f in request.FILES.getlist("attachments")
            ]
            try:
                system = selectors.app_system_get(user=request.user, pk=form.cleaned_data["system"])
                application = services.cloud_application_submit(
                    by=request.user,
                    system=system,
                    construction_plan=form.cleaned_data["construction_plan"],
                    self_test_report=form.cleaned_data["self_test_report"],
                    lines=_lines_from_post(request.POST, products),
                    files=files,
                )
                messages.success(request, _("申请已提交，中心将在 3 个工作日内决定是否受理（C§11）。"))
                return redirect("cloud:application-detail", pk=application.pk)
            except DomainError as exc:
                form.add_error(None, exc.message)
        return render(request, "cloud/application_form.html", self._context(request, form))


class ApplicationDetailView(LoginRequiredMixin, View):
    """One application: materials, timeline with deadlines, resources, and the forms for the next step."""

    def get(self, request, pk: int):
        application = selectors.cloud_application_get(user=request.user, pk=pk)
        user = request.user
        allowed = set(selectors.next_actions(application))
        if permissions.can_review(user):
            actions = allowed & CENTER_ACTIONS
        elif permissions.can_act_for_unit(user, application.unit_id):
            actions = allowed & UNIT_ACTIONS
        else:
            actions = set()
        change = application.changes.filter(status="pending").first()
        return render(
            request,
            "cloud/application_detail.html",
            {
                "app": application,
                "actions": {a.value if hasattr(a, "value") else a for a in actions},
                "lines": application.lines.filter(is_active=True).select_related("product"),
                "timeline": [
                    {
                        "at": step.at,
                        "action": Action(step.action).label,
                        "to": ApplicationStatus(step.to_status).label,
                        "actor": step.actor,
                        "note": step.note,
                        "due_at": step.due_at,
                    }
                    for step in application.steps.select_related("actor")
                ],
                "resources": application.provisioned.filter(released_at__isnull=True).select_related(
                    "product"
                ),
                "evaluations": application.evaluations.all(),
                "attachments": application.attachments.all(),
                "pending_change": change,
                "products": CloudProduct.objects.filter(is_active=True),
                "trial_earliest_end": services.trial_earliest_end(application),
                "agreement": application.agreements.first(),
                "can_attach": permissions.can_act_for_unit(user, application.unit_id)
                and application.status in (ApplicationStatus.SUBMITTED, ApplicationStatus.RETURNED),
                "kinds": ATTACHMENT_KINDS,
                "now": timezone.now(),
                "rule_label": Rule(application.due_rule).label if application.due_rule else "",
            },
        )

    def post(self, request, pk: int):  # noqa: C901 — one dispatch table, one branch per action
        application = selectors.cloud_application_get(user=request.user, pk=pk)
        p, by = request.POST, request.user
        action = p.get("action", "")
        products = CloudProduct.objects.filter(is_active=True)
        handlers = {
            "accept": lambda: services.cloud_application_accept(
                application=application, by=by, note=p.get("note", "")
            ),
            "return": lambda: services.cloud_application_return(
                application=application, by=by, reasons=p.get("reasons", "")
            ),
            "resubmit": lambda: services.cloud_application_resubmit(
                application=application,
                by=by,
                construction_plan=p.get("construction_plan") or None,
                self_test_report=p.get("self_test_report") or None,
                note=p.get("note", ""),
            ),
            "approve": lambda: services.cloud_application_approve(
                application=application,
                by=by,
                approved={
                    int(k.removeprefix("approved_")): v
                    for k, v in p.items()
                    if k.startswith("approved_") and v != ""
                },
                reasons=p.get("reasons", ""),
            ),
            "reject": lambda: services.cloud_application_reject(
                application=application, by=by, reasons=p.get("reasons", "")
            ),
            "test": lambda: services.cloud_application_test_record(
                application=application,
                by=by,
                passed=p.get("passed") == "yes",
                performance=p.get("performance", ""),
                security=p.get("security", ""),
            ),
            "retest": lambda: services.cloud_application_retest(
                application=application, by=by, note=p.get("note", "")
            ),
            "sign_agreement": lambda: services.cloud_application_agreement_sign(
                application=application,
                by=by,
                upload=request.FILES["file"],
                filename=request.FILES["file"].name,
                signed_on=date.fromisoformat(p["signed_on"]) if p.get("signed_on") else None,
            ),
            "go_live": lambda: services.cloud_application_go_live(application=application, by=by),
            "request_change": lambda: services.cloud_change_request(
                application=application,
                by=by,
                lines=_lines_from_post(p, products),
                reason=p.get("reason", ""),
                construction_plan=p.get("construction_plan", ""),
                self_test_report=p.get("self_test_report", ""),
            ),
            "change_approve": lambda: services.cloud_change_approve(
                application=application, by=by, note=p.get("note", "")
            ),
            "change_refuse": lambda: services.cloud_change_refuse(
                application=application, by=by, reasons=p.get("reasons", "")
            ),
            "request_termination": lambda: services.cloud_termination_request(
                application=application,
                by=by,
                offboarding_confirmed=_flag(p.get("offboarding_confirmed")),
                backup_confirmed=_flag(p.get("backup_confirmed")),
                note=p.get("note", ""),
            ),
            "approve_termination": lambda: services.cloud_termination_approve(
                application=application, by=by, note=p.get("note", "")
            ),
            "refuse_termination": lambda: services.cloud_termination_refuse(
                application=application, by=by, reasons=p.get("reasons", "")
            ),
            "reclaim": lambda: services.cloud_application_reclaim(application=application, by=by),
            "attach": lambda: services.cloud_application_attach(
                application=application,
                by=by,
                upload=request.FILES["file"],
                filename=request.FILES["file"].name,
                kind=p.get("kind") or "other",
            ),
        }
        handler = handlers.get(action)
        if handler is None:
            messages.error(request, _("未知操作。"))
            return redirect("cloud:application-detail", pk=pk)
        try:
            handler()
            messages.success(request, _("操作已完成。"))
        except KeyError:
            messages.error(request, _("请选择要上传的文件。"))
        except ValueError:
            messages.error(request, _("输入格式不正确。"))
        except DomainError as exc:
            _error(request, exc)
        return redirect("cloud:application-detail", pk=pk)


class AttachmentDownloadView(LoginRequiredMixin, View):
    """Download a material of an application the user may see."""

    def get(self, request, pk: int, attachment_pk: int):
        from cloud.api.views import attachment_response

        return attachment_response(
            selectors.cloud_attachment_get(user=request.user, application_pk=pk, pk=attachment_pk)
        )


class AgreementDownloadView(LoginRequiredMixin, View):
    """The generated 《数据资源服务托管协议》 (C§13) as DOCX."""

    def get(self, request, pk: int):
        application = selectors.cloud_application_get(user=request.user, pk=pk)
        response = HttpResponse(
            build_docx(application),
            content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        )
        response["Content-Disposition"] = (
            f'attachment; filename="hosting-agreement-YS{application.pk:06d}.docx"'
        )
        return response


class ExemptionCreateView(LoginRequiredMixin, View):
    """申请不上云例外 / 自建基础设施 (C§3-4)."""

    def _systems(self, request):
        return selectors.app_system_list(user=request.user).filter(owner_id=request.user.unit_id)

    def get(self, request):
        form = ExemptionForm(systems=self._systems(request))
        return render(request, "cloud/form.html", {"form": form, "title": _("申请不上云例外")})

    def post(self, request):
        form = ExemptionForm(request.POST, systems=self._systems(request))
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                system = selectors.app_system_get(user=request.user, pk=data.pop("system"))
                services.exemption_request(system=system, by=request.user, **data)
                messages.success(request, _("例外申请已提交，待中心审核。"))
                return redirect("cloud:home")
            except DomainError as exc:
                form.add_error(None, exc.message)
        return render(request, "cloud/form.html", {"form": form, "title": _("申请不上云例外")})


class MigrationCreateView(LoginRequiredMixin, View):
    """迁移上云计划 (C§4, C§20)."""

    def _systems(self, request):
        return selectors.app_system_list(user=request.user).filter(owner_id=request.user.unit_id)

    def get(self, request):
        form = MigrationForm(systems=self._systems(request))
        return render(request, "cloud/form.html", {"form": form, "title": _("登记迁移计划")})

    def post(self, request):
        form = MigrationForm(request.POST, systems=self._systems(request))
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                system = selectors.app_system_get(user=request.user, pk=data.pop("system"))
                services.migration_plan_create(system=system, by=request.user, **data)
                messages.success(request, _("迁移计划已登记。"))
                return redirect("cloud:home")
            except DomainError as exc:
                form.add_error(None, exc.message)
        return render(request, "cloud/form.html", {"form": form, "title": _("登记迁移计划")})


class MigrationActionView(LoginRequiredMixin, View):
    """Mark a migration live, or submit the old system's resource list after the keep period (C§20)."""

    def post(self, request, pk: int):
        plan = selectors.migration_get(user=request.user, pk=pk)
        try:
            if plan.status == MigrationPlan.Status.PLANNED:
                services.migration_mark_live(
                    plan=plan,
                    by=request.user,
                    went_live_on=date.fromisoformat(request.POST.get("went_live_on", "")),
                )
            else:
                services.migration_submit_retired_list(
                    plan=plan, by=request.user, resource_list=request.POST.get("resource_list", "")
                )
            messages.success(request, _("操作已完成。"))
        except ValueError:
            messages.error(request, _("日期格式不正确。"))
        except DomainError as exc:
            _error(request, exc)
        return redirect("cloud:home")
