"""Run the background worker: the django-tasks database queue plus the periodic schedule.

One process, two threads: the main thread runs django-tasks-db's worker loop (it owns the signal
handlers, so Ctrl+C / SIGTERM finish the current task and stop); a scheduler thread refreshes the
heartbeat of the job being run and starts due periodic tasks. On start, jobs left "running" by a
dead worker are recovered first (``core.jobs.recover_stale``).
"""

from __future__ import annotations

import os

from django.core.management.base import BaseCommand, CommandError
from django.utils.crypto import get_random_string

from core import jobs


class Command(BaseCommand):
    help = "运行后台任务进程（数据库队列 + 定时任务），启动时恢复中断的任务。"

    def add_arguments(self, parser) -> None:
        parser.add_argument("--queue-name", default="*", help="要处理的队列，逗号分隔；* 表示全部。")
        parser.add_argument("--interval", type=float, default=1.0, help="队列为空时的轮询间隔（秒）。")
        parser.add_argument("--batch", action="store_true", help="处理完现有任务后退出（不运行定时任务）。")
        parser.add_argument("--max-tasks", type=int, default=None, help="执行若干任务后退出。")
        parser.add_argument("--no-scheduler", action="store_true", help="只处理队列，不运行定时任务。")
        parser.add_argument("--recover-only", action="store_true", help="只恢复中断的任务，然后退出。")
        parser.add_argument(
            "--stale-seconds",
            type=float,
            default=None,
            help="心跳超过该秒数的运行中任务视为中断（默认 GOVHUB_JOB_STALE_SECONDS）。",
        )

    def handle(self, *args, **options) -> None:
        from datetime import timedelta

        from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends

        stale = options["stale_seconds"]
        counts = jobs.recover_stale(stale_after=timedelta(seconds=stale) if stale is not None else None)
        self.stdout.write(
            "恢复中断任务：重新排队 {requeued}，标记失败 {failed}，重新派发 {redispatched}".format(**counts)
        )
        if options["recover_only"]:
            return

        worker_id = f"{jobs.HOSTNAME[:40]}:{os.getpid()}:{get_random_string(8)}"[:64]
        schedules = jobs.load_schedules()
        scheduler = None
        if not options["no_scheduler"] and not options["batch"]:
            scheduler = jobs.Scheduler(worker=worker_id)
            scheduler.start()
            self.stdout.write("定时任务：" + ", ".join(f"{p.name}/{p.every}" for p in schedules))

        try:
            if not jobs.uses_database_queue(task_backends[DEFAULT_TASK_BACKEND_ALIAS]):
                if scheduler is None:
                    raise CommandError("当前任务后端不是数据库队列，请使用该后端自己的工作进程。")
                # Another backend (Celery, RQ…) runs its own workers; this process only schedules.
                self.stdout.write("任务后端不是数据库队列：本进程只运行定时任务。")
                scheduler.join()
                return
            from django_tasks_db.management.commands.db_worker import Worker

            worker = Worker(
                queue_names=options["queue_name"].split(","),
                interval=options["interval"],
                batch=options["batch"],
                backend_name="default",
                startup_delay=False,
                max_tasks=options["max_tasks"],
                worker_id=worker_id,
                excluded_queue_names=[],
            )
            worker.configure_signals()
            self.stdout.write(f"后台任务进程已启动：{worker_id}")
            worker.run()
        finally:
            if scheduler is not None:
                scheduler.stop()
                scheduler.join(timeout=5)
