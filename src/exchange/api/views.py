"""Exchange API: grants and access requests. Thin: HTTP ↔ services/selectors."""

from __future__ import annotations

from django.db.models import Q
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Resource, ResourceStatus
from core.errors import NotFound
from exchange import selectors, services
from exchange.models import AccessRequest

from . import serializers as s


def _resource_by_code(code: str) -> Resource:
    res = Resource.objects.filter(code=code, status=ResourceStatus.PUBLISHED).first()
    if res is None:
        raise NotFound()
    return res


class GrantListApi(generics.ListAPIView):
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


class GrantDetailApi(APIView):
    @extend_schema(responses=s.GrantSerializer)
    def get(self, request, pk: int):
        return Response(s.GrantSerializer(selectors.grant_get(user=request.user, pk=pk)).data)


class GrantObtainApi(APIView):
    """Unconditional sharing: obtain a grant directly (S§29)."""

    @extend_schema(request=s.ObtainSerializer, responses={201: s.GrantSerializer})
    def post(self, request):
        ser = s.ObtainSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        d = dict(ser.validated_data)
        grant = services.grant_obtain_unconditional(
            resource=_resource_by_code(d.pop("resource")), by=request.user, request=request, **d
        )
        return Response(s.GrantSerializer(grant).data, status=201)


class _GrantActionApi(APIView):
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


class AccessRequestListApi(generics.ListAPIView):
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
            resource=_resource_by_code(d.pop("resource")), by=request.user, request=request, **d
        )
        return Response(s.AccessRequestSerializer(req).data, status=201)


class AccessRequestDetailApi(APIView):
    @extend_schema(responses=s.AccessRequestSerializer)
    def get(self, request, pk: int):
        return Response(
            s.AccessRequestSerializer(selectors.access_request_get(user=request.user, pk=pk)).data
        )


class AccessRequestOpinionApi(APIView):
    @extend_schema(request=s.OpinionSerializer, responses=s.AccessRequestSerializer)
    def post(self, request, pk: int):
        req: AccessRequest = selectors.access_request_get(user=request.user, pk=pk)
        ser = s.OpinionSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        req = services.access_request_provider_opinion(
            access_request=req, by=request.user, request=request, **ser.validated_data
        )
        return Response(s.AccessRequestSerializer(req).data)


class AccessRequestDecideApi(APIView):
    @extend_schema(request=s.DecideSerializer, responses=s.AccessRequestSerializer)
    def post(self, request, pk: int):
        req = selectors.access_request_get(user=request.user, pk=pk)
        ser = s.DecideSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        req = services.access_request_decide(
            access_request=req, by=request.user, request=request, **ser.validated_data
        )
        return Response(s.AccessRequestSerializer(req).data)
