"""What a shop starts with once installed: each app registers how it creates its defaults.

Reads never write: the loyalty program, the flow presets, the survey presets and the predefined
segments are created here, when the shop is installed (``shop_installed`` calls
``shop_defaults_create``), never on the first page view.  ``commerce`` cannot import the apps
above it, so they register their part in ``AppConfig.ready``; each part must be idempotent
(a reinstall or a replayed install creates only what is missing).  Shops installed before this
existed got their defaults from each app's data migration; ``manage.py shop_defaults`` gives
installed shops whatever a later release added.
"""

from typing import Protocol

from django.db import transaction

from commerce.models import Shop


class DefaultsCreate(Protocol):
    """An app's service that creates what is missing of its defaults for one shop."""

    def __call__(self, *, shop: Shop) -> object: ...


_PARTS: dict[str, DefaultsCreate] = {}


def defaults_register(name: str, create: DefaultsCreate) -> None:
    """Register an app's part (``name`` is the app's label; registering again replaces it)."""
    _PARTS[name] = create


def defaults_registered() -> tuple[str, ...]:
    return tuple(sorted(_PARTS))


@transaction.atomic
def shop_defaults_create(*, shop: Shop) -> None:
    """Create every app's defaults for ``shop`` that do not exist yet, in one transaction.

    Parts run in the order of their names, so the outcome does not depend on ``INSTALLED_APPS``.
    """
    for name in sorted(_PARTS):
        _PARTS[name](shop=shop)
