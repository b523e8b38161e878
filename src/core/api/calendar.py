"""REST API of the working-day calendar, the rule lengths and the deadline clocks.

Thin: every call goes to ``core.calendar`` / ``core.deadlines``, which check permissions first
(so a refused caller gets 403 whatever the input) and raise the platform's errors.

    /api/v1/core/calendar/days/                     GET list, POST create      (center admin)
    /api/v1/core/calendar/days/<id>/                GET, PATCH, DELETE         (center admin)
    /api/v1/core/calendar/import/                   POST multipart file+year   (center admin)
    /api/v1/core/calendar/years/                    GET status of the years    (center admin)
    /api/v1/core/calendar/years/<year>/confirmation/ POST confirm, DELETE undo (center admin)
    /api/v1/core/calendar/due/                      GET due time of "N working days" (everyone)
    /api/v1/core/rules/                             GET rules table            (center staff)
    /api/v1/core/rules/<code>/                      PATCH length               (center admin)
    /api/v1/core/deadlines/                         GET clocks visible to the caller, filters
    /api/v1/core/deadlines/stats/                   GET met/overdue per unit+rule (center staff)
"""

from __future__ import annotations

from datetime import date

from django.urls import path
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from core import calendar, deadlines
from core.api.pagination import StandardPagination
from core.calendar import CalendarError
from core.errors import Invalid, PermissionDenied
from core.models import CalendarDay, Deadline
from core.rules import RULES, Rule

# --- serializers (output only; input goes to the services as given) ---------------------------


class CalendarDaySerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", default="", read_only=True)

    class Meta:
        model = CalendarDay
        fields = ["id", "date", "is_working", "note", "created_by", "created_at", "updated_at"]


class CalendarDayInputSerializer(serializers.Serializer):
    """Documents the body; values are checked by ``core.calendar`` with clear messages."""

    date = serializers.CharField(help_text="YYYY-MM-DD")
    is_working = serializers.CharField(help_text="true/false 或 工作日/休息日")
    note = serializers.CharField(required=False, allow_blank=True)


class ImportInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV 或 .xlsx：日期, 工作日/休息日, 说明")
    year = serializers.IntegerField()
    replace = serializers.BooleanField(required=False, default=False)
    confirm = serializers.BooleanField(required=False, default=True)


class ImportResultSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    confirmed = serializers.BooleanField()
    dates = serializers.ListField(child=serializers.CharField())


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True)


class RuleLengthInputSerializer(serializers.Serializer):
    working_days = serializers.IntegerField(min_value=1, max_value=365)
    note = serializers.CharField(required=False, allow_blank=True)


class StatsRowSerializer(serializers.Serializer):
    unit_id = serializers.IntegerField(allow_null=True)
    unit = serializers.CharField()
    rule = serializers.CharField()
    rule_label = serializers.CharField()
    article = serializers.CharField()
    total = serializers.IntegerField()
    met_on_time = serializers.IntegerField()
    met_late = serializers.IntegerField()
    overdue = serializers.IntegerField()
    open = serializers.IntegerField()
    on_time_rate = serializers.FloatField(allow_null=True)


class DueResultSerializer(serializers.Serializer):
    submitted_at = serializers.DateTimeField()
    working_days = serializers.IntegerField()
    counting_starts_on = serializers.DateField()
    due_at = serializers.DateTimeField()
    provisional = serializers.BooleanField()


class YearStatusSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    official = serializers.BooleanField()
    confirmed = serializers.BooleanField()
    settled = serializers.BooleanField()
    overrides = serializers.IntegerField()


class RuleRowSerializer(serializers.Serializer):
    rule = serializers.CharField()
    label = serializers.CharField()
    article = serializers.CharField()
    default_days = serializers.IntegerField()
    working_days = serializers.IntegerField()
    overridden = serializers.BooleanField()
    note = serializers.CharField()


class DeadlineSerializer(serializers.ModelSerializer):
    rule_label = serializers.CharField(source="get_rule_display", read_only=True)
    article = serializers.SerializerMethodField()
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    target_type = serializers.SerializerMethodField()
    responsible_unit_name = serializers.CharField(source="responsible_unit.name", default="", read_only=True)

    class Meta:
        model = Deadline
        fields = [
            "id",
            "rule",
            "rule_label",
            "article",
            "target_type",
            "target_id",
            "target_label",
            "responsible_unit",
            "responsible_unit_name",
            "working_days",
            "started_at",
            "due_at",
            "provisional",
            "state",
            "state_label",
            "paused_at",
            "pause_reason",
            "working_days_used",
            "met_at",
            "late",
            "overdue_notified_at",
        ]

    def get_article(self, obj: Deadline) -> str:
        return RULES[Rule(obj.rule)].article

    def get_target_type(self, obj: Deadline) -> str:
        return f"{obj.target_type.app_label}.{obj.target_type.model}"


def _bool(value, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes", "on", "是"}


# --- calendar -------------------------------------------------------------------------------


class CalendarDayListApi(APIView):
    """Overrides of the working-day calendar (they win over the official calendar)."""

    serializer_class = CalendarDayInputSerializer

    @extend_schema(
        operation_id="core_calendar_days_list",
        parameters=[OpenApiParameter("year", OpenApiTypes.INT)],
        responses=CalendarDaySerializer(many=True),
    )
    def get(self, request):
        year = request.query_params.get("year")
        calendar.require_calendar_manager(request.user)
        qs = calendar.calendar_day_list(user=request.user, year=calendar.parse_year(year) if year else None)
        paginator = StandardPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(CalendarDaySerializer(page, many=True).data)

    @extend_schema(request=CalendarDayInputSerializer, responses={201: CalendarDaySerializer})
    def post(self, request):
        data = request.data
        day = calendar.calendar_day_create(
            by=request.user,
            date=data.get("date"),
            is_working=data.get("is_working"),
            note=str(data.get("note") or ""),
        )
        return Response(CalendarDaySerializer(day).data, status=status.HTTP_201_CREATED)


class CalendarDayDetailApi(APIView):
    serializer_class = CalendarDayInputSerializer

    def get(self, request, pk: int):
        return Response(CalendarDaySerializer(calendar.calendar_day_get(user=request.user, pk=pk)).data)

    def patch(self, request, pk: int):
        day = calendar.calendar_day_get(user=request.user, pk=pk)
        data = request.data
        note = data.get("note")
        day = calendar.calendar_day_update(
            by=request.user,
            day=day,
            date=data.get("date"),
            is_working=data.get("is_working"),
            note=None if note is None else str(note),
        )
        return Response(CalendarDaySerializer(day).data)

    def delete(self, request, pk: int):
        day = calendar.calendar_day_get(user=request.user, pk=pk)
        calendar.calendar_day_delete(by=request.user, day=day)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CalendarImportApi(APIView):
    """Import the State Council notice for one year (CSV or XLSX: 日期, 工作日/休息日, 说明)."""

    parser_classes = [MultiPartParser, FormParser]
    serializer_class = ImportInputSerializer

    @extend_schema(
        request={"multipart/form-data": ImportInputSerializer}, responses={201: ImportResultSerializer}
    )
    def post(self, request):
        calendar.require_calendar_manager(request.user)
        upload = request.FILES.get("file")
        if upload is None:
            raise Invalid(CalendarError.BAD_FILE, _("请选择要导入的 CSV 或 Excel 文件。"), {"field": "file"})
        result = calendar.calendar_import(
            by=request.user,
            year=request.data.get("year"),
            filename=upload.name,
            content=upload.read(),
            replace=_bool(request.data.get("replace")),
            confirm=_bool(request.data.get("confirm"), default=True),
        )
        return Response(
            {
                "year": result.year,
                "created": result.created,
                "updated": result.updated,
                "confirmed": result.confirmed,
                "dates": result.dates,
            },
            status=status.HTTP_201_CREATED,
        )


class CalendarYearListApi(APIView):
    """Last, current and next year: official data present, confirmed by the center, overrides."""

    serializer_class = YearStatusSerializer

    def get(self, request):
        rows = calendar.calendar_year_status(user=request.user)
        return Response(
            {
                "results": YearStatusSerializer(rows, many=True).data,
                "missing": calendar.years_without_data(),
            }
        )


class CalendarYearConfirmApi(APIView):
    """The center admin confirms (POST) or withdraws (DELETE) a year's holiday arrangement."""

    serializer_class = NoteSerializer

    def post(self, request, year: int):
        entry = calendar.calendar_year_confirm(
            by=request.user, year=year, note=str(request.data.get("note") or "")
        )
        return Response({"year": entry.year, "confirmed": True}, status=status.HTTP_201_CREATED)

    def delete(self, request, year: int):
        calendar.calendar_year_unconfirm(by=request.user, year=year)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CalendarDueApi(APIView):
    """When "within N working days" ends for a request submitted at ``submitted_at`` (any user).

    ``working_days`` or ``rule`` (a code from the rules table); ``submitted_at`` defaults to now.
    Applies the convention of docs/decisions/0003-working-day-convention.md."""

    serializer_class = DueResultSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("submitted_at", OpenApiTypes.DATETIME),
            OpenApiParameter("working_days", OpenApiTypes.INT),
            OpenApiParameter("rule", OpenApiTypes.STR, enum=Rule.values),
        ]
    )
    def get(self, request):
        params = request.query_params
        raw = params.get("submitted_at")
        submitted = parse_datetime(raw) if raw else timezone.now()
        if submitted is None:
            raise Invalid(
                CalendarError.BAD_DATE,
                _("提交时间格式不正确，应为 ISO 8601，例如 2026-09-30T10:00:00+08:00。"),
                {"field": "submitted_at"},
            )
        if params.get("rule"):
            try:
                days = calendar.rule_length(params["rule"])
            except ValueError:
                raise Invalid(CalendarError.BAD_RULE, _("没有这项时限规则。"), {"field": "rule"})
        else:
            try:
                days = int(params.get("working_days", ""))
            except ValueError:
                days = 0
            if not 1 <= days <= 365:
                raise Invalid(
                    CalendarError.BAD_VALUE,
                    _("工作日数应为 1 至 365 之间的整数。"),
                    {"field": "working_days"},
                )
        try:
            calendar.parse_date(calendar.local_date(submitted))
        except Invalid as exc:
            exc.details = {"field": "submitted_at"}
            raise
        due, provisional = calendar.due_at(submitted, days)
        return Response(
            {
                "submitted_at": submitted.isoformat(),
                "working_days": days,
                "counting_starts_on": calendar.add_working_days(
                    calendar.local_date(submitted), 1
                ).isoformat(),
                "due_at": due.isoformat(),
                "provisional": provisional,
            }
        )


# --- rules ----------------------------------------------------------------------------------


class RuleListApi(APIView):
    """Every deadline rule with its article and length in working days (center staff)."""

    serializer_class = RuleRowSerializer

    def get(self, request):
        rows = calendar.rule_table(user=request.user)
        data = [
            {
                "rule": r.rule.value,
                "label": r.label,
                "article": r.article,
                "default_days": r.default_days,
                "working_days": r.working_days,
                "overridden": r.overridden,
                "note": r.note,
            }
            for r in rows
        ]
        return Response({"results": RuleRowSerializer(data, many=True).data})


class RuleDetailApi(APIView):
    """The center admin changes a rule's length for new clocks."""

    parser_classes = [JSONParser, FormParser, MultiPartParser]
    serializer_class = RuleLengthInputSerializer

    def patch(self, request, rule: str):
        calendar.rule_length_set(
            by=request.user,
            rule=rule,
            working_days=request.data.get("working_days"),
            note=str(request.data.get("note") or ""),
        )
        row = next(r for r in calendar.rule_table(user=request.user) if r.rule.value == rule)
        return Response({"rule": rule, "working_days": row.working_days, "overridden": row.overridden})


# --- deadlines ------------------------------------------------------------------------------


class DeadlineListApi(APIView):
    """Clocks the caller may see: center staff all, everyone else their unit's.
    Filters: ``state``, ``rule``, ``unit`` (id), ``target_type`` ("app_label.model") + ``target_id``."""

    serializer_class = DeadlineSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("state", OpenApiTypes.STR, enum=Deadline.State.values),
            OpenApiParameter("rule", OpenApiTypes.STR, enum=Rule.values),
            OpenApiParameter("unit", OpenApiTypes.INT),
            OpenApiParameter(
                "target_type", OpenApiTypes.STR, description="app_label.model, e.g. cloud.cloudapplication"
            ),
            OpenApiParameter("target_id", OpenApiTypes.STR),
        ],
        responses=DeadlineSerializer(many=True),
    )
    def get(self, request):
        params = request.query_params
        qs = deadlines.deadline_list(
            user=request.user,
            state=params.get("state"),
            rule=params.get("rule"),
            unit=params.get("unit"),
            target_type=params.get("target_type"),
            target_id=params.get("target_id"),
        ).select_related("target_type")
        paginator = StandardPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(DeadlineSerializer(page, many=True).data)


class DeadlineStatsApi(APIView):
    """Met on time / met late / overdue / open per responsible unit and rule, for clocks falling
    due between ``start`` and ``end`` (YYYY-MM-DD; default: this year up to today)."""

    serializer_class = StatsRowSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("start", OpenApiTypes.DATE),
            OpenApiParameter("end", OpenApiTypes.DATE),
            OpenApiParameter("unit", OpenApiTypes.INT),
            OpenApiParameter("rule", OpenApiTypes.STR, enum=Rule.values),
        ]
    )
    def get(self, request):
        if not deadlines.is_center_staff(request.user):
            raise PermissionDenied(
                deadlines.DeadlineError.NOT_ALLOWED, _("只有数据资源中心工作人员可以查看时限统计。")
            )
        params = request.query_params
        today = timezone.localdate()
        start = calendar.parse_date(params["start"]) if params.get("start") else date(today.year, 1, 1)
        end = calendar.parse_date(params["end"]) if params.get("end") else today
        rows = deadlines.deadline_statistics(
            user=request.user, start=start, end=end, unit=params.get("unit"), rule=params.get("rule")
        )
        return Response({"start": start.isoformat(), "end": end.isoformat(), "results": rows})


urlpatterns = [
    path("calendar/days/", CalendarDayListApi.as_view(), name="calendar-day-list"),
    path("calendar/days/<int:pk>/", CalendarDayDetailApi.as_view(), name="calendar-day-detail"),
    path("calendar/import/", CalendarImportApi.as_view(), name="calendar-import"),
    path("calendar/years/", CalendarYearListApi.as_view(), name="calendar-year-list"),
    path(
        "calendar/years/<int:year>/confirmation/",
        CalendarYearConfirmApi.as_view(),
        name="calendar-year-confirmation",
    ),
    path("calendar/due/", CalendarDueApi.as_view(), name="calendar-due"),
    path("rules/", RuleListApi.as_view(), name="rule-list"),
    path("rules/<str:rule>/", RuleDetailApi.as_view(), name="rule-detail"),
    path("deadlines/", DeadlineListApi.as_view(), name="deadline-list"),
    path("deadlines/stats/", DeadlineStatsApi.as_view(), name="deadline-stats"),
]
