"""The per-shop part of what the storefront widget shows, cached: the program, its enabled earning
rules, the active tier scheme and its tiers, the active rewards and the widget designer's settings.

Every shopper of a shop reads the same rows, so they are read once per change instead of on every
request.  A version token per shop lives in Django's cache (Redis in production, shared by every
web process); each process keeps the rows it built in a small in-memory map keyed by
``(shop, created_at, version)``.  A change to any of those rows draws a new token
(``program_cache_bump``): at once, so the same process and the same transaction read the change,
and again when the transaction commits, so another process that rebuilt between the two from
rows not yet committed is not left with them.  ``.save()`` and ``.delete()`` (the merchant API,
the dashboard's settings pages, the Django admin, the privacy erasure) reach the bump through the
signals connected here; the set-based writes that send no signal (``QuerySet.update``,
``bulk_create``, ``bulk_update``) through the models' ``ProgramDataQuerySet``.

The snapshot's model instances are shared between requests and threads: read them, never change
them.  When the cache cannot be reached the rows are read from the database for that request.
"""

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from django.db.models.signals import post_delete, post_save

from commerce.models import Shop
from loyalty.models import EarningRule, Program, Reward, Tier, TierScheme, WidgetSettings
from loyalty.program_version import program_cache_bump, program_cache_version

__all__ = ["ProgramSnapshot", "program_cache_bump", "program_cache_connect", "program_snapshot",
           "program_snapshot_build"]

#: Shops whose snapshot one process keeps (least recently used dropped first).
LOCAL_SHOPS = 512
#: Seconds a process keeps a snapshot at most: bounds staleness should a bump ever be lost (the
#: cache unreachable while a change was saved).
LOCAL_MAX_AGE = 300.0


@dataclass(frozen=True)
class ProgramSnapshot:
    """The shop's widget-wide loyalty data as of one version (shared: read only)."""

    program: Program
    rules: dict[str, EarningRule]  # enabled rules by kind
    scheme: TierScheme | None  # the active one
    tiers: tuple[Tier, ...]  # the active scheme's, lowest threshold first
    rewards: tuple[Reward, ...]  # active ones, cheapest first, with ``tier_only`` loaded
    widget: WidgetSettings  # the designer's settings (unsaved defaults when never saved)


_local: "OrderedDict[tuple[int, str, str], tuple[float, ProgramSnapshot]]" = OrderedDict()
_lock = threading.Lock()


def program_snapshot_build(*, shop: Shop) -> ProgramSnapshot:
    """The rows themselves, from the database (6 statements)."""
    program = Program.objects.filter(shop=shop).first() or Program(shop=shop, is_enabled=False)
    rules = {rule.kind: rule for rule in EarningRule.objects.filter(shop=shop, is_enabled=True)}
    scheme = TierScheme.objects.filter(shop=shop, is_active=True).first()
    tiers = tuple(Tier.objects.filter(scheme=scheme).order_by("threshold")) if scheme else ()
    rewards = tuple(Reward.objects.filter(shop=shop, is_active=True).select_related("tier_only")
                    .order_by("points_cost", "pk"))
    widget = WidgetSettings.objects.filter(shop=shop).first() or WidgetSettings(shop=shop)
    return ProgramSnapshot(program=program, rules=rules, scheme=scheme, tiers=tiers, rewards=rewards, widget=widget)


def program_snapshot(*, shop: Shop) -> ProgramSnapshot:
    """The shop's widget-wide data, from this process's memory while its version holds."""
    version = program_cache_version(shop_id=shop.pk)
    if version is None:
        return program_snapshot_build(shop=shop)
    # ``created_at`` tells apart two shops that had the same id (SQLite reuses ids after a rollback).
    key = (shop.pk, shop.created_at.isoformat() if shop.created_at else "", version)
    now = time.monotonic()
    with _lock:
        held = _local.get(key)
        if held is not None and now - held[0] < LOCAL_MAX_AGE:
            _local.move_to_end(key)
            return held[1]
    snapshot = program_snapshot_build(shop=shop)
    with _lock:
        _local[key] = (now, snapshot)
        stale = [other for other in _local if other[0] == shop.pk and other != key]
        for other in stale:
            del _local[other]
        while len(_local) > LOCAL_SHOPS:
            _local.popitem(last=False)
    return snapshot


def _changed(sender: type, instance: Any, **kwargs: Any) -> None:
    shop_id = getattr(instance, "shop_id", None)
    if shop_id is not None:
        program_cache_bump(shop_id=shop_id)


#: The models whose rows the snapshot holds.
CACHED_MODELS = (Program, EarningRule, TierScheme, Tier, Reward, WidgetSettings)


def program_cache_connect() -> None:
    """Bump on every save and delete of a cached model (called from ``LoyaltyConfig.ready``)."""
    for model in CACHED_MODELS:
        post_save.connect(_changed, sender=model, dispatch_uid=f"program-cache-save-{model.__name__}")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"program-cache-delete-{model.__name__}")
