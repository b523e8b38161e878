"""``manage.py audit_chain``: link committed audit events to the SM3 chain (once, or in a loop)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "链接待链接的审计事件（--loop 时每隔 --interval 秒运行一次，可作为独立的链接进程）。"

    def add_arguments(self, parser) -> None:
        parser.add_argument("--loop", action="store_true", help="持续运行。")
        parser.add_argument("--interval", type=float, default=2.0, help="循环间隔（秒），默认 2。")
        parser.add_argument("--batch-size", type=int, default=2000)

    def handle(self, *args, **options) -> None:
        from core.audit import chain_pending

        while True:
            run = chain_pending(batch_size=options["batch_size"])
            if run.chained or run.gaps or options["verbosity"] > 1:
                self.stdout.write(
                    f"chained={run.chained} gaps={run.gaps} late={run.late} waiting_for_id={run.waiting_for_id}"
                )
            if not options["loop"]:
                return
            time.sleep(max(0.1, options["interval"]))
