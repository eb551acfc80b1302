"""Small helpers shared by the store generator and the platform sandboxes: ids, timestamps,
money, deterministic randomness."""

from __future__ import annotations

import random
import re
import zlib
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

CENT: Final = Decimal("0.01")
ZERO: Final = Decimal("0.00")

#: The default data anchor ("now" of a generated store) when none is given: fixed so that a seed
#: always yields byte-identical data.  The CLI passes the real current time instead.
DEFAULT_ANCHOR: Final = datetime(2025, 10, 1, 12, 0, 0, tzinfo=UTC)

_GID_RE: Final = re.compile(r"^gid://shopify/([A-Za-z]+)/(\d+)(?:\?.*)?$")


def gid(kind: str, ident: int) -> str:
    """``gid://shopify/<kind>/<ident>``."""
    return f"gid://shopify/{kind}/{ident}"


def parse_gid(value: str, kind: str | None = None) -> int | None:
    """Numeric id of a gid (or of a bare number); ``None`` if it is not one of ``kind``."""
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    match = _GID_RE.match(text)
    if not match or (kind is not None and match.group(1) != kind):
        return None
    return int(match.group(2))


def gid_kind(value: str) -> str | None:
    match = _GID_RE.match(str(value))
    return match.group(1) if match else None



def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def iso(value: datetime | None) -> str | None:
    """GraphQL ``DateTime``: UTC, second precision, ``Z`` suffix (as Shopify renders it)."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(microsecond=0).isoformat()[:19] + "Z"


def parse_datetime(text: str) -> datetime:
    """ISO 8601 date or date-time; naive values are taken as UTC."""
    text = text.strip().strip("'\"")
    if len(text) == 10:
        parsed = datetime.combine(date.fromisoformat(text), datetime.min.time())
    else:
        parsed = datetime.fromisoformat(text.replace("z", "Z"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def rest_time(value: datetime | None, tz: ZoneInfo | None) -> str | None:
    """REST timestamps: shop-local time with its offset, e.g. ``2025-05-01T06:00:00-04:00``."""
    if value is None:
        return None
    local = value.astimezone(tz) if tz is not None else value.astimezone(UTC)
    return local.isoformat(timespec="seconds")


def money(value: Decimal) -> str:
    """A money amount as Shopify's string form with two decimals, e.g. ``"12.50"``."""
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def q2(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def shop_numeric_id(domain: str) -> int:
    """A stable numeric shop id derived from the domain."""
    return 60_000_000_000 + zlib.crc32(domain.encode())


def derived_rng(seed: int | str, *parts: object) -> random.Random:
    """A ``Random`` whose stream depends only on ``seed`` and ``parts``.

    String seeds are hashed with SHA-512 by ``random``, so this is stable across processes and
    independent of ``PYTHONHASHSEED``.
    """
    return random.Random(":".join([str(seed), *map(str, parts)]))


def seconds(n: float) -> timedelta:
    return timedelta(seconds=n)
