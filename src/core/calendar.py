"""The working-day calendar (工作日; DESIGN.md rule 3) and the center's calendar services.

A date is a working day when:

1. the center entered an override for it (``CalendarDay``) — that always wins;
2. else ``chinesecalendar`` has official data for its year (public holidays and 调休 make-up
   working Saturdays/Sundays from the State Council notices);
3. else (a year the library does not cover yet, e.g. 2027 with chinesecalendar 1.11.0) it is a
   working day from Monday to Friday. Such dates are *provisional* until the center confirms the
   year (``CalendarYear``), after entering or importing the State Council notice.

Convention (docs/decisions/0003-working-day-convention.md): the day a request is submitted is
never counted, whatever the hour or kind of day; counting starts on the next working day and
"within N working days" ends at 23:59:59 Asia/Shanghai of the N-th working day.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import audit
from core.errors import Invalid, NotFound, PermissionDenied
from core.models import CalendarDay, CalendarYear, RuleOverride
from core.rules import CALENDAR_YEARS_SUPPORTED, RULES, Rule

SHANGHAI = ZoneInfo("Asia/Shanghai")
END_OF_DAY = time(23, 59, 59)


class CalendarError(str, Enum):
    """Stable error codes of the calendar and rule pages."""

    NOT_ALLOWED = "calendar.not_allowed"
    NOT_FOUND = "calendar.not_found"
    BAD_DATE = "calendar.bad_date"
    BAD_VALUE = "calendar.bad_value"
    DUPLICATE_DATE = "calendar.duplicate_date"
    BAD_YEAR = "calendar.bad_year"
    BAD_FILE = "calendar.bad_file"
    NO_ROWS = "calendar.no_rows"
    ROW_ERRORS = "calendar.row_errors"
    BAD_RULE = "calendar.bad_rule"


# --- official data --------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def has_official_data(year: int) -> bool:
    """True when ``chinesecalendar`` knows the holidays of ``year``."""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def _official_is_working(d: date) -> bool | None:
    """The official answer, or None for a year without data."""
    if not has_official_data(d.year):
        return None
    return chinese_calendar.is_workday(d)


def _confirmed_years() -> set[int]:
    return set(CalendarYear.objects.values_list("year", flat=True))


def years_without_data(today: date | None = None) -> list[int]:
    """Years among the current and the next one whose holidays nobody has confirmed yet.

    A year counts as confirmed when ``chinesecalendar`` has its data or the center confirmed it
    (``CalendarYear``). Feeds the banner "20XX 年节假日安排尚未确认".
    """
    today = today or timezone.localdate()
    confirmed = _confirmed_years()
    return [y for y in (today.year, today.year + 1) if not has_official_data(y) and y not in confirmed]


# --- day by day -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DayInfo:
    """What the calendar says about one date and why."""

    date: date
    is_working: bool
    source: str  # "override" | "official" | "fallback"
    provisional: bool
    note: str = ""


class _Calendar:
    """Answers for a stretch of dates with few queries (overrides are loaded in windows)."""

    WINDOW = 120

    def __init__(self) -> None:
        self.confirmed = _confirmed_years()
        self.overrides: dict[date, tuple[bool, str]] = {}
        self.loaded: tuple[date, date] | None = None

    def _ensure(self, d: date) -> None:
        if self.loaded and self.loaded[0] <= d <= self.loaded[1]:
            return
        lo, hi = d - timedelta(days=self.WINDOW), d + timedelta(days=self.WINDOW)
        rows = CalendarDay.objects.filter(date__gte=lo, date__lte=hi).values_list(
            "date", "is_working", "note"
        )
        self.overrides = {row[0]: (row[1], row[2]) for row in rows}
        self.loaded = (lo, hi)

    def info(self, d: date) -> DayInfo:
        self._ensure(d)
        if d in self.overrides:
            is_working, note = self.overrides[d]
            return DayInfo(d, is_working, "override", False, note)
        official = _official_is_working(d)
        if official is not None:
            _on_holiday, name = chinese_calendar.get_holiday_detail(d)
            return DayInfo(d, official, "official", False, _holiday_label(name))
        provisional = d.year not in self.confirmed
        return DayInfo(d, d.weekday() < 5, "fallback", provisional)

    def add(self, start: date, n: int) -> tuple[date, bool]:
        """The n-th working day after ``start`` (``start`` itself not counted), and provisional."""
        if n < 0:
            raise ValueError("n must be >= 0")
        d, counted, provisional = start, 0, False
        while counted < n:
            d += timedelta(days=1)
            info = self.info(d)
            provisional = provisional or info.provisional
            if info.is_working:
                counted += 1
        return d, provisional

    def between(self, a: date, b: date) -> int:
        sign = 1
        if b < a:
            a, b, sign = b, a, -1
        count, d = 0, a
        while d < b:
            d += timedelta(days=1)
            if self.info(d).is_working:
                count += 1
        return sign * count


_HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}


def _holiday_label(name: Any) -> str:
    if not name:
        return ""
    text = getattr(name, "value", None) or str(name)
    if isinstance(text, tuple):
        text = text[0]
    return _HOLIDAY_NAMES.get(text, text)


def day_info(d: date) -> DayInfo:
    """Whether ``d`` is a working day, where the answer comes from and whether it is provisional."""
    return _Calendar().info(_as_date(d))


def month_days(year: int, month: int) -> list[DayInfo]:
    """Every date of one month, for the calendar page."""
    cal = _Calendar()
    d = date(year, month, 1)
    days = []
    while d.month == month:
        days.append(cal.info(d))
        d += timedelta(days=1)
    return days


def _as_date(d: date | datetime) -> date:
    return local_date(d) if isinstance(d, datetime) else d


def is_working_day(d: date) -> bool:
    """True when ``d`` is a working day (override, else official calendar, else Monday–Friday).

    An aware datetime is taken on its Asia/Shanghai date."""
    return _Calendar().info(_as_date(d)).is_working


def add_working_days(start: date, n: int) -> date:
    """The n-th working day after ``start``; ``start`` itself is never counted (n=0 → ``start``)."""
    return _Calendar().add(_as_date(start), n)[0]


def working_days_between(a: date, b: date) -> int:
    """How many working days d satisfy a < d ≤ b (negative when b is before a).

    ``working_days_between(a, add_working_days(a, n)) == n`` for every n ≥ 0.
    """
    return _Calendar().between(_as_date(a), _as_date(b))


def local_date(moment: datetime) -> date:
    """The Asia/Shanghai calendar date of an instant (naive values are taken as Shanghai time)."""
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=SHANGHAI)
    return moment.astimezone(SHANGHAI).date()


def end_of_day(d: date) -> datetime:
    """23:59:59 Asia/Shanghai of ``d``."""
    return datetime.combine(d, END_OF_DAY, tzinfo=SHANGHAI)


def due_at(submitted_at: datetime, n: int) -> tuple[datetime, bool]:
    """When "within ``n`` working days" of a request submitted at ``submitted_at`` ends.

    The day of submission D is not counted, whether the request came during office hours
    (08:30–17:30), after them, or on a non-working day: counting starts on the first working day
    after D, and the time limit ends at 23:59:59 Asia/Shanghai of the n-th working day.
    Returns ``(aware datetime, provisional)``; provisional is True when a counted stretch runs
    through a year without confirmed holiday data (Monday–Friday plus overrides were assumed).
    """
    if n < 1:
        raise ValueError("n must be >= 1")
    last, provisional = _Calendar().add(local_date(submitted_at), n)
    return end_of_day(last), provisional


def working_days_used(since: datetime, until: datetime) -> int:
    """Working days of a clock used between two instants: those after the start date up to and
    including the date of ``until`` (a partly used working day counts as used)."""
    return max(0, _Calendar().between(local_date(since), local_date(until)))


# --- permissions ----------------------------------------------------------------------------


def _is_center_user(user: Any) -> bool:
    unit = getattr(user, "unit", None)
    return bool(getattr(user, "is_authenticated", False) and unit is not None and unit.kind == "center")


def can_manage_calendar(user: Any) -> bool:
    """Only the center admin keeps the calendar and the rule lengths."""
    from accounts.roles import Role

    return _is_center_user(user) and user.has_role(Role.CENTER_ADMIN)


def can_view_rules(user: Any) -> bool:
    """Center staff (admin and reviewer) see the rules table."""
    from accounts.roles import Role

    return _is_center_user(user) and user.has_role(Role.CENTER_ADMIN, Role.CENTER_REVIEWER)


def require_calendar_manager(user: Any) -> None:
    """Raise ``PermissionDenied`` unless ``user`` is the center admin."""
    if not can_manage_calendar(user):
        raise PermissionDenied(CalendarError.NOT_ALLOWED, _("只有数据资源中心管理员可以维护工作日历。"))


# --- input ----------------------------------------------------------------------------------

_DATE_PATTERNS = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"),
)
_WORKING_WORDS = {"工作日", "上班", "班", "补班", "working", "work", "workday", "1", "true", "是"}
_HOLIDAY_WORDS = {
    "休息日",
    "节假日",
    "假日",
    "休息",
    "休",
    "放假",
    "holiday",
    "off",
    "rest",
    "0",
    "false",
    "否",
}


def parse_date(value: Any) -> date:
    """A date from user input: ``YYYY-MM-DD`` (also ``YYYY/MM/DD`` and ``YYYY年M月D日``).

    Raises ``Invalid`` with a clear message otherwise, and for years outside 2000–2100.
    """
    if isinstance(value, datetime):
        parsed = value.date()
    elif isinstance(value, date):
        parsed = value
    else:
        text = str(value if value is not None else "").strip()
        parsed = None
        for pattern in _DATE_PATTERNS:
            match = pattern.match(text)
            if match:
                try:
                    parsed = date(*(int(part) for part in match.groups()))
                except ValueError:
                    parsed = None
                break
        if parsed is None:
            raise Invalid(
                CalendarError.BAD_DATE,
                _("日期“%(value)s”格式不正确，应为 YYYY-MM-DD，例如 2027-01-01。") % {"value": text[:40]},
                {"field": "date"},
            )
    lo, hi = CALENDAR_YEARS_SUPPORTED
    if not lo <= parsed.year <= hi:
        raise Invalid(
            CalendarError.BAD_YEAR,
            _("年份须在 %(lo)s 至 %(hi)s 之间。") % {"lo": lo, "hi": hi},
            {"field": "date"},
        )
    return parsed


def parse_is_working(value: Any) -> bool:
    """ "工作日"/"上班" → True, "休息日"/"节假日" → False (English words and 1/0 too)."""
    if isinstance(value, bool):
        return value
    text = str(value if value is not None else "").strip().lower()
    if text in _WORKING_WORDS:
        return True
    if text in _HOLIDAY_WORDS:
        return False
    raise Invalid(
        CalendarError.BAD_VALUE,
        _("“%(value)s”无法识别，应为“工作日”或“休息日”。") % {"value": text[:40]},
        {"field": "is_working"},
    )


def parse_year(value: Any) -> int:
    try:
        year = int(str(value).strip())
    except (TypeError, ValueError):
        year = 0
    lo, hi = CALENDAR_YEARS_SUPPORTED
    if not lo <= year <= hi:
        raise Invalid(
            CalendarError.BAD_YEAR,
            _("年份须在 %(lo)s 至 %(hi)s 之间。") % {"lo": lo, "hi": hi},
            {"field": "year"},
        )
    return year


# --- services: overrides --------------------------------------------------------------------


def _recompute_clocks(dates: Iterable[date]) -> None:
    """Running deadline clocks follow the calendar the center just changed."""
    from core import deadlines

    deadlines.recompute_for_calendar_change(dates=dates)


def _whole_year(year: int) -> list[date]:
    return [date(year, 1, 1), date(year, 12, 31)]


def _snapshot(day: CalendarDay) -> dict:
    return {"date": day.date.isoformat(), "is_working": day.is_working, "note": day.note}


@transaction.atomic
def calendar_day_create(*, by: Any, date: Any, is_working: Any, note: str = "") -> CalendarDay:
    """The center admin declares one date working or not; it wins over the official calendar."""
    require_calendar_manager(by)
    day_date, working = parse_date(date), parse_is_working(is_working)
    if CalendarDay.objects.filter(date=day_date).exists():
        raise Invalid(
            CalendarError.DUPLICATE_DATE,
            _("%(date)s 已有调整记录，请修改原记录。") % {"date": day_date.isoformat()},
            {"field": "date"},
        )
    try:
        with transaction.atomic():
            day = CalendarDay.objects.create(
                date=day_date, is_working=working, note=(note or "")[:200], created_by=by
            )
    except IntegrityError:  # a concurrent insert of the same date
        raise Invalid(
            CalendarError.DUPLICATE_DATE,
            _("%(date)s 已有调整记录，请修改原记录。") % {"date": day_date.isoformat()},
            {"field": "date"},
        )
    audit.record(actor=by, action="core.calendar_day.create", target=day, details={"after": _snapshot(day)})
    _recompute_clocks([day.date])
    return day


@transaction.atomic
def calendar_day_update(
    *, by: Any, day: CalendarDay, date: Any = None, is_working: Any = None, note: str | None = None
) -> CalendarDay:
    """Change one override (date, kind or note)."""
    require_calendar_manager(by)
    day = _lock_day(day.pk)
    before, old_date = _snapshot(day), day.date
    if date is not None:
        new_date = parse_date(date)
        if new_date != day.date and CalendarDay.objects.filter(date=new_date).exists():
            raise Invalid(
                CalendarError.DUPLICATE_DATE,
                _("%(date)s 已有调整记录，请修改原记录。") % {"date": new_date.isoformat()},
                {"field": "date"},
            )
        day.date = new_date
    if is_working is not None:
        day.is_working = parse_is_working(is_working)
    if note is not None:
        day.note = note[:200]
    day.save()
    audit.record(
        actor=by,
        action="core.calendar_day.update",
        target=day,
        details={"before": before, "after": _snapshot(day)},
    )
    _recompute_clocks([old_date, day.date])
    return day


@transaction.atomic
def calendar_day_delete(*, by: Any, day: CalendarDay) -> None:
    """Remove one override; the official calendar (or Monday–Friday) applies again."""
    require_calendar_manager(by)
    day = _lock_day(day.pk)
    before, old_date = _snapshot(day), day.date
    audit.record(
        actor=by,
        action="core.calendar_day.delete",
        target_type="core.calendarday",
        target_id=day.pk,
        target_label=str(day),
        details={"before": before},
    )
    day.delete()
    _recompute_clocks([old_date])


def _lock_day(pk: Any) -> CalendarDay:
    try:
        return CalendarDay.objects.select_for_update().get(pk=pk)
    except (CalendarDay.DoesNotExist, ValueError, TypeError):
        raise NotFound(CalendarError.NOT_FOUND, _("未找到该工作日调整记录。"))


def calendar_day_get(*, user: Any, pk: Any) -> CalendarDay:
    """One override, for the center admin."""
    require_calendar_manager(user)
    try:
        return CalendarDay.objects.get(pk=int(pk))
    except (CalendarDay.DoesNotExist, ValueError, TypeError):
        raise NotFound(CalendarError.NOT_FOUND, _("未找到该工作日调整记录。"))


def calendar_day_list(*, user: Any, year: int | None = None):
    """Overrides, optionally of one year (center admin only)."""
    require_calendar_manager(user)
    qs = CalendarDay.objects.select_related("created_by").order_by("date")
    if year:
        qs = qs.filter(date__year=year)
    return qs


# --- services: years ------------------------------------------------------------------------


@dataclass(frozen=True)
class YearStatus:
    year: int
    official: bool
    confirmed: bool
    overrides: int

    @property
    def settled(self) -> bool:
        return self.official or self.confirmed


def calendar_year_status(*, user: Any, today: date | None = None) -> list[YearStatus]:
    """Last, current and next year: official data, center confirmation, number of overrides."""
    require_calendar_manager(user)
    today = today or timezone.localdate()
    confirmed = _confirmed_years()
    years = [today.year - 1, today.year, today.year + 1]
    return [
        YearStatus(y, has_official_data(y), y in confirmed, CalendarDay.objects.filter(date__year=y).count())
        for y in years
    ]


@transaction.atomic
def calendar_year_confirm(*, by: Any, year: Any, note: str = "") -> CalendarYear:
    """The center admin confirms a year's holiday arrangement is entered: its deadlines stop being
    provisional and the banner goes away."""
    require_calendar_manager(by)
    year = parse_year(year)
    entry, created = CalendarYear.objects.get_or_create(
        year=year, defaults={"confirmed_by": by, "note": (note or "")[:200]}
    )
    if created:
        audit.record(actor=by, action="core.calendar_year.confirm", target=entry, details={"year": year})
        _recompute_clocks(_whole_year(year))
    return entry


@transaction.atomic
def calendar_year_unconfirm(*, by: Any, year: Any) -> None:
    """Withdraw a confirmation (e.g. the notice changed)."""
    require_calendar_manager(by)
    year = parse_year(year)
    entry = CalendarYear.objects.select_for_update().filter(year=year).first()
    if entry is None:
        raise NotFound(CalendarError.NOT_FOUND, _("%(year)s 年尚未确认。") % {"year": year})
    audit.record(
        actor=by,
        action="core.calendar_year.unconfirm",
        target_type="core.calendaryear",
        target_id=entry.pk,
        target_label=str(year),
        details={"year": year},
    )
    entry.delete()
    _recompute_clocks(_whole_year(year))


# --- services: import -----------------------------------------------------------------------


@dataclass
class ImportResult:
    year: int
    created: int = 0
    updated: int = 0
    dates: list[str] = field(default_factory=list)
    confirmed: bool = False


def _read_rows(name: str, content: bytes) -> list[list[Any]]:
    lower = (name or "").lower()
    if lower.endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception:  # openpyxl raises many kinds for a broken file
            raise Invalid(CalendarError.BAD_FILE, _("无法读取该 Excel 文件，请确认是 .xlsx 格式。"))
        sheet = workbook.worksheets[0]
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
        workbook.close()
        return rows
    if lower.endswith(".csv") or lower.endswith(".txt"):
        text = None
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = content.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        if text is None:
            raise Invalid(CalendarError.BAD_FILE, _("无法识别文件编码，请使用 UTF-8 或 GB18030。"))
        return [row for row in csv.reader(io.StringIO(text))]
    raise Invalid(CalendarError.BAD_FILE, _("只支持 CSV（.csv）或 Excel（.xlsx）文件。"))


def _is_blank(row: Iterable[Any]) -> bool:
    return all(cell is None or str(cell).strip() == "" for cell in row)


def _looks_like_header(row: list[Any]) -> bool:
    first = str(row[0] if row else "").strip().lower()
    return first in {"日期", "date", "day"}


@transaction.atomic
def calendar_import(
    *, by: Any, year: Any, filename: str, content: bytes, replace: bool = False, confirm: bool = True
) -> ImportResult:
    """Import one year of the State Council notice: rows of (date, 工作日/休息日, note).

    All rows or none: any row error (bad date, date of another year, unknown kind, a date twice,
    a date already overridden unless ``replace``) refuses the whole file with every row's error.
    With ``confirm`` the year is marked confirmed in the same transaction.
    """
    require_calendar_manager(by)
    year = parse_year(year)
    numbered = [(line, row) for line, row in enumerate(_read_rows(filename, content), start=1)]
    numbered = [(line, row) for line, row in numbered if not _is_blank(row)]
    if numbered and _looks_like_header(numbered[0][1]):
        numbered = numbered[1:]
    errors: list[dict] = []
    parsed: list[tuple[date, bool, str]] = []
    seen: dict[date, int] = {}
    for line, row in numbered:
        cells = list(row) + [None, None, None]
        row_errors: list[str] = []
        day_date = working = None
        try:
            day_date = parse_date(cells[0])
        except Invalid as exc:
            row_errors.append(exc.message)
        if day_date is not None and day_date.year != year:
            row_errors.append(
                _("日期 %(date)s 不属于 %(year)s 年。") % {"date": day_date.isoformat(), "year": year}
            )
        if day_date is not None and day_date in seen:
            row_errors.append(
                _("日期 %(date)s 与第 %(line)s 行重复。")
                % {"date": day_date.isoformat(), "line": seen[day_date]}
            )
        try:
            working = parse_is_working(cells[1])
        except Invalid as exc:
            row_errors.append(exc.message)
        if row_errors:
            errors.append({"row": line, "errors": row_errors})
            continue
        seen[day_date] = line
        parsed.append((day_date, working, str(cells[2] or "").strip()[:200]))
    if not errors and not parsed:
        raise Invalid(
            CalendarError.NO_ROWS,
            _("文件中没有 %(year)s 年的日期，未导入任何数据。") % {"year": year},
        )
    existing = {d.date: d for d in CalendarDay.objects.select_for_update().filter(date__year=year)}
    if not replace:
        for day_date, _working, _note in parsed:
            if day_date in existing:
                errors.append(
                    {
                        "row": seen[day_date],
                        "errors": [
                            _("日期 %(date)s 已有调整记录；如需覆盖，请选择“覆盖已有调整”。")
                            % {"date": day_date.isoformat()}
                        ],
                    }
                )
    if errors:
        errors.sort(key=lambda e: e["row"])
        raise Invalid(
            CalendarError.ROW_ERRORS,
            _("导入失败：%(count)s 行有错误，未保存任何数据。") % {"count": len(errors)},
            {"rows": errors},
        )
    result = ImportResult(year=year)
    for day_date, working, note in parsed:
        current = existing.get(day_date)
        if current is None:
            CalendarDay.objects.create(date=day_date, is_working=working, note=note, created_by=by)
            result.created += 1
        else:
            current.is_working, current.note = working, note
            current.save(update_fields=["is_working", "note", "updated_at"])
            result.updated += 1
        result.dates.append(day_date.isoformat())
    if confirm:
        CalendarYear.objects.get_or_create(year=year, defaults={"confirmed_by": by, "note": filename[:200]})
        result.confirmed = True
    _recompute_clocks(_whole_year(year) if confirm else [d for d, _w, _n in parsed])
    audit.record(
        actor=by,
        action="core.calendar.import",
        target_type="core.calendaryear",
        target_id=year,
        target_label=str(year),
        details={
            "file": filename[:200],
            "created": result.created,
            "updated": result.updated,
            "dates": result.dates,
            "confirmed": result.confirmed,
        },
    )
    return result


# --- rules ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleRow:
    """One line of the rules table the center sees."""

    rule: Rule
    label: str
    article: str
    default_days: int
    working_days: int
    overridden: bool
    note: str


def rule_length(rule: Rule | str) -> int:
    """The length in working days new clocks of ``rule`` get (the center's override wins)."""
    rule = Rule(rule)
    override = RuleOverride.objects.filter(rule=rule).values_list("working_days", flat=True).first()
    return override if override is not None else RULES[rule].working_days


def rule_table(*, user: Any) -> list[RuleRow]:
    """Every rule of ``core.rules.RULES`` with its article and effective length (center staff)."""
    if not can_view_rules(user):
        raise PermissionDenied(CalendarError.NOT_ALLOWED, _("只有数据资源中心工作人员可以查看时限规则。"))
    overrides = {o.rule: o for o in RuleOverride.objects.all()}
    rows = []
    for rule, spec in RULES.items():
        override = overrides.get(rule.value)
        rows.append(
            RuleRow(
                rule=rule,
                label=str(rule.label),
                article=spec.article,
                default_days=spec.working_days,
                working_days=override.working_days if override else spec.working_days,
                overridden=override is not None,
                note=override.note if override else spec.note,
            )
        )
    return rows


def _parse_rule(value: Any) -> Rule:
    try:
        return Rule(str(value))
    except ValueError:
        raise NotFound(CalendarError.BAD_RULE, _("没有这项时限规则。"))


@transaction.atomic
def rule_length_set(*, by: Any, rule: Any, working_days: Any, note: str = "") -> RuleOverride | None:
    """The center admin changes a rule's length for new clocks; the default length removes the
    override. Running clocks keep their length."""
    require_calendar_manager(by)
    rule = _parse_rule(rule)
    try:
        days = int(str(working_days).strip())
    except (TypeError, ValueError):
        days = 0
    if not 1 <= days <= 365:
        raise Invalid(
            CalendarError.BAD_VALUE, _("工作日数应为 1 至 365 之间的整数。"), {"field": "working_days"}
        )
    before = rule_length(rule)
    RuleOverride.objects.select_for_update().filter(rule=rule).first()
    if days == RULES[rule].working_days:
        RuleOverride.objects.filter(rule=rule).delete()
        override = None
    else:
        override, _created = RuleOverride.objects.update_or_create(
            rule=rule, defaults={"working_days": days, "note": (note or "")[:200], "updated_by": by}
        )
    audit.record(
        actor=by,
        action="core.rule.update",
        target_type="core.rule",
        target_id=rule.value,
        target_label=str(rule.label),
        details={"before": before, "after": days, "article": RULES[rule].article},
        note=note,
    )
    return override
