"""REST API of the in-app inbox. Everyone signed in; each person sees only their own.

/api/v1/core/notifications/                 GET own notifications (?unread=1)
/api/v1/core/notifications/unread-count/    GET {"unread": n}
/api/v1/core/notifications/<id>/read/       POST mark one read (another's → 404)
/api/v1/core/notifications/read-all/        POST mark all own read
/api/v1/core/notifications/preferences/     GET categories with email on/off; PATCH one
"""

from __future__ import annotations

from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core import notify
from core.errors import Invalid
from core.models import Notification


class NotificationSerializer(serializers.ModelSerializer):
    is_read = serializers.BooleanField(read_only=True)
    category = serializers.CharField(read_only=True)

    class Meta:
        model = Notification
        fields = ["id", "event", "category", "title", "body", "url", "created_at", "read_at", "is_read"]


class PreferenceSerializer(serializers.Serializer):
    category = serializers.CharField()
    label = serializers.CharField(read_only=True)
    inbox = serializers.BooleanField(read_only=True)
    email = serializers.BooleanField()


class NotificationListApi(generics.ListAPIView):
    """我的通知（最新在前）。"""

    serializer_class = NotificationSerializer

    def get_queryset(self):
        unread = self.request.query_params.get("unread", "").lower() in {"1", "true", "yes"}
        return notify.notification_list(user=self.request.user, unread_only=unread)


class NotificationUnreadCountApi(APIView):
    @extend_schema(responses={200: {"type": "object", "properties": {"unread": {"type": "integer"}}}})
    def get(self, request):
        return Response({"unread": notify.notification_unread_count(user=request.user)})


class NotificationReadApi(APIView):
    @extend_schema(request=None, responses=NotificationSerializer)
    def post(self, request, pk: int):
        n = notify.notification_mark_read(notification=pk, by=request.user)
        return Response(NotificationSerializer(n).data)


class NotificationReadAllApi(APIView):
    @extend_schema(
        request=None, responses={200: {"type": "object", "properties": {"marked": {"type": "integer"}}}}
    )
    def post(self, request):
        return Response({"marked": notify.notification_mark_all_read(by=request.user)})


class NotificationPreferenceApi(APIView):
    serializer_class = PreferenceSerializer

    @extend_schema(responses=PreferenceSerializer(many=True))
    def get(self, request):
        return Response(
            PreferenceSerializer(notify.notification_preferences(user=request.user), many=True).data
        )

    @extend_schema(request=PreferenceSerializer, responses=PreferenceSerializer(many=True))
    def patch(self, request):
        data = request.data if isinstance(request.data, dict) else {}
        email = data.get("email")
        if not isinstance(email, bool):
            raise Invalid(
                notify.NotifyError.BAD_CATEGORY, _("邮件开关必须为 true 或 false。"), {"email": email}
            )
        notify.notification_preference_set(
            by=request.user, category=str(data.get("category", "")), email=email
        )
        return Response(
            PreferenceSerializer(notify.notification_preferences(user=request.user), many=True).data
        )


urlpatterns = [
    path("notifications/", NotificationListApi.as_view(), name="notification-list"),
    path(
        "notifications/unread-count/", NotificationUnreadCountApi.as_view(), name="notification-unread-count"
    ),
    path("notifications/<int:pk>/read/", NotificationReadApi.as_view(), name="notification-read"),
    path("notifications/read-all/", NotificationReadAllApi.as_view(), name="notification-read-all"),
    path("notifications/preferences/", NotificationPreferenceApi.as_view(), name="notification-preferences"),
]
