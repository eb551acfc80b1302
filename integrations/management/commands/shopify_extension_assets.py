"""Copy the widget (storefront/comeback-widget.{js,css}) into the theme app extension's assets/;
``--check`` only reports (exit 1) when a copy is missing or differs."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from integrations.shopify.theme_extension import EXTENSION_DIR, extension_assets_stale, extension_assets_sync


class Command(BaseCommand):
    help = "Copy the storefront widget's files into extensions/comeback-widget/assets/ (--check: compare only)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--check", action="store_true", help="fail if a copy differs, change nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["check"]:
            stale = extension_assets_stale()
            if stale:
                raise CommandError(f"out of date in {EXTENSION_DIR / 'assets'}: {', '.join(stale)} "
                                   "(run manage.py shopify_extension_assets)")
            self.stdout.write("the extension's widget files are up to date")
            return
        copied = extension_assets_sync()
        self.stdout.write(f"copied {', '.join(copied)}" if copied else "already up to date")
