"""Named flows end to end against the sandbox store: event -> message with real codes."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db.models import Max
from django.utils import timezone

from campaigns.models import Message
from campaigns.services.engine import run_due, winback_scan
from campaigns.services.flows import flow_enable
from commerce.models import Customer, Order, OrderLine, Shop, Variant
from tests.e2e.conftest import install

pytestmark = pytest.mark.django_db(transaction=True)

DOMAIN = "flows.myshopify.com"


@pytest.fixture
def store_and_shop(app, sandbox, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    store = sandbox.add_shop(DOMAIN, seed=31, customers=40, orders=120)
    install(app, DOMAIN)
    return store, Shop.objects.get(domain=DOMAIN)


def test_bounce_back_after_a_first_order_offers_high_margin_products_with_a_real_code(store_and_shop, sandbox):
    store, shop = store_and_shop
    flow_enable(shop=shop, key="bounce_back")
    # given a brand-new customer who agreed to marketing email places a first order
    new = store.create_customer(first_name="Noa", last_name="Cohen", email="noa@example.com",
                                email_marketing="SUBSCRIBED", locale="he")
    placed = store.place_order(customer_id=new.id)
    sandbox.webhooks.wait_idle(15)
    # when the scheduler runs (at a daytime hour on the shopper's clock: their zone, else the shop's)
    now = timezone.now()
    shopper = Customer.objects.get(shop=shop, email="noa@example.com")
    local = now.astimezone(ZoneInfo(shopper.timezone or shop.timezone))
    if not 9 <= local.hour < 21:
        now = now + timedelta(hours=(9 - local.hour) % 24)
    outcomes = run_due(now=now)
    # then one Hebrew email with a real, single-use code and products the customer has not bought
    assert [o.status for o in outcomes if o.status != "skipped"] == ["sent"], outcomes
    message = Message.objects.get(status="sent", template="bounce_back")
    assert message.language == "he"
    [code] = [c for c in store.discount_codes if c.code == message.discount_code]
    assert code.usage_limit == 1 and code.ends_at is not None
    email_sent = next(m for m in mail.outbox if message.discount_code in m.body)
    bought = set(OrderLine.objects.filter(order__platform_id=str(placed.id)).values_list("product_id", flat=True))
    suggested = [v for v in Variant.objects.filter(shop=shop).select_related("product")
                 if v.product.title in email_sent.body]
    assert suggested and not {v.product_id for v in suggested} & bought
    assert 'dir="rtl"' in email_sent.alternatives[0][0]


def test_winback_reaches_lapsed_customers_who_consented_with_a_code_in_the_store(store_and_shop):
    store, shop = store_and_shop
    flow = flow_enable(shop=shop, key="winback")
    consenting = set(Customer.objects.filter(shop=shop, email_consent="subscribed").values_list("pk", flat=True))
    # travel to a day when some customers have not ordered for 180 days
    latest = Order.objects.filter(shop=shop, customer__email_consent="subscribed").aggregate(
        last=Max("processed_at"))["last"]
    zone = ZoneInfo(shop.timezone)
    # travel in time: 185 days of silence, at 14:00 in the shop's zone (outside quiet hours)
    now = (latest + timedelta(days=185)).astimezone(zone).replace(hour=14, minute=0)
    enrolled = winback_scan(flow=flow, now=now)
    if enrolled == 0:
        pytest.fail("the seeded store should have lapsed customers")
    outcomes = run_due(now=now)
    sent = Message.objects.filter(template="winback", status="sent")
    assert sent.count() >= 1
    assert sent.count() == sum(1 for o in outcomes if o.status == "sent") == len(mail.outbox)
    assert {m.customer_id for m in sent} <= consenting
    for message in sent:
        assert any(c.code == message.discount_code for c in store.discount_codes)
    skipped = Message.objects.filter(template="winback", status="skipped")
    assert all("consent" in m.reason or "stale" in m.reason for m in skipped)
