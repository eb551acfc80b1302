"""The theme app extension (``extensions/comeback-widget``): the widget as an app embed block.

Shopify serves an extension's ``assets/`` from its CDN, so the widget's two files must be inside
the extension when it is deployed.  ``storefront/`` stays their one source (the app also serves
them itself for non-Shopify stores); the extension holds byte-identical copies, written by
``manage.py shopify_extension_assets`` and checked by a test.
"""

import shutil
from pathlib import Path
from typing import Final
from urllib.parse import urlencode

from django.conf import settings

from integrations.shopify.domains import shop_domain_clean, shop_origin

ROOT: Final = Path(__file__).resolve().parents[2]
EXTENSION_DIR: Final = ROOT / "extensions" / "comeback-widget"
SOURCE_DIR: Final = ROOT / "storefront"
WIDGET_ASSETS: Final = ("comeback-widget.js", "comeback-widget.css")
#: The app embed block's handle: its file name in blocks/.
APP_EMBED_HANDLE: Final = "comeback-embed"


def app_embed_editor_url(*, shop_domain: str) -> str:
    """Shopify's deep link into the shop's theme editor with our app embed switched on, for the
    merchant to check and save (``activateAppId=<client id>/<block handle>``)."""
    query = urlencode({"context": "apps", "template": "index",
                       "activateAppId": f"{settings.SHOPIFY_API_KEY}/{APP_EMBED_HANDLE}"})
    return f"{shop_origin(shop_domain_clean(shop_domain))}/admin/themes/current/editor?{query}"


def extension_assets_stale(*, source: Path = SOURCE_DIR, extension: Path = EXTENSION_DIR) -> list[str]:
    """The widget files whose copy in the extension is missing or differs from ``storefront/``."""
    stale = []
    for name in WIDGET_ASSETS:
        copy = extension / "assets" / name
        if not copy.is_file() or copy.read_bytes() != (source / name).read_bytes():
            stale.append(name)
    return stale


def extension_assets_sync(*, source: Path = SOURCE_DIR, extension: Path = EXTENSION_DIR) -> list[str]:
    """Copy the stale widget files into the extension's ``assets/``; returns their names."""
    stale = extension_assets_stale(source=source, extension=extension)
    (extension / "assets").mkdir(parents=True, exist_ok=True)
    for name in stale:
        shutil.copyfile(source / name, extension / "assets" / name)
    return stale
