"""The version token of a shop's cached program data (``loyalty.program_cache``): drawn anew on
every change, so each process drops its copy.  Kept apart from the cache itself so that
``loyalty.models`` can bump it from its set-based writes without importing the cache."""

import logging
import uuid

from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)


def _version_key(shop_id: int) -> str:
    return f"loyalty:program:version:{shop_id}"


def program_cache_version(*, shop_id: int) -> str | None:
    """The shop's current token (one is drawn when there is none); ``None``: the cache is away."""
    key = _version_key(shop_id)
    try:
        version = cache.get(key)
        if version is None:
            cache.add(key, uuid.uuid4().hex, timeout=None)
            version = cache.get(key)
    except Exception:  # the cache is down: correct answers from the database, only slower
        logger.warning("loyalty program cache unreachable; reading from the database", exc_info=True)
        return None
    return str(version) if version is not None else None


def _bump(shop_id: int) -> None:
    try:
        cache.set(_version_key(shop_id), uuid.uuid4().hex, timeout=None)
    except Exception:  # the change itself stands; processes drop their copy within LOCAL_MAX_AGE
        logger.error("loyalty program cache: could not invalidate shop %s", shop_id, exc_info=True)


def program_cache_bump(*, shop_id: int) -> None:
    """The shop's program, rules, tiers, rewards or widget settings changed: the next widget
    answer reads them again (now, so this process and this transaction see the change, and once
    more when the transaction commits, so a process that rebuilt in between from rows not yet
    committed drops them)."""
    _bump(shop_id)
    transaction.on_commit(lambda: _bump(shop_id))
