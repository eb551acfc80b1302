"""The flow engine: enrol, schedule, run due steps once, and never harass.

Running a due step, in one transaction with the row locked (``skip_locked``: a second scheduler
run skips it instead of waiting):
1. exit conditions (e.g. win-back: the customer ordered since enrolling) -> the enrolment ends;
2. consent for marketing on the channel, else skipped with the reason;
3. the same template to the same customer within the duplicate window -> skipped (a holiday
   greeting is deduped by its enrolment key: occasion and year);
4. frequency caps and quiet hours (in the customer's zone, the shop's when unknown) -> deferred
   to the next allowed moment, not dropped; if that is too late the message is stale: skipped;
5. send, and record the message (unique per scheduled step: a step never sends twice).
Transactional messages (an order's details) skip 2–4.
"""

import itertools
import logging
import statistics
from calendar import isleap
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from time import monotonic as time_monotonic
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import DurationField, ExpressionWrapper, F, Max, Q, Window
from django.db.models.functions import Lag
from django.utils import timezone

from campaigns.models import (
    Channel,
    Enrolment,
    EnrolmentStatus,
    Flow,
    FlowStep,
    Message,
    MessageStatus,
    ScheduledStep,
    StepAction,
    StepStatus,
    Unsubscribe,
)
from campaigns.services import email, sms
from commerce.models import PAID_STATUSES, Customer, Order, OrderLine, Product

logger = logging.getLogger(__name__)

QUIET_START = time(21, 0)
QUIET_END = time(9, 0)
DAILY_CAP = 1
WEEKLY_CAP = 3
DUPLICATE_WINDOW = timedelta(days=30)
STALE_AFTER = timedelta(days=7)
RETRY_AFTER = timedelta(minutes=15)
# Templates whose enrolment key already says what may not repeat (a holiday greeting: occasion and
# year): two different occasions within the duplicate window both go out.
KEYED_TEMPLATES = {"holiday"}


def steps_for_new_enrolment(flow: Flow) -> list[FlowStep]:
    """The steps a new enrolment gets: those of the version ``flow`` holds (older versions' steps
    stay for the enrolments made before an edit).  Uses ``prefetch_related("steps")`` when the
    caller did it, so a scan over many customers asks once per flow."""
    prefetched = getattr(flow, "_prefetched_objects_cache", {}).get("steps")
    if prefetched is not None:
        return sorted((step for step in prefetched if step.version == flow.version), key=lambda step: step.position)
    return list(FlowStep.objects.filter(flow=flow, version=flow.version).order_by("position"))


def enrol(*, flow: Flow, customer: Customer, trigger_key: str, at: datetime, context: dict | None = None
          ) -> Enrolment | None:
    """Enrol once per trigger (the key is unique per flow) and schedule every step of the flow's
    current version.  A paused flow enrols nobody."""
    if not flow.is_enabled:
        return None
    steps = steps_for_new_enrolment(flow)
    with transaction.atomic():
        enrolment, created = Enrolment.objects.get_or_create(
            shop_id=flow.shop_id, flow=flow, trigger_key=trigger_key,
            defaults={"customer": customer, "context": context or {}, "enrolled_at": at,
                      "flow_version": flow.version},
        )
        if not created:
            return None
        due = at
        for step in steps:
            due = due + timedelta(minutes=step.delay_minutes)
            ScheduledStep.objects.create(shop_id=flow.shop_id, enrolment=enrolment, step=step, due_at=due)
    return enrolment


@dataclass(frozen=True)
class Outcome:
    status: str  # "sent", "skipped", "deferred", "exited"
    reason: str = ""


def run_due(*, now: datetime | None = None, limit: int = 500) -> list[Outcome]:
    """The scheduler's job: run every step that is due, each at most once.  Steps of a paused
    flow are held (left pending) until the merchant resumes it."""
    now = now or timezone.now()
    due_ids = list(ScheduledStep.objects.filter(status=StepStatus.PENDING, due_at__lte=now,
                                                step__flow__is_enabled=True)
                   .order_by("due_at").values_list("pk", flat=True)[:limit])
    outcomes = []
    for pk in due_ids:
        with transaction.atomic():
            scheduled = (ScheduledStep.objects.select_for_update(skip_locked=True, of=("self",))
                         .select_related("step__flow", "enrolment__customer__shop")
                         .filter(pk=pk, status=StepStatus.PENDING, due_at__lte=now,
                                 step__flow__is_enabled=True).first())
            if scheduled is None:
                continue  # another run has it, or it is done
            outcomes.append(_execute(scheduled, now))
    return outcomes


def run_due_for(*, seconds: float, limit: int = 500) -> int:
    """Run due steps in batches of ``limit`` until none is left or ``seconds`` have passed (the
    beat job runs every minute: one batch a minute would cap sending at ``limit``/60 per second).
    Returns how many steps were run."""
    started = time_monotonic()
    done = 0
    while True:
        outcomes = run_due(limit=limit)
        done += len(outcomes)
        if len(outcomes) < limit or time_monotonic() - started >= seconds:
            return done


def _local(customer: Customer, moment: datetime) -> datetime:
    """``moment`` on the shopper's clock: their zone (from their address), else the shop's, else
    UTC; a zone name this machine does not know is skipped, never fatal to a send."""
    for name in (customer.timezone, customer.shop.timezone):
        if name:
            try:
                return moment.astimezone(ZoneInfo(name))
            except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError
                continue
    return moment.astimezone(ZoneInfo("UTC"))


def _quiet_until(customer: Customer, now: datetime) -> datetime | None:
    local = _local(customer, now)
    if QUIET_END <= local.time() < QUIET_START:
        return None
    morning = local.replace(hour=QUIET_END.hour, minute=0, second=0, microsecond=0)
    if local.time() >= QUIET_START:
        morning += timedelta(days=1)
    return morning


def _cap_until(customer: Customer, channel: str, now: datetime) -> datetime | None:
    sent = Message.objects.filter(customer=customer, channel=channel, is_marketing=True, status=MessageStatus.SENT)
    last_day = sent.filter(at__gt=now - timedelta(days=1))
    if last_day.count() >= DAILY_CAP:
        return last_day.order_by("at").first().at + timedelta(days=1)  # type: ignore[union-attr]
    last_week = sent.filter(at__gt=now - timedelta(days=7))
    if last_week.count() >= WEEKLY_CAP:
        return last_week.order_by("at").first().at + timedelta(days=7)  # type: ignore[union-attr]
    return None


def _consented(customer: Customer, channel: str) -> bool:
    if Unsubscribe.objects.filter(customer=customer, channel=channel).exists():
        return False
    state = customer.email_consent if channel == Channel.EMAIL else customer.sms_consent
    return state == "subscribed"


def _exit_reason(scheduled: ScheduledStep) -> str:
    conditions = scheduled.step.conditions or {}
    enrolment = scheduled.enrolment
    if conditions.get("no_order_since_enrolment"):
        ordered = Order.objects.filter(shop_id=enrolment.shop_id, customer=enrolment.customer,
                                       cancelled_at__isnull=True, financial_status__in=PAID_STATUSES,
                                       processed_at__gt=enrolment.enrolled_at).exists()
        if ordered:
            return "the customer ordered again"
    return customer_exit_reason(step=scheduled.step, customer=enrolment.customer)


def customer_exit_reason(*, step: FlowStep, customer: Customer) -> str:
    """Why this customer may not get this step whatever the enrolment: gone, or outside the
    step's segment (``{"segment": "<key>"}`` / ``{"not_segment": "<key>"}``).  "" when none;
    the merchant's preview asks the same."""
    from segments.selectors import in_segment

    conditions = step.conditions or {}
    if customer.is_deleted or customer.redacted_at:
        return "the customer is gone"
    if conditions.get("segment") and not in_segment(customer=customer, key=conditions["segment"]):
        return f"the customer is not in the segment {conditions['segment']}"
    if conditions.get("not_segment") and in_segment(customer=customer, key=conditions["not_segment"]):
        return f"the customer is in the segment {conditions['not_segment']}"
    return ""


def _finish(scheduled: ScheduledStep, status: str, result: str, now: datetime) -> None:
    scheduled.status = status
    scheduled.result = result[:300]
    scheduled.executed_at = now
    scheduled.save(update_fields=["status", "result", "executed_at"])
    enrolment = scheduled.enrolment
    if not ScheduledStep.objects.filter(enrolment=enrolment, status=StepStatus.PENDING).exists():
        Enrolment.objects.filter(pk=enrolment.pk, status=EnrolmentStatus.ACTIVE).update(
            status=EnrolmentStatus.COMPLETED)


def _skip(scheduled: ScheduledStep, reason: str, now: datetime, channel: str) -> Outcome:
    step = scheduled.step
    Message.objects.create(shop_id=scheduled.shop_id, customer=scheduled.enrolment.customer, flow=step.flow,
                           scheduled_step=scheduled, channel=channel, template=step.template,
                           language=email.language_for(scheduled.enrolment.customer), is_marketing=step.is_marketing,
                           status=MessageStatus.SKIPPED, reason=reason, at=now)
    _finish(scheduled, StepStatus.SKIPPED, f"skipped: {reason}", now)
    return Outcome("skipped", reason)


def _defer(scheduled: ScheduledStep, until: datetime, reason: str, now: datetime, original: datetime) -> Outcome:
    if _stale(original, until):
        return _skip(scheduled, f"stale: {reason} until {until:%Y-%m-%d %H:%M}", now, channel_for(scheduled.step))
    scheduled.due_at = until
    scheduled.deferrals += 1
    scheduled.result = f"deferred: {reason} until {until.isoformat()}"[:300]
    scheduled.save(update_fields=["due_at", "deferrals", "result"])
    return Outcome("deferred", reason)


def channel_for(step: FlowStep) -> str:
    return Channel.EMAIL if step.action == StepAction.SEND_EMAIL else Channel.SMS


def _stale(original: datetime, moment: datetime) -> bool:
    """A message sent more than ``STALE_AFTER`` after it was first due is no longer timely."""
    return moment - original > STALE_AFTER


@dataclass(frozen=True)
class Decision:
    """What the engine would do with a step for a customer at a moment, short of sending."""

    action: str  # "send", "skip", "defer"; the preview adds "exit" (the enrolment would end)
    reason: str = ""
    until: datetime | None = None


def _deferral(until: datetime, reason: str, original: datetime) -> Decision:
    if _stale(original, until):
        return Decision("skip", f"stale: {reason} until {until:%Y-%m-%d %H:%M}")
    return Decision("defer", reason, until)


def decide(*, step: FlowStep, customer: Customer, now: datetime, original_due: datetime) -> Decision:
    """Address, then for marketing: consent, the duplicate window, staleness, frequency caps and
    quiet hours.  Reads only: the scheduler and the merchant's preview ask the same question."""
    channel = channel_for(step)
    if channel == Channel.EMAIL and not customer.email:
        return Decision("skip", "no email address")
    if channel == Channel.SMS and not customer.phone:
        return Decision("skip", "no phone number")
    if _stale(original_due, now):  # also an order's details: a week late they are no use (a paused flow)
        return Decision("skip", f"stale: due since {original_due:%Y-%m-%d %H:%M}, more than "
                                f"{STALE_AFTER.days} days ago")
    if not step.is_marketing:
        return Decision("send")
    if not _consented(customer, channel):
        return Decision("skip", f"no marketing consent for {channel}")
    duplicate = step.template not in KEYED_TEMPLATES and Message.objects.filter(
        customer=customer, template=step.template, status=MessageStatus.SENT, at__gt=now - DUPLICATE_WINDOW).exists()
    if duplicate:
        return Decision("skip", f"{step.template} was sent within {DUPLICATE_WINDOW.days} days")
    cap = _cap_until(customer, channel, now)
    if cap is not None:
        return _deferral(cap, "frequency cap", original_due)
    quiet = _quiet_until(customer, now)
    if quiet is not None:
        return _deferral(quiet, "quiet hours", original_due)
    return Decision("send")


def _execute(scheduled: ScheduledStep, now: datetime) -> Outcome:
    step: FlowStep = scheduled.step
    enrolment = scheduled.enrolment
    customer = enrolment.customer
    channel = channel_for(step)
    exit_reason = _exit_reason(scheduled)
    if exit_reason:
        ScheduledStep.objects.filter(enrolment=enrolment, status=StepStatus.PENDING).exclude(pk=scheduled.pk).update(
            status=StepStatus.SKIPPED, result=f"exited: {exit_reason}", executed_at=now)
        Enrolment.objects.filter(pk=enrolment.pk).update(status=EnrolmentStatus.EXITED)
        _finish(scheduled, StepStatus.SKIPPED, f"exited: {exit_reason}", now)
        return Outcome("exited", exit_reason)
    original = _original_due(scheduled)
    decision = decide(step=step, customer=customer, now=now, original_due=original)
    if decision.action == "skip":
        return _skip(scheduled, decision.reason, now, channel)
    if decision.action == "defer" and decision.until is not None:
        return _defer(scheduled, decision.until, decision.reason, now, original)
    try:
        sent = (email if channel == Channel.EMAIL else sms).send(scheduled=scheduled, now=now)
    except email.NothingToSend as nothing:  # e.g. an upsell with no complementary product
        return _skip(scheduled, nothing.reason, now, channel)
    except Exception as error:  # the platform (discount code) or the mail provider is away: try again later
        logger.warning("step %s could not be sent: %s", scheduled.pk, error)
        return _defer(scheduled, now + RETRY_AFTER, f"sending failed ({type(error).__name__})", now,
                      _original_due(scheduled))
    _finish(scheduled, StepStatus.DONE, f"sent {sent.template}", now)
    return Outcome("sent")


def _original_due(scheduled: ScheduledStep) -> datetime:
    """When the step was first due (before any deferral), from the steps of its own version."""
    step = scheduled.step
    delays = FlowStep.objects.filter(flow_id=step.flow_id, version=step.version, position__lte=step.position)
    return scheduled.enrolment.enrolled_at + timedelta(minutes=sum(delays.values_list("delay_minutes", flat=True)))


# --- daily scans: one query picks who is due, then enrolment in bulk -----------------------------

ENROL_BATCH = 2000
# The scans read their candidates in one plain fetch, not ``.iterator()``: on PostgreSQL that is
# a server-side cursor, planned for its first rows, and the scans' aggregates ran 5-6x slower so
# (bench/campaign_scans.py at 1,000,000 customers).  The largest list is one id per customer.


@dataclass(frozen=True)
class Candidate:
    """Someone a scan found due: who, the key that enrols them once, and what the message may mention."""

    customer_id: int
    trigger_key: str
    context: dict


def enrol_many(*, flow: Flow, candidates: Iterable[Candidate], at: datetime, batch_size: int | None = None) -> int:
    """``enrol`` for many customers, ``batch_size`` (default ``ENROL_BATCH``) per transaction: a
    trigger key enrols once (the unique (shop, flow, trigger_key) decides, also against a
    concurrent ``enrol``), and only the enrolments created here get the steps of the flow's
    current version scheduled.  Returns how many were created.  A paused flow enrols nobody."""
    if not flow.is_enabled:
        return 0
    steps = steps_for_new_enrolment(flow)
    iterator = iter(candidates)
    created = 0
    while chunk := list(itertools.islice(iterator, batch_size or ENROL_BATCH)):
        created += _enrol_chunk(flow, chunk, steps, at)
    return created


def _enrol_chunk(flow: Flow, chunk: list[Candidate], steps: list[FlowStep], at: datetime) -> int:
    wanted: dict[str, Candidate] = {}
    for candidate in chunk:
        wanted.setdefault(candidate.trigger_key, candidate)
    with transaction.atomic():
        created = _insert_new([
            Enrolment(shop_id=flow.shop_id, flow=flow, customer_id=candidate.customer_id, trigger_key=key,
                      context=candidate.context, enrolled_at=at, flow_version=flow.version)
            for key, candidate in wanted.items()
        ])
        due, schedule = at, []
        for step in steps:
            due += timedelta(minutes=step.delay_minutes)
            schedule.append((step, due))
        ScheduledStep.objects.bulk_create([
            ScheduledStep(shop_id=flow.shop_id, enrolment_id=pk, step=step, due_at=step_due)
            for pk in created for step, step_due in schedule
        ], ignore_conflicts=True)
    return len(created)


def _insert_new(enrolments: list[Enrolment]) -> list[int]:
    """``INSERT ... ON CONFLICT (shop, flow, trigger_key) DO NOTHING RETURNING id``: the ids of the
    rows written here; keys enrolled already (an earlier run, a concurrent ``enrol``) are left
    alone.  (``bulk_create(ignore_conflicts=True)`` returns no ids, and reading the new rows back
    by key had PostgreSQL read all of the flow's enrolments for every batch: quadratic over a
    large scan such as a holiday greeting to every customer; see bench/campaign_scans.py.)"""
    meta = Enrolment._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    row = f"({', '.join(['%s'] * len(fields))})"
    params = [field.get_db_prep_save(field.pre_save(enrolment, True), connection)
              for enrolment in enrolments for field in fields]
    sql = (f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(str(field.column)) for field in fields)}) "
           f"VALUES {', '.join([row] * len(enrolments))} "
           f"ON CONFLICT ({quote('shop_id')}, {quote('flow_id')}, {quote('trigger_key')}) DO NOTHING "
           f"RETURNING {quote(str(meta.pk.column))}")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [pk for (pk,) in cursor.fetchall()]


def winback_scan(*, flow: Flow, now: datetime | None = None) -> int:
    """Daily: enrol customers whose last order is more than ``inactive_days`` ago (once per
    last order, so a customer who comes back and lapses again is welcomed back again)."""
    now = now or timezone.now()
    days = int(flow.settings.get("inactive_days", 180))
    lapsed = (Order.objects.filter(shop_id=flow.shop_id, cancelled_at__isnull=True, customer__isnull=False,
                                   financial_status__in=PAID_STATUSES, customer__is_deleted=False,
                                   customer__redacted_at__isnull=True)
              .values("customer_id").annotate(last=Max("processed_at"))
              .filter(last__lte=now - timedelta(days=days), last__gt=now - timedelta(days=days + 30))
              .values_list("customer_id", "last"))
    return enrol_many(flow=flow, at=now, candidates=(
        Candidate(customer_id, f"winback:{customer_id}:{last.date().isoformat()}", {"last_order_at": last.isoformat()})
        for customer_id, last in lapsed
    ))


def _on_the_day(field: str, day: date) -> Q:
    """``field``'s month and day are ``day``'s; 29 February falls on 1 March in other years (as
    loyalty's birthday points do)."""
    same_day = Q(**{f"{field}__month": day.month, f"{field}__day": day.day})
    if (day.month, day.day) == (3, 1) and not isleap(day.year):
        same_day |= Q(**{f"{field}__month": 2, f"{field}__day": 29})
    return same_day


def dates_scan(*, flow: Flow, now: datetime | None = None) -> int:
    """Daily: birthdays, or first-order anniversaries, falling today in the shop's zone."""
    now = now or timezone.now()
    zone = ZoneInfo(flow.shop.timezone or "UTC")
    today = now.astimezone(zone).date()
    customers = Customer.objects.filter(shop_id=flow.shop_id, is_deleted=False, redacted_at__isnull=True)
    if flow.key == "birthday":
        due = customers.filter(_on_the_day("birthday", today))
    elif flow.key == "anniversary":
        due = customers.filter(_on_the_day("first_order_at", today), first_order_at__year__lt=today.year)
    else:
        return 0
    with timezone.override(zone):  # the first order's month and day on the shop's calendar, not UTC's
        keys = list(due.values_list("pk", flat=True))
    return enrol_many(flow=flow, at=now, candidates=(Candidate(pk, f"{flow.key}:{pk}:{today.year}", {}) for pk in keys))


DEFAULT_MAX_CYCLE_DAYS = 120


def repurchase_medians(*, shop_id: int, min_repurchases: int) -> dict[int, int]:
    """Per product: the median days between a customer's consecutive purchases of it, from the
    shop's own history (only products with at least ``min_repurchases`` such intervals, and
    only intervals of at least a day).  One query: each purchase next to the previous one."""
    previous = Window(Lag("order__processed_at"), partition_by=[F("product_id"), F("order__customer_id")],
                      order_by=F("order__processed_at").asc())
    gaps = (OrderLine.objects.filter(shop_id=shop_id, product__isnull=False, order__customer__isnull=False,
                                     order__cancelled_at__isnull=True)
            .annotate(gap=ExpressionWrapper(F("order__processed_at") - previous, output_field=DurationField()))
            .filter(gap__gte=timedelta(days=1))
            .values_list("product_id", "gap"))
    intervals: dict[int, list[float]] = {}
    for product_id, gap in gaps:
        intervals.setdefault(product_id, []).append(gap.total_seconds() / 86400)
    return {pid: round(statistics.median(values)) for pid, values in intervals.items()
            if len(values) >= min_repurchases}


def replenishment_scan(*, flow: Flow, now: datetime | None = None) -> int:
    """Daily: remind customers whose last purchase of a consumable is one use cycle old.  One
    query for all products: lines older than a product's window cannot be a last purchase in it."""
    now = now or timezone.now()
    learned = repurchase_medians(shop_id=flow.shop_id, min_repurchases=int(flow.settings.get("min_repurchases", 5)))
    # A learned cycle longer than ``max_cycle_days`` is a durable good bought again, not a
    # consumable running out; a cycle the merchant set always counts.
    longest = int(flow.settings.get("max_cycle_days", DEFAULT_MAX_CYCLE_DAYS))
    cycles = {pid: days for pid, days in learned.items() if days <= longest}
    set_by_merchant = {str(k): int(v) for k, v in (flow.settings.get("cycles") or {}).items()}
    titles = {}
    products = Product.objects.filter(shop_id=flow.shop_id).values_list("pk", "platform_id", "title")
    for pk, platform_id, title in products:
        titles[pk] = title or ""
        if platform_id in set_by_merchant:
            cycles[pk] = set_by_merchant[platform_id]
    by_cycle: dict[int, list[int]] = {}
    for product_id, days in cycles.items():
        by_cycle.setdefault(days, []).append(product_id)
    if not by_cycle:
        return 0
    recent, due = Q(), Q()
    for days, product_ids in by_cycle.items():
        since, until = now - timedelta(days=days + 1), now - timedelta(days=days)
        recent |= Q(product_id__in=product_ids, order__processed_at__gt=since)
        due |= Q(product_id__in=product_ids, last__gt=since, last__lte=until)
    since = now - timedelta(days=max(by_cycle) + 1)  # implied by ``recent``; lets the order date index help
    last_purchases = (OrderLine.objects.filter(recent, shop_id=flow.shop_id, order__customer__isnull=False,
                                               order__cancelled_at__isnull=True, order__processed_at__gt=since,
                                               order__customer__is_deleted=False,
                                               order__customer__redacted_at__isnull=True)
                      .values("product_id", "order__customer_id").annotate(last=Max("order__processed_at"))
                      .filter(due).values_list("order__customer_id", "product_id", "last"))
    return enrol_many(flow=flow, at=now, candidates=(
        Candidate(customer_id, f"replenish:{customer_id}:{product_id}:{last.date().isoformat()}",
                  {"product": titles.get(product_id, "")})
        for customer_id, product_id, last in last_purchases
    ))


def daily_scans(*, now: datetime | None = None) -> int:
    """Every enabled date- or history-triggered flow of every shop; how many were enrolled."""
    flows = Flow.objects.filter(trigger="schedule:daily", is_enabled=True).select_related("shop")
    return sum(daily_scan(flow=flow, now=now) for flow in flows)


def daily_scan(*, flow: Flow, now: datetime | None = None) -> int:
    """The daily enrolment of a date- or history-triggered flow."""
    from campaigns.services.holidays import holiday_scan  # it enrols through this module's enrol_many

    scans = {"winback": winback_scan, "holiday_greetings": holiday_scan, "replenishment": replenishment_scan}
    return scans.get(flow.key, dates_scan)(flow=flow, now=now)
