"""Run, resume or inspect a shop's history sync, or run a reconciliation pass, from the shell."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from commerce.models import Platform, Shop
from integrations import selectors
from integrations.models import SyncRun
from integrations.shopify import sync
from integrations.shopify.domains import shop_domain_clean
from retention_app.errors import ApplicationError


class Command(BaseCommand):
    help = "History sync (start or resume) and reconciliation for one Shopify shop."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--shop", required=True, help="<name>.myshopify.com")
        parser.add_argument("--reconcile", action="store_true", help="fetch what changed since the last mark")
        parser.add_argument("--status", action="store_true", help="only print the latest sync's progress")

    def handle(self, *args: Any, shop: str, reconcile: bool, status: bool, **options: Any) -> None:
        try:
            domain = shop_domain_clean(shop)
        except ApplicationError as error:
            raise CommandError(f"{error.message} (not {shop!r})") from error
        found = Shop.objects.filter(platform=Platform.SHOPIFY, domain=domain).first()
        if found is None:
            raise CommandError(f"unknown shop {shop}")
        if status:
            self._print(selectors.sync_latest(shop=found))
            return
        if reconcile:
            counts = sync.reconcile(shop=found)
            self.stdout.write(f"reconciled: {counts}")
            return
        run = sync.history_sync_start(shop=found)
        self.stdout.write(f"history sync {run.pk}: resuming at {run.resource} line {run.lines_done}")
        sync.history_sync_run(run=run, after_batch=self._print)
        self._print(run)

    def _print(self, run: SyncRun | None) -> None:
        if run is None:
            self.stdout.write("no history sync yet")
            return
        counts = ", ".join(f"{name} {entry.get('objects', 0)}{' ✓' if entry.get('done') else ''}"
                           for name, entry in run.progress.items())
        self.stdout.write(f"sync {run.pk} {run.status}: {counts}{' · ' + run.error if run.error else ''}")
