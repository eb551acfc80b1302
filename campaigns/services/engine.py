"""The flow engine: enrol, schedule, run due steps once, and never harass.

Running a due step, in one transaction with the row locked (``skip_locked``: a second scheduler
run skips it instead of waiting):
1. exit conditions (e.g. win-back: the customer ordered since enrolling) -> the enrolment ends;
2. consent for marketing on the channel, else skipped with the reason;
3. the same template to the same customer within the duplicate window -> skipped (a holiday
   greeting is deduped by its enrolment key: occasion and year);
4. frequency caps and quiet hours (in the customer's zone, the shop's when unknown) -> deferred
   to the next allowed moment, not dropped;
5. send, and record the message (unique per scheduled step: a step never sends twice).
Transactional messages (an order's details) skip 2–4.

Priorities (``message_priority``, from the flow's kind): transactional > date-bound (holiday,
birthday, anniversary, points expiring, early access with a start date) > other marketing.  The
caps count marketing messages per day of the shopper's calendar (``DAILY_CAP``) and per 7 days
(``WEEKLY_CAP``).  A date-bound message goes out on its day even when the caps are full (it
counts towards them); the room of a day is kept for the messages ahead in line (higher priority,
then oldest first), and a message the caps hold is moved to the next day with room, never
dropped.  A message is skipped as late only when its moment has passed (``message_deadline``):
a date-bound one after its day (points expiring: once they have expired), a transactional one
more than ``STALE_AFTER`` after it was due, an ordinary marketing one when the scheduler reached
it more than ``STALE_AFTER`` after it was planned (a paused flow, a stopped scheduler; waiting
for the caps does not count) or when the caps found it no room within ``MARKETING_MAX_WAIT``.
"""

import itertools
import logging
import statistics
from calendar import isleap
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from time import monotonic as time_monotonic
from zoneinfo import ZoneInfo

from django.core.mail import get_connection
from django.db import connection, transaction
from django.db.models import DurationField, Exists, ExpressionWrapper, F, Max, OuterRef, Q, Window
from django.db.models.functions import Lag
from django.utils import timezone

from billing import services as billing_services
from billing.plans import LimitKind
from billing.selectors import limit_period, plan_for
from campaigns.channels.sms import provider as sms_provider
from campaigns.models import (
    Channel,
    Enrolment,
    EnrolmentStatus,
    Flow,
    FlowStep,
    Message,
    MessageStatus,
    Priority,
    Reason,
    ScheduledStep,
    StepAction,
    StepStatus,
)
from campaigns.selectors import emails_sent_count
from campaigns.services import email, sms
from campaigns.services.send_context import History, Planned, SendContext
from commerce.consent import consent_state
from commerce.models import Customer, MarketingConsent, OrderLine, Product
from commerce.selectors import counted_order_q, orders_counted

logger = logging.getLogger(__name__)

QUIET_START = time(21, 0)
QUIET_END = time(9, 0)
DAILY_CAP = 1
WEEKLY_CAP = 3
DUPLICATE_WINDOW = timedelta(days=30)
STALE_AFTER = timedelta(days=7)
# An ordinary marketing message the caps keep waiting longer than this is skipped ("waited too
# long"): at the default caps six flows on one day are all out within two weeks.
MARKETING_MAX_WAIT = timedelta(days=30)
RETRY_AFTER = timedelta(minutes=15)
# Flows whose messages belong to a day (their kind, ``Flow.key``); early access is date-bound
# when its launch has a start date (``starts_at`` in the enrolment's context).
DATE_BOUND_FLOWS = {"holiday_greetings", "birthday", "anniversary", "loyalty_points_expiring"}
DATE_BOUND_WHEN_STARTING = {"vip_early_access"}
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
            ScheduledStep.objects.create(shop_id=flow.shop_id, enrolment=enrolment, step=step, due_at=due,
                                         first_due_at=due,
                                         priority=message_priority(flow=flow, step=step, context=context or {}))
    return enrolment


def message_priority(*, flow: Flow, step: FlowStep, context: dict) -> Priority:
    """The one place a message's priority is derived: from the step (transactional or not) and
    the flow's kind."""
    if not step.is_marketing:
        return Priority.TRANSACTIONAL
    if flow.key in DATE_BOUND_FLOWS or flow.trigger == "loyalty.points_expiring":
        return Priority.DATE_BOUND
    if flow.key in DATE_BOUND_WHEN_STARTING and context.get("starts_at"):
        return Priority.DATE_BOUND
    return Priority.MARKETING


def _parse_moment(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo("UTC"))


def _parse_day(value: object) -> date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def message_deadline(*, priority: int, context: dict, customer: Customer, first_due: datetime) -> datetime:
    """The moment after which the message is of no use (skipped, "its moment has passed").

    Transactional: ``STALE_AFTER`` after it was due.  Date-bound: the end of its day on the
    shopper's clock (the occasion's day, ``holiday_date``, or the launch's ``starts_at``, when
    later than the day it was due); points expiring: when they expire.  Ordinary marketing:
    ``MARKETING_MAX_WAIT`` after it was first due."""
    if priority == Priority.TRANSACTIONAL:
        return first_due + STALE_AFTER
    if priority != Priority.DATE_BOUND:
        return first_due + MARKETING_MAX_WAIT
    expires = _parse_moment(context.get("expires_at"))
    if expires is not None:
        return expires
    zone = _zone(customer)
    day = first_due.astimezone(ZoneInfo(customer.shop.timezone or "UTC")).date()  # the scans' calendar
    occasion = _parse_day(context.get("holiday_date")) or _parse_day(context.get("starts_at"))
    if occasion is not None and occasion > day:
        day = occasion
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)


@dataclass(frozen=True)
class Outcome:
    status: str  # "sent", "skipped", "deferred", "exited"
    reason: str = ""
    code: str = ""  # a ``Reason`` code when deferred, skipped or exited


def run_due(*, now: datetime | None = None, limit: int = 500) -> list[Outcome]:
    """The scheduler's job: run up to ``limit`` due steps, each at most once, in batches (one
    transaction each).  Steps of a paused flow are held (left pending) until the merchant resumes it."""
    now = now or timezone.now()
    outcomes: list[Outcome] = []
    while len(outcomes) < limit:
        batch = _run_batch(now=now, size=limit - len(outcomes))
        if batch is None:
            break
        outcomes += batch
    return outcomes


def _run_batch(*, now: datetime, size: int) -> list[Outcome] | None:
    """Claim up to ``size`` due steps (``SKIP LOCKED``: another scheduler takes others), in the
    order a day's room is given out (due, then priority, then oldest first), one per shopper: a
    shopper's next step sees this one's message (duplicate rule, caps), so it waits for the next
    batch.  Everything the batch reads is read once for all of it (``SendContext``); the messages
    go to the backend over one connection and are recorded together; one commit.  ``None`` when
    nothing was claimed.

    A crash after the backend took the batch's messages and before the commit leaves the steps
    pending: they are sent again, with the same tracking ids (``email.tracking_id_for``), as
    before for the one message in flight; the batch is the window now (``limit``)."""
    with transaction.atomic():
        claimed = list(ScheduledStep.objects.select_for_update(skip_locked=True, of=("self",))
                       .select_related("step__flow", "enrolment__customer__shop")
                       .filter(status=StepStatus.PENDING, due_at__lte=now, step__flow__is_enabled=True)
                       .order_by("due_at", "priority", "first_due_at", "pk")[:size])
        if not claimed:
            return None
        shoppers: set[int] = set()
        rows = []
        for scheduled in claimed:
            if scheduled.enrolment.customer_id not in shoppers:
                shoppers.add(scheduled.enrolment.customer_id)
                rows.append(scheduled)
        batch = _Batch(now=now, context=SendContext(now=now, scheduled=rows))
        for scheduled in rows:
            batch.run(scheduled)
        return batch.finish()


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


def _zone(customer: Customer) -> ZoneInfo:
    """The shopper's zone (from their address), else the shop's, else UTC; a zone name this
    machine does not know is skipped, never fatal to a send."""
    for name in (customer.timezone, customer.shop.timezone):
        if name:
            try:
                return ZoneInfo(name)
            except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError
                continue
    return ZoneInfo("UTC")


def _local(customer: Customer, moment: datetime) -> datetime:
    """``moment`` on the shopper's clock."""
    return moment.astimezone(_zone(customer))


def _quiet_until(customer: Customer, now: datetime) -> datetime | None:
    local = _local(customer, now)
    if QUIET_END <= local.time() < QUIET_START:
        return None
    morning = local.replace(hour=QUIET_END.hour, minute=0, second=0, microsecond=0)
    if local.time() >= QUIET_START:
        morning += timedelta(days=1)
    return morning


CAP_LOOKAHEAD_DAYS = 60


@dataclass(frozen=True)
class Place:
    """Where a message stands in its shopper's line: its priority, when it was first due and its
    row (``pk`` None for the preview: a message not scheduled yet, last in line)."""

    priority: int
    first_due: datetime
    pk: int | None = None


def _is_ahead(planned: Planned, place: Place) -> bool:
    """Is the pending step ahead of ``place`` in its shopper's line: higher priority, or the same
    and first due earlier (then the lower row id; the preview's unscheduled message is last)?
    A step without ``first_due_at`` (scheduled before it was kept) is only ahead by priority."""
    if planned.priority != place.priority:
        return planned.priority < place.priority
    if planned.first_due_at is None:
        return False
    if planned.first_due_at != place.first_due:
        return planned.first_due_at < place.first_due
    return place.pk is None or planned.pk < place.pk


def _cap_slot(customer: Customer, channel: str, now: datetime, place: Place, history: History) -> datetime | None:
    """The first moment from ``now`` on a day with room under the caps (``None``: now has room).

    A day's load is the marketing messages sent on it (the shopper's calendar) plus the pending
    ones planned for it that are ahead of this one in line; the week's load is that over the
    day and the six before it.  A later day starts at the end of quiet hours."""
    zone = _zone(customer)
    today = now.astimezone(zone).date()
    start = datetime.combine(today - timedelta(days=6), time(0), tzinfo=zone)
    end = datetime.combine(today + timedelta(days=CAP_LOOKAHEAD_DAYS), time(0), tzinfo=zone)
    load: Counter[date] = Counter()
    load.update(moment.astimezone(zone).date() for sent_on, moment in history.sent
                if sent_on == channel and moment >= start)
    action = StepAction.SEND_EMAIL if channel == Channel.EMAIL else StepAction.SEND_SMS
    load.update(max(planned.due_at.astimezone(zone).date(), today) for planned in history.planned
                if planned.action == action and planned.due_at < end and _is_ahead(planned, place))
    for offset in range(CAP_LOOKAHEAD_DAYS):
        day = today + timedelta(days=offset)
        week = sum(load[day - timedelta(days=back)] for back in range(7))
        if load[day] < DAILY_CAP and week < WEEKLY_CAP:
            if offset == 0:
                return None
            return datetime.combine(day, QUIET_END, tzinfo=zone)
    return datetime.combine(today + timedelta(days=CAP_LOOKAHEAD_DAYS), QUIET_END, tzinfo=zone)


def _consented(customer: Customer, channel: str) -> bool:
    """The current state the consent ledger keeps on the customer (``commerce.consent``)."""
    return consent_state(customer=customer, channel=channel) == MarketingConsent.SUBSCRIBED


def _exit_reason(scheduled: ScheduledStep, context: SendContext) -> str:
    conditions = scheduled.step.conditions or {}
    enrolment = scheduled.enrolment
    if conditions.get("no_order_since_enrolment") and context.ordered_since(enrolment.customer, enrolment.enrolled_at):
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


def channel_for(step: FlowStep) -> str:
    return Channel.EMAIL if step.action == StepAction.SEND_EMAIL else Channel.SMS


@dataclass(frozen=True)
class Decision:
    """What the engine would do with a step for a customer at a moment, short of sending."""

    action: str  # "send", "skip", "defer"; the preview adds "exit" (the enrolment would end)
    reason: str = ""
    until: datetime | None = None
    code: str = ""  # a ``Reason`` code when deferred or skipped


@dataclass(frozen=True)
class Timing:
    """When a message belongs: its place in line, when it was planned to run (``due``, moved by
    deferrals) and the moment after which it is of no use (``deadline``)."""

    place: Place
    due: datetime
    deadline: datetime
    occasion: str = ""  # the date-bound message's day, for the skip reason


def timing_for(*, flow: Flow, step: FlowStep, customer: Customer, context: dict, first_due: datetime,
               due: datetime | None = None, pk: int | None = None) -> Timing:
    priority = message_priority(flow=flow, step=step, context=context)
    deadline = message_deadline(priority=priority, context=context, customer=customer, first_due=first_due)
    occasion = ""
    if priority == Priority.DATE_BOUND:
        occasion = (f"its moment passed ({context['expires_at'][:10]})" if _parse_moment(context.get("expires_at"))
                    else f"its day was {(deadline - timedelta(seconds=1)).astimezone(deadline.tzinfo):%Y-%m-%d}")
    return Timing(place=Place(priority=priority, first_due=first_due, pk=pk), due=due or first_due,
                  deadline=deadline, occasion=occasion)


def _too_late(timing: Timing, moment: datetime, why: str) -> Decision | None:
    """A skip when ``moment`` is past the message's deadline (``why``: what holds it)."""
    if moment <= timing.deadline:
        return None
    if timing.place.priority == Priority.DATE_BOUND:
        return Decision("skip", f"moment passed: {timing.occasion}" + (f" ({why})" if why else ""),
                        code=Reason.MOMENT_PASSED)
    if timing.place.priority == Priority.TRANSACTIONAL:
        return Decision("skip", f"stale: due since {timing.place.first_due:%Y-%m-%d %H:%M}, more than "
                                f"{STALE_AFTER.days} days ago", code=Reason.STALE)
    return Decision("skip", f"waited too long: {why}, no room within {MARKETING_MAX_WAIT.days} days",
                    code=Reason.WAITED_TOO_LONG)


def _deferral(timing: Timing, until: datetime, reason: str, code: str) -> Decision:
    return _too_late(timing, until, reason) or Decision("defer", reason, until, code)


def decide(*, step: FlowStep, customer: Customer, now: datetime, timing: Timing,
           context: SendContext | None = None) -> Decision:
    """Address, then lateness, then for marketing: consent, the duplicate window, frequency caps
    (date-bound messages on their day pass them) and quiet hours.  Reads only: the scheduler and
    the merchant's preview ask the same question (``context``: the scheduler's batch reads)."""
    channel = channel_for(step)
    if channel == Channel.EMAIL and not customer.email:
        return Decision("skip", "no email address", code=Reason.NO_ADDRESS)
    if channel == Channel.SMS and not customer.phone:
        return Decision("skip", "no phone number", code=Reason.NO_ADDRESS)
    late = _too_late(timing, now, "")
    if late is not None:
        return late
    if timing.place.priority == Priority.MARKETING and now - timing.due > STALE_AFTER:
        # held (a paused flow, a stopped scheduler) rather than waiting for the caps' room
        return Decision("skip", f"stale: due since {timing.due:%Y-%m-%d %H:%M}, more than {STALE_AFTER.days} "
                                f"days ago", code=Reason.STALE)
    if not step.is_marketing:
        return Decision("send")
    if not _consented(customer, channel):
        return Decision("skip", f"no marketing consent for {channel}", code=Reason.NO_CONSENT)
    history = (context or SendContext(now=now)).history(customer)
    duplicate = step.template not in KEYED_TEMPLATES and history.sent_recently(template=step.template,
                                                                               since=now - DUPLICATE_WINDOW)
    if duplicate:
        return Decision("skip", f"{step.template} was sent within {DUPLICATE_WINDOW.days} days", code=Reason.DUPLICATE)
    if timing.place.priority != Priority.DATE_BOUND:
        slot = _cap_slot(customer, channel, now, timing.place, history)
        if slot is not None:
            return _deferral(timing, slot, "frequency cap", Reason.FREQUENCY_CAP)
    quiet = _quiet_until(customer, now)
    if quiet is not None:
        return _deferral(timing, quiet, "quiet hours", Reason.QUIET_HOURS)
    return Decision("send")


def scheduled_timing(scheduled: ScheduledStep) -> Timing:
    enrolment = scheduled.enrolment
    return timing_for(flow=scheduled.step.flow, step=scheduled.step, customer=enrolment.customer,
                      context=dict(enrolment.context or {}),
                      first_due=scheduled.first_due_at or _original_due(scheduled), due=scheduled.due_at,
                      pk=scheduled.pk)


@dataclass
class _Result:
    """A step's final state, or its deferral (``until``), as the batch writes it."""

    scheduled: ScheduledStep
    status: str
    result: str
    code: str = ""
    until: datetime | None = None


class _Batch:
    """One batch of due steps: each is decided, prepared and (if it is to be sent) queued; then
    ``finish`` hands the queued messages to the backend over one connection and writes every
    message, step and enrolment in a few statements."""

    def __init__(self, *, now: datetime, context: SendContext) -> None:
        self.now = now
        self.context = context
        self.outcomes: dict[int, Outcome] = {}  # by step, in the order the steps were run
        self.results: list[_Result] = []
        self.messages: list[Message] = []
        self.emails: list[tuple[ScheduledStep, Timing, email.Outgoing]] = []
        self.texts: list[tuple[ScheduledStep, Timing, sms.Outgoing]] = []
        self.exits: dict[str, list[ScheduledStep]] = {}
        # the plan's monthly email limit per shop: (limit, used) with ``used`` counting this batch's
        self.email_allowance: dict[int, list[int] | None] = {}

    def _outcome(self, scheduled: ScheduledStep, outcome: Outcome) -> None:
        self.outcomes[scheduled.pk] = outcome

    def run(self, scheduled: ScheduledStep) -> None:
        self.outcomes[scheduled.pk] = Outcome("deferred")  # its place in the order; replaced below
        step: FlowStep = scheduled.step
        customer = scheduled.enrolment.customer
        channel = channel_for(step)
        exit_reason = _exit_reason(scheduled, self.context)
        if exit_reason:
            self.exits.setdefault(exit_reason, []).append(scheduled)
            self._final(scheduled, StepStatus.SKIPPED, f"exited: {exit_reason}", Reason.EXITED)
            self._outcome(scheduled, Outcome("exited", exit_reason, Reason.EXITED))
            return
        timing = scheduled_timing(scheduled)
        decision = decide(step=step, customer=customer, now=self.now, timing=timing, context=self.context)
        if decision.action == "skip":
            return self._skip(scheduled, decision.reason, channel, decision.code)
        if decision.action == "defer" and decision.until is not None:
            return self._defer(scheduled, decision)
        limited = self._plan_limit_reason(scheduled, channel)
        if limited:
            return self._skip(scheduled, limited, channel, Reason.PLAN_LIMIT)
        try:
            if channel == Channel.EMAIL:
                self.emails.append((scheduled, timing, email.prepare(scheduled=scheduled, now=self.now,
                                                                     context=self.context)))
            else:
                self.texts.append((scheduled, timing, sms.prepare(scheduled=scheduled, now=self.now,
                                                                  context=self.context)))
        except email.NothingToSend as nothing:  # e.g. an upsell with no complementary product
            self._give_back(scheduled, channel)
            self._skip(scheduled, nothing.reason, channel, Reason.NOTHING_TO_SEND)
        except Exception as error:  # the platform (discount code) is away: try again later
            self._failed(scheduled, timing, channel, error)

    def _plan_limit_reason(self, scheduled: ScheduledStep, channel: str) -> str:
        """The shop's plan caps flow emails per month (Free): past it the message is skipped with
        this reason, recorded for the dashboard's notice; nothing else changes (the flow goes on).
        The plan and the month's count are read once per shop and batch."""
        if channel != Channel.EMAIL:
            return ""
        shop = scheduled.enrolment.customer.shop
        if shop.pk not in self.email_allowance:
            limit = plan_for(shop=shop).limit(LimitKind.EMAILS)
            self.email_allowance[shop.pk] = None if limit is None else [
                limit, emails_sent_count(shop=shop, since=limit_period(shop=shop, now=self.now).start)]
        allowance = self.email_allowance[shop.pk]
        if allowance is None:
            return ""
        limit, used = allowance
        if used < limit:
            allowance[1] += 1  # this message counts against the month (a failed send gives it back)
            return ""
        # past the limit: billing words the reason and records the hold for the dashboard
        return billing_services.limit_hold(shop=shop, kind=LimitKind.EMAILS, key=str(scheduled.pk), now=self.now,
                                           used_since=lambda start: used)

    def _give_back(self, scheduled: ScheduledStep, channel: str) -> None:
        """A message counted against the plan's limit that was not sent after all."""
        allowance = self.email_allowance.get(scheduled.enrolment.customer.shop_id)
        if channel == Channel.EMAIL and allowance is not None:
            allowance[1] -= 1

    def _final(self, scheduled: ScheduledStep, status: str, result: str, code: str = "") -> None:
        self.results.append(_Result(scheduled, status, result[:300], code))

    def _skip(self, scheduled: ScheduledStep, reason: str, channel: str, code: str) -> None:
        step = scheduled.step
        customer = scheduled.enrolment.customer
        self.messages.append(Message(shop_id=scheduled.shop_id, customer=customer, flow=step.flow,
                                     scheduled_step=scheduled, channel=channel, template=step.template,
                                     language=self.context.language(customer), is_marketing=step.is_marketing,
                                     status=MessageStatus.SKIPPED, reason=reason, at=self.now))
        self._final(scheduled, StepStatus.SKIPPED, f"skipped: {reason}", code)
        self._outcome(scheduled, Outcome("skipped", reason, code))

    def _defer(self, scheduled: ScheduledStep, decision: Decision) -> None:
        assert decision.until is not None
        self.results.append(_Result(scheduled, StepStatus.PENDING,
                                    f"deferred: {decision.reason} until {decision.until.isoformat()}"[:300],
                                    decision.code, decision.until))
        self._outcome(scheduled, Outcome("deferred", decision.reason, decision.code))

    def _failed(self, scheduled: ScheduledStep, timing: Timing, channel: str, error: Exception) -> None:
        """The provider or the platform is away: the step is tried again later (or skipped when
        that would be too late)."""
        logger.warning("step %s could not be sent: %s", scheduled.pk, error)
        retry = _deferral(timing, self.now + RETRY_AFTER, f"sending failed ({type(error).__name__})",
                          Reason.SENDING_FAILED)
        self._give_back(scheduled, channel)
        if retry.action == "skip":
            self._skip(scheduled, retry.reason, channel, retry.code)
        else:
            self._defer(scheduled, retry)

    def _sent(self, scheduled: ScheduledStep, message: Message) -> None:
        self.messages.append(message)
        self._final(scheduled, StepStatus.DONE, f"sent {scheduled.step.template}")
        self._outcome(scheduled, Outcome("sent"))

    def _send(self) -> None:
        """Every queued email over one backend connection (one file, one SMTP session, one HTTP
        session for django-anymail), each accepted or failed on its own; then the texts."""
        if self.emails:
            with get_connection() as backend:
                for scheduled, timing, outgoing in self.emails:
                    try:
                        backend.send_messages([outgoing.mail])
                    except Exception as error:  # the mail provider is away: try again later
                        self._failed(scheduled, timing, Channel.EMAIL, error)
                        continue
                    outgoing.message.provider_message_id = email.provider_message_id(outgoing.mail)
                    self._sent(scheduled, outgoing.message)
        if self.texts:
            sender = sms_provider()
            for scheduled, timing, text in self.texts:
                try:
                    sms.send_text(outgoing=text, sender=sender)
                except Exception as error:
                    self._failed(scheduled, timing, Channel.SMS, error)
                    continue
                self._sent(scheduled, text.message)

    def finish(self) -> list[Outcome]:
        """Send, then write: the messages (one insert), the steps by outcome (one update per
        distinct result), the exits, and the enrolments left with nothing pending."""
        self._send()
        Message.objects.bulk_create(self.messages)
        finals: dict[tuple[str, str, str], list[int]] = {}
        deferrals: dict[tuple[datetime, str, str], list[int]] = {}
        for result in self.results:
            if result.until is not None:
                deferrals.setdefault((result.until, result.result, result.code), []).append(result.scheduled.pk)
            else:
                finals.setdefault((result.status, result.result, result.code), []).append(result.scheduled.pk)
        for (until, text, code), pks in deferrals.items():
            ScheduledStep.objects.filter(pk__in=pks).update(due_at=until, deferrals=F("deferrals") + 1,
                                                            reason_code=code, result=text)
        for reason, exited in self.exits.items():
            enrolments = [scheduled.enrolment_id for scheduled in exited]
            (ScheduledStep.objects.filter(enrolment_id__in=enrolments, status=StepStatus.PENDING)
             .exclude(pk__in=[scheduled.pk for scheduled in exited])
             .update(status=StepStatus.SKIPPED, result=f"exited: {reason}"[:300], reason_code=Reason.EXITED,
                     executed_at=self.now))
            Enrolment.objects.filter(pk__in=enrolments).update(status=EnrolmentStatus.EXITED)
        for (status, text, code), pks in finals.items():
            ScheduledStep.objects.filter(pk__in=pks).update(status=status, result=text, reason_code=code,
                                                            executed_at=self.now)
        finished = [result.scheduled.enrolment_id for result in self.results if result.until is None]
        if finished:
            pending = ScheduledStep.objects.filter(enrolment_id=OuterRef("pk"), status=StepStatus.PENDING)
            (Enrolment.objects.filter(pk__in=finished, status=EnrolmentStatus.ACTIVE).exclude(Exists(pending))
             .update(status=EnrolmentStatus.COMPLETED))
        return list(self.outcomes.values())


def _original_due(scheduled: ScheduledStep) -> datetime:
    """When the step was first due (before any deferral), from the steps of its own version
    (rows scheduled before ``first_due_at`` was kept)."""
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
        contexts = {key: candidate.context for key, candidate in wanted.items()}
        ScheduledStep.objects.bulk_create([
            ScheduledStep(shop_id=flow.shop_id, enrolment_id=pk, step=step, due_at=step_due, first_due_at=step_due,
                          priority=message_priority(flow=flow, step=step, context=contexts.get(key) or {}))
            for pk, key in created for step, step_due in schedule
        ], ignore_conflicts=True)
    return len(created)


def _insert_new(enrolments: list[Enrolment]) -> list[tuple[int, str]]:
    """``INSERT ... ON CONFLICT (shop, flow, trigger_key) DO NOTHING RETURNING id, trigger_key``:
    the ids (and keys) of the rows written here; keys enrolled already (an earlier run, a concurrent ``enrol``) are left
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
           f"RETURNING {quote(str(meta.pk.column))}, {quote('trigger_key')}")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(pk, key) for pk, key in cursor.fetchall()]


def winback_scan(*, flow: Flow, now: datetime | None = None) -> int:
    """Daily: enrol customers whose last order is more than ``inactive_days`` ago (once per
    last order, so a customer who comes back and lapses again is welcomed back again)."""
    now = now or timezone.now()
    days = int(flow.settings.get("inactive_days", 180))
    lapsed = (orders_counted(shop=flow.shop_id).filter(customer__isnull=False, customer__is_deleted=False,
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
    gaps = (OrderLine.objects.filter(counted_order_q(prefix="order__"), shop_id=shop_id, product__isnull=False,
                                     order__customer__isnull=False)
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
    last_purchases = (OrderLine.objects.filter(recent, counted_order_q(prefix="order__"), shop_id=flow.shop_id,
                                               order__customer__isnull=False, order__processed_at__gt=since,
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
