"""Browser pages of the working-day calendar, the rule lengths and the deadline clocks.

Thin: forms collect input, ``core.calendar`` / ``core.deadlines`` decide and raise clear errors.

    /calendar/                      the year at a glance, overrides, years to confirm (center admin)
    /calendar/days/<id>/edit/       edit one override; /delete/ removes it          (center admin)
    /calendar/import/               import the State Council notice (CSV/XLSX)      (center admin)
    /calendar/years/<year>/confirm/ confirm or withdraw a year                      (center admin)
    /calendar/rules/                every rule with article and length (center staff; admin edits)
    /deadlines/                     the clocks the user may see, with filters       (everyone)
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.generic import TemplateView

from core import calendar, deadlines
from core.errors import DomainError, Invalid, NotFound
from core.models import Deadline
from core.rules import OFFICE_HOURS, Rule

# --- forms ----------------------------------------------------------------------------------


class CalendarDayForm(forms.Form):
    date = forms.CharField(label=_("日期"), max_length=20, help_text=_("格式 YYYY-MM-DD，例如 2027-01-01"))
    is_working = forms.ChoiceField(label=_("类型"), choices=[("false", _("休息日")), ("true", _("工作日"))])
    note = forms.CharField(
        label=_("说明"), max_length=200, required=False, help_text=_("如：元旦、春节调休上班")
    )


class CalendarImportForm(forms.Form):
    year = forms.IntegerField(label=_("年度"), help_text=_("国务院办公厅放假安排通知所属年度"))
    file = forms.FileField(
        label=_("文件"), help_text=_("CSV 或 Excel（.xlsx），三列：日期（YYYY-MM-DD）、工作日/休息日、说明")
    )
    replace = forms.BooleanField(label=_("覆盖已有调整"), required=False)
    confirm = forms.BooleanField(label=_("导入后确认该年度节假日安排"), required=False, initial=True)


class RuleLengthForm(forms.Form):
    rule = forms.ChoiceField(choices=Rule.choices, widget=forms.HiddenInput)
    working_days = forms.IntegerField(label=_("工作日数"), min_value=1, max_value=365)
    note = forms.CharField(label=_("调整依据"), max_length=200, required=False)


def _apply_error(form: forms.Form, exc: DomainError) -> None:
    """Show a service error beside its field (or on top of the form)."""
    field = exc.details.get("field") if isinstance(exc.details, dict) else None
    form.add_error(field if field in form.fields else None, exc.message)
    for row in exc.details.get("rows", []) if isinstance(exc.details, dict) else []:
        for message in row["errors"]:
            form.add_error(
                None, gettext("第 %(row)s 行：%(message)s") % {"row": row["row"], "message": message}
            )


class _CenterAdminMixin(LoginRequiredMixin):
    """Only the center admin keeps the calendar (everyone else: 403)."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not calendar.can_manage_calendar(request.user):
            raise DjangoPermissionDenied
        return super().dispatch(request, *args, **kwargs)


def _crumbs(*pairs):
    return list(pairs)


# --- calendar -------------------------------------------------------------------------------


class CalendarView(_CenterAdminMixin, TemplateView):
    """The year at a glance (official, 调休, overrides, provisional), overrides and years."""

    template_name = "core/calendar/index.html"

    def _year(self) -> int:
        missing = calendar.years_without_data()
        default = missing[0] if missing else timezone.localdate().year
        try:
            return calendar.parse_year(self.request.GET.get("year") or default)
        except Invalid:
            return default

    def get_context_data(self, form: CalendarDayForm | None = None, **kwargs):
        ctx = super().get_context_data(**kwargs)
        year = self._year()
        user = self.request.user
        months = []
        for month in range(1, 13):
            days = calendar.month_days(year, month)
            lead = [None] * days[0].date.weekday()
            cells = lead + [{"info": info, "css": calendar_day_kind(info)} for info in days]
            cells += [None] * (-len(cells) % 7)
            months.append({"month": month, "weeks": [cells[i : i + 7] for i in range(0, len(cells), 7)]})
        ctx.update(
            year=year,
            prev_year=year - 1,
            next_year=year + 1,
            months=months,
            official=calendar.has_official_data(year),
            overrides=calendar.calendar_day_list(user=user, year=year),
            years=calendar.calendar_year_status(user=user),
            missing_years=calendar.years_without_data(),
            form=form or CalendarDayForm(initial={"date": f"{year}-01-01"}),
            office_hours=OFFICE_HOURS,
            weekdays=[_("一"), _("二"), _("三"), _("四"), _("五"), _("六"), _("日")],
            crumbs=_crumbs((_("工作日历"), None)),
        )
        return ctx

    def post(self, request, *args, **kwargs):
        form = CalendarDayForm(request.POST)
        if form.is_valid():
            try:
                day = calendar.calendar_day_create(
                    by=request.user,
                    date=form.cleaned_data["date"],
                    is_working=form.cleaned_data["is_working"],
                    note=form.cleaned_data["note"],
                )
            except DomainError as exc:
                _apply_error(form, exc)
            else:
                messages.success(request, gettext("已保存 %(day)s。") % {"day": day})
                return redirect(f"{reverse('core:calendar')}?year={day.date.year}")
        return self.render_to_response(self.get_context_data(form=form), status=400)


class CalendarDayEditView(_CenterAdminMixin, TemplateView):
    template_name = "core/calendar/day_edit.html"

    def _day(self):
        try:
            return calendar.calendar_day_get(user=self.request.user, pk=self.kwargs["pk"])
        except NotFound:
            from django.http import Http404

            raise Http404

    def get_context_data(self, form=None, **kwargs):
        ctx = super().get_context_data(**kwargs)
        day = self._day()
        ctx["day"] = day
        ctx["form"] = form or CalendarDayForm(
            initial={
                "date": day.date.isoformat(),
                "is_working": "true" if day.is_working else "false",
                "note": day.note,
            }
        )
        ctx["crumbs"] = _crumbs((_("工作日历"), reverse("core:calendar")), (str(day), None))
        return ctx

    def post(self, request, *args, **kwargs):
        day = self._day()
        form = CalendarDayForm(request.POST)
        if form.is_valid():
            try:
                calendar.calendar_day_update(
                    by=request.user,
                    day=day,
                    date=form.cleaned_data["date"],
                    is_working=form.cleaned_data["is_working"],
                    note=form.cleaned_data["note"],
                )
            except DomainError as exc:
                _apply_error(form, exc)
            else:
                messages.success(request, gettext("已修改。"))
                return redirect(f"{reverse('core:calendar')}?year={day.date.year}")
        return self.render_to_response(self.get_context_data(form=form), status=400)


class CalendarDayDeleteView(_CenterAdminMixin, View):
    http_method_names = ["post"]

    def post(self, request, pk: int):
        try:
            day = calendar.calendar_day_get(user=request.user, pk=pk)
        except NotFound:
            from django.http import Http404

            raise Http404
        year = day.date.year
        calendar.calendar_day_delete(by=request.user, day=day)
        messages.success(request, gettext("已删除该调整，恢复按官方日历计算。"))
        return redirect(f"{reverse('core:calendar')}?year={year}")


class CalendarImportView(_CenterAdminMixin, TemplateView):
    template_name = "core/calendar/import.html"

    def get_context_data(self, form=None, **kwargs):
        ctx = super().get_context_data(**kwargs)
        missing = calendar.years_without_data()
        ctx["form"] = form or CalendarImportForm(
            initial={"year": missing[0] if missing else timezone.localdate().year + 1, "confirm": True}
        )
        ctx["crumbs"] = _crumbs((_("工作日历"), reverse("core:calendar")), (_("导入放假安排"), None))
        return ctx

    def post(self, request, *args, **kwargs):
        form = CalendarImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                result = calendar.calendar_import(
                    by=request.user,
                    year=form.cleaned_data["year"],
                    filename=upload.name,
                    content=upload.read(),
                    replace=form.cleaned_data["replace"],
                    confirm=form.cleaned_data["confirm"],
                )
            except DomainError as exc:
                _apply_error(form, exc)
            else:
                messages.success(
                    request,
                    gettext("已导入 %(year)s 年：新增 %(created)s 天，更新 %(updated)s 天。")
                    % {"year": result.year, "created": result.created, "updated": result.updated},
                )
                return redirect(f"{reverse('core:calendar')}?year={result.year}")
        return self.render_to_response(self.get_context_data(form=form), status=400)


class CalendarYearConfirmView(_CenterAdminMixin, View):
    http_method_names = ["post"]

    def post(self, request, year: int):
        try:
            if request.POST.get("action") == "unconfirm":
                calendar.calendar_year_unconfirm(by=request.user, year=year)
                messages.info(request, gettext("已撤销 %(year)s 年的确认。") % {"year": year})
            else:
                calendar.calendar_year_confirm(by=request.user, year=year, note=request.POST.get("note", ""))
                messages.success(request, gettext("已确认 %(year)s 年节假日安排。") % {"year": year})
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect(f"{reverse('core:calendar')}?year={year}")


# --- rules ----------------------------------------------------------------------------------


class RuleListView(LoginRequiredMixin, TemplateView):
    """Every rule of core/rules.py with its article and length; the center admin may change it."""

    template_name = "core/calendar/rules.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not calendar.can_view_rules(request.user):
            raise DjangoPermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, error: str = "", **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["rows"] = calendar.rule_table(user=self.request.user)
        ctx["can_edit"] = calendar.can_manage_calendar(self.request.user)
        ctx["error"] = error
        ctx["office_hours"] = OFFICE_HOURS
        ctx["crumbs"] = _crumbs((_("时限规则"), None))
        return ctx

    def post(self, request, *args, **kwargs):
        if not calendar.can_manage_calendar(request.user):
            raise DjangoPermissionDenied
        form = RuleLengthForm(request.POST)
        if not form.is_valid():
            errors = [str(e) for errs in form.errors.values() for e in errs]
            return self.render_to_response(self.get_context_data(error="；".join(errors)), status=400)
        try:
            calendar.rule_length_set(
                by=request.user,
                rule=form.cleaned_data["rule"],
                working_days=form.cleaned_data["working_days"],
                note=form.cleaned_data["note"],
            )
        except DomainError as exc:
            return self.render_to_response(self.get_context_data(error=exc.message), status=400)
        messages.success(request, gettext("已保存，新启动的时限按新的工作日数计算。"))
        return redirect("core:calendar-rules")


# --- deadlines ------------------------------------------------------------------------------


class DeadlineListView(LoginRequiredMixin, TemplateView):
    """The clocks the user may see (center staff: all units), filtered by state, rule, unit."""

    template_name = "core/calendar/deadlines.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        params = self.request.GET
        error = ""
        try:
            qs = deadlines.deadline_list(
                user=self.request.user,
                state=params.get("state"),
                rule=params.get("rule"),
                unit=params.get("unit"),
            )
        except DomainError as exc:
            error, qs = exc.message, deadlines.deadline_list(user=self.request.user)
        page = Paginator(qs, 50).get_page(params.get("page"))
        ctx.update(
            page=page,
            units=_unit_choices(self.request.user),
            unit=params.get("unit", ""),
            error=error,
            states=Deadline.State.choices,
            rules=Rule.choices,
            state=params.get("state", ""),
            rule=params.get("rule", ""),
            now=timezone.now(),
            crumbs=_crumbs((_("办理时限"), None)),
        )
        return ctx


def _unit_choices(user) -> list:
    """Units a center staff member may filter by (others see only their own unit anyway)."""
    if not deadlines.is_center_staff(user):
        return []
    from accounts.models import Unit

    return list(Unit.objects.filter(is_active=True).order_by("code").values_list("pk", "name"))


def calendar_day_kind(info: calendar.DayInfo) -> str:
    """CSS class of a day on the year view."""
    if info.source == "override":
        return "gh-cal-override-work" if info.is_working else "gh-cal-override-rest"
    if info.is_working and info.date.weekday() >= 5:
        return "gh-cal-makeup"
    if not info.is_working:
        return "gh-cal-holiday" if info.note else "gh-cal-rest"
    return "gh-cal-provisional" if info.provisional else "gh-cal-work"


urlpatterns = [
    path("calendar/", CalendarView.as_view(), name="calendar"),
    path("calendar/days/<int:pk>/edit/", CalendarDayEditView.as_view(), name="calendar-day-edit"),
    path("calendar/days/<int:pk>/delete/", CalendarDayDeleteView.as_view(), name="calendar-day-delete"),
    path("calendar/import/", CalendarImportView.as_view(), name="calendar-import"),
    path(
        "calendar/years/<int:year>/confirm/", CalendarYearConfirmView.as_view(), name="calendar-year-confirm"
    ),
    path("calendar/rules/", RuleListView.as_view(), name="calendar-rules"),
    path("deadlines/", DeadlineListView.as_view(), name="deadline-list"),
]
