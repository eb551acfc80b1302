"""Write ``shopify.app.<name>.toml`` for this deployment (APP_URL and SHOPIFY_API_KEY filled in),
ready for ``shopify app deploy --config <name>``; ``-`` as the name prints it instead."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from integrations.shopify.app_config import APP_TOML, app_config_render
from retention_app.errors import ApplicationError


class Command(BaseCommand):
    help = "Write shopify.app.<name>.toml with this deployment's APP_URL and SHOPIFY_API_KEY."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--name", default="production",
                            help="config name (file shopify.app.<name>.toml next to shopify.app.toml); - prints it")

    def handle(self, *args: Any, **options: Any) -> None:
        name = str(options["name"])
        try:
            text = app_config_render(app_url=settings.APP_URL, client_id=settings.SHOPIFY_API_KEY)
        except ApplicationError as error:
            raise CommandError(error.message) from error
        if name == "-":
            self.stdout.write(text, ending="")
            return
        if not name.replace("-", "").replace("_", "").isalnum():
            raise CommandError(f"a config name is letters, digits, - and _, not {name!r}")
        target = Path(APP_TOML).with_name(f"shopify.app.{name}.toml")
        target.write_text(text, encoding="utf-8")
        self.stdout.write(f"wrote {target}")
