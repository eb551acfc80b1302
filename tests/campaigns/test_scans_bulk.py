"""The daily scans pick who is due in one query and enrol them in bulk: exactly the right
customers, once, with the trigger keys, contexts and scheduled steps that ``enrol`` gives.
The expected customers are worked out here, in Python, from the rows the test wrote."""

import random
import statistics
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from campaigns.models import Enrolment, Flow, FlowStep, ScheduledStep
from campaigns.services import engine, holidays
from campaigns.services.flows import flow_enable
from commerce.models import Customer, DomainEvent, Order, OrderLine, Product
from loyalty.models import Account, EntryKind, LedgerEntry, Program
from loyalty.services.expiry import account_expire, accounts_to_review, shop_expire
from loyalty.services.program import program_enable
from tests.factories import ShopFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)  # 12:00 in Jerusalem


@pytest.fixture
def shop():
    return ShopFactory(timezone="Asia/Jerusalem", installed_at=NOW - timedelta(days=1200))


@pytest.fixture
def small_batches(monkeypatch):
    """Several enrolment batches even on a small store."""
    monkeypatch.setattr(engine, "ENROL_BATCH", 3)


def customer(shop, n: int, **fields) -> Customer:
    fields.setdefault("email", f"c{n}@example.com")
    return Customer.objects.create(shop=shop, platform_id=f"c{n}", **fields)


def purchase(shop, who: Customer | None, at: datetime | None, *, products=(), status="paid", cancelled=False,
             email="") -> Order:
    number = Order.objects.count() + 1
    order = Order.objects.create(shop=shop, platform_id=f"o{number}", customer=who, currency="USD",
                                 email=email or (who.email if who else ""), financial_status=status,
                                 processed_at=at, cancelled_at=at if cancelled else None, total=Decimal("20"))
    for k, product in enumerate(products):
        OrderLine.objects.create(shop=shop, order=order, platform_id=f"o{number}-{k}", product=product,
                                 quantity=1, currency="USD", unit_price=Decimal("20"))
    return order


def enrolled(flow: Flow) -> dict[str, tuple[int, dict]]:
    return {e.trigger_key: (e.customer_id, e.context) for e in Enrolment.objects.filter(flow=flow)}


def assert_scheduled_like_enrol(flow: Flow, at: datetime) -> None:
    """Every enrolment has each step of the flow's version once, due after the summed delays."""
    steps = list(FlowStep.objects.filter(flow=flow, version=flow.version).order_by("position"))
    for enrolment in Enrolment.objects.filter(flow=flow):
        assert (enrolment.enrolled_at, enrolment.flow_version, enrolment.status) == (at, flow.version, "active")
        due, expected = at, []
        for step in steps:
            due += timedelta(minutes=step.delay_minutes)
            expected.append((step.pk, due))
        got = sorted(ScheduledStep.objects.filter(enrolment=enrolment).values_list("step_id", "due_at"))
        assert got == sorted(expected)


def test_winback_enrols_exactly_the_lapsed_customers_once(shop, small_batches):
    flow = flow_enable(shop=shop, key="winback")
    FlowStep.objects.create(flow=flow, version=flow.version, position=1, delay_minutes=3 * 24 * 60,
                            template="winback_reminder")
    rng = random.Random(3)
    people = [customer(shop, n) for n in range(40)]
    for person in people:
        for _ in range(rng.randrange(0, 4)):
            purchase(shop, person, NOW - timedelta(days=rng.uniform(150, 260)),
                     status=rng.choice(["paid", "paid", "paid", "partially_refunded", "pending"]),
                     cancelled=rng.random() < 0.15)
    purchase(shop, None, NOW - timedelta(days=190), email="guest@example.com")  # a guest: nobody to enrol
    expected = {}
    for person in people:
        paid = [o.processed_at for o in Order.objects.filter(customer=person, cancelled_at__isnull=True,
                                                              financial_status__in=["paid", "partially_refunded"])
                if o.processed_at is not None]
        last = max(paid, default=None)
        if last and NOW - timedelta(days=210) < last <= NOW - timedelta(days=180):
            expected[f"winback:{person.pk}:{last.date().isoformat()}"] = (person.pk,
                                                                           {"last_order_at": last.isoformat()})
    assert len(expected) >= 5

    with CaptureQueriesContext(connection) as queries:
        assert engine.winback_scan(flow=flow, now=NOW) == len(expected)
    assert enrolled(flow) == expected
    assert_scheduled_like_enrol(flow, NOW)
    # one query picks them, then a handful per batch of 3: not one round of queries per customer
    assert len(queries) <= 1 + 7 * -(-len(expected) // 3)

    assert engine.winback_scan(flow=flow, now=NOW + timedelta(hours=1)) == 0
    assert enrolled(flow) == expected
    assert ScheduledStep.objects.count() == 2 * len(expected)


def test_a_key_enrolled_already_counts_once_and_keeps_its_steps(shop):
    flow = flow_enable(shop=shop, key="winback")
    first, second = customer(shop, 1), customer(shop, 2)
    last = NOW - timedelta(days=190)
    purchase(shop, first, last)
    purchase(shop, second, last)
    earlier = engine.enrol(flow=flow, customer=first, trigger_key=f"winback:{first.pk}:{last.date().isoformat()}",
                           at=NOW - timedelta(hours=2))
    assert earlier is not None
    assert engine.winback_scan(flow=flow, now=NOW) == 1
    assert Enrolment.objects.get(pk=earlier.pk).enrolled_at == NOW - timedelta(hours=2)
    assert ScheduledStep.objects.filter(enrolment=earlier).count() == 1
    assert ScheduledStep.objects.count() == 2


def test_a_paused_flow_enrols_nobody(shop):
    flow = flow_enable(shop=shop, key="winback")
    purchase(shop, customer(shop, 1), NOW - timedelta(days=190))
    Flow.objects.filter(pk=flow.pk).update(is_enabled=False)
    flow.refresh_from_db()
    assert engine.winback_scan(flow=flow, now=NOW) == 0
    assert not Enrolment.objects.exists()


def test_the_daily_job_scans_the_enabled_daily_flows_of_every_shop(shop):
    other = ShopFactory(timezone="UTC")
    flow_enable(shop=shop, key="winback")
    flow_enable(shop=shop, key="order_thank_you")  # started by events: no scan
    flow_enable(shop=other, key="birthday")
    lapsed = customer(shop, 1)
    purchase(shop, lapsed, NOW - timedelta(days=190))
    purchase(other, customer(other, 2), NOW - timedelta(days=190))  # the other shop's winback is off
    born = customer(other, 3, birthday=date(1990, 6, 10))
    assert engine.daily_scans(now=NOW) == 2
    assert set(Enrolment.objects.values_list("customer_id", "flow__key")) == {(lapsed.pk, "winback"),
                                                                               (born.pk, "birthday")}


def test_the_steps_come_from_the_flows_current_version(shop):
    flow = flow_enable(shop=shop, key="winback")
    purchase(shop, customer(shop, 1), NOW - timedelta(days=190))
    Flow.objects.filter(pk=flow.pk).update(version=2)
    flow.refresh_from_db()
    new = FlowStep.objects.create(flow=flow, version=2, position=0, delay_minutes=30, template="winback")
    assert engine.winback_scan(flow=flow, now=NOW) == 1
    scheduled = ScheduledStep.objects.get()
    assert (scheduled.step_id, scheduled.due_at, scheduled.enrolment.flow_version) == (
        new.pk, NOW + timedelta(minutes=30), 2)


def test_birthdays_today_in_the_shop_zone_and_29_february_on_1_march(shop, small_batches):
    flow = flow_enable(shop=shop, key="birthday")
    today = customer(shop, 1, birthday=date(1990, 6, 10))
    customer(shop, 2, birthday=date(1990, 6, 11))
    customer(shop, 3, birthday=date(1985, 6, 10), is_deleted=True)
    customer(shop, 4, birthday=date(1985, 6, 10), redacted_at=NOW)
    leap = customer(shop, 5, birthday=date(2000, 2, 29))
    march = customer(shop, 6, birthday=date(1999, 3, 1))
    many = [customer(shop, 10 + n, birthday=date(1970 + n, 6, 10)) for n in range(7)]
    late = datetime(2026, 6, 9, 22, 30, tzinfo=UTC)  # already the 10th in Jerusalem
    assert engine.dates_scan(flow=flow, now=late) == 8
    assert set(enrolled(flow)) == {f"birthday:{c.pk}:2026" for c in [today, *many]}
    assert_scheduled_like_enrol(flow, late)
    assert engine.dates_scan(flow=flow, now=late + timedelta(hours=3)) == 0
    # 1 March of a year without 29 February greets both; of a leap year, only March's
    assert engine.dates_scan(flow=flow, now=datetime(2027, 3, 1, 9, tzinfo=UTC)) == 2
    assert {k for k in enrolled(flow) if k.endswith(":2027")} == {f"birthday:{leap.pk}:2027",
                                                                    f"birthday:{march.pk}:2027"}
    assert engine.dates_scan(flow=flow, now=datetime(2028, 3, 1, 9, tzinfo=UTC)) == 1
    assert engine.dates_scan(flow=flow, now=datetime(2028, 2, 29, 9, tzinfo=UTC)) == 1
    assert {k for k in enrolled(flow) if k.endswith(":2028")} == {f"birthday:{leap.pk}:2028",
                                                                    f"birthday:{march.pk}:2028"}


def test_first_order_anniversaries_from_earlier_years_only(shop):
    flow = flow_enable(shop=shop, key="anniversary")
    year_ago = customer(shop, 1, first_order_at=datetime(2025, 6, 10, 8, tzinfo=UTC))
    customer(shop, 2, first_order_at=datetime(2026, 6, 10, 7, tzinfo=UTC))  # this year's first order
    customer(shop, 3, first_order_at=datetime(2024, 6, 9, 8, tzinfo=UTC))
    customer(shop, 4)
    assert engine.dates_scan(flow=flow, now=NOW) == 1
    assert enrolled(flow) == {f"anniversary:{year_ago.pk}:2026": (year_ago.pk, {})}
    assert engine.dates_scan(flow=flow, now=NOW) == 0


def test_holiday_greets_every_subscribed_reachable_customer_once(shop, small_batches):
    flow = flow_enable(shop=shop, key="holiday_greetings")
    flow.settings = {"calendars": ["IL"], "custom": [{"date": "06-10", "name": "Shop birthday"}]}
    flow.save()
    rng = random.Random(5)
    people = [customer(shop, n, email=rng.choice(["", f"c{n}@example.com", f"c{n}@example.com"]),
                       email_consent=rng.choice(["subscribed", "subscribed", "not_subscribed", "unsubscribed"]),
                       is_deleted=rng.random() < 0.1, redacted_at=NOW if rng.random() < 0.1 else None)
              for n in range(30)]
    context = {"holiday": "Shop birthday", "holiday_date": "2026-06-10", "holiday_occasions": [
        {"calendar": "", "key": "Shop birthday", "date": "2026-06-10", "name": "Shop birthday", "subject": ""}]}
    expected = {f"holiday:Shop birthday:2026:{c.pk}": (c.pk, context) for c in people
                if c.email and c.email_consent == "subscribed" and not c.is_deleted and c.redacted_at is None}
    assert len(expected) >= 5
    assert holidays.holiday_scan(flow=flow, now=NOW) == len(expected)
    assert enrolled(flow) == expected
    assert_scheduled_like_enrol(flow, datetime(2026, 6, 10, 7, 0, tzinfo=UTC))  # the greeting's hour: 10:00 there
    assert holidays.holiday_scan(flow=flow, now=NOW + timedelta(hours=2)) == 0
    assert holidays.holiday_scan(flow=flow, now=NOW + timedelta(days=1)) == 0  # not a holiday


def medians_one_by_one(shop_id: int, min_repurchases: int) -> dict[int, int]:
    """What ``repurchase_medians`` computed before it became one query: walk every line in order."""
    rows = (OrderLine.objects.filter(shop_id=shop_id, product__isnull=False, order__customer__isnull=False,
                                     order__cancelled_at__isnull=True)
            .order_by("product_id", "order__customer_id", "order__processed_at")
            .values_list("product_id", "order__customer_id", "order__processed_at"))
    intervals: dict[int, list[float]] = {}
    previous = None
    for product_id, customer_id, at in rows:
        if previous and previous[:2] == (product_id, customer_id) and at and previous[2]:
            days = (at - previous[2]).total_seconds() / 86400
            if days >= 1:
                intervals.setdefault(product_id, []).append(days)
        previous = (product_id, customer_id, at)
    return {p: round(statistics.median(v)) for p, v in intervals.items() if len(v) >= min_repurchases}


def test_replenishment_reminds_exactly_those_one_cycle_after_their_last_purchase(shop, small_batches):
    rng = random.Random(11)
    products = [Product.objects.create(shop=shop, platform_id=f"p{n}", title=f"Product {n}") for n in range(6)]
    soap, shampoo, serum = products[0], products[1], products[2]
    people = [customer(shop, n) for n in range(60)]
    for person in people:  # soap about every 30 days, shampoo every 45, the rest now and then
        for cycle, product in ((30, soap), (45, shampoo)):
            if rng.random() < 0.6:  # the last purchase: due today, due before, not due yet, recent
                ago = rng.choice([cycle + rng.uniform(0.01, 0.99), cycle + rng.uniform(1.01, 3),
                                  cycle - rng.uniform(0.01, 2), rng.uniform(1, 20)])
                for k in range(rng.randrange(1, 5)):
                    extra = [rng.choice(products[2:])] if rng.random() < 0.3 else []
                    at = NOW - timedelta(days=ago + k * (cycle + rng.uniform(-2, 2)))
                    purchase(shop, person, at, products=[product, *extra], cancelled=rng.random() < 0.05)
        if rng.random() < 0.3:
            purchase(shop, person, NOW - timedelta(days=rng.choice([20.5, rng.uniform(1, 100)])),
                     products=[serum, products[3]])
    purchase(shop, None, NOW - timedelta(days=20), products=[soap])  # a guest's line counts for nobody
    purchase(shop, people[0], None, products=[soap])  # no date: no interval
    medians = engine.repurchase_medians(shop_id=shop.pk, min_repurchases=5)
    assert medians == medians_one_by_one(shop.pk, 5)
    assert medians[soap.pk] == 30 and medians[shampoo.pk] == 45

    flow = flow_enable(shop=shop, key="replenishment")
    flow.settings = {"cycles": {"p2": 20}, "min_repurchases": 5}  # the merchant's cycle for the serum
    flow.save()
    cycles = {**medians, serum.pk: 20}
    expected = {}
    for product_id, days in cycles.items():
        last: dict[int, datetime] = {}
        for who, bought in OrderLine.objects.filter(product_id=product_id, order__customer__isnull=False,
                                                    order__cancelled_at__isnull=True,
                                                    order__processed_at__isnull=False).values_list(
                                                        "order__customer_id", "order__processed_at"):
            assert bought is not None
            last[who] = max(bought, last.get(who, bought))
        title = Product.objects.get(pk=product_id).title
        for who, at in last.items():
            if NOW - timedelta(days=days + 1) < at <= NOW - timedelta(days=days):
                expected[f"replenish:{who}:{product_id}:{at.date().isoformat()}"] = (who, {"product": title})
    assert len(expected) >= 3
    assert engine.replenishment_scan(flow=flow, now=NOW) == len(expected)
    assert enrolled(flow) == expected
    assert_scheduled_like_enrol(flow, NOW)
    assert engine.replenishment_scan(flow=flow, now=NOW) == 0
    assert engine.daily_scan(flow=flow, now=NOW + timedelta(hours=1)) == 0


# --- points-expiring warnings: the daily expiry reviews only the accounts that may need it ------

def expiry_effects() -> tuple[set, set]:
    entries = set(LedgerEntry.objects.filter(kind=EntryKind.EXPIRE).values_list("idempotency_key", "points",
                                                                                 "available_at"))
    warnings = {(e.key, e.payload["points"], e.payload["expires_at"])
                for e in DomainEvent.objects.filter(name="loyalty.points_expiring")}
    return entries, warnings


def every_account_would(shop, program, at) -> tuple[set, set, set]:
    """What the job did before: every account, one by one (rolled back); and which accounts acted."""
    acted = set()
    with transaction.atomic():
        before = expiry_effects()
        for account in Account.objects.filter(shop=shop).order_by("pk"):
            counts = (LedgerEntry.objects.count(), DomainEvent.objects.count())
            account_expire(account=account, program=program, at=at)
            if (LedgerEntry.objects.count(), DomainEvent.objects.count()) != counts:
                acted.add(account.pk)
        entries, warnings = expiry_effects()
        transaction.set_rollback(True)
    return entries - before[0], warnings - before[1], acted


def entry(account: Account, kind: str, points: int, at: datetime, source_id: str = "") -> None:
    number = LedgerEntry.objects.count() + 1
    LedgerEntry.objects.create(shop_id=account.shop_id, account=account, kind=kind, source="order",
                               source_id=source_id, idempotency_key=f"{kind}:{number}", points=points,
                               available_at=at)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_batch_expiry_reviews_fewer_accounts_and_does_what_the_account_loop_did(shop, seed):
    program_enable(shop=shop)
    Program.objects.filter(shop=shop).update(expiry_mode="batch", expiry_days=90, expiry_warning_days=14)
    program = Program.objects.get(shop=shop)
    rng = random.Random(seed)
    for n in range(40):
        account = Account.objects.create(shop=shop, customer=customer(shop, n), referral_code=f"R{n}")
        batches = []
        for b in range(rng.randrange(0, 5)):
            source = f"order-{n}-{b}"
            points = rng.choice([20, 50, 100, 250])
            entry(account, "earn", points, NOW - timedelta(days=rng.uniform(0, 200)), source)
            batches.append((source, points))
        for _ in range(rng.randrange(0, 3)):
            entry(account, "redeem", -rng.choice([30, 100, 200]), NOW - timedelta(days=rng.uniform(0, 150)))
        if batches and rng.random() < 0.4:  # a refund takes back a batch's points, from that batch
            source, points = rng.choice(batches)
            entry(account, "reverse", -points, NOW - timedelta(days=rng.uniform(0, 30)), source)
    for days_ago in (40, 20, 3):  # the job ran on earlier days
        shop_expire(shop=shop, at=NOW - timedelta(days=days_ago))

    entries, warnings, acted = every_account_would(shop, program, NOW)
    reviewed = set(accounts_to_review(shop=shop, program=program, at=NOW).values_list("pk", flat=True))
    assert acted <= reviewed
    assert len(reviewed) < Account.objects.count() / 2
    before = expiry_effects()
    expired = shop_expire(shop=shop, at=NOW)
    after = expiry_effects()
    assert (after[0] - before[0], after[1] - before[1]) == (entries, warnings)
    assert expired == -sum(points for _, points, _ in entries)
    assert shop_expire(shop=shop, at=NOW) == 0
    assert expiry_effects() == after
    # what is left to review are accounts whose refunds took points back (a reversal takes from its
    # own batch, which the one query does not follow): there the account's rules find nothing to do
    left = accounts_to_review(shop=shop, program=program, at=NOW)
    assert all(LedgerEntry.objects.filter(account=account, kind="reverse").exists() for account in left)


def test_a_batch_whose_refund_took_a_later_batch_still_expires(shop):
    program_enable(shop=shop)
    Program.objects.filter(shop=shop).update(expiry_mode="batch", expiry_days=90, expiry_warning_days=14)
    program = Program.objects.get(shop=shop)
    account = Account.objects.create(shop=shop, customer=customer(shop, 1), referral_code="R1")
    entry(account, "earn", 50, NOW - timedelta(days=95), "order-a")
    entry(account, "earn", 100, NOW - timedelta(days=10), "order-b")
    entry(account, "reverse", -100, NOW - timedelta(days=5), "order-b")
    assert list(accounts_to_review(shop=shop, program=program, at=NOW).values_list("pk", flat=True)) == [
        account.pk]
    assert shop_expire(shop=shop, at=NOW) == 50


def test_inactivity_expiry_reviews_fewer_accounts_and_does_what_the_account_loop_did(shop):
    program_enable(shop=shop)
    Program.objects.filter(shop=shop).update(expiry_mode="inactivity", expiry_months=6, expiry_warning_days=14)
    program = Program.objects.get(shop=shop)
    rng = random.Random(7)
    for n in range(40):
        guest = rng.random() < 0.25
        person = None if guest else customer(shop, n)
        account = Account.objects.create(shop=shop, customer=person, email=f"g{n}@example.com" if guest else "",
                                         referral_code=f"R{n}")
        Account.objects.filter(pk=account.pk).update(created_at=NOW - timedelta(days=rng.uniform(100, 400)))
        for _ in range(rng.randrange(0, 3)):
            purchase(shop, person, NOW - timedelta(days=rng.uniform(120, 220)), email=f"g{n}@example.com",
                     status=rng.choice(["paid", "paid", "pending"]))
        if rng.random() < 0.8:
            entry(account, "earn", rng.choice([40, 120]), NOW - timedelta(days=rng.uniform(100, 300)))
        if rng.random() < 0.2:
            entry(account, "redeem", -40, NOW - timedelta(days=rng.uniform(1, 50)))
    entries, warnings, acted = every_account_would(shop, program, NOW)
    reviewed = set(accounts_to_review(shop=shop, program=program, at=NOW).values_list("pk", flat=True))
    assert acted and acted <= reviewed
    assert len(reviewed) < Account.objects.count()
    before = expiry_effects()
    shop_expire(shop=shop, at=NOW)
    after = expiry_effects()
    assert (after[0] - before[0], after[1] - before[1]) == (entries, warnings)
    shop_expire(shop=shop, at=NOW)
    assert expiry_effects() == after


def test_replenishment_ignores_durable_goods_unless_the_merchant_sets_a_cycle(shop):
    kettle = Product.objects.create(shop=shop, platform_id="kettle", title="Kettle")
    people = [customer(shop, n) for n in range(6)]
    for person in people:  # bought again every ~400 days: a durable good, not a consumable
        for k in range(2):
            purchase(shop, person, NOW - timedelta(days=400 * (k + 1), hours=1), products=[kettle])
    assert engine.repurchase_medians(shop_id=shop.pk, min_repurchases=5)[kettle.pk] == 400
    flow = flow_enable(shop=shop, key="replenishment")
    assert engine.replenishment_scan(flow=flow, now=NOW) == 0
    flow.settings = {**flow.settings, "cycles": {"kettle": 400}}
    flow.save()
    assert engine.replenishment_scan(flow=flow, now=NOW) == len(people)


def test_winback_and_replenishment_skip_deleted_and_redacted_customers(shop):
    soap = Product.objects.create(shop=shop, platform_id="soap", title="Soap")
    people = [customer(shop, n) for n in range(5)]
    for person in people:
        purchase(shop, person, NOW - timedelta(days=200), products=[soap])
        purchase(shop, person, NOW - timedelta(days=190, hours=1), products=[soap])
    Customer.objects.filter(pk=people[0].pk).update(is_deleted=True)
    Customer.objects.filter(pk=people[1].pk).update(redacted_at=NOW)
    winback = flow_enable(shop=shop, key="winback")
    assert engine.winback_scan(flow=winback, now=NOW) == 3
    replenishment = flow_enable(shop=shop, key="replenishment")
    replenishment.settings = {**replenishment.settings, "cycles": {"soap": 190}}
    replenishment.save()
    assert engine.replenishment_scan(flow=replenishment, now=NOW) == 3
    assert not Enrolment.objects.filter(customer__in=people[:2]).exists()


def test_anniversaries_fall_on_the_shops_calendar_day(shop):
    """Jerusalem is UTC+3 in June: a first order at 22:30 UTC on 9 June was placed on 10 June there."""
    flow = flow_enable(shop=shop, key="anniversary")
    late_evening_utc = customer(shop, 1, first_order_at=datetime(2025, 6, 9, 22, 30, tzinfo=UTC))
    customer(shop, 2, first_order_at=datetime(2025, 6, 10, 21, 30, tzinfo=UTC))  # 11 June in Jerusalem
    assert engine.dates_scan(flow=flow, now=NOW) == 1
    assert set(enrolled(flow)) == {f"anniversary:{late_evening_utc.pk}:2026"}
