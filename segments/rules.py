"""Who belongs to a segment: the predefined rules and the merchant's condition language.

Every rule is a ``Q`` over ``CustomerScore``, so the daily recompute turns it into one
``INSERT … SELECT`` and one ``DELETE`` per segment, and the per-customer refresh into one
``EXISTS`` per segment, from the same definition.

Predefined segments (``now`` is the moment of the recompute):

- ``top_spenders``: net spend > 0 and a spend rank within the top 10 % of the shop's buyers
  (rounded up, so a small shop has at least one; ties share a rank);
- ``loyal``: at least 3 counted orders and one in the last 180 days;
- ``one_time``: exactly one counted order;
- ``at_risk``: past ``expected_next_order_at`` (last order + 1.5 × the customer's median
  interval between orders, or the shop's median for one-time buyers) and not churned;
- ``churned``: no counted order for the shop's ``churn_days`` (365 unless changed);
- ``new``: first counted order within the last 30 days.

Merchant conditions, a small JSON language (``{"all": [...]}`` / ``{"any": [...]}`` nest;
a leaf is ``{"field", "op", "value"}``)::

    {"all": [{"field": "total_spent", "op": "gte", "value": "200"},
             {"any": [{"field": "tag", "op": "contains", "value": "vip"},
                      {"field": "segment", "op": "is", "value": "loyal"}]}]}

Fields: ``total_spent`` (net, the shop's currency), ``orders_count``, ``days_since_last_order``,
``first_order_days_ago`` with ``gte`` / ``lte``; ``tag`` ``contains`` (one of the customer's
tags, case-insensitive); ``tier`` ``is`` (the loyalty tier's name); ``segment`` ``is`` (another
segment's key); ``country`` ``is`` (an ISO 3166 code, ``Customer.country_code``).

Every value is bounded (``NUMBER_BOUNDS``, ``MAX_TEXT``, ``MAX_DEPTH``, ``MAX_LEAVES``) so that a
stored rule can always be turned into a query: days within a century, counts within a million,
amounts within the money column (``Decimal(20, 3)``).  Rules stored before the bounds existed are
checked again when evaluated; one that fails raises ``InvalidRule`` and is skipped by the recompute.
"""

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BooleanField, Expression, F, Q, Value
from django.db.models.sql.compiler import SQLCompiler
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from commerce.models import Shop
from loyalty.models import Account
from retention_app.errors import ApplicationError
from segments.models import Segment, SegmentKind, SegmentMembership

LOYAL_MIN_ORDERS = 3
LOYAL_WITHIN_DAYS = 180
NEW_WITHIN_DAYS = 30
AT_RISK_FACTOR = Decimal("1.5")
TOP_SPENDERS_SHARE = Decimal("0.10")
MAX_DEPTH = 4
MAX_LEAVES = 30
MAX_TEXT = 255
MAX_NUMBER_TEXT = 40  # characters of a number given as text
MAX_ERRORS = 20
MAX_DAYS = 36500
MAX_COUNT = 10**6
MAX_AMOUNT = Decimal("99999999999999999.999")  # the money column: 20 digits, 3 of them decimals
NUMBER_BOUNDS: dict[str, Decimal] = {"total_spent": MAX_AMOUNT, "orders_count": Decimal(MAX_COUNT),
                                     "days_since_last_order": Decimal(MAX_DAYS),
                                     "first_order_days_ago": Decimal(MAX_DAYS)}


class InvalidRule(Exception):
    """A stored merchant rule that no longer passes validation (saved before the bounds existed)."""


@dataclass(frozen=True)
class Predefined:
    key: str
    name: Promise
    description: Promise


PREDEFINED = (
    Predefined("top_spenders", _("Top spenders"), _("The top 10 percent of customers by net spend.")),
    Predefined("loyal", _("Loyal repeat buyers"), _("At least 3 orders, the latest in the last 180 days.")),
    Predefined("one_time", _("One-time buyers"), _("Exactly one order.")),
    Predefined("at_risk", _("At risk"), _("Past 1.5 times their usual time between orders (the shop's usual "
                                          "time for one-time buyers), and not churned yet.")),
    Predefined("churned", _("Churned"), _("No order for the shop's churn period (365 days unless changed).")),
    Predefined("new", _("New customers"), _("First order in the last 30 days.")),
)
PREDEFINED_KEYS = tuple(item.key for item in PREDEFINED)


@dataclass(frozen=True)
class RuleContext:
    shop: Shop
    now: datetime
    churn_days: int
    top_count: int  # how many spend ranks make the top 10 %


def top_count(buyers: int) -> int:
    return math.ceil(buyers * TOP_SPENDERS_SHARE)


def predefined_q(key: str, *, context: RuleContext) -> Q:
    now = context.now
    churned_before = now - timedelta(days=context.churn_days)
    rules = {
        "top_spenders": Q(orders_count__gt=0, total_spent__gt=0, spend_rank__lte=context.top_count),
        "loyal": Q(orders_count__gte=LOYAL_MIN_ORDERS, last_order_at__gte=now - timedelta(days=LOYAL_WITHIN_DAYS)),
        "one_time": Q(orders_count=1),
        "at_risk": Q(orders_count__gt=0, expected_next_order_at__lt=now, last_order_at__gt=churned_before),
        "churned": Q(orders_count__gt=0, last_order_at__lte=churned_before),
        "new": Q(orders_count__gt=0, first_order_at__gte=now - timedelta(days=NEW_WITHIN_DAYS)),
    }
    return rules[key]


def segment_q(segment: Segment, *, context: RuleContext) -> Q:
    """The segment's rule; ``InvalidRule`` for a merchant rule that fails validation (callers skip it)."""
    if segment.kind == SegmentKind.PREDEFINED:
        return predefined_q(segment.key, context=context)
    problems = conditions_problems(segment.conditions)
    if problems:
        raise InvalidRule(f"segment {segment.key!r} of shop {segment.shop_id}: {problems[0]}")
    try:
        return conditions_q(segment.conditions, context=context)
    except (ArithmeticError, ValueError, TypeError, KeyError, IndexError) as error:
        raise InvalidRule(f"segment {segment.key!r} of shop {segment.shop_id}: {error!r}") from error


# --- the merchant's condition language --------------------------------------------------------

COUNTRY_CODE = re.compile(r"[A-Za-z]{2}")


NUMERIC_FIELDS = {"total_spent", "orders_count", "days_since_last_order", "first_order_days_ago"}
TEXT_FIELDS = {"tag": "contains", "tier": "is", "segment": "is"}


class HasTag(Expression):
    """The customer's ``tags`` (a JSON list) hold ``tag``, case-insensitively.  JSON containment
    is not portable (SQLite has no ``@>``), so the list is expanded: ``json_each`` on SQLite,
    ``jsonb_array_elements_text`` on PostgreSQL."""

    output_field = BooleanField()

    def __init__(self, tags: str, tag: str) -> None:
        super().__init__()
        self.tags: Any = F(tags)
        self.tag: Any = Value(tag)

    def get_source_expressions(self) -> list[Any]:
        return [self.tags, self.tag]

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        self.tags, self.tag = exprs

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, tuple[Any, ...]]:
        tags_sql, tags_params = compiler.compile(self.tags)
        tag_sql, tag_params = compiler.compile(self.tag)
        if connection.vendor == "postgresql":
            sql = (f"EXISTS (SELECT 1 FROM jsonb_array_elements_text({tags_sql}) AS tag(value) "
                   f"WHERE lower(tag.value) = lower({tag_sql}))")
        else:
            sql = f"EXISTS (SELECT 1 FROM json_each({tags_sql}) AS tag WHERE lower(tag.value) = lower({tag_sql}))"
        return sql, (*tags_params, *tag_params)


def conditions_problems(conditions: Any) -> list[str]:
    """What is wrong with the shape and values of a condition tree (no database reads); empty when valid."""
    errors: list[str] = []
    leaves: list[int] = []
    _validate(conditions, path="conditions", depth=1, errors=errors, leaves=leaves, referenced=set())
    if len(leaves) > MAX_LEAVES:
        errors.append(f"conditions: at most {MAX_LEAVES} conditions")
    return errors[:MAX_ERRORS]


def conditions_validate(conditions: Any, *, shop: Shop, own_key: str = "") -> dict[str, Any]:
    """The conditions, normalised (numbers as text, trimmed strings); ``ApplicationError`` (400)
    listing every problem otherwise, the first one in the message."""
    errors: list[str] = []
    leaves: list[int] = []
    referenced: set[str] = set()
    normalised = _validate(conditions, path="conditions", depth=1, errors=errors, leaves=leaves,
                           referenced=referenced)
    if len(leaves) > MAX_LEAVES:
        errors.append(f"conditions: at most {MAX_LEAVES} conditions")
    if own_key and own_key in referenced:
        errors.append("conditions: a segment cannot refer to itself")
    if not errors:
        known = set(PREDEFINED_KEYS) | set(Segment.objects.filter(shop=shop).values_list("key", flat=True))
        errors.extend(f"conditions: unknown segment {key!r}" for key in sorted(referenced - known))
    if errors:
        raise ApplicationError(f"the segment conditions are not valid: {errors[0]}", status=400,
                               code="invalid_conditions", extra={"errors": errors[:MAX_ERRORS]})
    return normalised


def _validate(node: Any, *, path: str, depth: int, errors: list[str], leaves: list[int],
              referenced: set[str]) -> dict[str, Any]:
    if not isinstance(node, dict):
        errors.append(f"{path}: expected an object")
        return {}
    if depth > MAX_DEPTH:
        errors.append(f"{path}: nested deeper than {MAX_DEPTH} levels")
        return {}
    groups = [key for key in ("all", "any") if key in node]
    if groups:
        if len(node) != 1:
            errors.append(f"{path}: a group has exactly one key, 'all' or 'any'")
            return {}
        items = node[groups[0]]
        if not isinstance(items, list) or not items:
            errors.append(f"{path}.{groups[0]}: expected a non-empty list")
            return {}
        if len(items) > MAX_LEAVES:
            errors.append(f"{path}.{groups[0]}: at most {MAX_LEAVES} conditions")
            return {}
        return {groups[0]: [_validate(item, path=f"{path}.{groups[0]}[{index}]", depth=depth + 1, errors=errors,
                                      leaves=leaves, referenced=referenced)
                            for index, item in enumerate(items)]}
    leaves.append(1)
    return _leaf(node, path=path, errors=errors, referenced=referenced)


def _leaf(node: dict[str, Any], *, path: str, errors: list[str], referenced: set[str]) -> dict[str, Any]:
    if set(node) != {"field", "op", "value"}:
        errors.append(f"{path}: a condition has exactly 'field', 'op' and 'value'")
        return {}
    field, op, value = node["field"], node["op"], node["value"]
    if not isinstance(field, str) or not isinstance(op, str):
        errors.append(f"{path}: 'field' and 'op' are texts")
        return {}
    if field == "country":
        if op != "is" or not isinstance(value, str) or not COUNTRY_CODE.fullmatch(value.strip()):
            errors.append(f"{path}: country takes 'is' and a two-letter ISO 3166 code")
            return {}
        return {"field": field, "op": op, "value": value.strip().upper()}
    if field in NUMERIC_FIELDS:
        if op not in ("gte", "lte"):
            errors.append(f"{path}: {field} takes 'gte' or 'lte'")
            return {}
        number = _number(value, whole=field != "total_spent", highest=NUMBER_BOUNDS[field])
        if number is None:
            kind = "an amount (at most 3 decimals)" if field == "total_spent" else "a whole number"
            errors.append(f"{path}: {field} needs {kind} of at least 0 and at most {NUMBER_BOUNDS[field]}")
            return {}
        return {"field": field, "op": op, "value": f"{number:f}" if isinstance(number, Decimal) else str(number)}
    if field in TEXT_FIELDS:
        if op != TEXT_FIELDS[field]:
            errors.append(f"{path}: {field} takes '{TEXT_FIELDS[field]}'")
            return {}
        # Control characters are refused: PostgreSQL rejects NUL in a text parameter.
        if (not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT
                or any(ord(char) < 32 for char in value)):
            errors.append(f"{path}: {field} needs a non-empty text of at most {MAX_TEXT} characters "
                          f"without control characters")
            return {}
        if field == "segment":
            referenced.add(value.strip())
        return {"field": field, "op": op, "value": value.strip()}
    errors.append(f"{path}: unknown field {field[:50]!r}")
    return {}


def _number(value: Any, *, whole: bool, highest: Decimal) -> Decimal | int | None:
    """``value`` as a finite number within ``0..highest`` (whole, or with at most 3 decimals), else None."""
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal | float):
        return None
    if isinstance(value, int) and not 0 <= value <= highest:  # before str(): huge ints are slow to print
        return None
    text = str(value).strip()
    if len(text) > MAX_NUMBER_TEXT:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    if not number.is_finite() or not 0 <= number <= highest:
        return None
    if whole:
        return int(number) if number == number.to_integral_value() else None
    if number != number.quantize(Decimal("0.001")):
        return None
    return number


def conditions_q(node: dict[str, Any], *, context: RuleContext) -> Q:
    """A validated condition tree as a ``Q`` over ``CustomerScore``."""
    if "all" in node or "any" in node:
        parts = [conditions_q(item, context=context) for item in node.get("all") or node.get("any") or []]
        combined = parts[0]
        for part in parts[1:]:
            combined = combined & part if "all" in node else combined | part
        return combined
    field, op, value = node["field"], node["op"], node["value"]
    if field == "total_spent":
        return Q(**{f"total_spent__{op}": Decimal(value)})
    if field == "orders_count":
        return Q(**{f"orders_count__{op}": int(value)})
    if field in ("days_since_last_order", "first_order_days_ago"):
        column = "last_order_at" if field == "days_since_last_order" else "first_order_at"
        moment = context.now - timedelta(days=int(value))
        # "at least N days ago" is on or before the moment N days back.
        return Q(**{f"{column}__{'lte' if op == 'gte' else 'gte'}": moment})
    if field == "tag":
        return Q(HasTag("customer__tags", value))
    if field == "country":
        return Q(customer__country_code__iexact=value)
    if field == "tier":
        return Q(customer_id__in=Account.objects.filter(
            shop=context.shop, customer__isnull=False, tier__name__iexact=value, tier__scheme__is_active=True,
        ).values("customer_id"))
    return Q(customer_id__in=SegmentMembership.objects.filter(shop=context.shop, segment__key=value)
             .values("customer_id"))
