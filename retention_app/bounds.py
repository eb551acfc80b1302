"""Bounds that merchant- and operator-given values are checked against before they reach a query,
a column or date arithmetic (one home, so the dashboard, the API and the commands agree)."""

from datetime import date
from decimal import Decimal

from django.db import models

#: Dates must fall in these years: year 1 or 9999 overflows when turned into a shop's local
#: midnight or moved by a day, and no store has orders outside them.
MIN_YEAR, MAX_YEAR = 2000, 2100

#: The largest amount of money taken from a merchant's input: under a quadrillion in any currency
#: (Iranian rials included), two digits inside the money column (``max_digits=20,
#: decimal_places=3``: below 10^17), so sums of many such amounts still fit it, and SQLite (which
#: keeps decimals as floats) reads it back without overflowing the column's precision.
MONEY_MAX = Decimal("999999999999999.999")


def year_in_bounds(value: date) -> bool:
    return MIN_YEAR <= value.year <= MAX_YEAR


def decimal_max(field: models.Field) -> Decimal:
    """The largest value a ``DecimalField`` column stores (99999999999999999.999 for money)."""
    assert isinstance(field, models.DecimalField) and field.max_digits is not None
    places = field.decimal_places or 0
    return Decimal(10) ** (field.max_digits - places) - Decimal(1).scaleb(-places)
