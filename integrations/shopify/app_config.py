"""``shopify.app.toml``: the app's configuration for Shopify CLI, kept at the repository root.

The committed file names a placeholder origin and client id; :func:`app_config_render` fills in a
deployment's own (``APP_URL``, ``SHOPIFY_API_KEY``) so an operator can ``shopify app deploy`` it.
"""

import tomllib
from pathlib import Path
from typing import Any, Final

from retention_app.errors import ApplicationError

APP_TOML: Final = Path(__file__).resolve().parents[2] / "shopify.app.toml"
PLACEHOLDER_ORIGIN: Final = "https://comeback.example.com"
PLACEHOLDER_CLIENT_ID: Final = "REPLACE-WITH-YOUR-CLIENT-ID"


def app_config_load(*, text: str | None = None) -> dict[str, Any]:
    """The parsed TOML (the committed file unless ``text`` is given)."""
    return tomllib.loads(APP_TOML.read_text(encoding="utf-8") if text is None else text)


def app_config_render(*, app_url: str, client_id: str) -> str:
    """The committed file with the deployment's origin and client id in place of the placeholders."""
    app_url = app_url.rstrip("/")
    if not app_url.startswith("https://"):
        raise ApplicationError(f"Shopify needs an https:// app URL, not {app_url!r} (set APP_URL)")
    if not client_id or client_id == PLACEHOLDER_CLIENT_ID:
        raise ApplicationError("the app's client id is missing (set SHOPIFY_API_KEY)")
    text = APP_TOML.read_text(encoding="utf-8")
    text = text.replace(f'client_id = "{PLACEHOLDER_CLIENT_ID}"', f"client_id = {_toml_string(client_id)}", 1)
    text = text.replace(PLACEHOLDER_ORIGIN, app_url)
    app_config_load(text=text)  # still valid TOML (a quote in the values would break it)
    return text


def _toml_string(value: str) -> str:
    if any(ch in value for ch in '"\\\n\r'):
        raise ApplicationError(f"not a client id: {value!r}")
    return f'"{value}"'
