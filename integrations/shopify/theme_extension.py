"""The theme app extension (``extensions/comeback-widget``): the widget as an app embed block.

Shopify serves an extension's ``assets/`` from its CDN, so the widget's two files must be inside
the extension when it is deployed.  ``storefront/`` stays their one source (the app also serves
them itself for non-Shopify stores); the extension holds byte-identical copies, written by
``manage.py shopify_extension_assets`` and checked by a test.
"""

import shutil
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[2]
EXTENSION_DIR: Final = ROOT / "extensions" / "comeback-widget"
SOURCE_DIR: Final = ROOT / "storefront"
WIDGET_ASSETS: Final = ("comeback-widget.js", "comeback-widget.css")


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
