"""Downloads of rejected values (CSV with BOM so Excel opens it, or XLSX)."""

from __future__ import annotations

import csv
import io

from django.http import HttpResponse

from core.errors import Invalid

from .errors import DatastoreError as E
from .models import Load

HEADER = ["行号", "列", "原因", "原值"]


def _safe(value: str) -> str:
    """Neutralise spreadsheet formulas in values that came from users (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def rejects_response(load: Load, rejects, fmt: str) -> HttpResponse:
    name = f"load-{load.pk}-rejects"
    if fmt == "csv":
        # At most conf.max_rejects_kept() rows are stored, so one response body is fine.
        buf = io.StringIO()
        buf.write("\ufeff")
        writer = csv.writer(buf)
        writer.writerow(HEADER)
        for r in rejects.iterator(chunk_size=2000):
            writer.writerow([r.line, r.column, r.reason, _safe(r.value)])
        response = HttpResponse(buf.getvalue().encode("utf-8"), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response
    if fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("拒绝明细")
        ws.append(HEADER)
        for r in rejects.iterator(chunk_size=2000):
            ws.append([r.line, r.column, r.reason, _safe(r.value)])
        out = io.BytesIO()
        wb.save(out)
        response = HttpResponse(
            out.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
        return response
    raise Invalid(E.BAD_FORMAT, "下载格式应为 csv 或 xlsx。")
