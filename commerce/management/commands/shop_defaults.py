"""Create the defaults installed shops are missing (program, flow and survey presets, segments).

An install creates them and data migrations created them for the shops installed before; reads
never do.  When a release adds a preset, this gives every installed shop the new one (what a
reinstall would do), leaving everything a shop already has as it is.  Safe to run again.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from commerce.models import Shop, ShopStatus
from commerce.shop_defaults import defaults_registered, shop_defaults_create


class Command(BaseCommand):
    help = "Create the defaults (loyalty program, flow and survey presets, segments) installed shops are missing."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--shop", help="only this shop's domain")

    def handle(self, *args: Any, shop: str | None, **options: Any) -> None:
        shops = Shop.objects.filter(status=ShopStatus.INSTALLED)
        if shop:
            if not shop.isprintable() or len(shop) > 255:
                raise CommandError(f"--shop must be a shop's domain, not {shop[:100]!r}")
            shops = shops.filter(domain=shop)
            if not shops.exists():
                raise CommandError(f"no installed shop {shop!r}")
        done = 0
        for found in shops.order_by("pk").iterator():
            shop_defaults_create(shop=found)  # one transaction per shop
            done += 1
        self.stdout.write(f"defaults ({', '.join(defaults_registered())}) checked for {done} installed shop(s)")
