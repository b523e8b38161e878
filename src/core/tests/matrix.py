"""The permission matrix: every API endpoint × every role (STYLE.md "Testing"; S§34-36).

Each GovHub app lists its endpoints in ``<app>/tests/permission_matrix.py`` as a module-level
``ROWS: list[Row]``. ``core/tests/test_permission_matrix.py`` collects the rows of every
installed app and, for every row, calls the endpoint once per role in ``accounts.roles.Role``
and once anonymously:

* a role in ``allowed`` must NOT be refused: the status may not be 401, 403, 404 or 405
  (400/409 are fine — the call got past the permission check);
* any other role must get 403 or 404 (404 where existence must not leak);
* anonymous must get 401 (or, for ``public=True`` rows, must not be refused).

It also walks every URL pattern under ``/api/v1/`` and FAILS when a route+method has no row
(and when a row names a route+method that does not exist). Add rows when you add endpoints.

Writing a row::

    from accounts.roles import Role
    from core.tests.matrix import Row, UNIT_ROLES

    def _own_resource(ctx):
        resource = ResourceFactory(provider=ctx.home)        # the acting user's own unit
        return {"kwargs": {"pk": resource.pk}, "data": {"name": "新名称"}}

    ROWS = [
        Row("catalog-api:resource-list", "GET", allowed=ALL_ROLES),
        Row("catalog-api:resource-detail", "PATCH", allowed={Role.DATA_OFFICER}, setup=_own_resource),
    ]

``route`` is the namespaced URL name (``reverse()`` style). ``method`` is one HTTP method;
GET/POST/PUT/PATCH/DELETE each need their own row when the view implements them.
``setup(ctx)`` runs after the acting user exists and returns ``None`` or a dict with any of:
``kwargs`` (URL kwargs), ``data`` (request body), ``query`` (query-string dict),
``format`` ("json" by default; "multipart" for uploads).

Where the acting user lives (``ROLE_HOME``; decided here, used by every row):

* center roles (CENTER_ADMIN, CENTER_REVIEWER) and the three separated administrators
  (SYS_ADMIN, SEC_ADMIN, AUDIT_ADMIN — platform-wide duties) → the center (``ctx.center``);
* AUDITOR → an oversight unit (``ctx.oversight``, 区审计局 — S§10 audit supervision);
* every other role (UNIT_ADMIN, DATA_OFFICER, UNIT_USER, SYSTEM_OWNER, SECURITY_OFFICER)
  → an ordinary unit, ``ctx.unit_a``.

``ctx.home`` is the acting user's unit (``ctx.unit_a`` for the anonymous call), so a setup that
creates "the actor's own" object works for every role. ``ctx.unit_b`` is another ordinary unit
for objects the actor must not see; object-level checks (A cannot see B's objects) belong in
the app's own tests, but a row may use ``ctx.unit_b`` to assert "nobody but the center".

Users are created with ``must_change_password=False`` and one role each; the call goes through
the real stack (session login, middleware, DRF authentication and permissions).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from accounts.roles import Role

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

ALL_ROLES: frozenset[str] = frozenset(Role.values)
CENTER_ROLES: frozenset[str] = frozenset({Role.CENTER_ADMIN, Role.CENTER_REVIEWER})
SEPARATED_ADMINS: frozenset[str] = frozenset({Role.SYS_ADMIN, Role.SEC_ADMIN, Role.AUDIT_ADMIN})
UNIT_ROLES: frozenset[str] = frozenset(
    {Role.UNIT_ADMIN, Role.DATA_OFFICER, Role.UNIT_USER, Role.SYSTEM_OWNER, Role.SECURITY_OFFICER}
)
NOBODY: frozenset[str] = frozenset()

#: Where the matrix places a user holding each role (see the module docstring).
ROLE_HOME: dict[str, str] = {
    **{r: "center" for r in CENTER_ROLES | SEPARATED_ADMINS},
    Role.AUDITOR: "oversight",
    **{r: "unit_a" for r in UNIT_ROLES},
}


@dataclass(frozen=True)
class Row:
    """One endpoint+method and the roles that may call it."""

    route: str
    method: str
    allowed: Iterable[str] = field(default_factory=frozenset)
    setup: Callable[[Ctx], dict | None] | None = None
    public: bool = False  # anonymous callers are allowed too (open data portal)
    note: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", self.method.upper())
        object.__setattr__(self, "allowed", frozenset(self.allowed))
        if self.method not in HTTP_METHODS:
            raise ValueError(f"{self.route}: unknown method {self.method}")
        unknown = set(self.allowed) - ALL_ROLES
        if unknown:
            raise ValueError(f"{self.route}: unknown roles {sorted(unknown)}")

    @property
    def key(self) -> tuple[str, str]:
        return (self.route, self.method)

    @property
    def id(self) -> str:
        return f"{self.method} {self.route}"


@dataclass
class Ctx:
    """What a row's ``setup`` receives."""

    center: Any
    unit_a: Any
    unit_b: Any
    oversight: Any
    role: str | None = None
    actor: Any = None

    @property
    def home(self) -> Any:
        """The acting user's unit (unit A for the anonymous call)."""
        return self.actor.unit if self.actor is not None else self.unit_a

    def user(self, *, roles: Iterable[str] = (), unit: Any = None, **fields: Any) -> Any:
        """Create another user (default: in unit A) holding ``roles``."""
        from accounts.tests.factories import UserFactory

        return UserFactory(roles=list(roles), unit=unit or self.unit_a, **fields)

    def unit_for(self, role: str) -> Any:
        return getattr(self, ROLE_HOME[role])


def build_ctx() -> Ctx:
    """Create the units every matrix test uses (needs the ``db`` fixture)."""
    from accounts.models import Unit
    from accounts.tests.factories import UnitFactory

    return Ctx(
        center=UnitFactory(kind=Unit.Kind.CENTER, name="矩阵·数据资源中心"),
        unit_a=UnitFactory(kind=Unit.Kind.UNIT, name="矩阵·甲单位"),
        unit_b=UnitFactory(kind=Unit.Kind.UNIT, name="矩阵·乙单位"),
        oversight=UnitFactory(kind=Unit.Kind.OVERSIGHT, name="矩阵·审计局"),
    )


def govhub_apps() -> list[str]:
    """Installed GovHub apps (plain module names, in INSTALLED_APPS order)."""
    third_party = {"rest_framework", "django_filters", "drf_spectacular", "drf_spectacular_sidecar"}
    third_party |= {"django_htmx", "django_tasks", "django_tasks_db", "bootstrap"}
    return [a for a in settings.INSTALLED_APPS if "." not in a and a not in third_party]


def all_rows() -> list[Row]:
    """Every row from every installed app's ``<app>.tests.permission_matrix.ROWS``."""
    rows: list[Row] = []
    for app in govhub_apps():
        name = f"{app}.tests.permission_matrix"
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name in (name, f"{app}.tests"):
                continue
            raise
        rows.extend(getattr(module, "ROWS", []))
    return rows


def _view_methods(callback: Any) -> set[str]:
    """HTTP methods a resolved API view answers (HEAD/OPTIONS excluded)."""
    actions = getattr(callback, "actions", None)  # DRF ViewSet routed by a router
    if actions:
        return {m.upper() for m in actions} & set(HTTP_METHODS)
    cls = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if cls is not None:
        return {m for m in HTTP_METHODS if hasattr(cls, m.lower())}
    allowed = getattr(callback, "http_method_names", None)  # function views with @api_view
    return {m.upper() for m in allowed or ("get",)} & set(HTTP_METHODS)


def api_routes(prefix: str = "api/v1/") -> Iterator[tuple[str, str, str]]:
    """(route name, method, pattern) for every URL pattern below ``prefix``.

    Unnamed patterns are yielded with the name ``"<unnamed>"`` so the test can refuse them.
    """
    from django.urls import URLPattern, URLResolver, get_resolver

    def walk(patterns, path: str, namespace: str):
        for p in patterns:
            piece = str(p.pattern)
            if isinstance(p, URLResolver):
                ns = namespace
                if p.namespace:
                    ns = f"{namespace}:{p.namespace}" if namespace else p.namespace
                yield from walk(p.url_patterns, path + piece, ns)
            elif isinstance(p, URLPattern):
                full = path + piece
                if not full.startswith(prefix) or "format" in p.pattern.regex.groupindex:
                    continue
                name = f"{namespace}:{p.name}" if (namespace and p.name) else (p.name or "<unnamed>")
                for method in sorted(_view_methods(p.callback)):
                    yield name, method, full

    yield from walk(get_resolver().url_patterns, "", "")
