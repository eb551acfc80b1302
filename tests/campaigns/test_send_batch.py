"""The scheduler sends in batches: a bounded number of statements per batch whatever its size,
each message accepted or failed on its own, one message per shopper per batch, and the same
tracking id when a batch is sent again after a crash before its commit."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import transaction

from campaigns.models import Message, ScheduledStep, StepStatus
from campaigns.services.engine import enrol, run_due, winback_scan
from campaigns.services.flows import flow_enable
from commerce.models import Customer
from tests.factories import ShopFactory
from tests.loyalty.helpers import deliver, line, order

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)  # 15:00 in Jerusalem
LOCALES = ("en", "he", "fa", "")  # "": the language comes from the shopper's latest order


class DownForOneBackend(EmailBackend):
    """A provider that refuses one address (its outage for that message) and takes the others."""

    def send_messages(self, messages: Any) -> int:
        if any("down@example.com" in message.to for message in messages):
            raise ConnectionError("provider refused the message")
        return super().send_messages(messages)


@pytest.fixture
def shop(settings: Any) -> Any:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return ShopFactory(installed_at=NOON - timedelta(days=400), timezone="Asia/Jerusalem", locale="en")


def lapsed_shoppers(shop: Any, count: int, *, emails: list[str] | None = None) -> list[Customer]:
    """``count`` shoppers, every one lapsed (an order 200 days ago), in all languages, and the
    win-back flow (with its products block, no code) enrolling each of them."""
    flow = flow_enable(shop=shop, key="winback")
    flow.steps.update(config={})
    customers = []
    for n in range(count):
        pid = f"c{n}"
        email = (emails or [])[n] if emails and n < len(emails) else f"shopper{n}@example.com"
        customer, _ = Customer.objects.update_or_create(
            shop=shop, platform_id=pid,
            defaults={"email": email, "first_name": f"Dana{n}", "email_consent": "subscribed",
                      "locale": LOCALES[n % len(LOCALES)]})
        deliver(shop, order(f"o-{pid}", [line(f"l-{pid}", 1, "30.00")], customer=pid, email=email,
                            at=NOON - timedelta(days=200)))
        customers.append(customer)
    assert winback_scan(flow=flow, now=NOON) == count
    return customers


# Statements for one batch, whatever its size: claim (savepoint, select), the exit rule's last
# orders, the plan and the month's email count, the shoppers' history (sent, planned), the
# languages from orders, the balances (accounts, ledger), the branding, the merchant's words,
# the purchased products (lines, first variants), then one insert of the messages, one update of
# the steps, one of the enrolments, the savepoint's release and the empty claim that ends the run.
BATCH_STATEMENTS = 20


@pytest.mark.parametrize("count", [4, 24])
def test_a_batch_costs_the_same_statements_whatever_its_size(shop, django_assert_num_queries, count):
    # given: ``count`` due win-back emails, one per shopper
    lapsed_shoppers(shop, count)
    # when: the scheduler runs them in one batch
    with django_assert_num_queries(BATCH_STATEMENTS):
        outcomes = run_due(now=NOON)
    # then: every one is sent, once, in the shopper's language, with its own tracking id
    assert [outcome.status for outcome in outcomes] == ["sent"] * count
    assert len(mail.outbox) == count
    messages = Message.objects.filter(shop=shop, status="sent")
    assert messages.count() == count
    assert {m.metadata["comeback_message"] for m in mail.outbox} == set(messages.values_list("tracking_id", flat=True))
    assert set(messages.values_list("language", flat=True)) == {"en", "he", "fa"}
    assert not ScheduledStep.objects.filter(shop=shop, status=StepStatus.PENDING).exists()


def test_one_refused_message_is_retried_later_and_the_rest_of_the_batch_is_sent(shop, settings):
    # given: three due emails; the provider refuses the second shopper's
    settings.EMAIL_BACKEND = f"{__name__}.DownForOneBackend"
    customers = lapsed_shoppers(shop, 3, emails=["a@example.com", "down@example.com", "c@example.com"])
    # when
    outcomes = run_due(now=NOON)
    # then: two sent and recorded; the refused one waits 15 minutes with the reason, no message
    assert sorted(outcome.status for outcome in outcomes) == ["deferred", "sent", "sent"]
    assert sorted(m.to[0] for m in mail.outbox) == ["a@example.com", "c@example.com"]
    assert set(Message.objects.values_list("customer_id", flat=True)) == {customers[0].pk, customers[2].pk}
    refused = ScheduledStep.objects.get(enrolment__customer=customers[1])
    assert (refused.status, refused.due_at, refused.deferrals) == (StepStatus.PENDING, NOON + timedelta(minutes=15), 1)
    assert refused.result.startswith("deferred: sending failed (ConnectionError)")


def test_a_batch_lost_before_its_commit_is_sent_again_with_the_same_tracking_ids(shop):
    # given: two due emails, and a run whose transaction never commits (a crash after the sends)
    lapsed_shoppers(shop, 2)
    with pytest.raises(RuntimeError), transaction.atomic():
        assert len(run_due(now=NOON)) == 2
        raise RuntimeError("the worker died before the commit")
    first = sorted(m.metadata["comeback_message"] for m in mail.outbox)
    assert not Message.objects.exists()
    # when: the next run finds the steps still due
    assert [outcome.status for outcome in run_due(now=NOON + timedelta(minutes=1))] == ["sent", "sent"]
    # then: the messages went out again under the ids they had, and one record each
    again = sorted(m.metadata["comeback_message"] for m in mail.outbox[2:])
    assert again == first
    assert sorted(Message.objects.values_list("tracking_id", flat=True)) == first


def test_a_shoppers_second_due_step_waits_for_the_next_batch_and_sees_the_first(shop):
    # given: one shopper enrolled twice in the win-back flow, both emails due
    lapsed_shoppers(shop, 1)
    flow = flow_enable(shop=shop, key="winback")
    enrol(flow=flow, customer=Customer.objects.get(shop=shop), trigger_key="winback:c0:again", at=NOON)
    # when: one run
    outcomes = run_due(now=NOON + timedelta(minutes=1))
    # then: the first is sent; the second, in the next batch, sees it (the same template within 30 days)
    assert [(outcome.status, outcome.reason) for outcome in outcomes] == [
        ("sent", ""), ("skipped", "winback was sent within 30 days")]
    assert len(mail.outbox) == 1


def test_the_html_part_goes_as_8bit_text_in_lines_mail_servers_accept(shop):
    # given: a due email in Hebrew (quoted-printable would triple its size)
    lapsed_shoppers(shop, 2)
    # when
    run_due(now=NOON)
    # then: no quoted-printable part, every line within RFC 5322's 998 bytes, the HTML intact
    hebrew = next(m for m in mail.outbox if m.to == ["shopper1@example.com"])
    raw = hebrew.message().as_bytes()
    assert b"quoted-printable" not in raw and b"Content-Transfer-Encoding: 8bit" in raw
    assert max(len(line) for line in raw.splitlines()) <= 998
    assert 'dir="rtl"' in hebrew.alternatives[0][0]
