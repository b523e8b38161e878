"""Run the background worker: the django-tasks database queue plus the periodic schedule."""

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "运行后台任务进程（数据库队列 + 定时任务）。"

    def handle(self, *args, **options):
        call_command("db_worker")
