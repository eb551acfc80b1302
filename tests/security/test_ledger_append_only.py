"""The points ledger is append-only in the database: on PostgreSQL a trigger refuses UPDATE and
DELETE of ledger rows from the ORM and from raw SQL, leaving the row as it was; only the privacy
eraser's paths get through (``customers/redact`` blanks reasons, ``shop/redact`` deletes the
shop's rows), each for its own shop and only for what it may change."""

from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, connection, transaction

from commerce.privacy import customer_erase, shop_erase
from integrations.models import DeliveryStatus, WebhookDelivery
from loyalty.models import Account, EntryKind, EntrySource, LedgerEntry
from loyalty.privacy import REDACTED, ledger_erasure
from loyalty.services.earning import points_adjust
from loyalty.services.ledger import account_for_customer, account_for_guest, entry_write, guest_points_claim
from tests.factories import CustomerFactory, ShopFactory, UserFactory
from tests.integrations.helpers import post_webhook

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="the append-only trigger exists on PostgreSQL only (CI runs these on PostgreSQL 15)"),
]

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _row(entry: LedgerEntry) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_jsonb(e)::text FROM loyalty_ledgerentry e WHERE id = %s", [entry.pk])
        found = cursor.fetchone()
    return found or ()


def _refused(operation) -> str:  # type: ignore[no-untyped-def]
    """Run ``operation`` in a savepoint; it must be refused by the trigger; the message."""
    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        operation()
    assert "the points ledger is append-only" in str(refused.value)
    return str(refused.value)


@pytest.fixture
def shop():
    return ShopFactory(domain="alpha.myshopify.com", platform_id="1")


@pytest.fixture
def other_shop():
    return ShopFactory(domain="beta.myshopify.com", platform_id="2")


@pytest.fixture
def entry(shop):
    customer = CustomerFactory(shop=shop, platform_id="115310627314723954", email="john@example.com")
    account = account_for_customer(shop=shop, customer=customer)
    return entry_write(account=account, kind=EntryKind.EARN, source=EntrySource.ORDER, source_id="1001",
                       key="earn:order:1001", points=120, occurred_at=AT, available_at=AT,
                       reason="order #1001 of john@example.com")


def test_orm_updates_of_any_column_are_refused_and_the_row_is_unchanged(entry):
    before = _row(entry)
    rows = LedgerEntry.objects.filter(pk=entry.pk)
    for change in ({"points": 100_000}, {"reason": "rewritten history"}, {"idempotency_key": "earn:order:9"},
                   {"available_at": datetime(2020, 1, 1, tzinfo=UTC)}, {"account": None}, {"shortfall": 5}):
        message = _refused(lambda change=change: rows.update(**change))
        assert "UPDATE" in message
    entry.points = 0
    _refused(lambda: entry.save())
    _refused(lambda: entry.save(update_fields=["points"]))
    assert _row(entry) == before


def test_orm_deletes_are_refused_and_the_row_stays(entry):
    before = _row(entry)
    assert "DELETE" in _refused(lambda: LedgerEntry.objects.filter(pk=entry.pk).delete())
    _refused(lambda: entry.delete())
    # deleting the account would take its entries with it (CASCADE): refused the same way
    _refused(lambda: Account.objects.filter(pk=entry.account_id).delete())
    assert _row(entry) == before
    assert Account.objects.filter(pk=entry.account_id).exists()


def test_raw_sql_update_and_delete_are_refused(entry):
    before = _row(entry)

    def execute(sql: str, params: list) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)

    _refused(lambda: execute("UPDATE loyalty_ledgerentry SET points = points * 100 WHERE id = %s", [entry.pk]))
    _refused(lambda: execute("UPDATE loyalty_ledgerentry SET reason = '' WHERE id = %s", [entry.pk]))
    _refused(lambda: execute("DELETE FROM loyalty_ledgerentry WHERE shop_id = %s", [entry.shop_id]))
    assert _row(entry) == before


def test_a_forged_erasure_setting_opens_nothing_it_does_not_name(entry, other_shop):
    before = _row(entry)

    def with_setting(value: str, sql: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('comeback.ledger_erasure', %s, true)", [value])
            cursor.execute(sql, [entry.pk])

    # another shop's erasure, the wrong request, or a made-up value
    _refused(lambda: with_setting(f"shop-redact:{other_shop.pk}", "DELETE FROM loyalty_ledgerentry WHERE id = %s"))
    _refused(lambda: with_setting(f"customer-redact:{other_shop.pk}",
                                  "UPDATE loyalty_ledgerentry SET reason = '' WHERE id = %s"))
    _refused(lambda: with_setting(f"customer-redact:{entry.shop_id}", "DELETE FROM loyalty_ledgerentry WHERE id = %s"))
    _refused(lambda: with_setting("on", "UPDATE loyalty_ledgerentry SET reason = '' WHERE id = %s"))
    # a customer erasure changes reasons, never amounts, keys or dates
    _refused(lambda: with_setting(f"customer-redact:{entry.shop_id}",
                                  "UPDATE loyalty_ledgerentry SET reason = '', points = 0 WHERE id = %s"))
    _refused(lambda: with_setting(f"customer-redact:{entry.shop_id}",
                                  "UPDATE loyalty_ledgerentry SET occurred_at = now() WHERE id = %s"))
    assert _row(entry) == before


def test_the_erasure_path_closes_behind_itself(entry):
    # given the eraser's block, in a longer transaction (a webhook's processing)
    with ledger_erasure(shop=entry.shop, request="customer-redact"):
        LedgerEntry.objects.filter(pk=entry.pk).update(reason="")
    # then, later in the same transaction, the ledger is closed again
    _refused(lambda: LedgerEntry.objects.filter(pk=entry.pk).update(reason="after"))
    _refused(lambda: LedgerEntry.objects.filter(pk=entry.pk).update(points=1))
    entry.refresh_from_db()
    assert (entry.reason, entry.points) == ("", 120)


def test_a_failing_erasure_block_does_not_leave_the_path_open(entry):
    with pytest.raises(RuntimeError), ledger_erasure(shop=entry.shop, request="shop-redact"):
        raise RuntimeError("the eraser failed half-way")
    _refused(lambda: LedgerEntry.objects.filter(pk=entry.pk).delete())


def test_customer_redaction_blanks_reasons_and_keeps_every_amount(shop, other_shop):
    # given John's points (one from his guest orders, moved over when he signed up), a merchant's note
    # on his account, and another shop's entry naming the same email
    john = CustomerFactory(shop=shop, platform_id="115310627314723954", email="john@example.com")
    guest = account_for_guest(shop=shop, email="john@example.com")
    entry_write(account=guest, kind=EntryKind.EARN, source=EntrySource.ORDER, key="earn:order:1", points=40,
                reason="guest order")
    account = account_for_customer(shop=shop, customer=john)
    guest_points_claim(customer=john)
    merchant = UserFactory(is_staff=True)
    points_adjust(account=account, points=15, reason="Sorry about the late parcel, John", created_by=merchant)
    elsewhere = entry_write(account=account_for_guest(shop=other_shop, email="john@example.com"),
                            kind=EntryKind.ADJUST, source=EntrySource.ADMIN, key="gift", points=5,
                            reason="gift for john@example.com")
    amounts = sorted(LedgerEntry.objects.values_list("idempotency_key", "points", "account_id", "occurred_at"))
    # when Shopify asks to redact John
    customer_erase(shop=shop, platform_id="115310627314723954", emails=["john@example.com"])
    # then his reasons are blank or redacted, every amount, key and date is as it was
    reasons = dict(LedgerEntry.objects.filter(shop=shop).values_list("idempotency_key", "reason"))
    assert reasons["claim-in:" + str(guest.pk)] == f"guest points of {REDACTED}"
    assert not any("john" in reason.lower() for reason in reasons.values())
    assert sorted(LedgerEntry.objects.values_list("idempotency_key", "points", "account_id", "occurred_at")) == amounts
    # and the other shop's entry is its own business
    elsewhere.refresh_from_db()
    assert elsewhere.reason == "gift for john@example.com"
    # and afterwards the ledger is closed again
    _refused(lambda: LedgerEntry.objects.filter(shop=shop).update(reason="x"))


def test_customers_redact_webhook_goes_through_on_postgresql(client, shop, django_capture_on_commit_callbacks):
    # given a guest's points named by email, moved to the customer's account
    john = CustomerFactory(shop=shop, platform_id="115310627314723954", email="john@example.com")
    guest = account_for_guest(shop=shop, email="john@example.com")
    entry_write(account=guest, kind=EntryKind.EARN, source=EntrySource.ORDER, key="earn:order:1", points=40)
    account_for_customer(shop=shop, customer=john)
    guest_points_claim(customer=john)
    # when Shopify sends customers/redact (signed, through the inbox)
    payload = {"shop_id": 1, "shop_domain": shop.domain,
               "customer": {"id": 115310627314723954, "email": "john@example.com", "phone": ""},
               "orders_to_redact": []}
    with django_capture_on_commit_callbacks(execute=True):
        assert post_webhook(client, "customers/redact", payload, shop_domain=shop.domain).status_code == 200
    assert WebhookDelivery.objects.get(topic="customers/redact").status == DeliveryStatus.PROCESSED
    # then the reason is redacted and the points stay
    assert not LedgerEntry.objects.filter(reason__icontains="john@example.com").exists()
    assert sorted(LedgerEntry.objects.values_list("points", flat=True)) == [-40, 40, 40]


def test_shop_redaction_deletes_that_shops_ledger_only(client, shop, other_shop, django_capture_on_commit_callbacks):
    # given both shops with points
    for current in (shop, other_shop):
        account = account_for_guest(shop=current, email="noa@example.com")
        entry_write(account=account, kind=EntryKind.EARN, source=EntrySource.ORDER, key="earn:order:1", points=10)
    kept = _row(LedgerEntry.objects.get(shop=other_shop))
    # when alpha uninstalls and Shopify sends shop/redact 48 hours later
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(client, "app/uninstalled", {"id": 1, "domain": shop.domain}, shop_domain=shop.domain)
        response = post_webhook(client, "shop/redact", {"shop_id": 1, "shop_domain": shop.domain},
                                shop_domain=shop.domain)
    # then alpha's ledger and accounts are gone, beta's are untouched
    assert response.status_code == 200
    assert WebhookDelivery.objects.get(topic="shop/redact").status == DeliveryStatus.PROCESSED
    assert not LedgerEntry.objects.filter(shop=shop).exists()
    assert not Account.objects.filter(shop=shop).exists()
    assert _row(LedgerEntry.objects.get(shop=other_shop)) == kept
    # and beta's ledger is still closed
    _refused(lambda: LedgerEntry.objects.filter(shop=other_shop).delete())


def test_shop_erase_called_directly_works_in_one_transaction(shop):
    account = account_for_guest(shop=shop, email="noa@example.com")
    entry_write(account=account, kind=EntryKind.EARN, source=EntrySource.ORDER, key="earn:order:1", points=10)
    shop_erase(shop=shop)
    assert not LedgerEntry.objects.filter(shop=shop).exists()


def test_deleting_a_staff_user_forgets_them_on_their_adjustments(entry):
    # given a merchant's adjustment signed by a staff user
    merchant = UserFactory(is_staff=True)
    adjustment = points_adjust(account=entry.account, points=25, reason="goodwill", created_by=merchant)
    # when an operator deletes the user (Django sets created_by to NULL)
    merchant.delete()
    # then the entry stays, with its amount and reason, without the user
    adjustment.refresh_from_db()
    assert (adjustment.points, adjustment.reason, adjustment.created_by_id) == (25, "goodwill", None)
    # but nobody may point an entry at another user
    other = UserFactory(is_staff=True)
    _refused(lambda: LedgerEntry.objects.filter(pk=adjustment.pk).update(created_by=other))


def test_appending_still_works(entry):
    later = entry_write(account=entry.account, kind=EntryKind.REVERSE, source=EntrySource.REFUND, source_id="r1",
                        key="reverse:refund:r1", points=-20)
    assert later is not None
    assert sum(LedgerEntry.objects.filter(account=entry.account).values_list("points", flat=True)) == 100
