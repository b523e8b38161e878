"""``manage.py audit_verify``: check the whole audit chain (S§35); non-zero exit when broken."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "校验审计链：重算每条事件的 SM3 哈希，报告第一处断裂或缺失（失败时退出码非零并通知安全管理员）。"

    def add_arguments(self, parser) -> None:
        parser.add_argument("--chain-first", action="store_true", help="先链接待链接的事件，再校验。")
        parser.add_argument("--no-notify", action="store_true", help="失败时不通知安全管理员。")

    def handle(self, *args, **options) -> None:
        from core.audit import chain_pending, verify_chain

        if options["chain_first"]:
            run = chain_pending()
            self.stdout.write(f"chained {run.chained} pending events")
        result = verify_chain(notify_on_failure=not options["no_notify"])
        self.stdout.write(
            f"checked={result.checked} head_seq={result.head_seq} head_hash={result.head_hash} "
            f"pending={result.pending} seconds={result.seconds:.2f}"
        )
        if result.ok:
            self.stdout.write(self.style.SUCCESS(result.message))
            return
        for problem in result.problems[:20]:
            self.stderr.write(
                f"[{problem.kind}] seq={problem.seq} event={problem.event_id}: {problem.message}"
            )
        raise CommandError(result.message, returncode=2)
