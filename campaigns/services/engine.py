"""The flow engine: enrol, schedule, run due steps once, and never harass.

Running a due step, in one transaction with the row locked (``skip_locked``: a second scheduler
run skips it instead of waiting):
1. exit conditions (e.g. win-back: the customer ordered since enrolling) -> the enrolment ends;
2. consent for marketing on the channel, else skipped with the reason;
3. the same template to the same customer within the duplicate window -> skipped;
4. frequency caps and quiet hours (in the customer's zone, the shop's when unknown) -> deferred
   to the next allowed moment, not dropped; if that is too late the message is stale: skipped;
5. send, and record the message (unique per scheduled step: a step never sends twice).
Transactional messages (an order's details) skip 2–4.
"""

import logging
import statistics
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Max
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


def enrol(*, flow: Flow, customer: Customer, trigger_key: str, at: datetime, context: dict | None = None
          ) -> Enrolment | None:
    """Enrol once per trigger (the key is unique per flow) and schedule every step."""
    with transaction.atomic():
        enrolment, created = Enrolment.objects.get_or_create(
            shop_id=flow.shop_id, flow=flow, trigger_key=trigger_key,
            defaults={"customer": customer, "context": context or {}, "enrolled_at": at},
        )
        if not created:
            return None
        due = at
        for step in flow.steps.all():
            due = due + timedelta(minutes=step.delay_minutes)
            ScheduledStep.objects.create(shop_id=flow.shop_id, enrolment=enrolment, step=step, due_at=due)
    return enrolment


@dataclass(frozen=True)
class Outcome:
    status: str  # "sent", "skipped", "deferred", "exited"
    reason: str = ""


def run_due(*, now: datetime | None = None, limit: int = 500) -> list[Outcome]:
    """The scheduler's job: run every step that is due, each at most once."""
    now = now or timezone.now()
    due_ids = list(ScheduledStep.objects.filter(status=StepStatus.PENDING, due_at__lte=now)
                   .order_by("due_at").values_list("pk", flat=True)[:limit])
    outcomes = []
    for pk in due_ids:
        with transaction.atomic():
            scheduled = (ScheduledStep.objects.select_for_update(skip_locked=True, of=("self",))
                         .select_related("step__flow", "enrolment__customer__shop")
                         .filter(pk=pk, status=StepStatus.PENDING, due_at__lte=now).first())
            if scheduled is None:
                continue  # another run has it, or it is done
            outcomes.append(_execute(scheduled, now))
    return outcomes


def _local(customer: Customer, moment: datetime) -> datetime:
    return moment.astimezone(ZoneInfo(customer.shop.timezone or "UTC"))


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
    if enrolment.customer.is_deleted or enrolment.customer.redacted_at:
        return "the customer is gone"
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
    if until - original > STALE_AFTER:
        channel = Channel.EMAIL if scheduled.step.action == "send_email" else Channel.SMS
        return _skip(scheduled, f"stale: {reason} until {until:%Y-%m-%d %H:%M}", now, channel)
    scheduled.due_at = until
    scheduled.deferrals += 1
    scheduled.result = f"deferred: {reason} until {until.isoformat()}"[:300]
    scheduled.save(update_fields=["due_at", "deferrals", "result"])
    return Outcome("deferred", reason)


def _execute(scheduled: ScheduledStep, now: datetime) -> Outcome:
    step: FlowStep = scheduled.step
    enrolment = scheduled.enrolment
    customer = enrolment.customer
    channel = Channel.EMAIL if step.action == "send_email" else Channel.SMS
    exit_reason = _exit_reason(scheduled)
    if exit_reason:
        ScheduledStep.objects.filter(enrolment=enrolment, status=StepStatus.PENDING).exclude(pk=scheduled.pk).update(
            status=StepStatus.SKIPPED, result=f"exited: {exit_reason}", executed_at=now)
        Enrolment.objects.filter(pk=enrolment.pk).update(status=EnrolmentStatus.EXITED)
        _finish(scheduled, StepStatus.SKIPPED, f"exited: {exit_reason}", now)
        return Outcome("exited", exit_reason)
    if channel == Channel.EMAIL and not customer.email:
        return _skip(scheduled, "no email address", now, channel)
    if channel == Channel.SMS and not customer.phone:
        return _skip(scheduled, "no phone number", now, channel)
    if step.is_marketing:
        if not _consented(customer, channel):
            return _skip(scheduled, f"no marketing consent for {channel}", now, channel)
        duplicate = Message.objects.filter(customer=customer, template=step.template, status=MessageStatus.SENT,
                                           at__gt=now - DUPLICATE_WINDOW).exists()
        if duplicate:
            return _skip(scheduled, f"{step.template} was sent within {DUPLICATE_WINDOW.days} days", now, channel)
        original = _original_due(scheduled)
        cap = _cap_until(customer, channel, now)
        if cap is not None:
            return _defer(scheduled, cap, "frequency cap", now, original)
        quiet = _quiet_until(customer, now)
        if quiet is not None:
            return _defer(scheduled, quiet, "quiet hours", now, original)
    try:
        sent = (email if channel == Channel.EMAIL else sms).send(scheduled=scheduled, now=now)
    except Exception as error:  # the platform (discount code) or the mail provider is away: try again later
        logger.warning("step %s could not be sent: %s", scheduled.pk, error)
        return _defer(scheduled, now + RETRY_AFTER, f"sending failed ({type(error).__name__})", now,
                      _original_due(scheduled))
    _finish(scheduled, StepStatus.DONE, f"sent {sent.template}", now)
    return Outcome("sent")


def _original_due(scheduled: ScheduledStep) -> datetime:
    """When the step was first due (before any deferral)."""
    enrolled = scheduled.enrolment.enrolled_at
    delay = sum(step.delay_minutes for step in scheduled.step.flow.steps.filter(position__lte=scheduled.step.position))
    return enrolled + timedelta(minutes=delay)


def winback_scan(*, flow: Flow, now: datetime | None = None) -> int:
    """Daily: enrol customers whose last order is more than ``inactive_days`` ago (once per
    last order, so a customer who comes back and lapses again is welcomed back again)."""
    now = now or timezone.now()
    days = int(flow.settings.get("inactive_days", 180))
    lapsed = (Order.objects.filter(shop_id=flow.shop_id, cancelled_at__isnull=True, customer__isnull=False,
                                   financial_status__in=PAID_STATUSES)
              .values("customer_id").annotate(last=Max("processed_at"))
              .filter(last__lte=now - timedelta(days=days), last__gt=now - timedelta(days=days + 30)))
    enrolled = 0
    customers = {c.pk: c for c in Customer.objects.filter(pk__in=[row["customer_id"] for row in lapsed])}
    for row in lapsed:
        customer = customers.get(row["customer_id"])
        if customer is None:
            continue
        key = f"winback:{customer.pk}:{row['last'].date().isoformat()}"
        context = {"last_order_at": row["last"].isoformat()}
        if enrol(flow=flow, customer=customer, trigger_key=key, at=now, context=context):
            enrolled += 1
    return enrolled


def dates_scan(*, flow: Flow, now: datetime | None = None) -> int:
    """Daily: birthdays, or first-order anniversaries, falling today in the shop's zone."""
    now = now or timezone.now()
    today = now.astimezone(ZoneInfo(flow.shop.timezone or "UTC")).date()
    customers = Customer.objects.filter(shop_id=flow.shop_id, is_deleted=False, redacted_at__isnull=True)
    if flow.key == "birthday":
        due = customers.filter(birthday__month=today.month, birthday__day=today.day)
    elif flow.key == "anniversary":
        due = customers.filter(first_order_at__month=today.month, first_order_at__day=today.day,
                               first_order_at__year__lt=today.year)
    else:
        return 0
    return sum(1 for customer in due
               if enrol(flow=flow, customer=customer, trigger_key=f"{flow.key}:{customer.pk}:{today.year}", at=now))


def holidays_today(*, flow: Flow, day: date) -> list[str]:
    """Holiday names falling on ``day`` in the flow's calendars and the merchant's own dates."""
    import holidays

    names: list[str] = []
    for country in flow.settings.get("calendars", []):
        try:
            calendar = holidays.country_holidays(country, years=day.year, language="en_US")
        except (NotImplementedError, KeyError):
            continue
        names += [name.strip() for name in str(calendar.get(day, "")).split(";") if name.strip()]
    names += [str(item.get("name", "")) for item in flow.settings.get("custom", [])
              if item.get("date") == day.strftime("%m-%d") and item.get("name")]
    return list(dict.fromkeys(names))


def holiday_scan(*, flow: Flow, now: datetime | None = None) -> int:
    """Daily: on a holiday of the shop's calendar, greet every customer who may receive marketing
    (consent, caps and quiet hours still apply when the step runs)."""
    now = now or timezone.now()
    day = now.astimezone(ZoneInfo(flow.shop.timezone or "UTC")).date()
    names = holidays_today(flow=flow, day=day)
    if not names:
        return 0
    holiday = names[0]
    country = next((c for c in flow.settings.get("calendars", []) if holiday_name(c, day, "en_US")), "")
    customers = Customer.objects.filter(shop_id=flow.shop_id, is_deleted=False, redacted_at__isnull=True,
                                        email_consent="subscribed").exclude(email="")
    return sum(1 for customer in customers.iterator()
               if enrol(flow=flow, customer=customer, trigger_key=f"holiday:{holiday}:{day.year}:{customer.pk}",
                        at=now, context={"holiday": holiday, "holiday_date": day.isoformat(),
                                         "holiday_country": country}))


def holiday_name(country: str, day: date, language: str) -> str:
    """The holiday's name in a language the library has for that calendar ("" when none)."""
    import holidays

    try:
        calendar = holidays.country_holidays(country, years=day.year, language=language)
    except (NotImplementedError, KeyError):
        return ""
    return str(calendar.get(day, "")).split(";")[0].strip()


def repurchase_medians(*, shop_id: int, min_repurchases: int) -> dict[int, int]:
    """Per product: the median days between a customer's consecutive purchases of it, from the
    shop's own history (only products with at least ``min_repurchases`` such intervals)."""
    purchases = (OrderLine.objects.filter(shop_id=shop_id, product__isnull=False, order__customer__isnull=False,
                                          order__cancelled_at__isnull=True)
                 .values_list("product_id", "order__customer_id", "order__processed_at")
                 .order_by("product_id", "order__customer_id", "order__processed_at"))
    intervals: dict[int, list[float]] = {}
    previous: tuple[int, int, datetime | None] | None = None
    for product_id, customer_id, at in purchases.iterator():
        if previous and previous[0] == product_id and previous[1] == customer_id and at and previous[2]:
            days = (at - previous[2]).total_seconds() / 86400
            if days >= 1:
                intervals.setdefault(product_id, []).append(days)
        previous = (product_id, customer_id, at)
    return {pid: round(statistics.median(values)) for pid, values in intervals.items()
            if len(values) >= min_repurchases}


def replenishment_scan(*, flow: Flow, now: datetime | None = None) -> int:
    """Daily: remind customers whose last purchase of a consumable is one use cycle old."""
    now = now or timezone.now()
    cycles = repurchase_medians(shop_id=flow.shop_id, min_repurchases=int(flow.settings.get("min_repurchases", 5)))
    set_by_merchant = {str(k): int(v) for k, v in (flow.settings.get("cycles") or {}).items()}
    products = dict(Product.objects.filter(shop_id=flow.shop_id).values_list("pk", "platform_id"))
    for pk, platform_id in products.items():
        if platform_id in set_by_merchant:
            cycles[pk] = set_by_merchant[platform_id]
    enrolled = 0
    for product_id, days in cycles.items():
        due_from, due_to = now - timedelta(days=days + 1), now - timedelta(days=days)
        last = (OrderLine.objects.filter(shop_id=flow.shop_id, product_id=product_id, order__customer__isnull=False,
                                         order__cancelled_at__isnull=True)
                .values("order__customer_id").annotate(last=Max("order__processed_at"))
                .filter(last__gt=due_from, last__lte=due_to))
        for row in last:
            customer = Customer.objects.filter(pk=row["order__customer_id"]).first()
            title = Product.objects.filter(pk=product_id).values_list("title", flat=True).first() or ""
            key = f"replenish:{customer.pk if customer else 0}:{product_id}:{row['last'].date().isoformat()}"
            if customer and enrol(flow=flow, customer=customer, trigger_key=key, at=now,
                                  context={"product": title}):
                enrolled += 1
    return enrolled


def daily_scan(*, flow: Flow, now: datetime | None = None) -> int:
    """The daily enrolment of a date- or history-triggered flow."""
    scans = {"winback": winback_scan, "holiday_greetings": holiday_scan, "replenishment": replenishment_scan}
    return scans.get(flow.key, dates_scan)(flow=flow, now=now)
