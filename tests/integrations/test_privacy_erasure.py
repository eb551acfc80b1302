"""Privacy requests reach every app: after ``customers/redact`` (a signed webhook through the
inbox, as Shopify sends it) no table holds the shopper's email, phone, name, address or IP;
after ``shop/redact`` nothing personal of the shop remains; a data request lists points,
referrals, messages, consent and survey answers."""

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models import Sum
from django.utils import timezone

from campaigns.models import Enrolment, Flow, Message, MessageEvent
from commerce.models import ConsentChange, Customer, Order, Shop
from integrations.models import DataRequestExport, DeliveryStatus, WebhookDelivery
from integrations.tasks import prune_processed_deliveries
from integrations.webhooks import deliveries_prune
from loyalty.models import Account, LedgerEntry, Referral
from loyalty.services.ledger import account_for_customer, account_for_guest, entry_write
from segments.models import CustomerScore, Segment, SegmentMembership
from surveys.models import Answer, CustomerProfile, Question, Response, Survey
from tests.factories import ShopFactory, UserFactory
from tests.integrations.helpers import fixture, post_webhook
from tests.privacy import our_models, where_stored

pytestmark = pytest.mark.django_db(transaction=True)

JOHN_ID = 115310627314723954  # the customer of the Shopify order fixture
RUTH_ID = 706405506930370084
JOHN = ["john@example.com", "jon@example.com", "+972501234567", "John", "Smith", "Herzl", "203.0.113.7"]
RUTH = ["ruth@example.com", "Ruth", "Galili"]
NOW = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def alpha():
    return ShopFactory(domain="alpha.myshopify.com", platform_id="1")


@pytest.fixture
def beta():
    return ShopFactory(domain="beta.myshopify.com", platform_id="2")


def customer_payload(*, platform_id: int, email: str, first: str, last: str, phone: str, street: str) -> dict:
    address = {"first_name": first, "last_name": last, "address1": street, "city": "Haifa", "zip": "3303000",
               "country_code": "IL", "province_code": "HA", "phone": phone, "default": True}
    return fixture("shopify_customer.json") | {
        "id": platform_id, "admin_graphql_api_id": f"gid://shopify/Customer/{platform_id}", "email": email,
        "first_name": first, "last_name": last, "phone": phone, "note": f"{first} likes green tea",
        "addresses": [address], "default_address": address,
    }


def seed_shopper_everywhere(client, shop: Shop) -> dict:
    """John as every app knows him: store customer and order (webhooks), loyalty account and a
    guest account by email, a referred friend of Ruth's, messages and consent, survey answers,
    segments and a data-request export."""
    post_webhook(client, "customers/create", customer_payload(
        platform_id=JOHN_ID, email="john@example.com", first="John", last="Smith", phone="+972501234567",
        street="12 Herzl St"), shop_domain=shop.domain)
    post_webhook(client, "customers/create", customer_payload(
        platform_id=RUTH_ID, email="ruth@example.com", first="Ruth", last="Galili", phone="+972509999999",
        street="3 Hanassi Ave"), shop_domain=shop.domain)
    post_webhook(client, "orders/create", fixture("shopify_order.json"), shop_domain=shop.domain)
    john = Customer.objects.get(shop=shop, platform_id=str(JOHN_ID))
    ruth = Customer.objects.get(shop=shop, platform_id=str(RUTH_ID))
    # loyalty: his account, a guest account held against his email, and Ruth's referral of him
    account = account_for_customer(shop=shop, customer=john)
    entry_write(account=account, kind="earn", source="order", key="earn:order:test-1", points=403,
                source_id="820982911946154508", reason="Order #9999")
    entry_write(account=account, kind="adjust", source="admin", key="adjust:1", points=20,
                reason="sorry John, the teapot was late")
    guest = account_for_guest(shop=shop, email="John@Example.com")
    entry_write(account=guest, kind="earn", source="order", key="earn:order:guest-1", points=50,
                reason="guest points of john@example.com")
    referrer = account_for_customer(shop=shop, customer=ruth)
    Referral.objects.create(shop=shop, referrer=referrer, friend_email="john@example.com", friend_customer=john,
                            ip="203.0.113.7", status="completed", friend_code="FRIEND-7Q2X", completed_at=NOW)
    entry_write(account=referrer, kind="earn", source="rule", key="referral:1", points=500,
                reason="referred john@example.com")
    # campaigns: a flow he is enrolled in, a message with its provider event, an SMS opt-out
    flow, _ = Flow.objects.get_or_create(shop=shop, key="order_thank_you",
                                         defaults={"name": "Thank you", "trigger": "order.paid"})
    Enrolment.objects.create(shop=shop, flow=flow, customer=john, trigger_key="order.paid:820982911946154508",
                             context={"first_name": "John", "order_name": "#9999"}, enrolled_at=NOW)
    message = Message.objects.create(shop=shop, customer=john, flow=flow, channel="email", template="order_thank_you",
                                     language="en", subject="John, thank you for your order", status="sent", at=NOW)
    MessageEvent.objects.create(shop=shop, message=message, event_type="bounced", at=NOW,
                                detail="550 5.1.1 <john@example.com>: mailbox unavailable")
    ConsentChange.objects.create(shop=shop, customer=john, channel="sms", state="unsubscribed", source="sms_stop",
                                 at=NOW)
    # surveys: an NPS score with a free-text reason, and a zero-party profile
    survey = Survey.objects.create(shop=shop, key="feedback", kind="nps", title={"en": "How are we doing?"})
    score = Question.objects.create(shop=shop, survey=survey, position=1, key="recommend", kind="score",
                                    text={"en": "How likely are you to recommend us?"})
    reason = Question.objects.create(shop=shop, survey=survey, position=2, key="reason", kind="text",
                                     text={"en": "Why?"})
    response = Response.objects.create(shop=shop, survey=survey, customer=john, channel="widget", submitted_at=NOW)
    Answer.objects.create(shop=shop, response=response, question=score, score=9)
    Answer.objects.create(shop=shop, response=response, question=reason, text="John Smith here: lovely teapot")
    CustomerProfile.objects.create(shop=shop, customer=john, interests=["green tea"])
    # segments
    segment, _ = Segment.objects.get_or_create(shop=shop, key="champions",
                                               defaults={"name": "Champions", "kind": "predefined"})
    SegmentMembership.objects.get_or_create(shop=shop, segment=segment, customer=john)
    CustomerScore.objects.update_or_create(shop=shop, customer=john, defaults={
        "currency": "USD", "total_spent": Decimal("403"), "computed_at": NOW})
    # an operator's edits in the Django admin, which name what they changed
    operator = UserFactory(is_staff=True)
    for changed in (john, guest, Referral.objects.get(shop=shop, friend_customer=john)):
        LogEntry.objects.create(user=operator, content_type=ContentType.objects.get_for_model(changed),
                                object_id=str(changed.pk), object_repr=str(changed)[:200], action_flag=CHANGE,
                                change_message=f"Changed {changed}")
    # a data request the merchant has not fetched yet
    post_webhook(client, "customers/data_request", privacy_payload(shop, data_request={"id": 77}),
                 shop_domain=shop.domain)
    return {"john": john, "ruth": ruth, "account": account, "guest": guest, "referrer": referrer}


def privacy_payload(shop: Shop, **extra) -> dict:
    return {"shop_id": int(shop.platform_id), "shop_domain": shop.domain,
            "customer": {"id": JOHN_ID, "email": "john@example.com", "phone": "+972501234567"},
            "orders_requested": [820982911946154508], **extra}


def balance(account: Account) -> int:
    return LedgerEntry.objects.filter(account=account).aggregate(total=Sum("points"))["total"]


def test_customer_redact_leaves_the_shopper_in_no_table(client, alpha):
    # given John in every app, and the raw payloads that carried him
    seed_shopper_everywhere(client, alpha)
    assert where_stored(JOHN, [*our_models(), LogEntry])  # the walk finds him before
    assert WebhookDelivery.objects.filter(topic="orders/create").get().status == DeliveryStatus.PROCESSED
    # when Shopify sends customers/redact
    redact = privacy_payload(alpha, orders_to_redact=[820982911946154508])
    assert post_webhook(client, "customers/redact", redact, shop_domain=alpha.domain).status_code == 200
    # then no table holds his email, phone, name, address or IP -- the inbox and the admin log included
    assert where_stored(JOHN, [*our_models(), LogEntry]) == []
    assert LogEntry.objects.count() == 3
    assert WebhookDelivery.objects.get(topic="customers/redact").status == DeliveryStatus.PROCESSED
    assert not DataRequestExport.objects.exists()


def test_customer_redact_keeps_the_merchants_numbers_and_the_other_shoppers(client, alpha):
    seeded = seed_shopper_everywhere(client, alpha)
    before = {name: balance(seeded[name]) for name in ("account", "guest", "referrer")}
    post_webhook(client, "customers/redact", privacy_payload(alpha, orders_to_redact=[820982911946154508]),
                 shop_domain=alpha.domain)
    # order amounts, points, the referral's outcome, messages sent and the NPS score stay
    assert Order.objects.get(shop=alpha).total == Decimal("403.000")
    assert {name: balance(seeded[name]) for name in before} == before == {"account": 423, "guest": 50,
                                                                          "referrer": 500}
    guest = Account.objects.get(pk=seeded["guest"].pk)
    assert (guest.customer_id, guest.email) == (None, f"redacted:{guest.pk}")
    assert Account.objects.get(pk=seeded["account"].pk).email == ""
    referral = Referral.objects.get(shop=alpha)
    assert (referral.status, referral.ip, referral.friend_email) == ("completed", None, f"redacted:{referral.pk}")
    assert LedgerEntry.objects.get(idempotency_key="referral:1").reason == "referred [redacted]"
    assert Message.objects.get(shop=alpha).status == "sent"
    assert list(Answer.objects.exclude(score=None).values_list("score", flat=True)) == [9]
    assert not ConsentChange.objects.exists() and not CustomerProfile.objects.exists()
    assert not SegmentMembership.objects.exists() and not CustomerScore.objects.exists()
    # Ruth, the other shopper, keeps her data and her raw payload
    assert Customer.objects.get(pk=seeded["ruth"].pk).email == "ruth@example.com"
    assert Account.objects.get(pk=seeded["referrer"].pk).email == "ruth@example.com"
    assert [b"ruth@example.com" in bytes(d.body) for d in WebhookDelivery.objects.filter(topic="customers/create")
            .order_by("pk")] == [False, True]


def test_customer_redact_stops_an_unprocessed_payload_from_bringing_the_data_back(client, alpha):
    # given an order delivery for John that failed and waits for its retry
    post_webhook(client, "orders/create", fixture("shopify_order.json"), shop_domain=alpha.domain)
    WebhookDelivery.objects.filter(topic="orders/create").update(status=DeliveryStatus.FAILED, next_attempt_at=NOW)
    # when he is redacted
    post_webhook(client, "customers/redact", privacy_payload(alpha), shop_domain=alpha.domain)
    # then the delivery is blank and will not be retried
    delivery = WebhookDelivery.objects.get(topic="orders/create")
    assert (bytes(delivery.body), delivery.status, delivery.next_attempt_at) == (b"", DeliveryStatus.IGNORED, None)


def test_customer_redact_reaches_payloads_that_name_only_the_listed_orders(client, alpha):
    # given a guest order we never stored (its delivery failed) and a refund naming only the order
    guest_order = fixture("shopify_order.json") | {"id": 450789469, "email": "guest@example.com", "customer": None,
                                                   "contact_email": "guest@example.com", "name": "#1001"}
    post_webhook(client, "orders/create", guest_order, shop_domain=alpha.domain, webhook_id="guest-order")
    WebhookDelivery.objects.filter(delivery_id="guest-order").update(status=DeliveryStatus.FAILED)
    Order.objects.filter(shop=alpha).delete()
    post_webhook(client, "refunds/create", fixture("shopify_refund.json") | {"order_id": 450789469},
                 shop_domain=alpha.domain, webhook_id="its-refund")
    post_webhook(client, "refunds/create", fixture("shopify_refund.json") | {"id": 1, "order_id": 4507894690},
                 shop_domain=alpha.domain, webhook_id="other-refund")
    # when Shopify asks to redact a customer, listing that order
    post_webhook(client, "customers/redact", privacy_payload(alpha, orders_to_redact=[450789469]),
                 shop_domain=alpha.domain)
    # then both payloads of that order are blank and will not be retried; a refund of another order is kept
    deliveries = WebhookDelivery.objects.exclude(topic="customers/redact")
    assert {d.delivery_id: (bytes(d.body) == b"", d.status) for d in deliveries} == {
        "guest-order": (True, DeliveryStatus.IGNORED), "its-refund": (True, DeliveryStatus.IGNORED),
        "other-refund": (False, DeliveryStatus.FAILED)}


def test_shop_redact_leaves_nothing_personal_of_the_shop(client, alpha, beta):
    # given two shops with shoppers in every app
    seed_shopper_everywhere(client, alpha)
    post_webhook(client, "customers/create", customer_payload(
        platform_id=42, email="dana@example.com", first="Dana", last="Levi", phone="+972507777777",
        street="1 Rothschild Blvd"), shop_domain=beta.domain)
    beta_account = account_for_guest(shop=beta, email="noa@example.com")
    # when alpha uninstalls and Shopify sends shop/redact 48 hours later
    post_webhook(client, "app/uninstalled", {"id": 1, "domain": alpha.domain}, shop_domain=alpha.domain)
    post_webhook(client, "shop/redact", {"shop_id": 1, "shop_domain": alpha.domain}, shop_domain=alpha.domain)
    # then none of alpha's shoppers' data remains, in any table
    assert where_stored(JOHN + RUTH, [*our_models(), LogEntry]) == []
    # and no row of alpha is left but the blank shop and the redact request itself
    leftovers = {
        model.__name__: model._default_manager.filter(shop=alpha).count()
        for model in our_models() if any(f.name == "shop" for f in model._meta.concrete_fields)
    }
    assert {name: count for name, count in leftovers.items() if count} == {"WebhookDelivery": 1}
    assert not Account.objects.filter(shop=alpha).exists()  # no account survives as a guest
    alpha.refresh_from_db()
    assert (alpha.status, alpha.name, alpha.email, alpha.access_token) == ("redacted", "", "", "")
    # beta keeps everything
    assert Customer.objects.get(shop=beta).email == "dana@example.com"
    assert Account.objects.get(pk=beta_account.pk).email == "noa@example.com"
    assert WebhookDelivery.objects.filter(shop=beta).exclude(body=b"").count() == 1


def test_data_request_export_has_points_referrals_messages_consent_and_answers(client, alpha):
    seed_shopper_everywhere(client, alpha)
    data = DataRequestExport.objects.get(shop=alpha, request_id="77").data
    assert data["customer"]["email"] == "john@example.com"
    assert [order["email"] for order in data["orders"]] == ["jon@example.com"]
    loyalty = data["loyalty"]
    assert sorted((a["email"], a["points_balance"]) for a in loyalty["accounts"]) == [
        ("john@example.com", 50), ("john@example.com", 423)]
    assert sorted((e["points"], e["reason"]) for e in loyalty["points_history"]) == [
        (20, "sorry John, the teapot was late"), (50, "guest points of john@example.com"), (403, "Order #9999")]
    assert [(r["friend_email"], r["ip"], r["status"], r["friend_code"]) for r in loyalty["referred_by"]] == [
        ("john@example.com", "203.0.113.7", "completed", "FRIEND-7Q2X")]
    assert loyalty["referrals_made"] == []
    messages = data["campaigns"]["messages"]
    assert [(m["subject"], m["status"], m["channel"]) for m in messages] == [
        ("John, thank you for your order", "sent", "email")]
    assert [e["event"] for e in messages[0]["events"]] == ["bounced"]
    # the consent ledger: his STOP (and the store's own changes as its webhooks brought them)
    assert [(c["channel"], c["state"], c["source"]) for c in data["campaigns"]["consent"]
            if c["channel"] == "sms"] == [("sms", "unsubscribed", "sms_stop")]
    answers = data["surveys"]["responses"][0]["answers"]
    assert (answers["recommend"]["score"], answers["reason"]["text"]) == (9, "John Smith here: lovely teapot")
    assert data["surveys"]["profile"] == {"interests": ["green tea"], "preferences": []}
    assert "champions" in data["segments"]["segments"]


def test_the_referrer_export_lists_referrals_without_the_friends_email(client, alpha):
    seed_shopper_everywhere(client, alpha)
    ruth = {"id": RUTH_ID, "email": "ruth@example.com", "phone": None}
    post_webhook(client, "customers/data_request", {"shop_id": 1, "shop_domain": alpha.domain, "customer": ruth,
                                                    "data_request": {"id": 78}}, shop_domain=alpha.domain)
    loyalty = DataRequestExport.objects.get(request_id="78").data["loyalty"]
    assert [(r["status"], r["completed_at"]) for r in loyalty["referrals_made"]] == [("completed", NOW.isoformat())]
    assert "john@example.com" not in str(loyalty["referrals_made"])


def test_inbox_retention_is_thirty_days_unless_the_environment_says_otherwise():
    def setting(env: dict[str, str]) -> str:
        code = "import django; django.setup(); from django.conf import settings; print(settings.INBOX_RETENTION_DAYS)"
        env = {"DJANGO_SETTINGS_MODULE": "retention_app.settings.test", "PATH": "/usr/bin:/bin", **env}
        return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                              cwd=settings.BASE_DIR).stdout.strip()

    assert setting({}) == "30"
    assert setting({"INBOX_RETENTION_DAYS": "7"}) == "7"
    schedule = {entry["task"]: entry for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "integrations.tasks.prune_processed_deliveries" in schedule


def test_processed_payloads_are_pruned_after_the_retention_period_failed_ones_kept(settings):
    settings.INBOX_RETENTION_DAYS = 30
    now = timezone.now()

    def delivery(name: str, status: str, days_old: int) -> None:
        row = WebhookDelivery.objects.create(platform="shopify", delivery_id=name, shop_domain="alpha.myshopify.com",
                                             topic="orders/create", body=b'{"email": "john@example.com"}',
                                             status=status)
        WebhookDelivery.objects.filter(pk=row.pk).update(received_at=now - timedelta(days=days_old))

    for index in range(5):
        delivery(f"old-processed-{index}", DeliveryStatus.PROCESSED, 31)
    delivery("old-ignored", DeliveryStatus.IGNORED, 45)
    delivery("old-failed", DeliveryStatus.FAILED, 31)
    delivery("old-dead", DeliveryStatus.DEAD, 90)
    delivery("old-received", DeliveryStatus.RECEIVED, 31)
    delivery("recent-processed", DeliveryStatus.PROCESSED, 29)
    # when the beat job runs
    assert prune_processed_deliveries.apply().get() == 6
    # then what operators may still need stays, and what is within the period
    assert sorted(WebhookDelivery.objects.values_list("delivery_id", flat=True)) == [
        "old-dead", "old-failed", "old-received", "recent-processed"]
    # and a shorter period reaches the recent one
    settings.INBOX_RETENTION_DAYS = 7
    assert prune_processed_deliveries.apply().get() == 1
    assert WebhookDelivery.objects.count() == 3


def test_pruning_works_through_batches_until_nothing_old_is_left():
    old = timezone.now() - timedelta(days=40)
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(platform="shopify", delivery_id=f"d{index}", shop_domain="alpha.myshopify.com",
                        topic="orders/paid", body=b"{}", status=DeliveryStatus.PROCESSED)
        for index in range(5)
    )
    WebhookDelivery.objects.update(received_at=old)
    assert deliveries_prune(older_than=timedelta(days=30), batch_size=2) == 5
    assert not WebhookDelivery.objects.exists()
