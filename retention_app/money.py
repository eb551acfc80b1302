"""Money helpers: Decimal at the edges, never float."""

from decimal import Decimal
from typing import Any

ZERO = Decimal("0")


def to_decimal(value: Any) -> Decimal:
    """Convert a platform amount ("12.50", 12.5, None) to Decimal without going through float."""
    if value is None or value == "":
        return ZERO
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))


def money_str(value: Decimal) -> str:
    """The canonical text of an amount (three places, as stored), for events and exports."""
    return format(to_decimal(value).quantize(Decimal("0.001")), "f")
