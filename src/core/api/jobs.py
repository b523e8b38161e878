"""REST API of background jobs: status and progress for the people who may see them
(the creator, admins of the creator's unit, center staff; anyone else gets 404).

    /api/v1/core/jobs/              GET runs visible to the caller (?status=&kind=)
    /api/v1/core/jobs/<id>/         GET one run with progress (poll this)
    /api/v1/core/jobs/<id>/retry/   POST put a failed run back in the queue
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core import jobs
from core.models import JobRun


class JobRunSerializer(serializers.ModelSerializer):
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    created_by = serializers.CharField(source="created_by.username", default="", read_only=True)
    progress = serializers.SerializerMethodField()
    target = serializers.SerializerMethodField()
    is_finished = serializers.BooleanField(read_only=True)

    class Meta:
        model = JobRun
        fields = [
            "id",
            "kind",
            "status",
            "status_label",
            "is_finished",
            "progress",
            "attempts",
            "max_attempts",
            "created_by",
            "target",
            "created_at",
            "started_at",
            "finished_at",
            "error",
            "result",
        ]

    def get_progress(self, run: JobRun) -> dict:
        return {
            "done": run.progress_done,
            "total": run.progress_total,
            "percent": run.percent,
            "message": run.progress_message,
        }

    def get_target(self, run: JobRun) -> dict | None:
        if not run.target_type:
            return None
        return {"type": run.target_type, "id": run.target_id, "label": run.target_label}


class JobListApi(generics.ListAPIView):
    serializer_class = JobRunSerializer

    def get_queryset(self):
        qs = jobs.job_list(user=self.request.user).select_related("created_by")
        params = self.request.query_params
        if params.get("status") in JobRun.Status.values:
            qs = qs.filter(status=params["status"])
        if params.get("kind"):
            qs = qs.filter(kind=params["kind"])
        return qs


class JobDetailApi(APIView):
    @extend_schema(responses=JobRunSerializer)
    def get(self, request, pk: int):
        return Response(JobRunSerializer(jobs.job_get(user=request.user, pk=pk)).data)


class JobRetryApi(APIView):
    @extend_schema(request=None, responses=JobRunSerializer)
    def post(self, request, pk: int):
        run = jobs.job_retry(run=pk, by=request.user)
        return Response(JobRunSerializer(run).data)


urlpatterns = [
    path("jobs/", JobListApi.as_view(), name="job-list"),
    path("jobs/<int:pk>/", JobDetailApi.as_view(), name="job-detail"),
    path("jobs/<int:pk>/retry/", JobRetryApi.as_view(), name="job-retry"),
]
