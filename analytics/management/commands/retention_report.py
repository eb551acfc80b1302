"""``retention_report --shop DOMAIN --start YYYY-MM-DD --end YYYY-MM-DD [--format json|table]``."""

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from analytics.services import report_json, report_options, report_table, retention_report
from analytics.services.importer import shop_by_domain
from commerce.models import Platform
from retention_app.errors import ApplicationError


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise CommandError(f"{text!r} is not a date (YYYY-MM-DD)") from error


def _amount(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation as error:
        raise CommandError(f"{text!r} is not an amount") from error


class Command(BaseCommand):
    help = ("Print every retention metric of a shop for a period (dates in the shop's time zone, both "
            "included): JSON as documented in analytics/REPORT_FORMAT.md, or a table.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--shop", required=True, help="the shop's domain")
        parser.add_argument("--platform", choices=Platform.values,
                            help="which shop, when shops on several platforms share the domain")
        parser.add_argument("--start", required=True, help="first day, YYYY-MM-DD")
        parser.add_argument("--end", required=True, help="last day, YYYY-MM-DD")
        parser.add_argument("--format", choices=("json", "table"), default="json")
        parser.add_argument("--activity-days", type=int, help="activity window (default: the shop's setting)")
        parser.add_argument("--churn-days", type=int, help="churn horizon (default: the shop's setting)")
        parser.add_argument("--fulfilment-cost", help="fulfilment cost per order (default: the shop's setting)")
        parser.add_argument("--loyal-min-orders", type=int, help="orders that make a customer loyal")
        parser.add_argument("--clv-horizon-weeks", type=int, help="predicted CLV horizon (default 52)")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["shop"].isprintable() or len(options["shop"]) > 255:
            raise CommandError(f"--shop must be a shop's domain, not {options['shop'][:100]!r}")
        try:
            shop = shop_by_domain(domain=options["shop"], platform=options["platform"])
            if shop is None:
                raise CommandError(f"unknown shop {options['shop']}")
            report_settings = report_options(
                shop=shop, activity_days=options["activity_days"], churn_days=options["churn_days"],
                fulfilment_cost_per_order=_amount(options["fulfilment_cost"]),
                loyal_min_orders=options["loyal_min_orders"], clv_horizon_weeks=options["clv_horizon_weeks"])
            report = retention_report(shop=shop, start=_date(options["start"]), end=_date(options["end"]),
                                      options=report_settings)
        except ApplicationError as error:
            raise CommandError(error.message) from error
        self.stdout.write(report_json(report) if options["format"] == "json" else report_table(report), ending="")
