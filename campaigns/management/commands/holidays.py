"""``manage.py holidays --calendar IL --year 2026 [--language he] [--format json|table] [--shop DOMAIN]``:
the holiday greetings of a year, for merchants and for scripts.

One row per greeting of the calendar's default set (or the shop's chosen occasions with
``--shop``), by date: ``date`` (the day the greeting is sent, YYYY-MM-DD: the eve for Jewish
holidays), ``key``, ``name`` and ``subject`` in the language.  ``--format json`` prints exactly a
JSON list of those objects.
"""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from campaigns.models import Flow
from campaigns.services.holiday_catalogue import LANGUAGES
from campaigns.services.holidays import calendar_code, plan

FIELDS = ("date", "key", "name", "subject")


class Command(BaseCommand):
    help = "The holiday greetings of a year: send date, key, name and subject per occasion."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--calendar", required=True,
                            help="IL (Jewish/Israeli), IR (Iranian/Persian) or an ISO country code")
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument("--language", default="en", help=f"one of {', '.join(LANGUAGES)}")
        parser.add_argument("--format", default="table", help="json or table")
        parser.add_argument("--shop", default="", help="a shop's domain: its chosen occasions instead of the defaults")

    def handle(self, *args: Any, **options: Any) -> None:
        code = calendar_code(options["calendar"])
        if not code:
            raise CommandError(f"unknown calendar {options['calendar']!r}: IL, IR or an ISO country code "
                               "that the holidays library knows")
        language = str(options["language"]).lower()
        if language not in LANGUAGES:
            raise CommandError(f"unknown language {options['language']!r}: one of {', '.join(LANGUAGES)}")
        if options["format"] not in ("json", "table"):
            raise CommandError(f"unknown format {options['format']!r}: json or table")
        year = options["year"]
        if not 1900 <= year <= 2100:
            raise CommandError("the year must be from 1900 to 2100")
        chosen = None
        if options["shop"]:
            if not str(options["shop"]).isprintable() or len(options["shop"]) > 255:
                raise CommandError(f"--shop must be a shop's domain, not {options['shop'][:100]!r}")
            flow = Flow.objects.filter(shop__domain=options["shop"], key="holiday_greetings").first()
            if flow is None:
                raise CommandError(f"no shop {options['shop']!r} with holiday greetings")
            chosen = (flow.settings.get("occasions") or {}).get(code)
        rows = plan(calendar=code, year=year, language=language, chosen=chosen)
        if options["format"] == "json":
            self.stdout.write(json.dumps(rows, ensure_ascii=False))
            return
        widths = {field: max([len(field)] + [len(row[field]) for row in rows]) for field in FIELDS}
        self.stdout.write("  ".join(field.ljust(widths[field]) for field in FIELDS).rstrip())
        for row in rows:
            self.stdout.write("  ".join(row[field].ljust(widths[field]) for field in FIELDS).rstrip())
