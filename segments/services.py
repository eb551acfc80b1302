"""Segment writes: the scores and memberships, recomputed for a shop or for one customer.

The daily full recompute (time passing moves customers into at-risk and churned) is set-based:
one ``INSERT … SELECT … ON CONFLICT`` writes every customer's figures, one ``UPDATE … FROM``
sets the RFM quintiles with ``NTILE`` window functions, and each segment costs one ``DELETE``
and one ``INSERT … SELECT``.  Order events refresh only their customers, a set at a time
(``customers_refresh``: the outbox hands the segments subscriber a run of one shop's events):
the same statement restricted to them, their quintiles placed among the other customers' stored
figures with the same ``NTILE`` arithmetic, and their memberships of every segment found in one
query and written as one delete and one insert -- about ten statements for the set, however
many customers or segments it has.  Other customers' quintiles and spend ranks shift slightly
with each order; the next daily recompute settles them.

Counted orders are commerce's (``commerce.selectors.orders_counted_sql``, the rule analytics,
loyalty and campaigns use too): paid, not cancelled, not test, and not fully refunded (a purchase
that was wholly returned is no repurchase); spend is net of refunds.
"""

import logging
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from commerce.models import Customer, Shop
from commerce.selectors import orders_counted_sql
from retention_app.errors import ApplicationError
from segments.models import CustomerScore, Segment, SegmentKind, SegmentMembership, SegmentSettings
from segments.rules import (
    AT_RISK_FACTOR,
    PREDEFINED,
    InvalidRule,
    RuleContext,
    conditions_validate,
    segment_q,
)
from segments.selectors import rule_context

logger = logging.getLogger(__name__)

QUINTILES = 5
KEY_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,49}")


def settings_for(*, shop: Shop) -> SegmentSettings:
    """The shop's settings row, created when missing (for writes; reads use
    ``selectors.segment_settings_get``)."""
    found = SegmentSettings.objects.filter(shop=shop).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return SegmentSettings.objects.create(shop=shop)
    except IntegrityError:  # created concurrently
        return SegmentSettings.objects.get(shop=shop)


def settings_update(*, shop: Shop, churn_days: int) -> SegmentSettings:
    """Change the churn period; the shop's memberships are recomputed after the commit."""
    from segments.tasks import recompute_shop

    if not 30 <= churn_days <= 3650:
        raise ApplicationError("churn_days is between 30 and 3650", status=400)
    current = settings_for(shop=shop)
    current.churn_days = churn_days
    current.save(update_fields=["churn_days", "updated_at"])
    transaction.on_commit(lambda: recompute_shop.delay(shop.pk))
    return current


def segment_defaults_create(*, shop: Shop) -> None:
    """The shop's segment settings and predefined segments, created when missing (at install, and
    before a recompute; idempotent).  Reads never create them."""
    settings_for(shop=shop)
    existing = set(Segment.objects.filter(shop=shop, kind=SegmentKind.PREDEFINED).values_list("key", flat=True))
    missing = [Segment(shop=shop, key=item.key, name=str(item.name), kind=SegmentKind.PREDEFINED)
               for item in PREDEFINED if item.key not in existing]
    if missing:
        Segment.objects.bulk_create(missing, ignore_conflicts=True)


def segments_for(*, shop: Shop) -> list[Segment]:
    """The shop's segments in recompute order (a write path: missing predefined ones are created
    first), then the merchant's by age, so a segment is computed after those its conditions refer to."""
    segment_defaults_create(shop=shop)
    order = {item.key: position for position, item in enumerate(PREDEFINED)}
    segments = list(Segment.objects.filter(shop=shop))
    return sorted(segments, key=lambda s: (s.kind != SegmentKind.PREDEFINED, order.get(s.key, 0), s.pk))


def segment_create(*, shop: Shop, key: str, name: str, conditions: Any) -> Segment:
    """A merchant segment; its members are computed at once, in the same transaction (a failure
    leaves no segment behind)."""
    if not KEY_PATTERN.fullmatch(key):
        raise ApplicationError("a segment key is lowercase letters, digits, '-' and '_' (at most 50)", status=400,
                               code="invalid_key")
    if not name.strip():
        raise ApplicationError("a segment needs a name", status=400)
    segments_for(shop=shop)
    if Segment.objects.filter(shop=shop, key=key).exists():
        raise ApplicationError(f"a segment with the key {key!r} exists", status=409, code="conflict")
    validated = conditions_validate(conditions, shop=shop, own_key=key)
    with transaction.atomic():
        try:
            with transaction.atomic():
                segment = Segment.objects.create(shop=shop, key=key, name=name.strip()[:120],
                                                 kind=SegmentKind.MERCHANT, conditions=validated)
        except IntegrityError:
            raise ApplicationError(f"a segment with the key {key!r} exists", status=409, code="conflict") from None
        _members_sync(segment=segment, context=_context(shop=shop, now=timezone.now()))
    return segment


def segment_update(*, shop: Shop, key: str, name: str, conditions: Any) -> Segment:
    """Rename one of the shop's merchant segments or change its conditions (its key stays: flows
    name it); its members are recomputed at once, in the same transaction.  Predefined segments
    are refused (409), another shop's is 404, and so is a rule that would refer back to itself
    through other segments (400)."""
    segment = Segment.objects.filter(shop=shop, key=key).first()
    if segment is None:
        raise ApplicationError("segment not found", status=404)
    if segment.kind == SegmentKind.PREDEFINED:
        raise ApplicationError(f"the predefined segment {key!r} cannot be changed", status=409,
                               code="predefined_segment")
    if not name.strip():
        raise ApplicationError("a segment needs a name", status=400)
    validated = conditions_validate(conditions, shop=shop, own_key=key)
    rules = dict(Segment.objects.filter(shop=shop, kind=SegmentKind.MERCHANT).exclude(pk=segment.pk)
                 .values_list("key", "conditions"))
    seen: set[str] = set()
    waiting = list(_referenced(validated))
    while waiting:
        other = waiting.pop()
        if other == key:
            raise ApplicationError(f"the segment conditions are not valid: {key!r} would refer to itself through "
                                   f"other segments", status=400, code="invalid_conditions",
                                   extra={"errors": ["conditions: a segment cannot refer to itself through "
                                                     "other segments"]})
        if other not in seen:
            seen.add(other)
            waiting.extend(_referenced(rules.get(other)))
    with transaction.atomic():
        segment.name = name.strip()[:120]
        segment.conditions = validated
        segment.save(update_fields=["name", "conditions", "updated_at"])
        _members_sync(segment=segment, context=_context(shop=shop, now=timezone.now()))
    return segment


def segment_delete(*, shop: Shop, key: str) -> None:
    """Delete one of the shop's merchant segments with its memberships.  Predefined segments, and
    segments another segment or a campaign step refers to, are refused (409); another shop's is 404."""
    from campaigns.models import FlowStep

    segment = Segment.objects.filter(shop=shop, key=key).first()
    if segment is None and key.isdigit():  # the id the create answer gave
        segment = Segment.objects.filter(shop=shop, pk=int(key)).first()
    if segment is None:
        raise ApplicationError("segment not found", status=404)
    key = segment.key
    if segment.kind == SegmentKind.PREDEFINED:
        raise ApplicationError(f"the predefined segment {key!r} cannot be deleted", status=409,
                               code="predefined_segment")
    users = sorted(other.key for other in Segment.objects.filter(shop=shop, kind=SegmentKind.MERCHANT)
                   .exclude(pk=segment.pk).only("key", "conditions") if key in _referenced(other.conditions))
    if users:
        raise ApplicationError(f"the segment {key!r} is used by the segment {users[0]!r}", status=409,
                               code="segment_in_use", extra={"used_by": users})
    if FlowStep.objects.filter(flow__shop=shop).filter(Q(conditions__segment=key)
                                                       | Q(conditions__not_segment=key)).exists():
        raise ApplicationError(f"the segment {key!r} is used by a campaign", status=409, code="segment_in_use")
    with transaction.atomic():
        SegmentMembership.objects.filter(shop=shop, segment=segment).delete()
        segment.delete()


def _referenced(node: Any) -> set[str]:
    """The segment keys a stored condition tree refers to (``segment is …``), whatever its shape."""
    if isinstance(node, list):
        return set().union(*(_referenced(item) for item in node[:100]))
    if not isinstance(node, dict):
        return set()
    if node.get("field") == "segment" and isinstance(node.get("value"), str):
        return {node["value"].strip()}
    return _referenced(node.get("all")) | _referenced(node.get("any"))


# --- the figures -----------------------------------------------------------------------------

def _sql_days(column: str) -> str:
    """A timestamp as a number of days (for intervals between orders)."""
    if connection.vendor == "postgresql":
        return f"(EXTRACT(EPOCH FROM {column}) / 86400.0)"
    return f"julianday({column})"


def _sql_plus_days(column: str, days: str) -> str:
    if connection.vendor == "postgresql":
        return f"({column} + ({days}) * INTERVAL '1 day')"
    return f"strftime('%%Y-%%m-%%d %%H:%%M:%%f', julianday({column}) + ({days}))"


def _gaps_sql(counted: str) -> str:
    """Each counted order's distance in days from the same customer's previous one (NULL for the
    first), read from the relation ``counted``."""
    days = _sql_days("processed_at")
    return f"""
        SELECT customer_id,
               {days} - LAG({days}) OVER (PARTITION BY customer_id ORDER BY processed_at, id) AS gap
        FROM {counted}"""


def shop_median_interval(*, shop: Shop) -> Decimal | None:
    """The median number of days between a customer's consecutive orders, over the whole shop."""
    counted, counted_params = orders_counted_sql(shop=shop)
    sql = f"""
        WITH counted AS ({counted}),
        gaps AS ({_gaps_sql("counted")}),
        ranked AS (SELECT gap, ROW_NUMBER() OVER (ORDER BY gap) AS position, COUNT(*) OVER () AS total
                   FROM gaps WHERE gap IS NOT NULL)
        SELECT AVG(gap) FROM ranked WHERE position IN ((total + 1) / 2, (total + 2) / 2)"""
    with connection.cursor() as cursor:
        cursor.execute(sql, counted_params)
        row = cursor.fetchone()
    return None if row is None or row[0] is None else Decimal(str(row[0])).quantize(Decimal("0.01"))


def _scores_upsert(*, shop: Shop, now: datetime, shop_median: Decimal | None,
                   customer_ids: Sequence[int] | None) -> None:
    """Write the figures of every live customer of the shop (or of ``customer_ids``) in one
    statement: counted orders, net spend, first and last order, own median interval, expected next
    order.  R, F, M and the spend rank are reset here and set by ``_quintiles_*``."""
    score, customers = CustomerScore._meta.db_table, Customer._meta.db_table
    counted, counted_params = orders_counted_sql(shop=shop)
    only = ""
    if customer_ids is not None:
        marks = ", ".join(["%s"] * len(customer_ids))
        counted = f"SELECT * FROM ({counted}) shop_counted WHERE shop_counted.customer_id IN ({marks})"
        counted_params = [*counted_params, *customer_ids]
        only = f"AND c.id IN ({marks})"
    interval = "COALESCE(medians.median_gap, CAST(%s AS DOUBLE PRECISION))"
    expected = _sql_plus_days("totals.last_order_at", f"{AT_RISK_FACTOR} * {interval}")
    sql = f"""
        WITH counted AS ({counted}),
        gaps AS ({_gaps_sql("counted")}),
        ranked AS (SELECT customer_id, gap,
                          ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY gap) AS position,
                          COUNT(*) OVER (PARTITION BY customer_id) AS total
                   FROM gaps WHERE gap IS NOT NULL),
        medians AS (SELECT customer_id, AVG(gap) AS median_gap FROM ranked
                    WHERE position IN ((total + 1) / 2, (total + 2) / 2) GROUP BY customer_id),
        totals AS (SELECT customer_id, COUNT(*) AS orders_count, SUM(net) AS total_spent,
                          MIN(processed_at) AS first_order_at, MAX(processed_at) AS last_order_at
                   FROM counted GROUP BY customer_id)
        INSERT INTO {score} (shop_id, customer_id, created_at, updated_at, computed_at, currency, orders_count,
                             total_spent, first_order_at, last_order_at, median_interval_days,
                             expected_next_order_at, r, f, m, spend_rank)
        SELECT c.shop_id, c.id, %s, %s, %s, %s, COALESCE(totals.orders_count, 0),
               COALESCE(totals.total_spent, 0), totals.first_order_at, totals.last_order_at, medians.median_gap,
               CASE WHEN totals.last_order_at IS NULL OR {interval} IS NULL THEN NULL ELSE {expected} END,
               NULL, NULL, NULL, NULL
        FROM {customers} c
        LEFT JOIN totals ON totals.customer_id = c.id
        LEFT JOIN medians ON medians.customer_id = c.id
        WHERE c.shop_id = %s AND c.is_deleted = %s AND c.redacted_at IS NULL {only}
        ON CONFLICT (shop_id, customer_id) DO UPDATE SET
            updated_at = excluded.updated_at, computed_at = excluded.computed_at, currency = excluded.currency,
            orders_count = excluded.orders_count, total_spent = excluded.total_spent,
            first_order_at = excluded.first_order_at, last_order_at = excluded.last_order_at,
            median_interval_days = excluded.median_interval_days,
            expected_next_order_at = excluded.expected_next_order_at,
            r = excluded.r, f = excluded.f, m = excluded.m, spend_rank = excluded.spend_rank"""
    moment = connection.ops.adapt_datetimefield_value(now)
    median = float(shop_median) if shop_median is not None else None
    params = [*counted_params, moment, moment, moment, shop.currency, median, median,
              shop.pk, False, *(customer_ids or [])]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _quintiles_all(*, shop: Shop) -> None:
    """R, F, M: ``NTILE(5)`` over the shop's buyers (oldest last order, fewest orders, least spend
    first); customers with equal figures share the lowest quintile among them, so one-time buyers
    all get the same F.  The spend rank is ``RANK()`` by net spend, biggest first."""
    score = CustomerScore._meta.db_table
    sql = f"""
        UPDATE {score} SET r = tiles.r, f = tiles.f, m = tiles.m, spend_rank = tiles.spend_rank
        FROM (SELECT id,
                     MIN(r_tile) OVER (PARTITION BY last_order_at) AS r,
                     MIN(f_tile) OVER (PARTITION BY orders_count) AS f,
                     MIN(m_tile) OVER (PARTITION BY total_spent) AS m,
                     spend_rank
              FROM (SELECT id, last_order_at, orders_count, total_spent,
                           NTILE({QUINTILES}) OVER (ORDER BY last_order_at, customer_id) AS r_tile,
                           NTILE({QUINTILES}) OVER (ORDER BY orders_count, customer_id) AS f_tile,
                           NTILE({QUINTILES}) OVER (ORDER BY total_spent, customer_id) AS m_tile,
                           RANK() OVER (ORDER BY total_spent DESC) AS spend_rank
                    FROM {score} WHERE shop_id = %s AND orders_count > 0) ranked) tiles
        WHERE {score}.id = tiles.id"""
    with connection.cursor() as cursor:
        cursor.execute(sql, [shop.pk])


def ntile(position: int, total: int, buckets: int = QUINTILES) -> int:
    """The bucket SQL's ``NTILE(buckets)`` gives the row at ``position`` (1-based) of ``total``:
    the first ``total % buckets`` buckets hold one row more than the others."""
    size, bigger = divmod(total, buckets)
    if size == 0:
        return position
    if position <= bigger * (size + 1):
        return (position - 1) // (size + 1) + 1
    return bigger + (position - bigger * (size + 1) - 1) // size + 1


def _ntile_sql(position: str, total: str) -> str:
    """``ntile(position, total)`` in SQL (integer arithmetic, both engines)."""
    size, bigger = f"({total} / {QUINTILES})", f"({total} %% {QUINTILES})"  # %%: a parameterised query
    return (f"CASE WHEN {size} = 0 THEN {position} "
            f"WHEN {position} <= {bigger} * ({size} + 1) THEN ({position} - 1) / ({size} + 1) + 1 "
            f"ELSE {bigger} + ({position} - {bigger} * ({size} + 1) - 1) / {size} + 1 END")


#: Up to this many customers, each is placed by counting the shop's buyers before it (one pass
#: over the buyers per customer); a bigger set is placed by ranking the buyers once (a sort per
#: figure).  Both give ``_quintiles_all``'s numbers.
QUINTILES_COUNTED_UP_TO = 16


def _quintiles_some(*, shop: Shop, customer_ids: Sequence[int]) -> None:
    """R, F, M and spend rank of ``customer_ids`` among the stored figures of the shop's buyers,
    in one statement; a customer ties with equal figures as in ``_quintiles_all`` (the first
    position of the tie, i.e. ``RANK()``).  Customers without a counted order keep NULLs."""
    if not customer_ids:
        return
    score = CustomerScore._meta.db_table
    marks = ", ".join(["%s"] * len(customer_ids))
    if len(customer_ids) <= QUINTILES_COUNTED_UP_TO:
        placed = f"""
            SELECT mine.id AS id, COUNT(*) AS total,
                   1 + SUM(CASE WHEN other.last_order_at < mine.last_order_at THEN 1 ELSE 0 END) AS position_r,
                   1 + SUM(CASE WHEN other.orders_count < mine.orders_count THEN 1 ELSE 0 END) AS position_f,
                   1 + SUM(CASE WHEN other.total_spent < mine.total_spent THEN 1 ELSE 0 END) AS position_m,
                   1 + SUM(CASE WHEN other.total_spent > mine.total_spent THEN 1 ELSE 0 END) AS spend_rank
            FROM {score} mine JOIN {score} other ON other.shop_id = mine.shop_id AND other.orders_count > 0
            WHERE mine.shop_id = %s AND mine.orders_count > 0 AND mine.customer_id IN ({marks})
            GROUP BY mine.id"""
    else:
        placed = f"""
            SELECT id, total, position_r, position_f, position_m, spend_rank
            FROM (SELECT id, customer_id, COUNT(*) OVER () AS total,
                         RANK() OVER (ORDER BY last_order_at) AS position_r,
                         RANK() OVER (ORDER BY orders_count) AS position_f,
                         RANK() OVER (ORDER BY total_spent) AS position_m,
                         RANK() OVER (ORDER BY total_spent DESC) AS spend_rank
                  FROM {score} WHERE shop_id = %s AND orders_count > 0) ranked
            WHERE ranked.customer_id IN ({marks})"""
    sql = f"""
        UPDATE {score} SET r = {_ntile_sql("placed.position_r", "placed.total")},
                           f = {_ntile_sql("placed.position_f", "placed.total")},
                           m = {_ntile_sql("placed.position_m", "placed.total")},
                           spend_rank = placed.spend_rank
        FROM ({placed}) placed
        WHERE {score}.id = placed.id"""
    with connection.cursor() as cursor:
        cursor.execute(sql, [shop.pk, *customer_ids])


# --- memberships -----------------------------------------------------------------------------

def _context(*, shop: Shop, now: datetime) -> RuleContext:
    settings_for(shop=shop)
    return rule_context(shop=shop, now=now)


def _members_sync(*, segment: Segment, context: RuleContext) -> None:
    """Make the stored members of ``segment`` exactly the customers its rule selects, in two
    statements (members who left, then members who joined)."""
    matching = CustomerScore.objects.filter(shop_id=segment.shop_id).filter(segment_q(segment, context=context))
    SegmentMembership.objects.filter(shop_id=segment.shop_id, segment=segment).exclude(
        customer_id__in=matching.values("customer_id")).delete()
    joined = matching.exclude(customer_id__in=SegmentMembership.objects.filter(
        shop_id=segment.shop_id, segment=segment).values("customer_id")).values("customer_id")
    select_sql, select_params = joined.query.sql_with_params()
    moment = connection.ops.adapt_datetimefield_value(context.now)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {SegmentMembership._meta.db_table} "
            f"(shop_id, segment_id, customer_id, created_at, updated_at) "
            # WHERE keeps SQLite from reading ON CONFLICT as a join; a concurrent refresh may have added a row.
            f"SELECT %s, %s, joined.customer_id, %s, %s FROM ({select_sql}) joined WHERE 1 = 1 ON CONFLICT DO NOTHING",
            [segment.shop_id, segment.pk, moment, moment, *select_params])


def shop_recompute(*, shop: Shop, now: datetime | None = None) -> int:
    """Every score and membership of the shop; returns the number of scored customers."""
    now = now or timezone.now()
    segments = segments_for(shop=shop)
    median = shop_median_interval(shop=shop)
    with transaction.atomic():
        SegmentSettings.objects.filter(pk=settings_for(shop=shop).pk).update(median_interval_days=median,
                                                                              recomputed_at=now)
        CustomerScore.objects.filter(shop=shop).filter(Q(customer__is_deleted=True)
                                                       | Q(customer__redacted_at__isnull=False)).delete()
        _scores_upsert(shop=shop, now=now, shop_median=median, customer_ids=None)
        _quintiles_all(shop=shop)
        context = _context(shop=shop, now=now)
        for segment in segments:
            try:
                _members_sync(segment=segment, context=context)
            except InvalidRule as error:  # stored before the bounds: its members stay as they were
                logger.warning("segment rule skipped: %s", error)
    return CustomerScore.objects.filter(shop=shop).count()


def customer_refresh(*, customer: Customer, now: datetime | None = None) -> list[str]:
    """After an order of ``customer`` was paid, refunded or cancelled: their score and memberships
    only.  Returns the keys of the segments they are in."""
    customers_refresh(shop=customer.shop, customer_ids=[customer.pk], now=now)
    return sorted(SegmentMembership.objects.filter(shop_id=customer.shop_id, customer=customer)
                  .values_list("segment__key", flat=True))


def customers_refresh(*, shop: Shop, customer_ids: Iterable[int], now: datetime | None = None) -> None:
    """After orders of these customers were paid, refunded or cancelled: their scores and
    memberships, in a fixed number of statements whatever the number of customers (a recompute:
    running it twice, or for a customer with nothing new, is harmless).  Erased customers lose
    their score and memberships; ids of other shops are ignored."""
    now = now or timezone.now()
    wanted = sorted(set(customer_ids))
    if not wanted:
        return
    current = settings_for(shop=shop)
    segments = _segments_ordered(shop=shop)
    with transaction.atomic():
        erased = list(Customer.objects.filter(shop=shop, pk__in=wanted)
                      .filter(Q(is_deleted=True) | Q(redacted_at__isnull=False)).values_list("pk", flat=True))
        if erased:
            CustomerScore.objects.filter(shop=shop, customer_id__in=erased).delete()
            SegmentMembership.objects.filter(shop=shop, customer_id__in=erased).delete()
            wanted = [pk for pk in wanted if pk not in set(erased)]
            if not wanted:
                return
        median = current.median_interval_days
        if median is None:  # no full recompute yet: measure the shop once, kept until the next one
            median = shop_median_interval(shop=shop)
            if median is not None:
                SegmentSettings.objects.filter(pk=current.pk).update(median_interval_days=median)
        _scores_upsert(shop=shop, now=now, shop_median=median, customer_ids=wanted)
        _quintiles_some(shop=shop, customer_ids=wanted)
        context = rule_context(shop=shop, now=now, settings=current)
        _memberships_refresh(shop=shop, segments=segments, context=context, customer_ids=wanted)


def _segments_ordered(*, shop: Shop) -> list[Segment]:
    """``segments_for`` in one query when the predefined segments exist (the usual case)."""
    segments = list(Segment.objects.filter(shop=shop))
    if {item.key for item in PREDEFINED} - {s.key for s in segments if s.kind == SegmentKind.PREDEFINED}:
        return segments_for(shop=shop)
    order = {item.key: position for position, item in enumerate(PREDEFINED)}
    return sorted(segments, key=lambda s: (s.kind != SegmentKind.PREDEFINED, order.get(s.key, 0), s.pk))


def _memberships_refresh(*, shop: Shop, segments: list[Segment], context: RuleContext,
                         customer_ids: list[int]) -> None:
    """Make ``customer_ids``' memberships of ``segments`` what the rules say, in recompute order.
    Segments are taken in waves: a segment whose rule reads another segment of the current wave
    (``segment is …``) starts a new wave, so it reads that segment's memberships already written."""
    wave: list[tuple[Segment, Q]] = []
    for segment in segments:
        try:
            rule = segment_q(segment, context=context)
        except InvalidRule as error:  # stored before the bounds: its members stay as they were
            logger.warning("segment rule skipped: %s", error)
            continue
        if _referenced(segment.conditions) & {member.key for member, _ in wave}:
            _wave_write(shop=shop, wave=wave, customer_ids=customer_ids)
            wave = []
        wave.append((segment, rule))
    if wave:
        _wave_write(shop=shop, wave=wave, customer_ids=customer_ids)


def _wave_write(*, shop: Shop, wave: list[tuple[Segment, Q]], customer_ids: list[int]) -> None:
    """One query for which of the customers each segment of ``wave`` selects (``UNION ALL``), one
    for their stored memberships, then one delete and one insert for the difference."""
    selects: list[str] = []
    params: list[Any] = []
    for segment, rule in wave:
        matching = (CustomerScore.objects.filter(shop_id=shop.pk, customer_id__in=customer_ids).filter(rule)
                    .values("customer_id").order_by())
        sql, select_params = matching.query.sql_with_params()
        selects.append(f"SELECT %s AS segment_id, matching_{segment.pk}.customer_id "
                       f"FROM ({sql}) matching_{segment.pk}")
        params.extend([segment.pk, *select_params])
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(selects), params)
        matches = {(row[0], row[1]) for row in cursor.fetchall()}
    stored = {(segment_id, customer_id): pk for pk, segment_id, customer_id in SegmentMembership.objects.filter(
        shop=shop, segment_id__in=[segment.pk for segment, _ in wave], customer_id__in=customer_ids,
    ).values_list("pk", "segment_id", "customer_id")}
    gone = [pk for pair, pk in stored.items() if pair not in matches]
    if gone:
        SegmentMembership.objects.filter(shop=shop, pk__in=gone).delete()
    joined = sorted(matches - stored.keys())
    if joined:  # a concurrent refresh may have added a row
        SegmentMembership.objects.bulk_create(
            [SegmentMembership(shop=shop, segment_id=segment_id, customer_id=customer_id)
             for segment_id, customer_id in joined],
            ignore_conflicts=True)
