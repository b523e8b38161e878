"""Datastore API rows of the permission matrix (format: ``core/tests/matrix.py``)."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.roles import Role
from core.tests.matrix import ALL_ROLES, Row

LOADERS = {Role.DATA_OFFICER, Role.CENTER_ADMIN}
VIEWERS = {Role.DATA_OFFICER, Role.UNIT_ADMIN, Role.CENTER_ADMIN, Role.CENTER_REVIEWER}


def _resource(ctx):
    from datastore.tests.factories import person_resource

    return person_resource(ctx.home)


def _own_resource(ctx):
    return {"kwargs": {"pk": _resource(ctx).pk}}


def _own_load(ctx):
    from datastore.models import Load, LoadStatus

    load = Load.objects.create(
        resource=_resource(ctx), source="csv", status=LoadStatus.SUCCEEDED, file_name="a.csv"
    )
    return {"kwargs": {"pk": load.pk}}


def _own_load_csv(ctx):
    spec = _own_load(ctx)
    spec["kwargs"]["fmt"] = "csv"
    return spec


def _upload(ctx):
    body = "身份证号,姓名\n11010119900307447X,张三\n".encode()
    return {
        "kwargs": {"pk": _resource(ctx).pk},
        "data": {"file": SimpleUploadedFile("a.csv", body, "text/csv"), "mode": "upsert"},
        "format": "multipart",
    }


def _push(ctx):
    return {
        "kwargs": {"pk": _resource(ctx).pk},
        "data": {"mode": "upsert", "rows": [{"id_card": "x", "name": "张三"}]},
    }


def _source_change(ctx):
    return {"kwargs": {"pk": _resource(ctx).pk}, "data": {"note": "户籍系统已更新"}}


ROWS = [
    Row("datastore-api:load-list", "GET", allowed=ALL_ROLES, note="lists only what the caller may see"),
    Row("datastore-api:load-detail", "GET", allowed=VIEWERS, setup=_own_load),
    Row("datastore-api:load-retry", "POST", allowed=LOADERS, setup=_own_load, note="409: not failed"),
    Row("datastore-api:load-rejects", "GET", allowed=VIEWERS, setup=_own_load),
    Row("datastore-api:load-rejects-download", "GET", allowed=VIEWERS, setup=_own_load_csv),
    Row("datastore-api:resource-loads", "GET", allowed=VIEWERS, setup=_own_resource),
    Row("datastore-api:resource-loads", "POST", allowed=LOADERS, setup=_upload),
    Row("datastore-api:resource-push", "POST", allowed=LOADERS, setup=_push),
    Row("datastore-api:resource-quality", "GET", allowed=ALL_ROLES, setup=_own_resource),
    Row("datastore-api:resource-source-change", "POST", allowed=LOADERS, setup=_source_change),
]
