"""Exchange API: grants and access requests. Thin: HTTP ↔ services/selectors."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Q
from django.http import StreamingHttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from accounts.authentication import require_scope
from core import ratelimit
from core.errors import DomainError, Invalid, NotFound
from exchange import gateway, reading, selectors, services
from exchange.errors import ExchangeError
from exchange.models import AccessRequest

from . import serializers as s


def refuse_nul(request, kwargs) -> None:
    """PostgreSQL cannot compare text with NUL bytes: refuse them with a clear 400 (DESIGN rule 5)
    rather than a database error, the same on SQLite."""
    values = [*kwargs.values(), *request.GET.keys()]
    values += [v for key in request.GET for v in request.GET.getlist(key)]
    if any("\x00" in str(v) for v in values):
        raise Invalid(ExchangeError.BAD_FILTER, _("请求参数不能包含空字符（NUL）。"))


class NoNulMixin:
    """After authentication and permissions (anonymous still gets 401), refuse NUL bytes."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        refuse_nul(request, kwargs)


class GrantListApi(NoNulMixin, generics.ListAPIView):
    """我的授权 / 谁在使用我的数据 / 全部授权（中心）."""

    serializer_class = s.GrantSerializer

    def get_queryset(self):
        qs = selectors.grant_list(user=self.request.user)
        p = self.request.query_params
        if p.get("role") == "consumer":
            qs = qs.filter(consumer_id=self.request.user.unit_id)
        elif p.get("role") == "provider":
            qs = qs.filter(resource__provider_id=self.request.user.unit_id)
        if p.get("status"):
            qs = qs.filter(status=p["status"])
        if p.get("resource"):
            qs = qs.filter(resource__code=p["resource"])
        return qs


class GrantDetailApi(NoNulMixin, APIView):
    @extend_schema(responses=s.GrantSerializer)
    def get(self, request, pk: int):
        return Response(s.GrantSerializer(selectors.grant_get(user=request.user, pk=pk)).data)


class GrantObtainApi(NoNulMixin, APIView):
    """Unconditional sharing: obtain a grant directly (S§29)."""

    @extend_schema(request=s.ObtainSerializer, responses={201: s.GrantSerializer})
    def post(self, request):
        ser = s.ObtainSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        d = dict(ser.validated_data)
        grant = services.grant_obtain_unconditional(
            resource=selectors.published_resource_by_code(d.pop("resource")),
            by=request.user,
            request=request,
            **d,
        )
        return Response(s.GrantSerializer(grant).data, status=201)


class _GrantActionApi(NoNulMixin, APIView):
    serializer_class = s.ReasonSerializer
    service = None

    def post(self, request, pk: int):
        grant = selectors.grant_get(user=request.user, pk=pk)
        ser = self.serializer_class(data=request.data)
        ser.is_valid(raise_exception=True)
        grant = type(self).service(grant=grant, by=request.user, request=request, **ser.validated_data)
        return Response(s.GrantSerializer(grant).data)


class GrantSuspendApi(_GrantActionApi):
    service = staticmethod(services.grant_suspend)

    @extend_schema(request=s.ReasonSerializer, responses=s.GrantSerializer)
    def post(self, request, pk: int):
        return super().post(request, pk)


class GrantResumeApi(_GrantActionApi):
    service = staticmethod(services.grant_resume)

    @extend_schema(request=s.ReasonSerializer, responses=s.GrantSerializer)
    def post(self, request, pk: int):
        return super().post(request, pk)


class GrantRevokeApi(_GrantActionApi):
    service = staticmethod(services.grant_revoke)

    @extend_schema(request=s.ReasonSerializer, responses=s.GrantSerializer)
    def post(self, request, pk: int):
        return super().post(request, pk)


class GrantNarrowApi(_GrantActionApi):
    serializer_class = s.NarrowSerializer
    service = staticmethod(services.grant_narrow)

    @extend_schema(request=s.NarrowSerializer, responses=s.GrantSerializer)
    def post(self, request, pk: int):
        return super().post(request, pk)


class GrantRenewApi(_GrantActionApi):
    serializer_class = s.RenewSerializer
    service = staticmethod(services.grant_renew)

    @extend_schema(request=s.RenewSerializer, responses=s.GrantSerializer)
    def post(self, request, pk: int):
        return super().post(request, pk)


class AccessRequestListApi(NoNulMixin, generics.ListAPIView):
    """GET: requests I made, requests on my resources, all (center). POST: apply (conditional)."""

    serializer_class = s.AccessRequestSerializer

    def get_queryset(self):
        qs = selectors.access_request_list(user=self.request.user)
        p = self.request.query_params
        if p.get("status"):
            qs = qs.filter(status=p["status"])
        if p.get("q"):
            qs = qs.filter(Q(resource__name__icontains=p["q"]) | Q(purpose__icontains=p["q"]))
        return qs

    @extend_schema(request=s.SubmitSerializer, responses={201: s.AccessRequestSerializer})
    def post(self, request):
        ser = s.SubmitSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        d = dict(ser.validated_data)
        req = services.access_request_submit(
            resource=selectors.published_resource_by_code(d.pop("resource")),
            by=request.user,
            request=request,
            **d,
        )
        return Response(s.AccessRequestSerializer(req).data, status=201)


class AccessRequestDetailApi(NoNulMixin, APIView):
    @extend_schema(responses=s.AccessRequestSerializer)
    def get(self, request, pk: int):
        return Response(
            s.AccessRequestSerializer(selectors.access_request_get(user=request.user, pk=pk)).data
        )


class AccessRequestOpinionApi(NoNulMixin, APIView):
    @extend_schema(request=s.OpinionSerializer, responses=s.AccessRequestSerializer)
    def post(self, request, pk: int):
        req: AccessRequest = selectors.access_request_get(user=request.user, pk=pk)
        ser = s.OpinionSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        req = services.access_request_provider_opinion(
            access_request=req, by=request.user, request=request, **ser.validated_data
        )
        return Response(s.AccessRequestSerializer(req).data)


class AccessRequestDecideApi(NoNulMixin, APIView):
    @extend_schema(request=s.DecideSerializer, responses=s.AccessRequestSerializer)
    def post(self, request, pk: int):
        req = selectors.access_request_get(user=request.user, pk=pk)
        ser = s.DecideSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        req = services.access_request_decide(
            access_request=req, by=request.user, request=request, **ser.validated_data
        )
        return Response(s.AccessRequestSerializer(req).data)


# --- Read channels (S§31) ----------------------------------------------------------------------


PURPOSE_PARAMS = [
    OpenApiParameter(
        "purpose", OpenApiTypes.STR, required=False, description="用途类别；也可用请求头 X-Purpose"
    ),
    OpenApiParameter("purpose_detail", OpenApiTypes.STR, required=False, description="具体用途（可选）"),
]


class ClientRateThrottle(BaseThrottle):
    """Per API client (or per user for browser sessions), counted in the database so all server
    processes share one count (``core.ratelimit``) — a clear 429 with Retry-After. A call the
    exchange gateway (``exchange.gateway``) already counted is not counted twice."""

    def allow_request(self, request, view):
        rate = ratelimit.parse_rate(getattr(settings, "GOVHUB_EXCHANGE_RATE", "1200/min"))
        key = rate_key_of(request)
        if request.META.get(gateway.COUNTED_ENV) == key:
            self.verdict = ratelimit.peek(key, rate)
        else:
            self.verdict = ratelimit.hit(key, rate)
        return self.verdict.allowed

    def wait(self):
        return self.verdict.retry_after


def rate_key_of(request) -> str:
    client = getattr(request, "api_client", None)
    return gateway.rate_key(client.pk) if client is not None else f"u{request.user.pk}"


def _purpose(request) -> tuple[str, str]:
    purpose = request.headers.get("X-Purpose") or request.query_params.get("purpose") or ""
    detail = request.headers.get("X-Purpose-Detail") or request.query_params.get("purpose_detail") or ""
    return purpose.strip(), detail.strip()


#: Token scope each read channel needs (docs/api-guide.md: a token without it gets 403).
CHANNEL_SCOPES = {
    "online_query": "exchange.query",
    "batch_download": "exchange.download",
    "system_feed": "exchange.feed",
    "exchange_node": "exchange.feed",
}


def _context(request, code: str, channel: str):
    require_scope(request, CHANNEL_SCOPES[channel])
    resource = selectors.published_resource_by_code(code)
    purpose, detail = _purpose(request)
    return selectors.access_check(
        user=request.user,
        resource=resource,
        channel=channel,
        purpose=purpose,
        purpose_detail=detail,
        api_client=getattr(request, "api_client", None),
    )


class RecordQueryApi(NoNulMixin, APIView):
    """联机查询: ``GET /api/v1/exchange/<code>/records?<item>=…&<item>__in=a,b&<item>__gte=…``
    with ``X-Purpose``. Returns granted items only, masked per sensitivity; keyset ``after``."""

    throttle_classes = [ClientRateThrottle]

    @extend_schema(parameters=PURPOSE_PARAMS, responses=OpenApiTypes.OBJECT)
    def get(self, request, code: str):
        ctx = _context(request, code, "online_query")
        return Response(
            reading.online_query(
                ctx=ctx,
                user=request.user,
                params=request.query_params.dict(),
                api_client=getattr(request, "api_client", None),
                request=request,
            )
        )


class _FileFormatNegotiation(DefaultContentNegotiation):
    """``?format=csv`` chooses the file, not a DRF renderer; errors are still JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class DownloadApi(NoNulMixin, APIView):
    """部门批量下载: streams CSV / JSONL / XLSX of the granted slice."""

    throttle_classes = [ClientRateThrottle]
    content_negotiation_class = _FileFormatNegotiation

    @extend_schema(
        parameters=[
            *PURPOSE_PARAMS,
            OpenApiParameter("format", OpenApiTypes.STR, enum=["csv", "jsonl", "xlsx"]),
        ],
        responses={(200, "text/csv"): OpenApiTypes.BINARY},
    )
    def get(self, request, code: str):
        ctx = _context(request, code, "batch_download")
        fmt = request.query_params.get("format", "csv")
        download_id, stream = reading.start_download(
            ctx=ctx,
            user=request.user,
            params=request.query_params.dict(),
            fmt=fmt,
            api_client=getattr(request, "api_client", None),
            request=request,
        )
        types = {
            "csv": "text/csv; charset=utf-8",
            "jsonl": "application/x-ndjson; charset=utf-8",
            "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
        resp = StreamingHttpResponse(stream, content_type=types[fmt])
        resp["Content-Disposition"] = f'attachment; filename="{code}-{download_id}.{fmt}"'
        resp["X-GovHub-Download-Id"] = download_id
        return resp


class ChangeFeedApi(NoNulMixin, APIView):
    """系统对接 / 前置机: ``GET /api/v1/exchange/<code>/changes?since=<cursor>``."""

    throttle_classes = [ClientRateThrottle]

    @extend_schema(
        parameters=[
            *PURPOSE_PARAMS,
            OpenApiParameter("since", OpenApiTypes.INT),
            OpenApiParameter("limit", OpenApiTypes.INT),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request, code: str):
        require_scope(request, CHANNEL_SCOPES["system_feed"])
        resource = selectors.published_resource_by_code(code)
        purpose, detail = _purpose(request)
        client = getattr(request, "api_client", None)
        last_error = None
        for channel in ("system_feed", "exchange_node"):
            try:
                ctx = selectors.access_check(
                    user=request.user, resource=resource, channel=channel, purpose=purpose,
                    purpose_detail=detail, api_client=client,
                )  # fmt: skip
                break
            except DomainError as exc:
                last_error = exc
        else:
            raise last_error
        try:
            since = int(request.query_params.get("since") or 0)
            limit = int(request.query_params.get("limit") or 500)
        except ValueError:
            raise Invalid(ExchangeError.BAD_FILTER, "since 和 limit 须为整数。")
        if not 0 <= since < 2**63:  # a cursor is a change-log id: never negative, a bigint
            raise Invalid(ExchangeError.BAD_FILTER, "since 须为 0 或此前返回的游标。")
        return Response(
            reading.change_feed(
                ctx=ctx,
                user=request.user,
                since=since,
                limit=limit,
                channel=channel,
                api_client=client,
                request=request,
            )  # fmt: skip
        )


class WhoAccessedApi(NoNulMixin, APIView):
    """ "谁访问了这条记录": auditors enter an identifier and see every unit, purpose and time
    that returned it (S§35). Reading this is itself audited."""

    @extend_schema(parameters=[OpenApiParameter("identifier", OpenApiTypes.STR, required=True)])
    def get(self, request):
        events = services.record_access_lookup(
            user=request.user, identifier=request.query_params.get("identifier", ""), request=request
        )
        return Response(
            {
                "results": [
                    {
                        "time": e.occurred_at.isoformat(),
                        "unit": e.unit_label,
                        "actor": e.actor_label,
                        "api_client": e.api_client_label,
                        "purpose": e.purpose,
                        "resource": (e.details or {}).get("resource"),
                        "channel": (e.details or {}).get("channel"),
                        "audit_id": e.pk,
                    }
                    for e in events
                ]
            }
        )


class UsageApi(NoNulMixin, APIView):
    """Usage statistics per resource / consumer / purpose / day (S§38 input)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("resource", OpenApiTypes.STR),
            OpenApiParameter("days", OpenApiTypes.INT),
        ]
    )
    def get(self, request):
        from django.db.models import Sum

        code = request.query_params.get("resource")
        resource = selectors.published_resource_by_code(code) if code else None
        try:
            days = int(request.query_params.get("days") or 30)
        except ValueError:
            raise Invalid(ExchangeError.BAD_FILTER, "days 须为整数。")
        rows = (
            selectors.usage_daily(user=request.user, days=days, resource=resource)
            .values(
                "day", "resource__code", "resource__name", "consumer__name", "purpose_category", "channel"
            )
            .annotate(calls=Sum("calls"), rows=Sum("rows"))
            .order_by("day")
        )
        return Response({"results": [{**r, "day": r["day"].isoformat()} for r in rows]})


class WebhookCreateApi(NoNulMixin, APIView):
    """Register a system's endpoint for a grant; the signing secret is shown once."""

    @extend_schema(request=s.WebhookCreateSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request, pk: int):
        from exchange import webhooks

        grant = selectors.grant_get(user=request.user, pk=pk)
        ser = s.WebhookCreateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        hook, secret = webhooks.webhook_create(
            grant=grant, by=request.user, url=ser.validated_data["url"], request=request
        )
        return Response({**s.WebhookSerializer(hook).data, "secret": secret}, status=201)


class WebhookListApi(NoNulMixin, generics.ListAPIView):
    serializer_class = s.WebhookSerializer

    def get_queryset(self):
        return selectors.webhook_list(user=self.request.user).order_by("-id")


class DeliveryListApi(NoNulMixin, generics.ListAPIView):
    """Delivery log and dead letters (``?status=dead``)."""

    serializer_class = s.DeliverySerializer

    def get_queryset(self):
        qs = selectors.delivery_list(user=self.request.user)
        if self.request.query_params.get("status"):
            qs = qs.filter(status=self.request.query_params["status"])
        return qs.order_by("-id")


class DeliveryReplayApi(NoNulMixin, APIView):
    @extend_schema(request=None, responses=s.DeliverySerializer)
    def post(self, request, pk: int):
        from exchange import webhooks

        delivery = selectors.delivery_list(user=request.user).filter(pk=pk).first()
        if delivery is None:
            raise NotFound()
        delivery = webhooks.delivery_replay(delivery=delivery, by=request.user, request=request)
        return Response(s.DeliverySerializer(delivery).data)
