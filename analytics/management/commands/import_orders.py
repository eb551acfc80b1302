"""``import_orders --shop DOMAIN FILE.csv``: order history from a CSV (see ``analytics.services.importer``)."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from analytics.services.importer import orders_import
from commerce.models import Platform
from retention_app.errors import ApplicationError


class Command(BaseCommand):
    help = ("Import order history from a CSV (order_id, customer_id, email, processed_at, total, currency; "
            "optional cost, refunded, product). Importing the same file again changes nothing.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", type=Path, help="the CSV file (UTF-8, header row first)")
        parser.add_argument("--shop", required=True, help="the shop's domain; a standalone shop is created if none")
        parser.add_argument("--platform", choices=Platform.values,
                            help="which shop, when shops on several platforms share the domain")
        parser.add_argument("--timezone", default="UTC",
                            help="time zone of a shop created by the import (default UTC); times without an "
                                 "offset are read in the shop's zone")
        parser.add_argument("--batch-size", type=int, help="rows per transaction (default 10000 on PostgreSQL, "
                                                            "2000 elsewhere)")

    def handle(self, *args: Any, file: Path, shop: str, platform: str | None, timezone: str, batch_size: int | None,
               **options: Any) -> None:
        if batch_size is not None and batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        try:
            handle = file.open(encoding="utf-8-sig", newline="")
        except (OSError, ValueError) as error:  # ValueError: a path with a NUL byte
            raise CommandError(f"cannot read {str(file)!r}: {getattr(error, 'strerror', None) or error}") from error
        try:
            with handle:
                result = orders_import(domain=shop, file=handle, platform=platform, timezone=timezone,
                                       batch_size=batch_size)
        except OSError as error:
            raise CommandError(f"cannot read {file}: {error.strerror or error}") from error
        except UnicodeDecodeError as error:
            raise CommandError(f"{file} is not UTF-8 text: {error}") from error
        except ApplicationError as error:
            raise CommandError(error.message) from error
        for rejected in result.errors:
            self.stderr.write(f"{file}:{rejected}")
        if result.error_count > len(result.errors):
            self.stderr.write(f"… and {result.error_count - len(result.errors)} more errors")
        where = result.shop.domain if result.shop else shop
        self.stdout.write(
            f"{where}{' (created)' if result.shop_created else ''}: {result.rows} rows, "
            f"orders created {result.created}, updated {result.updated}, unchanged {result.unchanged}; "
            f"skipped {result.duplicates} repeated rows and {result.error_count} bad rows; "
            f"customers created {result.customers_created}, products created {result.products_created}"
        )
        if result.error_count:
            raise CommandError(f"{result.error_count} rows were rejected (the others were imported)")
