"""Rate limits on the shopper (widget) endpoints, as DRF throttles: per shop and client IP, and per
shop and logged-in shopper.

A view names its ``throttle_scope``; the limits are ``SHOPPER_RATE_LIMITS[scope]["ip" | "customer"]``
("30/minute").  Counting is a rolling window in Django's cache with an atomic ``incr`` (Redis in
production, shared by every process), so parallel requests cannot all slip through a stale count.
A refused request is a 429 with ``Retry-After`` before the view runs: nothing is spent or sent.
"""

import hashlib
import logging
import math
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from retention_app.api import ShopperPrincipal, shopper_ip

logger = logging.getLogger(__name__)

PERIOD_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
BUCKETS = 6  # slices of a rolling window: "10/minute" counts the last 50-60 seconds in 10-second steps


def rate_parse(rate: str) -> tuple[int, int]:
    """``"30/minute"`` -> (30, 60); the period is named by its first letter (s, m, h, d)."""
    count, _, period = rate.partition("/")
    return int(count), PERIOD_SECONDS[period.strip()[:1].lower()]


def rate_hit(*, key: str, rate: str, now: float | None = None) -> int | None:
    """Count one request under ``key``; None while within ``rate``, else the seconds until one more
    request fits.  A rolling window in ``BUCKETS`` slices: the current slice is counted with an
    atomic ``incr``, the earlier ones (closed, so stable) are read, and a refused request is taken
    back out, so waiting as long as it is told is enough."""
    limit, period = rate_parse(rate)
    now = time.time() if now is None else now
    size = period / BUCKETS
    current = int(now // size)
    keys = [f"throttle:{key}:{period}:{bucket}" for bucket in range(current - BUCKETS + 1, current + 1)]
    timeout = math.ceil(period + size) + 1
    try:
        cache.add(keys[-1], 0, timeout=timeout)
        try:
            count = cache.incr(keys[-1])
        except ValueError:  # the slice's key expired between add and incr
            cache.set(keys[-1], 1, timeout=timeout)
            count = 1
        earlier = cache.get_many(keys[:-1])
        counts = [int(earlier.get(slice_key) or 0) for slice_key in keys[:-1]] + [count]
        if sum(counts) <= limit:
            return None
        cache.decr(keys[-1])
    except Exception:  # noqa: BLE001 - any cache backend's outage
        # Fail open: with the cache away the shop keeps working (the ledger's locks and idempotency
        # keys still guard every point); the outage is logged for operators.
        logger.warning("rate limit %s not counted: the cache is unavailable", key, exc_info=True)
        return None
    counts[-1] -= 1
    remaining = sum(counts)
    for offset, slice_count in enumerate(counts):  # the oldest slices leave the window first
        remaining -= slice_count
        if remaining + 1 <= limit:
            return max(1, math.ceil((current - BUCKETS + 1 + offset + BUCKETS) * size - now))
    return max(1, math.ceil((current + BUCKETS) * size - now))


class ShopperThrottle(BaseThrottle):
    dimension = ""

    def __init__(self) -> None:
        self.wait_seconds: int | None = None

    def identity(self, request: Request, principal: ShopperPrincipal) -> str | None:
        raise NotImplementedError

    def allow_request(self, request: Request, view: APIView) -> bool:
        scope = getattr(view, "throttle_scope", "")
        rate = settings.SHOPPER_RATE_LIMITS.get(scope, {}).get(self.dimension)
        principal = request.user
        if not rate or not isinstance(principal, ShopperPrincipal):
            return True
        identity = self.identity(request, principal)
        if not identity:
            return True
        digest = hashlib.sha256(identity.encode()).hexdigest()[:32]  # any text makes a clean cache key
        self.wait_seconds = rate_hit(key=f"{scope}:{self.dimension}:{principal.shop.pk}:{digest}", rate=rate)
        return self.wait_seconds is None

    def wait(self) -> float | None:
        return self.wait_seconds


class ShopperIpThrottle(ShopperThrottle):
    """Per shop and the shopper's address (``retention_app.api.shopper_ip``): logged in or not."""

    dimension = "ip"

    def identity(self, request: Request, principal: ShopperPrincipal) -> str | None:
        return shopper_ip(request)


class ShopperCustomerThrottle(ShopperThrottle):
    """Per shop and logged-in shopper, whatever address they come from."""

    dimension = "customer"

    def identity(self, request: Request, principal: ShopperPrincipal) -> str | None:
        return principal.customer_platform_id or None


SHOPPER_THROTTLES: list[type[BaseThrottle]] = [ShopperIpThrottle, ShopperCustomerThrottle]
