"""Small helpers for the WooCommerce sandbox: WordPress dates, money strings, WP REST errors."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final
from zoneinfo import ZoneInfo

from sandbox.store.common import (  # noqa: F401 - re-exported for the sandbox's modules
    CENT,
    DEFAULT_ANCHOR,
    ZERO,
    derived_rng,
    parse_datetime,
    q2,
    utc_now,
    zone,
)

#: What ``X-WC-Webhook-*`` deliveries and the REST index claim to be.
WC_VERSION: Final = "10.3.4"
WP_VERSION: Final = "6.8.3"
USER_AGENT: Final = f"WooCommerce/{WC_VERSION} Hookshot (WordPress/{WP_VERSION})"


class WPError(Exception):
    """A ``WP_Error`` as the REST API answers it: ``{"code", "message", "data": {"status"}}``."""

    def __init__(self, code: str, message: str, status: int = 400, **data: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.data = data

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "data": {"status": self.status, **self.data}}


def wc_money(value: Decimal | None, places: int = 2) -> str:
    """WooCommerce's money strings: ``wc_format_decimal(…, dp)``, e.g. ``"12.50"``."""
    if value is None:
        return ""
    exp = Decimal(1).scaleb(-places)
    return str(Decimal(value).quantize(exp, rounding=ROUND_HALF_UP))


def wc_number(value: Decimal) -> float | int:
    """A JSON number as PHP's ``json_encode`` of a float/int gives it (``3`` or ``2.5``)."""
    f = float(value)
    return int(f) if f == int(f) else f


def wc_local(value: datetime | None, tz: ZoneInfo) -> str | None:
    """``date_*``: the site's local time, no offset (``wc_rest_prepare_date_response``)."""
    if value is None:
        return None
    return value.astimezone(tz).replace(tzinfo=None).isoformat(timespec="seconds")


def wc_gmt(value: datetime | None) -> str | None:
    """``date_*_gmt``: UTC, no offset."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


def parse_wc_date(text: str, tz: ZoneInfo, *, gmt: bool = False) -> datetime:
    """A REST date argument (``after``, ``modified_after``…): ISO 8601; without an offset it is the
    site's local time (or UTC when ``dates_are_gmt``)."""
    raw = text.strip()
    if not raw:
        raise ValueError("empty date")
    parsed = datetime.fromisoformat(raw.replace("z", "Z").replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC if gmt else tz)
    return parsed.astimezone(UTC)


def rest_bool(value: Any) -> bool:
    """WordPress's ``rest_sanitize_boolean``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    return str(value).strip().lower() in ("1", "true", "yes", "on")
