"""Move Shopify shops still on a legacy non-expiring token to expiring offline tokens now.

Shops move on their own when the merchant next opens the app (token exchange of the session
token); this covers the shops nobody opens before Shopify stops accepting legacy tokens
(2027-01-01).  Safe to run again: shops already moved are left alone.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from commerce.models import Platform, Shop, ShopStatus
from integrations.shopify import tokens
from integrations.shopify.client import ShopifyError
from integrations.shopify.domains import shop_domain_clean
from retention_app.errors import ApplicationError


class Command(BaseCommand):
    help = "Exchange the legacy non-expiring tokens of installed Shopify shops for expiring ones."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--shop", help="only this <name>.myshopify.com")
        parser.add_argument("--dry-run", action="store_true", help="only list the shops still on a legacy token")

    def handle(self, *args: Any, shop: str | None, dry_run: bool, **options: Any) -> None:
        # a shop already refused waits for its merchant: asking again cannot help
        legacy = Shop.objects.filter(platform=Platform.SHOPIFY, status=ShopStatus.INSTALLED,
                                     access_token_expires_at__isnull=True,
                                     reauthorization_required_at__isnull=True).exclude(access_token="")
        if shop:
            try:
                legacy = legacy.filter(domain=shop_domain_clean(shop))
            except ApplicationError as error:
                raise CommandError(f"{error.message} (not {shop!r})") from error
        moved = failed = 0
        for found in legacy.order_by("pk").iterator():
            if dry_run:
                self.stdout.write(f"{found.domain}: legacy token")
                continue
            try:
                if tokens.shop_token_migrate(shop=found):
                    moved += 1
                    self.stdout.write(f"{found.domain}: moved to an expiring token")
                else:
                    failed += 1
                    self.stdout.write(f"{found.domain}: refused; the merchant must reopen the app")
            except ShopifyError as error:
                failed += 1
                self.stderr.write(f"{found.domain}: not reachable now ({error}); run again later")
        if not dry_run:
            self.stdout.write(f"{moved} moved, {failed} not moved")
